/*
 * eirc-auth: users, OAuth 2.0 tokens, single-use chat tokens, rooms, the
 * audit log, and the web client's files.
 *
 * main.c is the program's table for common/daemon (command line, config,
 * loop, signals) and its hooks: the admin commands (auth_admin.c), or the
 * migrations (blocking, before the loop) and then the service
 * (auth_service.c) behind the HTTP listeners (auth_http.c) until
 * SIGINT/SIGTERM.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth_admin.h"
#include "auth/auth_setup.h"
#include "auth/auth_http.h"
#include "auth/auth_migrate.h"
#include "auth/auth_room.h"
#include "auth/auth_service.h"
#include "common/daemon.h"
#include "common/irc_nick.h"
#include "common/log.h"

#define MIGRATE_ATTEMPTS 30 /* one per second while PostgreSQL starts */

/* The app of main(): what the hooks share. */
typedef struct auth_main {
	auth_service_t *svc;
	auth_http_t *http;
	bool stopping;
} auth_main_t;

/* Logs an error per room whose private flag its name contradicts
 * (auth_room.h): rooms made before the rule, or masks changed since. */
static void check_rooms(const eirc_config_t *cfg, PGconn *c)
{
	const eirc_config_irc_client_t *ic = &cfg->irc_client;
	PGresult *r = PQexec(c, "SELECT name, private FROM rooms ORDER BY name_folded");
	char why[AUTH_ROOM_WHY_MAX];

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("Failed to read the rooms to check them: %s", PQresultErrorMessage(r));
		PQclear(r);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (auth_room_check(ic->private_room_masks, ic->n_private_room_masks,
				    PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)[0] == 't', why,
				    sizeof(why)) < 0)
			log_error("Room check: %s (its private flag disagrees with the rule)", why);
	PQclear(r);
}

/* Logs an error per account whose name holds the nick suffix separator
 * (common/irc_nick.h), made before the rule: another account's second
 * session could take that name as its nick. nick_folded is RFC 1459
 * folded, so '\' is found as '|'. */
static void check_accounts(PGconn *c)
{
	const char sep[2] = {IRC_NICK_SEP, '\0'};
	const char *p[1] = {sep};
	PGresult *r = PQexecParams(c,
				   "SELECT id, nick FROM users WHERE strpos(nick_folded, $1) > 0"
				   " ORDER BY id",
				   1, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("Failed to read the accounts to check them: %s", PQresultErrorMessage(r));
		PQclear(r);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++)
		log_error("Account check: user %s (id %s) has '%c' (or '\\', the same letter "
			  "under IRC case mapping) in its name, the mark of a second session's "
			  "nick: another account's second session could take this name as its "
			  "nick; replace the account (user add, then user del)",
			  PQgetvalue(r, i, 1), PQgetvalue(r, i, 0), IRC_NICK_SEP);
	PQclear(r);
}

/* Blocking, before the loop: waits for PostgreSQL, applies migrations,
 * checks the rooms against the private-room rule and the account names
 * against the nick suffix. */
static int migrate_at_start(const eirc_config_t *cfg)
{
	PGconn *c = NULL;
	eirc_err_t err = {"?"};
	int n;

	for (int i = 0; i < MIGRATE_ATTEMPTS; i++) {
		if (auth_admin_connect(cfg, true, &c, &err) == 0)
			break;
		sleep(1);
	}
	if (!c) {
		log_error("Failed to connect to PostgreSQL at %s:%d: %s", cfg->auth.database.host,
			  cfg->auth.database.port, err.text);
		return -EIO;
	}
	n = auth_migrate(c, &err);
	if (n < 0)
		log_error("Failed to migrate the database: %s", err.text);
	else
		log_info("Database schema at version %d (%d migration(s) applied)",
			 auth_migrate_current(c), n);
	if (n >= 0 && !auth_admin_has_owner(cfg))
		log_warn("auth.database.owner is not set: the service role %s owns the schema "
			 "and could rewrite the audit log (ALTER TABLE ... DISABLE TRIGGER); "
			 "see docs/operations.md, \"PostgreSQL\"",
			 cfg->auth.database.user);
	else if (n >= 0 && (n = auth_migrate_grant(c, cfg->auth.database.user, &err)) < 0)
		log_error("Failed to grant the service role %s: %s", cfg->auth.database.user,
			  err.text);
	if (n >= 0) {
		check_rooms(cfg, c);
		check_accounts(c);
	}
	PQfinish(c);
	return n < 0 ? n : 0;
}

