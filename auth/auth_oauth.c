/*
 * auth_oauth: the OAuth 2.0 endpoints.
 *
 *   POST /oauth/token       RFC 6749 §4.3 password, §6 refresh_token (with
 *                           rotation and replay detection), §4.4
 *                           client_credentials; errors per §5.2
 *   POST /oauth/revoke      RFC 7009
 *   POST /oauth/introspect  RFC 7662 (confidential clients only)
 *   POST /oauth/audit       an audit row for a user's action at a resource
 *                           server (eirc-history's exports)
 *
 * Bodies are application/x-www-form-urlencoded (RFC 6749 §4.3.2). Clients
 * authenticate with HTTP Basic or client_id/client_secret in the body,
 * never both (§2.3). Every response carries Cache-Control: no-store (§5.1).
 */
#include "auth/auth_service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_token.h"
#include "common/irc_casemap.h"

#define NICK_MAX  30
#define SCOPE_MAX 256

/* The client (by client_id) and, for the password grant, the user (by
 * folded nick), as JSON rows; either may be NULL. */
static const char SQL_LOOKUP[] =
	"SELECT (SELECT row_to_json(c) FROM (SELECT id, client_id,"
	"  encode(secret_hash, 'hex') AS secret_hash, grants, scope, disabled"
	"  FROM oauth_clients WHERE client_id = $1) c)::text,"
	" (SELECT row_to_json(u) FROM (SELECT id, nick, password_hash, disabled"
	"  FROM users WHERE nick_folded = $2) u)::text";

static const char SQL_ISSUE[] = "SELECT eirc_issue($1::bigint, $2::bigint, $3, decode($4, 'hex'),"
				" $5::bigint, decode($6, 'hex'), $7::bigint, $8::inet, $9, $10)";

static const char SQL_LOGIN_FAILED[] =
	"INSERT INTO audit_log (event, actor_user_id, actor, client_ip, detail)"
	" VALUES ($1, $2::bigint, $3, $4::inet,"
	" jsonb_build_object('reason', $5::text, 'client', $6::text))";

static const char SQL_REFRESH[] = "SELECT eirc_refresh(decode($1, 'hex'), $2::bigint, $3,"
				  " decode($4, 'hex'), $5::bigint, decode($6, 'hex'), $7::bigint,"
				  " $8::inet)::text";

static const char SQL_REVOKE[] = "SELECT kind, user_id, family"
				 " FROM eirc_revoke(decode($1, 'hex'), $2::bigint, $3::inet)";

static const char SQL_INTROSPECT[] =
	"SELECT json_build_object('active', true, 'scope', t.scope,"
	" 'client_id', c.client_id, 'token_type', 'Bearer',"
	" 'exp', extract(epoch FROM t.expires_at)::bigint,"
	" 'iat', extract(epoch FROM t.created_at)::bigint,"
	" 'sub', t.user_id::text, 'username', u.nick, 'role', u.role,"
	" 'user', CASE WHEN t.user_id IS NULL THEN NULL"
	"  ELSE eirc_user_json(t.user_id) END)::text"
	" FROM access_tokens t JOIN oauth_clients c ON c.id = t.client_id"
	" LEFT JOIN users u ON u.id = t.user_id"
	" WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL"
	" AND t.expires_at > now() AND NOT c.disabled"
	" AND (u.id IS NULL OR NOT u.disabled)";

static void invalid_client(auth_call_t *call, const char *desc)
{
	snprintf(call->resp.www_authenticate, sizeof(call->resp.www_authenticate),
		 "Basic realm=\"eirc\"");
	auth_reply_error(call, 401, "invalid_client", desc);
}

/* Checks the content type and parses the form; answers on error. */
static bool form_body(auth_call_t *call)
{
	int r;

	if (!auth_content_type_is(call->req.content_type, "application/x-www-form-urlencoded")) {
		auth_reply_error(call, 400, "invalid_request",
				 "Content-Type must "
				 "be application/x-www-form-urlencoded");
		return false;
	}
	r = auth_form_parse(call->req.body ? call->req.body : "", call->req.body_len,
			    &call->st.form);
	if (r < 0) {
		auth_reply_error(call, 400, "invalid_request",
				 r == -E2BIG ? "too many or too long parameters"
					     : "malformed or repeated parameter");
		return false;
	}
	return true;
}

