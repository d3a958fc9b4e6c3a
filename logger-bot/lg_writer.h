/*
 * lg_writer: gets events into Redis, in order, without losing them. Events
 * are encoded (archive_event) into a bounded memory queue and sent pipelined as
 * EVALSHA calls of the batched append script (archive_append_batch_*): what
 * was pushed during one loop iteration is sorted into one bucket per
 * partition (order within a partition kept) at the iteration's end, and
 * each bucket goes out as calls of up to ARCHIVE_APPEND_BATCH_MAX events, up to
 * LG_WRITER_PIPELINE_MAX calls and LG_WRITER_INFLIGHT_MAX events
 * outstanding. An event whose call failed is sent again alone. The script
 * is loaded at every connection (SCRIPT LOAD) and again after a NOSCRIPT
 * answer. Once a direct message (conversation "dm:<lo>:<hi>") is stored,
 * both users' TARGETS index is updated (archive_dm_index_build, the same
 * commands eirc-history sends; fire and forget).
 *
 * While Redis is down (or slow), events wait in memory up to memory_max
 * bytes, then go to the spill file (lg_spill) up to spill_max bytes; once
 * anything is in the spill file, new events go there too, so the replay
 * keeps the order. When Redis is back the memory queue is sent first, then
 * the spill file is read back in chunks; the file is emptied once every
 * record read from it has been acknowledged. Past both bounds an event is
 * lost: counted in events_lost and reported through on_note, never silent.
 *
 * Events sent but not answered when the connection drops are sent again
 * (the script ignores a msgid it already has). A reply that is an error
 * other than NOSCRIPT and OOM is retried LG_WRITER_ATTEMPTS_MAX times with
 * backoff, then the event is counted lost. OOM (Redis at maxmemory, which
 * with noeviction refuses writes) is retried with the backoff as long as it
 * lasts, the events waiting in memory and then in the spill file.
 */
#ifndef EIRC_LOGGER_LG_WRITER_H
#define EIRC_LOGGER_LG_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "archive/archive_event.h"
#include "common/redis.h"
#include "logger-bot/lg_metrics.h"

/* EVALSHA calls outstanding at once (each carries up to
 * ARCHIVE_APPEND_BATCH_MAX events of one partition). */
#define LG_WRITER_PIPELINE_MAX 64
/* Events in those calls at once. */
#define LG_WRITER_INFLIGHT_MAX 4096
/* Attempts for one event whose call Redis answers with an error. */
#define LG_WRITER_ATTEMPTS_MAX 5
/* Pause before resending after an error reply: doubling with each error in
 * a row (common/backoff, no jitter: one writer per process), from
 * LG_WRITER_RETRY_MIN_MS to LG_WRITER_RETRY_MAX_MS. */
#define LG_WRITER_RETRY_MIN_MS 100
#define LG_WRITER_RETRY_MAX_MS 6400
/* Spill fdatasync and gauge update interval. */
#define LG_WRITER_SYNC_MS 200
/* Per-event bookkeeping counted against memory_max besides its record. */
#define LG_WRITER_REC_OVERHEAD 32

typedef struct lg_writer_opts lg_writer_opts_t;
struct lg_writer_opts {
	redis_opts_t redis;
	int partitions;
	uint64_t retention_ms;
	uint64_t memory_max;   /* bytes of queued events in memory */
	const char *spill_dir; /* NULL: no spill file (tests) */
	uint64_t spill_max;
	/* 32 bytes (tlog_mac_key), borrowed: every archive entry gets its
	 * "mac" (archive_append.h); NULL: none */
	const uint8_t *mac_key;
};

enum lg_writer_note {
	LG_WRITER_REDIS_UP = 0,
	LG_WRITER_REDIS_DOWN,    /* detail: reason */
	LG_WRITER_SPILLING,      /* memory full: events go to the spill file */
	LG_WRITER_SPILL_DRAINED, /* the spill file was replayed and emptied */
	LG_WRITER_LOST,          /* detail: reason; count in metrics */
	LG_WRITER_SCRIPT_ERROR,  /* detail: Redis's error text */
	LG_WRITER_SPILL_ERROR,   /* detail: strerror */
	LG_WRITER_REDIS_UNSAFE,  /* detail: the server's maxmemory-policy can evict */
	LG_WRITER_REDIS_FULL,    /* detail: Redis's OOM answer; events wait */
};

/* Things the daemon should log; called from the loop. */
typedef void (*lg_writer_note_fn)(void *ud, enum lg_writer_note note, const char *detail);

typedef struct lg_writer lg_writer_t;

/*
 * Creates the writer and opens the spill file (whole records already in it
 * are replayed first; a torn tail is dropped and reported through on_note).
 * m is borrowed and updated. Returns 0, -ENOMEM, or the spill file's
 * error.
 */
int lg_writer_new(uv_loop_t *loop, const lg_writer_opts_t *opts, lg_metrics_t *m,
		  lg_writer_note_fn on_note, void *ud, lg_writer_t **out_w);
void lg_writer_start(lg_writer_t *w);

/* Queues one event. Returns 0 (queued or spilled), -ENOSPC when every
 * bound is hit (counted lost, noted), or -EINVAL (event not encodable:
 * counted refused). */
int lg_writer_push(lg_writer_t *w, const archive_event_t *ev);

/* The logger's heartbeat key (archive_keys_seen(), lg_app.h) on the writer's
 * connection. get: fn(ud, ms) once with the stored time, 0 when the key
 * is absent, or -1 when the connection went before the answer (or the
 * value is not a time). set: stores ms, fire and forget. Both return 0, or
 * -ENOTCONN while Redis is down, -ENOMEM. */
typedef void (*lg_writer_seen_fn)(void *ud, int64_t ms);
int lg_writer_seen_get(lg_writer_t *w, const char *key, lg_writer_seen_fn fn, void *ud);
int lg_writer_seen_set(lg_writer_t *w, const char *key, int64_t ms);

/* True while a pushed event is kept: Redis is connected with the script
 * loaded, or the spill file can take another record of the largest size
 * (it exists, has room, and its last write did not fail). False means an
 * event pushed now may be lost: the logger then tells the IRC server it
 * is not archiving (AWAY, lg_app.h). */
bool lg_writer_can_archive(const lg_writer_t *w);

/* The writer's Redis client, borrowed (lg_archive trims on it); closed by
 * lg_writer_close. */
redis_t *lg_writer_redis(lg_writer_t *w);
/* Events not yet acknowledged by Redis: memory, in flight, and 1 more
 * when the spill file holds unread records. */
uint64_t lg_writer_backlog_events(const lg_writer_t *w);

/* Stops: whatever is still in memory is appended to the spill file (so a
 * restart replays it) and the file closed; no note afterwards. The memory
 * is freed once libuv has closed the handles (the Redis client's too), then
 * on_closed(ud), when not NULL, runs. NULL w is a no-op. */
typedef void (*lg_writer_closed_fn)(void *ud);
void lg_writer_close(lg_writer_t *w, lg_writer_closed_fn on_closed);

#endif
