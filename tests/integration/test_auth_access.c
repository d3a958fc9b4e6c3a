/*
 * eirc-auth's half of issue 22 against a real PostgreSQL and Redis:
 *   - item 1: a private room is private exactly when its name matches
 *     irc_client.private_room_masks ("#private-*", "#priv-*" here):
 *     `room add '#board' --private` and the API refuse, naming the masks;
 *     every room's flag agrees with the name the irc-client and
 *     eirc-history go by; start-up reports a room that disagrees;
 *   - the access bus: a subscriber on eirc:access sees each kind (rooms,
 *     disabled, deleted, signout, revoked, role) from the CLI and the
 *     daemon, each change with its audit row; with Redis down a change
 *     still succeeds;
 *   - POST /internal/access: each reason, order, 1000 sessions and 1001;
 *   - the consume: the identity's family; a chat token of a signed-out
 *     login is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/integration/auth_fixture.h"

#define FORM          "Content-Type: application/x-www-form-urlencoded"
#define JSON          "Content-Type: application/json"
#define INTERNAL_AUTH "Authorization: Bearer " FX_SECRET

static fx_t fx;
static redisContext *sub; /* SUBSCRIBEd to eirc:access */
static char admin_auth[128];

static int setup(void **state)
{
	static const char *const users[] = {"alice", "bob", "carol", "mallory", "dave", "erin"};
	redisReply *r;

	(void)state;
	if (fx_start_redis(&fx, NULL) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", users[i], "--password-env",
			   "PW", NULL) != 0)
			return -1;
	if (fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "root", "--role", "admin",
		   "--password-env", "PW", NULL) != 0)
		return -1;
	sub = redisConnectWithTimeout("127.0.0.1", srv_port(fx.redis),
				      (struct timeval){.tv_sec = 5});
	if (!sub || sub->err)
		return -1;
	redisSetTimeout(sub, (struct timeval){.tv_sec = 5});
	r = redisCommand(sub, "SUBSCRIBE eirc:access");
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	redisFree(sub);
	if (fx.env)
		fx_stop(&fx);
	return 0;
}

static long long user_id(const char *nick)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE nick = '%s'", nick);
	return fx_sql_int(&fx, sql);
}

/* The next message on eirc:access (within 5 s), into out. */
static void next_msg(char *out, size_t cap)
{
	redisReply *r = NULL;

	assert_int_equal(redisGetReply(sub, (void **)&r), REDIS_OK);
	assert_true(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
	assert_string_equal(r->element[0]->str, "message");
	assert_string_equal(r->element[1]->str, "eirc:access");
	snprintf(out, cap, "%s", r->element[2]->str);
	freeReplyObject(r);
}

/* The next message is exactly "<kind> <id of nick> <family>". */
static void expect_msg(const char *kind, const char *nick, long long family)
{
	char want[128], got[128];

	snprintf(want, sizeof(want), "%s %lld %lld", kind, user_id(nick), family);
	next_msg(got, sizeof(got));
	assert_string_equal(got, want);
}

/* Nothing was published since the last message: a marker we publish
 * ourselves comes next. */
static void expect_quiet(void)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(fx.redis));
	redisReply *r;
	char got[128];

	assert_non_null(c);
	r = redisCommand(c, "PUBLISH eirc:access marker");
	assert_non_null(r);
	freeReplyObject(r);
	redisFree(c);
	next_msg(got, sizeof(got));
	assert_string_equal(got, "marker");
}

static long long audit_count(const char *event, const char *actor)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE event = '%s' AND actor = '%s'"
		 " AND at > now() - interval '1 minute'",
		 event, actor);
	return fx_sql_int(&fx, sql);
}

static void cli_ok(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	char out[2048];
	int st = fx_cli_both(&fx, out, sizeof(out), a, b, c, d, e, NULL);

	if (st != 0)
		print_message("eirc-auth %s %s: %d: %s\n", a, b, st, out);
	assert_int_equal(st, 0);
}

