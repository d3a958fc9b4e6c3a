/*
 * eirc-history's HTTP API rules (history-bridge/hist_api.c): who may read
 * which room (public, member, denied, privileged; masks; case folding),
 * the token bucket (burst, then one more refused, refill, Retry-After),
 * bearer token and cursor syntax at their limits and one past, a
 * stored entry as the API's JSON message, and the /metrics text
 * (hist_metrics.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "history-bridge/hist_api.h"
#include "history-bridge/hist_metrics.h"
#include "history-bridge/hist_req.h"

static char *masks[] = {(char *)"#priv-*", (char *)"&staff"};

static enum hist_api_access access(const char *user_json, const char *room)
{
	json_t *u = user_json ? json_loads(user_json, 0, NULL) : NULL;
	enum hist_api_access a = hist_api_room_access(u, room, strlen(room), masks, 2);

	json_decref(u);
	return a;
}

static void test_access(void **state)
{
	const char *alice = "{\"role\":\"user\",\"private_rooms\":[\"#Ops\",\"#priv-a\"],"
			    "\"denied_rooms\":[\"#board\"]}";
	(void)state;

	assert_int_equal(access(alice, "#general"), HIST_API_PUBLIC);
	assert_int_equal(access(alice, "#ops"), HIST_API_MEMBER);
	assert_int_equal(access(alice, "#OPS"), HIST_API_MEMBER);
	assert_int_equal(access(alice, "#board"), HIST_API_DENIED);
	assert_int_equal(access(alice, "#priv-a"), HIST_API_MEMBER);
	assert_int_equal(access(alice, "#priv-b"), HIST_API_DENIED);
	assert_int_equal(access(alice, "#PRIV-B"), HIST_API_DENIED);
	assert_int_equal(access(alice, "&staff"), HIST_API_DENIED);
	/* rfc1459: [ and { are one letter */
	assert_int_equal(access("{\"private_rooms\":[\"#a[b]\"]}", "#a{b}"), HIST_API_MEMBER);
	/* listed both as member and denied: denied wins */
	assert_int_equal(access("{\"private_rooms\":[\"#x\"],\"denied_rooms\":[\"#x\"]}", "#x"),
			 HIST_API_DENIED);
	assert_int_equal(access(NULL, "#general"), HIST_API_PUBLIC);
	assert_int_equal(access(NULL, "#priv-a"), HIST_API_DENIED);
	assert_int_equal(access("{\"role\":\"auditor\"}", "#board"), HIST_API_PRIVILEGED);
	assert_int_equal(access("{\"role\":\"admin\"}", "#priv-z"), HIST_API_PRIVILEGED);
	json_t *aud = json_pack("{s:s}", "role", "auditor"),
	       *adm = json_pack("{s:s}", "role", "admin");
	assert_true(hist_api_is_auditor(aud));
	assert_false(hist_api_is_auditor(adm));
	assert_true(hist_api_privileged(adm));
	json_decref(aud);
	json_decref(adm);
}

