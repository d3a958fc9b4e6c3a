/*
 * gw_metrics: counters and their Prometheus text. See gw_metrics.h.
 */
#include "gateway/gw_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const refusal_labels[GW_REF_COUNT] = {
	[GW_REF_UPGRADE_REQUIRED] = "upgrade_required",
	[GW_REF_SHUTTING_DOWN] = "shutting_down",
	[GW_REF_ORIGIN] = "origin",
	[GW_REF_SUBPROTOCOL] = "subprotocol",
	[GW_REF_NO_TOKEN] = "no_token",
	[GW_REF_MAX_SESSIONS] = "max_sessions",
	[GW_REF_MAX_SESSIONS_PER_IP] = "max_sessions_per_ip",
	[GW_REF_INVALID_TOKEN] = "invalid_token",
	[GW_REF_AUTH_UNAVAILABLE] = "auth_unavailable",
	[GW_REF_SPAWN_FAILED] = "spawn_failed",
	[GW_REF_FD_LIMIT] = "fd_limit",
};

static const char *const frame_labels[GW_FREF_COUNT] = {
	[GW_FREF_TOO_BIG] = "too_big",
	[GW_FREF_CRLF_NUL] = "crlf_nul",
	[GW_FREF_INVALID_UTF8] = "invalid_utf8",
};

const char *gw_refusal_label(gw_refusal_t r)
{
	return (unsigned)r < GW_REF_COUNT ? refusal_labels[r] : "other";
}

void gw_metrics_child_exit(gw_metrics_t *m, int64_t exit_status, int term_signal)
{
	if (term_signal > 0 && term_signal < GW_EXIT_SIGNALS)
		m->exits_signal[term_signal]++;
	else if (term_signal == 0 && exit_status >= 0 && exit_status < GW_EXIT_CODES)
		m->exits_code[exit_status]++;
}

typedef struct mbuf {
	char *p;
	size_t len, cap;
	bool failed;
} mbuf_t;

static void __attribute__((format(printf, 2, 3))) put(mbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void head(mbuf_t *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(mbuf_t *b, const char *name, const char *type, const char *help, uint64_t v)
{
	head(b, name, type, help);
	put(b, "%s %llu\n", name, (unsigned long long)v);
}

static void render_exits(mbuf_t *b, const gw_metrics_t *m)
{
	static const char n[] = "eirc_gateway_child_exits_total";

	head(b, n, "counter", "irc-client processes reaped, by exit status or signal.");
	for (int i = 0; i < GW_EXIT_CODES; i++)
		if (m->exits_code[i])
			put(b, "%s{how=\"exit\",code=\"%d\"} %llu\n", n, i,
			    (unsigned long long)m->exits_code[i]);
	for (int i = 1; i < GW_EXIT_SIGNALS; i++)
		if (m->exits_signal[i])
			put(b, "%s{how=\"signal\",code=\"%d\"} %llu\n", n, i,
			    (unsigned long long)m->exits_signal[i]);
}

static void render_pairs(mbuf_t *b, const gw_metrics_t *m)
{
	static const char by[] = "eirc_gateway_bytes_total", li[] = "eirc_gateway_lines_total";

	head(b, by, "counter", "Bytes relayed (lines without CRLF), by direction.");
	put(b, "%s{direction=\"to_irc\"} %llu\n", by, (unsigned long long)m->bytes_to_irc);
	put(b, "%s{direction=\"to_browser\"} %llu\n", by, (unsigned long long)m->bytes_to_browser);
	head(b, li, "counter", "Lines (WebSocket messages) relayed, by direction.");
	put(b, "%s{direction=\"to_irc\"} %llu\n", li, (unsigned long long)m->lines_to_irc);
	put(b, "%s{direction=\"to_browser\"} %llu\n", li, (unsigned long long)m->lines_to_browser);
}

int gw_metrics_render(const gw_metrics_t *m, char **out, size_t *out_len)
{
	static const char ur[] = "eirc_gateway_upgrades_refused_total",
			  fr[] = "eirc_gateway_frames_refused_total";
	mbuf_t b = {.p = malloc(4096), .cap = 4096};

	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';
	one(&b, "eirc_gateway_sessions_open", "gauge", "WebSocket sessions open.",
	    m->sessions_open);
	one(&b, "eirc_gateway_children", "gauge", "irc-client processes running.", m->children);
	one(&b, "eirc_gateway_ready", "gauge",
	    "1 when /readyz answers 200 (not draining, eirc-auth ready).", m->ready);
	one(&b, "eirc_gateway_draining", "gauge",
	    "1 once SIGTERM came: new sessions refused, open ones end after the drain.",
	    m->draining);
	one(&b, "eirc_gateway_upgrades_accepted_total", "counter",
	    "WebSocket upgrades that became a session.", m->upgrades_accepted);
	head(&b, ur, "counter", "WebSocket upgrades refused, by reason.");
	for (int i = 0; i < GW_REF_COUNT; i++)
		put(&b, "%s{reason=\"%s\"} %llu\n", ur, refusal_labels[i],
		    (unsigned long long)m->upgrades_refused[i]);
	one(&b, "eirc_gateway_spawn_failures_total", "counter",
	    "irc-client processes that could not be started.", m->spawn_failures);
	render_pairs(&b, m);
	head(&b, fr, "counter", "Browser messages refused (the session is closed), by reason.");
	for (int i = 0; i < GW_FREF_COUNT; i++)
		put(&b, "%s{reason=\"%s\"} %llu\n", fr, frame_labels[i],
		    (unsigned long long)m->frames_refused[i]);
	one(&b, "eirc_gateway_queue_high_water_total", "counter",
	    "Times a session's queue towards the browser crossed the high watermark.",
	    m->queue_high_water);
	one(&b, "eirc_gateway_slow_reader_disconnects_total", "counter",
	    "Browsers disconnected for staying above the high watermark too long.",
	    m->slow_reader_disconnects);
	one(&b, "eirc_gateway_access_rooms_total", "counter",
	    "Private-room lists (EIRC ROOMS) sent to irc-clients after an access check.",
	    m->access_rooms);
	one(&b, "eirc_gateway_access_ended_total", "counter",
	    "Sessions ended by an access change (account disabled or deleted, signed out).",
	    m->access_ended);
	one(&b, "eirc_gateway_access_check_failures_total", "counter",
	    "Access checks at eirc-auth that failed (asked again later).",
	    m->access_check_failures);
	render_exits(&b, m);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
