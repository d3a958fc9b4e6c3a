/*
 * config_print: the effective configuration as YAML.
 *
 * Not exported in config.h: the unmasked form exists only so the tests can
 * check that printing and loading agree. Daemons use eirc_config_print,
 * which always masks secrets.
 */
#ifndef EIRC_CONFIG_PRINT_H
#define EIRC_CONFIG_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"

/* The mask printed for a secret that is set. */
#define CONFIG_SECRET_MASK "********"

/* Print cfg as YAML that loads back to it; with mask_secrets every set
 * secret is printed as CONFIG_SECRET_MASK. */
void config_print(const eirc_config_t *cfg, FILE *out, bool mask_secrets);

/* Print `s` as a YAML double-quoted scalar. */
void config_print_quoted(const char *s, FILE *out);

#endif /* EIRC_CONFIG_PRINT_H */
