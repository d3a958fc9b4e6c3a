/*
 * lg_append: the one Redis script that archives an event, and the C side
 * that builds its EVALSHA call. Shared by eirc-logger (channel events) and
 * eirc-history (direct messages, issue 7): link eirc_logger_core.
 *
 * The script is atomic and idempotent on msgid. In one call it
 *   1. returns {0, <history id>} at once when eirc:{p<k>}:msgid:<msgid>
 *      exists (an HA peer, a retry or a spill replay already stored it);
 *   2. XADDs the event to the conversation's history stream, trimming it
 *      with MINID ~ <now - retention>;
 *   3. XADDs the same fields plus "network", "stream" (the history key)
 *      and "hid" (the history id) to the partition's archive stream;
 *   4. SETs the msgid key to the history id, expiring after the retention;
 *   5. returns {1, <history id>}.
 * KEYS: history, archive, msgid - one partition, one hash tag, so it runs
 * unchanged on Redis Cluster. ARGV: minid ("0": no trimming), msgid TTL in
 * ms, network, then field/value pairs.
 *
 * Load it once (SCRIPT LOAD lg_append_script), call it with EVALSHA, and
 * load it again when a call answers NOSCRIPT (Redis restarted or SCRIPT
 * FLUSH). Pure: no I/O here.
 */
#ifndef EIRC_LOGGER_LG_APPEND_H
#define EIRC_LOGGER_LG_APPEND_H

#include <stddef.h>
#include <stdint.h>

#include "logger-bot/lg_event.h"
#include "logger-bot/lg_keys.h"

/* Arguments of one EVALSHA call, command name included. */
#define LG_APPEND_ARGC_MAX 40
/* SHA1 hex digest of a script, as SCRIPT LOAD answers it. */
#define LG_APPEND_SHA_LEN 40

/* The script's Lua source. */
extern const char lg_append_script[];

struct lg_append_opts {
	int partitions;         /* P, 1..LG_KEYS_PARTITIONS_MAX */
	int64_t now_ms;         /* the caller's clock, for the trimming bound */
	uint64_t retention_ms;  /* 0: no trimming, msgid keys kept 30 days */
};

/* One ready call. argv[] points into the struct itself and into the event:
 * both must outlive the call's use. */
struct lg_append_call {
	int partition;
	int argc;
	const char *argv[LG_APPEND_ARGC_MAX];
	size_t argvlen[LG_APPEND_ARGC_MAX];
	char sha[LG_APPEND_SHA_LEN + 1];
	char history[LG_KEYS_KEY_MAX];
	char archive[64];
	char msgid[LG_KEYS_KEY_MAX];
	char minid[24];
	char ttl[24];
	char time[24];
};

/*
 * Builds EVALSHA <sha> 3 <history> <archive> <msgid-key> <minid> <ttl>
 * <network> <field> <value>... for ev into *out_call. The conversation key
 * is ev's conv (already case-folded by the producer); the partition comes
 * from lg_keys_partition() on it. Fields: msgid, time, type, conv, target,
 * nick, user, host, account, text, tags, and arg when not empty.
 * Returns 0, or -EINVAL (bad sha, empty msgid/network/conv, a part over its
 * key limit).
 */
int lg_append_build(const struct lg_event *ev, const struct lg_append_opts *o, const char *sha,
                    struct lg_append_call *out_call);

/*
 * The batched form, what eirc-logger's writer sends: one call archives up
 * to LG_APPEND_BATCH_MAX events of ONE partition, each exactly as the
 * single script would, in order (a msgid twice in one batch is stored
 * once). One EVALSHA per event costs Redis more in script set-up than the
 * four commands inside it; a batch pays it once.
 * KEYS: per event history, archive, msgid (all with the partition's hash
 * tag). ARGV: minid, TTL, then per event: network, the number F of
 * field/value strings, the F strings. Returns one integer per event:
 * 1 stored, 0 already there.
 */
#define LG_APPEND_BATCH_MAX 64
/* Strings per event in a batch: network, F, 11 field/value pairs, arg. */
#define LG_APPEND_BATCH_EV_ARGS 26
#define LG_APPEND_BATCH_ARGC_MAX (5 + LG_APPEND_BATCH_MAX * (3 + LG_APPEND_BATCH_EV_ARGS))

extern const char lg_append_batch_script[];

/* One batch being built; large (about 70 KiB): allocate it once. argv[]
 * points into the struct and into the events, which must outlive its use. */
struct lg_append_batch {
	int partition;          /* of the first event; -1 when empty */
	int n;                  /* events */
	int argc;               /* after lg_append_batch_finish() */
	int nargs;
	const char *argv[LG_APPEND_BATCH_ARGC_MAX];
	size_t argvlen[LG_APPEND_BATCH_ARGC_MAX];
	const char *args[LG_APPEND_BATCH_MAX * LG_APPEND_BATCH_EV_ARGS];
	size_t argslen[LG_APPEND_BATCH_MAX * LG_APPEND_BATCH_EV_ARGS];
	char sha[LG_APPEND_SHA_LEN + 1];
	char minid[24], ttl[24], numkeys[8];
	struct {
		char history[LG_KEYS_KEY_MAX];
		char msgid[LG_KEYS_KEY_MAX];
		char nf[4];
		char time[24];
	} ev[LG_APPEND_BATCH_MAX];
	char archive[64];
};

/* Starts an empty batch. Returns 0 or -EINVAL (bad sha). */
int lg_append_batch_begin(struct lg_append_batch *b, const char *sha,
                          const struct lg_append_opts *o);
/*
 * Adds ev. Returns 0; -EXDEV when ev belongs to another partition than the
 * batch (not added); -ENOSPC when the batch is full; -EINVAL as
 * lg_append_build() (ev cannot be archived at all).
 */
int lg_append_batch_add(struct lg_append_batch *b, const struct lg_event *ev,
                        const struct lg_append_opts *o);
/* Lays out argv/argvlen/argc for EVALSHA. Returns 0, or -EINVAL when empty. */
int lg_append_batch_finish(struct lg_append_batch *b);

#endif
