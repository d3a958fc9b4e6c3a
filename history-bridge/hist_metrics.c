/*
 * hist_metrics: counters and their Prometheus text. See hist_metrics.h.
 */
#include "history-bridge/hist_metrics.h"

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
	if ((unsigned)route < HR_COUNT)
		prom_status_count(&m->requests[route], status);
}

static const char *route_label(int i)
{
	return hist_route_label((enum hroute)i);
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
	return prom_status_render(out, "eirc_history_http_requests_total",
				  "HTTP API answers, by route and status.", m->requests, HR_COUNT,
				  route_label);
}
