/*
 * auth_service: dispatch, response helpers, static files, health,
 * readiness and metrics, and the periodic purge. See auth_service.h.
 */
#include "auth/auth_service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth_integrity.h"
#include "auth/auth_metrics.h"
#include "common/buf.h"
#include "common/log.h"

struct auth_service {
	uv_loop_t *loop;
	const eirc_config_t *cfg;
	auth_db_t *db;
	auth_bus_t *bus; /* publishes access changes */
	auth_integrity_t *integrity;
	auth_pwhash_t *pwhash;
	auth_ratelimit_t *rl_ip; /* per address; per account is in the database */
	uv_timer_t purge;
	char web_root[PATH_MAX]; /* realpath of auth.web_root, "" if missing */
	char csp[2048];          /* the web client's Content-Security-Policy */
	auth_metrics_t metrics;  /* GET /metrics */
	int closing_parts;
	void (*done)(void *);
	void *done_arg;
};

/* Deletes what no longer proves anything: expired chat and access tokens,
 * refresh tokens past their expiry (kept until then for replay detection),
 * login failures whose newest is out of the window ($1 ms). An hour of
 * grace keeps "expired" answers informative. */
static const char SQL_PURGE[] = "WITH c AS (DELETE FROM chat_tokens"
				"  WHERE expires_at < now() - interval '1 hour' RETURNING 1),"
				" a AS (DELETE FROM access_tokens"
				"  WHERE expires_at < now() - interval '1 hour' RETURNING 1),"
				" r AS (DELETE FROM refresh_tokens"
				"  WHERE expires_at < now() - interval '1 hour' RETURNING 1),"
				" f AS (DELETE FROM login_failures"
				"  WHERE COALESCE(times[cardinality(times)], '-infinity')"
				"  < now() - $1::bigint * interval '1 millisecond' RETURNING 1)"
				" SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM a),"
				" (SELECT count(*) FROM r), (SELECT count(*) FROM f)";

const eirc_config_t *auth_service_config(const auth_service_t *svc)
{
	return svc->cfg;
}
auth_bus_t *auth_service_bus(auth_service_t *svc)
{
	return svc->bus;
}
auth_pwhash_t *auth_service_pwhash(auth_service_t *svc)
{
	return svc->pwhash;
}
auth_ratelimit_t *auth_service_rl_ip(auth_service_t *svc)
{
	return svc->rl_ip;
}

uint64_t auth_service_now_ms(const auth_service_t *svc)
{
	return uv_now(svc->loop);
}

static void purge_done(void *data, int status, const PGresult *res)
{
	(void)data;
	(void)status;
	(void)res; /* the next run tries again; nothing to answer */
}

static void purge_tick(uv_timer_t *t)
{
	auth_service_t *svc = t->data;
	char window[24];
	const char *p[1] = {window};

	snprintf(window, sizeof(window), "%llu",
		 (unsigned long long)svc->cfg->auth.login_account_window);
	(void)auth_db_query(svc->db, SQL_PURGE, 1, p, purge_done, NULL);
}

static int service_parts(auth_service_t *svc, uv_loop_t *loop)
{
	const eirc_config_auth_t *a = &svc->cfg->auth;
	eirc_err_t err = {"?"};
	char port[16];
	auth_db_opts_t o = {
		.host = a->database.host,
		.port = port,
		.dbname = a->database.name,
		.user = a->database.user,
		.password = a->database.password,
		.connect_timeout_ms = (unsigned)a->database.connect_timeout,
		.statement_timeout_ms = (unsigned)a->request_timeout,
		.size = a->database.pool_size,
	};
	int r;

	snprintf(port, sizeof(port), "%d", a->database.port);
	svc->rl_ip = auth_ratelimit_new((uint32_t)a->login_attempts_per_ip, a->login_lockout_max);
	if (!svc->rl_ip)
		return -ENOMEM;
	r = auth_pwhash_new(loop, (unsigned long long)a->password_hash_ops,
			    (size_t)a->password_hash_memory, &svc->pwhash);
	if (r < 0)
		return r;
	r = auth_db_new(loop, &o, &svc->db);
	if (r < 0)
		return r;
	r = auth_bus_new(loop, svc->cfg, &svc->bus);
	if (r < 0) {
		auth_db_close(svc->db, NULL, NULL);
		return r;
	}
	r = auth_integrity_new(loop, svc->cfg, svc->db, auth_bus_redis(svc->bus), &svc->metrics,
			       &svc->integrity, &err);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("%s", err.text);
		auth_bus_close(svc->bus, NULL, NULL);
		auth_db_close(svc->db, NULL, NULL);
	}
	return r;
}

