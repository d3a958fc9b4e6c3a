/*
 * eirc-auth against a real PostgreSQL: every OAuth grant and error path,
 * refresh rotation and replay detection, revocation, introspection, the
 * chat token's single use (including 100 concurrent consumes), the bearer
 * API, and the audit rows each event leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/auth_fixture.h"

static fx_t fx;

#define FORM          "Content-Type: application/x-www-form-urlencoded"
#define JSON          "Content-Type: application/json"
#define INTERNAL_AUTH "Authorization: Bearer " FX_SECRET

static char hist_secret[128];

static int setup(void **state)
{
	char out[512], *p;

	(void)state;
	if (fx_start(&fx, NULL) < 0)
		return -1;
	if (fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "Alice", "--display-name", "Alice A",
		   "--password-env", "PW", NULL) != 0 ||
	    fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "bob", "--password-env", "PW", NULL) !=
		    0 ||
	    fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "root", "--role", "admin",
		   "--password-env", "PW", NULL) != 0 ||
	    fx_cli(&fx, NULL, out, sizeof(out), "client", "add", "history", "--grants",
		   "client_credentials", "--scope", "history", NULL) != 0)
		return -1;
	p = strstr(out, "client_secret: ");
	if (!p)
		return -1;
	snprintf(hist_secret, sizeof(hist_secret), "%s", p + 15);
	hist_secret[strcspn(hist_secret, "\n")] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (fx.env) /* fx_test_clean_stop did not get that far */
		fx_stop(&fx);
	return 0;
}

static const char *jstr(const ht_resp_t *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

static void form_post(const char *path, const char *auth, const char *body, ht_resp_t *r)
{
	const char *h[] = {FORM, auth, NULL};
	assert_int_equal(fx_http(&fx, false, "POST", path, h, body, strlen(body), r), 0);
}

static long long audit_count(const char *event)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log WHERE event = '%s'", event);
	return fx_sql_int(&fx, sql);
}

static void test_password_grant(void **state)
{
	ht_resp_t r;
	long long before = audit_count("login.ok");

	(void)state;
	assert_int_equal(fx_login(&fx, "alice", FX_PASSWORD, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(jstr(&r, "access_token"));
	assert_int_equal(strlen(jstr(&r, "access_token")), 43);
	assert_non_null(jstr(&r, "refresh_token"));
	assert_string_equal(jstr(&r, "token_type"), "Bearer");
	assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 3600);
	assert_true(ht_has_header(&r, "Cache-Control: no-store"));
	assert_true(ht_has_header(&r, "Pragma: no-cache"));
	/* only hashes are stored: the token itself appears nowhere */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM access_tokens"
					 " WHERE octet_length(hash) = 32") >= 1,
			 1);
	assert_int_equal(audit_count("login.ok"), before + 1);
	ht_resp_free(&r);
}

