/*
 * lg_archive: keeps every partition's archive stream (eirc:{p<k>}:archive)
 * bounded, with or without Elasticsearch, by one script run on each
 * stream every LG_ARCHIVE_TRIM_EVERY_MS:
 *   - acked (a deployment with Elasticsearch: elasticsearch.urls set): trim
 *     only what every consumer group has acknowledged. Redis 7.0 has no
 *     "trim only what was acknowledged" (XADD/XTRIM ACKED came later), so
 *     the script computes the bound itself, atomically: for each group the
 *     smallest pending id (XPENDING) when it has pending entries, else
 *     just past its last-delivered-id (XINFO GROUPS); the minimum over
 *     all groups is the XTRIM MINID bound. A stream without any group is
 *     not trimmed (the shipper creates its group at connection).
 *   - not acked (no Elasticsearch): trim what is older than retention_ms
 *     (XTRIM MINID <now - retention>), whatever consumer groups exist (one
 *     left from a removed shipper must not stop the trimming).
 * The same call answers the stream's length and its oldest entry's time,
 * summed / kept over a pass into the metrics archive_entries and
 * archive_oldest_age_ms (archive_trimmed counts what went).
 * It runs on a borrowed Redis client (the writer's: lg_writer_redis());
 * while that is down a pass is skipped.
 */
#ifndef EIRC_LOGGER_LG_ARCHIVE_H
#define EIRC_LOGGER_LG_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/redis.h"
#include "logger-bot/lg_metrics.h"

#define LG_ARCHIVE_TRIM_EVERY_MS 10000

/* The script. KEYS[1]: an archive stream. ARGV[1]: "acked", or the time
 * bound in ms (entries with ids below it go). Returns {trimmed, length
 * left, ms of the oldest entry left (-1: empty)}. */
extern const char lg_archive_trim_script[];

typedef struct lg_archive_opts {
	int partitions;
	bool acked;            /* trim what every group acknowledged, not by time */
	uint64_t retention_ms; /* without acked: entries older than this go */
	uint64_t every_ms;     /* 0: LG_ARCHIVE_TRIM_EVERY_MS (tests shorten it) */
} lg_archive_opts_t;

typedef struct lg_archive lg_archive_t;

/* Creates the trimmer on redis (borrowed: it must outlive lg_archive_close).
 * Returns 0 and *out_a, or -EINVAL (no partition; no retention without
 * acked), -ENOMEM. */
int lg_archive_new(uv_loop_t *loop, redis_t *redis, const lg_archive_opts_t *opts, lg_metrics_t *m,
		   lg_archive_t **out_a);
/* Starts the timer: the first pass after every_ms. */
void lg_archive_start(lg_archive_t *a);
/* Runs a pass now (tests). */
void lg_archive_trim_now(lg_archive_t *a);
/* Stops the timer; the memory is freed once libuv has closed it. Replies
 * still due would come to freed memory: close the Redis client in the
 * same loop turn (redis_close drops them unanswered), as lg_app does by
 * closing the writer right after. NULL a is a no-op. */
void lg_archive_close(lg_archive_t *a);

#endif