/* A request of the admin (root) to the public API; the status. */
static long api(const char *method, const char *path, const char *body)
{
	const char *h[] = {admin_auth, JSON, NULL};
	ht_resp_t r;
	long st;

	if (!admin_auth[0]) {
		ht_resp_t l;
		assert_int_equal(fx_login(&fx, "root", FX_PASSWORD, &l), 0);
		snprintf(admin_auth, sizeof(admin_auth), "Authorization: Bearer %s",
			 json_string_value(json_object_get(l.json, "access_token")));
		ht_resp_free(&l);
	}
	assert_int_equal(fx_http(&fx, false, method, path, h, body, body ? strlen(body) : 0, &r),
			 0);
	st = r.status;
	if (st == 422)
		print_message("%s %s: %s\n", method, path, r.body);
	ht_resp_free(&r);
	return st;
}

/* ---- item 1: private rooms by name ---- */

static void test_room_rule_cli(void **state)
{
	char out[2048];

	(void)state;
	/* the room: private outside the masks is refused, naming them */
	assert_int_equal(
		fx_cli_both(&fx, out, sizeof(out), "room", "add", "#board", "--private", NULL), 1);
	assert_non_null(strstr(out, "#board cannot be private"));
	assert_non_null(strstr(out, "irc_client.private_room_masks (#private-*, #priv-*)"));
	/* a public room the masks make private on IRC is refused too */
	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "room", "add", "#private-x", NULL), 1);
	assert_non_null(strstr(out, "#private-x cannot be public"));
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM rooms WHERE name_folded IN"
					 " ('#board', '#private-x')"),
			 0);
	/* what the rule allows */
	cli_ok("room", "add", "#board", NULL, NULL);
	cli_ok("room", "add", "#Private-Ops", "--private", NULL);
}

static void test_room_rule_api(void **state)
{
	(void)state;
	assert_int_equal(api("POST", "/api/rooms", "{\"name\":\"#plans\",\"private\":true}"), 422);
	assert_int_equal(api("POST", "/api/rooms", "{\"name\":\"#priv-plans\"}"), 422);
	assert_int_equal(api("POST", "/api/rooms", "{\"name\":\"#priv-plans\",\"private\":false}"),
			 422);
	assert_int_equal(api("POST", "/api/rooms", "{\"name\":\"#priv-plans\",\"private\":true}"),
			 201);
	assert_int_equal(api("POST", "/api/rooms", "{\"name\":\"#plans\"}"), 201);
	/* the flag cannot be turned against the name either */
	assert_int_equal(api("PATCH", "/api/rooms/%23plans", "{\"private\":true}"), 422);
	assert_int_equal(api("PATCH", "/api/rooms/%23priv-plans", "{\"private\":false}"), 422);
	assert_int_equal(api("PATCH", "/api/rooms/%23priv-plans", "{\"topic\":\"t\"}"), 204);
	/* HTTP (eirc-auth's flag) and IRC (the irc-client's masks) agree on
	 * every room: private exactly when the name matches a mask */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM rooms WHERE private <>"
					 " (name_folded LIKE '#private-%' OR"
					 " name_folded LIKE '#priv-%')"),
			 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM rooms") >= 4);
}

/* A room made before the rule (or masks changed since) is reported at
 * start-up, one error line each. */
static void test_room_rule_startup(void **state)
{
	char cmd[2048];

	(void)state;
	assert_int_equal(fx_sql(&fx, "INSERT INTO rooms (name, name_folded, private)"
				     " VALUES ('#legacy', '#legacy', true),"
				     " ('#private-open', '#private-open', false)"),
			 0);
	assert_int_equal(fx_stop_daemon(&fx), 0);
	assert_int_equal(fx_start_daemon(&fx), 0);
	snprintf(cmd, sizeof(cmd),
		 "grep -c 'Room check: room #legacy cannot be private.*#private-\\*, #priv-\\*' "
		 "'%s' >/dev/null && grep -c 'Room check: room #private-open cannot be public' "
		 "'%s' >/dev/null",
		 fx.log, fx.log);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(
		fx_sql(&fx, "DELETE FROM rooms WHERE name IN ('#legacy', '#private-open')"), 0);
}

