/*
 * gw_metrics: the gateway's counters and their Prometheus text rendering
 * (exposition format 0.0.4), served on GET /metrics.
 *
 * A plain struct the other modules increment; rendering is pure (no I/O)
 * so the unit tests check the exact text. Not here: when to count (the
 * callers), how to serve (gw_http).
 */
#ifndef EIRC_GW_METRICS_H
#define EIRC_GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Why an upgrade was refused: the metric label and the reason body. */
typedef enum gw_refusal {
	GW_REF_UPGRADE_REQUIRED,
	GW_REF_SHUTTING_DOWN,
	GW_REF_ORIGIN,
	GW_REF_SUBPROTOCOL,
	GW_REF_NO_TOKEN,
	GW_REF_MAX_SESSIONS,
	GW_REF_MAX_SESSIONS_PER_IP,
	GW_REF_INVALID_TOKEN,
	GW_REF_AUTH_UNAVAILABLE,
	GW_REF_SPAWN_FAILED,
	GW_REF_FD_LIMIT,
	GW_REF_COUNT,
} gw_refusal_t;

typedef enum gw_frame_refusal {
	GW_FREF_TOO_BIG,
	GW_FREF_CRLF_NUL,
	GW_FREF_INVALID_UTF8,
	GW_FREF_COUNT,
} gw_frame_refusal_t;

/* Exit statuses 0..255 and signals 1..64 are counted separately. */
#define GW_EXIT_CODES   256
#define GW_EXIT_SIGNALS 65

typedef struct gw_metrics {
	uint64_t sessions_open; /* gauge: WebSockets with a session */
	uint64_t children;      /* gauge: irc-client processes running */
	uint64_t ready;         /* gauge: /readyz answers 200 */
	uint64_t draining;      /* gauge: SIGTERM came, sessions end soon */
	uint64_t upgrades_accepted;
	uint64_t upgrades_refused[GW_REF_COUNT];
	uint64_t spawn_failures;
	uint64_t bytes_to_irc, bytes_to_browser;
	uint64_t lines_to_irc, lines_to_browser;
	uint64_t frames_refused[GW_FREF_COUNT];
	uint64_t queue_high_water;
	uint64_t slow_reader_disconnects;
	uint64_t access_rooms;          /* EIRC ROOMS sent to an irc-client */
	uint64_t access_ended;          /* sessions ended by an access change */
	uint64_t access_check_failures; /* POST /internal/access that failed */
	uint64_t exits_code[GW_EXIT_CODES];
	uint64_t exits_signal[GW_EXIT_SIGNALS];
} gw_metrics_t;

/* The label ("origin", "max_sessions_per_ip", ...) of a refusal. */
const char *gw_refusal_label(gw_refusal_t r);

/* Counts one child exit: by signal when term_signal != 0, else by status. */
void gw_metrics_child_exit(gw_metrics_t *m, int64_t exit_status, int term_signal);

/*
 * Renders every metric with its # HELP and # TYPE lines into a new
 * NUL-terminated buffer. Returns 0 with *out (free() it) and *out_len, or
 * -ENOMEM.
 */
int gw_metrics_render(const gw_metrics_t *m, char **out, size_t *out_len);

#endif
