/*
 * auth_metrics: eirc-auth's counters and their Prometheus text (format
 * 0.0.4), served on GET /metrics of the internal listener: requests by
 * route and status, and the readiness the service sets before rendering.
 *
 * A plain struct the service updates; rendering is pure so the unit tests
 * check the exact text. Not here: when to count (auth_service), serving.
 */
#ifndef EIRC_AUTH_METRICS_H
#define EIRC_AUTH_METRICS_H

#include <stdint.h>

#include "auth/auth_route.h"
#include "common/buf.h"
#include "common/prom.h"

/* Bytes of one rendering at most (every route with a dozen statuses
 * takes about 20 KiB). */
#define AUTH_METRICS_TEXT_MAX (256 * 1024)

typedef struct auth_metrics {
	prom_status_t requests[AUTH_R_COUNT]; /* answers by route and status */
	uint64_t db_connections;              /* gauge, set before rendering */
	uint64_t db_pool_size;                /* gauge: auth.database.pool_size */
	uint64_t ready;                       /* gauge: what /readyz answers, 1 or 0 */
	/* auth_integrity */
	uint64_t checkpoints_filed;   /* counter: archive checkpoints filed */
	uint64_t checkpoints_refused; /* counter: notes no known key signed */
	uint64_t checkpoint_forks;    /* counter: same origin and size, another root */
	uint64_t audit_sealed;        /* gauge: audit rows in the audit log's tree */
	uint64_t audit_checkpoints;   /* counter: the audit log's checkpoints filed */
} auth_metrics_t;

/* Counts one answer of route with status. */
void auth_metrics_request(auth_metrics_t *m, auth_route_id_t route, int status);

/*
 * Appends every metric with its # HELP and # TYPE lines to out (requests:
 * only the route and status pairs seen). Returns 0, or buf's -EMSGSIZE or
 * -ENOMEM.
 */
int auth_metrics_render(const auth_metrics_t *m, buf_t *out);

#endif
