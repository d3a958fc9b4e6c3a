/*
 * Migrations: applied on an empty database (by the daemon at start), then
 * a no-op on a migrated one (the `migrate` command and a daemon restart),
 * each recorded once in schema_migrations; the audit log refuses changes.
 * Also the ends of the process: the admin CLI and a daemon that cannot
 * listen (its ports taken) exit cleanly, which under ASan means nothing
 * leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/integration/auth_fixture.h"

static fx_t fx;

static void test_migrations(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(fx_start(&fx, NULL), 0);
	/* the daemon migrated the empty database at start */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM schema_migrations"), 4);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM oauth_clients"
					 " WHERE client_id = 'eirc-web'"),
			 1);
	/* again on the migrated database: nothing to do */
	assert_int_equal(fx_cli(&fx, NULL, out, sizeof(out), "migrate", NULL), 0);
	assert_non_null(strstr(out, "applied 0 migration(s); schema version 4"));
	assert_int_equal(fx_stop_daemon(&fx), 0);
	assert_int_equal(fx_start_daemon(&fx), 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM schema_migrations"), 4);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM oauth_clients"
					 " WHERE client_id = 'eirc-web'"),
			 1);
	/* the audit log is append-only */
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "room", "add", "#general", "--auto-join", NULL),
			 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log") >= 1);
	assert_int_equal(fx_sql(&fx, "DELETE FROM audit_log"), -1);
	assert_int_equal(fx_sql(&fx, "UPDATE audit_log SET event = 'x'"), -1);
	/* the admin CLI ends clean (under ASan a leak makes it abort) */
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "dave", "--autojoin",
				"#general,#help", "--password-env", "PW", NULL),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE"
					 " preferences->'autojoin' = '[\"#general\", \"#help\"]'"),
			 1);
	/* a second daemon on the same ports fails with 1 and cleans up
	 * (lws context freed, loop closed); the first keeps serving */
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, NULL), 1);
	{
		ht_resp_t r;
		int rc = fx_http(&fx, false, "GET", "/healthz", NULL, NULL, 0, &r);
		long st = r.status;
		ht_resp_free(&r);
		assert_int_equal(rc, 0);
		assert_int_equal(st, 200);
	}
	assert_int_equal(fx_stop(&fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
