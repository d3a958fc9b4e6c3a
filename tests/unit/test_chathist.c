/*
 * common/chathist unit tests: the CHATHISTORY grammar both the irc-client
 * and eirc-history use. Every subcommand's valid form; every malformed form
 * and its FAIL code; each limit at its bound and one past (target, msgid,
 * limit in both modes); timestamps at the calendar's edges and checked
 * against timegm() day by day; params no parsed line can hold (a space in
 * a target, empty params) built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/chathist.h"

static const chathist_opts_t dflt = {CHATHIST_TARGET_MAX, 1000, false};

/* Parses "CHATHISTORY <text>" under o; the line lives until the next call. */
static int parse_o(const char *text, const chathist_opts_t *o, chathist_req_t *req,
		   chathist_err_t *err)
{
	static char buf[1024];
	irc_msg_t m;

	snprintf(buf, sizeof(buf), "CHATHISTORY %s", text);
	assert_int_equal(irc_msg_parse(buf, strlen(buf), 0, &m), 0);
	return chathist_parse(&m, o, req, err);
}

static int parse(const char *text, chathist_req_t *req)
{
	chathist_err_t err;

	return parse_o(text, &dflt, req, &err);
}

/* Expects text to be refused for reason what, with code. */
static void refused(const char *text, enum chathist_error what, const char *code)
{
	chathist_req_t req;
	chathist_err_t err = {0};

	memset(&req, 0x5a, sizeof(req));
	int r = parse_o(text, &dflt, &req, &err);
	if (r != -EINVAL || err.what != what || strcmp(err.code, code) != 0)
		fail_msg("'%s': want %d %s, got r=%d %d %s", text, what, code, r, err.what,
			 err.code ? err.code : "-");
	assert_true(err.text && err.text[0]);
	for (size_t i = 0; i < sizeof(req); i++) /* untouched on failure */
		assert_int_equal(((unsigned char *)&req)[i], 0x5a);
}

/* The ms of ts ("YYYY-MM-DDThh:mm:ss.sssZ") as a BEFORE reference, or -1. */
static int64_t ts_ms(const char *ts)
{
	char text[128];
	chathist_req_t req;

	snprintf(text, sizeof(text), "BEFORE #c timestamp=%s 1", ts);
	if (parse(text, &req) != 0)
		return -1;
	assert_int_equal(req.ref[0].kind, CHATHIST_REF_TIME);
	return req.ref[0].time_ms;
}

static void test_valid_forms(void **state)
{
	chathist_req_t q;

	(void)state;
	assert_int_equal(parse("LATEST #Chan * 50", &q), 0);
	assert_int_equal(q.sub, CHATHIST_LATEST);
	assert_int_equal(q.target.len, 5);
	assert_memory_equal(q.target.ptr, "#Chan", 5);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_STAR);
	assert_int_equal(q.ref[1].kind, CHATHIST_REF_NONE);
	assert_int_equal(q.limit, 50);
	assert_int_equal(parse("before bob msgid=abc-1 1", &q), 0);
	assert_int_equal(q.sub, CHATHIST_BEFORE);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_MSGID);
	assert_int_equal(q.ref[0].msgid.len, 5);
	assert_memory_equal(q.ref[0].msgid.ptr, "abc-1", 5);
	assert_int_equal(parse("AFTER #c timestamp=2026-01-02T03:04:05.678Z 10", &q), 0);
	assert_int_equal(q.ref[0].time_ms, INT64_C(1767323045678));
	assert_int_equal(parse("AROUND #c msgid=x 3", &q), 0);
	assert_int_equal(q.sub, CHATHIST_AROUND);
	assert_int_equal(parse("BETWEEN #c msgid=a timestamp=1970-01-01T00:00:00.000Z 5", &q), 0);
	assert_int_equal(q.sub, CHATHIST_BETWEEN);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_MSGID);
	assert_int_equal(q.ref[1].kind, CHATHIST_REF_TIME);
	assert_int_equal(q.ref[1].time_ms, 0);
	assert_int_equal(parse("TaRgEtS timestamp=2026-01-02T03:04:05.678Z "
			       "timestamp=2026-01-03T03:04:05.678Z 20",
			       &q),
			 0);
	assert_int_equal(q.sub, CHATHIST_TARGETS);
	assert_null(q.target.ptr);
	assert_int_equal(q.ref[1].time_ms - q.ref[0].time_ms, 86400000);
	assert_int_equal(parse("LATEST #c msgid=z 1", &q), 0); /* LATEST takes any ref */
	/* names */
	assert_string_equal(chathist_sub_name(CHATHIST_LATEST), "LATEST");
	assert_string_equal(chathist_sub_name(CHATHIST_TARGETS), "TARGETS");
	assert_string_equal(chathist_sub_name(CHATHIST_SUB_COUNT), "?");
	assert_string_equal(chathist_sub_name((enum chathist_sub) - 1), "?");
}