static void test_password_grant_errors(void **state)
{
	ht_resp_t r;
	long long failed = audit_count("login.failed");

	(void)state;
	assert_int_equal(fx_login(&fx, "alice", "wrong password", &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	assert_true(ht_has_header(&r, "Cache-Control: no-store"));
	ht_resp_free(&r);
	assert_int_equal(fx_login(&fx, "nobody", FX_PASSWORD, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	ht_resp_free(&r);
	assert_int_equal(audit_count("login.failed"), failed + 2);

	form_post("/oauth/token", NULL,
		  "grant_type=password&client_id=eirc-web"
		  "&username=alice",
		  &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_request");
	ht_resp_free(&r);
	form_post("/oauth/token", NULL, "client_id=eirc-web", &r);
	assert_string_equal(jstr(&r, "error"), "invalid_request");
	ht_resp_free(&r);
	form_post("/oauth/token", NULL, "grant_type=implicit&client_id=eirc-web", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "unsupported_grant_type");
	ht_resp_free(&r);
	form_post("/oauth/token", NULL,
		  "grant_type=password&username=alice"
		  "&password=x",
		  &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "error"), "invalid_client");
	assert_true(ht_has_header(&r, "WWW-Authenticate: Basic"));
	ht_resp_free(&r);
	form_post("/oauth/token", NULL,
		  "grant_type=password&client_id=nope"
		  "&username=alice&password="
		  "correct+horse+battery",
		  &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "error"), "invalid_client");
	ht_resp_free(&r);
	/* a public client may not use client_credentials */
	form_post("/oauth/token", NULL,
		  "grant_type=client_credentials"
		  "&client_id=eirc-web",
		  &r);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
	/* a parameter given twice (RFC 6749 §3.1) */
	form_post("/oauth/token", NULL,
		  "grant_type=password&grant_type=password"
		  "&client_id=eirc-web",
		  &r);
	assert_string_equal(jstr(&r, "error"), "invalid_request");
	ht_resp_free(&r);
	/* scope beyond the client's */
	form_post("/oauth/token", NULL,
		  "grant_type=password&client_id=eirc-web"
		  "&username=alice&password=correct+horse+battery&scope=admin",
		  &r);
	assert_string_equal(jstr(&r, "error"), "invalid_scope");
	ht_resp_free(&r);
}

static void test_client_credentials(void **state)
{
	char auth[256], userpass[200], *b64;
	ht_resp_t r;

	(void)state;
	snprintf(userpass, sizeof(userpass), "history:%s", hist_secret);
	b64 = NULL;
	{
		/* base64 by hand through libsodium-free table */
		static const char t[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t n = strlen(userpass), o = 0;
		b64 = calloc(1, 4 * ((n + 2) / 3) + 1);
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned char)userpass[i] << 16;
			if (i + 1 < n)
				v |= (unsigned char)userpass[i + 1] << 8;
			if (i + 2 < n)
				v |= (unsigned char)userpass[i + 2];
			b64[o++] = t[v >> 18 & 63];
			b64[o++] = t[v >> 12 & 63];
			b64[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
			b64[o++] = i + 2 < n ? t[v & 63] : '=';
		}
	}
	snprintf(auth, sizeof(auth), "Authorization: Basic %s", b64);
	free(b64);
	form_post("/oauth/token", auth, "grant_type=client_credentials", &r);
	assert_int_equal(r.status, 200);
	assert_null(jstr(&r, "refresh_token"));
	assert_string_equal(jstr(&r, "scope"), "history");
	ht_resp_free(&r);
	/* the same secret in the body works too; a wrong one does not */
	{
		char body[256];
		snprintf(body, sizeof(body),
			 "grant_type=client_credentials"
			 "&client_id=history&client_secret=%s",
			 hist_secret);
		form_post("/oauth/token", NULL, body, &r);
		assert_int_equal(r.status, 200);
		ht_resp_free(&r);
		form_post("/oauth/token", NULL,
			  "grant_type=client_credentials"
			  "&client_id=history&client_secret=wrong",
			  &r);
		assert_int_equal(r.status, 401);
		assert_string_equal(jstr(&r, "error"), "invalid_client");
		ht_resp_free(&r);
		/* a client not allowed the password grant */
		snprintf(body, sizeof(body),
			 "grant_type=password&client_id=history"
			 "&client_secret=%s&username=alice&password=x",
			 hist_secret);
		form_post("/oauth/token", NULL, body, &r);
		assert_int_equal(r.status, 400);
		assert_string_equal(jstr(&r, "error"), "unauthorized_client");
		ht_resp_free(&r);
		/* two client authentication methods at once */
		snprintf(body, sizeof(body),
			 "grant_type=client_credentials"
			 "&client_secret=%s",
			 hist_secret);
		form_post("/oauth/token", auth, body, &r);
		assert_int_equal(r.status, 400);
		assert_string_equal(jstr(&r, "error"), "invalid_request");
		ht_resp_free(&r);
	}
}

static char *refresh_body(const char *rt)
{
	static char body[256];
	snprintf(body, sizeof(body),
		 "grant_type=refresh_token&client_id=eirc-web"
		 "&refresh_token=%s",
		 rt);
	return body;
}

static void test_refresh_rotation_and_reuse(void **state)
{
	ht_resp_t l, r1, r2, r3, me;
	char rt0[64], rt1[64], at1[64], auth[128];
	long long reuse = audit_count("token.refresh_reuse");

	(void)state;
	assert_int_equal(fx_login(&fx, "bob", FX_PASSWORD, &l), 0);
	assert_int_equal(l.status, 200);
	snprintf(rt0, sizeof(rt0), "%s", jstr(&l, "refresh_token"));
	form_post("/oauth/token", NULL, refresh_body(rt0), &r1);
	assert_int_equal(r1.status, 200);
	assert_string_not_equal(jstr(&r1, "refresh_token"), rt0);
	snprintf(rt1, sizeof(rt1), "%s", jstr(&r1, "refresh_token"));
	snprintf(at1, sizeof(at1), "%s", jstr(&r1, "access_token"));
	/* replaying the rotated token revokes the family */
	form_post("/oauth/token", NULL, refresh_body(rt0), &r2);
	assert_int_equal(r2.status, 400);
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	assert_int_equal(audit_count("token.refresh_reuse"), reuse + 1);
	ht_resp_free(&r2);
	/* ... so the newest refresh token and its access token are dead too */
	form_post("/oauth/token", NULL, refresh_body(rt1), &r3);
	assert_int_equal(r3.status, 400);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", at1);
	{
		const char *h[] = {auth, NULL};
		assert_int_equal(fx_http(&fx, false, "GET", "/api/me", h, NULL, 0, &me), 0);
		assert_int_equal(me.status, 401);
		assert_true(ht_has_header(&me, "WWW-Authenticate: Bearer"));
		ht_resp_free(&me);
	}
	/* the original access token of the family is revoked as well */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", jstr(&l, "access_token"));
	{
		const char *h[] = {auth, NULL};
		fx_http(&fx, false, "GET", "/api/me", h, NULL, 0, &me);
		assert_int_equal(me.status, 401);
		ht_resp_free(&me);
	}
	form_post("/oauth/token", NULL, refresh_body("garbage"), &r2);
	ht_resp_free(&r2);
	form_post("/oauth/token", NULL, "grant_type=refresh_token&client_id=eirc-web", &r2);
	assert_string_equal(jstr(&r2, "error"), "invalid_request");
	ht_resp_free(&l);
	ht_resp_free(&r1);
	ht_resp_free(&r2);
	ht_resp_free(&r3);
}

static void test_revoke(void **state)
{
	ht_resp_t l, r, me;
	char body[256], auth[128];
	const char *h[] = {auth, NULL};

	(void)state;
	assert_int_equal(fx_login(&fx, "alice", FX_PASSWORD, &l), 0);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", jstr(&l, "access_token"));
	fx_http(&fx, false, "GET", "/api/me", h, NULL, 0, &me);
	assert_int_equal(me.status, 200);
	assert_string_equal(jstr(&me, "nick"), "Alice");
	ht_resp_free(&me);
	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s&token_type_hint=access_token",
		 jstr(&l, "access_token"));
	form_post("/oauth/revoke", NULL, body, &r);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/me", h, NULL, 0, &me);
	assert_int_equal(me.status, 401);
	ht_resp_free(&me);
	/* revoking the refresh token kills the family; unknown tokens get 200 */
	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s", jstr(&l, "refresh_token"));
	form_post("/oauth/revoke", NULL, body, &r);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	form_post("/oauth/token", NULL, refresh_body(jstr(&l, "refresh_token")), &r);
	assert_int_equal(r.status, 400);
	ht_resp_free(&r);
	form_post("/oauth/revoke", NULL, "client_id=eirc-web&token=unknown", &r);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	form_post("/oauth/revoke", NULL, "client_id=eirc-web", &r);
	assert_int_equal(r.status, 400);
	ht_resp_free(&r);
	assert_true(audit_count("token.revoke") >= 2);
	ht_resp_free(&l);
}

static void test_introspect(void **state)
{
	ht_resp_t l, r;
	char body[512];

	(void)state;
	assert_int_equal(fx_login(&fx, "alice", FX_PASSWORD, &l), 0);
	snprintf(body, sizeof(body), "client_id=history&client_secret=%s&token=%s", hist_secret,
		 jstr(&l, "access_token"));
	form_post("/oauth/introspect", NULL, body, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "active")));
	assert_string_equal(jstr(&r, "username"), "Alice");
	assert_string_equal(jstr(&r, "client_id"), "eirc-web");
	assert_non_null(json_object_get(r.json, "exp"));
	ht_resp_free(&r);
	snprintf(body, sizeof(body), "client_id=history&client_secret=%s&token=nope", hist_secret);
	form_post("/oauth/introspect", NULL, body, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_false(json_object_get(r.json, "active")));
	ht_resp_free(&r);
	/* public clients may not introspect */
	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s", jstr(&l, "access_token"));
	form_post("/oauth/introspect", NULL, body, &r);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
	ht_resp_free(&l);
}