/* Reads the client's credentials (§2.3.1); answers on error. */
static bool client_credentials(auth_call_t *call)
{
	const char *id = auth_form_get(&call->st.form, "client_id");
	const char *secret = auth_form_get(&call->st.form, "client_secret");
	int r = auth_basic_parse(call->req.authorization, &call->st.client_id,
				 &call->st.client_secret);

	if (r == -EINVAL || (r == -ENOENT && call->req.authorization)) {
		invalid_client(call, "malformed Authorization header");
		return false;
	}
	if (r == 0) {
		if (secret || (id && strcmp(id, call->st.client_id) != 0)) {
			auth_reply_error(call, 400, "invalid_request",
					 "use one "
					 "client authentication method");
			return false;
		}
		return true;
	}
	if (!id || !*id || strlen(id) > AUTH_CREDENTIAL_MAX ||
	    (secret && strlen(secret) > AUTH_CREDENTIAL_MAX)) {
		invalid_client(call, "client authentication required");
		return false;
	}
	call->st.client_id = strdup(id);
	call->st.client_secret = secret ? strdup(secret) : NULL;
	return true;
}

static bool grant_allowed(json_t *client, const char *grant)
{
	json_t *g = json_object_get(client, "grants"), *v;
	size_t i;

	json_array_foreach(g, i, v) if (json_is_string(v) &&
					strcmp(json_string_value(v), grant) == 0) return true;
	return false;
}

/* Authenticates the looked-up client; answers and returns false on error. */
static bool client_check(auth_call_t *call, const char *grant, bool confidential_only)
{
	json_t *c = call->st.client;
	const char *stored = json_string_value(json_object_get(c, "secret_hash"));
	const char *secret = call->st.client_secret;
	char h[AUTH_TOKEN_HASH_HEX + 1];

	if (!c || json_is_true(json_object_get(c, "disabled")) || (stored && !secret) ||
	    (!stored && secret) || (!stored && confidential_only)) {
		invalid_client(call, "unknown client or bad credentials");
		return false;
	}
	if (stored) {
		auth_token_hash(secret, strlen(secret), h);
		if (!auth_secret_equal(h, strlen(h), stored, strlen(stored))) {
			invalid_client(call, "unknown client or bad credentials");
			return false;
		}
	}
	if (grant && !grant_allowed(c, grant)) {
		auth_reply_error(call, 400, "unauthorized_client",
				 "grant type not allowed for this client");
		return false;
	}
	return true;
}

/* True when every scope token of `want` is in the space list `have`. */
static bool scope_subset(const char *want, const char *have)
{
	const char *p = want;

	while (*p) {
		size_t n = strcspn(p, " ");
		const char *h = have;
		bool found = false;
		while (*h && !found) {
			size_t m = strcspn(h, " ");
			found = m == n && n > 0 && memcmp(h, p, n) == 0;
			h += m + (h[m] == ' ');
		}
		if (n > 0 && !found)
			return false;
		p += n + (p[n] == ' ');
	}
	return true;
}

/* Picks the scope: requested (validated) or the client's; answers on error. */
static bool choose_scope(auth_call_t *call)
{
	const char *want = auth_form_get(&call->st.form, "scope");
	const char *have = json_string_value(json_object_get(call->st.client, "scope"));

	if (!have)
		have = "";
	if (!want) {
		call->st.scope = strdup(have);
		return call->st.scope != NULL;
	}
	for (const char *p = want; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || p - want > SCOPE_MAX) {
			auth_reply_error(call, 400, "invalid_scope", "bad scope");
			return false;
		}
	}
	if (!scope_subset(want, have)) {
		auth_reply_error(call, 400, "invalid_scope", "scope not allowed for this client");
		return false;
	}
	call->st.scope = strdup(want);
	return call->st.scope != NULL;
}

/* Parses the lookup row into st.client and st.user. */
static void lookup_rows(auth_call_t *call, const PGresult *res)
{
	for (int col = 0; col < 2; col++) {
		json_t *j = NULL;
		if (!PQgetisnull(res, 0, col))
			j = json_loads(PQgetvalue(res, 0, col), 0, NULL);
		if (col == 0)
			call->st.client = j;
		else
			call->st.user = j;
	}
}

