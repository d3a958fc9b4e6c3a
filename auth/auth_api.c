/*
 * auth_api: the Bearer-protected JSON API (RFC 6750) and the internal
 * chat-token consume of the gateway.
 *
 *   POST /api/chat-token                      issue a single-use chat token
 *                                             (scope chat)
 *   GET  /api/me                              the caller's identity
 *   GET  /api/rooms[/{room}[/members]]        room metadata
 *   POST /api/rooms, PATCH|PUT|DELETE /api/rooms/{room},
 *   PUT|DELETE /api/rooms/{room}/members/{nick}   admins only
 *   POST /internal/chat-token/consume         internal listener, shared secret
 *
 * Chat-token issuance and consumption are one SQL statement each (the
 * consume is the UPDATE ... WHERE used_at IS NULL ... RETURNING that makes
 * exactly one caller win), each with its audit row in the same statement.
 */
#include "auth/auth_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_room.h"
#include "auth/auth_token.h"
#include "common/irc_casemap.h"

#define ROOM_NAME_MAX 64
#define TOPIC_MAX     390

/* A chat token only for an active user's access token with scope "chat";
 * answers (the new token's user or NULL, whether the access token is
 * active at all). */
static const char SQL_CHAT_ISSUE[] =
	"WITH t AS (SELECT t.user_id, u.nick, t.family,"
	"  'chat' = ANY (string_to_array(t.scope, ' ')) AS chat FROM access_tokens t"
	"  JOIN users u ON u.id = t.user_id"
	"  WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL"
	"  AND t.expires_at > now() AND NOT u.disabled),"
	" c AS (INSERT INTO chat_tokens (hash, user_id, expires_at, issued_ip, family)"
	"  SELECT decode($2, 'hex'), t.user_id,"
	"  now() + $3::bigint * interval '1 millisecond', $4::inet, t.family FROM t"
	"  WHERE t.chat RETURNING id, user_id),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip) SELECT 'chat_token.issue', c.user_id, t.nick,"
	"  'chat_token:' || c.id, $4::inet FROM c JOIN t USING (user_id))"
	" SELECT (SELECT user_id FROM c), EXISTS (SELECT 1 FROM t)";

/* The one statement of the consume: the UPDATE decides the single winner;
 * the other branch names why a loser lost. Both write their audit row. A
 * chat token of a login signed out since (its family revoked) loses as
 * "revoked". The identity gains the token's family (0: none). */
static const char SQL_CONSUME[] =
	"WITH c AS (UPDATE chat_tokens t SET used_at = now(), request_id = $2,"
	"  client_ip = $3::inet FROM users u"
	"  WHERE t.hash = decode($1, 'hex') AND t.used_at IS NULL"
	"  AND t.expires_at > now() AND u.id = t.user_id AND NOT u.disabled"
	"  AND NOT eirc_family_revoked(COALESCE(t.family, 0))"
	"  RETURNING t.id, t.user_id, u.nick, COALESCE(t.family, 0) AS family),"
	" d AS (SELECT t.used_at, t.expires_at, t.user_id, u.disabled,"
	"  COALESCE(t.family, 0) AS family"
	"  FROM chat_tokens t JOIN users u ON u.id = t.user_id"
	"  WHERE t.hash = decode($1, 'hex')),"
	" r AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM c) THEN NULL"
	"  WHEN NOT EXISTS (SELECT 1 FROM d) THEN 'unknown'"
	"  WHEN (SELECT disabled FROM d) THEN 'user_disabled'"
	"  WHEN eirc_family_revoked((SELECT family FROM d)) THEN 'revoked'"
	"  WHEN (SELECT expires_at FROM d) <= now() THEN 'expired'"
	"  ELSE 'used' END AS reason),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip, detail)"
	"  SELECT 'chat_token.consume', c.user_id, c.nick, 'chat_token:' || c.id,"
	"  $3::inet, jsonb_build_object('request_id', $2::text) FROM c"
	"  UNION ALL SELECT 'chat_token.consume_failed', (SELECT user_id FROM d),"
	"  NULL, NULL, $3::inet, jsonb_build_object('request_id', $2::text,"
	"  'reason', r.reason) FROM r WHERE r.reason IS NOT NULL)"
	" SELECT (SELECT (eirc_user_json(user_id)::jsonb"
	"  || jsonb_build_object('family', family)) FROM c)::text, r.reason FROM r";

