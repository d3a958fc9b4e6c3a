/*
 * config_walk: the one generic walker from libyaml events to the config
 * struct, driven by the schema table.
 *
 * It takes bytes and gives a filled struct plus a list of errors, nothing
 * else: no file access, no logging. It never stops at the first error:
 * every problem in the file is collected (up to CONFIG_ERRORS_MAX), with
 * the position libyaml gives for the offending node, and the key path.
 * YAML syntax errors end the walk (libyaml cannot go on after one).
 */
#ifndef EIRC_CONFIG_WALK_H
#define EIRC_CONFIG_WALK_H

#include <stddef.h>

#include "config/config.h"

/*
 * Walk `len` bytes of YAML at `buf` into `cfg`, which already holds the
 * defaults, reading ${NAME} through vars (NULL: the environment). Errors
 * are appended to `errs` (sorted in file order at the end). Returns 0
 * (look at errs->n for errors) or -ENOMEM; on -ENOMEM `cfg` and `errs`
 * are valid but incomplete and must be freed.
 */
int config_walk(const char *buf, size_t len, const eirc_config_vars_t *vars, eirc_config_t *cfg,
		eirc_config_errors_t *errs);

/*
 * Append an error at 1-based `line` and `column` (0: none) with key path
 * `path` ("" for none). Returns 0 or -ENOMEM.
 */
int config_errors_add(eirc_config_errors_t *errs, unsigned line, unsigned column, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif /* EIRC_CONFIG_WALK_H */
