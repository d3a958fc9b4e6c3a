/*
 * lg_shipper: indexes every partition's archive stream into Elasticsearch.
 *
 * One consumer group (config logger.consumer_group) on each
 * eirc:{p<k>}:archive; this process is the consumer named `consumer`.
 * At start, and after every Redis reconnection, each partition goes
 * through three phases: its own pending entries first (XREADGROUP ... 0,
 * paged: what a previous run of this consumer read but did not get
 * acknowledged), then entries idle for LG_SHIP_CLAIM_IDLE_MS at other
 * consumers (XAUTOCLAIM: a peer that died), then new entries (">"). The
 * claim phase is re-run every LG_SHIP_CLAIM_EVERY_MS.
 *
 * Entries become `create` actions with `_id` = msgid in a `_bulk` body
 * (lg_bulk), sent when it holds bulk_max_docs documents or bulk_max_bytes,
 * or bulk_flush_interval after its first document. The answer decides per
 * item: accepted (201, or 409: already indexed) -> XACK; 429/5xx -> sent
 * again after a jittered exponential backoff (common/backoff,
 * retry_min..retry_max); any
 * other error -> XADD to eirc:{p<k>}:archive:dead with the error, then
 * XACK. A whole-request failure (transport, non-200) retries the batch.
 * While a batch waits for its retry it keeps taking new entries (up to
 * full), so what is retried goes with what arrived meanwhile.
 * Nothing is acknowledged before Elasticsearch accepted or refused it.
 *
 * The index template is installed before the first _bulk. The archive
 * streams are trimmed by lg_archive, not here.
 */
#ifndef EIRC_LOGGER_LG_SHIPPER_H
#define EIRC_LOGGER_LG_SHIPPER_H

#include <stdint.h>
#include <uv.h>

#include "archive/archive_es.h"
#include "common/redis.h"
#include "logger-bot/lg_metrics.h"

#define LG_SHIP_IDLE_POLL_MS   50
#define LG_SHIP_CLAIM_IDLE_MS  60000
#define LG_SHIP_CLAIM_EVERY_MS 30000
#define LG_SHIP_STATS_EVERY_MS 2000
#define LG_SHIP_CONSUMER_MAX   64

typedef struct lg_shipper_opts {
	redis_opts_t redis;
	archive_es_opts_t es;
	int partitions;
	const char *group;        /* borrowed */
	const char *consumer;     /* borrowed, stable across restarts */
	const char *index_prefix; /* borrowed */
	int bulk_max_docs;
	uint64_t bulk_max_bytes;
	uint64_t flush_interval_ms;
	uint64_t retry_min_ms;
	uint64_t retry_max_ms;
	/* 0: LG_SHIP_CLAIM_IDLE_MS and LG_SHIP_CLAIM_EVERY_MS (tests shorten
	 * them to see a dead peer's entries claimed) */
	uint64_t claim_idle_ms;
	uint64_t claim_every_ms;
} lg_shipper_opts_t;

enum lg_shipper_note {
	LG_SHIP_TEMPLATE_OK = 0,
	LG_SHIP_TEMPLATE_FAILED, /* detail: status or error */
	LG_SHIP_BULK_FAILED,     /* detail: why; the batch is retried */
	LG_SHIP_DEAD_LETTER,     /* detail: the item's error */
	LG_SHIP_REDIS_DOWN,
	LG_SHIP_REDIS_UP,
	LG_SHIP_REDIS_UNSAFE, /* detail: the server's maxmemory-policy can evict */
};

typedef void (*lg_shipper_note_fn)(void *ud, enum lg_shipper_note note, const char *detail);

typedef struct lg_shipper lg_shipper_t;

/* Creates the shipper (its Elasticsearch client, Redis connection and
 * timers; nothing runs before lg_shipper_start). Returns 0 and *out_s, or
 * -EINVAL (no partition, no document per bulk, consumer name missing or
 * past LG_SHIP_CONSUMER_MAX), -ENOMEM. */
int lg_shipper_new(uv_loop_t *loop, const lg_shipper_opts_t *opts, struct lg_metrics *m,
		   lg_shipper_note_fn on_note, void *ud, lg_shipper_t **out_s);
void lg_shipper_start(lg_shipper_t *s);
/* Closes everything; in-flight work is dropped (entries stay pending and
 * are re-read by the next run). The memory is freed once libuv has closed
 * its timers, then on_closed(ud), when not NULL, runs. NULL s is a no-op. */
typedef void (*lg_shipper_closed_fn)(void *ud);
void lg_shipper_close(lg_shipper_t *s, lg_shipper_closed_fn on_closed);

#endif