static const char SQL_WHOAMI[] = "SELECT eirc_user_json(t.user_id)::text FROM access_tokens t"
				 " JOIN users u ON u.id = t.user_id"
				 " WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL"
				 " AND t.expires_at > now() AND NOT u.disabled";

/* $1 user id, $2 sees every room (admin/auditor), $3 room (NULL: all) */
static const char SQL_ROOMS[] =
	"SELECT COALESCE(json_agg(json_build_object('name', r.name,"
	" 'topic', r.topic, 'private', r.private, 'auto_join', r.auto_join,"
	" 'member', m.user_id IS NOT NULL) ORDER BY r.name_folded), '[]')::text"
	" FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id"
	" AND m.user_id = $1::bigint"
	" WHERE (NOT r.private OR m.user_id IS NOT NULL OR $2::boolean)"
	" AND ($3::text IS NULL OR r.name_folded = $3)";

static const char SQL_MEMBERS[] =
	"SELECT COALESCE(json_agg(json_build_object('nick', u.nick,"
	" 'display_name', u.display_name) ORDER BY u.nick_folded), '[]')::text,"
	" bool_or(u.id = $1::bigint), (SELECT count(*) FROM rooms"
	" WHERE name_folded = $2), (SELECT bool_or(private) FROM rooms"
	" WHERE name_folded = $2)"
	" FROM rooms r JOIN room_members m ON m.room_id = r.id"
	" JOIN users u ON u.id = m.user_id WHERE r.name_folded = $2";

/* Admin changes: $1 actor id, $2 actor nick, $3 ip, then the change.
 * Each answers: rows changed, whether the room (and user) exist, and the
 * users whose private-room membership changed (a bigint array, published
 * as "rooms"). Every CTE sees the rows as before the statement. */
static const char SQL_ROOM_CREATE[] =
	"WITH r AS (INSERT INTO rooms (name, name_folded, topic, private,"
	"  auto_join) VALUES ($4, $5, $6, $7::boolean, $8::boolean)"
	"  ON CONFLICT (name_folded) DO NOTHING RETURNING id, name),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip, detail) SELECT 'room.create', $1::bigint, $2, r.name,"
	"  $3::inet, jsonb_build_object('private', $7::boolean) FROM r)"
	" SELECT count(*), true, '{}' FROM r";

static const char SQL_ROOM_UPDATE[] =
	"WITH o AS (SELECT id, private FROM rooms WHERE name_folded = $4),"
	" r AS (UPDATE rooms SET topic = COALESCE($5, topic),"
	"  private = COALESCE($6::boolean, private),"
	"  auto_join = COALESCE($7::boolean, auto_join), updated_at = now()"
	"  WHERE name_folded = $4 RETURNING name, topic, private, auto_join),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip, detail) SELECT 'room.update', $1::bigint, $2, r.name,"
	"  $3::inet, jsonb_build_object('topic', r.topic, 'private', r.private,"
	"  'auto_join', r.auto_join) FROM r)"
	" SELECT (SELECT count(*) FROM r), true, (SELECT COALESCE(array_agg(m.user_id),"
	"  '{}') FROM room_members m JOIN o ON o.id = m.room_id, r"
	"  WHERE o.private <> r.private)::text";

static const char SQL_ROOM_DELETE[] =
	"WITH u AS (SELECT m.user_id FROM room_members m JOIN rooms o"
	"  ON o.id = m.room_id WHERE o.name_folded = $4 AND o.private),"
	" r AS (DELETE FROM rooms WHERE name_folded = $4 RETURNING name),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip) SELECT 'room.delete', $1::bigint, $2, r.name, $3::inet"
	"  FROM r)"
	" SELECT (SELECT count(*) FROM r), true,"
	" (SELECT COALESCE(array_agg(user_id), '{}') FROM u)::text";

