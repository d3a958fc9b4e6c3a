/*
 * Access changes reach live sessions on every gateway (issue 22, items 2
 * and 3): two eirc-gateway processes on one eirc-auth, one Redis (the
 * access bus, eirc:access) and one InspIRCd, with sessions on both.
 * gateway.access_recheck is 0, so only the push can explain what the
 * sessions see, and each must see it within 5 s (measured and printed):
 *   - `room member del` of a private room: both sessions get the server's
 *     PART (":Removed from the room"), CHATHISTORY of the room is refused
 *     (INVALID_TARGET, where it was MESSAGE_ERROR before: no history
 *     service here) and JOIN gets 473;
 *   - `user disable`: both sessions get "ERROR :Closing link: account
 *     disabled" and close 4001 "account disabled", and their irc-clients
 *     exit;
 *   - a refresh-token revoke (the web client's sign-out): both sessions of
 *     that login get ERROR and close 4001 "signed out", a session of another
 *     login of the same user stays, and a chat token issued before the
 *     sign-out is refused (close 4001 invalid_token);
 *   - a browser's own EIRC line is refused (421) and changes nothing;
 *   - the safety net: an account disabled straight in the database (no
 *     message on the bus, as when a PUBLISH is lost) is closed by a third
 *     gateway with access_recheck 1s within a few seconds, while a
 *     push-only gateway keeps its session of it open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "tests/integration/gateway_fixture.h"

/* The push must reach a session within this (the 5 s). */
#define PUSH_MS 5000
#define ROOM    "#private-ops"

static gwfx_t g1, g2, g3;

static const char gateway_yaml[] = "  access_recheck: 0\n";
/* The third gateway's: the recheck is all it has for a change the bus did
 * not carry. */
#define RECHECK_MS 1000
static const char recheck_yaml[] = "  access_recheck: 1s\n";

static int setup(void **state)
{
	char servers[128];

	(void)state;
	gwfx_opts_t o1 = {.gateway_yaml = gateway_yaml};
	if (gwfx_start_with(&g1, &o1) < 0)
		return -1;
	snprintf(servers, sizeof(servers), "    - host: 127.0.0.1\n      port: %d\n",
		 srv_port(g1.ircd));
	gwfx_opts_t o2 = {.base = &g1, .irc_servers = servers, .gateway_yaml = gateway_yaml};
	gwfx_opts_t o3 = {.base = &g1, .irc_servers = servers, .gateway_yaml = recheck_yaml};
	return gwfx_start_with(&g2, &o2) < 0 ? -1 : gwfx_start_with(&g3, &o3);
}

static int teardown(void **state)
{
	(void)state;
	if (g3.gw) /* test_clean_stop did not run (a failure, TEST_FILTER) */
		gwfx_stop(&g3);
	if (g2.gw)
		gwfx_stop(&g2);
	if (g1.auth.env)
		gwfx_stop(&g1);
	return 0;
}

static int per_test_cleanup(void **state)
{
	(void)state;
	return gwfx_cleanup(&g1) | gwfx_cleanup(&g2) | gwfx_cleanup(&g3);
}

/* Reads c until a line with cmd holding needle, within what is left of
 * PUSH_MS since t0; returns the milliseconds since t0. */
static uint64_t expect_pushed(itc_t *c, uint64_t t0, const char *cmd, const char *needle)
{
	uint64_t spent = clock_mono_ms() - t0;

	assert_true(spent < PUSH_MS);
	itc_expect_within(c, cmd, needle, (int)(PUSH_MS - spent));
	return clock_mono_ms() - t0;
}

/* Waits for the close within what is left of PUSH_MS since t0 and checks
 * its code and reason. */
static void expect_closed(ws_client_t *ws, uint64_t t0, int code, const char *reason)
{
	char why[128] = "";
	uint64_t spent = clock_mono_ms() - t0;

	assert_true(spent < PUSH_MS);
	assert_int_equal(ws_wait_close(ws, (int)(PUSH_MS - spent), why, sizeof(why)), code);
	assert_string_equal(why, reason);
}

static void cli(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	assert_int_equal(fx_cli(&g1.auth, NULL, NULL, 0, a, b, c, d, e, NULL), 0);
}

/* ---- item 2: a member removed ---- */

static void join_room(itc_t *c)
{
	itc_sendf(c, "JOIN " ROOM);
	itc_expect(c, "JOIN", ROOM);
	itc_expect(c, "366", ROOM);
}

/* ":<nick>!" of the session whose itc c just read its 001. */
static void own_prefix(const itc_t *c, char *buf, size_t cap)
{
	snprintf(buf, cap, ":%.*s!", (int)c->msg.params[0].len, c->msg.params[0].ptr);
}