/* True when a query failed: the call is answered (auth_reply_db_error). */
static bool db_failed(auth_call_t *call, int status)
{
	if (status >= 0)
		return false;
	auth_reply_db_error(call, status);
	return true;
}

/* The answer to a client lookup: false when the call is answered already
 * (a database error, or client_check refused the client); otherwise the
 * rows are in st.client and st.user and the client passed client_check. */
static bool lookup_checked(auth_call_t *call, int status, const PGresult *res, const char *grant,
			   bool confidential_only)
{
	if (db_failed(call, status))
		return false;
	lookup_rows(call, res);
	return client_check(call, grant, confidential_only);
}

static void tokens_reply(auth_call_t *call, bool with_refresh)
{
	const eirc_config_auth_t *a = &auth_service_config(call->svc)->auth;
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "access_token", call->st.access, "token_type",
			      "Bearer", "expires_in", (json_int_t)(a->access_token_ttl / 1000),
			      "scope", call->st.scope ? call->st.scope : "");

	if (o && with_refresh)
		json_object_set_new(o, "refresh_token", json_string(call->st.refresh));
	call->resp.no_store = true;
	auth_reply_json(call, 200, o);
}

static void issue_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;

	(void)res;
	if (db_failed(call, status))
		return;
	tokens_reply(call, call->st.refresh[0] != '\0');
}

/* The query parameters of new tokens, as text. */
typedef struct minted {
	char ah[AUTH_TOKEN_HASH_HEX + 1]; /* hash of st.access */
	char rh[AUTH_TOKEN_HASH_HEX + 1]; /* hash of st.refresh (when made) */
	char attl[24], rttl[24];          /* their lifetimes, ms */
	char cid[24];                     /* the client's id */
} minted_t;

/* Makes a new access token (and refresh token when asked) in call->st. */
static void mint(auth_call_t *call, bool refresh, minted_t *m)
{
	const eirc_config_auth_t *a = &auth_service_config(call->svc)->auth;

	auth_token_new(call->st.access);
	auth_token_hash(call->st.access, AUTH_TOKEN_LEN, m->ah);
	if (refresh) {
		auth_token_new(call->st.refresh);
		auth_token_hash(call->st.refresh, AUTH_TOKEN_LEN, m->rh);
	}
	snprintf(m->attl, sizeof(m->attl), "%llu", (unsigned long long)a->access_token_ttl);
	snprintf(m->rttl, sizeof(m->rttl), "%llu", (unsigned long long)a->refresh_token_ttl);
	snprintf(m->cid, sizeof(m->cid), "%lld",
		 (long long)json_integer_value(json_object_get(call->st.client, "id")));
}

/* Issues new tokens for the user (NULL for client_credentials). */
static void issue(auth_call_t *call, const char *user_id, bool refresh, const char *event,
		  const char *actor)
{
	minted_t m;
	const char *p[10];

	mint(call, refresh, &m);
	p[0] = m.cid;
	p[1] = user_id;
	p[2] = call->st.scope;
	p[3] = m.ah;
	p[4] = m.attl;
	p[5] = refresh ? m.rh : NULL;
	p[6] = m.rttl;
	p[7] = auth_call_ip(call);
	p[8] = event;
	p[9] = actor;
	auth_call_query(call, SQL_ISSUE, 10, p, issue_done);
}

/* ---- password grant ---- */

/*
 * Two limits, independent of each other. Per address: in memory, per
 * process (auth_ratelimit), checked before anything else. Per account
 * name: in the database, so it holds across every eirc-auth process and
 * every source address; eirc_login_attempt records the attempt before its
 * password is checked (migration 003), a success deletes the row. Unknown
 * names take the same path (and the dummy hash), so neither the answer nor
 * its timing tells whether an account exists.
 */
static const char SQL_LOGIN_ATTEMPT[] = "SELECT retry_after_ms, recorded_at::text, fills"
					" FROM eirc_login_attempt($1, $2::integer, $3::bigint)";

static const char SQL_LOGIN_OK[] = "DELETE FROM login_failures WHERE account = $1";

