/*
 * auth_metrics: counters and their Prometheus text. See auth_metrics.h.
 */
#include "auth/auth_metrics.h"

#include "common/prom.h"

void auth_metrics_request(auth_metrics_t *m, auth_route_id_t route, int status)
{
	if ((unsigned)route < AUTH_R_COUNT)
		prom_status_count(&m->requests[route], status);
}

static const char *route_label(int i)
{
	return auth_route_label((auth_route_id_t)i);
}

int auth_metrics_render(const auth_metrics_t *m, buf_t *out)
{
	int r;

	if ((r = prom_one(out, "eirc_auth_ready", "gauge",
			  "1 when /readyz answers 200 (a database connection is up).", m->ready)) <
		    0 ||
	    (r = prom_one(out, "eirc_auth_db_connections", "gauge",
			  "PostgreSQL connections of the pool connected and usable.",
			  m->db_connections)) < 0 ||
	    (r = prom_one(out, "eirc_auth_db_pool_size", "gauge",
			  "PostgreSQL connections the pool keeps (auth.database.pool_size).",
			  m->db_pool_size)) < 0)
		return r;
	return prom_status_render(out, "eirc_auth_requests_total",
				  "HTTP answers, by route and status.", m->requests, AUTH_R_COUNT,
				  route_label);
}
