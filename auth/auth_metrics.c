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
			  m->db_pool_size)) < 0 ||
	    (r = prom_one(out, "eirc_auth_checkpoints_filed_total", "counter",
			  "Archive checkpoints filed into archive_checkpoints from the stream.",
			  m->checkpoints_filed)) < 0 ||
	    (r = prom_one(out, "eirc_auth_checkpoints_refused_total", "counter",
			  "Checkpoints of the stream refused: no valid signature by a known key.",
			  m->checkpoints_refused)) < 0 ||
	    (r = prom_one(out, "eirc_auth_checkpoint_forks_total", "counter",
			  "Checkpoints whose origin and size were filed with another root.",
			  m->checkpoint_forks)) < 0 ||
	    (r = prom_one(out, "eirc_auth_audit_sealed", "gauge",
			  "Audit log rows sealed into the audit log's tree.", m->audit_sealed)) <
		    0 ||
	    (r = prom_one(out, "eirc_auth_audit_checkpoints_total", "counter",
			  "Checkpoints of the audit log's tree signed and filed.",
			  m->audit_checkpoints)) < 0)
		return r;
	return prom_status_render(out, "eirc_auth_requests_total",
				  "HTTP answers, by route and status.", m->requests, AUTH_R_COUNT,
				  route_label);
}