/* ---- the access bus ---- */

static void test_publish_rooms(void **state)
{
	(void)state;
	/* CLI: member add and del of a private room */
	cli_ok("room", "member", "add", "#private-ops", "alice");
	expect_msg("rooms", "alice", 0);
	cli_ok("room", "member", "add", "#private-ops", "bob");
	expect_msg("rooms", "bob", 0);
	cli_ok("room", "member", "del", "#private-ops", "bob");
	expect_msg("rooms", "bob", 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event ="
				    " 'room.member_remove' AND actor LIKE 'cli:%'"
				    " AND detail->>'user' = 'bob'") == 1);
	/* a public room's members change nobody's private rooms */
	cli_ok("room", "member", "add", "#board", "carol");
	expect_quiet();
	/* the daemon: the API's member add and remove */
	assert_int_equal(api("PUT", "/api/rooms/%23priv-plans/members/dave", ""), 204);
	expect_msg("rooms", "dave", 0);
	assert_int_equal(api("DELETE", "/api/rooms/%23priv-plans/members/dave", NULL), 204);
	expect_msg("rooms", "dave", 0);
	assert_true(audit_count("room.member_remove", "root") >= 1);
	/* a private room deleted: each member was removed */
	assert_int_equal(api("PUT", "/api/rooms/%23priv-plans/members/erin", ""), 204);
	expect_msg("rooms", "erin", 0);
	assert_int_equal(api("DELETE", "/api/rooms/%23priv-plans", NULL), 204);
	expect_msg("rooms", "erin", 0);
	cli_ok("room", "add", "#priv-tmp", "--private", NULL);
	cli_ok("room", "member", "add", "#priv-tmp", "carol");
	expect_msg("rooms", "carol", 0);
	cli_ok("room", "del", "#priv-tmp", NULL, NULL);
	expect_msg("rooms", "carol", 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'room.delete'"
				    " AND subject = '#priv-tmp' AND actor LIKE 'cli:%'") == 1);
	expect_quiet();
}

/* Logs in nick: the tokens into access/refresh, the family returned. */
static long long login(const char *nick, char access[64], char refresh[64])
{
	ht_resp_t l;
	char sql[256];

	assert_int_equal(fx_login(&fx, nick, FX_PASSWORD, &l), 0);
	assert_int_equal(l.status, 200);
	snprintf(access, 64, "%s", json_string_value(json_object_get(l.json, "access_token")));
	snprintf(refresh, 64, "%s", json_string_value(json_object_get(l.json, "refresh_token")));
	ht_resp_free(&l);
	snprintf(sql, sizeof(sql),
		 "SELECT family FROM access_tokens WHERE hash = sha256(convert_to('%s', 'UTF8'))",
		 access);
	return fx_sql_int(&fx, sql);
}

static long revoke_token(const char *token)
{
	const char *h[] = {FORM, NULL};
	char body[256];
	ht_resp_t r;
	long st;

	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s", token);
	assert_int_equal(fx_http(&fx, false, "POST", "/oauth/revoke", h, body, strlen(body), &r),
			 0);
	st = r.status;
	ht_resp_free(&r);
	return st;
}

