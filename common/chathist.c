/*
 * chathist: the CHATHISTORY request grammar (see chathist.h). One table of
 * subcommands; references and limits parsed with range checks, never atoi.
 */
#include "common/chathist.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	size_t n_refs;
	bool has_target;
} subs[CHATHIST_SUB_COUNT] = {
	[CHATHIST_LATEST] = {"LATEST", 1, true},   [CHATHIST_BEFORE] = {"BEFORE", 1, true},
	[CHATHIST_AFTER] = {"AFTER", 1, true},     [CHATHIST_AROUND] = {"AROUND", 1, true},
	[CHATHIST_BETWEEN] = {"BETWEEN", 2, true}, [CHATHIST_TARGETS] = {"TARGETS", 2, false},
};

/* The spec's example answers a bad timestamp with INVALID_PARAMS; ours
 * have always said INVALID_MSGREFTYPE, and the tests pin it. */
static const struct {
	const char *code, *text;
} errs[] = {
	[CHATHIST_E_NO_SUB] = {"INVALID_PARAMS", "Missing subcommand"},
	[CHATHIST_E_UNKNOWN_SUB] = {"INVALID_PARAMS", "Unknown CHATHISTORY subcommand"},
	[CHATHIST_E_MISSING] = {"INVALID_PARAMS", "Missing parameters"},
	[CHATHIST_E_EXTRA] = {"INVALID_PARAMS", "Too many parameters"},
	[CHATHIST_E_TARGET] = {"INVALID_PARAMS", "Invalid target"},
	[CHATHIST_E_STAR] = {"INVALID_PARAMS", "'*' is only valid with LATEST"},
	[CHATHIST_E_REFTYPE] =
		{"INVALID_MSGREFTYPE",
		 "References are msgid=<id>, timestamp=YYYY-MM-DDThh:mm:ss.sssZ or *"},
	[CHATHIST_E_TARGETS_REF] = {"INVALID_MSGREFTYPE", "TARGETS takes timestamps"},
	[CHATHIST_E_LIMIT] = {"INVALID_PARAMS", "The limit must be a positive integer"},
};

const char *chathist_sub_name(enum chathist_sub sub)
{
	return (unsigned)sub < CHATHIST_SUB_COUNT ? subs[sub].name : "?";
}

bool chathist_target_ok(const irc_msg_span_t *t, size_t max)
{
	if (t->len == 0 || t->len > max || t->ptr[0] == '*' || t->ptr[0] == ':')
		return false;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->ptr[i];
		if (c <= 0x20 || c == ',' || c == 0x7f)
			return false;
	}
	return true;
}

/* "YYYY-MM-DDThh:mm:ss.sssZ" exactly, 1970..9999, a real calendar day,
 * second 60 (a leap second) allowed, into ms since the epoch. */
static int time_parse(const char *s, size_t len, int64_t *out_ms)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	/* days before each month of a common year, and the year */
	static const unsigned before[13] = {0,   31,  59,  90,  120, 151, 181,
					    212, 243, 273, 304, 334, 365};
	unsigned v[8] = {0}, f = 0; /* year month day hour minute second ms */

	if (len != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (shape[i] != 'd' ? s[i] != shape[i] : s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (shape[i] != 'd')
			f++;
		else
			v[f] = v[f] * 10 + (unsigned)(s[i] - '0');
	}
	unsigned y = v[0], mo = v[1], leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1970 || mo < 1 || mo > 12 || v[2] < 1 ||
	    v[2] > before[mo] - before[mo - 1] + (mo == 2 && leap) || v[3] > 23 || v[4] > 59 ||
	    v[5] > 60)
		return -EINVAL;
	/* leap days of 1970..y-1: those of 1..y-1 minus those of 1..1969 */
	int64_t days = (int64_t)(y - 1970) * 365 + ((y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) -
		       (1969 / 4 - 1969 / 100 + 1969 / 400) + before[mo - 1] + (mo > 2 && leap) +
		       v[2] - 1;
	*out_ms = ((days * 24 + v[3]) * 60 + v[4]) * 60000 + (int64_t)v[5] * 1000 + v[6];
	return 0;
}