static const char SQL_MEMBER_ADD[] =
	"WITH m AS (INSERT INTO room_members (room_id, user_id)"
	"  SELECT r.id, u.id FROM rooms r, users u"
	"  WHERE r.name_folded = $4 AND u.nick_folded = $5"
	"  ON CONFLICT DO NOTHING RETURNING room_id, user_id),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip, detail) SELECT 'room.member_add', $1::bigint, $2, $4,"
	"  $3::inet, jsonb_build_object('user_id', m.user_id) FROM m)"
	" SELECT (SELECT count(*) FROM m),"
	" EXISTS (SELECT 1 FROM rooms WHERE name_folded = $4)"
	" AND EXISTS (SELECT 1 FROM users WHERE nick_folded = $5),"
	" (SELECT COALESCE(array_agg(m.user_id), '{}') FROM m JOIN rooms r"
	"  ON r.id = m.room_id WHERE r.private)::text";

static const char SQL_MEMBER_REMOVE[] =
	"WITH m AS (DELETE FROM room_members WHERE room_id = (SELECT id FROM"
	"  rooms WHERE name_folded = $4) AND user_id = (SELECT id FROM users"
	"  WHERE nick_folded = $5) RETURNING room_id, user_id),"
	" a AS (INSERT INTO audit_log (event, actor_user_id, actor, subject,"
	"  client_ip, detail) SELECT 'room.member_remove', $1::bigint, $2, $4,"
	"  $3::inet, jsonb_build_object('user_id', m.user_id) FROM m)"
	" SELECT (SELECT count(*) FROM m), true, (SELECT COALESCE(array_agg(m.user_id),"
	"  '{}') FROM m JOIN rooms r ON r.id = m.room_id WHERE r.private)::text";

/* Reads the Bearer token; answers 401 (RFC 6750 §3.1) when unusable. */
static bool bearer_hash(auth_call_t *call, char out[AUTH_TOKEN_HASH_HEX + 1])
{
	const char *tok;
	size_t len;
	int r = auth_bearer_parse(call->req.authorization, &tok, &len);

	if (r == -ENOENT) {
		auth_reply_bearer_error(call, 401, NULL, "bearer token required");
		return false;
	}
	if (r < 0 || !auth_token_well_formed(tok, len)) {
		auth_reply_bearer_error(call, 401, "invalid_token",
					"malformed, unknown or expired token");
		return false;
	}
	auth_token_hash(tok, len, out);
	return true;
}

/* True when a query failed: the call is answered (auth_reply_db_error). */
static bool db_failed(auth_call_t *call, int status)
{
	if (status >= 0)
		return false;
	auth_reply_db_error(call, status);
	return true;
}

/* ---- POST /api/chat-token ---- */

static void chat_issue_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const eirc_config_auth_t *a = &auth_service_config(call->svc)->auth;

	if (db_failed(call, status))
		return;
	if (PQgetvalue(res, 0, 1)[0] != 't') {
		auth_reply_bearer_error(call, 401, "invalid_token",
					"unknown, revoked or expired token");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		auth_reply_bearer_error(call, 403, "insufficient_scope",
					"the token lacks scope chat");
		return;
	}
	call->resp.no_store = true;
	auth_reply_json(call, 200,
			json_pack("{s:s, s:I}", "chat_token", call->st.access, "expires_in",
				  (json_int_t)(a->chat_token_ttl / 1000)));
}

void auth_api_chat_token(auth_call_t *call)
{
	const eirc_config_auth_t *a = &auth_service_config(call->svc)->auth;
	char bh[AUTH_TOKEN_HASH_HEX + 1], ch[AUTH_TOKEN_HASH_HEX + 1], ttl[24];
	const char *p[4];

	if (!bearer_hash(call, bh))
		return;
	auth_token_new(call->st.access);
	auth_token_hash(call->st.access, AUTH_TOKEN_LEN, ch);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)a->chat_token_ttl);
	p[0] = bh;
	p[1] = ch;
	p[2] = ttl;
	p[3] = auth_call_ip(call);
	auth_call_query(call, SQL_CHAT_ISSUE, 4, p, chat_issue_done);
}