/* Starts closing everything; the loop ends once it is done. */
static void stop(void *app)
{
	auth_main_t *m = app;

	if (m->stopping)
		return;
	m->stopping = true;
	auth_http_close(m->http);
	auth_service_close(m->svc, NULL, NULL);
	m->svc = NULL;
}

static int start(void *app, eirc_daemon_t *d)
{
	auth_main_t *m = app;
	const eirc_config_t *cfg = eirc_daemon_config(d);
	uv_loop_t *loop = eirc_daemon_loop(d);
	int r;

	if ((r = migrate_at_start(cfg)) < 0)
		return r;
	if ((r = auth_service_new(loop, cfg, &m->svc)) < 0) {
		log_error("Failed to start the service: %s", strerror(-r));
		return r;
	}
	if ((r = auth_http_new(loop, m->svc, cfg, &m->http)) < 0) {
		log_error("Failed to start libwebsockets: %s", strerror(-r));
		stop(m);
		return r;
	}
	if ((r = auth_http_listen(m->http)) < 0) {
		log_error("Failed to listen on %s:%d / %s:%d: %s", cfg->auth.listen_address,
			  cfg->auth.listen_port, cfg->auth.internal_listen_address,
			  cfg->auth.internal_listen_port, strerror(-r));
		stop(m);
		return r;
	}
	log_info("Listening on http://%s:%d/ (internal http://%s:%d/)", cfg->auth.listen_address,
		 auth_http_port(m->http, AUTH_L_PUBLIC), cfg->auth.internal_listen_address,
		 auth_http_port(m->http, AUTH_L_INTERNAL));
	return 0;
}

static int end(void *app)
{
	auth_main_t *m = app;

	/* lws's handles are closed now: let it free its context */
	auth_http_free(m->http);
	m->http = NULL;
	return EIRC_EXIT_OK;
}

static const char *not_ready(void *app)
{
	auth_main_t *m = app;

	return m->svc ? auth_service_not_ready(m->svc) : "starting";
}

static int command(void *app, const eirc_config_t *cfg, int argc, char **argv)
{
	(void)app;
	return auth_admin_main(cfg, argc, argv, stdout, stderr);
}

/* What eirc-auth reads: eirc-auth.service loads only these secrets. */
static const char *const auth_keys[] = {"auth", "redis", "irc_client", "integrity", "log", NULL};

int main(int argc, char **argv)
{
	static const eirc_daemon_def_t def = {
		.prog = "eirc-auth",
		.about = "Without a command: apply migrations, then serve the public and\n"
			 "internal HTTP listeners of the config's auth section.\n",
		.keys = auth_keys,
		.sections = "auth, redis (the access bus, the checkpoints), irc_client "
			    "(private_room_masks), integrity (checkpoints, the audit log's), log. "
			    "See docs/api.md",
		.command = command,
		.command_usage = auth_admin_usage,
		.start = start,
		.stop = stop,
		.end = end,
		.not_ready = not_ready,
	};
	auth_main_t m = {.stopping = false};

	if (sodium_init() < 0) {
		fprintf(stderr, "eirc-auth: libsodium failed to initialise\n");
		return EIRC_EXIT_FAILURE;
	}
	/* setup makes the secrets the config names before it loads it */
	if (argc > 1 && strcmp(argv[1], "setup") == 0)
		return auth_setup_main(argc - 1, argv + 1, stdout, stderr);
	return eirc_daemon_main(&def, &m, argc, argv);
}
