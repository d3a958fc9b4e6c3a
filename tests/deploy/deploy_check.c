/*
 * deploy_check: what a user and an auditor do against a deployed eIRC,
 * through its front door only (nginx: HTTPS and WSS, a test CA). The
 * deployment test (tests/deploy/run.sh) runs it inside the container's
 * network namespace, one step at a time, between what it does to the
 * host (reboot, backup, wipe, restore, upgrade):
 *
 *   deploy_check <step>
 *
 * chat    alice and bob sign in, open chat sessions, join DEPLOY_ROOM;
 *         alice says DEPLOY_TEXT, bob sees it; bob answers in a direct
 *         message, alice sees it
 * replay  DEPLOY_TEXT is in bob's CHATHISTORY of the room and in the HTTP
 *         history API (GET /v1/rooms/{room}/messages)
 * export  the auditor's export of the room (GET /v1/export) holds it
 * kill    alice and bob in sessions; DEPLOY_KILL_CMD kills bob's
 *         irc-client (SIGKILL); bob's session ends, alice's goes on, and a
 *         new session of bob chats with her
 *
 * Environment: DEPLOY_HOST (the site's name, e.g. chat.eirc.test),
 * DEPLOY_ADDR (the address it is reached at, 127.0.0.1), DEPLOY_CA (the
 * test CA, PEM), DEPLOY_ROOM, DEPLOY_TEXT, DEPLOY_ALICE_PASSWORD,
 * DEPLOY_BOB_PASSWORD, DEPLOY_AUDITOR, DEPLOY_AUDITOR_PASSWORD,
 * DEPLOY_KILL_CMD (kill only).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "tests/harness/http_test.h"
#include "tests/harness/irc_testclient.h"
#include "tests/harness/ws_client.h"

/* How long a step waits for what the archive does behind the chat (the
 * logger's write, the shipper's next batch). */
#define DEPLOY_ARCHIVE_WAIT_S 60

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("deploy_check: %s is not set", name);
	return v;
}

/* https://HOST<path> */
static void url_of(const char *path, char *buf, size_t cap)
{
	snprintf(buf, cap, "https://%s%s", env("DEPLOY_HOST"), path);
}

/* HOST:443:ADDR, for curl's resolve list */
static const char *resolve(void)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s:443:%s", env("DEPLOY_HOST"), env("DEPLOY_ADDR"));
	return buf;
}

/* Sends one request to the site; fails the test when no answer came. */
static void site(const char *method, const char *path, const char *const *headers, const char *body,
		 ht_resp_t *out)
{
	char url[1024];

	url_of(path, url, sizeof(url));
	ht_req_t req = {
		.method = method,
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.cafile = env("DEPLOY_CA"),
		.resolve = resolve(),
	};
	if (ht_request(&req, out) < 0)
		fail_msg("%s %s: %s", method ? method : "GET", url, out->error);
}

/* The OAuth 2.0 password grant of the web client: a malloc'd access token. */
static char *sign_in(const char *nick, const char *password)
{
	char body[1024], *n = curl_escape(nick, 0), *p = curl_escape(password, 0);
	const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	ht_resp_t r;

	snprintf(body, sizeof(body),
		 "grant_type=password&client_id=eirc-web&username=%s&password=%s", n, p);
	curl_free(n);
	curl_free(p);
	site("POST", "/oauth/token", hdrs, body, &r);
	json_t *at = r.json ? json_object_get(r.json, "access_token") : NULL;
	if (r.status != 200 || !json_is_string(at))
		fail_msg("sign-in of %s: %ld %s", nick, r.status, r.body);
	char *token = strdup(json_string_value(at));
	ht_resp_free(&r);
	print_message("%s signed in over HTTPS\n", nick);
	return token;
}

/* An authorization header for token, in buf. */
static const char *bearer(const char *token, char *buf, size_t cap)
{
	snprintf(buf, cap, "Authorization: Bearer %s", token);
	return buf;
}

typedef struct {
	ws_client_t *ws;
	itc_t *c;
	char nick[64];
} sess_t;

/* A chat session as the web client opens one: a chat token, then WSS to
 * /chat through nginx with the site's Origin, then 001. */
static void open_session(sess_t *s, const char *nick, const char *password)
{
	char *at = sign_in(nick, password), auth[2048], url[2048], origin[300];
	const char *const hdrs[] = {bearer(at, auth, sizeof(auth)), NULL};
	ht_resp_t r;
	ws_refusal_t ref;

	site("POST", "/api/chat-token", hdrs, "", &r);
	json_t *t = r.json ? json_object_get(r.json, "chat_token") : NULL;
	if (r.status != 200 || !json_is_string(t))
		fail_msg("chat token of %s: %ld %s", nick, r.status, r.body);
	snprintf(url, sizeof(url), "wss://%s:443/chat?chat_token=%s", env("DEPLOY_ADDR"),
		 json_string_value(t));
	ht_resp_free(&r);
	free(at);
	snprintf(origin, sizeof(origin), "https://%s", env("DEPLOY_HOST"));
	ws_opts_t o = {
		.origin = origin,
		.protocols = "text.ircv3.net",
		.cafile = env("DEPLOY_CA"),
		.host = env("DEPLOY_HOST"),
		.timeout_ms = 30000,
	};
	int rc = ws_connect(url, &o, &s->ws, &ref);
	if (rc < 0)
		fail_msg("WSS upgrade of %s: %s (HTTP %d %s; %s)", nick, strerror(-rc), ref.status,
			 ref.body, ref.error);
	s->c = itc_from_ws(s->ws, false);
	itc_sendf(s->c, "CAP LS 302");
	itc_sendf(s->c, "CAP REQ :batch draft/chathistory server-time message-tags");
	itc_sendf(s->c, "CAP END");
	itc_expect_within(s->c, "001", NULL, 30000);
	snprintf(s->nick, sizeof(s->nick), "%.*s", (int)s->c->msg.params[0].len,
		 s->c->msg.params[0].ptr);
	print_message("%s has a chat session over WSS (IRC nick %s)\n", nick, s->nick);
}

