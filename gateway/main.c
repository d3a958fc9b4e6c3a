/*
 * eirc-gateway: the WebSocket endpoint browsers connect to. Each session
 * consumes a chat token at eirc-auth and gets its own eirc-irc-client.
 *
 * main.c is the program's table for common/daemon (command line, config,
 * log, loop, signals) and its hooks: the descriptor limit, then gw_server
 * until SIGTERM/SIGINT has drained and ended every session
 * (docs/gateway.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gateway/gw_server.h"
#include "gateway/gw_spawn.h"

/* Descriptors our parent left open without close-on-exec must not reach
 * the irc-clients: mark every one above stderr close-on-exec. */
static void cloexec_inherited(void)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		log_warn("Failed to mark inherited descriptors close-on-exec: %s, ignoring",
			 strerror(errno));
}

/* 10,000 sessions need two descriptors each (WebSocket, socketpair). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("Failed to raise RLIMIT_NOFILE: %s, ignoring", strerror(errno));
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	log_info("RLIMIT_NOFILE %llu (about %llu sessions)", (unsigned long long)rl.rlim_cur,
		 (unsigned long long)(rl.rlim_cur / GW_FDS_PER_SESSION));
}

/* This program's path: eirc-irc-client is found next to it. */
static void self_exe(char self[PATH_MAX])
{
	ssize_t n = readlink("/proc/self/exe", self, PATH_MAX - 1);

	self[n > 0 ? n : 0] = '\0';
}

/* app: the gw_server_t * of main() */
static int start(void *app, eirc_daemon_t *d)
{
	gw_server_t **server = app;
	const eirc_config_t *cfg = eirc_daemon_config(d);
	char self[PATH_MAX];
	eirc_err_t err = {""};
	int r;

	self_exe(self);
	cloexec_inherited();
	raise_nofile();
	r = gw_server_new(eirc_daemon_loop(d), cfg, eirc_daemon_config_path(d), self, server, &err);
	if (r < 0) {
		log_error("Failed to start: %s", err.text[0] ? err.text : strerror(-r));
		return r;
	}
	if ((r = gw_server_listen(*server)) < 0) {
		log_error("Failed to listen on %s:%d: %s", cfg->gateway.listen_address,
			  cfg->gateway.listen_port, strerror(-r));
		gw_server_shutdown(*server, false);
	}
	return r;
}

static int reload(void *app, const eirc_config_t *cfg, eirc_err_t *out_err)
{
	char self[PATH_MAX];

	self_exe(self);
	return gw_server_reload_sessions(*(gw_server_t **)app, cfg, self, out_err);
}

/* systemd's READY=1 waits for what /readyz says: eirc-auth reachable. */
static const char *not_ready(void *app)
{
	return gw_server_not_ready(*(gw_server_t **)app);
}

static void stop(void *app)
{
	gw_server_shutdown(*(gw_server_t **)app, true);
}

static int end(void *app)
{
	gw_server_free(*(gw_server_t **)app);
	return EIRC_EXIT_OK;
}

/* What the gateway reads, and what its irc-clients read (it hands them
 * those ${NAME} values): eirc-gateway.service loads only these secrets. */
static const char *const gateway_keys[] = {
	"gateway", "auth.internal_secret", "irc_client",  "redis",
	"log",     "history.session_key",  GW_CHILD_KEYS, NULL};

int main(int argc, char **argv)
{
	static const eirc_daemon_def_t def = {
		.prog = "eirc-gateway",
		.about =
			"Serves WebSocket sessions on /chat (plus /healthz, /readyz and /metrics)\n"
			"on the listeners of the config's gateway section; each session runs\n"
			"one eirc-irc-client. SIGTERM/SIGINT drain it (gateway.drain_seconds),\n"
			"then end every session with close 1012.\n",
		.keys = gateway_keys,
		.sections = "gateway, auth (internal_secret), irc_client (sandbox_user),\n"
			    "redis (the access bus), log.\n"
			    "See docs/gateway.md",
		.start = start,
		.stop = stop,
		.end = end,
		.reload = reload,
		.not_ready = not_ready,
		.reload_applies = "the log section now; new sessions get the new config, "
				  "running ones and the gateway's own settings keep theirs",
		.keep_config_text = true, /* handed to every irc-client (fd 5) */
	};
	gw_server_t *server = NULL;

	return eirc_daemon_main(&def, &server, argc, argv);
}
