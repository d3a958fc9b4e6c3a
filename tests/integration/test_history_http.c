/*
 * test_history_http: eirc-history's HTTP API end to end, with a real
 * PostgreSQL and eirc-auth (auth_fixture: users, roles, rooms, the
 * eirc-history OAuth client and RFC 7662 introspection), a real Redis
 * holding messages written with eirc-logger's own append script, and the
 * real eirc-history binary. Checks: /healthz (liveness), /readyz
 * (Redis up) and /metrics (answers by route and status, CHATHISTORY
 * connections, the Redis link); 401 with WWW-Authenticate
 * for a missing or unknown token; each endpoint takes only its scope (a
 * history-only token gets no chat token, a chat-only token no history,
 * search or export: 403 insufficient_scope); paging a room by msgid
 * cursors, backwards and forwards, visits every stored message once and
 * in order; limit clamping and bad parameters; a private room refused
 * (403) to a non-member, served to a member and to an auditor, by
 * membership and by irc_client.private_room_masks; the per-user rate
 * limit (429 with Retry-After right after the burst); Redis hung and
 * stopped: 503 temporarily_unavailable within history.request_timeout,
 * never a hang, /readyz 503 and /healthz 200 meanwhile.
 * Search and export run against the Elasticsearch test server
 * (tests/es/es_server.py) loaded with the documents eirc-logger's shipper
 * builds (lg_bulk_add) from the same archive streams: highlights, filters,
 * private rooms left out; an auditor's export in NDJSON and CSV (RFC 4180
 * quoting) equals the stored messages across several point-in-time pages
 * and is in eirc-auth's audit log; anyone else's export is 403.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "archive/archive_append.h"
#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "common/chathist.h"
#include "logger-bot/lg_bulk.h"
#include "tests/harness/session_test.h"
#include "tests/integration/auth_fixture.h"
#include "tests/integration/logger_fixture.h"

#define NETWORK    "eIRC"
#define PARTITIONS 4
#define N_GENERAL  1100
#define N_SECRET   30
#define PAGE_MAX   100
#define RATE_BURST 100
#define QUOTE_TEXT "he said \"hi\", then left"
/* history.request_timeout, seconds */
#define REQ_TIMEOUT_S 3
/* history.introspect_cache_ttl, seconds: far above PUSH_MAX_S, so that
 * only the access bus explains a revocation seen sooner */
#define CACHE_TTL_S 60
/* An access change reaches eirc-history within this (issue 22, item 4). */
#define PUSH_MAX_S 5

static fx_t fx;
static srv_t *redis, *hist;
static struct lgf_proc es;
static int hport;
static char cfg_path[512];
static char tok_alice[256], tok_bob[256], tok_carol[256], tok_dave[256];
static char general_ids[N_GENERAL][32];
static char hist_secret[256]; /* the eirc-history OAuth client's */

/* GET path on eirc-history with token (NULL: no Authorization). */
static int hget(const char *token, const char *path, ht_resp_t *out)
{
	char url[1024], auth[400];
	const char *h[] = {auth, NULL};
	int rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", hport, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	rc = ht_request(&(ht_req_t){.url = url, .headers = token ? h : NULL}, out);
	if (rc < 0)
		fprintf(stderr, "GET %s: %s (status %ld)\n", path, out->error, out->status);
	return rc;
}

static const char *err_code(const ht_resp_t *r)
{
	return json_string_value(json_object_get(r->json, "error"));
}

/* ---- set-up ---- */

/* Stores n messages in chan with the logger's append script; msgid
 * "<prefix><i>", one millisecond apart, ending now. */
static int store(redisContext *rc, const char *sha, const char *chan, const char *prefix, int n,
		 char ids[][32])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - n;
	for (int i = 0; i < n; i++) {
		char msgid[32], text[64], tags[96];
		archive_append_call_t call;
		archive_append_opts_t o = {PARTITIONS, t0 + n, 0, NULL};
		archive_event_t ev = {.type = i % 7 == 3 ? ARCHIVE_EV_NOTICE : ARCHIVE_EV_PRIVMSG,
				      .time_ms = t0 + i};
		snprintf(msgid, sizeof(msgid), "%s%d", prefix, i);
		snprintf(text, sizeof(text), "message %d of %s", i, chan);
		if (strcmp(chan, "#quote") == 0)
			snprintf(text, sizeof(text), "%s", QUOTE_TEXT);
		snprintf(tags, sizeof(tags), "msgid=%s;+draft/reply=x\\sy", msgid);
		const char *v[ARCHIVE_EVENT_NSTR] = {
			[ARCHIVE_S_MSGID] = msgid,      [ARCHIVE_S_NETWORK] = NETWORK,
			[ARCHIVE_S_CONV] = chan,        [ARCHIVE_S_TARGET] = chan,
			[ARCHIVE_S_NICK] = "sender",    [ARCHIVE_S_USER] = "u5",
			[ARCHIVE_S_HOST] = "h.example", [ARCHIVE_S_ACCOUNT] = "acct",
			[ARCHIVE_S_TEXT] = text,        [ARCHIVE_S_TAGS] = tags};
		for (int k = 0; k < ARCHIVE_EVENT_NSTR; k++)
			ev.s[k] = (archive_str_t){v[k] ? v[k] : "", v[k] ? strlen(v[k]) : 0};
		if (archive_append_build(&ev, &o, sha, &call) < 0)
			return -1;
		redisReply *r = redisCommandArgv(rc, call.argc, call.argv, call.argvlen);
		bool bad = !r || r->type == REDIS_REPLY_ERROR;
		if (r)
			freeReplyObject(r);
		if (bad)
			return -1;
		if (ids)
			snprintf(ids[i], sizeof(ids[i]), "%s", msgid);
	}
	return 0;
}

