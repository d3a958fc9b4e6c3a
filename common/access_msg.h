/*
 * access_msg: the messages of the access bus, the Redis pub/sub channel
 * ACCESS_MSG_CHANNEL that eirc-auth publishes to after every committed
 * access change and eirc-gateway and eirc-history follow
 * (docs/architecture.md "The access bus"). A message is ASCII
 * "<kind> <user_id> <family>", one space between, family 0 when it does
 * not apply. Its parser (bytes in, a message out) and its formatter (the
 * one eirc-auth publishes with); no I/O.
 */
#ifndef EIRC_ACCESS_MSG_H
#define EIRC_ACCESS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define ACCESS_MSG_CHANNEL "eirc:access"
/* Longest well-formed message: "disabled" and two 20-digit numbers. */
#define ACCESS_MSG_MAX 50

enum access_kind {
	ACCESS_ROOMS = 0, /* the user's private-room membership changed */
	ACCESS_DISABLED,  /* account disabled, every token revoked */
	ACCESS_DELETED,   /* account deleted */
	ACCESS_SIGNOUT,   /* a login (token family) revoked */
	ACCESS_REVOKED,   /* one access token revoked */
	ACCESS_ROLE,      /* role changed */
	ACCESS_KINDS
};

typedef struct access_msg {
	enum access_kind kind;
	uint64_t user;   /* >= 1 */
	uint64_t family; /* 0: not applicable */
} access_msg_t;

/*
 * Parses s[0..len) (not NUL-terminated). Returns 0 and *out, or -EINVAL
 * (an unknown kind, a number that is not 1-20 decimal digits or does not
 * fit 64 bits, user 0, other spacing, anything more) with *out untouched.
 */
int access_msg_parse(const char *s, size_t len, access_msg_t *out);

/*
 * Writes m as "<kind> <user> <family>" with a NUL into out (cap bytes;
 * ACCESS_MSG_MAX + 1 always suffice). Returns its length, or -EINVAL (an
 * unknown kind, user 0) or -E2BIG (cap too small), out then undefined.
 * What it writes, access_msg_parse() reads back as m.
 */
int access_msg_format(const access_msg_t *m, char *out, size_t cap);

/* The kind's name as published ("rooms", "disabled", ...); a constant. */
const char *access_msg_kind_name(enum access_kind kind);

#endif
