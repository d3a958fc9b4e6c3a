/*
 * eirc-history: CHATHISTORY for eirc-irc-client processes over a UNIX
 * socket, from the Redis streams eirc-logger writes. This file only reads
 * the command line and the configuration; hist_app.c runs it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"
#include "history-bridge/hist_app.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: eirc-history [-c FILE]\n"
	        "Answers IRCv3 CHATHISTORY requests of eirc-irc-client processes on a UNIX\n"
	        "socket, from the Redis streams eirc-logger writes.\n\n"
	        "  -c, --config FILE        configuration (default config/eirc.yaml)\n"
	        "      --check-config FILE  validate FILE, print the effective config\n"
	        "  -h, --help               this help\n"
	        "  -V, --version            print the version\n\n"
	        "Sections used: history, redis, irc (network), log. See docs/history.md.\n");
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
			printf("eirc-history %s\n", EIRC_VERSION);
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
			fprintf(stderr, "eirc-history: cannot load %s\n", path);
		eirc_config_errors_free(errs);
		return 1;
	}
	eirc_config_log_setup(cfg, "eirc-history");
	rc = hist_app_run(cfg);
	eirc_config_free(cfg);
	return rc;
}
