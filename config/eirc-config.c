/*
 * eirc-config: check an eirc.yaml, or print the configuration reference.
 *
 *   eirc-config --check FILE        (alias --check-config FILE)
 *   eirc-config --reference         markdown of docs/configuration.md
 *
 * A thin main over the config library; daemons share the same
 * eirc_config_check_main for their own --check-config.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"

#ifndef EIRC_VERSION
#define EIRC_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fputs("Usage: eirc-config --check FILE\n"
	      "       eirc-config --reference\n"
	      "\n"
	      "  --check FILE, --check-config FILE\n"
	      "        load FILE; print the effective configuration (secrets\n"
	      "        masked) and exit 0, or print every error and exit 1\n"
	      "  --reference\n"
	      "        print the configuration reference (markdown), the source\n"
	      "        of docs/configuration.md\n"
	      "  --help     this text\n"
	      "  --version  the eIRC version\n",
	      out);
}

int main(int argc, char **argv)
{
	const char *opt = argc > 1 ? argv[1] : "";

	if (argc == 2 && strcmp(opt, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(opt, "--version") == 0) {
		printf("eirc-config %s\n", EIRC_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(opt, "--reference") == 0) {
		eirc_config_reference_print(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc == 3 && (strcmp(opt, "--check") == 0 || strcmp(opt, "--check-config") == 0))
		return eirc_config_check_main(argv[2], NULL, stdout, stderr);
	usage(stderr);
	return 2;
}
