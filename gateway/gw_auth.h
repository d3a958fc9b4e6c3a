/*
 * gw_auth: the gateway's client of eirc-auth's internal API, on
 * common/http_client (libcurl on the gateway's libuv loop): the chat-token
 * consume below, and gw_auth_post for the other calls (gw_access's
 * checks; gw_auth_get for the readiness probe), on one pool of
 * connections. No thread, no blocking call.
 *
 *   POST {auth_internal_url}/internal/chat-token/consume
 *   Authorization: Bearer <auth.internal_secret>
 *   {"chat_token":…, "client_ip":…, "request_id":…}
 *
 * The answer is sorted into three outcomes: an identity (200 with a
 * usable document), refused (401: unknown, expired, used, disabled), or
 * unavailable (connection error, timeout, 5xx, anything else). The token
 * is only ever in the request body; nothing here logs.
 */
#ifndef EIRC_GW_AUTH_H
#define EIRC_GW_AUTH_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "common/http_client.h"

/* Longest URL of an internal endpoint (gateway.auth_internal_url + path). */
#define GW_AUTH_URL_MAX 4160
/* Largest answer read from eirc-auth. */
#define GW_AUTH_RESPONSE_MAX (256 * 1024)
/* Idle keep-alive connections to eirc-auth kept for reuse. */
#define GW_AUTH_POOL_MAX 32
/* Longest nick and display name taken from the identity. */
#define GW_AUTH_NICK_MAX    64
#define GW_AUTH_DISPLAY_MAX 256
/* Most rooms in each list; bytes of one room name. */
#define GW_AUTH_ROOMS_MAX     256
#define GW_AUTH_ROOM_NAME_MAX 64

typedef enum gw_auth_outcome {
	GW_AUTH_OK,
	GW_AUTH_REFUSED,
	GW_AUTH_UNAVAILABLE,
} gw_auth_outcome_t;

typedef struct gw_identity {
	uint64_t user_id;
	uint64_t family; /* token family of the login; 0 when eirc-auth names none */
	char nick[GW_AUTH_NICK_MAX + 1];
	char display_name[GW_AUTH_DISPLAY_MAX + 1]; /* "" when none */
	char *autojoin;                             /* "#a,#b" or NULL; owned by the identity */
	char *private_rooms;                        /* idem */
} gw_identity_t;

typedef struct gw_auth gw_auth_t;
typedef struct gw_auth_req gw_auth_req_t;

/*
 * Called exactly once per request that was started, unless it is
 * cancelled first. id is valid during the call only (NULL unless
 * GW_AUTH_OK; the callee may take its lists by setting them to NULL).
 * detail: a short text for the log ("401 used", "timeout", …), no token.
 */
typedef void (*gw_auth_cb)(void *arg, gw_auth_outcome_t outcome, gw_identity_t *id,
			   const char *detail);

/*
 * Creates the client on loop. url is the base URL, secret the Bearer
 * secret (copied; NULL sends none), timeout_ms per call. Returns 0 and
 * *out, or -ENOMEM. End it with gw_auth_close().
 */
int gw_auth_new(uv_loop_t *loop, const char *url, const char *secret, uint64_t timeout_ms,
		gw_auth_t **out);

/*
 * Starts a consume. Returns 0 and *out_req (a handle to cancel it, valid
 * until cb runs), or a negative errno (cb will not be called).
 */
int gw_auth_consume(gw_auth_t *a, const char *token, const char *client_ip, const char *request_id,
		    gw_auth_cb cb, void *arg, gw_auth_req_t **out_req);

/* Cancels a request in flight; its callback will not be called. */
void gw_auth_cancel(gw_auth_req_t *r);

/*
 * POSTs body (JSON, body_len bytes, borrowed until cb runs or the transfer
 * is cancelled) to path ("/internal/access") of eirc-auth's internal API:
 * the internal secret, the consume's timeout and its pool of connections,
 * which every caller of the internal API shares. Answers over answer_max
 * bytes fail. http_client_send()'s contract otherwise; -ENAMETOOLONG past
 * GW_AUTH_URL_MAX.
 */
int gw_auth_post(gw_auth_t *a, const char *path, const char *body, size_t body_len,
		 size_t answer_max, http_client_cb cb, void *ud, http_client_xfer_t **out_xfer);

/* GETs path ("/readyz") of eirc-auth's internal API: gw_auth_post's
 * contract without a body. */
int gw_auth_get(gw_auth_t *a, const char *path, size_t answer_max, http_client_cb cb, void *ud,
		http_client_xfer_t **out_xfer);

/*
 * "#a,#b" from a JSON array of room names, as eirc-auth's answers carry
 * them (the consume's lists, POST /internal/access's private_rooms):
 * names empty, longer than GW_AUTH_ROOM_NAME_MAX or holding ',', ' ', CR
 * or LF are left out. *out is malloc'd, or NULL when arr is no array or
 * names nothing usable. -EINVAL past GW_AUTH_ROOMS_MAX names, -ENOMEM.
 */
int gw_auth_rooms_join(json_t *arr, char **out);

/*
 * Cancels every request (no callback) and closes the libuv handles; the
 * memory is freed in their close callbacks. NULL is a no-op.
 */
void gw_auth_close(gw_auth_t *a);

/* Frees the lists of an identity (not the struct). */
void gw_identity_clear(gw_identity_t *id);

/*
 * Pure: fills *out from a consume answer body. Returns 0, or -EINVAL when
 * a required field (user_id, nick) is missing or a value is out of bounds.
 * Exposed for the unit tests.
 */
int gw_identity_parse(const char *body, size_t len, gw_identity_t *out);

#endif