int auth_service_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_service_t **out_svc)
{
	auth_service_t *svc = calloc(1, sizeof(*svc));
	int r;

	if (!svc)
		return -ENOMEM;
	r = auth_web_csp(cfg->auth.web_gateway_url, cfg->auth.web_frame_ancestors,
			 cfg->auth.n_web_frame_ancestors, svc->csp, sizeof(svc->csp));
	if (r < 0) {
		free(svc);
		return r;
	}
	svc->loop = loop;
	svc->cfg = cfg;
	if (!cfg->auth.web_root || !realpath(cfg->auth.web_root, svc->web_root))
		svc->web_root[0] = '\0';
	r = service_parts(svc, loop);
	if (r < 0) {
		auth_pwhash_free(svc->pwhash);
		auth_ratelimit_free(svc->rl_ip);
		free(svc);
		return r;
	}
	uv_timer_init(loop, &svc->purge);
	svc->purge.data = svc;
	uv_timer_start(&svc->purge, purge_tick, cfg->auth.token_purge_interval,
		       cfg->auth.token_purge_interval);
	uv_unref((uv_handle_t *)&svc->purge);
	*out_svc = svc;
	return 0;
}

static void service_part_closed(auth_service_t *svc)
{
	if (--svc->closing_parts > 0)
		return;
	auth_pwhash_free(svc->pwhash);
	auth_ratelimit_free(svc->rl_ip);
	auth_integrity_free(svc->integrity);
	if (svc->done)
		svc->done(svc->done_arg);
	free(svc);
}

static void purge_closed(uv_handle_t *h)
{
	service_part_closed(h->data);
}

static void part_closed(void *arg)
{
	service_part_closed(arg);
}

void auth_service_close(auth_service_t *svc, void (*done)(void *), void *arg)
{
	if (!svc)
		return;
	svc->done = done;
	svc->done_arg = arg;
	svc->closing_parts = 4;
	uv_close((uv_handle_t *)&svc->purge, purge_closed);
	auth_integrity_close(svc->integrity, part_closed, svc);
	auth_db_close(svc->db, part_closed, svc);
	auth_bus_close(svc->bus, part_closed, svc);
}

/* ---- calls and responses ---- */

auth_call_t *auth_call_new(auth_service_t *svc)
{
	auth_call_t *call = calloc(1, sizeof(*call));

	if (call) {
		call->svc = svc;
		call->started_ms = uv_now(svc->loop);
	}
	return call;
}

void auth_call_free(auth_call_t *call)
{
	if (!call)
		return;
	free(call->req.content_type);
	free(call->req.authorization);
	if (call->req.body) {
		sodium_memzero(call->req.body, call->req.body_len);
		free(call->req.body);
	}
	free(call->resp.body);
	auth_form_clear(&call->st.form);
	json_decref(call->st.json);
	json_decref(call->st.client);
	json_decref(call->st.user);
	free(call->st.client_id);
	if (call->st.client_secret) {
		sodium_memzero(call->st.client_secret, strlen(call->st.client_secret));
		free(call->st.client_secret);
	}
	free(call->st.scope);
	sodium_memzero(call->st.access, sizeof(call->st.access));
	sodium_memzero(call->st.refresh, sizeof(call->st.refresh));
	free(call);
}

void auth_call_finish(auth_call_t *call)
{
	auth_metrics_request(&call->svc->metrics, call->req.route.id, call->resp.status);
	call->done(call);
}

void auth_reply_json(auth_call_t *call, int status, json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	free(call->resp.body);
	call->resp.status = s ? status : 500;
	call->resp.content_type = "application/json";
	call->resp.body = s ? s : strdup("{\"error\":\"server_error\"}");
	call->resp.body_len = call->resp.body ? strlen(call->resp.body) : 0;
	auth_call_finish(call);
}