/* ---- POST /internal/chat-token/consume ---- */

static void consume_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *j;

	if (db_failed(call, status))
		return;
	call->resp.no_store = true;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		auth_reply_json(call, j ? 200 : 500, j);
		return;
	}
	auth_reply_json(call, 401,
			json_pack("{s:s, s:s}", "error", "invalid_token", "reason",
				  PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "unknown"));
}

/* Checks the internal shared secret (constant time); answers 401. */
static bool internal_authorized(auth_call_t *call)
{
	const char *secret = auth_service_config(call->svc)->auth.internal_secret;
	const char *tok;
	size_t len;

	if (secret && auth_bearer_parse(call->req.authorization, &tok, &len) == 0 &&
	    auth_secret_equal(tok, len, secret, strlen(secret)))
		return true;
	auth_reply_bearer_error(call, 401, "invalid_token", "internal secret required");
	return false;
}

/* Validates the consume body; answers 400 and returns false when bad. */
static bool consume_fields(auth_call_t *call, const char **tok, const char **ip, const char **rid)
{
	json_t *j = call->st.json;
	unsigned char buf[16];

	*tok = json_string_value(json_object_get(j, "chat_token"));
	*ip = json_string_value(json_object_get(j, "client_ip"));
	*rid = json_string_value(json_object_get(j, "request_id"));
	if (!*tok || !*ip || !*rid) {
		auth_reply_error(call, 400, "invalid_request",
				 "chat_token, "
				 "client_ip and request_id are required strings");
		return false;
	}
	if ((inet_pton(AF_INET, *ip, buf) != 1 && inet_pton(AF_INET6, *ip, buf) != 1) ||
	    !auth_text_ok(*rid, AUTH_REQUEST_ID_MAX) || !**rid) {
		auth_reply_error(call, 400, "invalid_request", "bad client_ip or request_id");
		return false;
	}
	return true;
}

/* A JSON object body, parsed into call->st.json; false when answered
 * already (415, 400). */
static bool json_body(auth_call_t *call)
{
	if (!auth_content_type_is(call->req.content_type, "application/json")) {
		auth_reply_error(call, 415, "invalid_request",
				 "Content-Type must be application/json");
		return false;
	}
	if (auth_json_parse_object(call->req.body ? call->req.body : "", call->req.body_len,
				   &call->st.json) < 0) {
		auth_reply_error(call, 400, "invalid_request", "malformed JSON");
		return false;
	}
	return true;
}

/* An internal call's preamble: the shared secret, then json_body(). */
static bool internal_json(auth_call_t *call)
{
	return internal_authorized(call) && json_body(call);
}

void auth_api_consume(auth_call_t *call)
{
	char th[AUTH_TOKEN_HASH_HEX + 1];
	const char *tok, *ip, *rid, *p[3];

	if (!internal_json(call))
		return;
	if (!consume_fields(call, &tok, &ip, &rid))
		return;
	if (!auth_token_well_formed(tok, strlen(tok))) {
		auth_reply_json(
			call, 401,
			json_pack("{s:s, s:s}", "error", "invalid_token", "reason", "unknown"));
		return;
	}
	auth_token_hash(tok, strlen(tok), th);
	p[0] = th;
	p[1] = rid;
	p[2] = ip;
	auth_call_query(call, SQL_CONSUME, 3, p, consume_done);
}

/* ---- POST /internal/access ---- */

/* For each (user, family) in order: inactive with the first reason that
 * holds (user gone, disabled, login signed out), or active with the user's
 * private rooms. $1, $2: bigint arrays of the same length. */
