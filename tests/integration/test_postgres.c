/*
 * A real PostgreSQL from the harness: initdb as the postgres user, loopback
 * only, password authentication, a role and database for eIRC, data that
 * survives a restart, and a restart after kill -9 (crash recovery).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "scripts/stack/launch.h"

static srv_env_t *env;
static srv_t *pg;

static int setup(void **state)
{
	(void)state;
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || srv_postgres_start(env, NULL, &pg) < 0)
		return -1;
	return srv_pg_create_db(pg, "eirc", "eirc", "it's a \"test\" password");
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

static PGconn *connect_as(const char *user, const char *password)
{
	char port[16];
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	const char *v[] = {"127.0.0.1", port, "eirc", user, password, NULL};

	snprintf(port, sizeof(port), "%d", srv_port(pg));
	return PQconnectdbParams(k, v, 0);
}

static char *query1(PGconn *c, const char *sql)
{
	static char out[256];
	PGresult *r = PQexec(c, sql);

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static void test_app_role_reads_and_writes(void **state)
{
	(void)state;
	PGconn *c = connect_as("eirc", "it's a \"test\" password");
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, nick text);"
				"INSERT INTO t VALUES (1, 'Zoë') ON CONFLICT DO NOTHING");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	assert_string_equal(query1(c, "SELECT nick FROM t WHERE id = 1"), "Zoë");
	assert_string_equal(query1(c, "SHOW server_encoding"), "UTF8");
	assert_string_equal(query1(c, "SHOW listen_addresses"), "127.0.0.1");
	PQfinish(c);
}

static void test_wrong_password_refused(void **state)
{
	(void)state;
	PGconn *c = connect_as("eirc", "wrong");
	assert_int_equal(PQstatus(c), CONNECTION_BAD);
	assert_non_null(strstr(PQerrorMessage(c), "password authentication failed"));
	PQfinish(c);
}

static void test_data_survives_restart_and_crash(void **state)
{
	(void)state;
	assert_int_equal(srv_stop(pg), 0);
	assert_int_equal(srv_restart(pg), 0);
	PGconn *c = connect_as("eirc", "it's a \"test\" password");
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_string_equal(query1(c, "SELECT nick FROM t WHERE id = 1"), "Zoë");
	PQfinish(c);

	/* kill -9: the next start recovers from the WAL. */
	assert_int_equal(srv_kill(pg, SIGKILL), 0);
	assert_int_equal(srv_restart(pg), 0);
	c = connect_as("eirc", "it's a \"test\" password");
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_string_equal(query1(c, "SELECT count(*) FROM t"), "1");
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_role_reads_and_writes),
		cmocka_unit_test(test_wrong_password_refused),
		cmocka_unit_test(test_data_survives_restart_and_crash),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
