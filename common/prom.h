/*
 * prom: the Prometheus text exposition format (0.0.4) written into a buf:
 * a family's # HELP and # TYPE lines, and one sample. For the /metrics
 * answers of eirc-auth and eirc-history, whose counters are their own.
 *
 * Not here: serving (each daemon's HTTP layer), label escaping (every
 * label value we print is one of our own fixed words or a number).
 */
#ifndef EIRC_PROM_H
#define EIRC_PROM_H

#include <stdint.h>

#include "common/buf.h"

/* "# HELP name help\n# TYPE name type\n". 0, or buf_append's error. */
int prom_head(buf_t *b, const char *name, const char *type, const char *help);

/* "name{labels} v\n" (labels NULL or "": no braces). 0, or buf's error. */
int prom_sample(buf_t *b, const char *name, const char *labels, uint64_t v);

/* prom_head() then prom_sample() without labels: a family of one sample. */
int prom_one(buf_t *b, const char *name, const char *type, const char *help, uint64_t v);

#endif
