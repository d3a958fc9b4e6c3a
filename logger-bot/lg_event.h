/*
 * lg_event: one archived event (a channel message, a membership change, a
 * logger gap, a direct message) and its compact binary record, the form
 * events take in the logger's memory queue and spill file.
 *
 * Record layout (all integers little-endian):
 *   u8 version (LG_EVENT_VERSION), u8 type, i64 time (ms since epoch),
 *   then LG_EVENT_NSTR strings in enum lg_event_str order, each u32 length
 *   plus bytes. Strings are byte strings (no NUL needed); each is bounded
 *   by its own limit below.
 *
 * Pure: encode/decode over caller memory, no I/O, no allocation. It does
 * not know IRC (lg_ingest.h turns IRC messages into events) nor Redis
 * (lg_append.h turns events into script calls).
 */
#ifndef EIRC_LOGGER_LG_EVENT_H
#define EIRC_LOGGER_LG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_EVENT_VERSION 1
/* Limits of one event's strings, in bytes. The tags limit is the IRCv3
 * tags section; text fits any IRC line; conv/target fit a key. */
#define LG_EVENT_MSGID_MAX 128
#define LG_EVENT_NAME_MAX 255           /* nick, user, host, account, network */
#define LG_EVENT_TARGET_MAX 200
#define LG_EVENT_TEXT_MAX 8191
#define LG_EVENT_TAGS_MAX 8191
#define LG_EVENT_ARG_MAX 512
/* Largest encoded record. */
#define LG_EVENT_RECORD_MAX (10 + 11 * 4 + LG_EVENT_MSGID_MAX + 5 * LG_EVENT_NAME_MAX + \
                             2 * LG_EVENT_TARGET_MAX + LG_EVENT_TEXT_MAX + LG_EVENT_TAGS_MAX + \
                             LG_EVENT_ARG_MAX)

enum lg_event_type {
	LG_EV_PRIVMSG = 0,
	LG_EV_NOTICE,
	LG_EV_TAGMSG,
	LG_EV_JOIN,
	LG_EV_PART,
	LG_EV_QUIT,
	LG_EV_KICK,
	LG_EV_NICK,
	LG_EV_TOPIC,
	LG_EV_MODE,
	LG_EV_GAP,              /* the logger was away: time = start, arg = end */
	LG_EV_TYPE_COUNT,
};

/* The strings of an event. */
enum lg_event_str {
	LG_S_MSGID = 0,
	LG_S_NETWORK,
	LG_S_CONV,              /* conversation key: folded channel, or dm:<lo>:<hi> */
	LG_S_TARGET,            /* the channel (or nick) as the server wrote it */
	LG_S_NICK,
	LG_S_USER,
	LG_S_HOST,
	LG_S_ACCOUNT,
	LG_S_TEXT,              /* message, reason, topic, mode string */
	LG_S_TAGS,              /* raw IRCv3 tags, escaped, without '@' */
	LG_S_ARG,               /* KICK: kicked nick; NICK: new nick; GAP: end ms */
	LG_EVENT_NSTR,
};

struct lg_str {
	const char *p;          /* NULL only with n == 0 */
	size_t n;
};

struct lg_event {
	enum lg_event_type type;
	int64_t time_ms;
	struct lg_str s[LG_EVENT_NSTR];
};

/* The type's name as stored ("privmsg", "join", ...); NULL past the end. */
const char *lg_event_type_name(enum lg_event_type type);
/* Finds a type by its stored name; -EINVAL when unknown. */
int lg_event_type_parse(const char *name, size_t len, enum lg_event_type *out_type);
/* The field name of a string as stored in Redis and Elasticsearch. */
const char *lg_event_str_name(enum lg_event_str s);
/* The byte limit of a string. */
size_t lg_event_str_max(enum lg_event_str s);

/* Bytes lg_event_encode() needs for ev. */
size_t lg_event_encoded_len(const struct lg_event *ev);

/*
 * Encodes ev into buf (capacity cap). Returns the length, -EINVAL when a
 * string is over its limit, msgid/network/conv is empty or the type is
 * unknown, or -ENOBUFS.
 */
int lg_event_encode(const struct lg_event *ev, void *buf, size_t cap);

/*
 * Decodes the record buf[0..len) into *out_ev, whose strings point into
 * buf. Returns 0, or -EBADMSG (wrong version, unknown type, string over
 * its limit, length not matching len exactly). *out_ev is untouched on
 * failure.
 */
int lg_event_decode(const void *buf, size_t len, struct lg_event *out_ev);

/*
 * Parses an IRCv3 server-time value ("YYYY-MM-DDThh:mm:ss[.fff]Z", UTC,
 * any number of fraction digits, only the first three used) into ms since
 * the epoch. Returns 0, or -EINVAL.
 */
int lg_time_parse(const char *s, size_t len, int64_t *out_ms);

/* Formats ms since the epoch as "YYYY-MM-DDThh:mm:ss.sssZ" (25 bytes with
 * the NUL). Returns the length (24), or -EINVAL for times before 1970 or
 * after 9999. */
int lg_time_format(int64_t ms, char *buf, size_t cap);

/* 64-bit FNV-1a of buf[0..len), continuing from h (start with
 * LG_FNV64_INIT). Used for derived ids; not for security. */
#define LG_FNV64_INIT UINT64_C(0xcbf29ce484222325)
uint64_t lg_fnv64(uint64_t h, const void *buf, size_t len);

#endif
