/*
 * test_auth_limits: the failed-login limits of eirc-auth hold as
 * configured (issue 22, item 7) with two eirc-auth processes on one real
 * PostgreSQL. Per account: login_attempts_per_account failures of one
 * name, through either process and from any source address (127.0.0.x),
 * then 429 with Retry-After through both, even for the right password;
 * another account is unaffected, and a name nobody has gets the same
 * answers; attempts at the same time pass no more than one by one. Per address: in memory and
 * independent of the account limit. Behind a proxy (issue 24, item 6): the
 * address is X-Forwarded-For's only when the TCP peer is one of
 * auth.trusted_proxies, for the limits and the audit log alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net_addr.h"
#include "tests/integration/auth_fixture.h"

/* the limits of both processes, as LIMITS writes them */
#define PER_ACCOUNT 3 /* auth.login_attempts_per_account, per minute */
#define PER_IP      6 /* auth.login_attempts_per_ip */
#define LIMITS      "  login_attempts_per_account: 3\n  login_attempts_per_ip: 6\n"

/* The proxy the second process trusts (auth.trusted_proxies); the first
 * trusts none. */
#define PROXY   "127.0.5.1"
#define TRUSTED "  trusted_proxies: [\"" PROXY "\"]\n"

static fx_t fx, peer;

static int setup(void **state)
{
	(void)state;
	if (fx_start(&fx, LIMITS) < 0 || fx_start_peer(&fx, LIMITS TRUSTED, &peer) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", i ? "carol" : "bob",
			   "--password-env", "PW", NULL) != 0)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (peer.daemon)
		fx_stop_daemon(&peer);
	if (fx.env) /* test_clean_stop did not get that far */
		fx_stop(&fx);
	return 0;
}

/* One password grant through process p from address src: the status;
 * with out_retry, the Retry-After seconds (-1 when absent). */
static long login_fwd(fx_t *p, const char *src, const char *xff, const char *user,
		      const char *password, long *out_retry)
{
	ht_resp_t r;
	long st;
	const char *ra;

	p->source = src;
	p->forwarded_for = xff;
	assert_int_equal(fx_login(p, user, password, &r), 0);
	p->source = NULL;
	p->forwarded_for = NULL;
	st = r.status;
	if (st >= 400)
		assert_non_null(json_object_get(r.json, "error"));
	if (st == 400)
		assert_string_equal(json_string_value(json_object_get(r.json, "error")),
				    "invalid_grant");
	if (out_retry) {
		ra = strcasestr(r.headers, "\nretry-after: ");
		*out_retry = ra ? strtol(ra + 14, NULL, 10) : -1;
	}
	ht_resp_free(&r);
	return st;
}

static long login_via(fx_t *p, const char *src, const char *user, const char *password,
		      long *out_retry)
{
	return login_fwd(p, src, NULL, user, password, out_retry);
}

/* PER_ACCOUNT failures of `user` spread over both processes and three
 * addresses: each is 400 (the last reaches the limit); then 429 with
 * Retry-After (1..60 s) through either process, whatever the password. */
static void exhaust(const char *user, const char *net)
{
	fx_t *via[2] = {&fx, &peer};
	char src[32];
	long retry;

	for (int i = 0; i < PER_ACCOUNT; i++) {
		snprintf(src, sizeof(src), "%s.%d", net, 10 + i);
		assert_int_equal(login_via(via[i % 2], src, user, "wrong password", NULL), 400);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s.%d", net, 20 + i);
		assert_int_equal(login_via(via[i], src, user, "wrong password", &retry), 429);
		assert_true(retry >= 1 && retry <= 60);
		assert_int_equal(login_via(via[1 - i], src, user, FX_PASSWORD, &retry), 429);
		assert_true(retry >= 1 && retry <= 60);
	}
}

static void test_account_limit_shared(void **state)
{
	(void)state;
	exhaust("bob", "127.0.1");
	/* the name is case-folded: BOB is bob */
	assert_int_equal(login_via(&peer, "127.0.1.30", "BOB", FX_PASSWORD, NULL), 429);
	/* carol is another account: served through both, from the same addresses */
	assert_int_equal(login_via(&fx, "127.0.1.10", "carol", FX_PASSWORD, NULL), 200);
	assert_int_equal(login_via(&peer, "127.0.1.11", "carol", FX_PASSWORD, NULL), 200);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'login.locked'"
				    " AND detail->>'reason' = 'bad_password'") >= 1);
	/* a name nobody has is answered the same way: it tells nothing */
	exhaust("nobody", "127.0.2");
}

/* Attempts at the same time pass the limit no more than one by one (each
 * is counted before its password is checked, under the account's row
 * lock): 12 at once through one process, then 12 through the other. */
