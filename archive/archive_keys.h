/*
 * archive_keys: the Redis key names of the archive (ARCHITECTURE.md, "Redis
 * keys"), shared by eirc-logger and eirc-history.
 *
 * A conversation (a channel, or a direct-message pair "dm:<lo>:<hi>")
 * belongs to partition k = crc32(case-folded "<network>:<target>") mod P;
 * every key of that partition carries the hash tag "{p<k>}", so one
 * append touches one Redis Cluster slot.
 *
 * Pure: no I/O, no allocation. Names are written into caller buffers and
 * are binary-safe (a channel name may hold any byte IRC allows).
 */
#ifndef EIRC_ARCHIVE_KEYS_H
#define EIRC_ARCHIVE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/irc_casemap.h"

/* Longest network name and conversation target accepted in a key. */
#define ARCHIVE_KEYS_NETWORK_MAX 64
#define ARCHIVE_KEYS_TARGET_MAX  200
/* Longest msgid (server or derived) accepted in a key. */
#define ARCHIVE_KEYS_MSGID_MAX 128
/* Largest partition count (config allows 1..16384). */
#define ARCHIVE_KEYS_PARTITIONS_MAX 16384
/* Buffer large enough for any key built here, NUL included. */
#define ARCHIVE_KEYS_KEY_MAX                                                                       \
	(64 + ARCHIVE_KEYS_NETWORK_MAX + ARCHIVE_KEYS_TARGET_MAX + ARCHIVE_KEYS_MSGID_MAX)

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) of buf[0..len),
 * continuing from crc (start with 0). */
uint32_t archive_keys_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * The partition of target[0..target_len) on network: crc32 of
 * "<network>:<target>" after folding both with cm, mod partitions.
 * Returns 0..partitions-1, or -EINVAL when partitions is out of
 * 1..ARCHIVE_KEYS_PARTITIONS_MAX or a name is empty or too long.
 */
int archive_keys_partition(const char *network, const char *target, size_t target_len,
			   enum irc_casemap cm, int partitions);

/*
 * Key builders. Each writes a NUL-terminated key into buf (capacity cap) and
 * returns its length, or -EINVAL (empty/oversized part, a network name
 * holding ':'), or -ENOBUFS. The target is written case-folded with cm.
 *   history: eirc:{p<k>}:history:<network>:<target>
 *   msgid:   eirc:{p<k>}:msgid:<msgid>
 *   archive: eirc:{p<k>}:archive
 *   dead:    eirc:{p<k>}:archive:dead
 */
int archive_keys_history(int k, const char *network, const char *target, size_t target_len,
			 enum irc_casemap cm, char *buf, size_t cap);
int archive_keys_msgid(int k, const char *msgid, size_t msgid_len, char *buf, size_t cap);
int archive_keys_archive(int k, char *buf, size_t cap);
/* A logger's heartbeat (the wall time it last knew itself in its channels,
 * in ms; lg_app.h): eirc:{p<k>}:logger:<network>:<nick>:seen with k the
 * partition of "<network>:<nick>" among partitions. Returns the length,
 * -EINVAL or -ENOBUFS. */
int archive_keys_seen(int partitions, const char *network, const char *nick, char *buf, size_t cap);
int archive_keys_dead(int k, char *buf, size_t cap);

/*
 * The tamper-evident log of partition k (archive/tlog.h, docs/compliance.md):
 * eirc:{p<k>}:<what> with what one of ARCHIVE_KEYS_TLOG_* below, and the
 * chunks of its leaf hashes, eirc:{p<k>}:leaves:<chunk>, each holding the
 * ARCHIVE_KEYS_LEAVES_CHUNK leaves from chunk * ARCHIVE_KEYS_LEAVES_CHUNK
 * on, 32 bytes each. Return the length, -EINVAL or -ENOBUFS.
 */
#define ARCHIVE_KEYS_TLOG_STATE "tlog" /* hash: the log's state */
#define ARCHIVE_KEYS_TLOG_SEAL  "seal" /* string: the sealer's lease */
#define ARCHIVE_KEYS_TLOG_TOMB  "tomb" /* stream: tombstones of trimmed ranges */
#define ARCHIVE_KEYS_TLOG_CPS   "cps"  /* zset: checkpoint boundaries */
/* list: "<archive id> <digest> <mac>" per entry not yet sealed, in the
 * archive's order (archive_append.h) */
#define ARCHIVE_KEYS_TLOG_PENDING "pending"
#define ARCHIVE_KEYS_LEAVES_CHUNK 4096
int archive_keys_tlog(int k, const char *what, char *buf, size_t cap);
int archive_keys_leaves(int k, uint64_t chunk, char *buf, size_t cap);
/* The stream every signed checkpoint is added to, which eirc-auth files
 * into PostgreSQL (its own slot: not a partition's). */
#define ARCHIVE_KEYS_CHECKPOINTS "eirc:{cp}:checkpoints"

/*
 * The conversation target of a direct-message pair: "dm:<lo>:<hi>" with the
 * two user ids in numeric order. Returns its length, -EINVAL for ids that
 * are equal or 0, or -ENOBUFS.
 */
int archive_keys_dm_target(uint64_t id_a, uint64_t id_b, char *buf, size_t cap);

#endif
