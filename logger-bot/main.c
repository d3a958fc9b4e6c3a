/*
 * eirc-logger: the archiving IRC bot and Elasticsearch shipper. This file
 * only names the program; the shared command line (config/config_main.c)
 * loads the configuration and lg_app.c runs it.
 */
#include "config/config.h"
#include "logger-bot/lg_app.h"

static int run(const eirc_config_t *cfg, const char *config_path)
{
	(void)config_path;
	return lg_app_run(cfg);
}

int main(int argc, char **argv)
{
	static const eirc_daemon_cli_t cli = {
		.prog = "eirc-logger",
		.about = "Joins the configured IRC channels and archives every event into Redis\n"
			 "Streams exactly once; ships the archive to Elasticsearch.\n",
		.sections = "irc, redis, elasticsearch, logger, log, irc_client (ping and\n"
			    "reconnection timings). See docs/logger.md",
		.run = run,
	};

	return eirc_daemon_main(argc, argv, &cli);
}
