/*
 * eirc-auth: users, OAuth 2.0 tokens, single-use chat tokens, rooms, the
 * audit log, and the web client's files.
 *
 * main.c only wires things: it reads the config, runs the admin commands
 * (auth_admin.c), or applies the migrations (blocking, before the loop) and
 * then runs the service (auth_service.c) behind the HTTP listeners
 * (auth_http.c) on one libuv loop until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "auth/auth_admin.h"
#include "auth/auth_http.h"
#include "auth/auth_migrate.h"
#include "auth/auth_service.h"
#include "common/log.h"
#include "config/config.h"

#define MIGRATE_ATTEMPTS 30 /* one per second while PostgreSQL starts */

typedef struct daemon_state {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	auth_service_t *svc;
	auth_http_t *http;
	bool stopping;
} daemon_state_t;

static void usage(FILE *out)
{
	fputs("Usage: eirc-auth [--config FILE] [COMMAND ...]\n"
	      "Without a command: apply migrations, then serve the public and\n"
	      "internal HTTP listeners of the config's auth section.\n\n"
	      "Options:\n"
	      "  -c, --config FILE      configuration (default $EIRC_CONFIG or\n"
	      "                         config/eirc.yaml)\n"
	      "      --check-config FILE  validate FILE, print the effective config\n"
	      "  -h, --help             this help\n"
	      "  -V, --version          print the version\n\n", out);
	auth_admin_usage(out);
}

/* Blocking, before the loop: waits for PostgreSQL, applies migrations. */
static int migrate_at_start(const eirc_config_t *cfg)
{
	PGconn *c = NULL;
	char *err = NULL;
	int n;

	for (int i = 0; i < MIGRATE_ATTEMPTS; i++) {
		free(err);
		err = NULL;
		if (auth_admin_connect(cfg, &c, &err) == 0)
			break;
		sleep(1);
	}
	if (!c) {
		log_error("Failed to connect to PostgreSQL at %s:%d: %s",
			  cfg->auth.database.host, cfg->auth.database.port,
			  err ? err : "?");
		free(err);
		return -EIO;
	}
	n = auth_migrate(c, &err);
	if (n < 0)
		log_error("Failed to migrate the database: %s", err ? err : "?");
	else
		log_info("Database schema at version %d (%d migration(s) applied)",
			 auth_migrate_current(c), n);
	free(err);
	PQfinish(c);
	return n < 0 ? n : 0;
}

/* Starts closing everything; uv_run() in serve() returns once it is done. */
static void stop(daemon_state_t *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	auth_http_close(d->http);
	auth_service_close(d->svc, NULL, NULL);
	d->svc = NULL;
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	daemon_state_t *d = s->data;

	if (!d->stopping)
		log_info("Signal %d: stopping", signum);
	stop(d);
}

static int serve(const eirc_config_t *cfg)
{
	daemon_state_t d = { .stopping = false };
	int r, rc;

	if ((r = uv_loop_init(&d.loop)) < 0)
		return r;
	if ((r = auth_service_new(&d.loop, cfg, &d.svc)) < 0) {
		log_error("Failed to start the service: %s", strerror(-r));
		uv_loop_close(&d.loop);
		return r;
	}
	if ((r = auth_http_new(&d.loop, d.svc, cfg, &d.http)) < 0) {
		log_error("Failed to start libwebsockets: %s", strerror(-r));
		auth_service_close(d.svc, NULL, NULL);
		uv_run(&d.loop, UV_RUN_DEFAULT);
		uv_loop_close(&d.loop);
		return r;
	}
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	d.sigint.data = d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	if ((r = auth_http_listen(d.http)) < 0) {
		log_error("Failed to listen on %s:%d / %s:%d: %s",
			  cfg->auth.listen_address, cfg->auth.listen_port,
			  cfg->auth.internal_listen_address,
			  cfg->auth.internal_listen_port, strerror(-r));
		stop(&d);
	} else {
		log_info("Listening on http://%s:%d/ (internal http://%s:%d/)",
			 cfg->auth.listen_address,
			 auth_http_port(d.http, AUTH_L_PUBLIC),
			 cfg->auth.internal_listen_address,
			 auth_http_port(d.http, AUTH_L_INTERNAL));
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	/* lws's handles are closed now: let it free its context */
	auth_http_free(d.http);
	d.http = NULL;
	rc = uv_loop_close(&d.loop);
	if (rc < 0)
		log_error("Handles left open at exit: %s", uv_strerror(rc));
	else if (r == 0)
		log_info("Stopped");
	return r < 0 ? r : rc;
}

static const char *default_config(void)
{
	const char *env = getenv("EIRC_CONFIG");
	return env && *env ? env : "config/eirc.yaml";
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = default_config();
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': return eirc_config_check_main(optarg, stdout, stderr);
		case 'h': usage(stdout); return 0;
		case 'V': printf("eirc-auth %s\n", EIRC_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "eirc-auth: libsodium failed to initialise\n");
		return 1;
	}
	if (eirc_config_load(path, &cfg, &errs) < 0) {
		if (errs)
			eirc_config_errors_print(errs, stderr);
		else
			fprintf(stderr, "eirc-auth: cannot load %s\n", path);
		eirc_config_errors_free(errs);
		return 1;
	}
	eirc_config_log_setup(cfg, "eirc-auth");
	if (optind < argc)
		rc = auth_admin_main(cfg, argc - optind, argv + optind, stdout, stderr);
	else
		rc = migrate_at_start(cfg) < 0 || serve(cfg) < 0 ? 1 : 0;
	eirc_config_free(cfg);
	return rc;
}
