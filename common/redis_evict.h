/*
 * redis_evict: whether a Redis server may evict keys, read from its answer
 * to INFO memory (the field maxmemory_policy). eIRC's archive must not lose
 * a key to eviction: an evicted history stream, archive stream or msgid key
 * is a hole in the record (or a message stored twice). Every policy but
 * noeviction evicts once maxmemory is reached: the allkeys-* ones any key,
 * the volatile-* ones keys with a TTL, which the msgid keys have.
 * INFO rather than CONFIG GET: the daemons' ACL users may run INFO, not
 * CONFIG (docs/operations.md, "Redis users"). Pure: bytes in, an answer out.
 */
#ifndef EIRC_REDIS_EVICT_H
#define EIRC_REDIS_EVICT_H

#include <stddef.h>

#include "common/err.h"

/* The command that fetches what redis_evict_check() reads. */
#define REDIS_EVICT_INFO_CMD "INFO memory"
/* Longest policy name copied into an error (Redis's are up to 15). */
#define REDIS_EVICT_POLICY_MAX 32

/*
 * Reads the INFO text (len bytes, "key:value\r\n" lines). Returns 0 when
 * maxmemory_policy is noeviction; -EPERM when it is any other policy
 * (out_err: "maxmemory-policy <policy> can evict keys"); -EINVAL when the
 * text has no maxmemory_policy line, or an empty or overlong value
 * (out_err says so).
 */
int redis_evict_check(const char *info, size_t len, eirc_err_t *out_err);

#endif
