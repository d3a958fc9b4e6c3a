/*
 * eirc-gateway: the WebSocket endpoint browsers connect to. Each session
 * consumes a chat token at eirc-auth and gets its own eirc-irc-client.
 *
 * main.c only wires things: command line, config, log, the file limit,
 * then gw_server on one libuv loop until SIGTERM/SIGINT has ended every
 * session (docs/gateway.md).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "common/log.h"
#include "config/config.h"
#include "gateway/gw_server.h"

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

static int serve(const eirc_config_t *cfg, const char *config_path)
{
	char self[PATH_MAX], why[512] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	gw_server_t *srv = NULL;
	uv_loop_t loop;
	int r, rc;

	self[n > 0 ? n : 0] = '\0';
	if ((r = uv_loop_init(&loop)) < 0)
		return r;
	if ((r = gw_server_new(&loop, cfg, config_path, self, &srv, why, sizeof(why))) < 0) {
		log_error("Failed to start: %s", why[0] ? why : strerror(-r));
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return r;
	}
	if ((r = gw_server_listen(srv)) < 0) {
		log_error("Failed to listen on %s:%d: %s", cfg->gateway.listen_address,
			  cfg->gateway.listen_port, strerror(-r));
		gw_server_shutdown(srv);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	gw_server_free(srv);
	rc = uv_loop_close(&loop);
	if (rc < 0)
		log_error("Handles left open at exit: %s", uv_strerror(rc));
	else if (r == 0)
		log_info("Stopped");
	return r < 0 ? r : rc;
}

static int run(const eirc_config_t *cfg, const char *config_path)
{
	signal(SIGPIPE, SIG_IGN);
	cloexec_inherited();
	raise_nofile();
	return serve(cfg, config_path) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const eirc_daemon_cli_t cli = {
		.prog = "eirc-gateway",
		.about = "Serves WebSocket sessions on /chat (plus /healthz and /metrics) on the\n"
			 "listeners of the config's gateway section; each session runs one\n"
			 "eirc-irc-client. SIGTERM/SIGINT stop it gracefully.\n",
		.sections = "gateway, auth (internal_secret), irc_client (sandbox_user), log.\n"
			    "See docs/gateway.md",
		.run = run,
	};

	return eirc_daemon_main(argc, argv, &cli);
}