static void test_publish_tokens(void **state)
{
	char a1[64], r1[64], a2[64], r2[64], body[256];
	long long f1, f2;
	const char *h[] = {FORM, NULL};
	ht_resp_t r;

	(void)state;
	f1 = login("carol", a1, r1);
	f2 = login("carol", a2, r2);
	assert_true(f1 > 0 && f2 > 0 && f1 != f2);
	/* RFC 7009 on an access token: that token only */
	assert_int_equal(revoke_token(a1), 200);
	expect_msg("revoked", "carol", f1);
	/* on a refresh token: the login signs out */
	assert_int_equal(revoke_token(r1), 200);
	expect_msg("signout", "carol", f1);
	/* a replayed refresh token revokes its login too */
	snprintf(body, sizeof(body), "grant_type=refresh_token&client_id=eirc-web&refresh_token=%s",
		 r2);
	assert_int_equal(fx_http(&fx, false, "POST", "/oauth/token", h, body, strlen(body), &r), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	expect_quiet(); /* a rotation is no access change */
	assert_int_equal(fx_http(&fx, false, "POST", "/oauth/token", h, body, strlen(body), &r), 0);
	assert_int_equal(r.status, 400);
	ht_resp_free(&r);
	expect_msg("signout", "carol", f2);
	/* an unknown token: nothing to say */
	assert_int_equal(revoke_token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 200);
	expect_quiet();
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'token.revoke'"
				    " AND actor_user_id = (SELECT id FROM users"
				    " WHERE nick = 'carol')") == 2);
}

static void test_publish_accounts(void **state)
{
	char a[64], r[64];
	long long id;

	(void)state;
	cli_ok("user", "role", "dave", "auditor", NULL);
	expect_msg("role", "dave", 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'user.role'"
				    " AND subject = 'dave' AND actor LIKE 'cli:%'"
				    " AND detail->>'role' = 'auditor'") == 1);
	/* disabling revokes every token of the account, in the same
	 * transaction as the flag and the audit row */
	login("mallory", a, r);
	login("mallory", a, r);
	cli_ok("user", "disable", "mallory", NULL, NULL);
	expect_msg("disabled", "mallory", 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM access_tokens t JOIN users u"
					 " ON u.id = t.user_id WHERE u.nick = 'mallory'"
					 " AND t.revoked_at IS NULL"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM refresh_tokens t JOIN users u"
					 " ON u.id = t.user_id WHERE u.nick = 'mallory'"
					 " AND t.revoked_at IS NULL"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT (detail->>'refresh_tokens_revoked')::int"
					 " FROM audit_log WHERE event = 'user.disable'"
					 " AND subject = 'mallory' AND actor LIKE 'cli:%'"),
			 2);
	/* enabling is no loss of access: nothing published */
	cli_ok("user", "enable", "mallory", NULL, NULL);
	expect_quiet();
	/* deleted */
	id = user_id("erin");
	cli_ok("user", "del", "erin", NULL, NULL);
	{
		char want[64], got[64];
		snprintf(want, sizeof(want), "deleted %lld 0", id);
		next_msg(got, sizeof(got));
		assert_string_equal(got, want);
	}
	assert_int_equal(user_id("erin"), -1);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'user.delete'"
				    " AND subject = 'erin' AND actor LIKE 'cli:%'") == 1);
	/* an unknown user: exit 1, nothing published */
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "user", "disable", "nobody", NULL), 1);
	expect_quiet();
}

/* ---- POST /internal/access ---- */

static long access_post(const char *body, const char *auth, ht_resp_t *r)
{
	const char *h[] = {JSON, auth, NULL};

	assert_int_equal(fx_http(&fx, true, "POST", "/internal/access", h, body, strlen(body), r),
			 0);
	return r->status;
}

static json_t *session_at(const ht_resp_t *r, size_t i)
{
	return json_array_get(json_object_get(r->json, "sessions"), i);
}

