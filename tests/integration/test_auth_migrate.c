/*
 * Migrations: applied on an empty database (by the daemon at start), then
 * a no-op on a migrated one (the `migrate` command and a daemon restart),
 * each recorded once in schema_migrations; the audit log refuses changes,
 * and the service role eirc-auth serves as can neither change its rows nor
 * switch its trigger off (the schema belongs to the owner role, which
 * applies the migrations); a table of another role stops `migrate`.
 * Account names holding the nick-suffix separator are refused by the CLI
 * and named at start-up. Also the ends of the process: the admin CLI and a daemon that cannot
 * listen (its ports taken) exit cleanly, which under ASan means nothing
 * leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/auth_fixture.h"

static fx_t fx;

/* Account names: '|' marks a second session's nick (common/irc_nick.h:
 * mallory|2), so the CLI refuses a name holding it, or '\' (the same
 * letter under RFC 1459 case mapping), with exit 1 and the reason; one
 * made before the rule is named in an error line at start-up. */
static void check_account_names(void)
{
	char out[512], cmd[2048];

	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "user", "add", "mallory|2", NULL), 1);
	assert_non_null(strstr(out, "NICK must not contain '|'"));
	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "user", "add", "mal\\lory", NULL), 1);
	assert_non_null(strstr(out, "NICK must not contain '|'"));
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE nick LIKE 'mal%'"), 0);
	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "user", "add", "mallory_2", NULL), 0);
	assert_int_equal(fx_sql(&fx, "INSERT INTO users (nick, nick_folded) VALUES"
				     " ('old|timer', 'old|timer'), ('Back\\slash', 'back|slash')"),
			 0);
	assert_int_equal(fx_stop_daemon(&fx), 0);
	assert_int_equal(fx_start_daemon(&fx), 0);
	snprintf(cmd, sizeof(cmd),
		 "grep -qF 'Account check: user old|timer (id ' '%s' &&"
		 " grep -qF 'Account check: user Back\\\\slash (id ' '%s' &&" /* the log writes '\'
										 as '\\' */
		 " test $(grep -c 'Account check:' '%s') = 2",
		 fx.log, fx.log, fx.log);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "tail -20 '%s' >&2", fx.log);
		(void)!system(cmd);
		fail_msg("no \"Account check\" line per account with '|' or '\\'");
	}
	assert_int_equal(fx_sql(&fx, "DELETE FROM users WHERE strpos(nick_folded, '|') > 0"), 0);
}

static void test_migrations(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(fx_start(&fx, NULL), 0);
	/* the daemon migrated the empty database at start */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM schema_migrations"), 6);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM oauth_clients"
					 " WHERE client_id = 'eirc-web'"),
			 1);
	/* again on the migrated database: nothing to do */
	assert_int_equal(fx_cli(&fx, NULL, out, sizeof(out), "migrate", NULL), 0);
	assert_non_null(strstr(out, "applied 0 migration(s); schema version 6"));
	assert_int_equal(fx_stop_daemon(&fx), 0);
	assert_int_equal(fx_start_daemon(&fx), 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM schema_migrations"), 6);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM oauth_clients"
					 " WHERE client_id = 'eirc-web'"),
			 1);
	/* the audit log is append-only */
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "room", "add", "#general", "--auto-join", NULL),
			 0);
	assert_true(fx_sql_int(&fx, "SELECT count(*) FROM audit_log") >= 1);
	assert_int_equal(fx_sql(&fx, "DELETE FROM audit_log"), -1);
	assert_int_equal(fx_sql(&fx, "UPDATE audit_log SET event = 'x'"), -1);
	/* and the service role (fx.db connects as eirc, as eirc-auth serves)
	 * cannot switch the trigger off, nor take the table, nor empty it:
	 * the schema belongs to eirc_owner, which only migrations use */
	const char *const owner_only[] = {
		"ALTER TABLE audit_log DISABLE TRIGGER USER",
		"ALTER TABLE audit_log DISABLE TRIGGER ALL",
		"ALTER TABLE audit_log OWNER TO eirc",
		"TRUNCATE audit_log",
		"DROP TABLE audit_log",
		"CREATE TABLE audit_log_copy (x int)",
		"CREATE TRIGGER t BEFORE INSERT ON audit_log FOR EACH ROW "
		"EXECUTE FUNCTION eirc_audit_append_only()",
		"INSERT INTO schema_migrations (version, name) VALUES (99, 'x')",
	};
	long rows = fx_sql_int(&fx, "SELECT count(*) FROM audit_log");
	for (size_t i = 0; i < sizeof(owner_only) / sizeof(owner_only[0]); i++)
		assert_int_equal(fx_sql(&fx, owner_only[i]), -1);
	assert_int_equal(fx_sql(&fx, "DELETE FROM audit_log"), -1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log"), rows);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM pg_tables WHERE schemaname = "
					 "'public' AND tableowner <> 'eirc_owner'"),
			 0);
	/* what the service does it still may: write the log, read it */
	assert_int_equal(fx_sql(&fx, "INSERT INTO audit_log (event, actor) VALUES "
				     "('test.insert', 'test')"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log"), rows + 1);
	/* a table some other role owns (a database from before the owner
	 * role): the owner refuses to go on and says what to run */
	assert_int_equal(srv_pg_exec(fx.pg, "eirc",
				     "CREATE TABLE stray (x int); ALTER TABLE stray OWNER TO eirc"),
			 0);
	assert_int_equal(fx_cli_both(&fx, out, sizeof(out), "migrate", NULL), 1);
	assert_non_null(strstr(out, "stray"));
	assert_non_null(strstr(out, "REASSIGN OWNED BY"));
	assert_int_equal(srv_pg_exec(fx.pg, "eirc", "DROP TABLE stray"), 0);
	assert_int_equal(fx_cli(&fx, NULL, out, sizeof(out), "migrate", NULL), 0);
	/* the admin CLI ends clean (under ASan a leak makes it abort) */
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "dave", "--autojoin",
				"#general,#help", "--password-env", "PW", NULL),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE"
					 " preferences->'autojoin' = '[\"#general\", \"#help\"]'"),
			 1);
	check_account_names();
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