void auth_reply_error(auth_call_t *call, int status, const char *code, const char *desc)
{
	call->resp.no_store = true;
	auth_reply_json(call, status,
			json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

void auth_reply_bearer_error(auth_call_t *call, int status, const char *code, const char *desc)
{
	if (code)
		snprintf(call->resp.www_authenticate, sizeof(call->resp.www_authenticate),
			 "Bearer realm=\"eirc\", error=\"%s\", "
			 "error_description=\"%s\"",
			 code, desc);
	else
		snprintf(call->resp.www_authenticate, sizeof(call->resp.www_authenticate),
			 "Bearer realm=\"eirc\"");
	auth_reply_error(call, status, code ? code : "invalid_request", desc);
}

void auth_reply_empty(auth_call_t *call, int status)
{
	call->resp.status = status;
	call->resp.body_len = 0;
	auth_call_finish(call);
}

void auth_reply_db_error(auth_call_t *call, int status)
{
	if (status == -EIO)
		auth_reply_error(call, 500, "server_error", "database error");
	else
		auth_reply_error(call, 503, "temporarily_unavailable",
				 "database unavailable, retry later");
}

bool auth_call_query(auth_call_t *call, const char *sql, int n, const char *const *params,
		     auth_db_cb cb)
{
	int r = auth_db_query(call->svc->db, sql, n, params, cb, call);

	if (r == 0)
		return true;
	call->resp.retry_after = 1;
	auth_reply_error(call, 503, "temporarily_unavailable", "server busy, retry later");
	return false;
}

const char *auth_call_ip(const auth_call_t *call)
{
	return call->req.peer;
}

/* ---- static files (read on the thread pool) ---- */

typedef struct static_work {
	uv_work_t req;
	auth_call_t *call;
	char path[PATH_MAX];
	int status;
	char *data;
	size_t len;
} static_work_t;

/* Reads the whole regular file at w->path if it is under web_root. */
static void static_read(uv_work_t *req)
{
	static_work_t *w = req->data;
	const char *root = w->call->svc->web_root;
	char real[PATH_MAX];
	size_t rl = strlen(root);
	struct stat st;
	int fd;

	w->status = 404;
	if (!realpath(w->path, real) || strncmp(real, root, rl) != 0 || real[rl] != '/')
		return;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size <= AUTH_STATIC_FILE_MAX &&
	    (w->data = malloc((size_t)st.st_size + 1)) != NULL) {
		ssize_t n;
		while (w->len < (size_t)st.st_size &&
		       (n = read(fd, w->data + w->len, (size_t)st.st_size - w->len)) > 0)
			w->len += (size_t)n;
		w->status = w->len == (size_t)st.st_size ? 200 : 500;
	}
	close(fd);
}

static void static_after(uv_work_t *req, int status)
{
	static_work_t *w = req->data;
	auth_call_t *call = w->call;

	if (status == 0 && w->status == 200) {
		call->resp.status = 200;
		call->resp.content_type = auth_static_mime(w->path);
		call->resp.csp = call->svc->csp;
		call->resp.body = w->data;
		call->resp.body_len = w->len;
		w->data = NULL;
		auth_call_finish(call);
	} else {
		auth_reply_error(call, w->status == 500 ? 500 : 404, "not_found", "no such file");
	}
	free(w->data);
	free(w);
}

static void handle_static(auth_call_t *call)
{
	auth_service_t *svc = call->svc;
	char rel[AUTH_PATH_MAX + 32];
	static_work_t *w;

	if (!svc->web_root[0] ||
	    auth_static_path(call->req.path, strlen(call->req.path), rel, sizeof(rel)) < 0) {
		auth_reply_error(call, 404, "not_found", "no such file");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		auth_reply_error(call, 500, "server_error", "out of memory");
		return;
	}
	w->call = call;
	w->req.data = w;
	if (strlen(svc->web_root) + strlen(rel) + 2 > sizeof(w->path)) {
		free(w);
		auth_reply_error(call, 404, "not_found", "no such file");
		return;
	}
	memcpy(w->path, svc->web_root, strlen(svc->web_root));
	w->path[strlen(svc->web_root)] = '/';
	memcpy(w->path + strlen(svc->web_root) + 1, rel, strlen(rel) + 1);
	if (uv_queue_work(svc->loop, &w->req, static_read, static_after) < 0) {
		free(w);
		auth_reply_error(call, 500, "server_error", "cannot read file");
	}
}

/* Liveness: the process serves requests. */
static void handle_healthz(auth_call_t *call)
{
	auth_reply_json(call, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness: a database connection is up (every request but the static
 * files needs one). */
const char *auth_service_not_ready(const auth_service_t *svc)
{
	return auth_db_ready(svc->db) > 0 ? NULL : "no database connection";
}

static void handle_readyz(auth_call_t *call)
{
	int ready = auth_db_ready(call->svc->db);

	if (ready > 0)
		auth_reply_json(call, 200,
				json_pack("{s:s, s:i}", "status", "ok", "db_connections", ready));
	else
		auth_reply_json(call, 503,
				json_pack("{s:s, s:s, s:i}", "status", "unavailable", "reason",
					  "no database connection", "db_connections", 0));
}

static void handle_metrics(auth_call_t *call)
{
	auth_metrics_t *m = &call->svc->metrics;
	buf_t body;
	int ready = auth_db_ready(call->svc->db);

	m->db_connections = ready > 0 ? (uint64_t)ready : 0;
	m->db_pool_size = (uint64_t)call->svc->cfg->auth.database.pool_size;
	m->ready = ready > 0;
	buf_init(&body, AUTH_METRICS_TEXT_MAX);
	if (auth_metrics_render(m, &body) < 0) {
		buf_free(&body);
		auth_reply_error(call, 500, "server_error", "cannot render the metrics");
		return;
	}
	free(call->resp.body);
	call->resp.status = 200;
	call->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
	call->resp.body_len = buf_len(&body);
	call->resp.body = buf_steal(&body);
	call->resp.no_store = true;
	if (!call->resp.body) {
		auth_reply_error(call, 500, "server_error", "out of memory");
		return;
	}
	auth_call_finish(call);
}

/* The archive's public keys (docs/compliance.md): 404 without a signing
 * key. */
static void handle_archive_key(auth_call_t *call)
{
	const char *text = auth_integrity_key_text(call->svc->integrity);

	if (!text) {
		auth_reply_error(call, 404, "not_found", "the archive is not signed");
		return;
	}
	free(call->resp.body);
	call->resp.status = 200;
	call->resp.content_type = "text/plain; charset=utf-8";
	call->resp.body = strdup(text);
	call->resp.body_len = strlen(text);
	if (!call->resp.body) {
		auth_reply_error(call, 500, "server_error", "out of memory");
		return;
	}
	auth_call_finish(call);
}

/* What the web client needs to know before it signs in. */
static void handle_client_config(auth_call_t *call)
{
	auth_reply_json(call, 200,
			json_pack("{s:s}", "gateway_url", call->svc->cfg->auth.web_gateway_url));
}

void auth_service_handle(auth_service_t *svc, auth_call_t *call)
{
	switch (call->req.route.id) {
	case AUTH_R_NOT_FOUND:
		auth_reply_error(call, 404, "not_found", "no such endpoint");
		break;
	case AUTH_R_METHOD_NOT_ALLOWED:
		call->resp.allow = call->req.route.allow;
		auth_reply_error(call, 405, "method_not_allowed",
				 "method not allowed on this endpoint");
		break;
	case AUTH_R_STATIC:
		handle_static(call);
		break;
	case AUTH_R_HEALTHZ:
		handle_healthz(call);
		break;
	case AUTH_R_READYZ:
		handle_readyz(call);
		break;
	case AUTH_R_METRICS:
		handle_metrics(call);
		break;
	case AUTH_R_CLIENT_CONFIG:
		handle_client_config(call);
		break;
	case AUTH_R_ARCHIVE_KEY:
		handle_archive_key(call);
		break;
	case AUTH_R_TOKEN:
		auth_oauth_token(call);
		break;
	case AUTH_R_REVOKE:
		auth_oauth_revoke(call);
		break;
	case AUTH_R_INTROSPECT:
		auth_oauth_introspect(call);
		break;
	case AUTH_R_AUDIT:
		auth_oauth_audit(call);
		break;
	case AUTH_R_CHAT_TOKEN:
		auth_api_chat_token(call);
		break;
	case AUTH_R_CONSUME:
		auth_api_consume(call);
		break;
	case AUTH_R_ACCESS:
		auth_api_access(call);
		break;
	case AUTH_R_ME:
	case AUTH_R_ROOMS_LIST:
	case AUTH_R_ROOM_CREATE:
	case AUTH_R_ROOM_GET:
	case AUTH_R_ROOM_UPDATE:
	case AUTH_R_ROOM_DELETE:
	case AUTH_R_MEMBERS_LIST:
	case AUTH_R_MEMBER_ADD:
	case AUTH_R_MEMBER_REMOVE:
		auth_api_bearer(call);
		break;
	case AUTH_R_COUNT:
		auth_reply_error(call, 404, "not_found", "no such endpoint");
		break;
	}
}