static void test_bucket(void **state)
{
	tokbucket_t b;
	unsigned retry = 0;
	(void)state;

	/* burst 5 at 2/s: five at once, the sixth refused */
	tokbucket_init(&b, 2, 5, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(hist_rate_take(&b, 1000, &retry));
	assert_false(hist_rate_take(&b, 1000, &retry));
	assert_int_equal(retry, 1);
	/* half a second later one token is back, then none */
	assert_true(hist_rate_take(&b, 1500, &retry));
	assert_false(hist_rate_take(&b, 1500, &retry));
	/* never above the burst after a long pause */
	for (int i = 0; i < 5; i++)
		assert_true(hist_rate_take(&b, 100000, &retry));
	assert_false(hist_rate_take(&b, 100000, &retry));
	/* a slow rate: whole seconds until the next token, rounded up */
	tokbucket_t s;
	tokbucket_init(&s, 1, 1, 1);
	assert_true(hist_rate_take(&s, 1, &retry));
	assert_false(hist_rate_take(&s, 1, &retry));
	assert_int_equal(retry, 1);
	tokbucket_t z;
	tokbucket_init(&z, 0, 1, 5);
	assert_true(hist_rate_take(&z, 5, &retry));
	assert_false(hist_rate_take(&z, 99999, &retry));
	assert_true(retry >= 1);
}

static void test_token_syntax(void **state)
{
	char t[HIST_API_TOKEN_MAX + 2];
	(void)state;

	memset(t, 'a', sizeof(t));
	assert_true(hist_api_token_ok(t, HIST_API_TOKEN_MAX));
	assert_false(hist_api_token_ok(t, HIST_API_TOKEN_MAX + 1));
	assert_true(hist_api_token_ok("abc-._~+/==", 11));
	assert_false(hist_api_token_ok("", 0));
	assert_false(hist_api_token_ok("=", 1));
	assert_false(hist_api_token_ok("ab=c", 4));
	assert_false(hist_api_token_ok("a b", 3));
	assert_false(hist_api_token_ok("a\"b", 3));
}

static void test_cursor_syntax(void **state)
{
	char c[CHATHIST_MSGID_MAX + 2];
	(void)state;

	memset(c, 'x', sizeof(c));
	assert_true(hist_api_cursor_ok(c, CHATHIST_MSGID_MAX));
	assert_false(hist_api_cursor_ok(c, CHATHIST_MSGID_MAX + 1));
	assert_false(hist_api_cursor_ok("", 0));
	assert_false(hist_api_cursor_ok("a b", 3));
	assert_false(hist_api_cursor_ok("a\x7f", 2));
	assert_true(hist_api_cursor_ok("1EI~1795518196~69", 17));
}

/* Rooms at CHATHIST_TARGET_MAX bytes and one past; the messages path. */
static void test_room_and_path(void **state)
{
	char r[CHATHIST_TARGET_MAX + 2];
	const char *room = NULL;
	size_t len = 0;
	(void)state;

	memset(r, 'x', sizeof(r));
	r[0] = '#';
	assert_true(hist_api_room_ok(r, CHATHIST_TARGET_MAX));
	assert_false(hist_api_room_ok(r, CHATHIST_TARGET_MAX + 1));
	assert_true(hist_api_room_ok("&staff", 6));
	assert_false(hist_api_room_ok("", 0));
	assert_false(hist_api_room_ok("general", 7));
	assert_false(hist_api_room_ok("#a b", 4));
	assert_false(hist_api_room_ok("#a,b", 4));
	assert_false(hist_api_room_ok("#a\x7f", 3));
	const char *p = "/v1/rooms/#general/messages";
	assert_true(hist_api_messages_path(p, strlen(p), &room, &len));
	assert_int_equal(len, 8);
	assert_memory_equal(room, "#general", 8);
	p = "/v1/rooms/#/messages";
	assert_true(hist_api_messages_path(p, strlen(p), &room, &len));
	assert_int_equal(len, 1);
	p = "/v1/rooms//messages"; /* no room at all: another path (404) */
	assert_false(hist_api_messages_path(p, strlen(p), &room, &len));
	p = "/v1/rooms/messages";
	assert_false(hist_api_messages_path(p, strlen(p), &room, &len));
	p = "/v1/rooms/#a/message";
	assert_false(hist_api_messages_path(p, strlen(p), &room, &len));
}

/* limit=: absent gives the default, the value is clamped to the maximum
 * (at it and one past), 0 and non-digits are refused. */
static void test_limit_parse(void **state)
{
	uint32_t v = 7;
	(void)state;

	assert_int_equal(hist_api_limit_parse("", 50, 100, &v), 0);
	assert_int_equal(v, 50);
	assert_int_equal(hist_api_limit_parse("", 50, 20, &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(hist_api_limit_parse("100", 50, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(hist_api_limit_parse("101", 50, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(hist_api_limit_parse("99999999999999999999", 50, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(hist_api_limit_parse("1", 50, 100, &v), 0);
	assert_int_equal(v, 1);
	v = 7;
	assert_int_equal(hist_api_limit_parse("0", 50, 100, &v), -EINVAL);
	assert_int_equal(hist_api_limit_parse("-1", 50, 100, &v), -EINVAL);
	assert_int_equal(hist_api_limit_parse("1x", 50, 100, &v), -EINVAL);
	assert_int_equal(hist_api_limit_parse(" 1", 50, 100, &v), -EINVAL);
	assert_int_equal(v, 7);
}

/* The cache at HIST_API_CACHE_MAX entries and one past: an expired entry
 * is reused first, then the one expiring first goes. */
static void test_cache_limit(void **state)
{
	static hist_cache_t c;
	char tok[32];
	json_t *v = json_pack("{s:b}", "active", 1);
	(void)state;

	for (int i = 0; i < HIST_API_CACHE_MAX; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		/* t0 expires first (at 1000 + 10), the others later */
		hist_cache_put(&c, tok, v, 1000, i == 0 ? 10 : 5000 + (uint64_t)i);
	}
	assert_int_equal(c.n, HIST_API_CACHE_MAX);
	assert_ptr_equal(hist_cache_get(&c, "t0", 1005), v);
	assert_ptr_equal(hist_cache_get(&c, "t1023", 1005), v);
	/* one past, all live: t0 (expiring first) makes room */
	hist_cache_put(&c, "new1", v, 1005, 60000);
	assert_int_equal(c.n, HIST_API_CACHE_MAX);
	assert_null(hist_cache_get(&c, "t0", 1006));
	assert_ptr_equal(hist_cache_get(&c, "new1", 1006), v);
	assert_ptr_equal(hist_cache_get(&c, "t1", 1006), v);
	/* expiry: t1 expired at 6001 */
	assert_null(hist_cache_get(&c, "t1", 6001));
	/* an expired place (t1's) is reused before any live one (t3 lives on) */
	hist_cache_put(&c, "new2", v, 6001, 60000);
	assert_ptr_equal(hist_cache_get(&c, "new2", 6002), v);
	assert_ptr_equal(hist_cache_get(&c, "t3", 6002), v);
	/* ttl 0 and an oversized token: nothing kept */
	hist_cache_put(&c, "zero", v, 6002, 0);
	assert_null(hist_cache_get(&c, "zero", 6002));
	char big[HIST_API_TOKEN_MAX + 2];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hist_cache_put(&c, big, v, 6002, 100);
	assert_null(hist_cache_get(&c, big, 6003));
	big[HIST_API_TOKEN_MAX] = '\0';
	hist_cache_put(&c, big, v, 6002, 100);
	assert_ptr_equal(hist_cache_get(&c, big, 6003), v);
	hist_cache_clear(&c);
	assert_int_equal(c.n, 0);
	assert_int_equal(v->refcount, 1);
	json_decref(v);
}

/* An access change of one user drops that user's answers (several
 * tokens), not another user's nor an inactive token's (no "sub"); a
 * dropped place is reused. */
static void test_cache_drop_user(void **state)
{
	static hist_cache_t c;
	json_t *u12 = json_pack("{s:b,s:s}", "active", 1, "sub", "12");
	json_t *u1 = json_pack("{s:b,s:s}", "active", 1, "sub", "1");
	json_t *u123 = json_pack("{s:b,s:s}", "active", 1, "sub", "123");
	json_t *off = json_pack("{s:b}", "active", 0);
	(void)state;

	hist_cache_put(&c, "a", u12, 0, 60000);
	hist_cache_put(&c, "b", u1, 0, 60000);
	hist_cache_put(&c, "c", u12, 0, 60000);
	hist_cache_put(&c, "d", u123, 0, 60000);
	hist_cache_put(&c, "e", off, 0, 60000);
	hist_cache_drop_user(&c, 12);
	assert_null(hist_cache_get(&c, "a", 1));
	assert_null(hist_cache_get(&c, "c", 1));
	assert_ptr_equal(hist_cache_get(&c, "b", 1), u1);
	assert_ptr_equal(hist_cache_get(&c, "d", 1), u123);
	assert_ptr_equal(hist_cache_get(&c, "e", 1), off);
	assert_int_equal(u12->refcount, 1);
	hist_cache_drop_user(&c, 99); /* nobody */
	assert_ptr_equal(hist_cache_get(&c, "b", 1), u1);
	hist_cache_put(&c, "f", u12, 1, 60000);
	assert_int_equal(c.n, 5);
	assert_ptr_equal(hist_cache_get(&c, "f", 2), u12);
	hist_cache_clear(&c);
	assert_int_equal(u12->refcount + u1->refcount + u123->refcount + off->refcount, 4);
	json_decref(u12);
	json_decref(u1);
	json_decref(u123);
	json_decref(off);
}

/* The rate table at HIST_API_RATE_USERS_MAX users and one past: the least
 * recently used user is forgotten (its next bucket is full again). */
static void test_rates_limit(void **state)
{
	static hist_rates_t t;
	char user[32];
	unsigned retry;
	(void)state;

	for (int i = 0; i < HIST_API_RATE_USERS_MAX; i++) {
		snprintf(user, sizeof(user), "%d", i);
		tokbucket_t *b = hist_rates_get(&t, user, 100 + (uint64_t)i, 1, 1);
		assert_true(hist_rate_take(b, 100 + (uint64_t)i, &retry));
	}
	assert_int_equal(t.n, HIST_API_RATE_USERS_MAX);
	/* a known user keeps its (empty) bucket */
	assert_false(hist_rate_take(hist_rates_get(&t, "5", 200, 1, 1), 200, &retry));
	/* one past: user "0" (least recently used) makes room */
	assert_true(hist_rate_take(hist_rates_get(&t, "new", 300, 1, 1), 300, &retry));
	assert_int_equal(t.n, HIST_API_RATE_USERS_MAX);
	assert_false(hist_rate_take(hist_rates_get(&t, "new", 300, 1, 1), 300, &retry));
	/* "0" comes back with a full bucket, taking "1"'s place */
	assert_true(hist_rate_take(hist_rates_get(&t, "0", 301, 1, 1), 301, &retry));
	assert_false(hist_rate_take(hist_rates_get(&t, "5", 302, 1, 1), 302, &retry));
}

/* clang-format off */
#define F(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}
/* clang-format on */

static void test_message_json(void **state)
{
	hist_field_t f[] = {
		F("msgid", "m1"),
		F("time", "1795518274392"),
		F("type", "privmsg"),
		F("nick", "bob"),
		F("account", ""),
		F("text", "hi; there"),
		F("tags", "msgid=m1;+draft/reply=a\\sb;+x"),
	};
	(void)state;

	json_t *m = hist_api_message(f, sizeof(f) / sizeof(f[0]));
	char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"account\":null,\"msgid\":\"m1\",\"nick\":\"bob\",\"tags\":{"
			       "\"+draft/reply\":\"a b\",\"+x\":true,\"msgid\":\"m1\"},\"text\":"
			       "\"hi; there\",\"time\":\"2026-11-24T11:04:34.392Z\",\"type\":"
			       "\"privmsg\"}");
	free(s);
	json_decref(m);
	/* a logger gap, a missing msgid, a bad time: not messages */
	hist_field_t gap[] = {F("msgid", "g"), F("time", "1"), F("type", "gap")};
	assert_null(hist_api_message(gap, 3));
	hist_field_t nomsgid[] = {F("time", "1"), F("type", "privmsg")};
	assert_null(hist_api_message(nomsgid, 2));
	hist_field_t badtime[] = {F("msgid", "m"), F("time", "12x"), F("type", "privmsg")};
	assert_null(hist_api_message(badtime, 3));
	/* 18 digits are a time (past what archive_event_time formats, but no overflow);
	 * 19 could overflow int64_t: refused (found by fuzz_hist_api) */
	hist_field_t t19[] = {F("msgid", "m"), F("time", "9999999999999999999"),
			      F("type", "privmsg")};
	assert_null(hist_api_message(t19, 3));
}

/* Every route has a label; statuses at the bounds and one past each;
 * the text is exact. */
static void test_metrics_text(void **state)
{
	static hist_metrics_t m;
	buf_t b;
	(void)state;

	for (int i = 0; i < HR_COUNT; i++)
		assert_string_not_equal(hist_route_label((enum hroute)i), "other");
	assert_string_equal(hist_route_label(HR_COUNT), "other");
	m.ready = m.redis_up = 1;
	m.connections = 2;
	m.chathistory_requests = 7;
	hist_metrics_request(&m, HR_MESSAGES, 200);
	hist_metrics_request(&m, HR_MESSAGES, PROM_STATUS_MIN);
	hist_metrics_request(&m, HR_MESSAGES, PROM_STATUS_MAX);
	hist_metrics_request(&m, HR_MESSAGES, PROM_STATUS_MIN - 1);
	hist_metrics_request(&m, HR_MESSAGES, PROM_STATUS_MAX + 1);
	hist_metrics_request(&m, HR_COUNT, 200); /* ignored */
	buf_init(&b, HIST_METRICS_TEXT_MAX);
	assert_int_equal(hist_metrics_render(&m, &b), 0);
	assert_string_equal(
		buf_data(&b),
		"# HELP eirc_history_ready 1 when /readyz answers 200 (Redis is up).\n"
		"# TYPE eirc_history_ready gauge\neirc_history_ready 1\n"
		"# HELP eirc_history_redis_up 1 when the connection to Redis is up.\n"
		"# TYPE eirc_history_redis_up gauge\neirc_history_redis_up 1\n"
		"# HELP eirc_history_access_bus_up 1 when subscribed to the access bus.\n"
		"# TYPE eirc_history_access_bus_up gauge\neirc_history_access_bus_up 0\n"
		"# HELP eirc_history_connections irc-client connections open on the "
		"CHATHISTORY socket.\n# TYPE eirc_history_connections gauge\n"
		"eirc_history_connections 2\n"
		"# HELP eirc_history_chathistory_requests_total CHATHISTORY requests "
		"answered on the socket.\n"
		"# TYPE eirc_history_chathistory_requests_total counter\n"
		"eirc_history_chathistory_requests_total 7\n"
		"# HELP eirc_history_http_requests_total HTTP API answers, by route and "
		"status.\n# TYPE eirc_history_http_requests_total counter\n"
		"eirc_history_http_requests_total{route=\"messages\",code=\"other\"} 2\n"
		"eirc_history_http_requests_total{route=\"messages\",code=\"100\"} 1\n"
		"eirc_history_http_requests_total{route=\"messages\",code=\"200\"} 1\n"
		"eirc_history_http_requests_total{route=\"messages\",code=\"599\"} 1\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access),          cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_token_syntax),    cmocka_unit_test(test_cursor_syntax),
		cmocka_unit_test(test_message_json),    cmocka_unit_test(test_cache_limit),
		cmocka_unit_test(test_cache_drop_user), cmocka_unit_test(test_rates_limit),
		cmocka_unit_test(test_room_and_path),   cmocka_unit_test(test_limit_parse),
		cmocka_unit_test(test_metrics_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
