/*
 * hist_metrics: counters and their Prometheus text. See hist_metrics.h.
 */
#include "history-bridge/hist_metrics.h"

#include <stdio.h>

#include "common/prom.h"

const char *hist_route_label(enum hroute r)
{
	static const char *const names[HR_COUNT] = {
		[HR_NONE] = "none",       [HR_HEALTHZ] = "healthz",   [HR_READYZ] = "readyz",
		[HR_METRICS] = "metrics", [HR_MESSAGES] = "messages", [HR_SEARCH] = "search",
		[HR_EXPORT] = "export",
	};
	return (unsigned)r < HR_COUNT ? names[r] : "other";
}

void hist_metrics_request(hist_metrics_t *m, enum hroute route, int status)
{
	if ((unsigned)route >= HR_COUNT)
		return;
	if (status < HIST_METRICS_STATUS_MIN || status > HIST_METRICS_STATUS_MAX)
		m->requests[route][0]++;
	else
		m->requests[route][status - HIST_METRICS_STATUS_MIN + 1]++;
}

static int render_requests(const hist_metrics_t *m, buf_t *out)
{
	static const char n[] = "eirc_history_http_requests_total";
	char labels[96];
	int r = prom_head(out, n, "counter", "HTTP API answers, by route and status.");

	for (int i = 0; r == 0 && i < HR_COUNT; i++)
		for (int s = 0;
		     r == 0 && s <= HIST_METRICS_STATUS_MAX - HIST_METRICS_STATUS_MIN + 1; s++) {
			if (!m->requests[i][s])
				continue;
			if (s == 0)
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"other\"",
					 hist_route_label((enum hroute)i));
			else
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"",
					 hist_route_label((enum hroute)i),
					 s - 1 + HIST_METRICS_STATUS_MIN);
			r = prom_sample(out, n, labels, m->requests[i][s]);
		}
	return r;
}

int hist_metrics_render(const hist_metrics_t *m, buf_t *out)
{
	int r;

	if ((r = prom_one(out, "eirc_history_ready", "gauge",
			  "1 when /readyz answers 200 (Redis is up).", m->ready)) < 0 ||
	    (r = prom_one(out, "eirc_history_redis_up", "gauge",
			  "1 when the connection to Redis is up.", m->redis_up)) < 0 ||
	    (r = prom_one(out, "eirc_history_access_bus_up", "gauge",
			  "1 when subscribed to the access bus.", m->access_up)) < 0 ||
	    (r = prom_one(out, "eirc_history_connections", "gauge",
			  "irc-client connections open on the CHATHISTORY socket.",
			  m->connections)) < 0 ||
	    (r = prom_one(out, "eirc_history_chathistory_requests_total", "counter",
			  "CHATHISTORY requests answered on the socket.",
			  m->chathistory_requests)) < 0)
		return r;
	return render_requests(m, out);
}
