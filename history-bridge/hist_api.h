/*
 * hist_api: the pure part of eirc-history's HTTP API (hist_http.c does the
 * I/O): who may read which room, the per-user token bucket, a stored
 * stream entry as the JSON message the API answers, and the checks of the
 * query parameters. No I/O, no logging.
 *
 * Authorisation (docs/history.md): the identity is the `user` document of
 * eirc-auth's introspection answer (role, private_rooms, denied_rooms).
 * admin and auditor read every room. A room is private when it matches
 * irc_client.private_room_masks or is named in the user's private_rooms
 * (private rooms the user may join) or denied_rooms (private rooms the user
 * may not join); anything else is public. A private room is readable only
 * when it is in private_rooms and not in denied_rooms. Names are compared
 * with rfc1459 folding, as eirc-auth matches rooms.
 *
 * Also the two bounded tables of the API: introspection answers by token
 * (hist_cache) and token buckets by user (hist_rates).
 */
#ifndef EIRC_HIST_API_H
#define EIRC_HIST_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/tokbucket.h"
#include "history-bridge/hist_query.h"

typedef struct hist_cache_entry hist_cache_entry_t;
typedef struct hist_cache hist_cache_t;
typedef struct hist_rate hist_rate_t;
typedef struct hist_rates hist_rates_t;

/* Longest bearer token accepted (eirc-auth's are 43 bytes). */
#define HIST_API_TOKEN_MAX 256
/* Longest query parameter value kept (a msgid, a room, a search). */
#define HIST_API_PARAM_MAX 512
/* Introspection answers kept (active and inactive tokens). */
#define HIST_API_CACHE_MAX 1024
/* Users whose rate buckets are kept; the least recently used goes first. */
#define HIST_API_RATE_USERS_MAX 4096
/* Longest user key (introspection "sub") kept apart in the rate table. */
#define HIST_API_USER_MAX 63

enum hist_api_access {
	HIST_API_PUBLIC = 0, /* public room: any authenticated user */
	HIST_API_MEMBER,     /* private room the user is a member of */
	HIST_API_PRIVILEGED, /* admin or auditor */
	HIST_API_DENIED,     /* private room, not a member */
};

/*
 * Decides whether the identity document user (the introspection answer's
 * "user", may be NULL: nothing private readable, no privilege) may read
 * room[0..len). masks: irc_client.private_room_masks.
 */
enum hist_api_access hist_api_room_access(const json_t *user, const char *room, size_t len,
					  char *const *masks, size_t n_masks);

/* True for role admin or auditor in the identity document. */
bool hist_api_privileged(const json_t *user);
/* True for role auditor (exports). */
bool hist_api_is_auditor(const json_t *user);

/* Retry-After of a bucket that never refills (rate 0), in seconds. */
#define HIST_API_RETRY_NEVER_S 60

/*
 * Takes one request's token from b at now_ms. Returns true when granted;
 * otherwise false and *out_retry_s: whole seconds until one token is back
 * (tokbucket_wait_ms rounded up, at least 1; HIST_API_RETRY_NEVER_S when
 * it never will be).
 */
bool hist_rate_take(tokbucket_t *b, uint64_t now_ms, unsigned *out_retry_s);

/* Introspection answers by token. Zero it to start; hist_cache_clear()
 * drops the references at the end. */
struct hist_cache_entry {
	char token[HIST_API_TOKEN_MAX + 1];
	uint64_t expires_ms;
	json_t *intro;
};

struct hist_cache {
	hist_cache_entry_t e[HIST_API_CACHE_MAX];
	size_t n;
};

/* The answer kept for token (borrowed), or NULL when none or expired. */
json_t *hist_cache_get(hist_cache_t *c, const char *token, uint64_t now_ms);

/*
 * Keeps intro (a reference is taken) for token until now_ms + ttl_ms, in
 * an expired entry's place, a new one, or when all HIST_API_CACHE_MAX are
 * live, the place of the one expiring first. ttl_ms 0: nothing kept.
 * token longer than HIST_API_TOKEN_MAX: nothing kept.
 */
void hist_cache_put(hist_cache_t *c, const char *token, json_t *intro, uint64_t now_ms,
		    uint64_t ttl_ms);

/* Drops every entry. */
void hist_cache_clear(hist_cache_t *c);

/* Drops every entry whose answer's "sub" is user (eirc-auth's user id in
 * decimal): an access change of that user was published on the access
 * bus. Answers without "sub" (inactive tokens) are kept. */
void hist_cache_drop_user(hist_cache_t *c, uint64_t user);

/* Token buckets by user. Zero it to start. */
struct hist_rate {
	char user[HIST_API_USER_MAX + 1];
	uint64_t used_ms;
	tokbucket_t b;
};

struct hist_rates {
	hist_rate_t r[HIST_API_RATE_USERS_MAX];
	size_t n;
};

/* The bucket of user (a new, full one of rate tokens a second and burst
 * tokens (at least 1) when unknown; past HIST_API_RATE_USERS_MAX users it
 * takes the place of the least recently used), marked used at now_ms.
 * Users are compared on their first HIST_API_USER_MAX bytes. */
tokbucket_t *hist_rates_get(hist_rates_t *t, const char *user, uint64_t now_ms, unsigned rate,
			    unsigned burst);

/*
 * The JSON message of one stored entry (fields as XRANGE gives them):
 * {"msgid","time" (RFC 3339, ms, UTC),"type","nick","account" (null when
 * none),"text","tags" (object: value string, or true for a tag without
 * value)}. NULL for an entry that is not a message of the API (a logger
 * gap, fields missing) or when out of memory.
 */
json_t *hist_api_message(const hist_field_t *f, size_t n);

/* True when v[0..len) is a usable msgid cursor (1..CHATHIST_MSGID_MAX
 * printable bytes, no space). */
bool hist_api_cursor_ok(const char *v, size_t len);

/* True when t[0..len) is a bearer token's syntax (RFC 6750 b64token). */
bool hist_api_token_ok(const char *t, size_t len);

/* True when room[0..len) is a room the API serves: '#' or '&' first,
 * 1..CHATHIST_TARGET_MAX bytes, no control byte, space, ',' or DEL. */
bool hist_api_room_ok(const char *room, size_t len);

/*
 * Matches path[0..len) (decoded, as lws gives it) against
 * "/v1/rooms/{room}/messages": true and *out_room, *out_len (a span of
 * path, at least one byte, maybe not a room: check it with
 * hist_api_room_ok), or false for any other path (out params untouched).
 */
bool hist_api_messages_path(const char *path, size_t len, const char **out_room, size_t *out_len);

/*
 * The page size parameter s (NUL-terminated, "" when absent): "" gives
 * dflt, digits their value; either clamped to max. Returns 0 and *out, or
 * -EINVAL (not only digits, or 0; *out untouched).
 */
int hist_api_limit_parse(const char *s, uint32_t dflt, uint32_t max, uint32_t *out);

#endif
