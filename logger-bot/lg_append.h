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

#endif
