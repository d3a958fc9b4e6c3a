/*
 * hist_req: CHATHISTORY request parsing (see hist_req.h): our envelope
 * here, the request grammar in common/chathist.c.
 */
#include "history-bridge/hist_req.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive/archive_dm.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"

int hist_user_id_parse(const char *s, size_t len, uint64_t *out)
{
	return len <= 19 && archive_dm_id_parse(s, len, out) == 0 ? 0 : -EPROTO;
}

/* The envelope: label, eirc/user, optional nick, casemap, event-playback. */
static int envelope(const irc_msg_t *m, hist_req_t *req)
{
	irc_msg_tag_t t;

	if (!irc_msg_command_is(m, "CHATHISTORY"))
		return -EPROTO;
	if (irc_msg_tag_get(m, "label", &t) < 0 || t.value_len == 0 ||
	    t.value_len > HIST_REQ_LABEL_MAX || memchr(t.value, ' ', t.value_len))
		return -EPROTO;
	memcpy(req->label, t.value, t.value_len);
	req->label[t.value_len] = '\0';
	if (irc_msg_tag_get(m, "eirc/user", &t) < 0 ||
	    hist_user_id_parse(t.value, t.value_len, &req->user_id) < 0)
		return -EPROTO;
	if (irc_msg_tag_get(m, "eirc/nick", &t) == 0 && t.value_len <= HIST_REQ_NICK_MAX) {
		memcpy(req->nick, t.value, t.value_len);
		req->nick[t.value_len] = '\0';
	}
	req->cm = IRC_CASEMAP_DEFAULT;
	if (irc_msg_tag_get(m, "eirc/casemap", &t) == 0)
		(void)irc_casemap_from_name(t.value, t.value_len, &req->cm);
	req->event_playback = irc_msg_tag_get(m, "eirc/event-playback", &t) == 0;
	if (irc_msg_tag_get(m, "eirc/channels", &t) == 0) {
		if (t.value_len > CHATHIST_CHANNELS_MAX)
			return -EPROTO;
		memcpy(req->channels, t.value, t.value_len);
		req->channels[t.value_len] = '\0';
	}
	return 0;
}

static void context(hist_req_err_t *e, const irc_msg_t *m)
{
	int n = 0;

	if (m->n_params > 0)
		n = snprintf(e->context, sizeof(e->context), "%.*s",
			     (int)(m->params[0].len < 15 ? m->params[0].len : 15),
			     m->params[0].ptr);
	if (m->n_params > 1 && chathist_target_ok(&m->params[1], CHATHIST_TARGET_MAX) && n > 0)
		snprintf(e->context + n, sizeof(e->context) - (size_t)n, " %.*s",
			 (int)m->params[1].len, m->params[1].ptr);
	if (n <= 0)
		snprintf(e->context, sizeof(e->context), "*");
}

/* The subcommand's params after the envelope was accepted, copied out of
 * the line; huge limits saturate (the query clamps them). */
static int body(const irc_msg_t *m, hist_req_t *req, hist_req_err_t *e)
{
	static const chathist_opts_t opts = {CHATHIST_TARGET_MAX, UINT32_MAX, true};
	chathist_req_t c;
	chathist_err_t err;

	if (chathist_parse(m, &opts, &c, &err) < 0) {
		e->code = err.code;
		e->text = err.text;
		return -EINVAL;
	}
	req->sub = (enum chathist_sub)c.sub;
	if (c.target.ptr) {
		memcpy(req->target, c.target.ptr, c.target.len);
		req->target[c.target.len] = '\0';
		req->target_len = c.target.len;
		req->target_is_channel = strchr("#&+!", c.target.ptr[0]) != NULL;
	}
	for (size_t r = 0; r < CHATHIST_REFS_MAX; r++) {
		req->ref[r].kind = c.ref[r].kind;
		req->ref[r].time_ms = c.ref[r].time_ms;
		req->ref[r].msgid_len = c.ref[r].msgid.len;
		if (c.ref[r].msgid.len)
			memcpy(req->ref[r].msgid, c.ref[r].msgid.ptr, c.ref[r].msgid.len);
		req->ref[r].msgid[c.ref[r].msgid.len] = '\0';
	}
	req->limit = c.limit;
	return 0;
}

int hist_req_parse(const char *line, size_t len, hist_req_t *out_req, hist_req_err_t *out_err)
{
	char buf[IRC_LINE_MAX];
	hist_req_t req;
	hist_req_err_t err = {0};
	irc_msg_t m;
	int r;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -EPROTO;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (irc_msg_parse(buf, len, 0, &m) < 0)
		return -EPROTO;
	memset(&req, 0, sizeof(req));
	if ((r = envelope(&m, &req)) < 0)
		return r;
	if ((r = body(&m, &req, &err)) < 0) {
		context(&err, &m);
		memcpy(err.label, req.label, sizeof(err.label));
		*out_err = err;
		return r;
	}
	*out_req = req;
	return 0;
}

int hist_hello_parse(const char *line, size_t len, hist_hello_t *out_hello)
{
	static const char pfx[] = "EIRC HELLO ";
	const size_t plen = sizeof(pfx) - 1;
	const char *id, *sp, *t;
	hist_hello_t h;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len <= plen || memcmp(line, pfx, plen) != 0)
		return -EPROTO;
	id = line + plen;
	if (!(sp = memchr(id, ' ', len - plen)) ||
	    hist_user_id_parse(id, (size_t)(sp - id), &h.user_id) < 0)
		return -EPROTO;
	t = sp + 1;
	if ((size_t)(line + len - t) != SESSION_TICKET_LEN)
		return -EPROTO;
	for (size_t i = 0; i < SESSION_TICKET_LEN; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
			return -EPROTO;
	memcpy(h.ticket, t, SESSION_TICKET_LEN);
	h.ticket[SESSION_TICKET_LEN] = '\0';
	*out_hello = h;
	return 0;
}
