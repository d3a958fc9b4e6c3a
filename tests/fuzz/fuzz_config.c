/*
 * fuzz_config: the config loader on arbitrary bytes. Every input must
 * either load or give errors, without a crash, leak or undefined
 * behaviour; and a configuration that loads must print (unmasked) as YAML
 * that loads back to the very same configuration.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "config/config.h"
#include "config/config_print.h"

static char *print_unmasked(const eirc_config_t *cfg, size_t *out_len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, out_len);

	if (!f)
		abort();
	config_print(cfg, f, false);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	eirc_config_t *cfg = NULL, *again = NULL;
	eirc_config_errors_t *errs = NULL;
	char *one, *two;
	size_t one_len = 0, two_len = 0;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (eirc_config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &errs) != 0) {
		eirc_config_errors_print(errs, sink);
		eirc_config_errors_free(errs);
		return 0;
	}
	eirc_config_print(cfg, sink);
	one = print_unmasked(cfg, &one_len);
	if (eirc_config_load_buffer("printed.yaml", one, one_len, &again, &errs) != 0) {
		eirc_config_errors_print(errs, stderr);
		abort(); /* the printer wrote something the loader refuses */
	}
	two = print_unmasked(again, &two_len);
	if (one_len != two_len || memcmp(one, two, one_len) != 0)
		abort(); /* print -> load -> print changed the configuration */
	free(one);
	free(two);
	eirc_config_free(cfg);
	eirc_config_free(again);
	return 0;
}