/* Takes back an attempt whose password was never checked. */
static const char SQL_LOGIN_UNDO[] = "UPDATE login_failures"
				     " SET times = array_remove(times, $2::timestamptz)"
				     " WHERE account = $1";

/* 429 with Retry-After: the address or the account is locked out. */
static void login_too_many(auth_call_t *call, uint64_t left_ms)
{
	call->resp.retry_after = (unsigned)((left_ms + 999) / 1000);
	auth_reply_error(call, 429, "invalid_request", "too many failed logins, retry later");
}

static void login_failed_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;

	(void)status;
	(void)res;
	auth_reply_error(call, 400, "invalid_grant", "invalid username or password");
}

static void login_failed(auth_call_t *call, const char *reason)
{
	auth_service_t *svc = call->svc;
	char ipkey[AUTH_IP_MAX + 4], uid[24] = "";
	const char *p[6];
	uint64_t lock_ip;

	snprintf(ipkey, sizeof(ipkey), "ip:%s", auth_call_ip(call));
	lock_ip = auth_ratelimit_fail(auth_service_rl_ip(svc), ipkey, auth_service_now_ms(svc));
	if (call->st.user)
		snprintf(uid, sizeof(uid), "%lld",
			 (long long)json_integer_value(json_object_get(call->st.user, "id")));
	p[0] = lock_ip || call->st.login_fills ? "login.locked" : "login.failed";
	p[1] = uid[0] ? uid : NULL;
	p[2] = auth_form_get(&call->st.form, "username");
	p[3] = auth_call_ip(call);
	p[4] = reason;
	p[5] = call->st.client_id;
	auth_call_query(call, SQL_LOGIN_FAILED, 6, p, login_failed_done);
}

static void login_ok_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *u = call->st.user;
	char uid[24];

	(void)res;
	if (db_failed(call, status))
		return;
	snprintf(uid, sizeof(uid), "%lld", (long long)json_integer_value(json_object_get(u, "id")));
	issue(call, uid, true, "login.ok", json_string_value(json_object_get(u, "nick")));
}

static void password_checked(void *data, bool match)
{
	auth_call_t *call = data;
	json_t *u = call->st.user;
	const char *p[1] = {call->st.fold};

	if (!u || !match) {
		login_failed(call, u ? "bad_password" : "unknown_user");
		return;
	}
	if (json_is_true(json_object_get(u, "disabled"))) {
		login_failed(call, "user_disabled");
		return;
	}
	auth_call_query(call, SQL_LOGIN_OK, 1, p, login_ok_done);
}

static void login_undo_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;

	(void)status; /* not taken back: it counts as one failure, no more */
	(void)res;
	call->resp.retry_after = 1;
	auth_reply_error(call, 503, "temporarily_unavailable",
			 "too many logins in progress, retry later");
}

/* The attempt is recorded (or refused): check the password. */
static void login_attempt_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *hash, *p[2];
	unsigned long long left;
	char *end;

	if (db_failed(call, status))
		return;
	left = strtoull(PQgetvalue(res, 0, 0), &end, 10);
	if (*end || PQgetvalue(res, 0, 0)[0] == '-') {
		auth_reply_error(call, 500, "server_error", "database error");
		return;
	}
	if (left > 0) {
		login_too_many(call, left);
		return;
	}
	snprintf(call->st.login_at, sizeof(call->st.login_at), "%s", PQgetvalue(res, 0, 1));
	call->st.login_fills = PQgetvalue(res, 0, 2)[0] == 't';
	hash = json_string_value(json_object_get(call->st.user, "password_hash"));
	if (auth_pwhash_verify(auth_service_pwhash(call->svc), hash,
			       auth_form_get(&call->st.form, "password"), password_checked,
			       call) < 0) {
		p[0] = call->st.fold;
		p[1] = call->st.login_at;
		auth_call_query(call, SQL_LOGIN_UNDO, 2, p, login_undo_done);
	}
}

static void password_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const eirc_config_auth_t *a = &auth_service_config(call->svc)->auth;
	char limit[24], window[24];
	const char *p[3] = {call->st.fold, limit, window};

	if (!lookup_checked(call, status, res, "password", false) || !choose_scope(call))
		return;
	snprintf(limit, sizeof(limit), "%d", a->login_attempts_per_account);
	snprintf(window, sizeof(window), "%llu", (unsigned long long)a->login_account_window);
	auth_call_query(call, SQL_LOGIN_ATTEMPT, 3, p, login_attempt_done);
}