static int populate(void)
{
	redisContext *rc = redisConnect("127.0.0.1", srv_port(redis));
	redisReply *r;
	char sha[ARCHIVE_APPEND_SHA_LEN + 1];
	int rv = -1;

	if (!rc || rc->err || !(r = redisCommand(rc, "SCRIPT LOAD %s", archive_append_script)))
		goto out;
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	if (store(rc, sha, "#general", "g", N_GENERAL, general_ids) < 0 ||
	    store(rc, sha, "#priv-secret", "s", N_SECRET, NULL) < 0 ||
	    store(rc, sha, "#priv-ops", "p", 5, NULL) < 0 ||
	    store(rc, sha, "#quote", "q", 1, NULL) < 0)
		goto out;
	rv = 0;
out:
	if (rc)
		redisFree(rc);
	return rv;
}

/* POSTs body to the ES test server's /_bulk; 0 or -1. */
static int es_bulk(const char *body, size_t len)
{
	static const char *const h[] = {"Content-Type: application/x-ndjson", NULL};
	char url[128];
	ht_resp_t r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_bulk", es.port);
	int rc = ht_request(&(ht_req_t){.url = url, .headers = h, .body = body, .body_len = len},
			    &r);
	bool ok = rc == 0 && r.status == 200 && strstr(r.body, "\"errors\": false");
	ht_resp_free(&r);
	return ok ? 0 : -1;
}

/* Indexes every archived entry as the shipper would (lg_bulk_add). */
static int load_es(void)
{
	redisContext *rc = redisConnect("127.0.0.1", srv_port(redis));
	buf_t body;
	int rv = -1;

	buf_init(&body, SIZE_MAX);

	for (int k = 0; rc && !rc->err && k < PARTITIONS; k++) {
		char key[64];
		archive_keys_archive(k, key, sizeof(key));
		redisReply *r = redisCommand(rc, "XRANGE %s - +", key);
		for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			redisReply *e = r->element[i], *fl = e->element[1];
			lg_bulk_field_t f[LG_BULK_FIELDS_MAX];
			size_t n = 0;
			for (size_t j = 0; j + 1 < fl->elements && n < LG_BULK_FIELDS_MAX; j += 2)
				f[n++] = (lg_bulk_field_t){
					{fl->element[j]->str, fl->element[j]->len},
					{fl->element[j + 1]->str, fl->element[j + 1]->len}};
			archive_str_t id = {e->element[0]->str, e->element[0]->len};
			if (lg_bulk_add(&body, "eirc", k, id, f, n) < 0)
				goto out;
		}
		if (r)
			freeReplyObject(r);
	}
	rv = buf_len(&body) ? es_bulk(buf_data(&body), buf_len(&body)) : -1;
out:
	buf_free(&body);
	if (rc)
		redisFree(rc);
	return rv;
}

static int login(const char *user, char *out, size_t cap)
{
	ht_resp_t r;
	int rv = -1;

	if (fx_login(&fx, user, FX_PASSWORD, &r) == 0 && r.status == 200) {
		const char *at = json_string_value(json_object_get(r.json, "access_token"));
		if (at) {
			snprintf(out, cap, "%s", at);
			rv = 0;
		}
	}
	ht_resp_free(&r);
	return rv;
}

static int users(char *secret, size_t cap)
{
	char out[512], *p;

	if (fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "alice", "--password-env", "PW",
		   NULL) != 0 ||
	    fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "bob", "--password-env", "PW", NULL) !=
		    0 ||
	    fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "carol", "--role", "auditor",
		   "--password-env", "PW", NULL) != 0 ||
	    fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "dave", "--password-env", "PW",
		   NULL) != 0 ||
	    fx_cli(&fx, NULL, NULL, 0, "room", "add", "#general", NULL) != 0 ||
	    fx_cli(&fx, NULL, NULL, 0, "room", "add", "#priv-secret", "--private", NULL) != 0 ||
	    fx_cli(&fx, NULL, NULL, 0, "room", "member", "add", "#priv-secret", "alice", NULL) !=
		    0 ||
	    fx_cli(&fx, NULL, out, sizeof(out), "client", "add", "eirc-history", "--grants",
		   "client_credentials", "--scope", "history", NULL) != 0)
		return -1;
	if (!(p = strstr(out, "client_secret: ")))
		return -1;
	snprintf(secret, cap, "%s", p + 15);
	secret[strcspn(secret, "\n")] = '\0';
	if (login("alice", tok_alice, sizeof(tok_alice)) < 0 ||
	    login("bob", tok_bob, sizeof(tok_bob)) < 0 ||
	    login("carol", tok_carol, sizeof(tok_carol)) < 0 ||
	    login("dave", tok_dave, sizeof(tok_dave)) < 0)
		return -1;
	return 0;
}

