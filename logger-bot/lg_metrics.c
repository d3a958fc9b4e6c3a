/*
 * lg_metrics: Prometheus text exposition (see lg_metrics.h).
 */
#include "logger-bot/lg_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* One series; consecutive rows with the same name are one family (HELP
 * and TYPE written once) told apart by their label. */
struct row {
	const char *name;
	const char *type;
	const char *help;
	size_t off;
	double scale;
	const char *label; /* e.g. "reason=\"malformed\"", or NULL */
};

#define C(n, f, h)                                                                                 \
	{                                                                                          \
		"eirc_logger_" n, "counter", h, offsetof(lg_metrics_t, f), 1, NULL                 \
	}
#define G(n, f, h)                                                                                 \
	{                                                                                          \
		"eirc_logger_" n, "gauge", h, offsetof(lg_metrics_t, f), 1, NULL                   \
	}
#define REFUSED(r, f)                                                                              \
	{                                                                                          \
		"eirc_logger_lines_refused_total", "counter",                                      \
			"Lines from the IRC server that could not be framed or parsed, not "       \
			"archived.",                                                               \
			offsetof(lg_metrics_t, f), 1, "reason=\"" r "\""                           \
	}

static const struct row rows[] = {
	C("events_received_total", events_received, "Events produced from IRC messages."),
	C("events_written_total", events_written, "Events appended to Redis by the script."),
	C("events_duplicate_total", events_duplicate, "Events whose msgid was already archived."),
	C("events_refused_total", events_refused, "IRC messages refused as bad input."),
	REFUSED("too_long", lines_refused_too_long),
	REFUSED("tags_too_long", lines_refused_tags_too_long),
	REFUSED("malformed", lines_refused_malformed),
	{"eirc_logger_events_flagged_total", "counter",
	 "IRC messages archived as received but odd: invalid UTF-8, control characters in "
	 "the channel name.",
	 offsetof(lg_metrics_t, flagged_invalid_utf8), 1, "reason=\"invalid_utf8\""},
	{"eirc_logger_events_flagged_total", "counter", "",
	 offsetof(lg_metrics_t, flagged_channel_controls), 1,
	 "reason=\"control_chars_in_channel\""},
	C("events_lost_total", events_lost, "Events dropped because every buffer was full."),
	G("queue_events", queue_events, "Events waiting for Redis in memory."),
	G("queue_bytes", queue_bytes, "Bytes of events waiting for Redis in memory."),
	G("spill_bytes", spill_bytes, "Size of the spill file."),
	G("spill_unread_bytes", spill_unread_bytes, "Spill file bytes not replayed yet."),
	C("spilled_total", spilled_total, "Events written to the spill file."),
	C("redis_errors_total", redis_errors, "Redis errors and lost connections."),
	G("redis_connected", redis_connected, "1 when the writer's Redis link is up."),
	G("irc_connected", irc_connected, "1 when registered to the IRC server."),
	C("gaps_total", gaps, "Disconnections from IRC recorded as gap events."),
	C("shipper_indexed_total", ship_indexed, "Documents Elasticsearch created."),
	C("shipper_conflicts_total", ship_conflicts, "Documents already indexed (409)."),
	C("shipper_dead_letters_total", ship_dead, "Entries sent to the dead-letter stream."),
	C("shipper_retried_items_total", ship_retried_items, "Items retried after 429/5xx."),
	C("shipper_requests_total", ship_requests, "_bulk requests sent."),
	C("shipper_request_errors_total", ship_request_errors,
	  "_bulk requests failed (transport, 429, 5xx, other non-200)."),
	G("shipper_pending_entries", ship_pending, "Archive entries read but not acknowledged."),
	{"eirc_logger_shipper_oldest_pending_age_seconds", "gauge",
	 "Age of the oldest archive entry not shipped yet.",
	 offsetof(lg_metrics_t, ship_oldest_age_ms), 0.001, NULL},
	C("archive_trimmed_total", archive_trimmed,
	  "Archive entries trimmed: acknowledged by every consumer group with Elasticsearch, "
	  "older than logger.archive_retention without."),
	G("archive_entries", archive_entries,
	  "Entries in the archive streams of every partition (at the last trimming pass)."),
	{"eirc_logger_archive_oldest_age_seconds", "gauge",
	 "Age of the oldest archive entry left (at the last trimming pass); 0 when empty.",
	 offsetof(lg_metrics_t, archive_oldest_age_ms), 0.001, NULL},
	C("sealed_total", seal_sealed,
	  "Archive entries sealed into their partition's log (integrity.signing_key)."),
	C("seal_rejected_total", seal_rejected,
	  "Archive entries the sealer refused (MAC missing or wrong): not in the log, listed "
	  "in eirc:{p<k>}:rejected."),
	C("checkpoints_total", seal_checkpoints, "Checkpoints signed and recorded."),
	G("seal_backlog", seal_backlog,
	  "Archive entries the last sealing pass found unsealed (of the partitions this logger "
	  "seals)."),
	{"eirc_logger_seal_lag_seconds", "gauge",
	 "Age of the oldest unsealed archive entry at the last sealing pass; 0 when none.",
	 offsetof(lg_metrics_t, seal_lag_ms), 0.001, NULL},
};

