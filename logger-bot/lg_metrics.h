/*
 * lg_metrics: the logger's counters and gauges, and their Prometheus text
 * exposition (format 0.0.4) for GET /metrics. Plain numbers updated by the
 * single-threaded loop; rendering is pure.
 */
#ifndef EIRC_LOGGER_LG_METRICS_H
#define EIRC_LOGGER_LG_METRICS_H

#include <stdint.h>

#include "common/buf.h"

/* A buffer limit the whole exposition fits in (it is a few KiB). */
#define LG_METRICS_TEXT_MAX (64u * 1024)
/* Finite buckets of the sealing delay histogram. */
#define LG_METRICS_SEAL_DELAY_BUCKETS 10

typedef struct lg_metrics lg_metrics_t;
struct lg_metrics {
	/* bot and writer */
	uint64_t events_received;  /* events produced from IRC */
	uint64_t events_written;   /* appended by the script */
	uint64_t events_duplicate; /* msgid already archived */
	uint64_t events_refused;   /* bad input, not archived */
	/* lines irc_conn could not frame or parse, by reason (never archived;
	 * eirc_logger_lines_refused_total{reason=...}) */
	uint64_t lines_refused_too_long;
	uint64_t lines_refused_tags_too_long;
	uint64_t lines_refused_malformed;
	/* archived as received but noted (eirc_logger_events_flagged_total) */
	uint64_t flagged_invalid_utf8;
	uint64_t flagged_channel_controls;
	uint64_t events_lost;        /* every bound hit: dropped, loudly */
	uint64_t queue_events;       /* gauge: in memory, in flight included */
	uint64_t queue_bytes;        /* gauge */
	uint64_t spill_bytes;        /* gauge: spill file size */
	uint64_t spill_unread_bytes; /* gauge */
	uint64_t spilled_total;      /* events written to the spill file */
	uint64_t redis_errors;
	uint64_t redis_connected; /* gauge 0/1 */
	uint64_t irc_connected;   /* gauge 0/1 */
	uint64_t gaps;
	/* shipper */
	uint64_t ship_indexed;       /* accepted by Elasticsearch (201/200) */
	uint64_t ship_conflicts;     /* 409: already there, counted as success */
	uint64_t ship_dead;          /* sent to the dead-letter stream */
	uint64_t ship_retried_items; /* 429/5xx items sent again */
	uint64_t ship_requests;
	uint64_t ship_request_errors; /* transport errors, 429/5xx whole requests */
	uint64_t ship_pending;        /* gauge: read, not acknowledged */
	uint64_t ship_oldest_age_ms;  /* gauge: age of the oldest unshipped entry */
	/* archive streams (lg_archive) */
	uint64_t archive_trimmed;       /* entries trimmed (shipped, or past the retention) */
	uint64_t archive_entries;       /* gauge: entries of every partition, last pass */
	uint64_t archive_oldest_age_ms; /* gauge: age of the oldest entry left, last pass */
	/* the sealer (lg_seal) */
	uint64_t seal_sealed;      /* entries sealed into the log (leaves) */
	uint64_t seal_rejected;    /* entries refused: MAC missing or wrong */
	uint64_t seal_checkpoints; /* checkpoints signed and recorded */
	uint64_t seal_backlog;     /* gauge: entries unsealed at the last pass */
	uint64_t seal_lag_ms;      /* gauge: age of the oldest of them then */
	/* the sealing delay of each leaf (its archive id's time to the round
	 * that sealed it), the histogram eirc_logger_seal_delay_seconds: per
	 * bucket of lg_metrics_seal_delay_le_ms (not cumulative; the last is
	 * +Inf), and the sum in ms */
	uint64_t seal_delay[LG_METRICS_SEAL_DELAY_BUCKETS + 1];
	uint64_t seal_delay_sum_ms;
};

/* The upper bounds of the sealing delay buckets, in ms. */
extern const uint64_t lg_metrics_seal_delay_le_ms[LG_METRICS_SEAL_DELAY_BUCKETS];
/* Counts one sealing delay of ms into m. */
void lg_metrics_seal_delay(lg_metrics_t *m, int64_t ms);

/* Appends the exposition of m to out. Returns 0, -EMSGSIZE past out's
 * limit, -ENOMEM, or -ENOBUFS (a row longer than its line buffer). */
int lg_metrics_render(const lg_metrics_t *m, buf_t *out);

#endif