static int consume(const char *tok, const char *secret_header, ht_resp_t *r)
{
	char body[256];
	const char *h[] = {JSON, secret_header, NULL};

	snprintf(body, sizeof(body),
		 "{\"chat_token\":\"%s\",\"client_ip\":\"203.0.113.7\","
		 "\"request_id\":\"req-1\"}",
		 tok);
	return fx_http(&fx, true, "POST", "/internal/chat-token/consume", h, body, strlen(body), r);
}

static void test_chat_token_single_use(void **state)
{
	ht_resp_t l, r;
	char *tok;
	long long consumed = audit_count("chat_token.consume");

	(void)state;
	assert_int_equal(fx_login(&fx, "alice", FX_PASSWORD, &l), 0);
	tok = fx_chat_token(&fx, jstr(&l, "access_token"));
	assert_non_null(tok);
	assert_int_equal(audit_count("chat_token.issue") >= 1, 1);
	/* wrong secret */
	assert_int_equal(consume(tok, "Authorization: Bearer wrong-secret-123456", &r), 0);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
	assert_int_equal(consume(tok, INTERNAL_AUTH, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "nick"), "Alice");
	assert_string_equal(jstr(&r, "display_name"), "Alice A");
	assert_string_equal(jstr(&r, "role"), "user");
	assert_true(json_is_array(json_object_get(r.json, "private_rooms")));
	assert_true(json_is_array(json_object_get(r.json, "autojoin")));
	ht_resp_free(&r);
	assert_int_equal(audit_count("chat_token.consume"), consumed + 1);
	assert_int_equal(consume(tok, INTERNAL_AUTH, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "reason"), "used");
	ht_resp_free(&r);
	assert_int_equal(consume("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", INTERNAL_AUTH, &r),
			 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "reason"), "unknown");
	ht_resp_free(&r);
	/* the token is stored as a hash, with the gateway's request id and IP */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM chat_tokens WHERE"
					 " request_id = 'req-1' AND client_ip = '203.0.113.7'"
					 " AND used_at IS NOT NULL"),
			 1);
	free(tok);
	ht_resp_free(&l);
}

