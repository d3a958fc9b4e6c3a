/*
 * hist_req: CHATHISTORY request parsing (see hist_req.h).
 */
#include "history-bridge/hist_req.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/irc_line.h"
#include "common/irc_msg.h"
#include "logger-bot/lg_event.h"

static const struct {
	const char *name;
	size_t n_refs;
	bool has_target;
} subs[HIST_SUB_COUNT] = {
    [HIST_LATEST] = {"LATEST", 1, true},   [HIST_BEFORE] = {"BEFORE", 1, true},
    [HIST_AFTER] = {"AFTER", 1, true},     [HIST_AROUND] = {"AROUND", 1, true},
    [HIST_BETWEEN] = {"BETWEEN", 2, true}, [HIST_TARGETS] = {"TARGETS", 2, false},
};

const char *hist_sub_name(enum hist_sub sub)
{
	return sub < HIST_SUB_COUNT ? subs[sub].name : "?";
}

static int fail(struct hist_req_err *e, const char *code, const char *text)
{
	e->code = code;
	e->text = text;
	return -EINVAL;
}

/* Digits only, at least one; saturates at UINT32_MAX. 0 is refused. */
static int limit_parse(const struct irc_msg_span *s, uint32_t *out)
{
	uint64_t v = 0;

	if (s->len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s->len; i++) {
		if (s->ptr[i] < '0' || s->ptr[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s->ptr[i] - '0');
		if (v > UINT32_MAX)
			v = UINT32_MAX;
	}
	if (v == 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static bool target_ok(const struct irc_msg_span *t)
{
	if (t->len == 0 || t->len > HIST_REQ_TARGET_MAX || t->ptr[0] == '*' || t->ptr[0] == ':')
		return false;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->ptr[i];
		if (c <= 0x20 || c == ',' || c == 0x7f)
			return false;
	}
	return true;
}

/* 0, -EINVAL ('*' where not allowed), -EPROTO (bad type or value). */
static int ref_parse(const struct irc_msg_span *r, bool star_ok, struct hist_ref *out)
{
	if (r->len == 1 && r->ptr[0] == '*') {
		if (!star_ok)
			return -EINVAL;
		out->kind = HIST_REF_STAR;
		return 0;
	}
	if (r->len > 6 && memcmp(r->ptr, "msgid=", 6) == 0) {
		if (r->len - 6 > HIST_REQ_MSGID_MAX)
			return -EPROTO;
		out->kind = HIST_REF_MSGID;
		out->msgid_len = r->len - 6;
		memcpy(out->msgid, r->ptr + 6, out->msgid_len);
		out->msgid[out->msgid_len] = '\0';
		return 0;
	}
	if (r->len > 10 && memcmp(r->ptr, "timestamp=", 10) == 0) {
		if (lg_time_parse(r->ptr + 10, r->len - 10, &out->time_ms) < 0 || out->time_ms < 0)
			return -EPROTO;
		out->kind = HIST_REF_TIME;
		return 0;
	}
	return -EPROTO;
}

/* The envelope: label, eirc/user, optional nick, casemap, event-playback. */
static int envelope(const struct irc_msg *m, struct hist_req *req)
{
	struct irc_msg_tag t;
	uint64_t id = 0;

	if (!irc_msg_command_is(m, "CHATHISTORY"))
		return -EPROTO;
	if (irc_msg_tag_get(m, "label", &t) < 0 || t.value_len == 0 ||
	    t.value_len > HIST_REQ_LABEL_MAX || memchr(t.value, ' ', t.value_len))
		return -EPROTO;
	memcpy(req->label, t.value, t.value_len);
	req->label[t.value_len] = '\0';
	if (irc_msg_tag_get(m, "eirc/user", &t) < 0 || t.value_len == 0 || t.value_len > 19)
		return -EPROTO;
	for (size_t i = 0; i < t.value_len; i++) {
		if (t.value[i] < '0' || t.value[i] > '9')
			return -EPROTO;
		id = id * 10 + (uint64_t)(t.value[i] - '0');
	}
	if (id == 0)
		return -EPROTO;
	req->user_id = id;
	if (irc_msg_tag_get(m, "eirc/nick", &t) == 0 && t.value_len <= HIST_REQ_NICK_MAX) {
		memcpy(req->nick, t.value, t.value_len);
		req->nick[t.value_len] = '\0';
	}
	req->cm = IRC_CASEMAP_DEFAULT;
	if (irc_msg_tag_get(m, "eirc/casemap", &t) == 0)
		(void)irc_casemap_from_name(t.value, t.value_len, &req->cm);
	req->event_playback = irc_msg_tag_get(m, "eirc/event-playback", &t) == 0;
	if (irc_msg_tag_get(m, "eirc/channels", &t) == 0) {
		if (t.value_len > HIST_REQ_CHANNELS_MAX)
			return -EPROTO;
		memcpy(req->channels, t.value, t.value_len);
		req->channels[t.value_len] = '\0';
	}
	return 0;
}

static void context(struct hist_req_err *e, const struct irc_msg *m)
{
	int n = 0;

	if (m->n_params > 0)
		n = snprintf(e->context, sizeof(e->context), "%.*s",
		             (int)(m->params[0].len < 15 ? m->params[0].len : 15),
		             m->params[0].ptr);
	if (m->n_params > 1 && target_ok(&m->params[1]) && n > 0)
		snprintf(e->context + n, sizeof(e->context) - (size_t)n, " %.*s",
		         (int)m->params[1].len, m->params[1].ptr);
	if (n <= 0)
		snprintf(e->context, sizeof(e->context), "*");
}

/* The subcommand's params after the envelope was accepted. */
static int body(const struct irc_msg *m, struct hist_req *req, struct hist_req_err *e)
{
	size_t i, p = 1;

	if (m->n_params < 1)
		return fail(e, "INVALID_PARAMS", "Missing subcommand");
	for (i = 0; i < HIST_SUB_COUNT; i++)
		if (irc_msg_span_is(&m->params[0], subs[i].name))
			break;
	if (i == HIST_SUB_COUNT)
		return fail(e, "INVALID_PARAMS", "Unknown CHATHISTORY subcommand");
	req->sub = (enum hist_sub)i;
	size_t want = 1 + (subs[i].has_target ? 1 : 0) + subs[i].n_refs + 1;
	if (m->n_params < want)
		return fail(e, "INVALID_PARAMS", "Missing parameters");
	if (m->n_params > want)
		return fail(e, "INVALID_PARAMS", "Too many parameters");
	if (subs[i].has_target) {
		const struct irc_msg_span *t = &m->params[p++];
		if (!target_ok(t))
			return fail(e, "INVALID_PARAMS", "Invalid target");
		memcpy(req->target, t->ptr, t->len);
		req->target[t->len] = '\0';
		req->target_len = t->len;
		req->target_is_channel = strchr("#&+!", t->ptr[0]) != NULL;
	}
	for (size_t r = 0; r < subs[i].n_refs; r++, p++) {
		int err = ref_parse(&m->params[p], req->sub == HIST_LATEST, &req->ref[r]);
		if (err == -EINVAL)
			return fail(e, "INVALID_PARAMS", "'*' is only valid with LATEST");
		if (err < 0)
			return fail(
			    e, "INVALID_MSGREFTYPE",
			    "References are msgid=<id>, timestamp=YYYY-MM-DDThh:mm:ss.sssZ or *");
		if (req->sub == HIST_TARGETS && req->ref[r].kind != HIST_REF_TIME)
			return fail(e, "INVALID_MSGREFTYPE", "TARGETS takes timestamps");
	}
	if (limit_parse(&m->params[p], &req->limit) < 0)
		return fail(e, "INVALID_PARAMS", "The limit must be a positive integer");
	return 0;
}

int hist_req_parse(const char *line, size_t len, struct hist_req *out_req,
                   struct hist_req_err *out_err)
{
	char buf[IRC_LINE_MAX];
	struct hist_req req;
	struct hist_req_err err = {0};
	struct irc_msg m;
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
