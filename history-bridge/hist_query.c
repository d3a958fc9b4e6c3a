/*
 * hist_query: the script call and the replayed line (see hist_query.h).
 */
#include "history-bridge/hist_query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "archive/archive_event.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"

static const char *const ops[CHATHIST_SUB_COUNT] = {
	[CHATHIST_LATEST] = "latest", [CHATHIST_BEFORE] = "before",   [CHATHIST_AFTER] = "after",
	[CHATHIST_AROUND] = "around", [CHATHIST_BETWEEN] = "between",
};

static void arg(hist_query_call_t *c, const char *p, size_t n)
{
	c->argv[c->argc] = p;
	c->argvlen[c->argc] = n;
	c->argc++;
}

static void arg_str(hist_query_call_t *c, const char *p)
{
	arg(c, p, strlen(p));
}

bool hist_query_visible(const char *type, size_t type_len, size_t arg_len, const char *tags,
			size_t tags_len, uint64_t uid)
{
	static const char *const msgs[] = {"privmsg", "notice", "tagmsg"};
	char want[48];
	bool msg = false;
	int n;

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		msg |= type_len == strlen(msgs[i]) && memcmp(type, msgs[i], type_len) == 0;
	if (!msg || arg_len == 0)
		return true;
	n = snprintf(want, sizeof(want), "eirc/uid=%" PRIu64, uid);
	for (size_t i = 0; i + (size_t)n <= tags_len; i++)
		if ((i == 0 || tags[i - 1] == ';') && memcmp(tags + i, want, (size_t)n) == 0 &&
		    (i + (size_t)n == tags_len || tags[i + (size_t)n] == ';'))
			return true;
	return false;
}

/* The msgid key of ref i (the history key again when unused). */
static int ref_key(hist_query_call_t *c, int k, const hist_ref_t *r, int i)
{
	if (r->kind != CHATHIST_REF_MSGID) {
		arg_str(c, c->history);
		return 0;
	}
	if (archive_keys_msgid(k, r->msgid, r->msgid_len, c->mkey[i], sizeof(c->mkey[i])) < 0)
		return -EINVAL;
	arg_str(c, c->mkey[i]);
	return 0;
}

static void ref_args(hist_query_call_t *c, const hist_ref_t *r, int i)
{
	switch (r->kind) {
	case CHATHIST_REF_MSGID:
		arg_str(c, "m");
		arg(c, r->msgid, r->msgid_len);
		break;
	case CHATHIST_REF_TIME:
		arg_str(c, "t");
		snprintf(c->num[i], sizeof(c->num[i]), "%" PRId64, r->time_ms);
		arg_str(c, c->num[i]);
		break;
	default:
		arg_str(c, "*");
		arg_str(c, "");
		break;
	}
}

int hist_query_build(const hist_req_t *req, const hist_query_opts_t *o, const char *sha,
		     hist_query_call_t *out_call)
{
	return hist_query_build_conv(req, o, sha, NULL, out_call);
}

int hist_query_build_conv(const hist_req_t *req, const hist_query_opts_t *o, const char *sha,
			  const char *conv, hist_query_call_t *out_call)
{
	hist_query_call_t *c = out_call;
	char folded[CHATHIST_TARGET_MAX];
	size_t len = req->target_len;
	int k;

	if (req->sub >= CHATHIST_TARGETS)
		return -EINVAL;
	if (conv) {
		len = strlen(conv);
		if (len == 0 || len > sizeof(folded))
			return -EINVAL;
		memcpy(folded, conv, len);
	} else {
		if (!req->target_is_channel || len == 0 || len > sizeof(folded))
			return -EINVAL;
		irc_casemap_fold(req->cm, req->target, len, folded);
	}
	k = archive_keys_partition(o->network, folded, len, IRC_CASEMAP_NONE, o->partitions);
	if (k < 0)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	if (archive_keys_history(k, o->network, folded, len, IRC_CASEMAP_NONE, c->history,
				 sizeof(c->history)) < 0)
		return -EINVAL;
	c->limit = req->limit < o->limit_max ? req->limit : o->limit_max;
	if (sha) {
		arg_str(c, "EVALSHA_RO");
		snprintf(c->sha, sizeof(c->sha), "%s", sha);
		arg_str(c, c->sha);
	} else {
		arg_str(c, "EVAL_RO");
		arg_str(c, hist_query_script);
	}
	arg_str(c, "3");
	arg_str(c, c->history);
	if (ref_key(c, k, &req->ref[0], 0) < 0 || ref_key(c, k, &req->ref[1], 1) < 0)
		return -EINVAL;
	arg_str(c, ops[req->sub]);
	ref_args(c, &req->ref[0], 0);
	ref_args(c, &req->ref[1], 1);
	snprintf(c->num[2], sizeof(c->num[2]), "%" PRIu32, c->limit);
	snprintf(c->num[3], sizeof(c->num[3]), "%d", HIST_TIME_SKEW_MS);
	snprintf(c->num[4], sizeof(c->num[4]), "%d", HIST_SCAN_MAX);
	arg_str(c, c->num[2]);
	arg_str(c, c->num[3]);
	arg_str(c, req->event_playback ? "1" : "0");
	arg_str(c, c->num[4]);
	snprintf(c->num[5], sizeof(c->num[5]), "%" PRIu64, req->user_id);
	arg_str(c, c->num[5]);
	return 0;
}