static const char SQL_ACCESS[] =
	"SELECT COALESCE(json_agg(CASE"
	"  WHEN u.id IS NULL THEN json_build_object('active', false, 'reason', 'deleted')"
	"  WHEN u.disabled THEN json_build_object('active', false, 'reason', 'disabled')"
	"  WHEN eirc_family_revoked(s.family)"
	"  THEN json_build_object('active', false, 'reason', 'signed_out')"
	"  ELSE json_build_object('active', true, 'private_rooms', COALESCE(("
	"   SELECT json_agg(r.name ORDER BY r.name_folded) FROM rooms r"
	"   JOIN room_members m ON m.room_id = r.id"
	"   WHERE r.private AND m.user_id = u.id), '[]'::json)) END"
	"  ORDER BY s.ord), '[]'::json)::text"
	" FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS s(user_id, family, ord)"
	" LEFT JOIN users u ON u.id = s.user_id";

static void access_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *list;

	if (db_failed(call, status))
		return;
	list = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	call->resp.no_store = true;
	auth_reply_json(call, list ? 200 : 500, list ? json_pack("{s:o}", "sessions", list) : NULL);
}

/* Appends "n," to the array text at *len (cap bytes, enough for it). */
static void array_put(char *a, size_t *len, json_int_t n)
{
	*len += (size_t)sprintf(a + *len, "%lld,", (long long)n);
}

/* Reads {"sessions":[{"user_id":u,"family":f},...]} into two PostgreSQL
 * array texts (malloc'd). Answers 400/413 and returns false when bad. */
static bool access_sessions(auth_call_t *call, char **out_users, char **out_fams)
{
	json_t *list = json_object_get(call->st.json, "sessions"), *e;
	size_t n = json_array_size(list), i, ul = 1, fl = 1;
	char *users, *fams;

	if (!json_is_array(list)) {
		auth_reply_error(call, 400, "invalid_request", "sessions must be an array");
		return false;
	}
	if (n > AUTH_ACCESS_SESSIONS_MAX) {
		auth_reply_error(call, 413, "invalid_request", "more than 1000 sessions");
		return false;
	}
	/* 20 digits and a comma per number, the braces, the NUL */
	users = malloc(n * 21 + 3);
	fams = malloc(n * 21 + 3);
	if (!users || !fams) {
		free(users);
		free(fams);
		auth_reply_error(call, 500, "server_error", "out of memory");
		return false;
	}
	users[0] = fams[0] = '{';
	json_array_foreach(list, i, e)
	{
		json_t *u = json_object_get(e, "user_id"), *f = json_object_get(e, "family");
		if (!json_is_integer(u) || json_integer_value(u) < 1 || !json_is_integer(f) ||
		    json_integer_value(f) < 0) {
			free(users);
			free(fams);
			auth_reply_error(call, 400, "invalid_request",
					 "each session needs user_id >= 1 and family >= 0");
			return false;
		}
		array_put(users, &ul, json_integer_value(u));
		array_put(fams, &fl, json_integer_value(f));
	}
	ul -= n > 0;
	fl -= n > 0;
	memcpy(users + ul, "}", 2);
	memcpy(fams + fl, "}", 2);
	*out_users = users;
	*out_fams = fams;
	return true;
}

void auth_api_access(auth_call_t *call)
{
	char *users, *fams;
	const char *p[2];

	if (!internal_json(call))
		return;
	if (!access_sessions(call, &users, &fams))
		return;
	p[0] = users;
	p[1] = fams;
	/* the pool copies the parameters */
	auth_call_query(call, SQL_ACCESS, 2, p, access_done);
	free(users);
	free(fams);
}

/* ---- bearer endpoints: whoami first, then the route ---- */

static const char *user_role(const auth_call_t *call)
{
	const char *r = json_string_value(json_object_get(call->st.user, "role"));
	return r ? r : "user";
}

static void user_id_str(const auth_call_t *call, char out[24])
{
	snprintf(out, 24, "%lld",
		 (long long)json_integer_value(json_object_get(call->st.user, "user_id")));
}

/* A room name as IRC allows it: '#' or '&', then 1..63 bytes without
 * spaces, commas, BELL or control bytes. */
static bool room_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > ROOM_NAME_MAX || (s[0] != '#' && s[0] != '&'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ',' || s[i] == 0x7f || s[i] == ':')
			return false;
	return auth_text_ok(s, ROOM_NAME_MAX);
}

