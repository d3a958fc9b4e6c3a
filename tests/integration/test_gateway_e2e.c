/*
 * eirc-gateway end to end, everything real (PostgreSQL, eirc-auth,
 * InspIRCd with WEBIRC, eirc-gateway, one eirc-irc-client per session):
 * two users log in, get chat tokens, open WebSockets as browsers, see 001,
 * join a channel, talk both ways and leave, over text.ircv3.net and over
 * binary.ircv3.net (frames of the negotiated kind both ways), each
 * irc-client holding none of the gateway's descriptors; then the
 * subprotocol negotiation: the client's order of preference wins, and no
 * offer means no Sec-WebSocket-Protocol answer and text frames; the
 * client address from a trusted proxy's X-Forwarded-For is the host other
 * users see (WEBIRC); a private room is invisible to non-members on IRC
 * and in eirc-auth's API, a public one listed. After each test every
 * session is gone and no irc-client is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/gateway_fixture.h"

#define TEXT   "text.ircv3.net"
#define BINARY "binary.ircv3.net"

static gwfx_t g;

static int setup(void **state)
{
	(void)state;
	/* the tests' own address is a trusted proxy, so a session can come
	 * "from" another address through X-Forwarded-For */
	if (gwfx_start(&g, "  trusted_proxies: [\"127.0.0.1\"]\n") < 0)
		return -1;
	gwfx_add_user(&g, "alice");
	gwfx_add_user(&g, "bob");
	return 0;
}

/* After each test: whatever a failed test left open is closed. */
static int after_test(void **state)
{
	(void)state;
	return gwfx_cleanup(&g);
}

static int teardown(void **state)
{
	(void)state;
	if (g.auth.env) /* gwfx_test_clean_stop did not run (TEST_FILTER) */
		gwfx_stop(&g);
	return 0;
}

/* Every session closed: no irc-client left, the gauges back at 0. */
static void assert_all_gone(void)
{
	assert_true(gwfx_wait_children(&g, 0, 20000));
	for (int i = 0; i < 200 && gwfx_metric(&g, "eirc_gateway_sessions_open") != 0; i++)
		usleep(50 * 1000);
	assert_true(gwfx_metric(&g, "eirc_gateway_sessions_open") == 0);
}

/* The objects (sockets, pipes, files) behind a process's descriptors
 * from first_fd on, as readlink shows them ("socket:[1234]"). */
static size_t fd_targets(pid_t pid, int first_fd, char targets[][64], size_t cap)
{
	char dir[64], path[384];
	size_t n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) && n < cap;) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || e->d_name[0] == '.' || fd < first_fd)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t len = readlink(path, targets[n], 63);
		if (len > 0) {
			targets[n][len] = '\0';
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Sockets and pipes are named by inode; anon_inode names and paths are
 * not unique to one open object. */
static bool unique_object(const char *target)
{
	return strncmp(target, "socket:[", 8) == 0 || strncmp(target, "pipe:[", 6) == 0;
}

/* An irc-client gets its socketpair end on fd 3 and nothing else of the
 * gateway's: none of its descriptors above 2 is one the gateway holds
 * (stdio is the gateway's log on purpose). */
static void assert_nothing_inherited(void)
{
	static char gw_t[256][64], ch_t[64][64];
	pid_t kids[8];
	size_t n_gw = fd_targets(gwfx_gateway_pid(&g), 0, gw_t, 256);
	size_t n_kids = gwfx_children(&g, kids, 8);

	assert_true(n_kids > 0);
	for (size_t k = 0; k < n_kids && k < 8; k++) {
		size_t n = fd_targets(kids[k], 3, ch_t, 64);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n_gw; j++)
				if (strcmp(ch_t[i], gw_t[j]) == 0 && unique_object(ch_t[i]))
					fail_msg("irc-client %d holds the gateway's %s",
						 (int)kids[k], ch_t[i]);
	}
}

/* A PING answered in a frame of the expected kind. */
static void assert_frame_kind(ws_client_t *ws, bool binary)
{
	const char *m;
	size_t len;
	bool is_binary;

	assert_int_equal(ws_send(ws, binary, "PING :kind", 10), 0);
	for (;;) {
		assert_int_equal(ws_recv(ws, 10000, &m, &len, &is_binary), 0);
		if (strstr(m, "PONG") && strstr(m, "kind"))
			break;
	}
	assert_int_equal(is_binary, binary);
}

