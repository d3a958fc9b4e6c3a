/*
 * hist_metrics: eirc-history's counters and their Prometheus text (format
 * 0.0.4), served on GET /metrics of its HTTP API listener: HTTP answers
 * by route and status, CHATHISTORY requests and connections, and the
 * links to Redis and to the access bus (set by the app before rendering).
 *
 * A plain struct the app updates; rendering is pure so the unit tests
 * check the exact text. Not here: when to count, serving (hist_http).
 */
#ifndef EIRC_HIST_METRICS_H
#define EIRC_HIST_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/prom.h"

/* The routes of the HTTP API (hist_http.c), the label of their answers. */
enum hroute {
	HR_NONE = 0, /* refused before routing, or no such resource */
	HR_HEALTHZ,
	HR_READYZ,
	HR_METRICS,
	HR_MESSAGES,
	HR_SEARCH,
	HR_EXPORT,
	HR_COUNT,
};

/* Bytes of one rendering at most. */
#define HIST_METRICS_TEXT_MAX (64 * 1024)

typedef struct hist_metrics {
	prom_status_t requests[HR_COUNT]; /* answers by route and status */
	uint64_t chathistory_requests;    /* request lines answered on the socket */
	uint64_t connections;             /* gauge: irc-client connections open */
	uint64_t redis_up;                /* gauge, 1 or 0 */
	uint64_t access_up;               /* gauge: subscribed to the access bus */
	uint64_t ready;                   /* gauge: what /readyz answers, 1 or 0 */
} hist_metrics_t;

/* The label of a route ("messages"...). */
const char *hist_route_label(enum hroute r);

/* Counts one HTTP answer of route with status. */
void hist_metrics_request(hist_metrics_t *m, enum hroute route, int status);

/*
 * Appends every metric with its # HELP and # TYPE lines to out (requests:
 * only the route and status pairs seen). Returns 0, or buf's -EMSGSIZE or
 * -ENOMEM.
 */
int hist_metrics_render(const hist_metrics_t *m, buf_t *out);

#endif
