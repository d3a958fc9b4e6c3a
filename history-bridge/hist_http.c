/*
 * hist_http: the HTTP API's listener, requests, bearer tokens,
 * introspection cache and rate limit (see hist_http.h); the messages
 * route is hist_http_msgs.c.
 */
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_http_int.h"
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "archive/archive_es.h"
#include "archive/archive_event.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/log.h"

/* lws's own timeouts (headers, a request held) run this much longer than
 * history.request_timeout, so that our 503 always comes first: lws would
 * close the connection with no answer. */
#define HIST_HTTP_LWS_SLACK_S 5

struct hist_http {
	struct hist_app *app;
	http_server_t *srv;
	http_client_t *intro; /* eirc-auth: introspection and audit rows */
	archive_es_t *es;     /* Elasticsearch, NULL when not configured */
	char intro_base[512];
	const char *intro_path;
	struct queue reqs; /* struct hreq, by node */
	size_t n_reqs;
	struct hist_cache cache;
	uint64_t forget_gen; /* counts access-bus drops: answers older stay uncached */
	struct hist_rates rates;
	bool closing;
};

struct pss {
	struct hreq *q;
};

struct hist_app *hist_http_app(const hist_http_t *h)
{
	return h->app;
}

archive_es_t *hist_http_es(const hist_http_t *h)
{
	return h->es;
}

static uint64_t now_ms(const struct hist_http *h)
{
	return uv_now(h->app->loop);
}

/* ---- request lifetime ---- */

static void hreq_free(struct hreq *q)
{
	json_decref(q->intro);
	json_decref(q->search_after);
	free(q->body);
	free(q->out);
	free(q->req_body);
	free(q->audit_form);
	free(q);
}

static void hreq_maybe_free(struct hreq *q)
{
	struct hist_http *h = q->h;

	if (q->wsi || q->pending || !q->timer_closed)
		return;
	queue_remove(&q->node);
	h->n_reqs--;
	hreq_free(q);
}

static void on_timer_closed(uv_handle_t *t)
{
	struct hreq *q = t->data;

	q->timer_closed = true;
	hreq_maybe_free(q);
}

static void hreq_close_timer(struct hreq *q)
{
	if (q->timer_closing)
		return;
	q->timer_closing = true;
	uv_close((uv_handle_t *)&q->timer, on_timer_closed);
}

bool hreq_reply_enter(struct hreq *q)
{
	q->pending--;
	if (q->answered) {
		hreq_maybe_free(q);
		return false;
	}
	return true;
}

bool hreq_stream_enter(struct hreq *q)
{
	q->pending--;
	if (!q->wsi || (q->answered && !q->stream)) {
		hreq_maybe_free(q);
		return false;
	}
	return true;
}

void hreq_stream_start(struct hreq *q, const char *ctype)
{
	q->answered = q->stream = true;
	q->status = 200;
	hist_metrics_request(&q->h->app->metrics, q->route, q->status);
	q->ctype = ctype;
	hreq_close_timer(q); /* each page has its own timeout (archive_es) */
	hreq_stream_kick(q);
}

void hreq_stream_kick(struct hreq *q)
{
	if (q->wsi)
		lws_callback_on_writable(q->wsi);
}

void hreq_answer_json(struct hreq *q, int status, json_t *body)
{
	if (q->answered) {
		json_decref(body);
		return;
	}
	q->answered = true;
	q->status = status;
	hist_metrics_request(&q->h->app->metrics, q->route, status);
	if (body) {
		q->body = json_dumps(body, JSON_COMPACT);
		q->body_len = q->body ? strlen(q->body) : 0;
		json_decref(body);
	}
	log_debug("HTTP %d after %llums", status,
		  (unsigned long long)(now_ms(q->h) - q->started_ms));
	hreq_close_timer(q);
	if (q->wsi)
		lws_callback_on_writable(q->wsi);
}

void hreq_answer_error(struct hreq *q, int status, const char *code, const char *desc)
{
	hreq_answer_json(q, status,
			 desc ? json_pack("{s:s,s:s}", "error", code, "error_description", desc)
			      : json_pack("{s:s}", "error", code));
}

void hreq_unavailable(struct hreq *q, const char *desc)
{
	q->retry_after = 1;
	hreq_answer_error(q, 503, "temporarily_unavailable", desc);
}

