/*
 * archive_dm: the direct-message side of the archive, shared by eirc-history
 * (which files the direct messages irc-clients report) and eirc-logger
 * (which files the copies the IRC server's m_eirc_capture gives it), so both
 * write one message once, into the same keys:
 *   - the message itself goes through the append script (archive_append.h)
 *     into conversation "dm:<lo>:<hi>" (archive_keys_dm_target()),
 *     idempotent on msgid: a message filed by both is stored once;
 *   - each side's TARGETS index and the nick <-> id keys are named here,
 *     and archive_dm_index_build() lays out the commands that update the
 *     index after a message.
 *
 * Pure: key names and command arguments in caller memory; no I/O.
 */
#ifndef EIRC_ARCHIVE_DM_H
#define EIRC_ARCHIVE_DM_H

#include <stddef.h>
#include <stdint.h>

#include "archive/archive_keys.h"
#include "common/irc_casemap.h"

/* Longest nick named in a nick key. */
#define ARCHIVE_DM_NICK_MAX 64

/*
 * The key of a nick's user id: eirc:{p<k>}:nick:<network>:<folded nick>,
 * k the partition of "<network>:<folded nick>". Returns its length,
 * -EINVAL (empty, or over ARCHIVE_DM_NICK_MAX) or -ENOBUFS.
 */
int archive_dm_nick_key(const char *network, int partitions, const char *nick, size_t nick_len,
			enum irc_casemap cm, char *buf, size_t cap);

/*
 * Per-user keys, in the partition of "<network>:u<id>":
 *   kind "dms":   eirc:{p<k>}:dms:<network>:<id>, a sorted set of the other
 *                 user ids of the user's conversations, scored by the time
 *                 of the latest message (for TARGETS);
 *   kind "unick": eirc:{p<k>}:unick:<network>:<id>, the user's last nick.
 * Returns the length, -EINVAL or -ENOBUFS.
 */
int archive_dm_user_key(const char *network, int partitions, const char *kind, uint64_t id,
			char *buf, size_t cap);

/* An account id as the IRC server's eirc/uid and eirc/to-uid tags carry
 * it, p[0..n): decimal, 1..UINT64_MAX. Returns 0 or -EINVAL. */
int archive_dm_id_parse(const char *p, size_t n, uint64_t *out_id);

/*
 * The two user ids of a conversation "dm:<lo>:<hi>" (conv[0..n), as
 * archive_keys_dm_target() writes it). Returns 0, or -EINVAL when conv is
 * not one (a channel) or names 0 or the same id twice.
 */
int archive_dm_conv_ids(const char *conv, size_t n, uint64_t *out_lo, uint64_t *out_hi);

/* Commands of one index update: for each side ZADD GT, ZREMRANGEBYSCORE
 * (older than the retention), PEXPIRE. */
#define ARCHIVE_DM_INDEX_CMDS     6
#define ARCHIVE_DM_INDEX_ARGC_MAX 5

typedef struct archive_dm_index archive_dm_index_t;
struct archive_dm_index {
	int n; /* commands, ARCHIVE_DM_INDEX_CMDS when built */
	struct {
		int argc;
		const char *argv[ARCHIVE_DM_INDEX_ARGC_MAX];
		size_t argvlen[ARCHIVE_DM_INDEX_ARGC_MAX];
	} cmd[ARCHIVE_DM_INDEX_CMDS];
	/* what argv points into */
	char key[2][ARCHIVE_KEYS_KEY_MAX];
	char other[2][24];
	char time[24], keep[24], ttl[24];
};

/*
 * The TARGETS index update for a message at time_ms between users a and b
 * on network: each user's "dms" set gets the other's id scored by time_ms
 * (never lowered: ZADD GT), loses members older than retention_ms, and
 * expires after retention_ms. argv points into *out only. Returns 0 or
 * -EINVAL (an id 0, equal ids, a key over its limit).
 */
int archive_dm_index_build(const char *network, int partitions, uint64_t a, uint64_t b,
			   int64_t time_ms, uint64_t retention_ms, archive_dm_index_t *out);

#endif
