/*
 * eirc-history: CHATHISTORY for eirc-irc-client processes over a UNIX
 * socket, from the Redis streams eirc-logger writes, and the HTTP history,
 * search and export API. This file only names
 * the program; the shared command line (config/config_main.c) loads the
 * configuration and hist_app.c runs it.
 */
#include "config/config.h"
#include "history-bridge/hist_app.h"

static int run(const eirc_config_t *cfg, const char *config_path)
{
	(void)config_path;
	return hist_app_run(cfg);
}

int main(int argc, char **argv)
{
	static const eirc_daemon_cli_t cli = {
		.prog = "eirc-history",
		.about = "Answers IRCv3 CHATHISTORY requests of eirc-irc-client processes on a UNIX\n"
			 "socket, from the Redis streams eirc-logger writes, and serves the HTTP\n"
			 "history, search and export API (history.listen_port).\n",
		.sections = "history, redis, irc (network), irc_client (private_room_masks), "
			    "elasticsearch, log. See docs/history.md",
		.run = run,
	};

	return eirc_daemon_main(argc, argv, &cli);
}