static void test_access_endpoint(void **state)
{
	char a[64], rf[64], a2[64], rf2[64], body[512];
	long long fam, fam2, alice = user_id("alice"), mallory = user_id("mallory");
	ht_resp_t r;
	json_t *s;

	(void)state;
	fam = login("bob", a, rf);
	fam2 = login("bob", a2, rf2);
	assert_int_equal(revoke_token(rf2), 200);
	expect_msg("signout", "bob", fam2);
	cli_ok("user", "disable", "mallory", NULL, NULL);
	expect_msg("disabled", "mallory", 0);
	snprintf(body, sizeof(body),
		 "{\"sessions\":[{\"user_id\":%lld,\"family\":0},"
		 "{\"user_id\":%lld,\"family\":%lld},{\"user_id\":%lld,\"family\":%lld},"
		 "{\"user_id\":%lld,\"family\":0},{\"user_id\":999999,\"family\":3}]}",
		 alice, user_id("bob"), fam, user_id("bob"), fam2, mallory);
	assert_int_equal(access_post(body, INTERNAL_AUTH, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "sessions")), 5);
	s = session_at(&r, 0);
	assert_true(json_is_true(json_object_get(s, "active")));
	assert_int_equal(json_array_size(json_object_get(s, "private_rooms")), 1);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(s, "private_rooms"), 0)),
		"#Private-Ops");
	s = session_at(&r, 1);
	assert_true(json_is_true(json_object_get(s, "active")));
	assert_int_equal(json_array_size(json_object_get(s, "private_rooms")), 0);
	s = session_at(&r, 2);
	assert_true(json_is_false(json_object_get(s, "active")));
	assert_string_equal(json_string_value(json_object_get(s, "reason")), "signed_out");
	s = session_at(&r, 3);
	assert_string_equal(json_string_value(json_object_get(s, "reason")), "disabled");
	s = session_at(&r, 4);
	assert_string_equal(json_string_value(json_object_get(s, "reason")), "deleted");
	ht_resp_free(&r);
	/* the internal secret, JSON, well-formed sessions */
	assert_int_equal(access_post("{\"sessions\":[]}", "Authorization: Bearer nope", &r), 401);
	ht_resp_free(&r);
	assert_int_equal(access_post("{\"sessions\":[]}", INTERNAL_AUTH, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "sessions")), 0);
	ht_resp_free(&r);
	assert_int_equal(access_post("{\"sessions\":", INTERNAL_AUTH, &r), 400);
	ht_resp_free(&r);
	assert_int_equal(access_post("{\"sessions\":{}}", INTERNAL_AUTH, &r), 400);
	ht_resp_free(&r);
	assert_int_equal(
		access_post("{\"sessions\":[{\"user_id\":0,\"family\":0}]}", INTERNAL_AUTH, &r),
		400);
	ht_resp_free(&r);
	assert_int_equal(access_post("{\"sessions\":[{\"user_id\":1}]}", INTERNAL_AUTH, &r), 400);
	ht_resp_free(&r);
	assert_int_equal(
		access_post("{\"sessions\":[{\"user_id\":1,\"family\":-1}]}", INTERNAL_AUTH, &r),
		400);
	ht_resp_free(&r);
	/* not on the public listener */
	{
		const char *h[] = {JSON, INTERNAL_AUTH, NULL};
		assert_int_equal(fx_http(&fx, false, "POST", "/internal/access", h, "{}", 2, &r),
				 0);
		assert_int_equal(r.status, 405);
		ht_resp_free(&r);
	}
	cli_ok("user", "enable", "mallory", NULL, NULL);
}

/* {"sessions":[n entries]} of alice's, family 0 */
static char *many(size_t n)
{
	char *b = malloc(32 + n * 48), *p = b;

	p += sprintf(p, "{\"sessions\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"user_id\":%lld,\"family\":%zu}", i ? "," : "",
			     user_id("alice"), i % 2 ? (size_t)0 : (size_t)9999999 + i);
	sprintf(p, "]}");
	return b;
}

static void test_access_limit(void **state)
{
	char *b;
	ht_resp_t r;

	(void)state;
	b = many(1000);
	assert_int_equal(access_post(b, INTERNAL_AUTH, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "sessions")), 1000);
	assert_true(json_is_true(json_object_get(session_at(&r, 999), "active")));
	ht_resp_free(&r);
	free(b);
	b = many(1001);
	assert_int_equal(access_post(b, INTERNAL_AUTH, &r), 413);
	ht_resp_free(&r);
	free(b);
}

