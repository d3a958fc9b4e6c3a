/*
 * config_main: the command line every long-running eIRC daemon shares
 * (eirc-gateway, eirc-logger, eirc-history), so each main.c says only what
 * the program is and what it runs. eirc-auth has admin subcommands and
 * parses its own.
 */
#include "config/config.h"

#include <getopt.h>
#include <stdlib.h>

static void daemon_usage(const eirc_daemon_cli_t *cli, FILE *out)
{
	fprintf(out,
		"Usage: %s [--config FILE]\n%s\n"
		"Options:\n"
		"  -c, --config FILE        configuration (default $EIRC_CONFIG or\n"
		"                           config/eirc.yaml)\n"
		"      --check-config FILE  validate FILE, print the effective config\n"
		"  -h, --help               this help\n"
		"  -V, --version            print the version\n", cli->prog, cli->about);
	if (cli->sections)
		fprintf(out, "\nSections used: %s.\n", cli->sections);
}

int eirc_daemon_main(int argc, char **argv, const eirc_daemon_cli_t *cli)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("EIRC_CONFIG");
	const char *path = env && *env ? env : "config/eirc.yaml";
	eirc_config_errors_t *errs = NULL;
	eirc_config_t *cfg = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': return eirc_config_check_main(optarg, stdout, stderr);
		case 'h': daemon_usage(cli, stdout); return 0;
		case 'V': printf("%s %s\n", cli->prog, EIRC_VERSION); return 0;
		default: daemon_usage(cli, stderr); return 2;
		}
	}
	if (optind != argc) {
		daemon_usage(cli, stderr);
		return 2;
	}
	if (eirc_config_load(path, &cfg, &errs) < 0) {
		if (errs)
			eirc_config_errors_print(errs, stderr);
		else
			fprintf(stderr, "%s: cannot load %s\n", cli->prog, path);
		eirc_config_errors_free(errs);
		return 1;
	}
	eirc_config_log_setup(cfg, cli->prog);
	rc = cli->run(cfg, path);
	eirc_config_free(cfg);
	return rc;
}