static void test_malformed_forms(void **state)
{
#define TS "timestamp=2026-01-02T03:04:05.678Z"
	static const struct {
		const char *text;
		enum chathist_error what;
	} cases[] = {
		{"", CHATHIST_E_NO_SUB},
		{"SIDEWAYS #c * 5", CHATHIST_E_UNKNOWN_SUB},
		{"LATESTX #c * 5", CHATHIST_E_UNKNOWN_SUB},
		{"LATEST", CHATHIST_E_MISSING},
		{"LATEST #c *", CHATHIST_E_MISSING},
		{"BETWEEN #c msgid=a 5", CHATHIST_E_MISSING},
		{"LATEST :#a b", CHATHIST_E_MISSING},
		{"LATEST #c * 5 extra", CHATHIST_E_EXTRA},
		{"TARGETS #c " TS " " TS " 5", CHATHIST_E_EXTRA},
		{"LATEST #a,#b * 5", CHATHIST_E_TARGET},
		{"LATEST * * 5", CHATHIST_E_TARGET},
		{"BEFORE #c * 5", CHATHIST_E_STAR},
		{"BETWEEN #c msgid=a * 5", CHATHIST_E_STAR},
		{"TARGETS * " TS " 5", CHATHIST_E_STAR},
		{"AFTER #c foo=1 5", CHATHIST_E_REFTYPE},
		{"AFTER #c msgid= 5", CHATHIST_E_REFTYPE},
		{"AFTER #c MSGID=a 5", CHATHIST_E_REFTYPE},
		{"AFTER #c timestamp= 5", CHATHIST_E_REFTYPE},
		{"AFTER #c timestamp=yesterday 5", CHATHIST_E_REFTYPE},
		{"AFTER #c ** 5", CHATHIST_E_REFTYPE},
		{"TARGETS msgid=a msgid=b 5", CHATHIST_E_TARGETS_REF},
		{"TARGETS " TS " msgid=b 5", CHATHIST_E_TARGETS_REF},
		/* limits: 0, signs, not decimal, spaces, empty */
		{"LATEST #c * 0", CHATHIST_E_LIMIT},
		{"LATEST #c * 000", CHATHIST_E_LIMIT},
		{"LATEST #c * -1", CHATHIST_E_LIMIT},
		{"LATEST #c * +1", CHATHIST_E_LIMIT},
		{"LATEST #c * 1e3", CHATHIST_E_LIMIT},
		{"LATEST #c * 0x10", CHATHIST_E_LIMIT},
		{"LATEST #c * : ", CHATHIST_E_LIMIT},
		{"LATEST #c * :1 ", CHATHIST_E_LIMIT},
		{"LATEST #c * :", CHATHIST_E_LIMIT},
		/* the first broken rule wins: target, then references, then limit */
		{"BEFORE a,b foo=1 0", CHATHIST_E_TARGET},
		{"BETWEEN #c foo=1 * 0", CHATHIST_E_REFTYPE},
		{"BETWEEN #c msgid=a * 0", CHATHIST_E_STAR},
	};
#undef TS

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum chathist_error w = cases[i].what;
		bool reftype = w == CHATHIST_E_REFTYPE || w == CHATHIST_E_TARGETS_REF;
		refused(cases[i].text, w, reftype ? "INVALID_MSGREFTYPE" : "INVALID_PARAMS");
	}
}

