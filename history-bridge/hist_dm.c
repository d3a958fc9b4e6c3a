/*
 * hist_dm: direct-message reports (see hist_dm.h).
 */
#include "history-bridge/hist_dm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/irc_line.h"
#include "common/irc_mask.h"
#include "history-bridge/hist_req.h"

static int copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		return -EINVAL;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* The server's tags without ours, escaped again for storage. */
static int tags_keep(const irc_msg_t *m, hist_dm_t *dm)
{
	static char packed[IRC_TAGS_MAX + 1];
	irc_msg_tag_t t;
	irc_msg_t only = {0};
	size_t pos = 0, len = 0;

	while (irc_msg_tag_next(m, &pos, &t)) {
		if (t.key_len >= 5 && memcmp(t.key, "eirc/", 5) == 0)
			continue;
		if (irc_msg_tags_append(t.key, t.key_len, t.has_value ? t.value : NULL, t.value_len,
					packed, sizeof(packed), &len) < 0)
			return -EINVAL;
	}
	only.tags.ptr = len ? packed : NULL;
	only.tags.len = len;
	return irc_msg_tags_serialize(&only, dm->tags, sizeof(dm->tags)) < 0 ? -EINVAL : 0;
}

static int source(const irc_msg_t *m, hist_dm_t *dm)
{
	irc_mask_userhost_t uh;

	if (!m->source.ptr || irc_mask_split(m->source.ptr, m->source.len, &uh) < 0 || !uh.user ||
	    !uh.host || copy(dm->nick, sizeof(dm->nick), uh.nick, uh.nick_len) < 0 ||
	    copy(dm->user, sizeof(dm->user), uh.user, uh.user_len) < 0 ||
	    copy(dm->host, sizeof(dm->host), uh.host, uh.host_len) < 0)
		return -EINVAL;
	/* The sender's id is what the server says (eirc/uid, from the account
	 * InspIRCd bound the source to), never its username or nick, which a
	 * client chooses; none, or one that does not parse: nobody's. */
	irc_msg_tag_t t;
	if (irc_msg_tag_get(m, "eirc/uid", &t) < 0 || !t.has_value ||
	    hist_user_id_parse(t.value, t.value_len, &dm->sender_id) < 0)
		dm->sender_id = 0;
	return 0;
}

int hist_dm_parse(const char *line, size_t len, hist_dm_t *out_dm)
{
	char buf[IRC_LINE_MAX];
	irc_msg_t m;
	irc_msg_tag_t t;
	hist_dm_t *dm = out_dm;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* most lines are requests: no full parse for them */
	if (len == 0 || len >= sizeof(buf) || line[0] != '@' || !memmem(line, len, "eirc/dm", 7))
		return -ENOENT;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (irc_msg_parse(buf, len, 0, &m) < 0 || irc_msg_tag_get(&m, "eirc/dm", &t) < 0)
		return -ENOENT;
	memset(dm, 0, sizeof(*dm));
	dm->notice = irc_msg_command_is(&m, "NOTICE");
	if ((!dm->notice && !irc_msg_command_is(&m, "PRIVMSG")) || m.n_params != 2 ||
	    strchr("#&+!", m.params[0].ptr[0]))
		return -EINVAL;
	if (irc_msg_tag_get(&m, "eirc/user", &t) < 0 ||
	    hist_user_id_parse(t.value, t.value_len, &dm->reporter_id) < 0 ||
	    irc_msg_tag_get(&m, "eirc/nick", &t) < 0 ||
	    copy(dm->reporter_nick, sizeof(dm->reporter_nick), t.value, t.value_len) < 0 ||
	    irc_msg_tag_get(&m, "msgid", &t) < 0 || t.value_len == 0 ||
	    copy(dm->msgid, sizeof(dm->msgid), t.value, t.value_len) < 0)
		return -EINVAL;
	dm->cm = IRC_CASEMAP_DEFAULT;
	if (irc_msg_tag_get(&m, "eirc/casemap", &t) == 0)
		(void)irc_casemap_from_name(t.value, t.value_len, &dm->cm);
	dm->time_ms = -1;
	if (irc_msg_tag_get(&m, "time", &t) == 0 &&
	    archive_event_time_parse(t.value, t.value_len, &dm->time_ms) < 0)
		dm->time_ms = -1;
	if (irc_msg_tag_get(&m, "account", &t) == 0 &&
	    copy(dm->account, sizeof(dm->account), t.value, t.value_len) < 0)
		return -EINVAL;
	if (source(&m, dm) < 0 ||
	    copy(dm->target, sizeof(dm->target), m.params[0].ptr, m.params[0].len) < 0 ||
	    copy(dm->text, sizeof(dm->text), m.params[1].ptr, m.params[1].len) < 0 ||
	    tags_keep(&m, dm) < 0)
		return -EINVAL;
	return 0;
}

uint64_t hist_dm_receiver(const hist_dm_t *dm)
{
	return dm->sender_id == dm->reporter_id ? 0 : dm->reporter_id;
}

static archive_str_t str(const char *s)
{
	return (archive_str_t){s, strlen(s)};
}

int hist_dm_event(const hist_dm_t *dm, const char *network, const char *conv, int64_t now_ms,
		  archive_event_t *out_ev)
{
	archive_event_t ev = {0};

	if (!network || !conv || !conv[0] || !dm->msgid[0])
		return -EINVAL;
	ev.type = dm->notice ? ARCHIVE_EV_NOTICE : ARCHIVE_EV_PRIVMSG;
	ev.time_ms = dm->time_ms >= 0 ? dm->time_ms : now_ms;
	ev.s[ARCHIVE_S_MSGID] = str(dm->msgid);
	ev.s[ARCHIVE_S_NETWORK] = str(network);
	ev.s[ARCHIVE_S_CONV] = str(conv);
	ev.s[ARCHIVE_S_TARGET] = str(dm->target);
	ev.s[ARCHIVE_S_NICK] = str(dm->nick);
	ev.s[ARCHIVE_S_USER] = str(dm->user);
	ev.s[ARCHIVE_S_HOST] = str(dm->host);
	ev.s[ARCHIVE_S_ACCOUNT] = str(dm->account);
	ev.s[ARCHIVE_S_TEXT] = str(dm->text);
	ev.s[ARCHIVE_S_TAGS] = str(dm->tags);
	*out_ev = ev;
	return 0;
}