/* ---- the consume ---- */

static long consume(const char *tok, ht_resp_t *r)
{
	const char *h[] = {JSON, INTERNAL_AUTH, NULL};
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"chat_token\":\"%s\",\"client_ip\":\"203.0.113.9\",\"request_id\":\"r\"}", tok);
	assert_int_equal(fx_http(&fx, true, "POST", "/internal/chat-token/consume", h, body,
				 strlen(body), r),
			 0);
	return r->status;
}

static void test_consume_family_and_signout(void **state)
{
	char a[64], rf[64];
	char *t1, *t2;
	long long fam;
	ht_resp_t r;

	(void)state;
	fam = login("alice", a, rf);
	t1 = fx_chat_token(&fx, a);
	t2 = fx_chat_token(&fx, a);
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(consume(t1, &r), 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "family")), fam);
	assert_string_equal(json_string_value(json_object_get(r.json, "nick")), "alice");
	ht_resp_free(&r);
	/* sign-out: the unused chat token of that login is void */
	assert_int_equal(revoke_token(rf), 200);
	expect_msg("signout", "alice", fam);
	assert_int_equal(consume(t2, &r), 401);
	assert_string_equal(json_string_value(json_object_get(r.json, "reason")), "revoked");
	ht_resp_free(&r);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
				    " event = 'chat_token.consume_failed'"
				    " AND detail->>'reason' = 'revoked'") == 1);
	free(t1);
	free(t2);
}

/* Clients connected to Redis, counting the one asking. */
static long redis_clients(void)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(fx.redis));
	redisReply *r = c && !c->err ? redisCommand(c, "INFO clients") : NULL;
	const char *p =
		r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "connected_clients:") : NULL;
	long n = p ? strtol(p + 18, NULL, 10) : -1;

	freeReplyObject(r);
	redisFree(c);
	return n;
}

/* Redis down: every change still succeeds (a warning for the CLI), and
 * the daemon publishes again once Redis is back. */
static void test_publish_redis_down(void **state)
{
	char out[2048];

	(void)state;
	redisFree(sub);
	sub = NULL;
	assert_int_equal(srv_stop(fx.redis), 0);
	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "room", "member", "add", "#private-ops",
				     "carol", NULL),
			 0);
	assert_non_null(strstr(out, "warning: the change is made but was not published"));
	assert_int_equal(api("DELETE", "/api/rooms/%23Private-Ops/members/carol", NULL), 204);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM room_members m JOIN users u"
					 " ON u.id = m.user_id WHERE u.nick = 'carol'"),
			 1); /* #board only */
	assert_int_equal(srv_restart(fx.redis), 0);
	sub = redisConnectWithTimeout("127.0.0.1", srv_port(fx.redis),
				      (struct timeval){.tv_sec = 5});
	assert_true(sub && !sub->err);
	redisSetTimeout(sub, (struct timeval){.tv_sec = 5});
	freeReplyObject(redisCommand(sub, "SUBSCRIBE eirc:access"));
	/* the daemon reconnects (backoff at most 2 s): then it publishes */
	for (int i = 0; i < 100 && redis_clients() < 3; i++)
		usleep(100 * 1000);
	assert_int_equal(redis_clients(), 3); /* sub, this poll, eirc-auth */
	assert_int_equal(api("PUT", "/api/rooms/%23Private-Ops/members/carol", ""), 204);
	expect_msg("rooms", "carol", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_rule_cli),
		cmocka_unit_test(test_room_rule_api),
		cmocka_unit_test(test_room_rule_startup),
		cmocka_unit_test(test_publish_rooms),
		cmocka_unit_test(test_publish_tokens),
		cmocka_unit_test(test_publish_accounts),
		cmocka_unit_test(test_access_endpoint),
		cmocka_unit_test(test_access_limit),
		cmocka_unit_test(test_consume_family_and_signout),
		cmocka_unit_test(test_publish_redis_down),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
