/*
 * auth_service: what eirc-auth does with a parsed HTTP request.
 *
 * The HTTP layer (auth_http.c) turns bytes into an auth_call_t (method,
 * route, the few headers we read, the body) and hands it to
 * auth_service_handle(); the service runs the database queries, password
 * checks and file reads the route needs, fills call->resp, and calls
 * call->done(call) exactly once, possibly before auth_service_handle()
 * returns. The HTTP layer owns the call: it frees it with auth_call_free()
 * after writing the response, or, when the peer left early, in done.
 *
 * Handlers live in auth_oauth.c (RFC 6749/7009/7662 endpoints), auth_api.c
 * (bearer API, rooms, the internal consume) and auth_service.c (dispatch,
 * responses, static files, health, the periodic purge). The SQL text is in
 * each handler, always with $n parameters.
 */
#ifndef EIRC_AUTH_SERVICE_H
#define EIRC_AUTH_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "auth/auth_bus.h"
#include "auth/auth_db.h"
#include "auth/auth_parse.h"
#include "auth/auth_pwhash.h"
#include "auth/auth_ratelimit.h"
#include "auth/auth_route.h"
#include "config/config.h"

#define AUTH_STATIC_FILE_MAX     (8u << 20) /* bytes of one served file */
#define AUTH_HEADER_VALUE_MAX    4096       /* bytes of a header we read */
#define AUTH_REQUEST_ID_MAX      128        /* bytes of a gateway request id */
#define AUTH_IP_MAX              64         /* bytes of a textual address */
#define AUTH_ACCESS_SESSIONS_MAX 1000       /* sessions of one POST /internal/access */

typedef struct auth_service auth_service_t;
typedef struct auth_call auth_call_t;

typedef struct auth_req {
	auth_listener_t listener;
	auth_method_t method;
	auth_route_t route;
	char path[AUTH_PATH_MAX + 1];
	char *content_type;     /* NULL when absent */
	char *authorization;    /* NULL when absent */
	char peer[AUTH_IP_MAX]; /* the client's address (auth_call_ip) */
	char *body;             /* NUL-terminated copy, may be NULL */
	size_t body_len;
} auth_req_t;

typedef struct auth_resp {
	int status;
	const char *content_type;
	char *body; /* malloc'd */
	size_t body_len;
	bool no_store; /* Cache-Control: no-store, Pragma: no-cache */
	bool close;    /* close the connection after this response */
	char www_authenticate[320];
	const char *allow;    /* Allow header of a 405 */
	const char *csp;      /* Content-Security-Policy, or NULL */
	unsigned retry_after; /* seconds; 0: no Retry-After */
} auth_resp_t;

/* Handler state: whatever a multi-step request carries between steps. */
typedef struct auth_call_state {
	auth_form_t form;
	json_t *json;        /* parsed JSON body */
	json_t *client;      /* row of oauth_clients */
	json_t *user;        /* row of users, or identity document */
	char *client_id;     /* as presented */
	char *client_secret; /* as presented, NULL for public clients */
	char *scope;
	char fold[AUTH_SEGMENT_MAX + 1];
	char login_at[64]; /* the attempt eirc_login_attempt recorded, as text */
	bool login_fills;  /* that attempt reached the per-account limit */
	char access[64], refresh[64];
	int step;
} auth_call_state_t;

struct auth_call {
	auth_service_t *svc;
	auth_req_t req;
	auth_resp_t resp;
	auth_call_state_t st;
	uint64_t started_ms;
	/* Set by the HTTP layer: called once when resp is ready. */
	void (*done)(auth_call_t *call);
	void *http; /* the HTTP layer's handle; NULL once the peer is gone */
};

/*
 * Creates the service on `loop` with `cfg` (not copied; must outlive it):
 * the database pool (connecting asynchronously), the access bus's Redis
 * publisher (auth_bus, connecting too), the archive's checkpoints and
 * the audit log's tree (auth_integrity, on the publisher's Redis
 * connection; a malformed integrity key is logged and fails it with
 * -EINVAL), the Argon2id verifier, the per-address rate limiter and the
 * purge timer. Returns 0 or a negative errno.
 */
int auth_service_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_service_t **out_svc);

/*
 * Stops the purge and integrity timers and closes the database pool and the publisher; done(arg)
 * runs when every handle is closed and the service is freed. Calls in flight finish with 503 first.
 * NULL is a no-op.
 */
void auth_service_close(auth_service_t *svc, void (*done)(void *), void *arg);

/* Runs the call; see the contract at the top. */
void auth_service_handle(auth_service_t *svc, auth_call_t *call);

/* NULL when eirc-auth can serve (a database connection is up, what
 * /readyz answers 200 on), else why not: systemd's READY=1 waits for it. */
const char *auth_service_not_ready(const auth_service_t *svc);

/* A new call (zeroed, svc set), or NULL; free with auth_call_free. */
auth_call_t *auth_call_new(auth_service_t *svc);
void auth_call_free(auth_call_t *call);

/* ---- shared by the handler files, not for the HTTP layer ---- */

const eirc_config_t *auth_service_config(const auth_service_t *svc);
auth_pwhash_t *auth_service_pwhash(auth_service_t *svc);
auth_bus_t *auth_service_bus(auth_service_t *svc);
auth_ratelimit_t *auth_service_rl_ip(auth_service_t *svc);
uint64_t auth_service_now_ms(const auth_service_t *svc);

/* Finishes the call: resp is final. */
void auth_call_finish(auth_call_t *call);
/* Sets a JSON response (steals obj) and finishes. */
void auth_reply_json(auth_call_t *call, int status, json_t *obj);
/* {"error": code, "error_description": desc} with no-store, and finishes. */
void auth_reply_error(auth_call_t *call, int status, const char *code, const char *desc);
/* RFC 6750 §3: 401/403 with WWW-Authenticate: Bearer ..., and finishes.
 * code NULL: the request had no token (no error attribute). */
void auth_reply_bearer_error(auth_call_t *call, int status, const char *code, const char *desc);
/* An empty 2xx/4xx response with no body, and finishes. */
void auth_reply_empty(auth_call_t *call, int status);
/* 503 "database unavailable" style answer for a failed query status. */
void auth_reply_db_error(auth_call_t *call, int status);

/* Runs a query for the call; on refusal answers 503 and returns false. */
bool auth_call_query(auth_call_t *call, const char *sql, int n, const char *const *params,
		     auth_db_cb cb);

/* Handlers. */
void auth_oauth_token(auth_call_t *call);
void auth_oauth_revoke(auth_call_t *call);
void auth_oauth_introspect(auth_call_t *call);
void auth_oauth_audit(auth_call_t *call);
void auth_api_chat_token(auth_call_t *call);
void auth_api_bearer(auth_call_t *call); /* me, rooms, members */
void auth_api_consume(auth_call_t *call);
void auth_api_access(auth_call_t *call); /* POST /internal/access */

/* The client's textual IP for SQL (inet) and the per-address limits: the
 * TCP peer (IPv4-mapped as IPv4), or X-Forwarded-For behind a trusted proxy. */
const char *auth_call_ip(const auth_call_t *call);

#endif