static void test_chat_token_expired_and_disabled(void **state)
{
	ht_resp_t l, r;
	char *tok;

	(void)state;
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "carol", "--password-env",
				"PW", NULL),
			 0);
	assert_int_equal(fx_login(&fx, "carol", FX_PASSWORD, &l), 0);
	tok = fx_chat_token(&fx, jstr(&l, "access_token"));
	assert_non_null(tok);
	fx_sql(&fx, "UPDATE chat_tokens SET expires_at = now() - interval '1 second'"
		    " WHERE used_at IS NULL");
	assert_int_equal(consume(tok, INTERNAL_AUTH, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "reason"), "expired");
	ht_resp_free(&r);
	free(tok);
	tok = fx_chat_token(&fx, jstr(&l, "access_token"));
	assert_non_null(tok);
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "user", "disable", "carol", NULL), 0);
	assert_int_equal(consume(tok, INTERNAL_AUTH, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "reason"), "user_disabled");
	ht_resp_free(&r);
	/* a disabled user can neither log in nor get chat tokens */
	assert_null(fx_chat_token(&fx, jstr(&l, "access_token")));
	ht_resp_free(&l);
	assert_int_equal(fx_login(&fx, "carol", FX_PASSWORD, &l), 0);
	assert_int_equal(l.status, 400);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'chat_token.consume_failed'") >= 2,
			 1);
	free(tok);
	ht_resp_free(&l);
}

#define RACERS 100

/* 100 gateways race for one token over 100 connections: exactly one wins. */
static void test_chat_token_concurrent_consume(void **state)
{
	const char *h[] = {JSON, INTERNAL_AUTH, NULL};
	long status[RACERS];
	ht_resp_t l;
	char *tok, body[256], url[128];
	int ok = 0, refused = 0;

	(void)state;
	assert_int_equal(fx_login(&fx, "bob", FX_PASSWORD, &l), 0);
	tok = fx_chat_token(&fx, jstr(&l, "access_token"));
	assert_non_null(tok);
	snprintf(body, sizeof(body),
		 "{\"chat_token\":\"%s\",\"client_ip\":\"::1\","
		 "\"request_id\":\"race\"}",
		 tok);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/internal/chat-token/consume", fx.iport);
	assert_int_equal(ht_request_parallel(&(ht_req_t){.url = url,
							 .headers = h,
							 .body = body,
							 .body_len = strlen(body),
							 .timeout_s = 30},
					     RACERS, status),
			 0);
	for (int i = 0; i < RACERS; i++) {
		ok += status[i] == 200;
		refused += status[i] == 401;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(refused, RACERS - 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'chat_token.consume' AND"
					 " detail->>'request_id' = 'race'"),
			 1);
	free(tok);
	ht_resp_free(&l);
}