static void test_member_removed(void **state)
{
	itc_t *c[2];
	ws_client_t *w[2];
	uint64_t t0, ms[2];
	char self[2][64];

	(void)state;
	gwfx_add_user(&g1, "alice");
	cli("room", "add", ROOM, "--private", NULL);
	cli("room", "member", "add", ROOM, "alice");
	w[0] = gwfx_open_registered(&g1, "alice", NULL, &c[0]);
	own_prefix(c[0], self[0], sizeof(self[0]));
	w[1] = gwfx_open_registered(&g2, "alice", NULL, &c[1]);
	own_prefix(c[1], self[1], sizeof(self[1]));
	for (int i = 0; i < 2; i++) {
		join_room(c[i]);
		/* a member may ask (no history service here: MESSAGE_ERROR) */
		itc_sendf(c[i], "CHATHISTORY LATEST " ROOM " * 10");
		itc_expect(c[i], "FAIL", "MESSAGE_ERROR");
	}

	t0 = clock_mono_ms();
	cli("room", "member", "del", ROOM, "alice");
	/* each its own PART (the other session's may come first) */
	for (int i = 0; i < 2; i++) {
		ms[i] = expect_pushed(c[i], t0, "PART", self[i]);
		assert_true(itc_has(c[i], ROOM) && itc_has(c[i], "Removed from the room"));
	}
	print_message("member removed: PART on gateway 1 after %llu ms, on gateway 2 after %llu "
		      "ms\n",
		      (unsigned long long)ms[0], (unsigned long long)ms[1]);
	for (int i = 0; i < 2; i++) {
		itc_sendf(c[i], "CHATHISTORY LATEST " ROOM " * 10");
		itc_expect(c[i], "FAIL", "INVALID_TARGET");
		itc_sendf(c[i], "JOIN " ROOM);
		itc_expect(c[i], "473", ROOM);
		itc_close(c[i]);
		gwfx_close(i ? &g2 : &g1, w[i]);
	}
}

/* ---- item 3: disabled, signed out ---- */

static void test_disabled(void **state)
{
	itc_t *c[2];
	ws_client_t *w[2];
	uint64_t t0, ms[2];

	(void)state;
	gwfx_add_user(&g1, "mallory");
	w[0] = gwfx_open_registered(&g1, "mallory", NULL, &c[0]);
	w[1] = gwfx_open_registered(&g2, "mallory", NULL, &c[1]);
	itc_sendf(c[0], "JOIN #general");
	itc_expect(c[0], "366", "#general");

	t0 = clock_mono_ms();
	cli("user", "disable", "mallory", NULL, NULL);
	for (int i = 0; i < 2; i++) {
		ms[i] = expect_pushed(c[i], t0, "ERROR", "Closing link: account disabled");
		expect_closed(w[i], t0, 4001, "account disabled");
	}
	print_message("account disabled: ERROR on gateway 1 after %llu ms, on gateway 2 after "
		      "%llu ms\n",
		      (unsigned long long)ms[0], (unsigned long long)ms[1]);
	for (int i = 0; i < 2; i++) {
		itc_close(c[i]);
		gwfx_close(i ? &g2 : &g1, w[i]);
	}
	/* the irc-clients QUIT and exit, as on a browser close */
	assert_true(gwfx_wait_children(&g1, 0, 10000));
	assert_true(gwfx_wait_children(&g2, 0, 10000));
}

/* A login of user: its access and refresh tokens (malloc'd). */
static void login(const char *user, char **out_access, char **out_refresh)
{
	ht_resp_t r;

	assert_int_equal(fx_login(&g1.auth, user, FX_PASSWORD, &r), 0);
	assert_int_equal(r.status, 200);
	*out_access = strdup(json_string_value(json_object_get(r.json, "access_token")));
	*out_refresh = strdup(json_string_value(json_object_get(r.json, "refresh_token")));
	ht_resp_free(&r);
}

/* A session on g with chat token tok; registered (*out_c) unless
 * out_c is NULL. */
static ws_client_t *open_with(gwfx_t *g, const char *tok, itc_t **out_c)
{
	char url[512];
	ws_opts_t o = {.origin = GWFX_ORIGIN};
	ws_refusal_t why;
	ws_client_t *ws = NULL;

	gwfx_url(g, tok, url, sizeof(url));
	assert_int_equal(ws_connect(url, &o, &ws, &why), 0);
	gwfx_track(g, ws);
	if (out_c) {
		*out_c = itc_from_ws(ws, false);
		itc_sendf(*out_c, "NICK ignored");
		itc_sendf(*out_c, "USER ignored 0 * :ignored");
		itc_expect_within(*out_c, "001", NULL, 20000);
	}
	return ws;
}

