/*
 * auth_route: the route table and static path rules. See auth_route.h.
 */
#include "auth/auth_route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *auth_method_name(auth_method_t m)
{
	static const char *const names[] = {
		[AUTH_M_GET] = "GET",     [AUTH_M_HEAD] = "HEAD",   [AUTH_M_POST] = "POST",
		[AUTH_M_PUT] = "PUT",     [AUTH_M_PATCH] = "PATCH", [AUTH_M_DELETE] = "DELETE",
		[AUTH_M_OTHER] = "OTHER",
	};
	return m <= AUTH_M_OTHER ? names[m] : "OTHER";
}

const char *auth_route_label(auth_route_id_t id)
{
	static const char *const names[AUTH_R_COUNT] = {
		[AUTH_R_NOT_FOUND] = "not_found",
		[AUTH_R_METHOD_NOT_ALLOWED] = "method_not_allowed",
		[AUTH_R_STATIC] = "static",
		[AUTH_R_HEALTHZ] = "healthz",
		[AUTH_R_READYZ] = "readyz",
		[AUTH_R_METRICS] = "metrics",
		[AUTH_R_TOKEN] = "token",
		[AUTH_R_REVOKE] = "revoke",
		[AUTH_R_INTROSPECT] = "introspect",
		[AUTH_R_AUDIT] = "audit",
		[AUTH_R_CHAT_TOKEN] = "chat_token",
		[AUTH_R_ME] = "me",
		[AUTH_R_CLIENT_CONFIG] = "client_config",
		[AUTH_R_ROOMS_LIST] = "rooms_list",
		[AUTH_R_ROOM_CREATE] = "room_create",
		[AUTH_R_ROOM_GET] = "room_get",
		[AUTH_R_ROOM_UPDATE] = "room_update",
		[AUTH_R_ROOM_DELETE] = "room_delete",
		[AUTH_R_MEMBERS_LIST] = "members_list",
		[AUTH_R_MEMBER_ADD] = "member_add",
		[AUTH_R_MEMBER_REMOVE] = "member_remove",
		[AUTH_R_CONSUME] = "consume",
		[AUTH_R_ACCESS] = "access",
		[AUTH_R_ARCHIVE_KEY] = "archive_key",
	};
	return (unsigned)id < AUTH_R_COUNT ? names[id] : "other";
}

/* Copies the segment of path at *pos up to '/' into out; false when empty,
 * too long, or holding a byte we never accept in a name. */
static bool take_segment(const char *path, size_t len, size_t *pos, char *out)
{
	size_t n = 0;

	while (*pos < len && path[*pos] != '/') {
		unsigned char c = (unsigned char)path[*pos];
		if (n == AUTH_SEGMENT_MAX || c < 0x20 || c == 0x7f)
			return false;
		out[n++] = (char)c;
		(*pos)++;
	}
	out[n] = '\0';
	return n > 0;
}

static void route_set(auth_route_t *r, bool ok, auth_route_id_t id, const char *allow)
{
	r->allow = allow;
	r->id = ok ? id : AUTH_R_METHOD_NOT_ALLOWED;
}

/* /api/rooms[/{room}[/members[/{nick}]]] */
static void route_rooms(auth_method_t m, const char *p, size_t len, auth_route_t *r)
{
	size_t pos = 0;

	if (len == 0) {
		route_set(r, m == AUTH_M_GET || m == AUTH_M_POST,
			  m == AUTH_M_GET ? AUTH_R_ROOMS_LIST : AUTH_R_ROOM_CREATE, "GET, POST");
		return;
	}
	if (p[0] != '/' || (pos = 1, !take_segment(p, len, &pos, r->room)))
		return;
	if (pos == len) {
		route_set(r,
			  m == AUTH_M_GET || m == AUTH_M_PATCH || m == AUTH_M_PUT ||
				  m == AUTH_M_DELETE,
			  m == AUTH_M_GET      ? AUTH_R_ROOM_GET
			  : m == AUTH_M_DELETE ? AUTH_R_ROOM_DELETE
					       : AUTH_R_ROOM_UPDATE,
			  "GET, PATCH, PUT, DELETE");
		return;
	}
	if (len - pos == 8 && memcmp(p + pos, "/members", 8) == 0) {
		route_set(r, m == AUTH_M_GET, AUTH_R_MEMBERS_LIST, "GET");
		return;
	}
	if (len - pos > 9 && memcmp(p + pos, "/members/", 9) == 0) {
		pos += 9;
		if (!take_segment(p, len, &pos, r->nick) || pos != len)
			return;
		route_set(r, m == AUTH_M_PUT || m == AUTH_M_DELETE,
			  m == AUTH_M_PUT ? AUTH_R_MEMBER_ADD : AUTH_R_MEMBER_REMOVE,
			  "PUT, DELETE");
	}
}

