/*
 * archive_append: the one Redis script that archives an event, and the C side
 * that builds its calls. Shared by eirc-logger (channel events, batched
 * EVALSHA) and eirc-history (direct messages, one EVAL each): link
 * eirc_archive.
 *
 * The script is atomic and idempotent on msgid. In one call it
 *   1. returns {0, <history id>} at once when eirc:{p<k>}:msgid:<msgid>
 *      exists (an HA peer, a retry or a spill replay already stored it);
 *   2. XADDs the event to the conversation's history stream, trimming it
 *      with MINID ~ <now - retention>, and sets the stream to expire after
 *      the retention (PEXPIRE): trimming happens only at an append, so a
 *      conversation that goes quiet would otherwise keep its last
 *      retention's worth forever; expired, every entry is past it anyway;
 *   3. XADDs the same fields plus "network", "stream" (the history key) and
 *      "hid" (the history id) to the partition's archive stream;
 *   4. when the call carries a seal record, RPUSHes "<archive id> <seal
 *      record>" to the partition's pending list eirc:{p<k>}:pending, in
 *      the archive's order (the sealer's input, logger-bot/lg_seal.h);
 *   5. SETs the msgid key to the history id, expiring after the retention;
 *   6. returns {1, <history id>}.
 * KEYS: history, archive, msgid, pending - one partition, one hash tag, so
 * it runs unchanged on Redis Cluster. ARGV: minid ("0": no trimming), msgid
 * TTL in ms, network, seal record ("": none), then field/value pairs.
 *
 * The seal record is "<digest> <mac>", both base64 (archive/tlog.h): the
 * event digest (tlog_event_digest) of exactly the fields the archive entry
 * gets but "stream" and "hid" (network and the event's fields), and its
 * MAC under opts' mac_key. It is computed here, where the fields are at
 * hand, because Redis's Lua has no SHA-256: the sealer then turns (archive
 * id, digest) into a leaf without reading the entry back, and seals only
 * records whose MAC checks, so that a record added behind eIRC's back is
 * refused and an entry added without one is never a leaf.
 *
 * Load it once (SCRIPT LOAD archive_append_script), call it with EVALSHA, and
 * load it again when a call answers NOSCRIPT (Redis restarted or SCRIPT
 * FLUSH). Pure: no I/O here.
 */
#ifndef EIRC_ARCHIVE_APPEND_H
#define EIRC_ARCHIVE_APPEND_H

#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "archive/tlog.h"

/* Arguments of one EVALSHA call, command name included. */
#define ARCHIVE_APPEND_ARGC_MAX 40
/* SHA1 hex digest of a script, as SCRIPT LOAD answers it. */
#define ARCHIVE_APPEND_SHA_LEN 40
/* A seal record: "<digest base64> <mac base64>". */
#define ARCHIVE_APPEND_SEAL_LEN (2 * TLOG_MAC_B64_LEN + 1)

/* The script's Lua source. */
extern const char archive_append_script[];

typedef struct archive_append_opts archive_append_opts_t;
struct archive_append_opts {
	int partitions;        /* P, 1..ARCHIVE_KEYS_PARTITIONS_MAX */
	int64_t now_ms;        /* the caller's clock, for the trimming bound */
	uint64_t retention_ms; /* 0: no trimming, msgid keys kept 30 days */
	/* tlog_mac_key() of the signer (32 bytes, borrowed); NULL: no MAC
	 * (integrity.signing_key unset) */
	const uint8_t *mac_key;
};

/* One ready call. argv[] points into the struct itself and into the event:
 * both must outlive the call's use. */
typedef struct archive_append_call archive_append_call_t;
struct archive_append_call {
	int partition;
	int argc;
	const char *argv[ARCHIVE_APPEND_ARGC_MAX];
	size_t argvlen[ARCHIVE_APPEND_ARGC_MAX];
	char sha[ARCHIVE_APPEND_SHA_LEN + 1];
	char history[ARCHIVE_KEYS_KEY_MAX];
	char archive[64];
	char msgid[ARCHIVE_KEYS_KEY_MAX];
	char minid[24];
	char ttl[24];
	char time[24];
	char pending[64];
	char seal[ARCHIVE_APPEND_SEAL_LEN + 1];
};

