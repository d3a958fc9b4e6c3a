/*
 * eirc-gateway's refusals, everything real. Before the upgrade: a request
 * that is no upgrade (426), a wrong or missing Origin (403; the token is
 * not consumed), no token (400), only unknown subprotocols offered (400), too many sessions in all
 * (503) and from one address (429, X-Forwarded-For from a trusted proxy). Token errors: unknown,
 * expired, already used, and two upgrades racing with one token (exactly one session) - refused
 * with 401 before the upgrade or, as docs/gateway.md allows, with close code 4001 right after it.
 * After the upgrade: a message at the line limit passes and one byte more closes with 1009, also
 * when it comes in fragments; CR, LF or NUL inside a message closes with 1008; invalid UTF-8 in a
 * text frame with 1007 (the same bytes in a binary frame pass). For every refused upgrade no
 * irc-client is spawned (the accepted and child-exit counters stay put and
 * /proc shows no child), and no token ever reaches the gateway's log.
 * Readiness: /readyz answers 200 "ready", and 503 "eirc-auth not ready"
 * while eirc-auth is down (/healthz 200 all along), 200 once it is back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/gateway_fixture.h"

#define MAX_SESSIONS           3
#define MAX_PER_IP             2
#define REFUSED(reason)        "eirc_gateway_upgrades_refused_total{reason=\"" reason "\"}"
#define FRAMES_REFUSED(reason) "eirc_gateway_frames_refused_total{reason=\"" reason "\"}"

static gwfx_t g;
/* every token handed to the gateway, to grep its log for at the end */
static char *tokens[256];
static size_t n_tokens;

static int setup(void **state)
{
	char yaml[256];
	(void)state;

	snprintf(yaml, sizeof(yaml),
		 "  max_sessions: %d\n  max_sessions_per_ip: %d\n"
		 "  trusted_proxies: [\"127.0.0.1\"]\n",
		 MAX_SESSIONS, MAX_PER_IP);
	if (gwfx_start(&g, yaml) < 0)
		return -1;
	gwfx_add_user(&g, "alice");
	gwfx_add_user(&g, "bob");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_tokens; i++)
		free(tokens[i]);
	if (g.auth.env) /* gwfx_test_clean_stop did not run (TEST_FILTER) */
		gwfx_stop(&g);
	return 0;
}

static const char *token(const char *user)
{
	assert_true(n_tokens < sizeof(tokens) / sizeof(tokens[0]));
	tokens[n_tokens] = gwfx_token(&g, user);
	return tokens[n_tokens++];
}

static const char *remember(const char *tok)
{
	assert_true(n_tokens < sizeof(tokens) / sizeof(tokens[0]));
	tokens[n_tokens] = strdup(tok);
	return tokens[n_tokens++];
}

/* What must not move when an upgrade is refused. */
typedef struct {
	double accepted, exits, spawn_failures;
	size_t children;
} spawn_counters_t;

static spawn_counters_t counters(void)
{
	spawn_counters_t c = {
		gwfx_metric(&g, "eirc_gateway_upgrades_accepted_total"),
		gwfx_metric_sum(&g, "eirc_gateway_child_exits_total"),
		gwfx_metric(&g, "eirc_gateway_spawn_failures_total"),
		gwfx_children(&g, NULL, 0),
	};
	assert_true(c.accepted >= 0 && c.spawn_failures >= 0);
	return c;
}

static void assert_nothing_spawned(spawn_counters_t before)
{
	spawn_counters_t now = counters();

	assert_true(now.accepted == before.accepted);
	assert_true(now.exits == before.exits);
	assert_true(now.spawn_failures == before.spawn_failures);
	assert_int_equal(gwfx_children(&g, NULL, 0), before.children);
	assert_true(gwfx_metric(&g, "eirc_gateway_children") == (double)before.children);
}

/* An upgrade refused before the 101 with status and reason (body and
 * metric label). */
static void refused_before(const char *tok, const char *origin, const char *const *headers,
			   int status, const char *reason)
{
	char url[512], body[WS_REFUSAL_BODY_MAX], metric[128];
	ws_opts_t o = {.origin = origin, .headers = headers};

	snprintf(metric, sizeof(metric), "eirc_gateway_upgrades_refused_total{reason=\"%s\"}",
		 reason);
	double before = gwfx_metric(&g, metric);
	spawn_counters_t sc = counters();
	gwfx_url(&g, tok, url, sizeof(url));
	int st = ws_raw_upgrade(url, &o, body, sizeof(body));
	print_message("refused: %d %s\n", st, body);
	assert_int_equal(st, status);
	if (!strstr(body, reason))
		fail_msg("body \"%s\" does not name %s", body, reason);
	assert_true(gwfx_metric(&g, metric) == before + 1);
	assert_nothing_spawned(sc);
}