/* Answers 429 when the address is locked out. */
static bool address_locked(auth_call_t *call)
{
	auth_service_t *svc = call->svc;
	char ipkey[AUTH_IP_MAX + 4];
	uint64_t left;

	snprintf(ipkey, sizeof(ipkey), "ip:%s", auth_call_ip(call));
	left = auth_ratelimit_check(auth_service_rl_ip(svc), ipkey, auth_service_now_ms(svc));
	if (!left)
		return false;
	login_too_many(call, left);
	return true;
}

static void grant_password(auth_call_t *call)
{
	const char *user = auth_form_get(&call->st.form, "username");
	const char *pass = auth_form_get(&call->st.form, "password");
	const char *p[2];

	if (!user || !pass || !*user || !*pass) {
		auth_reply_error(call, 400, "invalid_request",
				 "username and password are required");
		return;
	}
	if (strlen(user) > NICK_MAX || strlen(pass) > AUTH_PASSWORD_MAX ||
	    !auth_text_ok(user, NICK_MAX)) {
		auth_reply_error(call, 400, "invalid_grant", "invalid username or password");
		return;
	}
	irc_casemap_fold(IRC_CASEMAP_RFC1459, user, strlen(user) + 1, call->st.fold);
	if (address_locked(call))
		return;
	p[0] = call->st.client_id;
	p[1] = call->st.fold;
	auth_call_query(call, SQL_LOOKUP, 2, p, password_lookup_done);
}

/* ---- refresh_token grant ---- */

static void refresh_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *j;
	const char *err;

	if (db_failed(call, status))
		return;
	j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	err = json_string_value(json_object_get(j, "error"));
	if (err) {
		const char *reason = json_string_value(json_object_get(j, "reason"));
		json_t *uid = json_object_get(j, "user_id");
		char desc[96];

		/* a replayed refresh token revoked its whole login */
		if (json_is_integer(uid))
			auth_bus_publish(
				auth_service_bus(call->svc), ACCESS_SIGNOUT,
				(uint64_t)json_integer_value(uid),
				(uint64_t)json_integer_value(json_object_get(j, "family")));
		snprintf(desc, sizeof(desc), "refresh token %s",
			 reason && strcmp(reason, "unknown") != 0 ? reason : "invalid");
		auth_reply_error(call, 400, err,
				 strcmp(err, "invalid_scope") == 0
					 ? "scope exceeds the original grant"
					 : desc);
	} else {
		const char *scope = json_string_value(json_object_get(j, "scope"));
		free(call->st.scope);
		call->st.scope = strdup(scope ? scope : "");
		tokens_reply(call, true);
	}
	json_decref(j);
}

static void refresh_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *old = auth_form_get(&call->st.form, "refresh_token");
	char oh[AUTH_TOKEN_HASH_HEX + 1];
	minted_t m;
	const char *p[8];

	if (!lookup_checked(call, status, res, "refresh_token", false))
		return;
	auth_token_hash(old, strlen(old), oh);
	mint(call, true, &m);
	p[0] = oh;
	p[1] = m.cid;
	p[2] = auth_form_get(&call->st.form, "scope");
	p[3] = m.ah;
	p[4] = m.attl;
	p[5] = m.rh;
	p[6] = m.rttl;
	p[7] = auth_call_ip(call);
	auth_call_query(call, SQL_REFRESH, 8, p, refresh_done);
}

static void grant_refresh(auth_call_t *call)
{
	const char *old = auth_form_get(&call->st.form, "refresh_token");
	const char *scope = auth_form_get(&call->st.form, "scope");
	const char *p[2];

	if (!old || !*old) {
		auth_reply_error(call, 400, "invalid_request", "refresh_token is required");
		return;
	}
	if (scope && (strlen(scope) > SCOPE_MAX || !auth_text_ok(scope, SCOPE_MAX))) {
		auth_reply_error(call, 400, "invalid_scope", "bad scope");
		return;
	}
	p[0] = call->st.client_id;
	p[1] = NULL;
	auth_call_query(call, SQL_LOOKUP, 2, p, refresh_lookup_done);
}