/* 0, -EINVAL ('*' where not allowed), -EPROTO (bad type or value). */
static int ref_parse(const irc_msg_span_t *r, bool star_ok, chathist_ref_t *out)
{
	if (r->len == 1 && r->ptr[0] == '*') {
		if (!star_ok)
			return -EINVAL;
		out->kind = CHATHIST_REF_STAR;
		return 0;
	}
	if (r->len > 6 && memcmp(r->ptr, "msgid=", 6) == 0) {
		if (r->len - 6 > CHATHIST_MSGID_MAX)
			return -EPROTO;
		out->kind = CHATHIST_REF_MSGID;
		out->msgid.ptr = r->ptr + 6;
		out->msgid.len = r->len - 6;
		return 0;
	}
	if (r->len > 10 && memcmp(r->ptr, "timestamp=", 10) == 0 &&
	    time_parse(r->ptr + 10, r->len - 10, &out->time_ms) == 0) {
		out->kind = CHATHIST_REF_TIME;
		return 0;
	}
	return -EPROTO;
}

/* Decimal digits only, at least one, 1..o->limit_max (or clamped to it);
 * the value stops growing past the maximum, so no length overflows. */
static int limit_parse(const irc_msg_span_t *s, const chathist_opts_t *o, uint32_t *out)
{
	uint64_t v = 0;

	if (s->len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s->len; i++) {
		if (s->ptr[i] < '0' || s->ptr[i] > '9')
			return -EINVAL;
		if (v <= o->limit_max)
			v = v * 10 + (uint64_t)(s->ptr[i] - '0');
	}
	if (v == 0 || (v > o->limit_max && !o->limit_clamp))
		return -ERANGE;
	*out = v > o->limit_max ? o->limit_max : (uint32_t)v;
	return 0;
}

static int fail(chathist_err_t *e, enum chathist_error what)
{
	e->what = what;
	e->code = errs[what].code;
	e->text = errs[what].text;
	return -EINVAL;
}

int chathist_parse(const irc_msg_t *m, const chathist_opts_t *opts, chathist_req_t *out_req,
		   chathist_err_t *out_err)
{
	chathist_req_t req = {0};
	size_t i, p = 1;

	if (m->n_params < 1)
		return fail(out_err, CHATHIST_E_NO_SUB);
	for (i = 0; i < CHATHIST_SUB_COUNT && !irc_msg_span_is(&m->params[0], subs[i].name); i++)
		;
	if (i == CHATHIST_SUB_COUNT)
		return fail(out_err, CHATHIST_E_UNKNOWN_SUB);
	req.sub = (enum chathist_sub)i;
	size_t want = 2 + (subs[i].has_target ? 1 : 0) + subs[i].n_refs;
	if (m->n_params != want)
		return fail(out_err, m->n_params < want ? CHATHIST_E_MISSING : CHATHIST_E_EXTRA);
	if (subs[i].has_target) {
		req.target = m->params[p++];
		if (!chathist_target_ok(&req.target, opts->target_max))
			return fail(out_err, CHATHIST_E_TARGET);
	}
	for (size_t r = 0; r < subs[i].n_refs; r++, p++) {
		int err = ref_parse(&m->params[p], req.sub == CHATHIST_LATEST, &req.ref[r]);
		if (err < 0)
			return fail(out_err, err == -EINVAL ? CHATHIST_E_STAR : CHATHIST_E_REFTYPE);
		if (req.sub == CHATHIST_TARGETS && req.ref[r].kind != CHATHIST_REF_TIME)
			return fail(out_err, CHATHIST_E_TARGETS_REF);
	}
	if (limit_parse(&m->params[p], opts, &req.limit) < 0)
		return fail(out_err, CHATHIST_E_LIMIT);
	*out_req = req;
	return 0;
}