/*
 * A token refused: 401 before the upgrade, or (docs/gateway.md: the token
 * is consumed after the 101) a close with want_close right after it.
 */
static void token_refused(const char *tok, const char *reason, int want_close)
{
	char url[512], metric[128], why[128];
	ws_opts_t o = {.origin = GWFX_ORIGIN};
	ws_refusal_t ref;
	ws_client_t *ws = NULL;

	snprintf(metric, sizeof(metric), "eirc_gateway_upgrades_refused_total{reason=\"%s\"}",
		 reason);
	double before = gwfx_metric(&g, metric);
	spawn_counters_t sc = counters();
	gwfx_url(&g, tok, url, sizeof(url));
	int r = ws_connect(url, &o, &ws, &ref);
	if (r == -EPERM) {
		assert_int_equal(ref.status, want_close == 4001 ? 401 : 503);
	} else {
		assert_int_equal(r, 0);
		gwfx_track(&g, ws);
		int code = ws_wait_close(ws, 10000, why, sizeof(why));
		print_message("token refused after the upgrade: %d \"%s\"\n", code, why);
		assert_int_equal(code, want_close);
		assert_non_null(strstr(why, reason));
		gwfx_close(&g, ws);
	}
	assert_true(gwfx_metric(&g, metric) == before + 1);
	assert_nothing_spawned(sc);
}

/* A session opened with tok as a browser would, registered (001 seen);
 * *out_c reads it. */
static ws_client_t *open_with_token(const char *tok, itc_t **out_c)
{
	char url[512];
	ws_opts_t o = {.origin = GWFX_ORIGIN};
	ws_client_t *ws = NULL;
	itc_t *c;

	gwfx_url(&g, tok, url, sizeof(url));
	assert_int_equal(ws_connect(url, &o, &ws, NULL), 0);
	gwfx_track(&g, ws);
	c = itc_from_ws(ws, false);
	itc_sendf(c, "NICK x");
	itc_sendf(c, "USER x 0 * :x");
	itc_expect_within(c, "001", NULL, 20000);
	*out_c = c;
	return ws;
}

/* Closes a session of open_with_token() and waits until no irc-client is
 * left. */
