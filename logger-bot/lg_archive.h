/*
 * lg_archive: keeps every partition's archive stream (eirc:{p<k>}:archive)
 * bounded, with or without Elasticsearch, and every trim verifiable: each
 * LG_ARCHIVE_TRIM_EVERY_MS it passes over the partitions one after the
 * other. The policy gives a bound (entries with ids below it may go):
 *   - acked (a deployment with Elasticsearch: elasticsearch.urls set):
 *     what every consumer group has acknowledged. Redis 7.0 has no "trim
 *     only what was acknowledged" (XADD/XTRIM ACKED came later), so the
 *     scripts compute it themselves, atomically: for each group the
 *     smallest pending id (XPENDING) when it has pending entries, else
 *     just past its last-delivered-id (XINFO GROUPS); the minimum over all
 *     groups. A stream without any group is not trimmed (the shipper
 *     creates its group at connection). Policy "shipped".
 *   - not acked (no Elasticsearch): the entries older than retention_ms,
 *     whatever consumer groups exist (one left from a removed shipper must
 *     not stop the trimming). Policy "retention <duration>".
 *
 * A partition with a tamper-evident log (its hash eirc:{p<k>}:tlog exists,
 * archive/tlog.h; the sealer lg_seal writes it) is trimmed only at a
 * checkpoint boundary: the greatest member "<size> <last id>" of its zset
 * eirc:{p<k>}:cps whose last id is below the policy bound, so only sealed
 * and checkpointed entries go (XTRIM MINID <last id + 1>: entries older
 * than the log, and refused ones, go with the first boundary past them).
 * The script that trims also XADDs a tombstone to eirc:{p<k>}:tomb with
 *   from, to    leaf indexes, [from, to) removed; from is tlog `trimmed`
 *   first, last the archive ids of the first entry removed and of the
 *               boundary's last one
 *   count       entries XTRIM removed (pre-log and refused ones included)
 *   policy, actor ("eirc-logger <nick>"), time (ms)
 *   frontier    retention only: hex of tlog_tree_encode of [0, to),
 *               computed here from the last tombstone's frontier and the
 *               stored leaf hashes eirc:{p<k>}:leaves:<chunk>
 * sets tlog `trimmed` = to, keeps the boundary at `to` in cps and removes
 * those below it; a retention trim also deletes the leaf chunks wholly
 * below `to` (tlog `leaves_from` moves to the first kept). A shipped trim
 * keeps the leaf hashes: the events live on in Elasticsearch. It runs in
 * two steps, a read (the plan script) and, after the leaf hashes are read
 * and hashed, the trim script, conditional on tlog `trimmed` still being
 * `from` and the boundary still in cps and below the bound: of trimmers
 * racing (the HA pair), one trims and the others find it done.
 *
 * A partition without a log (no integrity.signing_key: nothing sealed) is
 * trimmed by the policy bound alone, as before the log existed, with a
 * tombstone from = to = 0 (no leaf) when something went.
 *
 * Each pass also sums the streams' lengths and keeps their oldest entry's
 * time into the metrics archive_entries and archive_oldest_age_ms
 * (archive_trimmed counts what went; a script or leaf read that fails, a
 * leaf chunk missing or short, counts in redis_errors and the partition
 * waits for the next pass).
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
/* Tombstones one plan script looks back through for the last frontier
 * (the partition's plan is asked again from there when none is found). */
#define LG_ARCHIVE_TOMB_PAGE 256

/*
 * The plan script, read only. KEYS: archive, tlog, cps, tomb. ARGV[1]:
 * "acked", or the time bound in ms; ARGV[2]: where to look back for the
 * last frontier ("+" or "(<tombstone id>"). Returns {length, ms of the
 * oldest entry (-1: empty), 0} for a partition without a log; {length,
 * oldest, 1} when no boundary is to be trimmed; else {length, oldest, 1,
 * from, to, last id, leaves_from, base size, base frontier (hex), cursor}
 * where the base is the last tombstone frontier (0, "" when there is
 * none) and cursor, when not "", says none was found in this page: ask
 * again from there.
 */
extern const char lg_archive_plan_script[];
/*
 * The trim script. KEYS: archive, tlog, cps, tomb, then the leaf chunks to
 * delete. ARGV: bound ("acked" or ms), from ("-": a partition without a
 * log), to, last id, frontier (hex; "-": none, a shipped trim), the new
 * leaves_from, policy, actor, time (ms). Returns {entries removed (-1: the
 * state moved since the plan, nothing done), length, oldest}.
 */
extern const char lg_archive_trim_script[];

typedef struct lg_archive_opts {
	int partitions;
	bool acked;            /* trim what every group acknowledged, not by time */
	uint64_t retention_ms; /* without acked: entries older than this go */
	uint64_t every_ms;     /* 0: LG_ARCHIVE_TRIM_EVERY_MS (tests shorten it) */
	const char *nick; /* the tombstones' actor "eirc-logger <nick>"; borrowed; NULL: none */
} lg_archive_opts_t;

typedef struct lg_archive lg_archive_t;

/* Creates the trimmer on redis (borrowed: it must outlive lg_archive_close).
 * Returns 0 and *out_a, or -EINVAL (no partition; no retention without
 * acked), -ENOMEM. */
int lg_archive_new(uv_loop_t *loop, redis_t *redis, const lg_archive_opts_t *opts, lg_metrics_t *m,
		   lg_archive_t **out_a);
/* Starts the timer: the first pass after every_ms. */
void lg_archive_start(lg_archive_t *a);
/* Starts a pass now unless one is under way or Redis is down (tests). */
void lg_archive_trim_now(lg_archive_t *a);
/* Passes completed (every partition looked at), for tests. */
uint64_t lg_archive_passes(const lg_archive_t *a);
/* Stops the timer; the memory is freed once libuv has closed it. Replies
 * still due would come to freed memory: close the Redis client in the
 * same loop turn (redis_close drops them unanswered), as lg_app does by
 * closing the writer right after. NULL a is a no-op. */
void lg_archive_close(lg_archive_t *a);

#endif