/*
 * Builds EVALSHA <sha> 4 <history> <archive> <msgid-key> <pending> <minid>
 * <ttl> <network> <seal> <field> <value>... for ev into *out_call; with sha
 * NULL, EVAL <archive_append_script> 4 ... instead (never answered NOSCRIPT, for
 * callers that send few events and keep no SHA). The conversation key
 * is ev's conv (already case-folded by the producer); the partition comes
 * from archive_keys_partition() on it. Fields: msgid, time, type, conv, target,
 * nick, user, host, account, text, tags, and arg when not empty.
 * Returns 0, or -EINVAL (bad sha, empty msgid/network/conv, a part over its
 * key limit).
 */
int archive_append_build(const archive_event_t *ev, const archive_append_opts_t *o, const char *sha,
			 archive_append_call_t *out_call);

/*
 * The batched form, what eirc-logger's writer sends: one call archives up
 * to ARCHIVE_APPEND_BATCH_MAX events of ONE partition, each exactly as the
 * single script would, in order (a msgid twice in one batch is stored
 * once), but for the pending records: one RPUSH of them all at the end
 * (one partition: one list; the order is the archive's still). One EVALSHA per event costs Redis
 * more in script set-up than the four commands inside it; a batch pays it once. KEYS: per event
 * history, archive, msgid, pending (all with the partition's hash tag). ARGV: minid, TTL, then per
 * event: network, seal record ("": none), the number F of field/value strings, the F strings.
 * Returns one integer per event: 1 stored, 0 already there.
 */
#define ARCHIVE_APPEND_BATCH_MAX 64
/* Strings per event in a batch: network, seal, F, 11 field/value pairs, arg. */
#define ARCHIVE_APPEND_BATCH_EV_ARGS 27
#define ARCHIVE_APPEND_BATCH_ARGC_MAX                                                              \
	(5 + ARCHIVE_APPEND_BATCH_MAX * (4 + ARCHIVE_APPEND_BATCH_EV_ARGS))

extern const char archive_append_batch_script[];

/* One batch being built; large (about 70 KiB): allocate it once. argv[]
 * points into the struct and into the events, which must outlive its use. */
typedef struct archive_append_batch archive_append_batch_t;
struct archive_append_batch {
	int partition; /* of the first event; -1 when empty */
	int n;         /* events */
	int argc;      /* after archive_append_batch_finish() */
	int nargs;
	const char *argv[ARCHIVE_APPEND_BATCH_ARGC_MAX];
	size_t argvlen[ARCHIVE_APPEND_BATCH_ARGC_MAX];
	const char *args[ARCHIVE_APPEND_BATCH_MAX * ARCHIVE_APPEND_BATCH_EV_ARGS];
	size_t argslen[ARCHIVE_APPEND_BATCH_MAX * ARCHIVE_APPEND_BATCH_EV_ARGS];
	char sha[ARCHIVE_APPEND_SHA_LEN + 1];
	char minid[24], ttl[24], numkeys[8];
	struct {
		char history[ARCHIVE_KEYS_KEY_MAX];
		char msgid[ARCHIVE_KEYS_KEY_MAX];
		char nf[4];
		char time[24];
		char seal[ARCHIVE_APPEND_SEAL_LEN + 1];
	} ev[ARCHIVE_APPEND_BATCH_MAX];
	char archive[64];
	char pending[64];
};

/* Starts an empty batch. Returns 0 or -EINVAL (bad sha). */
int archive_append_batch_begin(archive_append_batch_t *b, const char *sha,
			       const archive_append_opts_t *o);
/*
 * Adds ev. Returns 0; -EXDEV when ev belongs to another partition than the
 * batch (not added); -ENOSPC when the batch is full; -EINVAL as
 * archive_append_build() (ev cannot be archived at all).
 */
int archive_append_batch_add(archive_append_batch_t *b, const archive_event_t *ev,
			     const archive_append_opts_t *o);
/* Lays out argv/argvlen/argc for EVALSHA. Returns 0, or -EINVAL when empty. */
int archive_append_batch_finish(archive_append_batch_t *b);

#endif
