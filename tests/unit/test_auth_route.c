/*
 * auth_route, auth_metrics and auth_ratelimit: the route table, static
 * path rules and content types, the metrics' text, and the failed-login
 * limiter with its exponential lockout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_metrics.h"
#include "auth/auth_ratelimit.h"
#include "auth/auth_route.h"

static auth_route_id_t route(auth_listener_t l, auth_method_t m, const char *p, auth_route_t *out)
{
	auth_route_match(l, m, p, strlen(p), out);
	return out->id;
}

static void test_routes(void **state)
{
	auth_route_t r;

	(void)state;
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/oauth/token", &r), AUTH_R_TOKEN);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/oauth/token", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_string_equal(r.allow, "POST");
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/oauth/revoke", &r), AUTH_R_REVOKE);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/oauth/introspect", &r),
			 AUTH_R_INTROSPECT);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/oauth/audit", &r), AUTH_R_AUDIT);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_POST, "/oauth/audit", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/oauth/other", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/api/chat-token", &r),
			 AUTH_R_CHAT_TOKEN);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/me", &r), AUTH_R_ME);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/client-config", &r),
			 AUTH_R_CLIENT_CONFIG);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/api/client-config", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/.well-known/eirc-archive-key", &r),
			 AUTH_R_ARCHIVE_KEY);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/.well-known/eirc-archive-key", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/.well-known/eirc-archive-key", &r),
			 AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/rooms", &r), AUTH_R_ROOMS_LIST);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/api/rooms", &r), AUTH_R_ROOM_CREATE);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/rooms/#x", &r), AUTH_R_ROOM_GET);
	assert_string_equal(r.room, "#x");
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_PATCH, "/api/rooms/#x", &r),
			 AUTH_R_ROOM_UPDATE);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_DELETE, "/api/rooms/#x", &r),
			 AUTH_R_ROOM_DELETE);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/rooms/#x/members", &r),
			 AUTH_R_MEMBERS_LIST);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_PUT, "/api/rooms/#x/members/bob", &r),
			 AUTH_R_MEMBER_ADD);
	assert_string_equal(r.nick, "bob");
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_DELETE, "/api/rooms/#x/members/bob", &r),
			 AUTH_R_MEMBER_REMOVE);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_PUT, "/api/rooms/#x/members/", &r),
			 AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_PUT, "/api/rooms/#x/members/a/b", &r),
			 AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/rooms//", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/api/nothing", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/index.html", &r), AUTH_R_STATIC);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_HEAD, "/", &r), AUTH_R_STATIC);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/", &r), AUTH_R_METHOD_NOT_ALLOWED);
	/* the internal listener serves the consume, the access check and
	 * health only */
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/internal/chat-token/consume", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_POST, "/internal/chat-token/consume", &r),
			 AUTH_R_CONSUME);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_POST, "/internal/access", &r),
			 AUTH_R_ACCESS);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/internal/access", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_POST, "/internal/access", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/index.html", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_POST, "/oauth/token", &r), AUTH_R_NOT_FOUND);
	/* probes on both listeners; metrics on the internal one only (on the
	 * public one it is a path of web_root like any other) */
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/healthz", &r), AUTH_R_HEALTHZ);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/healthz", &r), AUTH_R_HEALTHZ);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/readyz", &r), AUTH_R_READYZ);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/readyz", &r), AUTH_R_READYZ);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_POST, "/readyz", &r),
			 AUTH_R_METHOD_NOT_ALLOWED);
	assert_int_equal(route(AUTH_L_INTERNAL, AUTH_M_GET, "/metrics", &r), AUTH_R_METRICS);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "/metrics", &r), AUTH_R_STATIC);
}