/* ---- client_credentials grant ---- */

static void cc_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;

	if (!lookup_checked(call, status, res, "client_credentials", true) || !choose_scope(call))
		return;
	/* §4.4.3: no refresh token for client_credentials */
	issue(call, NULL, false, "token.client_credentials", call->st.client_id);
}

static void grant_client_credentials(auth_call_t *call)
{
	const char *p[2] = {call->st.client_id, NULL};

	auth_call_query(call, SQL_LOOKUP, 2, p, cc_lookup_done);
}

void auth_oauth_token(auth_call_t *call)
{
	const char *gt;

	if (!form_body(call))
		return;
	gt = auth_form_get(&call->st.form, "grant_type");
	if (!gt || !*gt) {
		auth_reply_error(call, 400, "invalid_request", "grant_type is required");
		return;
	}
	if (strcmp(gt, "password") != 0 && strcmp(gt, "refresh_token") != 0 &&
	    strcmp(gt, "client_credentials") != 0) {
		auth_reply_error(call, 400, "unsupported_grant_type",
				 "supported: password, refresh_token, "
				 "client_credentials");
		return;
	}
	if (!client_credentials(call))
		return;
	if (strcmp(gt, "password") == 0)
		grant_password(call);
	else if (strcmp(gt, "refresh_token") == 0)
		grant_refresh(call);
	else
		grant_client_credentials(call);
}

/* ---- RFC 7009 revocation ---- */

static void revoke_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *kind;

	if (db_failed(call, status))
		return;
	/* a user's token revoked: a refresh token ends its login (sign-out),
	 * an access token only itself; client_credentials tokens have no user */
	kind = PQgetvalue(res, 0, 0);
	if (!PQgetisnull(res, 0, 1))
		auth_bus_publish(
			auth_service_bus(call->svc),
			strcmp(kind, "refresh_token") == 0 ? ACCESS_SIGNOUT : ACCESS_REVOKED,
			strtoull(PQgetvalue(res, 0, 1), NULL, 10),
			PQgetisnull(res, 0, 2) ? 0 : strtoull(PQgetvalue(res, 0, 2), NULL, 10));
	/* §2.2: 200 whether or not the token was valid */
	call->resp.no_store = true;
	auth_reply_empty(call, 200);
}

static void revoke_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *tok = auth_form_get(&call->st.form, "token");
	char th[AUTH_TOKEN_HASH_HEX + 1], cid[24];
	const char *p[3];

	if (!lookup_checked(call, status, res, NULL, false))
		return;
	auth_token_hash(tok, strlen(tok), th);
	snprintf(cid, sizeof(cid), "%lld",
		 (long long)json_integer_value(json_object_get(call->st.client, "id")));
	p[0] = th;
	p[1] = cid;
	p[2] = auth_call_ip(call);
	auth_call_query(call, SQL_REVOKE, 3, p, revoke_done);
}

/* RFC 7009 and RFC 7662 requests start alike: a form with a token, the
 * client's credentials, then the client's row, handed to `done`. */
static void token_request(auth_call_t *call, auth_db_cb done)
{
	const char *tok, *p[2];

	if (!form_body(call))
		return;
	tok = auth_form_get(&call->st.form, "token");
	if (!tok || !*tok) {
		auth_reply_error(call, 400, "invalid_request", "token is required");
		return;
	}
	if (!client_credentials(call))
		return;
	p[0] = call->st.client_id;
	p[1] = NULL;
	auth_call_query(call, SQL_LOOKUP, 2, p, done);
}

void auth_oauth_revoke(auth_call_t *call)
{
	token_request(call, revoke_lookup_done);
}

/* ---- RFC 7662 introspection ---- */

static void introspect_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	json_t *j = NULL;

	if (db_failed(call, status))
		return;
	if (PQntuples(res) == 1)
		j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	call->resp.no_store = true;
	auth_reply_json(call, 200, j ? j : json_pack("{s:b}", "active", 0));
}

