/*
 * redis_slot: the pure half of Redis Cluster routing — the hash slot of a key
 * (CRC16-XMODEM mod 16384, honouring {hash tags} as the Redis Cluster
 * specification defines them), the key a formatted command (RESP array, as
 * hiredis formats it) is routed by, and the parse of MOVED/ASK errors. No
 * socket, no loop: redis.c does the I/O.
 */
#ifndef EIRC_REDIS_SLOT_H
#define EIRC_REDIS_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_SLOT_COUNT 16384
/* Longest "host:port" of a redirect or a node we keep. */
#define REDIS_SLOT_ADDR_MAX 300

/* CRC16-XMODEM (poly 0x1021, init 0) of len bytes. */
uint16_t redis_slot_crc16(const void *p, size_t len);

/* The cluster slot of a key: the CRC16 of the part between the first '{'
 * and the next '}' when that part is not empty, of the whole key otherwise;
 * mod 16384. */
int redis_slot_of(const void *key, size_t len);

enum redis_slot_route {
	REDIS_SLOT_KEY = 0, /* routed by the key returned */
	REDIS_SLOT_ANY,     /* no key: any master may answer */
	REDIS_SLOT_ALL,     /* every master must run it (SCRIPT LOAD, FLUSH) */
};

/* Finds how a formatted command (a complete RESP array of bulk strings)
 * is routed. For REDIS_SLOT_KEY, out_key and out_len point into cmd: argv[1]
 * for ordinary commands, argv[2] for XGROUP/XINFO/OBJECT, the first key of
 * EVAL/EVALSHA and EVAL_RO/EVALSHA_RO (numkeys 0 is REDIS_SLOT_ANY), the
 * first stream after STREAMS for XREAD/XREADGROUP. Returns the route, or -EINVAL when cmd is not
 * such an array or names no key where one is required. */
int redis_slot_route(const char *cmd, size_t len, const char **out_key, size_t *out_len);

/* Parses "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>".
 * Returns 0 with *out_ask, *out_slot and the address copied into addr
 * (NUL-terminated, at most cap-1 bytes; the host may be empty: the node
 * the command went to), or -EINVAL when err is neither. */
int redis_slot_redirect(const char *err, bool *out_ask, int *out_slot, char *addr, size_t cap);

#endif