static void test_rooms_api(void **state)
{
	ht_resp_t la, lu, r;
	char aa[128], ua[128];
	const char *ha[] = {aa, JSON, NULL}, *hu[] = {ua, JSON, NULL};
	const char *room = "{\"name\":\"#Priv-Secret\",\"topic\":\"x'); DROP TABLE users;--\","
			   "\"private\":true}";

	(void)state;
	assert_int_equal(fx_login(&fx, "root", FX_PASSWORD, &la), 0);
	assert_int_equal(fx_login(&fx, "alice", FX_PASSWORD, &lu), 0);
	snprintf(aa, sizeof(aa), "Authorization: Bearer %s", jstr(&la, "access_token"));
	snprintf(ua, sizeof(ua), "Authorization: Bearer %s", jstr(&lu, "access_token"));
	fx_http(&fx, false, "POST", "/api/rooms", hu, room, strlen(room), &r);
	assert_int_equal(r.status, 403);
	ht_resp_free(&r);
	fx_http(&fx, false, "POST", "/api/rooms", ha, room, strlen(room), &r);
	assert_int_equal(r.status, 201);
	ht_resp_free(&r);
	fx_http(&fx, false, "POST", "/api/rooms", ha, room, strlen(room), &r);
	assert_int_equal(r.status, 409);
	ht_resp_free(&r);
	/* alice does not see the private room until she is a member */
	fx_http(&fx, false, "GET", "/api/rooms", hu, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(r.json), 0);
	ht_resp_free(&r);
	fx_http(&fx, false, "PUT", "/api/rooms/%23priv-secret/members/ALICE", ha, "", 0, &r);
	assert_int_equal(r.status, 204);
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/rooms", hu, NULL, 0, &r);
	assert_int_equal(json_array_size(r.json), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "topic")),
			    "x'); DROP TABLE users;--");
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/me", hu, NULL, 0, &r);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(r.json, "private_rooms"), 0)),
		"#Priv-Secret");
	ht_resp_free(&r);
	fx_http(&fx, false, "PATCH", "/api/rooms/%23PRIV-SECRET", ha, "{\"topic\":\"new\"}", 15,
		&r);
	assert_int_equal(r.status, 204);
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/rooms/%23priv-secret/members", hu, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(r.json), 1);
	ht_resp_free(&r);
	fx_http(&fx, false, "DELETE", "/api/rooms/%23priv-secret", ha, NULL, 0, &r);
	assert_int_equal(r.status, 204);
	ht_resp_free(&r);
	fx_http(&fx, false, "DELETE", "/api/rooms/%23priv-secret", ha, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	ht_resp_free(&r);
	assert_true(audit_count("room.create") >= 1);
	assert_true(audit_count("room.member_add") >= 1);
	assert_true(audit_count("room.delete") >= 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE nick = 'Alice'"), 1);
	ht_resp_free(&la);
	ht_resp_free(&lu);
}

static void test_bearer_errors(void **state)
{
	ht_resp_t r;
	const char *h1[] = {"Authorization: Bearer", NULL};
	const char *h2[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};
	const char *h3[] = {"Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			    NULL};

	(void)state;
	fx_http(&fx, false, "GET", "/api/me", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	assert_true(ht_has_header(&r, "WWW-Authenticate: Bearer realm=\"eirc\""));
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/me", h1, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
	fx_http(&fx, false, "GET", "/api/me", h2, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
	fx_http(&fx, false, "POST", "/api/chat-token", h3, "", 0, &r);
	assert_int_equal(r.status, 401);
	assert_true(ht_has_header(&r, "error=\"invalid_token\""));
	ht_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_grant),
		cmocka_unit_test(test_password_grant_errors),
		cmocka_unit_test(test_client_credentials),
		cmocka_unit_test(test_refresh_rotation_and_reuse),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_introspect),
		cmocka_unit_test(test_chat_token_single_use),
		cmocka_unit_test(test_chat_token_expired_and_disabled),
		cmocka_unit_test(test_chat_token_concurrent_consume),
		cmocka_unit_test(test_rooms_api),
		cmocka_unit_test(test_bearer_errors),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx), /* last */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