static void close_session(ws_client_t *ws, itc_t *c)
{
	itc_close(c);
	gwfx_close(&g, ws);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

/* After each test: whatever a failed test left open is closed. */
static int after_test(void **state)
{
	(void)state;
	return gwfx_cleanup(&g);
}

/* Polls the gateway's /readyz (every 100 ms, up to 10 s: its probe of
 * eirc-auth runs every GW_READY_PROBE_MS) until it answers status with
 * body; the last status. */
static long wait_readyz(long status, const char *body)
{
	long st = 0;

	for (int i = 0; i < 100; i++) {
		char *b = NULL;
		st = ht_get(g.port, "/readyz", &b);
		bool done = st == status && b && !strcmp(b, body);
		free(b);
		if (done)
			return st;
		usleep(100 * 1000);
	}
	return st;
}

static void test_not_an_upgrade(void **state)
{
	char path[512], *body = NULL;
	(void)state;

	snprintf(path, sizeof(path), "/chat?chat_token=%s", token("alice"));
	double before = gwfx_metric(&g, REFUSED("upgrade_required"));
	assert_int_equal(ht_get(g.port, path, &body), 426);
	assert_non_null(strstr(body, "upgrade_required"));
	free(body);
	assert_true(gwfx_metric(&g, REFUSED("upgrade_required")) == before + 1);
	assert_int_equal(ht_get(g.port, "/healthz", NULL), 200);
	assert_int_equal(wait_readyz(200, "ready\n"), 200);
}

static void test_origin(void **state)
{
	const char *tok = token("alice");
	(void)state;

	refused_before(tok, "http://evil.test", NULL, 403, "origin");
	refused_before(tok, "http://chat.test.evil.test", NULL, 403, "origin");
	refused_before(tok, NULL, NULL, 403, "origin");
	/* checked before the token: the same token still opens a session */
	itc_t *c;
	ws_client_t *ws = open_with_token(tok, &c);
	close_session(ws, c);
}

static void test_no_token(void **state)
{
	(void)state;
	refused_before(NULL, GWFX_ORIGIN, NULL, 400, "no_token");
}

static void test_unknown_subprotocol(void **state)
{
	static const char *const h[] = {"Sec-WebSocket-Protocol: chat.example, irc", NULL};
	(void)state;

	/* docs/gateway.md: only unknown subprotocols offered is refused cleanly */
	refused_before(token("alice"), GWFX_ORIGIN, h, 400, "subprotocol");
}

static void test_unknown_token(void **state)
{
	(void)state;
	token_refused(remember("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "invalid_token",
		      4001);
	/* not even a token's alphabet: malformed, refused before the upgrade
	 * (docs/gateway.md, check 5) */
	refused_before(remember("not-even-base64url!"), GWFX_ORIGIN, NULL, 400, "no_token");
}

static void test_expired_token(void **state)
{
	const char *tok = token("bob");
	(void)state;

	assert_int_equal(fx_sql(&g.auth, "UPDATE chat_tokens SET expires_at = now() - "
					 "interval '1 second' WHERE used_at IS NULL"),
			 0);
	token_refused(tok, "invalid_token", 4001);
}

static void test_auth_unavailable(void **state)
{
	const char *tok = token("bob");
	(void)state;

	/* eirc-auth down: the token cannot be consumed; nothing is spawned */
	assert_int_equal(fx_stop_daemon(&g.auth), 0);
	token_refused(tok, "auth_unavailable", 4003);
	/* and the gateway says so to its load balancer, alive all the same */
	assert_int_equal(wait_readyz(503, "eirc-auth not ready\n"), 503);
	assert_int_equal(ht_get(g.port, "/healthz", NULL), 200);
	assert_true(gwfx_metric(&g, "eirc_gateway_ready") == 0);
	assert_int_equal(fx_start_daemon(&g.auth), 0);
	assert_int_equal(wait_readyz(200, "ready\n"), 200);
	assert_true(gwfx_metric(&g, "eirc_gateway_ready") == 1);
	/* back up: the token was never consumed and opens a session */
	itc_t *c;
	ws_client_t *ws = open_with_token(tok, &c);
	close_session(ws, c);
}

static void test_reused_token(void **state)
{
	const char *tok = token("alice");
	itc_t *c;
	ws_client_t *ws;
	(void)state;

	ws = open_with_token(tok, &c);
	/* while the first session is open, and after it closed */
	token_refused(tok, "invalid_token", 4001);
	close_session(ws, c);
	token_refused(tok, "invalid_token", 4001);
}

typedef struct {
	const char *url;
	int outcome; /* 1: session (001 seen), else the close code or -status */
} racer_t;

static void *race(void *arg)
{
	racer_t *r = arg;
	ws_opts_t o = {.origin = GWFX_ORIGIN};
	ws_refusal_t ref;
	ws_client_t *ws = NULL;
	const char *m;
	size_t len;

	if (ws_connect(r->url, &o, &ws, &ref) != 0) {
		r->outcome = -ref.status;
		return NULL;
	}
	ws_send_text(ws, "NICK x");
	ws_send_text(ws, "USER x 0 * :x");
	r->outcome = 0;
	while (ws_recv(ws, 20000, &m, &len, NULL) == 0) {
		if (strstr(m, " 001 ")) {
			r->outcome = 1;
			break;
		}
	}
	if (r->outcome == 0)
		r->outcome = ws_wait_close(ws, 5000, NULL, 0);
	ws_free(ws);
	return NULL;
}

static void test_concurrent_same_token(void **state)
{
	(void)state;
	for (int round = 0; round < 5; round++) {
		char url[512];
		racer_t r[2];
		pthread_t t[2];
		double accepted = gwfx_metric(&g, "eirc_gateway_upgrades_accepted_total");

		gwfx_url(&g, token(round % 2 ? "alice" : "bob"), url, sizeof(url));
		for (int i = 0; i < 2; i++) {
			r[i].url = url;
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		print_message("round %d: outcomes %d and %d\n", round, r[0].outcome, r[1].outcome);
		assert_int_equal((r[0].outcome == 1) + (r[1].outcome == 1), 1);
		int loser = r[0].outcome == 1 ? r[1].outcome : r[0].outcome;
		assert_true(loser == 4001 || loser == -401);
		assert_true(gwfx_metric(&g, "eirc_gateway_upgrades_accepted_total") ==
			    accepted + 1);
		assert_true(gwfx_wait_children(&g, 0, 20000));
	}
}

/* Opens a session with X-Forwarded-For: ip. */
static ws_client_t *open_from(const char *ip)
{
	char url[512], xff[64];
	const char *h[] = {xff, NULL};
	ws_opts_t o = {.origin = GWFX_ORIGIN, .headers = h};
	ws_refusal_t ref;
	ws_client_t *ws = NULL;

	snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", ip);
	gwfx_url(&g, token("alice"), url, sizeof(url));
	int r = ws_connect(url, &o, &ws, &ref);
	if (r != 0)
		fail_msg("session from %s refused: %d %s", ip, ref.status, ref.error);
	gwfx_track(&g, ws);
	return ws;
}

static void test_session_limits(void **state)
{
	ws_client_t *ws[MAX_SESSIONS];
	char xff1[64], xff3[64];
	const char *h1[] = {xff1, NULL}, *h3[] = {xff3, NULL};
	(void)state;

	snprintf(xff1, sizeof(xff1), "X-Forwarded-For: 198.51.100.1");
	snprintf(xff3, sizeof(xff3), "X-Forwarded-For: 198.51.100.3");
	for (int i = 0; i < MAX_PER_IP; i++)
		ws[i] = open_from("198.51.100.1");
	assert_true(gwfx_wait_children(&g, MAX_PER_IP, 20000));
	refused_before(token("alice"), GWFX_ORIGIN, h1, 429, "max_sessions_per_ip");
	ws[MAX_PER_IP] = open_from("198.51.100.2");
	assert_true(gwfx_wait_children(&g, MAX_SESSIONS, 20000));
	refused_before(token("alice"), GWFX_ORIGIN, h3, 503, "max_sessions");
	/* one session ends: there is room again */
	gwfx_close(&g, ws[0]);
	assert_true(gwfx_wait_children(&g, MAX_SESSIONS - 1, 20000));
	ws[0] = open_from("198.51.100.3");
	for (int i = 0; i < MAX_SESSIONS; i++)
		gwfx_close(&g, ws[i]);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

/* A registered session of alice; *out_c reads it. */
static ws_client_t *session(const char *protocols, itc_t **out_c)
{
	return gwfx_open_registered(&g, "alice", protocols, out_c);
}

static void expect_close(ws_client_t *ws, itc_t *c, int code, const char *reason,
			 const char *metric, double before)
{
	char why[128];

	int got = ws_wait_close(ws, 10000, why, sizeof(why));
	print_message("closed: %d \"%s\"\n", got, why);
	assert_int_equal(got, code);
	if (reason)
		assert_string_equal(why, reason);
	assert_true(gwfx_metric(&g, metric) == before + 1);
	itc_close(c);
	gwfx_close(&g, ws);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

static char *line_of(size_t len)
{
	char *l = malloc(len + 1);

	assert_non_null(l);
	memcpy(l, "PING :", 6);
	memset(l + 6, 'x', len - 6);
	l[len] = '\0';
	return l;
}

static void test_message_size_limit(void **state)
{
	itc_t *c;
	ws_client_t *ws = session(NULL, &c);
	char *at = line_of(GWFX_LINE_MAX), *over = line_of(GWFX_LINE_MAX + 1);
	(void)state;

	/* at the limit: relayed (the irc-client answers it), the session lives */
	assert_int_equal(ws_send(ws, false, at, GWFX_LINE_MAX), 0);
	itc_sendf(c, "PING :still-open");
	itc_expect(c, "PONG", "still-open");
	/* the same in three fragments */
	assert_int_equal(ws_send_frame(ws, WS_FRAG_FIRST_TEXT, at, 4000), 0);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_MORE, at + 4000, 4000), 0);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_LAST, at + 8000, GWFX_LINE_MAX - 8000), 0);
	itc_sendf(c, "PING :still-open-2");
	itc_expect(c, "PONG", "still-open-2");
	double before = gwfx_metric(&g, FRAMES_REFUSED("too_big"));
	assert_int_equal(ws_send(ws, false, over, GWFX_LINE_MAX + 1), 0);
	expect_close(ws, c, 1009, NULL, FRAMES_REFUSED("too_big"), before);

	/* one byte over, in fragments that are each small */
	ws = session(NULL, &c);
	before = gwfx_metric(&g, FRAMES_REFUSED("too_big"));
	assert_int_equal(ws_send_frame(ws, WS_FRAG_FIRST_TEXT, over, 4000), 0);
	ws_send_frame(ws, WS_FRAG_MORE, over + 4000, 4000);
	ws_send_frame(ws, WS_FRAG_LAST, over + 8000, GWFX_LINE_MAX + 1 - 8000);
	expect_close(ws, c, 1009, NULL, FRAMES_REFUSED("too_big"), before);

	/* binary frames have the same limit */
	ws = session("binary.ircv3.net", &c);
	before = gwfx_metric(&g, FRAMES_REFUSED("too_big"));
	assert_int_equal(ws_send(ws, true, over, GWFX_LINE_MAX + 1), 0);
	expect_close(ws, c, 1009, NULL, FRAMES_REFUSED("too_big"), before);
	free(at);
	free(over);
}

static void test_crlf_nul(void **state)
{
	static const struct {
		const char *data;
		size_t len;
	} bad[] = {
		{"PRIVMSG #x :a\r\nQUIT :injected", 29},
		{"PRIVMSG #x :a\nQUIT :injected", 28},
		{"PRIVMSG #x :a\rQUIT :injected", 28},
		{"PRIVMSG #x :a\0QUIT :injected", 28},
		{"PING :trailing\r\n", 16},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		itc_t *c;
		ws_client_t *ws = session(i % 2 ? "binary.ircv3.net" : NULL, &c);
		double before = gwfx_metric(&g, FRAMES_REFUSED("crlf_nul"));

		assert_int_equal(ws_send(ws, i % 2, bad[i].data, bad[i].len), 0);
		expect_close(ws, c, 1008, "line contains CR, LF or NUL", FRAMES_REFUSED("crlf_nul"),
			     before);
	}
}

static void test_invalid_utf8(void **state)
{
	static const char bad[] = "PRIVMSG #x :caf\xc3 \xff\xfe";
	itc_t *c;
	ws_client_t *ws;
	(void)state;

	/* in binary frames (binary.ircv3.net) any bytes but CR LF NUL pass */
	ws = session("binary.ircv3.net", &c);
	assert_int_equal(ws_send(ws, true, bad, sizeof(bad) - 1), 0);
	itc_sendf(c, "PING :binary-ok");
	itc_expect(c, "PONG", "binary-ok");
	itc_close(c);
	gwfx_close(&g, ws);
	/* in a text frame: 1007, whatever the subprotocol */
	static const char *const protos[] = {NULL, "text.ircv3.net", "binary.ircv3.net"};
	for (size_t i = 0; i < 3; i++) {
		ws = session(protos[i], &c);
		double before = gwfx_metric(&g, FRAMES_REFUSED("invalid_utf8"));
		assert_int_equal(ws_send(ws, false, bad, sizeof(bad) - 1), 0);
		expect_close(ws, c, 1007, NULL, FRAMES_REFUSED("invalid_utf8"), before);
	}
	/* split inside a multi-byte sequence across fragments is still valid */
	ws = session(NULL, &c);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_FIRST_TEXT, "PING :caf\xc3", 10), 0);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_LAST, "\xa9", 1), 0);
	itc_expect(c, "PONG", "caf\xc3\xa9");
	itc_close(c);
	gwfx_close(&g, ws);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