bool hreq_param(struct hreq *q, const char *name, char *out, size_t cap)
{
	char buf[HIST_API_PARAM_MAX + 64];
	size_t nlen = strlen(name);

	out[0] = '\0';
	/* lws_get_urlarg_by_name() skips a parameter longer than its buffer
	 * as if it were absent (a long before= gave the newest page): each
	 * fragment is measured first, and one too long to read is refused
	 * whatever its name */
	for (int i = 0;; i++) {
		int flen = lws_hdr_fragment_length(q->wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
		if (flen <= 0)
			return true;
		if ((size_t)flen >= sizeof(buf) ||
		    lws_hdr_copy_fragment(q->wsi, buf, (int)sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS,
					  i) < 0)
			return false;
		if (strncmp(buf, name, nlen) != 0)
			continue;
		if (strlen(buf + nlen) >= cap)
			return false;
		memcpy(out, buf + nlen, strlen(buf + nlen) + 1);
		return true;
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct hreq *q = t->data;

	log_warn("HTTP request not answered within history.request_timeout: 503");
	hreq_unavailable(q, "the request timed out");
}

/* The connection is done with q (answered and written, or gone). */
static void hreq_detach(struct pss *p)
{
	struct hreq *q = p->q;

	if (!q)
		return;
	p->q = NULL;
	q->wsi = NULL;
	q->answered = true; /* nothing more to send */
	hreq_close_timer(q);
	hreq_maybe_free(q);
}

/* ---- bearer tokens, introspection, rate ---- */

static void authorized(struct hreq *q);

/* Keeps the answer introspect_cache_ttl, never past the token's exp. */
static void cache_put(struct hist_http *h, const char *token, json_t *intro)
{
	uint64_t ttl = h->app->cfg->history.introspect_cache_ttl;
	json_int_t exp = json_integer_value(json_object_get(intro, "exp"));
	time_t wall = time(NULL);

	if (exp > 0 && (exp <= wall || (uint64_t)(exp - wall) * 1000 < ttl))
		ttl = exp > wall ? (uint64_t)(exp - wall) * 1000 : 0;
	hist_cache_put(&h->cache, token, intro, now_ms(h), ttl);
}

/* True when the user may make one more request now; otherwise 429. */
static bool rate_take(struct hreq *q, const char *user)
{
	struct hist_http *h = q->h;
	const eirc_config_history_t *hc = &h->app->cfg->history;
	uint64_t now = now_ms(h);
	unsigned retry = 1;

	if (hist_rate_take(hist_rates_get(&h->rates, user, now, (unsigned)hc->rate_per_second,
					  (unsigned)hc->rate_burst),
			   now, &retry))
		return true;
	q->retry_after = retry;
	hreq_answer_error(q, 429, "rate_limited", "too many requests; see Retry-After");
	return false;
}

static bool scope_has(const char *scope, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = scope; p && *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		if (len == n && memcmp(p, want, n) == 0)
			return true;
		p = sp ? sp + 1 : NULL;
	}
	return false;
}

static void invalid_token(struct hreq *q, const char *desc)
{
	snprintf(q->www_auth, sizeof(q->www_auth),
		 "Bearer realm=\"eirc\", error=\"invalid_token\", error_description=\"%s\"", desc);
	hreq_answer_error(q, 401, "invalid_token", desc);
}

/* The token's answer is known: active, scope, rate, then the route. */
static void authorized(struct hreq *q)
{
	const json_t *in = q->intro;
	const char *sub = json_string_value(json_object_get(in, "sub"));

	if (!json_is_true(json_object_get(in, "active")) || !sub) {
		invalid_token(q, "the token is not active");
		return;
	}
	if (!scope_has(json_string_value(json_object_get(in, "scope")), "history")) {
		snprintf(q->www_auth, sizeof(q->www_auth),
			 "Bearer realm=\"eirc\", error=\"insufficient_scope\", scope=\"history\"");
		hreq_answer_error(q, 403, "insufficient_scope", "the token lacks scope history");
		return;
	}
	if (!rate_take(q, sub))
		return;
	if (q->route == HR_MESSAGES)
		hist_msgs_run(q);
	else
		hist_es_run(q);
}

/* POSTs form to eirc-auth's path (introspection or audit) as
 * history.introspect_client_id; cb runs unless this fails. */
static int intro_send(struct hreq *q, const char *path, const char *form, http_client_cb cb)
{
	const eirc_config_history_t *hc = &q->h->app->cfg->history;
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded"};
	char url[sizeof(q->h->intro_base) + 256];
	http_client_req_t req = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.n_headers = 1,
		.username = hc->introspect_client_id,
		.password = hc->introspect_client_secret,
		.body = form,
		.body_len = strlen(form),
		.timeout_ms = hc->request_timeout,
		.answer_max = HIST_INTRO_ANSWER_MAX,
	};

	if (snprintf(url, sizeof(url), "%s%s", q->h->intro_base, path) >= (int)sizeof(url))
		return -EINVAL;
	return http_client_send(q->h->intro, &req, cb, q, NULL);
}

