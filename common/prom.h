/*
 * prom: the Prometheus text exposition format (0.0.4) written into a buf:
 * a family's # HELP and # TYPE lines, one sample, and HTTP answers counted
 * by route and status. For the /metrics answers of eirc-auth and
 * eirc-history, whose counters are their own.
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

/* HTTP statuses a prom_status_t counts one by one; any other is counted as
 * code "other" (slot 0), which no daemon of ours sends. */
#define PROM_STATUS_MIN 100
#define PROM_STATUS_MAX 599

/* One route's answers by status; zeroed is none. */
typedef struct prom_status {
	uint64_t n[PROM_STATUS_MAX - PROM_STATUS_MIN + 2];
} prom_status_t;

/* Counts one answer of status. */
void prom_status_count(prom_status_t *row, int status);

/* A counter family name of every route i < nroutes: one sample per status
 * seen, labels route="<label(i)>",code="<status>"|"other". 0, or buf's
 * error. */
int prom_status_render(buf_t *b, const char *name, const char *help, const prom_status_t *rows,
		       int nroutes, const char *(*label)(int i));

#endif