static void test_no_token_in_log(void **state)
{
	(void)state;
	assert_true(n_tokens > 10 && g.n_issued > 20);
	gwfx_assert_tokens_not_logged(&g);
	for (size_t i = 0; i < n_tokens; i++)
		if (gwfx_log_has(&g, tokens[i]))
			fail_msg("token %s is in the gateway log %s", tokens[i],
				 gwfx_gateway_log(&g));
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_not_an_upgrade, after_test),
		cmocka_unit_test_teardown(test_origin, after_test),
		cmocka_unit_test_teardown(test_no_token, after_test),
		cmocka_unit_test_teardown(test_unknown_subprotocol, after_test),
		cmocka_unit_test_teardown(test_unknown_token, after_test),
		cmocka_unit_test_teardown(test_expired_token, after_test),
		cmocka_unit_test_teardown(test_reused_token, after_test),
		cmocka_unit_test_teardown(test_auth_unavailable, after_test),
		cmocka_unit_test_teardown(test_concurrent_same_token, after_test),
		cmocka_unit_test_teardown(test_session_limits, after_test),
		cmocka_unit_test_teardown(test_message_size_limit, after_test),
		cmocka_unit_test_teardown(test_crlf_nul, after_test),
		cmocka_unit_test_teardown(test_invalid_utf8, after_test),
		cmocka_unit_test(test_no_token_in_log),
		cmocka_unit_test_prestate(gwfx_test_clean_stop, &g), /* last */
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