static int write_config(const char *secret)
{
	FILE *f;

	hport = srv_free_port();
	snprintf(cfg_path, sizeof(cfg_path), "%s/history.yaml", srv_env_dir(fx.env));
	if (!(f = fopen(cfg_path, "we")))
		return -1;
	fprintf(f,
		"irc:\n  network: " NETWORK "\n  servers:\n    - host: 127.0.0.1\n      port: 1\n"
		"  webirc_password: unused-here\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"irc_client:\n  private_room_masks: [\"#priv-*\"]\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 2s\n"
		"history:\n  socket_path: %s/hist.sock\n" SESSION_TEST_KEY_YAML
		"  listen_address: 127.0.0.1\n"
		"  listen_port: %d\n  page_max: %d\n  rate_per_second: 1\n  rate_burst: %d\n"
		"  request_timeout: %ds\n"
		"  introspect_url: http://127.0.0.1:%d/oauth/introspect\n"
		"  introspect_client_id: eirc-history\n  introspect_client_secret: \"%s\"\n"
		"  introspect_cache_ttl: %ds\n"
		"  redis_username: %s\n  redis_password: %s\n" /* its ACL user */
		"elasticsearch:\n  urls: [\"http://127.0.0.1:%d\"]\n  index_prefix: eirc\n"
		"log:\n  level: info\n",
		srv_port(redis), PARTITIONS, srv_env_dir(fx.env), hport, PAGE_MAX, RATE_BURST,
		REQ_TIMEOUT_S, fx.port, secret, CACHE_TTL_S,
		srv_redis_user_name(redis, REDIS_ACL_HISTORY),
		srv_redis_user_password(redis, REDIS_ACL_HISTORY), es.port);
	fclose(f);
	return 0;
}

static int setup(void **state)
{
	char bin[512];
	(void)state;

	signal(SIGPIPE, SIG_IGN);
	/* eirc-auth publishes its access changes on the Redis eirc-history
	 * reads and follows */
	if (fx_start_redis(&fx, NULL) < 0 || !(redis = fx.redis) ||
	    users(hist_secret, sizeof(hist_secret)) < 0 || populate() < 0 ||
	    lgf_es_start(srv_env_dir(fx.env), &es) < 0 || load_es() < 0 ||
	    write_config(hist_secret) < 0)
		return -1;
	snprintf(bin, sizeof(bin), "%s/history-bridge/eirc-history", getenv("EIRC_BUILD_DIR"));
	char *argv[] = {bin, (char *)"--config", cfg_path, NULL};
	return srv_process_start(fx.env, "eirc-history", argv, hport, "/readyz", &hist);
}

/* True when eirc-history's log shows a clean stop: every libuv handle
 * closed, no sanitizer report (leaks are reported at exit). */
static bool log_clean(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	bool clean = f != NULL;

	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "Handles left open") || strstr(line, "Sanitizer") ||
		    strstr(line, "runtime error")) {
			fprintf(stderr, "%s: %s", path, line);
			clean = false;
		}
	}
	if (f)
		fclose(f);
	return clean;
}

static int teardown(void **state)
{
	(void)state;

	if (hist)
		srv_stop(hist);
	if (es.pid > 0)
		lgf_proc_stop(&es, SIGTERM);
	if (fx.env) /* test_clean_stop did not get that far */
		fx_stop(&fx);
	return 0;
}

/* ---- tests ---- */

