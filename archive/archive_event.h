/*
 * archive_event: one archived event (a channel message, a membership change, a
 * logger gap, a direct message) and its compact binary record, the form
 * events take in the logger's memory queue and spill file.
 *
 * Record layout (all integers little-endian):
 *   u8 version (ARCHIVE_EVENT_VERSION), u8 type, i64 time (ms since epoch),
 *   then ARCHIVE_EVENT_NSTR strings in enum archive_event_str order, each u32 length
 *   plus bytes. Strings are byte strings (no NUL needed); each is bounded
 *   by its own limit below.
 *
 * Pure: encode/decode over caller memory, no I/O, no allocation. It does
 * not know IRC (lg_ingest.h turns IRC messages into events) nor Redis
 * (archive_append.h turns events into script calls).
 */
#ifndef EIRC_ARCHIVE_EVENT_H
#define EIRC_ARCHIVE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_EVENT_VERSION 1
/* Limits of one event's strings, in bytes. The tags limit is the IRCv3
 * tags section; text fits any IRC line; conv/target fit a key. */
#define ARCHIVE_EVENT_MSGID_MAX  128
#define ARCHIVE_EVENT_NAME_MAX   255 /* nick, user, host, account, network */
#define ARCHIVE_EVENT_TARGET_MAX 200
#define ARCHIVE_EVENT_TEXT_MAX   8191
#define ARCHIVE_EVENT_TAGS_MAX   8191
#define ARCHIVE_EVENT_ARG_MAX    512
/* Largest encoded record. */
#define ARCHIVE_EVENT_RECORD_MAX                                                                   \
	(10 + 11 * 4 + ARCHIVE_EVENT_MSGID_MAX + 5 * ARCHIVE_EVENT_NAME_MAX +                      \
	 2 * ARCHIVE_EVENT_TARGET_MAX + ARCHIVE_EVENT_TEXT_MAX + ARCHIVE_EVENT_TAGS_MAX +          \
	 ARCHIVE_EVENT_ARG_MAX)

enum archive_event_type {
	ARCHIVE_EV_PRIVMSG = 0,
	ARCHIVE_EV_NOTICE,
	ARCHIVE_EV_TAGMSG,
	ARCHIVE_EV_JOIN,
	ARCHIVE_EV_PART,
	ARCHIVE_EV_QUIT,
	ARCHIVE_EV_KICK,
	ARCHIVE_EV_NICK,
	ARCHIVE_EV_TOPIC,
	ARCHIVE_EV_MODE,
	ARCHIVE_EV_GAP, /* the logger was away: time = start, arg = end */
	ARCHIVE_EV_TYPE_COUNT,
};

/* The strings of an event. */
enum archive_event_str {
	ARCHIVE_S_MSGID = 0,
	ARCHIVE_S_NETWORK,
	ARCHIVE_S_CONV,   /* conversation key: folded channel, or dm:<lo>:<hi> */
	ARCHIVE_S_TARGET, /* the channel (or nick) as the server wrote it */
	ARCHIVE_S_NICK,
	ARCHIVE_S_USER,
	ARCHIVE_S_HOST,
	ARCHIVE_S_ACCOUNT,
	ARCHIVE_S_TEXT, /* message, reason, topic, mode string */
	ARCHIVE_S_TAGS, /* raw IRCv3 tags, escaped, without '@' */
	ARCHIVE_S_ARG,  /* KICK: kicked nick; NICK: new nick; GAP: end ms; PRIVMSG,
			   NOTICE, TAGMSG: a STATUSMSG's prefix ("@" of "@#c") */
	ARCHIVE_EVENT_NSTR,
};

typedef struct archive_str archive_str_t;
struct archive_str {
	const char *p; /* NULL only with n == 0 */
	size_t n;
};

typedef struct archive_event archive_event_t;
struct archive_event {
	enum archive_event_type type;
	int64_t time_ms;
	archive_str_t s[ARCHIVE_EVENT_NSTR];
};

/* The type's name as stored ("privmsg", "join", ...); NULL past the end. */
const char *archive_event_type_name(enum archive_event_type type);
/* The field name of a string as stored in Redis and Elasticsearch. */
const char *archive_event_str_name(enum archive_event_str s);

/* Bytes archive_event_encode() needs for ev. */
size_t archive_event_encoded_len(const archive_event_t *ev);

/*
 * Encodes ev into buf (capacity cap). Returns the length, -EINVAL when a
 * string is over its limit, msgid/network/conv is empty or the type is
 * unknown, or -ENOBUFS.
 */
int archive_event_encode(const archive_event_t *ev, void *buf, size_t cap);

/*
 * Decodes the record buf[0..len) into *out_ev, whose strings point into
 * buf. Returns 0, or -EBADMSG (wrong version, unknown type, string over
 * its limit, length not matching len exactly). *out_ev is untouched on
 * failure.
 */
int archive_event_decode(const void *buf, size_t len, archive_event_t *out_ev);

/*
 * Parses an IRCv3 server-time value ("YYYY-MM-DDThh:mm:ss[.fff]Z", UTC,
 * any number of fraction digits, only the first three used) into ms since
 * the epoch. Returns 0, or -EINVAL.
 */
int archive_event_time_parse(const char *s, size_t len, int64_t *out_ms);

/* Formats ms since the epoch as "YYYY-MM-DDThh:mm:ss.sssZ" (25 bytes with
 * the NUL). Returns the length (24), or -EINVAL for times before 1970 or
 * after 9999. */
int archive_event_time_format(int64_t ms, char *buf, size_t cap);

/* 64-bit FNV-1a of buf[0..len), continuing from h (start with
 * ARCHIVE_EVENT_FNV64_INIT). Used for derived ids; not for security. */
#define ARCHIVE_EVENT_FNV64_INIT UINT64_C(0xcbf29ce484222325)
uint64_t archive_event_fnv64(uint64_t h, const void *buf, size_t len);

#endif