static void on_introspected(void *ud, const http_client_answer_t *ans, const struct eirc_err *err)
{
	struct hreq *q = ud;
	json_t *j;

	if (ans->err == -ECANCELED) /* hist_http_close(): q is freed with the rest */
		return;
	if (!hreq_reply_enter(q))
		return;
	if (ans->err || ans->status != 200) {
		log_warn("Token introspection at %s%s failed: %s %ld", q->h->intro_base,
			 q->h->intro_path, ans->err ? err->text : "HTTP", ans->status);
		hreq_unavailable(q, "the token cannot be checked now");
		return;
	}
	j = json_loadb(ans->body, ans->len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		log_warn("Token introspection answered something that is not a JSON object");
		hreq_unavailable(q, "the token cannot be checked now");
		return;
	}
	if (q->forget_gen == q->h->forget_gen) /* no access change meanwhile */
		cache_put(q->h, q->token, j);
	q->intro = j;
	authorized(q);
}

/* Appends name=<s percent-encoded> (and '&' before it unless first) to
 * the malloc'd form *io (NULL at first). Returns 0 or -ENOMEM. */
static int form_add(char **io, const char *name, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t have = *io ? strlen(*io) : 0, n = have;
	char *f = realloc(*io, have + strlen(name) + 3 * strlen(s) + 3);

	if (!f)
		return -ENOMEM;
	*io = f;
	n += (size_t)sprintf(f + n, "%s%s=", have ? "&" : "", name);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			f[n++] = (char)*p;
		} else {
			f[n++] = '%';
			f[n++] = hex[*p >> 4];
			f[n++] = hex[*p & 15];
		}
	}
	f[n] = '\0';
	return 0;
}

/* token=<percent-encoded token> (b64token may hold + / =). */
static void form_token(struct hreq *q)
{
	char *f = NULL;

	q->form[0] = '\0';
	if (form_add(&f, "token", q->token) == 0)
		snprintf(q->form, sizeof(q->form), "%s", f);
	free(f);
}

static void on_audited(void *ud, const http_client_answer_t *ans, const struct eirc_err *err)
{
	struct hreq *q = ud;

	if (ans->err == -ECANCELED) /* hist_http_close(): q is freed with the rest */
		return;
	if (!hreq_reply_enter(q))
		return;
	if (ans->err || ans->status != 201) {
		log_warn("Cannot write an export's audit row at %s/oauth/audit: %s %ld",
			 q->h->intro_base, ans->err ? err->text : "HTTP", ans->status);
		hreq_unavailable(q, "the export cannot be audited now, so it is refused");
		return;
	}
	hist_es_export_audited(q);
}

void hist_http_audit(struct hreq *q)
{
	char a[40] = "", b[40] = "";
	json_t *d;
	char *detail;

	if (q->t_after >= 0)
		archive_event_time_format(q->t_after, a, sizeof(a));
	if (q->t_before >= 0)
		archive_event_time_format(q->t_before, b, sizeof(b));
	d = json_pack("{s:s,s:s,s:s,s:s}", "format", q->csv ? "csv" : "ndjson", "room",
		      q->room[0] ? q->room : "*", "after", a, "before", b);
	detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (!detail || form_add(&q->audit_form, "token", q->token) < 0 ||
	    form_add(&q->audit_form, "event", "history.export") < 0 ||
	    form_add(&q->audit_form, "subject", q->room[0] ? q->room : "*") < 0 ||
	    form_add(&q->audit_form, "detail", detail) < 0 ||
	    intro_send(q, "/oauth/audit", q->audit_form, on_audited) < 0) {
		free(detail);
		hreq_unavailable(q, "the export cannot be audited now, so it is refused");
		return;
	}
	free(detail);
	q->pending++;
}