static bool path_is(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

static void route_public(auth_method_t m, const char *p, size_t len, auth_route_t *r)
{
	static const struct {
		const char *path;
		auth_method_t method;
		auth_route_id_t id;
	} fixed[] = {
		{"/oauth/token", AUTH_M_POST, AUTH_R_TOKEN},
		{"/oauth/revoke", AUTH_M_POST, AUTH_R_REVOKE},
		{"/oauth/introspect", AUTH_M_POST, AUTH_R_INTROSPECT},
		{"/oauth/audit", AUTH_M_POST, AUTH_R_AUDIT},
		{"/api/chat-token", AUTH_M_POST, AUTH_R_CHAT_TOKEN},
		{"/api/me", AUTH_M_GET, AUTH_R_ME},
		{"/api/client-config", AUTH_M_GET, AUTH_R_CLIENT_CONFIG},
		{"/healthz", AUTH_M_GET, AUTH_R_HEALTHZ},
		{"/readyz", AUTH_M_GET, AUTH_R_READYZ},
		{"/.well-known/eirc-archive-key", AUTH_M_GET, AUTH_R_ARCHIVE_KEY},
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (path_is(p, len, fixed[i].path)) {
			route_set(r, m == fixed[i].method, fixed[i].id,
				  fixed[i].method == AUTH_M_GET ? "GET" : "POST");
			return;
		}
	}
	if (len >= 10 && memcmp(p, "/api/rooms", 10) == 0) {
		route_rooms(m, p + 10, len - 10, r);
		return;
	}
	if ((len >= 5 && memcmp(p, "/api/", 5) == 0) || (len >= 7 && memcmp(p, "/oauth/", 7) == 0))
		return;
	route_set(r, m == AUTH_M_GET || m == AUTH_M_HEAD, AUTH_R_STATIC, "GET, HEAD");
}

void auth_route_match(auth_listener_t l, auth_method_t m, const char *path, size_t len,
		      auth_route_t *out)
{
	memset(out, 0, sizeof(*out));
	out->id = AUTH_R_NOT_FOUND;
	if (!path || len == 0 || len > AUTH_PATH_MAX || path[0] != '/' || memchr(path, '\0', len))
		return;
	if (l == AUTH_L_INTERNAL) {
		if (path_is(path, len, "/internal/chat-token/consume"))
			route_set(out, m == AUTH_M_POST, AUTH_R_CONSUME, "POST");
		else if (path_is(path, len, "/internal/access"))
			route_set(out, m == AUTH_M_POST, AUTH_R_ACCESS, "POST");
		else if (path_is(path, len, "/healthz"))
			route_set(out, m == AUTH_M_GET, AUTH_R_HEALTHZ, "GET");
		else if (path_is(path, len, "/readyz"))
			route_set(out, m == AUTH_M_GET, AUTH_R_READYZ, "GET");
		else if (path_is(path, len, "/metrics"))
			route_set(out, m == AUTH_M_GET, AUTH_R_METRICS, "GET");
		return;
	}
	route_public(m, path, len, out);
}

/* Checks one segment of a static path. */
static bool static_segment_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\' || c == ':')
			return false;
	}
	return true;
}

int auth_static_path(const char *path, size_t len, char *out, size_t cap)
{
	size_t start = 1, n;
	const char *index = "index.html";

	if (len == 0 || path[0] != '/' || len > AUTH_PATH_MAX)
		return -EINVAL;
	for (size_t i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		/* an empty last segment is "dir/": index.html is appended */
		if (!(i == len && i == start) && !static_segment_ok(path + start, i - start))
			return -EINVAL;
		start = i + 1;
	}
	n = len - 1;
	if (path[len - 1] == '/')
		n = len - 1 + strlen(index);
	if (n + 1 > cap)
		return -E2BIG;
	memcpy(out, path + 1, len - 1);
	if (path[len - 1] == '/')
		memcpy(out + len - 1, index, strlen(index));
	out[n] = '\0';
	return 0;
}

const char *auth_static_mime(const char *file)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
		{".webmanifest", "application/manifest+json"},
		{".woff2", "font/woff2"},
	};
	const char *dot = strrchr(file, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

int auth_web_csp(const char *gateway_url, char *const *ancestors, size_t n_ancestors, char *out,
		 size_t cap)
{
	char ws[300] = "";
	size_t len;
	int n;

	if (gateway_url &&
	    (strncmp(gateway_url, "ws://", 5) == 0 || strncmp(gateway_url, "wss://", 6) == 0)) {
		const char *host = strstr(gateway_url, "//") + 2;
		size_t hl = strcspn(host, "/?#");
		size_t sl = (size_t)(host - gateway_url);

		if (sl + hl + 2 > sizeof(ws))
			goto too_big;
		ws[0] = ' ';
		memcpy(ws + 1, gateway_url, sl + hl);
		ws[sl + hl + 1] = '\0';
	}
	n = snprintf(out, cap,
		     "default-src 'self'; script-src 'self'; style-src 'self'; "
		     "img-src 'self' data:; connect-src 'self'%s; object-src 'none'; "
		     "base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
		     ws);
	if (n < 0 || (size_t)n >= cap)
		goto too_big;
	len = (size_t)n;
	for (size_t i = 0; i < n_ancestors; i++) {
		n = snprintf(out + len, cap - len, " %s", ancestors[i]);
		if (n < 0 || (size_t)n >= cap - len)
			goto too_big;
		len += (size_t)n;
	}
	return 0;
too_big:
	if (cap)
		out[0] = '\0';
	return -E2BIG;
}