static void json_text_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *j;

	if (db_failed(call, status))
		return;
	j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (call->req.route.id == AUTH_R_ROOM_GET) {
		json_t *room = json_incref(json_array_get(j, 0));
		json_decref(j);
		if (!room) {
			auth_reply_error(call, 404, "not_found", "no such room");
			return;
		}
		j = room;
	}
	auth_reply_json(call, 200, j);
}

static void rooms_list(auth_call_t *call, const char *room_fold)
{
	char uid[24];
	const char *role = user_role(call);
	const char *p[3];

	user_id_str(call, uid);
	p[0] = uid;
	p[1] = strcmp(role, "user") != 0 ? "true" : "false";
	p[2] = room_fold;
	auth_call_query(call, SQL_ROOMS, 3, p, json_text_done);
}

static void members_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	bool member;

	if (db_failed(call, status))
		return;
	member = !PQgetisnull(res, 0, 1) && PQgetvalue(res, 0, 1)[0] == 't';
	if (strcmp(PQgetvalue(res, 0, 2), "0") == 0) {
		auth_reply_error(call, 404, "not_found", "no such room");
		return;
	}
	/* a private room does not exist for a user outside it: the same 404
	 * as a room that does not, never a 403 that confirms its name */
	if (!member && strcmp(user_role(call), "user") == 0) {
		if (PQgetvalue(res, 0, 3)[0] == 't')
			auth_reply_error(call, 404, "not_found", "no such room");
		else
			auth_reply_error(call, 403, "forbidden", "members only");
		return;
	}
	auth_reply_json(call, 200, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
}

static void admin_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	bool changed, exists;

	if (db_failed(call, status))
		return;
	changed = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	exists = PQgetvalue(res, 0, 1)[0] == 't';
	/* committed: tell the live sessions (an empty list publishes nothing) */
	auth_bus_publish_users(auth_service_bus(call->svc), ACCESS_ROOMS, PQgetvalue(res, 0, 2), 0);
	switch (call->req.route.id) {
	case AUTH_R_ROOM_CREATE:
		if (!changed)
			auth_reply_error(call, 409, "conflict", "room exists");
		else
			auth_reply_empty(call, 201);
		return;
	case AUTH_R_MEMBER_ADD:
		if (!exists)
			auth_reply_error(call, 404, "not_found", "no such room or user");
		else
			auth_reply_empty(call, 204);
		return;
	default:
		if (!changed)
			auth_reply_error(call, 404, "not_found",
					 "no such room "
					 "or member");
		else
			auth_reply_empty(call, 204);
		return;
	}
}

/* Reads an optional JSON bool field into "true"/"false"/NULL; false if
 * present with another type. */
static bool opt_bool(json_t *j, const char *key, const char **out)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (!v)
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v) ? "true" : "false";
	return true;
}

/* Parses the JSON body of room create/update; answers on error. */
static bool room_body(auth_call_t *call, const char **name, const char **topic, const char **priv,
		      const char **autoj)
{
	json_t *j, *t;

	if (!json_body(call))
		return false;
	j = call->st.json;
	t = json_object_get(j, "topic");
	*name = json_string_value(json_object_get(j, "name"));
	*topic = json_string_value(t);
	if ((t && (!*topic || !auth_text_ok(*topic, TOPIC_MAX))) || !opt_bool(j, "private", priv) ||
	    !opt_bool(j, "auto_join", autoj) ||
	    (json_object_get(j, "name") && (!*name || !room_name_ok(*name)))) {
		auth_reply_error(call, 400, "invalid_request", "bad room field");
		return false;
	}
	return true;
}

/* Private exactly when the name matches irc_client.private_room_masks
 * (auth_room.h): answers 422 with the rule and returns false when `priv`
 * ("true"/"false"; NULL: unchanged) contradicts the name. */
static bool room_rule_ok(auth_call_t *call, const char *name, const char *priv)
{
	const eirc_config_irc_client_t *ic = &auth_service_config(call->svc)->irc_client;
	char why[AUTH_ROOM_WHY_MAX];

	if (!priv || auth_room_check(ic->private_room_masks, ic->n_private_room_masks, name,
				     strcmp(priv, "true") == 0, why, sizeof(why)) == 0)
		return true;
	auth_reply_error(call, 422, "invalid_room", why);
	return false;
}

