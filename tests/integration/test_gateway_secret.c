/*
 * Private means invisible (issue 22, item 5), everything real: PostgreSQL,
 * eirc-auth, InspIRCd with eIRC's configuration, eirc-gateway and its
 * irc-clients. alice, a member of the private room #hideout (eirc-auth
 * `room add --private`, no name mask), joins it through the gateway as the
 * web client does; eve (a plain IRC client) and bob (a second web session),
 * neither a member, ask WHOIS alice, LIST, NAMES #hideout and WHO #hideout
 * and get nothing of the room, and eirc-auth's room API and /api/me name
 * it to bob nowhere. alice's browser cannot make it visible (MODE -s is
 * refused). A public room alice creates is listed to both, with alice in
 * its NAMES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/gateway_fixture.h"

#define PRIV "#hideout"
#define PUB  "#lobby"

static gwfx_t g;

static int setup(void **state)
{
	(void)state;
	if (gwfx_start(&g, NULL) < 0)
		return -1;
	gwfx_add_user(&g, "alice");
	gwfx_add_user(&g, "bob");
	if (fx_cli(&g.auth, NULL, NULL, 0, "room", "add", PRIV, "--private", NULL) != 0 ||
	    fx_cli(&g.auth, NULL, NULL, 0, "room", "member", "add", PRIV, "alice", NULL) != 0)
		return -1;
	return 0;
}

static int after_test(void **state)
{
	(void)state;
	return gwfx_cleanup(&g);
}

static int teardown(void **state)
{
	(void)state;
	if (g.auth.env)
		gwfx_stop(&g);
	return 0;
}

/* Sends line, reads up to the numeric `end`, and returns whether any line
 * of the answer holds needle. */
static bool answer_has(itc_t *c, const char *line, const char *end, const char *needle)
{
	bool seen = false;

	itc_sendf(c, "%s", line);
	for (;;) {
		assert_true(itc_next(c));
		if (getenv("SECRET_DEBUG"))
			print_message("  %s\n", c->line);
		if (itc_has(c, needle)) {
			print_message("%s -> %s\n", line, c->line);
			seen = true;
		}
		if (irc_msg_command_is(&c->msg, end))
			return seen;
	}
}

/* What a non-member may ask, and must see nothing of the private room in. */
static void assert_sees_nothing(itc_t *c)
{
	/* all asked before the verdict, so a failure names every leak */
	int leaks = answer_has(c, "WHOIS alice", "318", PRIV) + answer_has(c, "LIST", "323", PRIV) +
		    answer_has(c, "NAMES " PRIV, "366", "alice") +
		    answer_has(c, "WHO " PRIV, "315", "alice");
	assert_int_equal(leaks, 0);
	/* the topic of a room one is not in: "No such channel" */
	assert_false(answer_has(c, "TOPIC " PRIV, "403", "alice"));
}

static const char *access_of(const char *user)
{
	for (size_t i = 0; i < g.n_users; i++)
		if (strcmp(g.users[i], user) == 0)
			return g.access[i];
	fail_msg("unknown user %s", user);
	return NULL;
}

static long api_get(const char *user, const char *path, bool *out_named)
{
	char auth[160];
	const char *h[] = {auth, NULL};
	ht_resp_t r;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access_of(user));
	fx_http(&g.auth, false, "GET", path, h, NULL, 0, &r);
	*out_named = strstr(r.body, "hideout") != NULL;
	if (getenv("SECRET_DEBUG"))
		print_message("GET %s as %s: %ld %s\n", path, user, r.status, r.body);
	long status = r.status;
	ht_resp_free(&r);
	return status;
}

static void test_private_room_invisible(void **state)
{
	itc_t *a, *b, *e;
	bool named;

	(void)state;
	ws_client_t *wa = gwfx_open_registered(&g, "alice", NULL, &a);
	itc_sendf(a, "JOIN " PRIV);
	itc_expect(a, "JOIN", PRIV);
	itc_expect(a, "366", PRIV);

	e = itc_connect(srv_port(g.ircd));
	itc_register(e, "eve");
	assert_sees_nothing(e);

	ws_client_t *wb = gwfx_open_registered(&g, "bob", NULL, &b);
	assert_sees_nothing(b);

	/* alice, a member, does see it: secret ('@' in NAMES), herself in it */
	assert_true(answer_has(a, "NAMES " PRIV, "366", " @ " PRIV " "));
	assert_true(answer_has(a, "WHOIS alice", "318", PRIV));

	/* eirc-auth names it to bob nowhere, and answers as for no room */
	assert_int_equal(api_get("bob", "/api/rooms", &named), 200);
	assert_false(named);
	assert_int_equal(api_get("bob", "/api/rooms/%23hideout", &named), 404);
	assert_int_equal(api_get("bob", "/api/rooms/%23hideout/members", &named), 404);
	assert_false(named);
	assert_int_equal(api_get("bob", "/api/rooms/%23nosuchroom/members", &named), 404);
	assert_int_equal(api_get("bob", "/api/me", &named), 200);
	assert_false(named);
	assert_int_equal(api_get("alice", "/api/rooms/%23hideout/members", &named), 200);
	assert_int_equal(api_get("alice", "/api/rooms", &named), 200);
	assert_true(named);

	/* her browser cannot make the room visible */
	itc_sendf(a, "MODE " PRIV " -s");
	itc_expect(a, "482", PRIV);
	itc_sendf(a, "MODE " PRIV " +p-s");
	itc_expect(a, "482", PRIV);

	/* a public room alice creates is visible: listed, with her in NAMES */
	itc_sendf(a, "JOIN " PUB);
	itc_expect(a, "MODE", PUB " -s");
	assert_true(answer_has(e, "LIST", "323", PUB));
	assert_true(answer_has(b, "LIST", "323", PUB));
	assert_true(answer_has(b, "NAMES " PUB, "366", "@alice"));
	assert_true(answer_has(e, "WHOIS alice", "318", PUB));
	/* and the private one still is not */
	assert_sees_nothing(e);

	itc_close(e);
	itc_close(a);
	itc_close(b);
	gwfx_close(&g, wa);
	gwfx_close(&g, wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_private_room_invisible, after_test),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
