/*
 * auth_migrate: applies the embedded migrations. See auth_migrate.h.
 */
#include "auth/auth_migrate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MIGRATE_PREPARE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				      " version integer PRIMARY KEY,"
				      " name text NOT NULL,"
				      " applied_at timestamptz NOT NULL DEFAULT now())";

static int set_err(eirc_err_t *out_err, const char *what, PGconn *c)
{
	const char *msg = PQerrorMessage(c);
	size_t n = strlen(msg);

	/* libpq messages end with a newline */
	if (n > 0 && msg[n - 1] == '\n')
		n--;
	return eirc_err_set(out_err, -EIO, "%s: %.*s", what, (int)n, msg);
}

static bool exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Inside the transaction: true when version v is already applied. */
static int applied(PGconn *c, int v)
{
	char vs[16];
	const char *p[1] = {vs};
	PGresult *r;
	int n;

	snprintf(vs, sizeof(vs), "%d", v);
	r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p, NULL,
			 NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -EIO;
	}
	n = PQntuples(r);
	PQclear(r);
	return n > 0;
}

static int record(PGconn *c, const auth_migration_t *m)
{
	char vs[16];
	const char *p[2] = {vs, m->name};
	PGresult *r;
	bool ok;

	snprintf(vs, sizeof(vs), "%d", m->version);
	r = PQexecParams(c,
			 "INSERT INTO schema_migrations (version, name) "
			 "VALUES ($1, $2)",
			 2, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 0 : -EIO;
}

/* One migration in one transaction; 1 applied, 0 already there, -EIO. */
static int apply_one(PGconn *c, const auth_migration_t *m, eirc_err_t *out_err)
{
	char lock[96];
	int a;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", AUTH_MIGRATE_LOCK);
	if (!exec_ok(c, "BEGIN") || !exec_ok(c, lock) || !exec_ok(c, MIGRATE_PREPARE))
		goto fail;
	a = applied(c, m->version);
	if (a < 0)
		goto fail;
	if (a == 1)
		return exec_ok(c, "COMMIT") ? 0 : set_err(out_err, m->name, c);
	if (!exec_ok(c, m->sql) || record(c, m) < 0 || !exec_ok(c, "COMMIT"))
		goto fail;
	return 1;
fail:
	set_err(out_err, m->name, c);
	exec_ok(c, "ROLLBACK");
	return -EIO;
}

int auth_migrate(PGconn *conn, eirc_err_t *out_err)
{
	int n = 0;

	for (size_t i = 0; i < auth_migrations_count; i++) {
		int r = apply_one(conn, &auth_migrations[i], out_err);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

int auth_migrate_grant(PGconn *owner, const char *service_role, eirc_err_t *out_err)
{
	static const char grant[] =
		"DO $$DECLARE svc text := %s; t text; BEGIN "
		"EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %%I TO %%I', "
		"current_database(), svc); "
		"EXECUTE format('GRANT USAGE ON SCHEMA public TO %%I', svc); "
		"EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %%I', svc); "
		"EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
		"public TO %%I', svc); "
		"EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "
		"public FROM %%I', svc); "
		"EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %%I', "
		"svc); "
		"EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %%I', svc); "
		"EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM %%I', "
		"svc); "
		"FOREACH t IN ARRAY eirc_append_only_tables() LOOP "
		"EXECUTE format('REVOKE UPDATE, DELETE ON %%I FROM %%I', t, svc); "
		"END LOOP; END$$";
	char *lit = PQescapeLiteral(owner, service_role, strlen(service_role));
	char sql[sizeof(grant) + 256];
	PGresult *r;

	if (!lit)
		return set_err(out_err, "quoting the service role", owner);
	/* a table of another role cannot be granted from here, and its owner
	 * could still rewrite it: say who must hand it over */
	r = PQexec(owner, "SELECT string_agg(DISTINCT tableowner, ', '), "
			  "string_agg(tablename, ', ' ORDER BY tablename) FROM pg_tables "
			  "WHERE schemaname = 'public' AND tableowner <> current_user");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int e = set_err(out_err, "listing the tables", owner);
		PQclear(r);
		PQfreemem(lit);
		return e;
	}
	if (!PQgetisnull(r, 0, 0)) {
		int e = eirc_err_set(out_err, -EPERM,
				     "tables %s belong to %s, not to the owner role: as a "
				     "PostgreSQL superuser run REASSIGN OWNED BY <that role> TO "
				     "<auth.database.owner> in this database, then start again",
				     PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfreemem(lit);
		return e;
	}
	PQclear(r);
	snprintf(sql, sizeof(sql), grant, lit);
	PQfreemem(lit);
	r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		int e = set_err(out_err, "granting the service role", owner);
		PQclear(r);
		return e;
	}
	PQclear(r);
	return 0;
}

int auth_migrate_current(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT COALESCE(max(version), 0) FROM "
				   "schema_migrations");
	int v = -EIO;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else if (PQresultStatus(r) == PGRES_FATAL_ERROR)
		v = 0; /* no table yet */
	PQclear(r);
	return v;
}