static int render_row(const struct row *r, bool head, uint64_t v, buf_t *out)
{
	char line[640];
	int n = 0, k;

	if (head)
		n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", r->name, r->help,
			     r->name, r->type);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENOBUFS;
	if (r->scale == 1)
		k = snprintf(line + n, sizeof(line) - (size_t)n, "%s%s%s%s %" PRIu64 "\n", r->name,
			     r->label ? "{" : "", r->label ? r->label : "", r->label ? "}" : "", v);
	else
		k = snprintf(line + n, sizeof(line) - (size_t)n, "%s %.3f\n", r->name,
			     (double)v * r->scale);
	if (k < 0 || (size_t)k >= sizeof(line) - (size_t)n)
		return -ENOBUFS;
	return buf_append(out, line, (size_t)(n + k));
}

const uint64_t lg_metrics_seal_delay_le_ms[LG_METRICS_SEAL_DELAY_BUCKETS] = {
	100, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000};

void lg_metrics_seal_delay(lg_metrics_t *m, int64_t ms)
{
	size_t i = 0;

	if (ms < 0)
		ms = 0;
	while (i < LG_METRICS_SEAL_DELAY_BUCKETS && (uint64_t)ms > lg_metrics_seal_delay_le_ms[i])
		i++;
	m->seal_delay[i]++;
	m->seal_delay_sum_ms += (uint64_t)ms;
}

/* eirc_logger_seal_delay_seconds, a histogram (cumulative buckets). */
static int render_seal_delay(const lg_metrics_t *m, buf_t *out)
{
	static const char name[] = "eirc_logger_seal_delay_seconds";
	char line[160];
	uint64_t n = 0;
	int k, rc;

	k = snprintf(line, sizeof(line),
		     "# HELP %s Time from an archive entry's write to its sealing.\n"
		     "# TYPE %s histogram\n",
		     name, name);
	if ((rc = buf_append(out, line, (size_t)k)) < 0)
		return rc;
	for (size_t i = 0; i <= LG_METRICS_SEAL_DELAY_BUCKETS; i++) {
		n += m->seal_delay[i];
		if (i < LG_METRICS_SEAL_DELAY_BUCKETS)
			k = snprintf(line, sizeof(line), "%s_bucket{le=\"%.3f\"} %" PRIu64 "\n",
				     name, (double)lg_metrics_seal_delay_le_ms[i] / 1000, n);
		else
			k = snprintf(line, sizeof(line), "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n",
				     name, n);
		if ((rc = buf_append(out, line, (size_t)k)) < 0)
			return rc;
	}
	k = snprintf(line, sizeof(line), "%s_sum %.3f\n%s_count %" PRIu64 "\n", name,
		     (double)m->seal_delay_sum_ms / 1000, name, n);
	return buf_append(out, line, (size_t)k);
}

int lg_metrics_render(const lg_metrics_t *m, buf_t *out)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		bool head = i == 0 || strcmp(rows[i - 1].name, r->name) != 0;
		uint64_t v;
		int rc;
		memcpy(&v, (const char *)m + r->off, sizeof(v));
		if ((rc = render_row(r, head, v, out)) < 0)
			return rc;
	}
	return render_seal_delay(m, out);
}