static void chat(const char *protocol)
{
	itc_t *a, *b;
	ws_client_t *wa = gwfx_open_registered(&g, "alice", protocol, &a);
	ws_client_t *wb = gwfx_open_registered(&g, "bob", protocol, &b);
	bool binary = strcmp(protocol, BINARY) == 0;

	assert_string_equal(ws_protocol(wa), protocol);
	assert_string_equal(ws_protocol(wb), protocol);
	assert_true(gwfx_metric(&g, "eirc_gateway_sessions_open") == 2);
	assert_int_equal(gwfx_children(&g, NULL, 0), 2);
	assert_nothing_inherited();
	assert_frame_kind(wa, binary);
	itc_sendf(a, "JOIN #room");
	itc_expect(a, "JOIN", "#room");
	itc_sendf(b, "JOIN #room");
	itc_expect(b, "JOIN", "#room");
	itc_expect(a, "JOIN", "bob");
	itc_sendf(a, "PRIVMSG #room :hello bob, caf\xc3\xa9 over %s", protocol);
	itc_expect(b, "PRIVMSG", "hello bob");
	assert_true(itc_has(b, ":alice!"));
	assert_true(itc_param_has(&b->msg, 1, "caf\xc3\xa9"));
	itc_sendf(b, "PRIVMSG #room :hello alice");
	itc_expect(a, "PRIVMSG", "hello alice");
	assert_true(itc_has(a, ":bob!"));
	itc_sendf(a, "PART #room :bye");
	itc_expect(b, "PART", "alice");
	itc_close(a);
	itc_close(b);
	gwfx_close(&g, wa);
	gwfx_close(&g, wb);
	assert_all_gone();
}

static void test_chat_text(void **state)
{
	(void)state;
	chat(TEXT);
}

static void test_chat_binary(void **state)
{
	(void)state;
	chat(BINARY);
}

static void test_real_client_ip(void **state)
{
	char url[512], *tok = gwfx_token(&g, "alice");
	const char *h[] = {"X-Forwarded-For: 203.0.113.9, 198.51.100.77", NULL};
	ws_opts_t o = {.origin = GWFX_ORIGIN, .headers = h};
	ws_client_t *wa = NULL, *wb;
	itc_t *a, *b;
	(void)state;

	/* the address the trusted proxy saw (the last hop) reaches the IRC
	 * server through WEBIRC: the other user sees it as alice's host */
	gwfx_url(&g, tok, url, sizeof(url));
	free(tok);
	assert_int_equal(ws_connect(url, &o, &wa, NULL), 0);
	gwfx_track(&g, wa);
	a = itc_from_ws(wa, false);
	itc_sendf(a, "NICK x");
	itc_sendf(a, "USER x 0 * :x");
	itc_expect_within(a, "001", NULL, 20000);
	wb = gwfx_open_registered(&g, "bob", NULL, &b);
	itc_sendf(a, "JOIN #ip");
	itc_expect(a, "JOIN", "#ip");
	itc_sendf(b, "JOIN #ip");
	itc_expect(b, "JOIN", "#ip");
	itc_sendf(a, "PRIVMSG #ip :where am I");
	itc_expect(b, "PRIVMSG", "where am I");
	print_message("bob sees: %s\n", b->line);
	assert_true(itc_has(b, "@198.51.100.77 "));
	itc_close(a);
	itc_close(b);
	gwfx_close(&g, wa);
	gwfx_close(&g, wb);
	assert_all_gone();
}

static void negotiate(const char *offer, const char *want, bool binary)
{
	itc_t *c;
	ws_client_t *ws = gwfx_open_registered(&g, "alice", offer, &c);

	assert_string_equal(ws_protocol(ws), want);
	assert_frame_kind(ws, binary);
	itc_close(c);
	gwfx_close(&g, ws);
}

static void test_subprotocol_order(void **state)
{
	(void)state;
	negotiate(BINARY ", " TEXT, BINARY, true);
	negotiate(TEXT ", " BINARY, TEXT, false);
	negotiate(BINARY, BINARY, true);
	negotiate(TEXT, TEXT, false);
	/* none offered: no protocol header in the answer, text frames */
	negotiate(NULL, "", false);
	assert_all_gone();
	gwfx_assert_tokens_not_logged(&g);
}

#define PRIV "#private-hideout"
#define PUB  "#lobby"

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
	*out_named = strstr(r.body, "private-hideout") != NULL;
	if (getenv("SECRET_DEBUG"))
		print_message("GET %s as %s: %ld %s\n", path, user, r.status, r.body);
	long status = r.status;
	ht_resp_free(&r);
	return status;
}

/*
 * Private means invisible (issue 22): alice, a member of the private room
 * #private-hideout (eirc-auth `room add --private`), joins it through
 * the gateway; eve (a plain IRC client) and bob (a second web session),
 * neither a member, get nothing of it from WHOIS alice, LIST, NAMES, WHO or
 * TOPIC, nor from eirc-auth's room API and /api/me. alice's browser cannot
 * make it visible (MODE -s is refused). A public room alice creates is
 * listed to both, with alice in its NAMES, and so is one eve created (born
 * secret) once alice joins it.
 */