/* Every route has a label; the text of one rendering is exact. */
static void test_metrics(void **state)
{
	static auth_metrics_t m;
	buf_t b;
	(void)state;

	for (int i = 0; i < AUTH_R_COUNT; i++)
		assert_string_not_equal(auth_route_label((auth_route_id_t)i), "other");
	assert_string_equal(auth_route_label(AUTH_R_COUNT), "other");
	m.ready = 1;
	m.db_connections = 3;
	m.db_pool_size = 4;
	m.checkpoints_filed = 5;
	m.checkpoints_refused = 2;
	m.checkpoint_forks = 1;
	m.audit_sealed = 40;
	m.audit_checkpoints = 3;
	auth_metrics_request(&m, AUTH_R_TOKEN, 200);
	auth_metrics_request(&m, AUTH_R_TOKEN, 400);
	auth_metrics_request(&m, AUTH_R_TOKEN, 400);
	/* the bounds, and one past each */
	auth_metrics_request(&m, AUTH_R_READYZ, PROM_STATUS_MIN);
	auth_metrics_request(&m, AUTH_R_READYZ, PROM_STATUS_MAX);
	auth_metrics_request(&m, AUTH_R_READYZ, PROM_STATUS_MIN - 1);
	auth_metrics_request(&m, AUTH_R_READYZ, PROM_STATUS_MAX + 1);
	auth_metrics_request(&m, AUTH_R_COUNT, 200); /* ignored */
	buf_init(&b, AUTH_METRICS_TEXT_MAX);
	assert_int_equal(auth_metrics_render(&m, &b), 0);
	assert_string_equal(
		buf_data(&b),
		"# HELP eirc_auth_ready 1 when /readyz answers 200 (a database connection is up).\n"
		"# TYPE eirc_auth_ready gauge\neirc_auth_ready 1\n"
		"# HELP eirc_auth_db_connections PostgreSQL connections of the pool connected and "
		"usable.\n# TYPE eirc_auth_db_connections gauge\neirc_auth_db_connections 3\n"
		"# HELP eirc_auth_db_pool_size PostgreSQL connections the pool keeps "
		"(auth.database.pool_size).\n# TYPE eirc_auth_db_pool_size gauge\n"
		"eirc_auth_db_pool_size 4\n"
		"# HELP eirc_auth_checkpoints_filed_total Archive checkpoints filed into "
		"archive_checkpoints from the stream.\n"
		"# TYPE eirc_auth_checkpoints_filed_total counter\n"
		"eirc_auth_checkpoints_filed_total 5\n"
		"# HELP eirc_auth_checkpoints_refused_total Checkpoints of the stream refused: no "
		"valid signature by a known key.\n"
		"# TYPE eirc_auth_checkpoints_refused_total counter\n"
		"eirc_auth_checkpoints_refused_total 2\n"
		"# HELP eirc_auth_checkpoint_forks_total Checkpoints whose origin and size were "
		"filed with another root.\n"
		"# TYPE eirc_auth_checkpoint_forks_total counter\n"
		"eirc_auth_checkpoint_forks_total 1\n"
		"# HELP eirc_auth_audit_sealed Audit log rows sealed into the audit log's tree.\n"
		"# TYPE eirc_auth_audit_sealed gauge\neirc_auth_audit_sealed 40\n"
		"# HELP eirc_auth_audit_checkpoints_total Checkpoints of the audit log's tree "
		"signed and filed.\n"
		"# TYPE eirc_auth_audit_checkpoints_total counter\n"
		"eirc_auth_audit_checkpoints_total 3\n"
		"# HELP eirc_auth_requests_total HTTP answers, by route and status.\n"
		"# TYPE eirc_auth_requests_total counter\n"
		"eirc_auth_requests_total{route=\"readyz\",code=\"other\"} 2\n"
		"eirc_auth_requests_total{route=\"readyz\",code=\"100\"} 1\n"
		"eirc_auth_requests_total{route=\"readyz\",code=\"599\"} 1\n"
		"eirc_auth_requests_total{route=\"token\",code=\"200\"} 1\n"
		"eirc_auth_requests_total{route=\"token\",code=\"400\"} 2\n");
	buf_free(&b);
}

static void test_route_limits(void **state)
{
	char p[AUTH_PATH_MAX + 2], seg[AUTH_SEGMENT_MAX + 20];
	auth_route_t r;

	(void)state;
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	auth_route_match(AUTH_L_PUBLIC, AUTH_M_GET, p, AUTH_PATH_MAX, &r);
	assert_int_equal(r.id, AUTH_R_STATIC);
	auth_route_match(AUTH_L_PUBLIC, AUTH_M_GET, p, AUTH_PATH_MAX + 1, &r);
	assert_int_equal(r.id, AUTH_R_NOT_FOUND);
	snprintf(seg, sizeof(seg), "/api/rooms/%0*d", AUTH_SEGMENT_MAX, 0);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, seg, &r), AUTH_R_ROOM_GET);
	snprintf(seg, sizeof(seg), "/api/rooms/%0*d", AUTH_SEGMENT_MAX + 1, 0);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, seg, &r), AUTH_R_NOT_FOUND);
	auth_route_match(AUTH_L_PUBLIC, AUTH_M_GET, "/a\0b", 4, &r);
	assert_int_equal(r.id, AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "", &r), AUTH_R_NOT_FOUND);
	assert_int_equal(route(AUTH_L_PUBLIC, AUTH_M_GET, "x", &r), AUTH_R_NOT_FOUND);
}

static int spath(const char *p, char *out)
{
	return auth_static_path(p, strlen(p), out, 256);
}