static void test_signed_out(void **state)
{
	char *access, *refresh, *other_access, *other_refresh, *tok[3];
	itc_t *c[2], *oc;
	ws_client_t *w[2], *ow, *late;
	uint64_t t0, ms[2];
	ht_resp_t r;
	char body[600];

	(void)state;
	gwfx_add_user(&g1, "carol");
	login("carol", &access, &refresh);
	login("carol", &other_access, &other_refresh); /* another login: stays */
	for (int i = 0; i < 3; i++)
		assert_non_null(tok[i] = fx_chat_token(&g1.auth, access));
	w[0] = open_with(&g1, tok[0], &c[0]);
	w[1] = open_with(&g2, tok[1], &c[1]);
	char *otok = fx_chat_token(&g1.auth, other_access);
	assert_non_null(otok);
	ow = open_with(&g2, otok, &oc);

	/* the web client's sign-out: its refresh token revoked (RFC 7009) */
	snprintf(body, sizeof(body), "client_id=eirc-web&token=%s", refresh);
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	t0 = clock_mono_ms();
	assert_int_equal(
		fx_http(&g1.auth, false, "POST", "/oauth/revoke", h, body, strlen(body), &r), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	for (int i = 0; i < 2; i++) {
		ms[i] = expect_pushed(c[i], t0, "ERROR", "Closing link: signed out");
		expect_closed(w[i], t0, 4001, "signed out");
	}
	print_message("signed out: ERROR on gateway 1 after %llu ms, on gateway 2 after %llu ms\n",
		      (unsigned long long)ms[0], (unsigned long long)ms[1]);
	/* the other login's session is alive */
	itc_sendf(oc, "PING :still-here");
	itc_expect(oc, "PONG", "still-here");
	/* a chat token issued before the sign-out is void */
	late = open_with(&g1, tok[2], NULL);
	char why[64] = "";
	assert_int_equal(ws_wait_close(late, 10000, why, sizeof(why)), 4001);
	assert_string_equal(why, "invalid_token");
	gwfx_close(&g1, late);
	itc_close(oc);
	gwfx_close(&g2, ow);
	for (int i = 0; i < 2; i++) {
		itc_close(c[i]);
		gwfx_close(i ? &g2 : &g1, w[i]);
	}
	for (int i = 0; i < 3; i++)
		free(tok[i]);
	free(otok);
	free(access);
	free(refresh);
	free(other_access);
	free(other_refresh);
}

/* ---- the control line is the gateway's ---- */

static void test_browser_eirc_refused(void **state)
{
	itc_t *c;
	ws_client_t *w;

	(void)state;
	gwfx_add_user(&g1, "dave");
	w = gwfx_open_registered(&g1, "dave", NULL, &c);
	itc_sendf(c, "EIRC ROOMS :" ROOM);
	itc_expect(c, "421", "EIRC");
	itc_sendf(c, "@+x=y eirc rooms :" ROOM);
	itc_expect(c, "421", "EIRC");
	/* nothing changed: a private room dave is not in stays closed */
	itc_sendf(c, "JOIN " ROOM);
	itc_expect(c, "473", ROOM);
	itc_close(c);
	gwfx_close(&g1, w);
}

/* ---- the safety net: gateway.access_recheck ---- */

static void test_recheck_without_push(void **state)
{
	itc_t *c1, *c3;
	ws_client_t *w1, *w3;
	uint64_t t0, ms;

	(void)state;
	gwfx_add_user(&g1, "trudy");
	w1 = gwfx_open_registered(&g1, "trudy", NULL, &c1);
	w3 = gwfx_open_registered(&g3, "trudy", NULL, &c3);
	t0 = clock_mono_ms();
	/* disabled behind eirc-auth's back: nothing is published */
	assert_int_equal(fx_sql(&g1.auth, "UPDATE users SET disabled = true WHERE nick = 'trudy'"),
			 0);
	itc_expect_within(c3, "ERROR", "Closing link: account disabled", RECHECK_MS + PUSH_MS);
	ms = clock_mono_ms() - t0;
	char why[128] = "";
	assert_int_equal(ws_wait_close(w3, PUSH_MS, why, sizeof(why)), 4001);
	assert_string_equal(why, "account disabled");
	print_message("disabled without a message: closed by the recheck after %llu ms\n",
		      (unsigned long long)ms);
	/* the push-only gateway knows nothing yet: its session still answers */
	itc_sendf(c1, "PING :still");
	itc_expect(c1, "PONG", "still");
	assert_false(ws_closed(w1));
	itc_close(c1);
	itc_close(c3);
	gwfx_close(&g1, w1);
	gwfx_close(&g3, w3);
}

/* The gateways and eirc-auth exit 0 on SIGTERM (every handle closed). */
static void test_clean_stop(void **state)
{
	(void)state;
	assert_int_equal(gwfx_stop(&g3), 0);
	assert_int_equal(gwfx_stop(&g2), 0);
	assert_int_equal(gwfx_stop(&g1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_browser_eirc_refused, per_test_cleanup),
		cmocka_unit_test_teardown(test_member_removed, per_test_cleanup),
		cmocka_unit_test_teardown(test_disabled, per_test_cleanup),
		cmocka_unit_test_teardown(test_signed_out, per_test_cleanup),
		cmocka_unit_test_teardown(test_recheck_without_push, per_test_cleanup),
		cmocka_unit_test(test_clean_stop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
