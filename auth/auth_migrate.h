/*
 * auth_migrate: the versioned schema of eirc-auth and the code that applies
 * it.
 *
 * Migrations are auth/migrations/NNN_name.sql, embedded in the binary at
 * build time (embed_migrations.cmake), applied in version order. Each runs
 * in its own transaction together with its row in schema_migrations, under a
 * transaction-level advisory lock, so two instances starting at once apply
 * each migration exactly once, and a migrated database is left as it is.
 *
 * This is the one place eirc-auth uses libpq in blocking mode: it runs
 * before the event loop starts (daemon start-up, `eirc-auth migrate`).
 */
#ifndef EIRC_AUTH_MIGRATE_H
#define EIRC_AUTH_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/err.h"

typedef struct auth_migration {
	int version;
	const char *name; /* "001_schema" */
	const char *sql;
} auth_migration_t;

/* The embedded migrations, in version order. */
extern const auth_migration_t auth_migrations[];
extern const size_t auth_migrations_count;

/* Advisory lock key of the migration step ("eirc" in ASCII). */
#define AUTH_MIGRATE_LOCK 0x65697263

/*
 * Applies every embedded migration not yet recorded in schema_migrations.
 * Returns the number applied (>= 0), or -EIO; then out_err (may be NULL)
 * names the migration and gives PostgreSQL's error.
 */
int auth_migrate(PGconn *conn, eirc_err_t *out_err);

/*
 * Run by the owner role after auth_migrate: checks that the owner owns
 * every table of the schema, then grants the service role (auth.database.
 * user) what the service needs: SELECT, INSERT, UPDATE, DELETE on every
 * table but INSERT and SELECT only on the append-only ones
 * (eirc_append_only_tables()) and SELECT only on schema_migrations, the
 * sequences, the functions. Idempotent; run at every start, so a table a
 * new migration adds is granted at once. -EPERM when a table belongs to
 * another role (a database migrated before the owner existed: out_err
 * says how a superuser hands it over), -EIO on any other failure.
 */
int auth_migrate_grant(PGconn *owner, const char *service_role, eirc_err_t *out_err);

/* The highest version recorded in the database, 0 when none, or -EIO. */
int auth_migrate_current(PGconn *conn);

#endif