/* ---- formatting ---- */

struct entry {
	archive_str_t v[ARCHIVE_EVENT_NSTR];
	archive_str_t type, time;
};

static bool name_is(const hist_field_t *f, const char *name)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

/* The stored field names' lengths, once: entry_read runs for every line
 * of every answer. */
static const size_t *str_name_lens(void)
{
	static size_t lens[ARCHIVE_EVENT_NSTR];
	static bool done;

	for (int j = 0; !done && j < ARCHIVE_EVENT_NSTR; j++)
		lens[j] = strlen(archive_event_str_name((enum archive_event_str)j));
	done = true;
	return lens;
}

static void entry_read(const hist_field_t *f, size_t n, struct entry *e)
{
	const size_t *lens = str_name_lens();

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		archive_str_t s = {f[i].value, f[i].value_len};
		if (name_is(&f[i], "type"))
			e->type = s;
		else if (name_is(&f[i], "time"))
			e->time = s;
		for (int j = 0; j < ARCHIVE_EVENT_NSTR; j++) {
			const char *name = archive_event_str_name((enum archive_event_str)j);
			if (f[i].name_len == lens[j] && memcmp(f[i].name, name, lens[j]) == 0)
				e->v[j] = s;
		}
	}
}

/* archive_event_time_format with the last second kept: the lines of one answer are
 * mostly within a few seconds, and formatting a date each time was about
 * 7% of the bridge's CPU per answer. */
static int time_format(int64_t ms, char *buf, size_t cap)
{
	static int64_t sec = -1;
	static char last[32];
	static int len;

	if (ms < 0 || ms / 1000 != sec) {
		len = archive_event_time_format(ms, last, sizeof(last));
		if (len < 0) {
			sec = -1;
			return len;
		}
		sec = ms / 1000;
	}
	if ((size_t)len >= cap)
		return -ENOBUFS;
	memcpy(buf, last, (size_t)len + 1);
	buf[20] = (char)('0' + ms % 1000 / 100);
	buf[21] = (char)('0' + ms % 100 / 10);
	buf[22] = (char)('0' + ms % 10);
	return len;
}

/* batch, time, msgid, then the stored tags but those three and label. */
static int tags_build(const struct entry *e, const char *batch, char *tags, size_t cap,
		      size_t *out_len)
{
	static char line[IRC_LINE_MAX];
	char tbuf[32];
	int64_t ms = 0;
	size_t len = 0;
	irc_msg_t m;

	if (e->time.n > 18) /* 19 digits can overflow int64_t */
		return -EINVAL;
	for (size_t i = 0; i < e->time.n; i++)
		ms = ms * 10 +
		     (e->time.p[i] >= '0' && e->time.p[i] <= '9' ? e->time.p[i] - '0' : 0);
	if (time_format(ms, tbuf, sizeof(tbuf)) < 0)
		return -EINVAL;
	if (irc_msg_tags_append("batch", 5, batch, strlen(batch), tags, cap, &len) < 0 ||
	    irc_msg_tags_append("time", 4, tbuf, strlen(tbuf), tags, cap, &len) < 0 ||
	    irc_msg_tags_append("msgid", 5, e->v[ARCHIVE_S_MSGID].p, e->v[ARCHIVE_S_MSGID].n, tags,
				cap, &len) < 0)
		return -ENOBUFS;
	const archive_str_t *st = &e->v[ARCHIVE_S_TAGS];
	if (st->n > 0 && st->n + 4 < sizeof(line)) {
		line[0] = '@';
		memcpy(line + 1, st->p, st->n);
		memcpy(line + 1 + st->n, " X", 3);
		if (irc_msg_parse(line, st->n + 3, 0, &m) == 0) {
			irc_msg_tag_t t;
			size_t pos = 0;
			while (irc_msg_tag_next(&m, &pos, &t)) {
				if ((t.key_len == 4 && memcmp(t.key, "time", 4) == 0) ||
				    (t.key_len == 5 && (memcmp(t.key, "msgid", 5) == 0 ||
							memcmp(t.key, "batch", 5) == 0 ||
							memcmp(t.key, "label", 5) == 0)))
					continue;
				if (irc_msg_tags_append(t.key, t.key_len,
							t.has_value ? t.value : NULL, t.value_len,
							tags, cap, &len) < 0)
					return -ENOBUFS;
			}
		}
	}
	*out_len = len;
	return 0;
}