static void close_session(sess_t *s)
{
	itc_close(s->c);
	ws_free(s->ws);
}

static void join(sess_t *s, const char *room)
{
	itc_sendf(s->c, "JOIN %s", room);
	itc_expect_within(s->c, "366", room, 20000);
}

/* ---- steps ---- */

static void test_chat(void **state)
{
	const char *room = env("DEPLOY_ROOM"), *text = env("DEPLOY_TEXT");
	char dm[300];
	sess_t a, b;

	(void)state;
	open_session(&a, "alice", env("DEPLOY_ALICE_PASSWORD"));
	open_session(&b, "bob", env("DEPLOY_BOB_PASSWORD"));
	join(&a, room);
	join(&b, room);
	itc_sendf(a.c, "PRIVMSG %s :%s", room, text);
	itc_expect(b.c, "PRIVMSG", text);
	snprintf(dm, sizeof(dm), "re: %s", text);
	itc_sendf(b.c, "PRIVMSG %s :%s", a.nick, dm);
	itc_expect(a.c, "PRIVMSG", dm);
	print_message("alice and bob chatted in %s and in a direct message\n", room);
	close_session(&a);
	close_session(&b);
}

/* True when the body holds text (the step texts have no character JSON
 * or CSV would escape). */
static bool body_has(const ht_resp_t *r, const char *text)
{
	return r->body && strstr(r->body, text);
}

static void test_replay(void **state)
{
	const char *room = env("DEPLOY_ROOM"), *text = env("DEPLOY_TEXT");
	char path[512], auth[2048], *er = curl_escape(room, 0), *at;
	sess_t b;
	ht_resp_t r;

	(void)state;
	open_session(&b, "bob", env("DEPLOY_BOB_PASSWORD"));
	join(&b, room);
	itc_sendf(b.c, "CHATHISTORY LATEST %s * 100", room);
	itc_expect(b.c, "PRIVMSG", text);
	print_message("CHATHISTORY over WSS replays the message\n");
	close_session(&b);

	at = sign_in("bob", env("DEPLOY_BOB_PASSWORD"));
	const char *const hdrs[] = {bearer(at, auth, sizeof(auth)), NULL};
	snprintf(path, sizeof(path), "/v1/rooms/%s/messages?limit=100", er);
	site("GET", path, hdrs, NULL, &r);
	if (r.status != 200 || !body_has(&r, text))
		fail_msg("GET %s: %ld %s", path, r.status, r.body);
	print_message("GET %s over HTTPS holds the message\n", path);
	ht_resp_free(&r);
	free(at);
	curl_free(er);
}

static void test_export(void **state)
{
	const char *room = env("DEPLOY_ROOM"), *text = env("DEPLOY_TEXT");
	char path[512], auth[2048], *er = curl_escape(room, 0);
	char *at = sign_in(env("DEPLOY_AUDITOR"), env("DEPLOY_AUDITOR_PASSWORD"));
	const char *const hdrs[] = {bearer(at, auth, sizeof(auth)), NULL};
	ht_resp_t r;

	(void)state;
	snprintf(path, sizeof(path), "/v1/export?room=%s&format=ndjson", er);
	/* the shipper sends the archive to Elasticsearch in batches */
	for (int i = 0;; i++) {
		site("GET", path, hdrs, NULL, &r);
		if (r.status == 200 && body_has(&r, text))
			break;
		if (i == DEPLOY_ARCHIVE_WAIT_S)
			fail_msg("GET %s: %ld %s", path, r.status, r.body);
		ht_resp_free(&r);
		sleep(1);
	}
	print_message("the auditor's export holds the message (%zu bytes of NDJSON)\n", r.len);
	ht_resp_free(&r);
	free(at);
	curl_free(er);
}

static void test_kill(void **state)
{
	const char *room = env("DEPLOY_ROOM");
	sess_t a, b, b2;
	int rc;

	(void)state;
	open_session(&a, "alice", env("DEPLOY_ALICE_PASSWORD"));
	join(&a, room);
	open_session(&b, "bob", env("DEPLOY_BOB_PASSWORD"));
	join(&b, room);
	rc = system(env("DEPLOY_KILL_CMD"));
	if (rc != 0)
		fail_msg("DEPLOY_KILL_CMD exited %d", rc);
	rc = ws_wait_close(b.ws, 20000, NULL, 0);
	if (rc < 0)
		fail_msg("bob's session did not end after its irc-client was killed");
	print_message("bob's irc-client killed with SIGKILL: his session closed (%d)\n", rc);
	itc_sendf(a.c, "PRIVMSG %s :still here", room);
	open_session(&b2, "bob", env("DEPLOY_BOB_PASSWORD"));
	join(&b2, room);
	itc_sendf(a.c, "PRIVMSG %s :after the kill", room);
	itc_expect(b2.c, "PRIVMSG", "after the kill");
	print_message("alice's session went on; bob's new session chats with her\n");
	close_session(&a);
	itc_close(b.c);
	ws_free(b.ws);
	close_session(&b2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chat),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_kill),
	};
	char filter[64];

	if (argc != 2 || !strstr(" chat replay export kill ", argv[1]) || strchr(argv[1], ' ') ||
	    !*argv[1]) {
		fputs("usage: deploy_check chat|replay|export|kill\n", stderr);
		return 2;
	}
	snprintf(filter, sizeof(filter), "test_%s", argv[1]);
	cmocka_set_test_filter(filter);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests_name("deploy", tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
