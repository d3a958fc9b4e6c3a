/*
 * auth_route: which handler a request goes to, from its listener, method
 * and decoded path; and the pure half of static file serving (is this path
 * safe under web_root, and what is its Content-Type).
 *
 * Not here: reading files or sockets. The route table is small and flat on
 * purpose: eirc-auth has a dozen endpoints, each documented in docs/api.md.
 */
#ifndef EIRC_AUTH_ROUTE_H
#define EIRC_AUTH_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_PATH_MAX    1024 /* bytes of a request path */
#define AUTH_SEGMENT_MAX 128  /* bytes of a {room} or {nick} path segment */

typedef enum auth_method {
	AUTH_M_GET,
	AUTH_M_HEAD,
	AUTH_M_POST,
	AUTH_M_PUT,
	AUTH_M_PATCH,
	AUTH_M_DELETE,
	AUTH_M_OTHER,
} auth_method_t;

typedef enum auth_listener {
	AUTH_L_PUBLIC,
	AUTH_L_INTERNAL,
} auth_listener_t;

typedef enum auth_route_id {
	AUTH_R_NOT_FOUND,          /* 404 */
	AUTH_R_METHOD_NOT_ALLOWED, /* 405: path known, method not */
	AUTH_R_STATIC,             /* GET/HEAD a file of web_root */
	AUTH_R_HEALTHZ,            /* GET /healthz: liveness, always 200 */
	AUTH_R_READYZ,             /* GET /readyz: 200 with a database connection */
	AUTH_R_METRICS,            /* GET /metrics (internal listener only) */
	AUTH_R_TOKEN,              /* POST /oauth/token */
	AUTH_R_REVOKE,             /* POST /oauth/revoke */
	AUTH_R_INTROSPECT,         /* POST /oauth/introspect */
	AUTH_R_AUDIT,              /* POST /oauth/audit (resource servers) */
	AUTH_R_CHAT_TOKEN,         /* POST /api/chat-token */
	AUTH_R_ME,                 /* GET /api/me */
	AUTH_R_CLIENT_CONFIG,      /* GET /api/client-config (no token) */
	AUTH_R_ROOMS_LIST,         /* GET /api/rooms */
	AUTH_R_ROOM_CREATE,        /* POST /api/rooms */
	AUTH_R_ROOM_GET,           /* GET /api/rooms/{room} */
	AUTH_R_ROOM_UPDATE,        /* PATCH|PUT /api/rooms/{room} */
	AUTH_R_ROOM_DELETE,        /* DELETE /api/rooms/{room} */
	AUTH_R_MEMBERS_LIST,       /* GET /api/rooms/{room}/members */
	AUTH_R_MEMBER_ADD,         /* PUT /api/rooms/{room}/members/{nick} */
	AUTH_R_MEMBER_REMOVE,      /* DELETE /api/rooms/{room}/members/{nick} */
	AUTH_R_CONSUME,            /* POST /internal/chat-token/consume */
	AUTH_R_ACCESS,             /* POST /internal/access */
	AUTH_R_ARCHIVE_KEY,        /* GET /.well-known/eirc-archive-key */
	AUTH_R_COUNT,
} auth_route_id_t;

typedef struct auth_route {
	auth_route_id_t id;
	char room[AUTH_SEGMENT_MAX + 1]; /* {room}, "" when none */
	char nick[AUTH_SEGMENT_MAX + 1]; /* {nick}, "" when none */
	/* Methods allowed on the path, for the Allow header of a 405. */
	const char *allow;
} auth_route_t;

/*
 * Matches a decoded path (no query string) on a listener. Always fills
 * *out (AUTH_R_NOT_FOUND when nothing matches, including paths with NUL,
 * control bytes or over AUTH_PATH_MAX).
 */
void auth_route_match(auth_listener_t l, auth_method_t m, const char *path, size_t len,
		      auth_route_t *out);

/* Name of a route, the label of its requests in /metrics ("token"...). */
const char *auth_route_label(auth_route_id_t id);

/* Name of a method, for logs ("GET"...). */
const char *auth_method_name(auth_method_t m);

/*
 * Maps a URL path to a file path relative to web_root: "/" and paths
 * ending in "/" get "index.html"; the result never starts with '/', never
 * holds a "." or ".." segment, a backslash, NUL, control byte, or a
 * segment starting with '.' (no dotfiles). Returns 0 and writes at most
 * cap bytes with NUL into out; -EINVAL for a refused path; -E2BIG when it
 * does not fit.
 */
int auth_static_path(const char *path, size_t len, char *out, size_t cap);

/* Content-Type for a file name by extension; "application/octet-stream"
 * when unknown. */
const char *auth_static_mime(const char *file);

/*
 * The Content-Security-Policy of the web client's files: scripts, styles
 * and fetches from our own origin only, plus the gateway's origin for the
 * WebSocket (taken from gateway_url, "ws[s]://host[:port]/..."; a path
 * needs nothing more than 'self'), and frame-ancestors 'self' plus the
 * given origins (embed mode). Returns 0, or -E2BIG when out is too small
 * (out is then "").
 */
int auth_web_csp(const char *gateway_url, char *const *ancestors, size_t n_ancestors, char *out,
		 size_t cap);

#endif
