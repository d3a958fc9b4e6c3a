/*
 * lg_seal: the sealer of the tamper-evident archive (docs/compliance.md):
 * every integrity.seal_interval it turns the archive entries written since
 * its last pass into the leaves of each partition's RFC 9162 tree
 * (archive/tlog.h) and signs checkpoints of the trees. Only with
 * integrity.signing_key.
 *
 * Per partition k, one pass:
 *   - the lease eirc:{p<k>}:seal (SET NX PX LG_SEAL_LEASE_MS, owner
 *     "<host>:<pid>:<random>", renewed at every round): only its holder
 *     seals, so that the HA pair yields one log; the other logger's passes
 *     stop there. A logger that stops is replaced within LG_SEAL_LEASE_MS.
 *   - a round: one script takes or renews the lease, reads the log's state
 *     (the hash eirc:{p<k>}:tlog) and the first integrity.seal_batch
 *     records of the partition's pending list eirc:{p<k>}:pending, which
 *     the append script fills in the archive's order, one record
 *     "<archive id> <digest> <mac>" per entry it archives
 *     (archive/archive_append.h). Nothing is read back from the archive:
 *     the leaf is tlog_leaf_of_digest(archive id, digest). A record whose
 *     MAC does not check (tlog_mac_digest_check), or that does not parse,
 *     is refused: not a leaf, recorded in eirc:{p<k>}:rejected (id,
 *     reason; the last ~100,000 kept), counted, and reported once
 *     (LG_SEAL_REJECTED). An entry added to the archive without a record
 *     (behind eIRC's back, or before the log) is never a leaf. The log
 *     starts at the first record ("start" = the id of the archive entry
 *     before it, "0-0" when none). The leaf hashes go into the chunk keys eirc:{p<k>}:leaves:<c>
 *     (SETRANGE, so a rewrite is idempotent) and into the frontier.
 *   - the writes of a round are one script per chunk segment, each
 *     conditional on the lease's owner and on the state's (size, last)
 *     being what the round read (a compare-and-set: otherwise nothing is
 *     written and the next round reads the state again); each also drops
 *     the records it consumed from the head of the pending list.
 *   - rounds go on while they read a full batch, at most LG_SEAL_ROUNDS_MAX
 *     per pass; then, when integrity.checkpoint_events leaves were added
 *     since the last checkpoint, or integrity.checkpoint_interval passed and
 *     the log grew, a checkpoint: the signed note (tlog_checkpoint_sign) of
 *     origin "<integrity.origin>/p<k>" is added to eirc:{cp}:checkpoints,
 *     appended to integrity.witness_file ("<note>~~~~\n") and syslog
 *     (LOG_AUTHPRIV, when integrity.witness_syslog), then recorded in the
 *     state (cp_size, cp_time, checkpoint) and in eirc:{p<k>}:cps
 *     ("<size> <last>", scored by size: every entry up to the archive id
 *     <last> is a leaf below size or was refused) by one more conditional
 *     script. Ed25519 signatures are deterministic: the twin signing the
 *     same tree after a takeover writes the same note.
 * The Redis commands are per batch, never per event. It runs on a borrowed
 * Redis client: eirc-logger gives it a connection of its own, so that its
 * round trips do not queue behind the writer's batches; while that is
 * down a pass ends at once.
 */
#ifndef EIRC_LOGGER_LG_SEAL_H
#define EIRC_LOGGER_LG_SEAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "archive/tlog.h"
#include "common/redis.h"
#include "logger-bot/lg_metrics.h"

/* The lease's life: a takeover comes at most this long after its holder
 * stopped renewing it. */
#define LG_SEAL_LEASE_MS 10000
/* Rounds of one partition in one pass (the rest waits for the next pass,
 * so that a busy partition does not hold the others back). */
#define LG_SEAL_ROUNDS_MAX 64
/* Checkpoints kept in eirc:{cp}:checkpoints (MAXLEN ~). */
#define LG_SEAL_CHECKPOINTS_MAX 1000000

typedef struct lg_seal_opts {
	int partitions;
	const tlog_signer_t *signer; /* borrowed */
	const char *origin;          /* integrity.origin, borrowed */
	uint64_t interval_ms;        /* integrity.seal_interval */
	int batch;                   /* integrity.seal_batch */
	int checkpoint_events;
	uint64_t checkpoint_interval_ms;
	const char *witness_file; /* borrowed; NULL: none */
	bool witness_syslog;
} lg_seal_opts_t;

enum lg_seal_note {
	LG_SEAL_REJECTED = 0, /* detail: "<archive id>: <reason>" */
	LG_SEAL_CHECKPOINT,   /* detail: "<origin> <size>" */
	LG_SEAL_LEASE,        /* this logger now seals the partition */
	LG_SEAL_ERROR,        /* detail: Redis's error, or what is wrong in the state */
	LG_SEAL_WITNESS_ERROR /* detail: the file and strerror */
};

/* What the daemon logs: partition k, detail valid during the call. */
typedef void (*lg_seal_note_fn)(void *ud, enum lg_seal_note note, int k, const char *detail);

typedef struct lg_seal lg_seal_t;

/* Creates the sealer on redis (borrowed: it must outlive lg_seal_close);
 * opts and its strings are borrowed. Returns 0 and *out_s, -EINVAL (no
 * partition, batch < 1, no signer), or -ENOMEM. */
int lg_seal_new(uv_loop_t *loop, redis_t *redis, const lg_seal_opts_t *opts, lg_metrics_t *m,
		lg_seal_note_fn on_note, void *ud, lg_seal_t **out_s);
/* Starts the timer: the first pass after interval_ms. */
void lg_seal_start(lg_seal_t *s);
/* Stops the timer; the memory is freed once libuv has closed it. Replies
 * still due would come to freed memory: close the Redis client in the
 * same loop turn, as with lg_archive_close. NULL s is a no-op. */
void lg_seal_close(lg_seal_t *s);

#endif