static void test_private_room_invisible(void **state)
{
	itc_t *a, *b, *e;
	bool named;

	(void)state;
	assert_int_equal(fx_cli(&g.auth, NULL, NULL, 0, "room", "add", PRIV, "--private", NULL), 0);
	assert_int_equal(
		fx_cli(&g.auth, NULL, NULL, 0, "room", "member", "add", PRIV, "alice", NULL), 0);
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
	assert_int_equal(api_get("bob", "/api/rooms/%23private-hideout", &named), 404);
	assert_int_equal(api_get("bob", "/api/rooms/%23private-hideout/members", &named), 404);
	assert_false(named);
	assert_int_equal(api_get("bob", "/api/rooms/%23nosuchroom/members", &named), 404);
	assert_int_equal(api_get("bob", "/api/me", &named), 200);
	assert_false(named);
	assert_int_equal(api_get("alice", "/api/rooms/%23private-hideout/members", &named), 200);
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
	/* a public room someone else created (eve, like the logger with its
	 * channels) is made visible by the first member's irc-client */
	itc_sendf(e, "JOIN #plaza");
	itc_expect(e, "366", "#plaza");
	assert_false(answer_has(b, "LIST", "323", "#plaza"));
	itc_sendf(a, "JOIN #plaza");
	itc_expect(a, "MODE", "#plaza -s");
	assert_true(answer_has(b, "LIST", "323", "#plaza"));
	/* and the private one still is not */
	assert_sees_nothing(e);

	itc_close(e);
	itc_close(a);
	itc_close(b);
	gwfx_close(&g, wa);
	gwfx_close(&g, wb);
}

/*
 * Issue 22 item 1: a private room is private on IRC and over HTTP alike.
 * On main, `room add '#board' --private` succeeded and the irc-client,
 * going by irc_client.private_room_masks, let a non-member JOIN it and
 * page its history while eirc-auth's API hid it. Now eirc-auth refuses
 * that room; '#private-board' (matching a mask) is private on both paths
 * (bob, no member: JOIN 473, CHATHISTORY INVALID_TARGET, the API 404), and
 * '#board' is public on both (JOIN accepted, the API lists it).
 */
static void test_private_room_by_name(void **state)
{
	char out[1024];
	itc_t *b;
	bool named;

	(void)state;
	assert_int_equal(
		fx_cli_both(&g.auth, out, sizeof(out), "room", "add", "#board", "--private", NULL),
		1);
	assert_non_null(strstr(out, "#board cannot be private"));
	assert_non_null(strstr(out, "irc_client.private_room_masks"));
	assert_int_equal(fx_cli(&g.auth, NULL, NULL, 0, "room", "add", "#board", NULL), 0);
	assert_int_equal(
		fx_cli(&g.auth, NULL, NULL, 0, "room", "add", "#private-board", "--private", NULL),
		0);
	assert_int_equal(fx_cli(&g.auth, NULL, NULL, 0, "room", "member", "add", "#private-board",
				"alice", NULL),
			 0);
	ws_client_t *wb = gwfx_open_registered(&g, "bob", NULL, &b);
	/* IRC: the private room is refused to bob, its history too */
	itc_sendf(b, "JOIN #private-board");
	itc_expect(b, "473", "#private-board");
	itc_sendf(b, "CHATHISTORY LATEST #private-board * 20");
	itc_expect(b, "FAIL", "INVALID_TARGET");
	/* HTTP: the same room does not exist for him */
	assert_int_equal(api_get("bob", "/api/rooms/%23private-board", &named), 404);
	assert_int_equal(api_get("alice", "/api/rooms/%23private-board", &named), 200);
	/* the public one is open on both paths */
	itc_sendf(b, "JOIN #board");
	itc_expect(b, "JOIN", "#board");
	assert_int_equal(api_get("bob", "/api/rooms/%23board", &named), 200);
	itc_close(b);
	gwfx_close(&g, wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_chat_text, after_test),
		cmocka_unit_test_teardown(test_chat_binary, after_test),
		cmocka_unit_test_teardown(test_subprotocol_order, after_test),
		cmocka_unit_test_teardown(test_real_client_ip, after_test),
		cmocka_unit_test_teardown(test_private_room_invisible, after_test),
		cmocka_unit_test_teardown(test_private_room_by_name, after_test),
		cmocka_unit_test_prestate(gwfx_test_clean_stop, &g), /* last */
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