/* Reads "Authorization: Bearer <token>"; answers 401 when absent or bad. */
static void authenticate(struct hreq *q)
{
	char hdr[HIST_API_TOKEN_MAX + 16];
	int n = lws_hdr_total_length(q->wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	json_t *cached;

	if (n <= 0 || n >= (int)sizeof(hdr) ||
	    lws_hdr_copy(q->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) < 0 ||
	    strncasecmp(hdr, "Bearer ", 7) != 0) {
		snprintf(q->www_auth, sizeof(q->www_auth), "Bearer realm=\"eirc\"");
		hreq_answer_error(q, 401, "invalid_request", "a bearer token is required");
		return;
	}
	if (!hist_api_token_ok(hdr + 7, strlen(hdr + 7))) {
		invalid_token(q, "malformed token");
		return;
	}
	snprintf(q->token, sizeof(q->token), "%s", hdr + 7);
	if ((cached = hist_cache_get(&q->h->cache, q->token, now_ms(q->h)))) {
		q->intro = json_incref(cached);
		authorized(q);
		return;
	}
	form_token(q);
	q->forget_gen = q->h->forget_gen;
	if (intro_send(q, q->h->intro_path, q->form, on_introspected) < 0) {
		hreq_unavailable(q, "too many tokens being checked; try again");
		return;
	}
	q->pending++;
}

void hist_http_forget_user(hist_http_t *h, uint64_t user)
{
	if (!h)
		return;
	h->forget_gen++;
	hist_cache_drop_user(&h->cache, user);
}

void hist_http_forget_all(hist_http_t *h)
{
	if (!h)
		return;
	h->forget_gen++;
	hist_cache_clear(&h->cache);
}

/* ---- lws glue ---- */

/* Liveness: the process serves requests. */
static void healthz(struct hreq *q)
{
	hreq_answer_json(q, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness: Redis, which every answer but the probes needs, is up. */
static void readyz(struct hreq *q)
{
	if (q->h->app->redis && redis_up(q->h->app->redis))
		hreq_answer_json(q, 200, json_pack("{s:s,s:b}", "status", "ok", "redis", 1));
	else
		hreq_answer_json(q, 503,
				 json_pack("{s:s,s:s,s:b}", "status", "unavailable", "reason",
					   "redis down", "redis", 0));
}

static void metrics(struct hreq *q)
{
	hist_app_t *a = q->h->app;
	hist_metrics_t *m = &a->metrics;
	buf_t b;

	m->redis_up = a->redis && redis_up(a->redis);
	m->ready = m->redis_up;
	m->access_up = a->access_up;
	m->connections = a->n_conns;
	buf_init(&b, HIST_METRICS_TEXT_MAX);
	if (hist_metrics_render(m, &b) < 0 || !(q->body = buf_steal(&b))) {
		buf_free(&b);
		hreq_answer_error(q, 500, "server_error", "cannot render the metrics");
		return;
	}
	q->body_len = strlen(q->body);
	q->ctype = "text/plain; version=0.0.4; charset=utf-8";
	q->answered = true;
	q->status = 200;
	hist_metrics_request(m, HR_METRICS, 200); /* seen in the next rendering */
	hreq_close_timer(q);
	if (q->wsi)
		lws_callback_on_writable(q->wsi);
}

static void route(struct hreq *q, const char *path, size_t len)
{
	const char *room;
	size_t room_len;

	if (strcmp(path, "/healthz") == 0) {
		q->route = HR_HEALTHZ;
		healthz(q);
		return;
	}
	if (strcmp(path, "/readyz") == 0) {
		q->route = HR_READYZ;
		readyz(q);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		q->route = HR_METRICS;
		metrics(q);
		return;
	}
	if (hist_api_messages_path(path, len, &room, &room_len)) {
		q->route = HR_MESSAGES;
		if (hist_msgs_parse(q, room, room_len))
			authenticate(q);
		return;
	}
	if (strcmp(path, "/v1/search") == 0 || strcmp(path, "/v1/export") == 0) {
		q->route = path[4] == 's' ? HR_SEARCH : HR_EXPORT;
		if (hist_es_parse(q))
			authenticate(q);
		return;
	}
	hreq_answer_error(q, 404, "not_found", "no such resource");
}

static int on_request(struct lws *wsi, void *user, const char *path, size_t len)
{
	struct pss *p = user;
	struct hist_http *h = http_server_user(wsi);
	char *uri;
	int ulen;
	struct hreq *q = calloc(1, sizeof(*q));

	if (!q)
		return -1;
	q->h = h;
	q->wsi = wsi;
	q->started_ms = now_ms(h);
	queue_insert_head(&h->reqs, &q->node);
	h->n_reqs++;
	p->q = q;
	uv_timer_init(h->app->loop, &q->timer);
	q->timer.data = q;
	uv_timer_start(&q->timer, on_timeout, h->app->cfg->history.request_timeout, 0);
	if (h->n_reqs > HIST_HTTP_REQS_MAX)
		hreq_unavailable(q, "too many requests at once");
	else if (lws_http_get_uri_and_method(wsi, &uri, &ulen) != LWSHUMETH_GET)
		hreq_answer_error(q, 405, "invalid_request", "only GET is served");
	else if (strlen(path) != len)
		hreq_answer_error(q, 400, "invalid_request", "NUL in path");
	else
		route(q, path, len);
	return 0;
}

static int write_headers(struct lws *wsi, struct hreq *q)
{
	const char *kv[2 * 4 + 1];
	char ra[16];
	int n = 0;

	kv[n++] = "cache-control:";
	kv[n++] = "no-store";
	kv[n++] = "x-content-type-options:";
	kv[n++] = "nosniff";
	if (q->www_auth[0]) {
		kv[n++] = "www-authenticate:";
		kv[n++] = q->www_auth;
	}
	if (q->retry_after) {
		snprintf(ra, sizeof(ra), "%u", q->retry_after);
		kv[n++] = "retry-after:";
		kv[n++] = ra;
	}
	kv[n] = NULL;
	return http_write_head(
		wsi, &(http_head_t){(unsigned)q->status, q->ctype ? q->ctype : "application/json",
				    q->stream ? HTTP_CHUNKED : q->body_len, kv, false});
}

/* One chunk of the stream: q->out, or the last (empty) one. */
static int write_chunk(struct lws *wsi, struct hreq *q, bool last)
{
	int r = http_write_chunk(wsi, q->out, last ? 0 : q->out_len);

	q->out_len = 0;
	return r;
}

/* A stream: headers, then each page's chunk as it comes, one write per
 * callback; the next page is fetched once the last one is written; the
 * last chunk once the export's point in time is closed (no call pending). */
static int stream_writable(struct lws *wsi, struct pss *p)
{
	struct hreq *q = p->q;

	if (q->stream_abort)
		return -1; /* cut short: the client sees no last chunk */
	if (!q->headers_sent) {
		if (write_headers(wsi, q) < 0)
			return -1;
		q->headers_sent = true;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (q->out_len) {
		if (write_chunk(wsi, q, false) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!q->stream_done) {
		hist_es_more(q);
		return 0;
	}
	if (q->pending)
		return 0; /* the point in time is being closed: on_pit_closed kicks */
	if (write_chunk(wsi, q, true) < 0)
		return -1;
	hreq_detach(p);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_writable(struct lws *wsi, void *user)
{
	struct pss *p = user;
	struct hreq *q = p->q;

	if (!q || !q->answered)
		return 0;
	if (q->stream)
		return stream_writable(wsi, p);
	if (!q->headers_sent) {
		if (write_headers(wsi, q) < 0)
			return -1;
		q->headers_sent = true;
		if (q->body_len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else if (http_write_body(wsi, q->body, q->body_len) < 0) {
		return -1;
	}
	hreq_detach(p);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void on_closed(void *user)
{
	hreq_detach(user);
}

static const http_handler_t handler = {
	.pss_size = sizeof(struct pss),
	.request = on_request,
	.writable = on_writable,
	.closed = on_closed,
};

/* ---- start and stop ---- */

/* Splits history.introspect_url into base ("http://host:port") and path. */
static int intro_setup(struct hist_http *h)
{
	const eirc_config_history_t *hc = &h->app->cfg->history;
	const char *u = hc->introspect_url, *s, *slash;
	const http_client_opts_t o = {.requests_max = HIST_INTRO_REQUESTS_MAX};

	if (!u || !(s = strstr(u, "://")) || !(slash = strchr(s + 3, '/')) ||
	    (size_t)(slash - u) >= sizeof(h->intro_base)) {
		log_error("history.introspect_url must be an http(s) URL with a path");
		return -EINVAL;
	}
	memcpy(h->intro_base, u, (size_t)(slash - u));
	h->intro_base[slash - u] = '\0';
	h->intro_path = slash;
	if (!hc->introspect_client_secret)
		log_warn("history.introspect_client_secret is not set: every token is refused");
	return http_client_new(h->app->loop, &o, &h->intro);
}

/* The Elasticsearch client of search and export (elasticsearch.*). */
static int es_setup(struct hist_http *h)
{
	const eirc_config_elasticsearch_t *e = &h->app->cfg->elasticsearch;
	archive_es_opts_t o = {0};

	if (e->n_urls == 0) {
		log_info("No elasticsearch.urls: /v1/search and /v1/export answer 503");
		return 0;
	}
	o.urls = e->urls;
	o.n_urls = e->n_urls;
	o.username = e->username;
	o.password = e->password;
	o.api_key = e->api_key;
	o.tls_verify = e->tls_verify;
	o.tls_ca_file = e->tls_ca_file;
	o.timeout_ms = h->app->cfg->history.request_timeout;
	return archive_es_new(h->app->loop, &o, &h->es);
}

int hist_http_listen(hist_http_t *h)
{
	const eirc_config_history_t *hc = &h->app->cfg->history;
	struct eirc_err err;
	int i = http_server_listen(h->srv,
				   &(struct http_listen_opts){
					   .name = "history",
					   .address = hc->listen_address,
					   .port = hc->listen_port,
					   .handler = &handler,
					   .keepalive_s = 60,
					   .user = h,
				   },
				   &err);

	if (i < 0) {
		log_error("Cannot listen on %s:%d for the HTTP API", hc->listen_address,
			  hc->listen_port);
		return -EADDRINUSE;
	}
	log_info("HTTP API on %s:%d", hc->listen_address, http_server_port(h->srv, i));
	return 0;
}

int hist_http_new(struct hist_app *a, hist_http_t **out_http)
{
	struct hist_http *h = calloc(1, sizeof(*h));
	unsigned to = (unsigned)(a->cfg->history.request_timeout / 1000);
	int r;

	if (!h)
		return -ENOMEM;
	h->app = a;
	queue_init(&h->reqs);
	if ((r = intro_setup(h)) < 0 || (r = es_setup(h)) < 0 ||
	    (r = http_server_new(a->loop,
				 &(struct http_server_opts){
					 .header_max = 8192,
					 .heads_max = 256,
					 .timeout_s = to + HIST_HTTP_LWS_SLACK_S,
				 },
				 &h->srv)) < 0) {
		/* no request yet: both free themselves once their handles closed */
		http_client_close(h->intro, NULL, NULL);
		archive_es_close(h->es, NULL, NULL);
		free(h);
		return r;
	}
	*out_http = h;
	return 0;
}

void hist_http_close(hist_http_t *h)
{
	struct queue *n;

	if (!h || h->closing)
		return;
	h->closing = true;
	http_server_close(h->srv); /* detaches every request */
	/* no introspection or Elasticsearch callback from here on */
	http_client_close(h->intro, NULL, NULL);
	h->intro = NULL;
	archive_es_close(h->es, NULL, NULL);
	h->es = NULL;
	QUEUE_FOREACH(n, &h->reqs)
		hreq_close_timer(queue_data(n, struct hreq, node));
}

void hist_http_free(hist_http_t *h)
{
	if (!h)
		return;
	hist_http_close(h);
	http_server_free(h->srv);
	while (!queue_empty(&h->reqs)) {
		struct queue *n = queue_head(&h->reqs);
		queue_remove(n);
		hreq_free(queue_data(n, struct hreq, node));
	}
	hist_cache_clear(&h->cache);
	free(h);
}