/* The value of one sample line of /metrics ("name{labels}"); -1 absent. */
static double metric(const char *sample)
{
	ht_resp_t r;
	size_t n = strlen(sample);
	double v = -1;

	assert_int_equal(hget(NULL, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
	for (const char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, sample, n) && p[n] == ' ')
			v = strtod(p + n + 1, NULL);
	ht_resp_free(&r);
	return v;
}

static void test_healthz(void **state)
{
	const char *s = "eirc_history_http_requests_total{route=\"healthz\",code=\"200\"}";
	ht_resp_t r;
	double before;
	(void)state;

	assert_int_equal(hget(NULL, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	assert_int_equal(hget(NULL, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "redis")));
	ht_resp_free(&r);
	assert_true(metric("eirc_history_ready") == 1);
	assert_true(metric("eirc_history_redis_up") == 1);
	assert_true(metric("eirc_history_connections") == 0);
	before = metric(s);
	assert_true(before >= 1);
	assert_int_equal(hget(NULL, "/healthz", &r), 0);
	ht_resp_free(&r);
	assert_true(metric(s) == before + 1);
	assert_int_equal(hget(NULL, "/v1/nothing", &r), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(err_code(&r), "not_found");
	ht_resp_free(&r);
}

static void test_tokens(void **state)
{
	ht_resp_t r;
	(void)state;

	assert_int_equal(hget(NULL, "/v1/rooms/%23general/messages", &r), 0);
	assert_int_equal(r.status, 401);
	assert_true(ht_has_header(&r, "www-authenticate: Bearer realm=\"eirc\""));
	assert_string_equal(err_code(&r), "invalid_request");
	ht_resp_free(&r);
	/* well-formed, unknown to eirc-auth: introspection says inactive */
	assert_int_equal(hget("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			      "/v1/rooms/%23general/messages", &r),
			 0);
	assert_int_equal(r.status, 401);
	assert_true(ht_has_header(&r, "error=\"invalid_token\""));
	assert_string_equal(err_code(&r), "invalid_token");
	ht_resp_free(&r);
	assert_int_equal(hget("bad token!", "/v1/rooms/%23general/messages", &r), 0);
	assert_int_equal(r.status, 401);
	ht_resp_free(&r);
}

/* A password grant for user with the given scope; its access token. */
static int login_scoped(const char *user, const char *scope, char *out, size_t cap)
{
	static const char *const h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char body[256];
	ht_resp_t r;
	int rv = -1;

	snprintf(body, sizeof(body),
		 "grant_type=password&client_id=eirc-web&username=%s"
		 "&password=correct+horse+battery&scope=%s",
		 user, scope);
	if (fx_http(&fx, false, "POST", "/oauth/token", h, body, strlen(body), &r) == 0 &&
	    r.status == 200 && json_string_value(json_object_get(r.json, "access_token"))) {
		snprintf(out, cap, "%s",
			 json_string_value(json_object_get(r.json, "access_token")));
		rv = 0;
	}
	ht_resp_free(&r);
	return rv;
}

/* 403 insufficient_scope (RFC 6750 §3.1) with its WWW-Authenticate. */
static void assert_insufficient_scope(const ht_resp_t *r)
{
	assert_int_equal(r->status, 403);
	assert_string_equal(err_code(r), "insufficient_scope");
	assert_true(ht_has_header(r, "www-authenticate: Bearer realm=\"eirc\""));
	assert_true(ht_has_header(r, "error=\"insufficient_scope\""));
}

/* Each endpoint takes only its scope (issue 22, item 6): a token with
 * scope history gets no chat token, so no chat session; one with scope
 * chat gets no history, search or export; each is served what it has. */
static void test_scopes(void **state)
{
	char only_chat[256], only_hist[256], auth[300];
	const char *h[] = {auth, NULL};
	char *ct;
	ht_resp_t r;
	(void)state;

	assert_int_equal(login_scoped("bob", "history", only_hist, sizeof(only_hist)), 0);
	assert_int_equal(login_scoped("bob", "chat", only_chat, sizeof(only_chat)), 0);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", only_hist);
	assert_int_equal(fx_http(&fx, false, "POST", "/api/chat-token", h, "", 0, &r), 0);
	assert_insufficient_scope(&r);
	ht_resp_free(&r);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM chat_tokens"), 0);
	assert_non_null(ct = fx_chat_token(&fx, only_chat));
	free(ct);
	assert_non_null(ct = fx_chat_token(&fx, tok_bob)); /* "chat history" */
	free(ct);

	assert_int_equal(hget(only_chat, "/v1/rooms/%23general/messages?limit=1", &r), 0);
	assert_insufficient_scope(&r);
	ht_resp_free(&r);
	assert_int_equal(hget(only_chat, "/v1/search?q=3", &r), 0);
	assert_insufficient_scope(&r);
	ht_resp_free(&r);
	assert_int_equal(hget(only_chat, "/v1/export?room=%23general&format=ndjson", &r), 0);
	assert_insufficient_scope(&r);
	ht_resp_free(&r);
	assert_int_equal(hget(only_hist, "/v1/rooms/%23general/messages?limit=1", &r), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
}

/* GET one page; returns its messages' msgids into ids (oldest first). */
static size_t page(const char *token, const char *query, char ids[][32], size_t cap,
		   char *next_before, char *next_after)
{
	char path[512];
	ht_resp_t r;
	size_t i;
	json_t *m;

	snprintf(path, sizeof(path), "/v1/rooms/%%23general/messages?%s", query);
	assert_int_equal(hget(token, path, &r), 0);
	if (r.status != 200)
		fail_msg("%s: %ld %s", path, r.status, r.body ? r.body : "");
	json_t *msgs = json_object_get(r.json, "messages");
	assert_true(json_array_size(msgs) <= cap);
	json_array_foreach(msgs, i, m)
	{
		snprintf(ids[i], 32, "%s", json_string_value(json_object_get(m, "msgid")));
		assert_non_null(strstr(json_string_value(json_object_get(m, "text")), "message "));
		assert_string_equal(json_string_value(json_object_get(m, "nick")), "sender");
		assert_string_equal(json_string_value(json_object_get(m, "account")), "acct");
		assert_string_equal(json_string_value(json_object_get(json_object_get(m, "tags"),
								      "+draft/reply")),
				    "x y");
		const char *t = json_string_value(json_object_get(m, "time"));
		assert_true(t && strlen(t) == 24 && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
	}
	const char *nb = json_string_value(json_object_get(r.json, "next_before"));
	const char *na = json_string_value(json_object_get(r.json, "next_after"));
	snprintf(next_before, 32, "%s", nb ? nb : "");
	snprintf(next_after, 32, "%s", na ? na : "");
	size_t n = json_array_size(msgs);
	ht_resp_free(&r);
	return n;
}

static void test_paging(void **state)
{
	static char seen[N_GENERAL + PAGE_MAX][32], ids[PAGE_MAX][32];
	char nb[32], na[32], q[128];
	size_t got = 0, n;
	(void)state;

	/* backwards from the newest */
	n = page(tok_alice, "limit=70", ids, PAGE_MAX, nb, na);
	assert_int_equal(n, 70);
	assert_string_equal(na, "");
	for (;;) {
		memmove(seen[n], seen[0], got * 32);
		memcpy(seen[0], ids, n * 32);
		got += n;
		if (!nb[0])
			break;
		snprintf(q, sizeof(q), "before=%s&limit=70", nb);
		n = page(tok_alice, q, ids, PAGE_MAX, nb, na);
		assert_true(n > 0);
		assert_string_not_equal(na, "");
	}
	assert_int_equal(got, N_GENERAL);
	for (int i = 0; i < N_GENERAL; i++)
		assert_string_equal(seen[i], general_ids[i]);
	/* forwards from the oldest */
	got = 0;
	snprintf(na, sizeof(na), "%s", general_ids[0]);
	snprintf(seen[got++], 32, "%s", general_ids[0]);
	while (na[0]) {
		snprintf(q, sizeof(q), "after=%s&limit=%d", na, PAGE_MAX);
		n = page(tok_alice, q, ids, PAGE_MAX, nb, na);
		memcpy(seen[got], ids, n * 32);
		got += n;
	}
	assert_int_equal(got, N_GENERAL);
	for (int i = 0; i < N_GENERAL; i++)
		assert_string_equal(seen[i], general_ids[i]);
}

static void test_limits(void **state)
{
	static char ids[PAGE_MAX][32];
	char nb[32], na[32], q[128];
	ht_resp_t r;
	(void)state;

	/* page_max and one past it: both give page_max */
	snprintf(q, sizeof(q), "limit=%d", PAGE_MAX);
	assert_int_equal(page(tok_carol, q, ids, PAGE_MAX, nb, na), PAGE_MAX);
	snprintf(q, sizeof(q), "limit=%d", PAGE_MAX + 1);
	assert_int_equal(page(tok_carol, q, ids, PAGE_MAX, nb, na), PAGE_MAX);
	assert_string_equal(ids[PAGE_MAX - 1], general_ids[N_GENERAL - 1]);
	assert_int_equal(page(tok_carol, "limit=99999999999999999999", ids, PAGE_MAX, nb, na),
			 PAGE_MAX);
	/* around: the message itself in the middle */
	snprintf(q, sizeof(q), "around=%s&limit=5", general_ids[100]);
	assert_int_equal(page(tok_carol, q, ids, PAGE_MAX, nb, na), 5);
	assert_string_equal(ids[2], general_ids[100]);
	/* between after= and before= */
	snprintf(q, sizeof(q), "after=%s&before=%s", general_ids[10], general_ids[14]);
	assert_int_equal(page(tok_carol, q, ids, PAGE_MAX, nb, na), 3);
	assert_string_equal(ids[0], general_ids[11]);
	/* an unknown cursor: an empty page, no cursors */
	assert_int_equal(page(tok_carol, "before=nosuchid", ids, PAGE_MAX, nb, na), 0);
	assert_string_equal(nb, "");
	assert_string_equal(na, "");
	/* a cursor of CHATHIST_MSGID_MAX bytes is looked up (unknown: an
	 * empty page), one past it refused, and so is one of 600 bytes, too
	 * long for lws's argument buffer (it was taken as absent, and the
	 * newest page came back), and any parameter that long */
	static char at_max[CHATHIST_MSGID_MAX + 8], past[CHATHIST_MSGID_MAX + 9], huge[620];
	static char path[700];
	snprintf(at_max, sizeof(at_max), "before=%0*d", CHATHIST_MSGID_MAX, 7);
	snprintf(past, sizeof(past), "before=%0*d", CHATHIST_MSGID_MAX + 1, 7);
	snprintf(huge, sizeof(huge), "before=%0*d", 600, 7);
	assert_int_equal(page(tok_carol, at_max, ids, PAGE_MAX, nb, na), 0);
	const char *bad[] = {"limit=0", "limit=-1", "limit=x", "around=g1&before=g2",
			     past,      huge,       huge + 7};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/v1/rooms/%%23general/messages?%s", bad[i]);
		assert_int_equal(hget(tok_carol, path, &r), 0);
		assert_int_equal(r.status, 400);
		assert_string_equal(err_code(&r), "invalid_request");
		ht_resp_free(&r);
	}
	assert_int_equal(hget(tok_carol, "/v1/rooms/general/messages", &r), 0);
	assert_int_equal(r.status, 400);
	ht_resp_free(&r);
	/* a room nothing was said in: empty */
	assert_int_equal(hget(tok_carol, "/v1/rooms/%23empty/messages", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "messages")), 0);
	ht_resp_free(&r);
}

static long status_of(const char *token, const char *path, size_t *out_n)
{
	ht_resp_t r;
	long st;

	assert_int_equal(hget(token, path, &r), 0);
	st = r.status;
	if (out_n)
		*out_n = json_array_size(json_object_get(r.json, "messages"));
	if (st == 403)
		assert_string_equal(err_code(&r), "forbidden");
	ht_resp_free(&r);
	return st;
}

static void test_private_rooms(void **state)
{
	size_t n = 0;
	(void)state;

	/* #priv-secret: private (by name and in eirc-auth), alice is a member,
	 * bob is not */
	assert_int_equal(status_of(tok_bob, "/v1/rooms/%23priv-secret/messages", NULL), 403);
	assert_int_equal(status_of(tok_bob, "/v1/rooms/%23PRIV-SECRET/messages", NULL), 403);
	assert_int_equal(status_of(tok_alice, "/v1/rooms/%23priv-secret/messages", &n), 200);
	assert_int_equal(n, N_SECRET);
	assert_int_equal(status_of(tok_carol, "/v1/rooms/%23priv-secret/messages", &n), 200);
	assert_int_equal(n, N_SECRET);
	/* #priv-ops: private by irc_client.private_room_masks, no member */
	assert_int_equal(status_of(tok_bob, "/v1/rooms/%23priv-ops/messages", NULL), 403);
	assert_int_equal(status_of(tok_alice, "/v1/rooms/%23priv-ops/messages", NULL), 403);
	assert_int_equal(status_of(tok_carol, "/v1/rooms/%23priv-ops/messages", &n), 200);
	assert_int_equal(n, 5);
	/* public */
	assert_int_equal(status_of(tok_bob, "/v1/rooms/%23general/messages", &n), 200);
	assert_int_equal(n, 50);
}

/* GET /v1/search?<query>: status; the hits' msgids into ids (newest
 * first), the total. */
static long search(const char *token, const char *query, char ids[][32], size_t cap,
		   long long *out_total)
{
	char path[600];
	ht_resp_t r;
	size_t i;
	json_t *h;

	snprintf(path, sizeof(path), "/v1/search?%s", query);
	assert_int_equal(hget(token, path, &r), 0);
	long st = r.status;
	*out_total = json_integer_value(json_object_get(r.json, "total"));
	json_array_foreach(json_object_get(r.json, "hits"), i, h)
	{
		assert_true(i < cap);
		snprintf(ids[i], 32, "%s", json_string_value(json_object_get(h, "msgid")));
		const char *text = json_string_value(json_object_get(h, "text"));
		const char *hl =
			json_string_value(json_array_get(json_object_get(h, "highlight"), 0));
		assert_non_null(text);
		assert_non_null(hl);
		assert_non_null(strstr(hl, "<em>"));
	}
	ht_resp_free(&r);
	return st;
}

static void test_search(void **state)
{
	static char ids[PAGE_MAX][32];
	long long total;
	char q[256];
	ht_resp_t r;
	(void)state;

	/* "3" is a word of g3, s3 and p3 only: each sees what it may read */
	assert_int_equal(search(tok_bob, "q=3", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 1);
	assert_string_equal(ids[0], "g3");
	assert_int_equal(search(tok_alice, "q=3", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 2);
	assert_int_equal(search(tok_carol, "q=3", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 3);
	/* q is URL-decoded: "zzz 7" matches g7 ("zzz%207" would match g207) */
	assert_int_equal(search(tok_bob, "q=zzz%207&room=%23general", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 1);
	assert_string_equal(ids[0], "g7");
	/* the highlight marks the matched word */
	assert_int_equal(hget(tok_bob, "/v1/search?q=3", &r), 0);
	json_t *h0 = json_array_get(json_object_get(r.json, "hits"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(h0, "highlight"), 0)),
			    "message <em>3</em> of #general");
	assert_string_equal(json_string_value(json_object_get(h0, "room")), "#general");
	ht_resp_free(&r);
	/* room, from, time filters; newest first; limit */
	assert_int_equal(
		search(tok_bob, "q=message&room=%23general&limit=5", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, N_GENERAL);
	assert_string_equal(ids[0], general_ids[N_GENERAL - 1]);
	assert_string_equal(ids[4], general_ids[N_GENERAL - 5]);
	assert_int_equal(search(tok_bob, "q=message&from=nobody", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 0);
	assert_int_equal(
		search(tok_bob, "q=message&from=sender&room=%23general", ids, PAGE_MAX, &total),
		200);
	assert_int_equal(total, N_GENERAL);
	/* after= the time of the 10th newest: the 9 newer ones */
	snprintf(q, sizeof(q), "/v1/rooms/%%23general/messages?limit=10");
	assert_int_equal(hget(tok_bob, q, &r), 0);
	const char *t = json_string_value(
		json_object_get(json_array_get(json_object_get(r.json, "messages"), 0), "time"));
	snprintf(q, sizeof(q), "q=message&room=%%23general&after=%s", t);
	ht_resp_free(&r);
	assert_int_equal(search(tok_bob, q, ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 9);
	/* refused and bad */
	assert_int_equal(search(tok_bob, "q=3&room=%23priv-secret", ids, PAGE_MAX, &total), 403);
	assert_int_equal(search(tok_bob, "room=%23general", ids, PAGE_MAX, &total), 400);
	assert_int_equal(search(tok_bob, "q=3&after=yesterday", ids, PAGE_MAX, &total), 400);
	assert_int_equal(search(NULL, "q=3", ids, PAGE_MAX, &total), 401);
}

static long long audit_rows(void)
{
	return fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'history.export'"
			       " AND actor = 'carol'");
}

static int pits_open(void)
{
	char *s = lgf_http_get(es.port, "/_eirc_test/stats");
	char *p = s ? strstr(s, "\"pits_open\": ") : NULL;
	int n = p ? (int)strtol(p + 13, NULL, 10) : -1;

	free(s);
	return n;
}

static void test_export(void **state)
{
	ht_resp_t r;
	long long before = audit_rows();
	char *line, *save;
	int n = 0;
	(void)state;

	/* NDJSON: every message of #general, oldest first, over 3 pages */
	assert_int_equal(hget(tok_carol, "/v1/export?room=%23general&format=ndjson", &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(ht_has_header(&r, "transfer-encoding: chunked"));
	assert_true(ht_has_header(&r, "content-type: application/x-ndjson"));
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_true(n < N_GENERAL);
		assert_string_equal(json_string_value(json_object_get(j, "msgid")), general_ids[n]);
		assert_string_equal(json_string_value(json_object_get(j, "room")), "#general");
		json_decref(j);
		n++;
	}
	assert_int_equal(n, N_GENERAL);
	ht_resp_free(&r);
	assert_int_equal(audit_rows(), before + 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = "
					 "'history.export' AND subject = '#general' AND "
					 "detail->>'format' = 'ndjson' AND "
					 "detail->>'client_id' = 'eirc-history'"),
			 1);
	/* CSV with RFC 4180 quoting */
	assert_int_equal(hget(tok_carol, "/v1/export?room=%23quote&format=csv", &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(ht_has_header(&r, "content-type: text/csv"));
	assert_non_null(strstr(r.body, "time,room,type,msgid,nick,account,text\r\n"));
	assert_non_null(strstr(r.body, ",#quote,privmsg,q0,sender,acct,"
				       "\"he said \"\"hi\"\", then left\"\r\n"));
	ht_resp_free(&r);
	assert_int_equal(hget(tok_carol, "/v1/export?room=%23general&format=csv", &r), 0);
	n = 0;
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (n > 0) {
			char want[48];
			snprintf(want, sizeof(want), ",privmsg,%s,", general_ids[n - 1]);
			if (!strstr(line, want)) {
				snprintf(want, sizeof(want), ",notice,%s,", general_ids[n - 1]);
				assert_non_null(strstr(line, want));
			}
		}
		n++;
	}
	assert_int_equal(n, N_GENERAL + 1);
	ht_resp_free(&r);
	assert_int_equal(audit_rows(), before + 3);
	assert_int_equal(pits_open(), 0);
	/* not an auditor: 403, no row */
	assert_int_equal(hget(tok_alice, "/v1/export?room=%23general", &r), 0);
	assert_int_equal(r.status, 403);
	ht_resp_free(&r);
	assert_int_equal(hget(tok_bob, "/v1/export?format=xml", &r), 0);
	assert_int_equal(r.status, 400);
	ht_resp_free(&r);
	assert_int_equal(audit_rows(), before + 3);
}

/* POST /oauth/audit at eirc-auth as client id:secret; the status. */
static long post_audit(const char *id, const char *secret, const char *form)
{
	char url[128], up[400];
	ht_resp_t r;
	long st;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/oauth/audit", fx.port);
	snprintf(up, sizeof(up), "%s:%s", id, secret);
	assert_int_equal(ht_request(&(ht_req_t){.url = url,
						.userpwd = up,
						.body = form,
						.body_len = strlen(form)},
				    &r),
			 0);
	st = r.status;
	ht_resp_free(&r);
	return st;
}

/* eirc-auth's POST /oauth/audit refuses what it must: another event
 * family, a bad detail, an inactive token, bad client credentials, a
 * client without scope history; the actor is the token's user. */
static void test_audit_endpoint(void **state)
{
	char form[600], out[512], *p, other[128];
	(void)state;

	long long n =
		fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event LIKE 'history.%'");
	snprintf(form, sizeof(form), "token=%s&event=history.test&subject=%%23x&detail=%%7B%%7D",
		 tok_bob);
	assert_int_equal(post_audit("eirc-history", hist_secret, form), 201);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = "
					 "'history.test' AND actor = 'bob' AND subject = '#x'"),
			 1);
	snprintf(form, sizeof(form), "token=%s&event=login.ok&subject=x", tok_bob);
	assert_int_equal(post_audit("eirc-history", hist_secret, form), 400);
	snprintf(form, sizeof(form), "token=%s&event=history.x&detail=%%5B1%%5D", tok_bob);
	assert_int_equal(post_audit("eirc-history", hist_secret, form), 400);
	assert_int_equal(
		post_audit("eirc-history", hist_secret,
			   "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&event=history.x"),
		400);
	snprintf(form, sizeof(form), "token=%s&event=history.x", tok_bob);
	assert_int_equal(post_audit("eirc-history", "wrong-secret", form), 401);
	assert_int_equal(fx_cli(&fx, NULL, out, sizeof(out), "client", "add", "other", "--grants",
				"client_credentials", "--scope", "chat", NULL),
			 0);
	assert_non_null(p = strstr(out, "client_secret: "));
	snprintf(other, sizeof(other), "%s", p + 15);
	other[strcspn(other, "\n")] = '\0';
	assert_int_equal(post_audit("other", other, form), 403);
	assert_int_equal(
		fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event LIKE 'history.%'"),
		n + 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the access bus (issue 22, item 4) ---- */

/* A new user (password FX_PASSWORD) and a fresh access token of theirs. */
static void new_user(const char *name, char *tok, size_t cap)
{
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", name, "--password-env",
				"PW", NULL),
			 0);
	assert_int_equal(login(name, tok, cap), 0);
}

/* RFC 7009 at eirc-auth, as the web client does it; the HTTP status. */
static long revoke_token(const char *token)
{
	static const char *const h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char body[512], *t = ht_escape(token);
	ht_resp_t r;
	long st;

	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s", t);
	free(t);
	assert_int_equal(fx_http(&fx, false, "POST", "/oauth/revoke", h, body, strlen(body), &r),
			 0);
	st = r.status;
	ht_resp_free(&r);
	return st;
}

/* Asks with token until eirc-history answers 401; the seconds it took
 * (fails past PUSH_MAX_S). */
static double until_refused(const char *token)
{
	double t0 = now_s();
	long st;

	while ((st = status_of(token, "/v1/rooms/%23general/messages?limit=1", NULL)) == 200 &&
	       now_s() - t0 < PUSH_MAX_S)
		usleep(50 * 1000);
	assert_int_equal(st, 401);
	return now_s() - t0;
}

/* A revoked access token and the token of a disabled user are refused
 * within PUSH_MAX_S, although eirc-history caches a check CACHE_TTL_S:
 * eirc-auth publishes each change on the access bus (RFC 7009 "revoked",
 * `user disable` "disabled"), which drops the user's cached checks at once. */
static void test_access_pushed(void **state)
{
	char tok_erin[256], tok_frank[256];
	(void)state;

	new_user("erin", tok_erin, sizeof(tok_erin));
	new_user("frank", tok_frank, sizeof(tok_frank));
	/* checked once: cached from now on */
	assert_int_equal(status_of(tok_erin, "/v1/rooms/%23general/messages?limit=1", NULL), 200);
	assert_int_equal(status_of(tok_frank, "/v1/rooms/%23general/messages?limit=1", NULL), 200);

	/* the cache alone would serve the revoked token CACHE_TTL_S longer */
	assert_int_equal(revoke_token(tok_erin), 200);
	print_message("revoked token refused after %.2f s\n", until_refused(tok_erin));

	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "user", "disable", "frank", NULL), 0);
	print_message("disabled user's token refused after %.2f s\n", until_refused(tok_frank));
	/* another user's cached check is untouched */
	assert_int_equal(status_of(tok_carol, "/v1/rooms/%23general/messages?limit=1", NULL), 200);
}

static void test_rate_limit(void **state)
{
	ht_resp_t r;
	int ok = 0;
	double t0 = now_s();
	(void)state;

	for (int i = 0; i < RATE_BURST * 3; i++) {
		assert_int_equal(hget(tok_dave, "/v1/rooms/%23general/messages?limit=1", &r), 0);
		if (r.status == 429) {
			assert_true(ht_has_header(&r, "retry-after: "));
			assert_string_equal(err_code(&r), "rate_limited");
			ht_resp_free(&r);
			break;
		}
		assert_int_equal(r.status, 200);
		ok++;
		ht_resp_free(&r);
	}
	/* the burst, plus what refilled meanwhile at 1 a second */
	assert_true(ok >= RATE_BURST);
	assert_true(ok <= RATE_BURST + (int)(now_s() - t0) + 1);
	/* another user is not limited by dave's use */
	assert_int_equal(status_of(tok_bob, "/v1/rooms/%23general/messages?limit=1", NULL), 200);
}

/* One request while Redis is unavailable: 503, within the timeout. */
static void expect_unavailable(void)
{
	ht_resp_t r;
	double t0 = now_s();

	assert_int_equal(hget(tok_alice, "/v1/rooms/%23general/messages?limit=1", &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(err_code(&r), "temporarily_unavailable");
	assert_true(ht_has_header(&r, "retry-after: "));
	ht_resp_free(&r);
	assert_true(now_s() - t0 < REQ_TIMEOUT_S + 1);
}

/* Elasticsearch hung: search and export answer 503 within the timeout;
 * a non-auditor's export 403 at once. */
static void test_es_down(void **state)
{
	static char ids[PAGE_MAX][32];
	long long total;
	ht_resp_t r;
	double t0;
	(void)state;

	assert_int_equal(kill(es.pid, SIGSTOP), 0);
	t0 = now_s();
	assert_int_equal(search(tok_bob, "q=3", ids, PAGE_MAX, &total), 503);
	assert_int_equal(hget(tok_carol, "/v1/export?room=%23general", &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(err_code(&r), "temporarily_unavailable");
	ht_resp_free(&r);
	/* who may export is checked before whether it can be answered: a
	 * non-auditor learns nothing of the archive's state (issue 23 item 5) */
	assert_int_equal(hget(tok_bob, "/v1/export?room=%23general", &r), 0);
	assert_int_equal(r.status, 403);
	ht_resp_free(&r);
	assert_true(now_s() - t0 < 2 * REQ_TIMEOUT_S + 2);
	assert_int_equal(kill(es.pid, SIGCONT), 0);
	assert_int_equal(search(tok_bob, "q=3", ids, PAGE_MAX, &total), 200);
	assert_int_equal(total, 1);
}

static void test_redis_down(void **state)
{
	char tok_gina[256];
	(void)state;

	new_user("gina", tok_gina, sizeof(tok_gina));
	assert_int_equal(status_of(tok_gina, "/v1/rooms/%23general/messages?limit=1", NULL), 200);

	/* hung: answers nothing */
	assert_int_equal(srv_kill(redis, SIGSTOP), 0);
	expect_unavailable();
	assert_int_equal(srv_kill(redis, SIGCONT), 0);
	/* stopped */
	assert_int_equal(srv_stop(redis), 0);
	expect_unavailable();
	expect_unavailable();
	assert_int_equal(status_of(NULL, "/readyz", NULL), 503);
	assert_int_equal(status_of(NULL, "/healthz", NULL), 200);
	assert_true(metric("eirc_history_ready") == 0);
	assert_true(metric("eirc_history_redis_up") == 0);
	/* revoked while the access bus is away: nothing published reaches
	 * eirc-history */
	assert_int_equal(revoke_token(tok_gina), 200);
	/* back: served again */
	assert_int_equal(srv_restart(redis), 0);
	for (int i = 0; i < 100 && status_of(NULL, "/readyz", NULL) != 200; i++)
		usleep(100 * 1000);
	assert_true(metric("eirc_history_ready") == 1);
	assert_int_equal(status_of(tok_alice, "/v1/rooms/%23general/messages?limit=1", NULL), 200);
	/* the resubscription dropped every cached check: gina's is asked again */
	print_message("token revoked during the outage refused %.2f s after Redis was back\n",
		      until_refused(tok_gina));
}

/* Last: eirc-history stops on SIGTERM with every handle closed and no
 * sanitizer report, eirc-auth exits 0 (cmocka ignores a failing group
 * teardown, so here). */
static void test_clean_stop(void **state)
{
	(void)state;

	assert_int_equal(srv_stop(hist), 0);
	assert_true(log_clean(srv_log_path(hist)));
	hist = NULL;
	assert_int_equal(fx_stop(&fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz),        cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_scopes),         cmocka_unit_test(test_paging),
		cmocka_unit_test(test_limits),         cmocka_unit_test(test_private_rooms),
		cmocka_unit_test(test_search),         cmocka_unit_test(test_export),
		cmocka_unit_test(test_audit_endpoint), cmocka_unit_test(test_access_pushed),
		cmocka_unit_test(test_rate_limit),     cmocka_unit_test(test_es_down),
		cmocka_unit_test(test_redis_down),     cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
