/*
 * auth_metrics: counters and their Prometheus text. See auth_metrics.h.
 */
#include "auth/auth_metrics.h"

#include <stdio.h>

#include "common/prom.h"

void auth_metrics_request(auth_metrics_t *m, auth_route_id_t route, int status)
{
	if ((unsigned)route >= AUTH_R_COUNT)
		return;
	if (status < AUTH_METRICS_STATUS_MIN || status > AUTH_METRICS_STATUS_MAX)
		m->requests[route][0]++;
	else
		m->requests[route][status - AUTH_METRICS_STATUS_MIN + 1]++;
}

static int render_requests(const auth_metrics_t *m, buf_t *out)
{
	static const char n[] = "eirc_auth_requests_total";
	char labels[96];
	int r = prom_head(out, n, "counter", "HTTP answers, by route and status.");

	for (int i = 0; r == 0 && i < AUTH_R_COUNT; i++)
		for (int s = 0;
		     r == 0 && s <= AUTH_METRICS_STATUS_MAX - AUTH_METRICS_STATUS_MIN + 1; s++) {
			if (!m->requests[i][s])
				continue;
			if (s == 0)
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"other\"",
					 auth_route_label((auth_route_id_t)i));
			else
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"",
					 auth_route_label((auth_route_id_t)i),
					 s - 1 + AUTH_METRICS_STATUS_MIN);
			r = prom_sample(out, n, labels, m->requests[i][s]);
		}
	return r;
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
	return render_requests(m, out);
}