/* Limit: refused or clamped past the maximum, at UINT32_MAX too. */
static void test_limit_bounds(void **state)
{
	chathist_req_t q;
	chathist_err_t e;
	const chathist_opts_t clamp = {CHATHIST_TARGET_MAX, 1000, true};
	const chathist_opts_t u32 = {CHATHIST_TARGET_MAX, UINT32_MAX, false};
	const chathist_opts_t u32c = {CHATHIST_TARGET_MAX, UINT32_MAX, true};

	(void)state;
	assert_int_equal(parse_o("LATEST #c * 1", &dflt, &q, &e), 0);
	assert_int_equal(q.limit, 1);
	assert_int_equal(parse_o("LATEST #c * 1000", &dflt, &q, &e), 0);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(parse_o("LATEST #c * 000000000000001000", &dflt, &q, &e), 0);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(parse_o("LATEST #c * 1001", &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_LIMIT);
	assert_int_equal(parse_o("LATEST #c * 99999999999999999999999999", &dflt, &q, &e), -EINVAL);
	assert_int_equal(parse_o("LATEST #c * 1001", &clamp, &q, &e), 0);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(parse_o("LATEST #c * 99999999999999999999999999", &clamp, &q, &e), 0);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(parse_o("LATEST #c * 9999999999999999999999999x", &clamp, &q, &e),
			 -EINVAL);
	assert_int_equal(parse_o("LATEST #c * 0", &clamp, &q, &e), -EINVAL);
	assert_int_equal(parse_o("LATEST #c * 4294967295", &u32, &q, &e), 0);
	assert_int_equal(q.limit, UINT32_MAX);
	assert_int_equal(parse_o("LATEST #c * 4294967296", &u32, &q, &e), -EINVAL);
	assert_int_equal(parse_o("LATEST #c * 42949672950", &u32, &q, &e), -EINVAL);
	assert_int_equal(parse_o("LATEST #c * 4294967296", &u32c, &q, &e), 0);
	assert_int_equal(q.limit, UINT32_MAX);
	assert_int_equal(parse_o("LATEST #c * 18446744073709551617", &u32c, &q, &e), 0);
	assert_int_equal(q.limit, UINT32_MAX);
}

/* Target and msgid at their maximum and one past. */
static void test_length_bounds(void **state)
{
	chathist_req_t q;
	chathist_err_t e;
	char text[512], big[CHATHIST_TARGET_MAX + 2], id[CHATHIST_MSGID_MAX + 2];
	const chathist_opts_t small = {64, 1000, false};

	(void)state;
	memset(big, 'x', sizeof(big));
	big[0] = '#';
	big[CHATHIST_TARGET_MAX] = '\0';
	snprintf(text, sizeof(text), "LATEST %s * 1", big);
	assert_int_equal(parse_o(text, &dflt, &q, &e), 0);
	assert_int_equal(q.target.len, CHATHIST_TARGET_MAX);
	big[CHATHIST_TARGET_MAX] = 'x';
	big[CHATHIST_TARGET_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "LATEST %s * 1", big);
	assert_int_equal(parse_o(text, &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_TARGET);
	/* a caller's smaller maximum */
	big[64] = '\0';
	snprintf(text, sizeof(text), "LATEST %s * 1", big);
	assert_int_equal(parse_o(text, &small, &q, &e), 0);
	big[64] = 'x';
	big[65] = '\0';
	snprintf(text, sizeof(text), "LATEST %s * 1", big);
	assert_int_equal(parse_o(text, &small, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_TARGET);

	memset(id, 'm', sizeof(id));
	id[CHATHIST_MSGID_MAX] = '\0';
	snprintf(text, sizeof(text), "BEFORE #c msgid=%s 1", id);
	assert_int_equal(parse_o(text, &dflt, &q, &e), 0);
	assert_int_equal(q.ref[0].msgid.len, CHATHIST_MSGID_MAX);
	id[CHATHIST_MSGID_MAX] = 'm';
	id[CHATHIST_MSGID_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "BEFORE #c msgid=%s 1", id);
	assert_int_equal(parse_o(text, &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_REFTYPE);
}

/* Params no parsed line holds: a space in a target, empty params. */
static void test_hand_built(void **state)
{
	irc_msg_t m = {0};
	chathist_req_t q;
	chathist_err_t e;
	static const char *const bad_targets[] = {"#a b", "", "#a\x01", "#a\x7f", ":a", "*", "a,b"};
	static const char *const good_targets[] = {"#a", "&a", "bob", "#\xc3\xa9t\xc3\xa9", "a*"};

	(void)state;
	m.n_params = 4;
	m.params[0] = (irc_msg_span_t){"LATEST", 6};
	m.params[2] = (irc_msg_span_t){"*", 1};
	m.params[3] = (irc_msg_span_t){"5", 1};
	for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
		m.params[1] = (irc_msg_span_t){bad_targets[i], strlen(bad_targets[i])};
		assert_false(chathist_target_ok(&m.params[1], CHATHIST_TARGET_MAX));
		assert_int_equal(chathist_parse(&m, &dflt, &q, &e), -EINVAL);
		assert_int_equal(e.what, CHATHIST_E_TARGET);
	}
	for (size_t i = 0; i < sizeof(good_targets) / sizeof(good_targets[0]); i++) {
		m.params[1] = (irc_msg_span_t){good_targets[i], strlen(good_targets[i])};
		assert_int_equal(chathist_parse(&m, &dflt, &q, &e), 0);
	}
	m.params[1] = (irc_msg_span_t){"#c", 2};
	m.params[2] = (irc_msg_span_t){"", 0};
	assert_int_equal(chathist_parse(&m, &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_REFTYPE);
	m.params[2] = (irc_msg_span_t){"*", 1};
	m.params[3] = (irc_msg_span_t){"", 0};
	assert_int_equal(chathist_parse(&m, &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_LIMIT);
	m.params[0] = (irc_msg_span_t){"", 0};
	assert_int_equal(chathist_parse(&m, &dflt, &q, &e), -EINVAL);
	assert_int_equal(e.what, CHATHIST_E_UNKNOWN_SUB);
}

static void test_timestamp_edges(void **state)
{
	static const char *const bad[] = {
		"2026-00-10T00:00:00.000Z",
		"2026-13-10T00:00:00.000Z", /* month */
		"2026-01-00T00:00:00.000Z",
		"2026-01-32T00:00:00.000Z", /* day */
		"2026-04-31T00:00:00.000Z",
		"2026-02-29T00:00:00.000Z", /* month length, leap */
		"2100-02-29T00:00:00.000Z",
		"2024-02-30T00:00:00.000Z",
		"2026-01-10T24:00:00.000Z",
		"2026-01-10T00:60:00.000Z", /* hour, minute */
		"2026-01-10T00:00:61.000Z", /* second */
		"1969-12-31T23:59:59.999Z",
		"0000-01-01T00:00:00.000Z", /* before the epoch */
		"2026-01-10T00:00:00.000",
		"2026-01-10T00:00:00.000z", /* missing Z */
		"2026-01-10T00:00:00.000ZZ",
		"2026-01-10T00:00:00.000Z0",
		"2026-01-10T00:00:00.0000Z",
		"2026-01-10T00:00:00.00Z", /* fraction digits */
		"2026-01-10T00:00:00Z",
		"2026-01-10T00:00:00.Z",
		"20260-01-10T00:00:00.000Z",
		"2026-1-10T00:00:00.000Z", /* field widths */
		"2026-01-10 00:00:00.000Z",
		"2026/01/10T00:00:00.000Z", /* separators */
		"2026-01-10T00:00:00,000Z",
		"2026-0a-10T00:00:00.000Z", /* not digits */
		"2026-01-10T00:00:00.-00Z",
		"+026-01-10T00:00:00.000Z",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ts_ms(bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(ts_ms("1970-01-01T00:00:00.000Z"), 0);
	assert_int_equal(ts_ms("1970-01-01T00:00:00.001Z"), 1);
	assert_int_equal(ts_ms("2024-02-29T00:00:00.000Z"), INT64_C(1709164800000));
	assert_int_equal(ts_ms("2000-02-29T00:00:00.000Z"), INT64_C(951782400000));
	assert_int_equal(ts_ms("2100-03-01T00:00:00.000Z"), INT64_C(4107542400000));
	assert_int_equal(ts_ms("2026-04-30T00:00:00.000Z") + 86400000,
			 ts_ms("2026-05-01T00:00:00.000Z"));
	/* a leap second reads as the next minute's first */
	assert_int_equal(ts_ms("2016-12-31T23:59:60.000Z"), INT64_C(1483228800000));
	assert_int_equal(ts_ms("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
}

/* Every day from 1970 to 2410 at a varying time of day against timegm(). */
static void test_timestamp_vs_timegm(void **state)
{
	char ts[64];

	(void)state;
	for (int64_t day = 0; day < 160000; day++) {
		time_t t = (time_t)(day * 86400 + (day * 7919) % 86400);
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(day % 1000));
		assert_int_equal(timegm(&tm), t);
		if (ts_ms(ts) != (int64_t)t * 1000 + day % 1000)
			fail_msg("%s: got %lld", ts, (long long)ts_ms(ts));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_forms),         cmocka_unit_test(test_malformed_forms),
		cmocka_unit_test(test_limit_bounds),        cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_hand_built),          cmocka_unit_test(test_timestamp_edges),
		cmocka_unit_test(test_timestamp_vs_timegm),
	};

	return cmocka_run_group_tests_name("chathist", tests, NULL, NULL);
}
