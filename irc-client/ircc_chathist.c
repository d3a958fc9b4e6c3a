/*
 * ircc_chathist: CHATHISTORY request checks (see ircc_chathist.h).
 */
#include "irc-client/ircc_chathist.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const struct {
	const char *name;
	size_t n_params;                /* including the subcommand */
	bool has_target;
} subs[] = {
	[IRCC_CH_LATEST] = { "LATEST", 4, true },
	[IRCC_CH_BEFORE] = { "BEFORE", 4, true },
	[IRCC_CH_AFTER] = { "AFTER", 4, true },
	[IRCC_CH_AROUND] = { "AROUND", 4, true },
	[IRCC_CH_BETWEEN] = { "BETWEEN", 5, true },
	[IRCC_CH_TARGETS] = { "TARGETS", 4, false },
};

const char *ircc_chathist_sub_name(enum ircc_chathist_sub sub)
{
	return subs[sub].name;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* YYYY-MM-DDThh:mm:ss.sssZ, each field in range. */
static bool timestamp_ok(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (n != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? !digits(s + i, 1) : s[i] != shape[i])
			return false;
	}
	int mon = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
	int hh = (s[11] - '0') * 10 + (s[12] - '0'), mm = (s[14] - '0') * 10 + (s[15] - '0');
	int ss = (s[17] - '0') * 10 + (s[18] - '0');
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh <= 23 && mm <= 59 && ss <= 60;
}

/* 0: valid reference; -EINVAL: '*' not allowed here; -EPROTO: bad type. */
static int ref_check(const struct irc_msg_span *r, bool star_ok)
{
	if (r->len == 1 && r->ptr[0] == '*')
		return star_ok ? 0 : -EINVAL;
	if (r->len > 6 && memcmp(r->ptr, "msgid=", 6) == 0)
		return r->len - 6 <= IRCC_CHATHIST_MSGID_MAX ? 0 : -EPROTO;
	if (r->len > 10 && memcmp(r->ptr, "timestamp=", 10) == 0)
		return timestamp_ok(r->ptr + 10, r->len - 10) ? 0 : -EPROTO;
	return -EPROTO;
}

static int fail(struct ircc_chathist_err *e, const char *code, const char *text)
{
	e->code = code;
	e->text = text;
	return -EINVAL;
}

static int limit_parse(const struct irc_msg_span *s, unsigned *out)
{
	unsigned v = 0;

	if (s->len == 0 || s->len > 7 || !digits(s->ptr, s->len))
		return -EINVAL;
	for (size_t i = 0; i < s->len; i++)
		v = v * 10 + (unsigned)(s->ptr[i] - '0');
	if (v == 0 || v > IRCC_CHATHIST_LIMIT_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

int ircc_chathist_parse(const struct irc_msg *m, struct ircc_chathist_req *out_req,
                        struct ircc_chathist_err *out_err)
{
	struct ircc_chathist_req req = { 0 };
	size_t i;

	if (m->n_params < 1)
		return fail(out_err, "NEED_MORE_PARAMS", "Missing subcommand");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (irc_msg_span_is(&m->params[0], subs[i].name))
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return fail(out_err, "UNKNOWN_COMMAND", "Unknown CHATHISTORY subcommand");
	req.sub = (enum ircc_chathist_sub)i;
	if (m->n_params < subs[i].n_params)
		return fail(out_err, "NEED_MORE_PARAMS", "Missing parameters");
	if (m->n_params > subs[i].n_params)
		return fail(out_err, "INVALID_PARAMS", "Too many parameters");
	size_t first_ref = subs[i].has_target ? 2 : 1;
	if (subs[i].has_target) {
		req.target = m->params[1];
		if (req.target.len == 0 || req.target.len > IRCC_CHATHIST_TARGET_MAX ||
		    memchr(req.target.ptr, ',', req.target.len) || req.target.ptr[0] == '*')
			return fail(out_err, "INVALID_PARAMS", "Invalid target");
	}
	for (size_t r = first_ref; r + 1 < subs[i].n_params; r++) {
		int err = ref_check(&m->params[r], req.sub == IRCC_CH_LATEST);
		if (err == -EINVAL)
			return fail(out_err, "INVALID_PARAMS", "'*' is only valid with LATEST");
		if (err < 0)
			return fail(out_err, "INVALID_MSGREFTYPE",
			            "References are msgid=<id>, timestamp=YYYY-MM-DDThh:mm:ss.sssZ or *");
		if (req.sub == IRCC_CH_TARGETS && m->params[r].ptr[0] != 't')
			return fail(out_err, "INVALID_MSGREFTYPE", "TARGETS takes timestamps");
	}
	if (limit_parse(&m->params[subs[i].n_params - 1], &req.limit) < 0)
		return fail(out_err, "INVALID_PARAMS", "The limit must be a positive integer");
	*out_req = req;
	return 0;
}
