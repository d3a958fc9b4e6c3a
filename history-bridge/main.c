/*
 * eirc-history: CHATHISTORY for eirc-irc-client processes over a UNIX
 * socket, from the Redis streams eirc-logger writes, and the HTTP history,
 * search and export API. This file is the program's table for
 * common/daemon (command line, config, loop, signals) and its hooks into
 * hist_app.c.
 */
#include "common/daemon.h"
#include "history-bridge/hist_app.h"

/* app: the hist_app_t * of main() */
static int start(void *app, eirc_daemon_t *d)
{
	int r = hist_app_new(eirc_daemon_loop(d), eirc_daemon_config(d), app);

	return r < 0 ? r : hist_app_start(*(hist_app_t **)app);
}

static void stop(void *app)
{
	hist_app_stop(*(hist_app_t **)app);
}

static int end(void *app)
{
	int status = hist_app_failed(*(hist_app_t **)app) ? EIRC_EXIT_FAILURE : EIRC_EXIT_OK;

	hist_app_free(*(hist_app_t **)app);
	return status;
}

static const char *not_ready(void *app)
{
	return hist_app_not_ready(*(hist_app_t **)app);
}

/* What eirc-history reads: eirc-history.service loads only these secrets
 * (not irc.webirc_password; the signing key for the direct messages' MACs). */
static const char *const history_keys[] = {
	"history",          "redis", "irc.network",           "irc_client", "elasticsearch",
	"logger.retention", "log",   "integrity.signing_key", NULL};

int main(int argc, char **argv)
{
	static const eirc_daemon_def_t def = {
		.prog = "eirc-history",
		.about = "Answers IRCv3 CHATHISTORY requests of eirc-irc-client processes on a "
			 "UNIX\n"
			 "socket, from the Redis streams eirc-logger writes, and serves the HTTP\n"
			 "history, search and export API (history.listen_port).\n",
		.keys = history_keys,
		.sections = "history, redis, irc (network), irc_client (private_room_masks), "
			    "elasticsearch, log. See docs/history.md",
		.start = start,
		.stop = stop,
		.not_ready = not_ready,
		.end = end,
	};
	hist_app_t *app = NULL;

	return eirc_daemon_main(&def, &app, argc, argv);
}
