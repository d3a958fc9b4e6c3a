/*
 * eirc-logger: the archiving IRC bot and Elasticsearch shipper. This file
 * is the program's table for common/daemon (command line, config, loop,
 * signals, the bounded drain) and its hooks into lg_app.c.
 */
#include "common/daemon.h"
#include "logger-bot/lg_app.h"

static int start(void *app, eirc_daemon_t *d)
{
	(void)app;
	return lg_app_start(eirc_daemon_loop(d), eirc_daemon_config(d));
}

static void stop(void *app)
{
	(void)app;
	lg_app_stop();
}

static void close_now(void *app)
{
	(void)app;
	lg_app_close();
}

static const char *not_ready(void *app)
{
	(void)app;
	return lg_app_not_ready();
}

static int end(void *app)
{
	(void)app;
	lg_app_free();
	return lg_app_failed() ? EIRC_EXIT_FAILURE : EIRC_EXIT_OK;
}

/* What eirc-logger reads: eirc-logger.service loads only these secrets
 * (not irc.webirc_password: the logger is no WEBIRC gateway). */
static const char *const logger_keys[] = {
	"irc.network",   "irc.servers", "irc.connect_timeout", "irc_client", "logger", "redis",
	"elasticsearch", "log",         "integrity",           NULL};

int main(int argc, char **argv)
{
	static const eirc_daemon_def_t def = {
		.prog = "eirc-logger",
		.about = "Joins the configured IRC channels and archives every event into Redis\n"
			 "Streams exactly once; ships the archive to Elasticsearch.\n",
		.keys = logger_keys,
		.sections = "irc, redis, elasticsearch, logger, log, irc_client (ping and\n"
			    "reconnection timings). See docs/logger.md",
		.start = start,
		.stop = stop,
		.not_ready = not_ready,
		.close = close_now,
		.end = end,
		.drain_ms = LG_APP_DRAIN_MS,
	};

	return eirc_daemon_main(&def, NULL, argc, argv);
}