static void param(irc_msg_t *m, const archive_str_t *s)
{
	if (m->n_params < IRC_PARAMS_MAX) {
		m->params[m->n_params].ptr = s->p ? s->p : "";
		m->params[m->n_params].len = s->n;
		m->n_params++;
	}
}

/* MODE's stored text is "<modes> <args...>": one param per word. */
static void mode_params(irc_msg_t *m, const archive_str_t *s)
{
	size_t i = 0;

	while (i < s->n) {
		size_t j = i;
		while (j < s->n && s->p[j] != ' ')
			j++;
		if (j > i) {
			archive_str_t w = {s->p + i, j - i};
			param(m, &w);
		}
		i = j + 1;
	}
}

static bool type_is(const struct entry *e, const char *name)
{
	return e->type.n == strlen(name) && memcmp(e->type.p, name, e->type.n) == 0;
}

/* Command and params by type; false for what is not replayed. */
static bool command_build(const struct entry *e, const archive_str_t *tgt, irc_msg_t *m)
{
	static const char *const cmds[][2] = {
		{"privmsg", "PRIVMSG"}, {"notice", "NOTICE"}, {"tagmsg", "TAGMSG"},
		{"join", "JOIN"},       {"part", "PART"},     {"quit", "QUIT"},
		{"kick", "KICK"},       {"nick", "NICK"},     {"topic", "TOPIC"},
		{"mode", "MODE"},
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (type_is(e, cmds[i][0]))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return false;
	m->command.ptr = cmds[i][1];
	m->command.len = strlen(cmds[i][1]);
	const char *c = cmds[i][0];
	if (strcmp(c, "quit") == 0) {
		param(m, &e->v[ARCHIVE_S_TEXT]);
	} else if (strcmp(c, "nick") == 0) {
		param(m, &e->v[ARCHIVE_S_ARG]);
	} else {
		param(m, tgt);
		if (strcmp(c, "kick") == 0)
			param(m, &e->v[ARCHIVE_S_ARG]);
		if (strcmp(c, "mode") == 0)
			mode_params(m, &e->v[ARCHIVE_S_TEXT]);
		else if (strcmp(c, "join") != 0 && strcmp(c, "tagmsg") != 0 &&
			 (strcmp(c, "part") != 0 || e->v[ARCHIVE_S_TEXT].n > 0))
			param(m, &e->v[ARCHIVE_S_TEXT]);
	}
	return true;
}

/* "nick!user@host" (or "nick" when user or host is missing) into buf;
 * -ENOBUFS when it does not fit. */
static int source_build(const struct entry *e, char *buf, size_t cap, size_t *out_len)
{
	const archive_str_t *nick = &e->v[ARCHIVE_S_NICK], *user = &e->v[ARCHIVE_S_USER],
			    *host = &e->v[ARCHIVE_S_HOST];
	bool full = user->n && host->n;
	size_t n = nick->n + (full ? 2 + user->n + host->n : 0);

	if (n >= cap)
		return -ENOBUFS;
	memcpy(buf, nick->p, nick->n);
	if (full) {
		buf[nick->n] = '!';
		memcpy(buf + nick->n + 1, user->p, user->n);
		buf[nick->n + 1 + user->n] = '@';
		memcpy(buf + nick->n + 2 + user->n, host->p, host->n);
	}
	buf[n] = '\0';
	*out_len = n;
	return 0;
}

int hist_query_format(const hist_field_t *f, size_t n, const char *batch, const char *target,
		      char *buf, size_t cap)
{
	static char tags[IRC_TAGS_MAX + 1];
	char source[3 * ARCHIVE_EVENT_NAME_MAX + 3];
	struct entry e;
	irc_msg_t m = {0};
	size_t tags_len;

	entry_read(f, n, &e);
	if (e.v[ARCHIVE_S_MSGID].n == 0 || e.v[ARCHIVE_S_NICK].n == 0 || e.time.n == 0)
		return 0;
	archive_str_t tgt = e.v[ARCHIVE_S_TARGET];
	if (tgt.n == 0)
		tgt = (archive_str_t){target, strlen(target)};
	if (!command_build(&e, &tgt, &m))
		return 0;
	int r = tags_build(&e, batch, tags, sizeof(tags), &tags_len);
	if (r < 0)
		return r;
	m.tags.ptr = tags;
	m.tags.len = tags_len;
	if (source_build(&e, source, sizeof(source), &m.source.len) < 0)
		return -EINVAL;
	m.source.ptr = source;
	r = irc_msg_serialize(&m, 0, buf, cap);
	return r < 0 ? (r == IRC_MSG_ENOBUFS ? -ENOBUFS : -EINVAL) : r;
}
