/*
 * eirc-logger: the archiving IRC bot and Elasticsearch shipper. This file
 * only reads the command line and the configuration; lg_app.c runs it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"
#include "logger-bot/lg_app.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: eirc-logger [-c FILE]\n"
	        "Joins the configured IRC channels and archives every event into Redis\n"
	        "Streams exactly once; ships the archive to Elasticsearch.\n\n"
	        "  -c, --config FILE        configuration (default config/eirc.yaml)\n"
	        "      --check-config FILE  validate FILE, print the effective config\n"
	        "  -h, --help               this help\n"
	        "  -V, --version            print the version\n\n"
	        "Sections used: irc, redis, elasticsearch, logger, log, irc_client (ping and\n"
	        "reconnection timings). See docs/logger.md.\n");
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
	const char *path = "config/eirc.yaml";
	eirc_config_errors_t *errs = NULL;
	eirc_config_t *cfg = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			return eirc_config_check_main(optarg, stdout, stderr);
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("eirc-logger %s\n", EIRC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = eirc_config_load(path, &cfg, &errs)) < 0) {
		if (errs)
			eirc_config_errors_print(errs, stderr);
		else
			fprintf(stderr, "eirc-logger: cannot load %s\n", path);
		eirc_config_errors_free(errs);
		return 1;
	}
	eirc_config_log_setup(cfg, "eirc-logger");
	rc = lg_app_run(cfg);
	eirc_config_free(cfg);
	return rc;
}