static void test_static_path(void **state)
{
	static const char *const bad[] = {
		"/..", "/../x",     "/a/../../x", "/a/./b", "/.env", "/a/.git/config",
		"//x", "/a\\..\\b", "/c:x",       "/a\x01", "x",     "",
	};
	char out[256];

	(void)state;
	assert_int_equal(spath("/", out), 0);
	assert_string_equal(out, "index.html");
	assert_int_equal(spath("/app.js", out), 0);
	assert_string_equal(out, "app.js");
	assert_int_equal(spath("/sub/", out), 0);
	assert_string_equal(out, "sub/index.html");
	assert_int_equal(spath("/a/b.c.d", out), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(spath(bad[i], out), -EINVAL);
	assert_int_equal(auth_static_path("/abcdef", 7, out, 6), -E2BIG);
	assert_int_equal(auth_static_path("/abcdef", 7, out, 7), 0);
	assert_string_equal(auth_static_mime("index.html"), "text/html; charset=utf-8");
	assert_string_equal(auth_static_mime("a/b.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(auth_static_mime("x.css"), "text/css; charset=utf-8");
	assert_string_equal(auth_static_mime("x"), "application/octet-stream");
	assert_string_equal(auth_static_mime("x.exe"), "application/octet-stream");
}

static void test_ratelimit_lockout(void **state)
{
	auth_ratelimit_t *rl = auth_ratelimit_new(3, 8000);
	uint64_t t = 1000000;

	(void)state;
	assert_non_null(rl);
	assert_int_equal(auth_ratelimit_check(rl, "alice", t), 0);
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t), 0);
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t), 0);
	/* the third failure in the window locks for 1 s */
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t), 1000);
	assert_int_equal(auth_ratelimit_check(rl, "alice", t + 500), 500);
	assert_int_equal(auth_ratelimit_check(rl, "bob", t + 500), 0);
	assert_int_equal(auth_ratelimit_check(rl, "alice", t + 1000), 0);
	/* the next lockouts double: 2 s, 4 s, then the 8 s ceiling */
	for (int i = 0; i < 2; i++)
		auth_ratelimit_fail(rl, "alice", t + 2000);
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t + 2000), 2000);
	for (int i = 0; i < 2; i++)
		auth_ratelimit_fail(rl, "alice", t + 5000);
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t + 5000), 4000);
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 2; i++)
			auth_ratelimit_fail(rl, "alice", t + 10000 + k);
		assert_int_equal(auth_ratelimit_fail(rl, "alice", t + 10000 + k), 8000);
	}
	/* a success forgets the key */
	auth_ratelimit_success(rl, "alice");
	assert_int_equal(auth_ratelimit_check(rl, "alice", t + 10001), 0);
	assert_int_equal(auth_ratelimit_fail(rl, "alice", t + 10001), 0);
	auth_ratelimit_free(rl);
}

static void test_ratelimit_window_and_bound(void **state)
{
	auth_ratelimit_t *rl = auth_ratelimit_new(2, 60000);
	char key[32];

	(void)state;
	/* failures a window apart never add up */
	assert_int_equal(auth_ratelimit_fail(rl, "k", 1000), 0);
	assert_int_equal(auth_ratelimit_fail(rl, "k", 1000 + AUTH_RL_WINDOW_MS), 0);
	assert_int_equal(auth_ratelimit_fail(rl, "k", 1001 + AUTH_RL_WINDOW_MS), 1000);
	/* far more keys than entries: memory stays bounded, no crash */
	for (int i = 0; i < 4 * AUTH_RL_ENTRIES; i++) {
		snprintf(key, sizeof(key), "ip:10.0.%d.%d", i / 256, i % 256);
		auth_ratelimit_fail(rl, key, 5000 + (uint64_t)i);
	}
	auth_ratelimit_free(rl);
	auth_ratelimit_free(NULL);
}

static void test_web_csp(void **state)
{
	char a1[] = "https://intranet.example.com", a2[] = "http://wiki.local:8080";
	char *anc[] = {a1, a2};
	char out[512], tiny[64];

	(void)state;
	assert_int_equal(auth_web_csp("ws://127.0.0.1:8081/chat", NULL, 0, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "connect-src 'self' ws://127.0.0.1:8081;"));
	assert_non_null(strstr(out, "script-src 'self';"));
	assert_true(strstr(out, "frame-ancestors 'self'") + strlen("frame-ancestors 'self'") ==
		    out + strlen(out));
	/* a path: same origin, nothing added; query and fragment never copied */
	assert_int_equal(auth_web_csp("/chat", anc, 2, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "connect-src 'self';"));
	assert_non_null(strstr(out, "frame-ancestors 'self' https://intranet.example.com "
				    "http://wiki.local:8080"));
	assert_int_equal(auth_web_csp("wss://chat.example.com?x=1", NULL, 0, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "connect-src 'self' wss://chat.example.com;"));
	/* too small: an error and an empty string, never a cut policy */
	assert_int_equal(auth_web_csp("ws://127.0.0.1:8081/chat", anc, 2, tiny, sizeof(tiny)),
			 -E2BIG);
	assert_string_equal(tiny, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_limits),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_static_path),
		cmocka_unit_test(test_web_csp),
		cmocka_unit_test(test_ratelimit_lockout),
		cmocka_unit_test(test_ratelimit_window_and_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
