/*
 * eirc-auth's probes and metrics (docs/api.md, "Health, readiness and
 * metrics"), against a real PostgreSQL:
 *   - /healthz (liveness) answers 200 on both listeners while the process
 *     serves, also with the database down;
 *   - /readyz answers 200 with a database connection, 503 with a reason
 *     once PostgreSQL is gone, 200 again once it is back;
 *   - /metrics on the internal listener only: eirc_auth_ready follows
 *     /readyz, eirc_auth_requests_total counts each answer by route and
 *     status (the sample exactly one more after one more request).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/auth_fixture.h"

static fx_t fx;

static int setup(void **state)
{
	(void)state;
	return fx_start(&fx, NULL);
}

static int teardown(void **state)
{
	(void)state;
	if (fx.env)
		fx_stop(&fx);
	return 0;
}

/* The status of GET path (body copied into body when not NULL). */
static long get(bool internal, const char *path, char *body, size_t cap)
{
	ht_resp_t r;
	long st;

	fx_http(&fx, internal, "GET", path, NULL, NULL, 0, &r);
	st = r.status;
	if (body)
		snprintf(body, cap, "%s", r.body ? r.body : "");
	ht_resp_free(&r);
	return st;
}

/* The value of one sample line of /metrics ("name{labels}"); -1 absent. */
static double metric(const char *sample)
{
	static char text[256 * 1024];
	size_t n = strlen(sample);

	assert_int_equal(get(true, "/metrics", text, sizeof(text)), 200);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, sample, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* Polls /readyz until it answers want (up to 20 s); the last status. */
static long wait_ready(long want, char *body, size_t cap)
{
	long st = 0;

	for (int i = 0; i < 200 && (st = get(true, "/readyz", body, cap)) != want; i++)
		usleep(100 * 1000);
	return st;
}

static void test_ready_with_database(void **state)
{
	char body[512];
	(void)state;

	assert_int_equal(get(false, "/healthz", NULL, 0), 200);
	assert_int_equal(get(true, "/healthz", NULL, 0), 200);
	assert_int_equal(get(false, "/readyz", body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"db_connections\""));
	assert_int_equal(get(true, "/readyz", NULL, 0), 200);
	assert_true(metric("eirc_auth_ready") == 1);
	assert_true(metric("eirc_auth_db_pool_size") == 4);
	assert_true(metric("eirc_auth_db_connections") >= 1);
	/* metrics are for the internal listener only */
	assert_int_equal(get(false, "/metrics", NULL, 0), 404);
}

static void test_requests_counted(void **state)
{
	const char *s = "eirc_auth_requests_total{route=\"readyz\",code=\"200\"}";
	double before = metric(s);
	(void)state;

	assert_true(before >= 1);
	assert_int_equal(get(true, "/readyz", NULL, 0), 200);
	assert_true(metric(s) == before + 1);
	assert_int_equal(get(false, "/api/nothing-here", NULL, 0), 404);
	assert_true(metric("eirc_auth_requests_total{route=\"not_found\",code=\"404\"}") >= 1);
}

static void test_not_ready_without_database(void **state)
{
	char body[512];
	(void)state;

	assert_int_equal(srv_stop(fx.pg), 0);
	assert_int_equal(wait_ready(503, body, sizeof(body)), 503);
	assert_non_null(strstr(body, "no database connection"));
	/* alive all the same */
	assert_int_equal(get(false, "/healthz", NULL, 0), 200);
	assert_int_equal(get(true, "/healthz", NULL, 0), 200);
	assert_true(metric("eirc_auth_ready") == 0);
	assert_true(metric("eirc_auth_db_connections") == 0);
	assert_int_equal(srv_restart(fx.pg), 0);
	assert_int_equal(wait_ready(200, NULL, 0), 200);
	assert_true(metric("eirc_auth_ready") == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_with_database), cmocka_unit_test(test_requests_counted),
		cmocka_unit_test(test_not_ready_without_database),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx), /* last */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
