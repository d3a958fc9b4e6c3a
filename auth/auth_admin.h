/*
 * auth_admin: the operator's command line, `eirc-auth user|room|client|
 * migrate ...`, so users, rooms and OAuth clients are set up without SQL.
 *
 * It talks to PostgreSQL with blocking libpq (a CLI has no loop), always
 * with parameters, and writes an audit row for every change (actor
 * "cli:<login>"). Secrets never come from argv: a password is read from
 * stdin (--password-stdin), from an environment variable (--password-env
 * VAR), or generated and printed once. Client secrets are generated and
 * printed once; only their SHA-256 is stored.
 */
#ifndef EIRC_AUTH_ADMIN_H
#define EIRC_AUTH_ADMIN_H

#include <stdio.h>

#include <libpq-fe.h>

#include <stdbool.h>

#include "common/err.h"
#include "config/config.h"

/*
 * Connects to the configured database (blocking), as the service role
 * (auth.database.user), or as the owner role when owner is true and
 * auth.database.owner is set (migrations and grants). Returns 0 and
 * *out_conn, or -EIO with libpq's message in out_err.
 */
int auth_admin_connect(const eirc_config_t *cfg, bool owner, PGconn **out_conn,
		       eirc_err_t *out_err);

/* True when auth.database.owner names a role other than the service's. */
bool auth_admin_has_owner(const eirc_config_t *cfg);

/*
 * Runs one admin command: argv[0] is "user", "room", "client" or
 * "migrate". Output to out, errors to err. Returns a process exit status
 * (0 ok, 1 failed, 2 usage).
 */
int auth_admin_main(const eirc_config_t *cfg, int argc, char **argv, FILE *out, FILE *err);

/* Prints the admin commands' usage. */
void auth_admin_usage(FILE *out);

#endif