static void room_admin(auth_call_t *call)
{
	const auth_route_t *rt = &call->req.route;
	char uid[24], rf[AUTH_SEGMENT_MAX + 1], nf[AUTH_SEGMENT_MAX + 1];
	const char *name = NULL, *topic = NULL, *priv = NULL, *autoj = NULL;
	const char *p[8], *sql;
	int n = 5;

	if (strcmp(user_role(call), "admin") != 0) {
		auth_reply_bearer_error(call, 403, "insufficient_scope", "admin role required");
		return;
	}
	if ((rt->id == AUTH_R_ROOM_CREATE || rt->id == AUTH_R_ROOM_UPDATE) &&
	    !room_body(call, &name, &topic, &priv, &autoj))
		return;
	if (rt->id == AUTH_R_ROOM_CREATE && !name) {
		auth_reply_error(call, 400, "invalid_request", "name is required");
		return;
	}
	if (!room_rule_ok(call, rt->id == AUTH_R_ROOM_CREATE ? name : rt->room,
			  rt->id == AUTH_R_ROOM_CREATE ? (priv ? priv : "false") : priv))
		return;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, rt->id == AUTH_R_ROOM_CREATE ? name : rt->room,
			     rf, sizeof(rf));
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, rt->nick, nf, sizeof(nf));
	user_id_str(call, uid);
	p[0] = uid;
	p[1] = json_string_value(json_object_get(call->st.user, "nick"));
	p[2] = auth_call_ip(call);
	p[3] = rf;
	p[4] = nf;
	switch (rt->id) {
	case AUTH_R_ROOM_CREATE:
		p[3] = name;
		p[4] = rf;
		p[5] = topic ? topic : "";
		p[6] = priv ? priv : "false";
		p[7] = autoj ? autoj : "false";
		n = 8;
		sql = SQL_ROOM_CREATE;
		break;
	case AUTH_R_ROOM_UPDATE:
		p[4] = topic;
		p[5] = priv;
		p[6] = autoj;
		n = 7;
		sql = SQL_ROOM_UPDATE;
		break;
	case AUTH_R_ROOM_DELETE:
		n = 4;
		sql = SQL_ROOM_DELETE;
		break;
	case AUTH_R_MEMBER_ADD:
		sql = SQL_MEMBER_ADD;
		break;
	default:
		sql = SQL_MEMBER_REMOVE;
		break;
	}
	auth_call_query(call, sql, n, p, admin_done);
}

static void whoami_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const auth_route_t *rt = &call->req.route;
	char rf[AUTH_SEGMENT_MAX + 1], uid[24];
	const char *p[2];

	if (db_failed(call, status))
		return;
	if (PQntuples(res) != 1 || !(call->st.user = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		auth_reply_bearer_error(call, 401, "invalid_token",
					"unknown, revoked or expired token");
		return;
	}
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, rt->room, rf, sizeof(rf));
	switch (rt->id) {
	case AUTH_R_ME:
		/* the private rooms the user is outside of are for eIRC's own
		 * services (consume, introspection), never shown to the user */
		json_object_del(call->st.user, "denied_rooms");
		auth_reply_json(call, 200, json_incref(call->st.user));
		return;
	case AUTH_R_ROOMS_LIST:
		rooms_list(call, NULL);
		return;
	case AUTH_R_ROOM_GET:
		rooms_list(call, rf);
		return;
	case AUTH_R_MEMBERS_LIST:
		user_id_str(call, uid);
		p[0] = uid;
		p[1] = rf;
		auth_call_query(call, SQL_MEMBERS, 2, p, members_done);
		return;
	default:
		room_admin(call);
		return;
	}
}

void auth_api_bearer(auth_call_t *call)
{
	char bh[AUTH_TOKEN_HASH_HEX + 1];
	const char *p[1];

	if (!bearer_hash(call, bh))
		return;
	p[0] = bh;
	auth_call_query(call, SQL_WHOAMI, 1, p, whoami_done);
}