static void introspect_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *tok = auth_form_get(&call->st.form, "token");
	char th[AUTH_TOKEN_HASH_HEX + 1];
	const char *p[1];

	if (!lookup_checked(call, status, res, NULL, true))
		return;
	if (!auth_token_well_formed(tok, strlen(tok))) {
		call->resp.no_store = true;
		auth_reply_json(call, 200, json_pack("{s:b}", "active", 0));
		return;
	}
	auth_token_hash(tok, strlen(tok), th);
	p[0] = th;
	auth_call_query(call, SQL_INTROSPECT, 1, p, introspect_done);
}

void auth_oauth_introspect(auth_call_t *call)
{
	token_request(call, introspect_lookup_done);
}

/* ---- POST /oauth/audit: an audit row from a resource server ---- */

/*
 * A confidential client with scope "history" (eirc-history) records what a
 * user did with it: token=<the user's access token>, event=history.<...>,
 * subject=<what>, detail=<JSON object>. The actor is the token's user, so
 * the client cannot name someone else; the client_id is added to detail.
 */
static const char SQL_AUDIT[] =
	"INSERT INTO audit_log (event, actor_user_id, actor, subject, detail)"
	" SELECT $2, u.id, u.nick, $3,"
	"  $4::jsonb || jsonb_build_object('client_id', $5::text)"
	" FROM access_tokens t JOIN oauth_clients c ON c.id = t.client_id"
	" JOIN users u ON u.id = t.user_id"
	" WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL"
	" AND t.expires_at > now() AND NOT c.disabled AND NOT u.disabled"
	" RETURNING id";

#define AUDIT_EVENT_MAX   64
#define AUDIT_SUBJECT_MAX 256
#define AUDIT_DETAIL_MAX  4096

static void audit_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;

	if (db_failed(call, status))
		return;
	call->resp.no_store = true;
	if (PQntuples(res) != 1) {
		auth_reply_error(call, 400, "invalid_token", "the user's token is not active");
		return;
	}
	auth_reply_json(call, 201, json_pack("{s:s}", "id", PQgetvalue(res, 0, 0)));
}

/* Checks event, subject and detail; answers 400 and returns false. */
static bool audit_fields(auth_call_t *call, const char **ev, const char **subj, const char **detail)
{
	json_t *d = NULL;
	bool ok;

	*ev = auth_form_get(&call->st.form, "event");
	*subj = auth_form_get(&call->st.form, "subject");
	*detail = auth_form_get(&call->st.form, "detail");
	if (!*subj)
		*subj = "";
	if (!*detail)
		*detail = "{}";
	ok = *ev && strncmp(*ev, "history.", 8) == 0 && (*ev)[8] &&
	     auth_text_ok(*ev, AUDIT_EVENT_MAX) && auth_text_ok(*subj, AUDIT_SUBJECT_MAX) &&
	     strlen(*detail) <= AUDIT_DETAIL_MAX &&
	     auth_json_parse_object(*detail, strlen(*detail), &d) == 0;
	json_decref(d);
	if (!ok)
		auth_reply_error(call, 400, "invalid_request",
				 "event history.<name>, subject and a JSON object detail");
	return ok;
}

static void audit_lookup_done(void *data, int status, const PGresult *res)
{
	auth_call_t *call = data;
	const char *tok = auth_form_get(&call->st.form, "token");
	const char *ev, *subj, *detail, *p[5];
	char th[AUTH_TOKEN_HASH_HEX + 1];

	if (!lookup_checked(call, status, res, NULL, true))
		return;
	if (!scope_subset("history",
			  json_string_value(json_object_get(call->st.client, "scope")))) {
		auth_reply_error(call, 403, "insufficient_scope", "the client lacks scope history");
		return;
	}
	if (!audit_fields(call, &ev, &subj, &detail))
		return;
	if (!auth_token_well_formed(tok, strlen(tok))) {
		auth_reply_error(call, 400, "invalid_token", "the user's token is not active");
		return;
	}
	auth_token_hash(tok, strlen(tok), th);
	p[0] = th;
	p[1] = ev;
	p[2] = subj;
	p[3] = detail;
	p[4] = call->st.client_id;
	auth_call_query(call, SQL_AUDIT, 5, p, audit_done);
}

void auth_oauth_audit(auth_call_t *call)
{
	token_request(call, audit_lookup_done);
}
