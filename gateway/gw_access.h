/*
 * gw_access: the gateway's side of access changes (docs/gateway.md,
 * "Access changes"). It keeps the live sessions (those relaying to an
 * irc-client) indexed by user id, with the token family each was opened
 * under. On an eirc:access message, on every (re)subscribe (resync: every
 * session), and every gateway.access_recheck (0 = never), it asks
 * eirc-auth's POST /internal/access about the sessions concerned, one
 * request per GW_ACCESS_BATCH_MAX sessions, and applies the answer: an
 * inactive session is ended (the browser gets "ERROR :Closing link: <why>",
 * then WebSocket close 4001 <why>, and the irc-client QUITs as on a
 * browser close); an active one is sent "EIRC ROOMS :<rooms>" on its
 * socketpair.
 *
 * It holds no Redis connection: gw_bus (the subscriber) calls
 * gw_access_event() and gw_access_resync(). One round of checks is in
 * flight at a time; what is asked meanwhile waits for the next round, so
 * the last answer applied was always asked after the last change.
 */
#ifndef EIRC_GW_ACCESS_H
#define EIRC_GW_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gw_session.h"

/* Most sessions in one POST /internal/access (eirc-auth answers 413 above). */
#define GW_ACCESS_BATCH_MAX 1000
/* Buckets of the by-user index (power of two). */
#define GW_ACCESS_BUCKETS 4096
/* Largest answer read: 1000 sessions of up to GW_AUTH_ROOMS_MAX rooms. */
#define GW_ACCESS_RESPONSE_MAX (8 * 1024 * 1024)
/* Events remembered for the sessions whose consume was in flight when
 * they came (the answer may predate the change). */
#define GW_ACCESS_RECENT_MAX 256
/* A failed round (eirc-auth unreachable, bad answer) is asked again after
 * this long, doubling up to the max. */
#define GW_ACCESS_RETRY_MIN_MS 500
#define GW_ACCESS_RETRY_MAX_MS 10000

typedef struct gw_access gw_access_t;

/*
 * Creates the access checker of srv (its loop, gateway.auth_internal_url,
 * auth.internal_secret, gateway.auth_timeout, its session table).
 * recheck_ms: period of the recheck of every session, 0 = none. Returns 0
 * and *out, or -ENOMEM.
 */
int gw_access_new(gw_server_t *srv, uint64_t recheck_ms, gw_access_t **out);

/*
 * Cancels the checks in flight (their answers are not applied) and closes
 * the timers; the memory is freed in their close callbacks. NULL is a
 * no-op. No gw_access_* call on a afterwards.
 */
void gw_access_close(gw_access_t *a);

/* A session started relaying (ss->user_id and ss->family set): indexed,
 * and checked at once when an event for its user came while its consume
 * was in flight. */
void gw_access_add(gw_access_t *a, gw_session_t *ss);
/* The session ends (before it is freed). Not added: no-op. */
void gw_access_remove(gw_access_t *a, gw_session_t *ss);

/*
 * One eirc:access message: kind ("rooms", "disabled", "deleted",
 * "signout", "revoked", "role"), user id, family (0: not applicable).
 * Schedules a check of that user's sessions here ("signout" with a
 * nonzero family: only that family's). Synchronous and cheap (marks, arms
 * a 0 ms timer); nothing when the user has no session here.
 */
void gw_access_event(gw_access_t *a, const char *kind, uint64_t user, uint64_t family);

/* The subscription was (re)established (messages may have been lost):
 * schedules a check of every session. */
void gw_access_resync(gw_access_t *a);

/* ---- pure, exposed for the unit tests ---- */

/* eirc-auth's verdict on one session. */
typedef struct gw_access_verdict {
	bool active;
	const char *why; /* inactive: "account disabled", "account deleted", "signed out" */
	char *rooms;     /* active: "#a,#b" or "" (malloc'd; free with gw_access_verdicts_free) */
} gw_access_verdict_t;

/*
 * Parses a 200 answer of POST /internal/access for n sessions into out[n].
 * Returns 0, or -EINVAL (not the documented shape, not n entries, an
 * unknown reason), or -ENOMEM; out is cleared on failure. Room names that
 * are too long or hold ',', ' ', CR or LF are left out.
 */
int gw_access_parse(const char *body, size_t len, size_t n, gw_access_verdict_t *out);
void gw_access_verdicts_free(gw_access_verdict_t *v, size_t n);

/* The request body for sessions[0..n): {"sessions":[{"user_id":…,"family":…},…]}
 * (malloc'd), or NULL when out of memory. */
char *gw_access_body(gw_session_t *const *sessions, size_t n);

#endif