static void test_account_limit_concurrent(void **state)
{
	static const char *const h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	static const char body[] = "grant_type=password&client_id=eirc-web"
				   "&username=dave&password=wrong+password";
	char url[64];
	long st[2][12];
	int n400 = 0, n429 = 0;

	(void)state;
	for (int p = 0; p < 2; p++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/oauth/token",
			 p ? peer.port : fx.port);
		assert_int_equal(ht_request_parallel(&(ht_req_t){.url = url,
								 .headers = h,
								 .body = body,
								 .body_len = strlen(body)},
						     12, st[p]),
				 0);
	}
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 12; i++) {
			n400 += st[p][i] == 400;
			n429 += st[p][i] == 429;
		}
	assert_int_equal(n400, PER_ACCOUNT);
	assert_int_equal(n429, 24 - PER_ACCOUNT);
}

/* The per-address limit stays: PER_IP failures from one address, each for
 * another name (none near its account limit), lock that address out for
 * every name; carol logs in from elsewhere. */
static void test_address_limit_independent(void **state)
{
	char name[32];
	long retry;

	(void)state;
	for (int i = 0; i < PER_IP; i++) {
		snprintf(name, sizeof(name), "someone%d", i);
		assert_int_equal(login_via(&fx, "127.0.3.2", name, "wrong", NULL), 400);
	}
	assert_int_equal(login_via(&fx, "127.0.3.2", "carol", FX_PASSWORD, &retry), 429);
	assert_true(retry >= 1);
	assert_int_equal(login_via(&fx, "127.0.3.3", "carol", FX_PASSWORD, NULL), 200);
}

/* Behind the trusted proxy, each forwarded address has its own limit:
 * PER_IP failures forwarded for one address lock it out, and carol,
 * forwarded for another, logs in through the same proxy; the audit log
 * names the forwarded addresses, not the proxy. A peer that is not trusted
 * (another address, or a process trusting none) is itself the client
 * whatever it forwards, so a fresh X-Forwarded-For escapes nothing. */
static void test_forwarded_address(void **state)
{
	char name[32];

	(void)state;
	for (int i = 0; i < PER_IP; i++) {
		snprintf(name, sizeof(name), "fwd%d", i);
		assert_int_equal(login_fwd(&peer, PROXY, "203.0.113.7", name, "wrong", NULL), 400);
	}
	assert_int_equal(login_fwd(&peer, PROXY, "203.0.113.7", "carol", FX_PASSWORD, NULL), 429);
	/* the proxy forwards for many: another address is not locked out */
	assert_int_equal(
		login_fwd(&peer, PROXY, "198.51.100.1, 203.0.113.8", "carol", FX_PASSWORD, NULL),
		200);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event = 'login.ok'"
					 " AND client_ip = '203.0.113.8'"),
			 1);
	assert_int_equal(
		fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE event IN "
				"('login.failed', 'login.locked') AND client_ip = '203.0.113.7'"),
		PER_IP);
	assert_int_equal(
		fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE client_ip = '" PROXY "'"), 0);

	/* not trusted: the peer's own address counts, a new XFF every time */
	for (fx_t *p = &peer; p; p = p == &peer ? &fx : NULL) {
		const char *src = p == &peer ? "127.0.5.2" : PROXY;

		for (int i = 0; i < PER_IP; i++) {
			char xff[32];

			snprintf(name, sizeof(name), "spoof%d", i);
			snprintf(xff, sizeof(xff), "203.0.113.%d", 100 + i);
			assert_int_equal(login_fwd(p, src, xff, name, "wrong", NULL), 400);
		}
		assert_int_equal(login_fwd(p, src, "203.0.113.99", "carol", FX_PASSWORD, NULL),
				 429);
	}
}

/* X-Forwarded-For from the trusted proxy: NET_XFF_MAX bytes are read (the
 * right-most hop is the client), one more is refused 431 before any
 * password is checked. */
static void test_forwarded_limit(void **state)
{
	char xff[NET_XFF_MAX + 2];
	const char *tail = "203.0.113.9";
	size_t n = NET_XFF_MAX - strlen(tail);

	(void)state;
	memset(xff, ' ', n);
	memcpy(xff + n, tail, strlen(tail) + 1); /* exactly NET_XFF_MAX bytes */
	xff[0] = '1';                            /* a first hop: "1   ...203.0.113.9" */
	assert_int_equal(strlen(xff), NET_XFF_MAX);
	assert_int_equal(login_fwd(&peer, PROXY, xff, "carol", FX_PASSWORD, NULL), 200);
	memmove(xff + 1, xff, NET_XFF_MAX + 1);
	assert_int_equal(strlen(xff), NET_XFF_MAX + 1);
	assert_int_equal(login_fwd(&peer, PROXY, xff, "carol", FX_PASSWORD, NULL), 431);
}

static void test_clean_stop(void **state)
{
	(void)state;
	assert_int_equal(fx_stop_daemon(&peer), 0);
	assert_int_equal(fx_stop(&fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_limit_shared),
		cmocka_unit_test(test_account_limit_concurrent),
		cmocka_unit_test(test_address_limit_independent),
		cmocka_unit_test(test_forwarded_address),
		cmocka_unit_test(test_forwarded_limit),
		cmocka_unit_test(test_clean_stop), /* last */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
