/*
 * hist_http_es: GET /v1/search and GET /v1/export (docs/history.md), from
 * Elasticsearch (the documents eirc-logger's shipper indexes, lg_bulk.c:
 * channel is the folded conversation, dm:<lo>:<hi> for direct messages).
 *
 * Who reads what is a filter inside the query (hist_http_es_access), so
 * Elasticsearch never returns a document the user may not read. The
 * export is for auditors: an audit row is written first (eirc-auth,
 * hist_http_audit in hist_http.c; no row, no export), then a point in
 * time is opened and pages of HIST_EXPORT_PAGE hits are fetched with
 * search_after, one at a time, each once the previous one is written to
 * the client (chunked), as NDJSON or CSV (RFC 4180).
 */
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_http_int.h"
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_es.h"
#include "archive/archive_event.h"
#include "common/irc_casemap.h"
#include "common/log.h"

/* Hits per export page. */
#define HIST_EXPORT_PAGE 500
/* How long Elasticsearch keeps the export's point in time between pages. */
#define HIST_EXPORT_KEEP_ALIVE "1m"

static const char *const csv_cols[] = {"time", "room", "type", "msgid", "nick", "account", "text"};

/* ---- parameters ---- */

static bool time_param(hreq_t *q, const char *name, int64_t *out)
{
	char v[64];

	*out = -1;
	if (!hreq_param(q, name, v, sizeof(v)))
		return false;
	return !v[0] || archive_event_time_parse(v, strlen(v), out) == 0;
}

bool hist_es_parse(hreq_t *q)
{
	char room[CHATHIST_TARGET_MAX + 1], lim[24], fmt[16];
	uint32_t max = (uint32_t)hist_http_app(q->h)->cfg->history.page_max;

	if (!hreq_param(q, "q=", q->q, sizeof(q->q)) || !hreq_param(q, "from=", q->from, 64) ||
	    !hreq_param(q, "room=", room, sizeof(room)) || !hreq_param(q, "limit=", lim, 24) ||
	    !hreq_param(q, "format=", fmt, sizeof(fmt)) || !time_param(q, "after=", &q->t_after) ||
	    !time_param(q, "before=", &q->t_before)) {
		hreq_answer_error(q, 400, "invalid_request",
				  "bad parameter (times are RFC 3339 UTC, e.g. "
				  "2026-11-24T11:04:34.392Z)");
		return false;
	}
	snprintf(q->room, sizeof(q->room), "%s", room);
	q->limit = max < HIST_HTTP_LIMIT_DEFAULT ? max : HIST_HTTP_LIMIT_DEFAULT;
	if (lim[0]) {
		char *end;
		unsigned long v = strtoul(lim, &end, 10);
		if (*end || lim[0] < '0' || lim[0] > '9' || v == 0) {
			hreq_answer_error(q, 400, "invalid_request", "bad limit");
			return false;
		}
		q->limit = v < max ? (uint32_t)v : max;
	}
	q->csv = strcmp(fmt, "csv") == 0;
	if (q->route == HR_SEARCH && !q->q[0]) {
		hreq_answer_error(q, 400, "invalid_request", "q is required");
		return false;
	}
	if (q->route == HR_EXPORT && fmt[0] && !q->csv && strcmp(fmt, "ndjson") != 0) {
		hreq_answer_error(q, 400, "invalid_request", "format is ndjson or csv");
		return false;
	}
	return true;
}

/* ---- the query ---- */

static json_t *folded(const char *room)
{
	char f[CHATHIST_TARGET_MAX + 1];
	size_t n = strlen(room);

	if (n > CHATHIST_TARGET_MAX)
		n = CHATHIST_TARGET_MAX;
	irc_casemap_fold(IRC_CASEMAP_RFC1459, room, n, f);
	return json_stringn(f, n);
}

/* The rooms user may read, as a filter (NULL: everything). Auditors read
 * everything; admins every room but no direct conversation; others the
 * private rooms they are members of, or any room that is not private
 * (not in their private_rooms/denied_rooms, not matching a mask), never a
 * direct conversation. */
static json_t *access_filter(const json_t *user, char *const *masks, size_t n_masks)
{
	json_t *no_dm = json_pack("{s:{s:s}}", "prefix", "channel", "dm:");
	json_t *members = json_array(), *not_private = json_array();
	size_t i;
	json_t *v;

	if (hist_api_is_auditor(user)) {
		json_decref(no_dm);
		json_decref(members);
		json_decref(not_private);
		return NULL;
	}
	if (hist_api_privileged(user)) {
		json_decref(members);
		json_decref(not_private);
		return json_pack("{s:{s:[o]}}", "bool", "must_not", no_dm);
	}
	json_array_append_new(not_private, no_dm);
	json_array_foreach(json_object_get(user, "private_rooms"), i,
			   v) if (json_is_string(v) &&
				  hist_api_room_access(user, json_string_value(v),
						       json_string_length(v), masks,
						       n_masks) == HIST_API_MEMBER)
		json_array_append_new(members, folded(json_string_value(v)));
	json_t *named = json_array();
	const char *keys[] = {"private_rooms", "denied_rooms"};
	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(user, keys[k]), i, v) if (json_is_string(v))
			json_array_append_new(named, folded(json_string_value(v)));
	json_array_append_new(not_private, json_pack("{s:{s:o}}", "terms", "channel", named));
	for (size_t m = 0; m < n_masks; m++)
		json_array_append_new(not_private, json_pack("{s:{s:{s:o}}}", "wildcard", "channel",
							     "value", folded(masks[m])));
	return json_pack("{s:{s:[{s:{s:o}},{s:{s:o}}],s:i}}", "bool", "should", "terms", "channel",
			 members, "bool", "must_not", not_private, "minimum_should_match", 1);
}

static json_t *time_range(const hreq_t *q)
{
	char a[40], b[40];
	json_t *r = json_object();

	if (q->t_after >= 0 && archive_event_time_format(q->t_after, a, sizeof(a)) >= 0)
		json_object_set_new(r, "gt", json_string(a));
	if (q->t_before >= 0 && archive_event_time_format(q->t_before, b, sizeof(b)) >= 0)
		json_object_set_new(r, "lt", json_string(b));
	return json_pack("{s:{s:o}}", "range", "@timestamp", r);
}

/* The filters of a search or export; NULL when the room is refused (403
 * answered). */
static json_t *filters(hreq_t *q)
{
	hist_app_t *a = hist_http_app(q->h);
	const eirc_config_irc_client_t *ic = &a->cfg->irc_client;
	const json_t *user = json_object_get(q->intro, "user");
	json_t *f = json_array(), *acc;

	json_array_append_new(f, json_pack("{s:{s:s}}", "term", "network", a->cfg->irc.network));
	json_array_append_new(f, json_pack("{s:{s:[s,s]}}", "terms", "type", "privmsg", "notice"));
	if (q->room[0]) {
		if (hist_api_room_access(user, q->room, strlen(q->room), ic->private_room_masks,
					 ic->n_private_room_masks) == HIST_API_DENIED) {
			json_decref(f);
			hreq_answer_error(q, 403, "forbidden", "this room is private");
			return NULL;
		}
		json_array_append_new(f,
				      json_pack("{s:{s:o}}", "term", "channel", folded(q->room)));
	}
	if (q->from[0])
		json_array_append_new(f, json_pack("{s:{s:s}}", "term", "nick", q->from));
	if (q->t_after >= 0 || q->t_before >= 0)
		json_array_append_new(f, time_range(q));
	if ((acc = access_filter(user, ic->private_room_masks, ic->n_private_room_masks)))
		json_array_append_new(f, acc);
	return f;
}

static int es_send(hreq_t *q, const char *method, const char *path, json_t *body, http_client_cb fn)
{
	archive_es_t *es = hist_http_es(q->h);

	free(q->req_body);
	q->req_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!es || (body && !q->req_body) ||
	    archive_es_request(es, method, path, "application/json", q->req_body,
			       q->req_body ? strlen(q->req_body) : 0, fn, q) < 0)
		return -EAGAIN;
	q->pending++;
	return 0;
}

static const char *src_str(const json_t *src, const char *key)
{
	const char *s = json_string_value(json_object_get(src, key));

	return s ? s : "";
}

/* One hit as the API shows it. */
static json_t *hit_json(const json_t *hit)
{
	const json_t *src = json_object_get(hit, "_source");
	const char *account = src_str(src, "account");

	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "msgid", src_str(src, "msgid"), "time",
			 src_str(src, "@timestamp"), "room", src_str(src, "target"), "type",
			 src_str(src, "type"), "nick", src_str(src, "nick"), "account",
			 account[0] ? json_string(account) : json_null(), "text",
			 src_str(src, "text"));
}

/* The JSON of a 200 answer; NULL for anything else. */
static json_t *answer_json(const http_client_answer_t *ans)
{
	return ans->err || ans->status != 200 ? NULL : json_loadb(ans->body, ans->len, 0, NULL);
}

/* ---- search ---- */

static void on_search(void *ud, const http_client_answer_t *ans, const eirc_err_t *err)
{
	hreq_t *q = ud;
	json_t *j, *out, *hit;
	size_t i;

	if (!hreq_reply_enter(q))
		return;
	j = answer_json(ans);
	if (!json_is_object(json_object_get(j, "hits"))) {
		log_warn("Elasticsearch search failed: %s %ld", ans->err ? err->text : "HTTP",
			 ans->status);
		json_decref(j);
		hreq_unavailable(q, "search is unavailable; try again later");
		return;
	}
	out = json_array();
	json_array_foreach(json_object_get(json_object_get(j, "hits"), "hits"), i, hit)
	{
		json_t *h = hit_json(hit);
		json_t *hl = json_object_get(json_object_get(hit, "highlight"), "text");
		json_object_set(h, "highlight", json_is_array(hl) ? hl : json_array());
		json_array_append_new(out, h);
	}
	json_t *total =
		json_object_get(json_object_get(json_object_get(j, "hits"), "total"), "value");
	hreq_answer_json(q, 200,
			 json_pack("{s:o,s:I}", "hits", out, "total",
				   (json_int_t)json_integer_value(total)));
	json_decref(j);
}

static void search(hreq_t *q)
{
	json_t *f = filters(q);
	char path[128];

	if (!f)
		return;
	json_t *body =
		json_pack("{s:i,s:b,s:{s:{s:[{s:{s:{s:s}}}],s:o}},s:[{s:{s:s}},{s:{s:s}}],"
			  "s:{s:[s],s:[s],s:{s:{}}}}",
			  "size", (int)q->limit, "track_total_hits", 1, "query", "bool", "must",
			  "match", "text", "query", q->q, "filter", f, "sort", "@timestamp",
			  "order", "desc", "msgid", "order", "desc", "highlight", "pre_tags",
			  "<em>", "post_tags", "</em>", "fields", "text");
	snprintf(path, sizeof(path), "/%s-*/_search",
		 hist_http_app(q->h)->cfg->elasticsearch.index_prefix);
	if (es_send(q, "POST", path, body, on_search) < 0)
		hreq_unavailable(q, "search is unavailable; try again later");
}

/* ---- export ---- */

static int out_add(hreq_t *q, const char *p, size_t n)
{
	char *nb = realloc(q->out, q->out_len + n + 1);

	if (!nb)
		return -ENOMEM;
	q->out = nb;
	memcpy(q->out + q->out_len, p, n);
	q->out_len += n;
	q->out[q->out_len] = '\0';
	return 0;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
 * LF, quotes doubled. */
static int csv_field(hreq_t *q, const char *s, bool last)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	int r = quote ? out_add(q, "\"", 1) : 0;

	for (const char *p = s; r == 0 && *p;) {
		size_t n = strcspn(p, "\""); /* a run without quotes, added at once */
		r = n ? out_add(q, p, n) : out_add(q, "\"\"", 2);
		p += n ? n : 1;
	}
	if (r == 0 && quote)
		r = out_add(q, "\"", 1);
	return r ? r : out_add(q, last ? "\r\n" : ",", last ? 2 : 1);
}

static int export_row(hreq_t *q, const json_t *hit)
{
	json_t *h = hit_json(hit);
	int r = 0;

	if (!h)
		return -ENOMEM;
	if (q->csv) {
		const size_t n = sizeof(csv_cols) / sizeof(csv_cols[0]);
		for (size_t i = 0; i < n && r == 0; i++) {
			const char *v = json_string_value(json_object_get(h, csv_cols[i]));
			r = csv_field(q, v ? v : "", i + 1 == n);
		}
	} else {
		char *line = json_dumps(h, JSON_COMPACT);
		r = line ? out_add(q, line, strlen(line)) : -ENOMEM;
		r = r ? r : out_add(q, "\n", 1);
		free(line);
	}
	json_decref(h);
	q->rows++;
	return r;
}

static void on_pit_closed(void *ud, const http_client_answer_t *ans, const eirc_err_t *err)
{
	hreq_t *q = ud;

	(void)ans, (void)err;
	if (hreq_stream_enter(q))
		hreq_stream_kick(q);
}

static void export_end(hreq_t *q)
{
	q->stream_done = true;
	log_info("Export by %s of %s: %llu rows",
		 json_string_value(json_object_get(q->intro, "username")),
		 q->room[0] ? q->room : "every room", (unsigned long long)q->rows);
	if (q->pit[0] &&
	    es_send(q, "DELETE", "/_pit", json_pack("{s:s}", "id", q->pit), on_pit_closed) < 0)
		log_warn("Cannot close the export's point in time; it expires by itself");
}

/* A page could not be read: 503 before the stream started, else the
 * stream is cut short (no last chunk: the client sees the failure). */
static void page_failed(hreq_t *q, const char *why, long status)
{
	log_warn("Export page failed: %s %ld", why, status);
	if (!q->stream) {
		hreq_unavailable(q, "the archive is unavailable; try again later");
		return;
	}
	q->stream_abort = true;
	hreq_stream_kick(q);
}

static void on_page(void *ud, const http_client_answer_t *ans, const eirc_err_t *err)
{
	hreq_t *q = ud;
	json_t *j, *hits, *hit;
	size_t i;

	if (!hreq_stream_enter(q))
		return;
	q->page_pending = false;
	j = answer_json(ans);
	hits = json_object_get(json_object_get(j, "hits"), "hits");
	if (!json_is_array(hits)) {
		json_decref(j);
		page_failed(q, ans->err ? err->text : "HTTP", ans->status);
		return;
	}
	if (!q->stream) {
		hreq_stream_start(q, q->csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
		for (size_t c = 0; q->csv && c < sizeof(csv_cols) / sizeof(csv_cols[0]); c++)
			csv_field(q, csv_cols[c], c + 1 == sizeof(csv_cols) / sizeof(csv_cols[0]));
	}
	json_array_foreach(hits, i, hit) export_row(q, hit);
	json_decref(q->search_after);
	q->search_after = json_incref(json_object_get(json_array_get(hits, i ? i - 1 : 0), "sort"));
	const char *pit = json_string_value(json_object_get(j, "pit_id"));
	if (pit && strlen(pit) < sizeof(q->pit))
		snprintf(q->pit, sizeof(q->pit), "%s", pit);
	if (json_array_size(hits) < HIST_EXPORT_PAGE || !q->search_after)
		export_end(q);
	json_decref(j);
	hreq_stream_kick(q);
}

void hist_es_more(hreq_t *q)
{
	json_t *f, *body;

	if (q->page_pending || q->stream_done || !(f = filters(q)))
		return;
	body = json_pack("{s:i,s:{s:{s:o}},s:{s:s,s:s},s:[{s:{s:s}},{s:{s:s}}]}", "size",
			 HIST_EXPORT_PAGE, "query", "bool", "filter", f, "pit", "id", q->pit,
			 "keep_alive", HIST_EXPORT_KEEP_ALIVE, "sort", "@timestamp", "order", "asc",
			 "msgid", "order", "asc");
	if (q->search_after)
		json_object_set(body, "search_after", q->search_after);
	if (es_send(q, "POST", "/_search", body, on_page) < 0) {
		page_failed(q, strerror(EAGAIN), 0);
		return;
	}
	q->page_pending = true;
}

static void on_pit(void *ud, const http_client_answer_t *ans, const eirc_err_t *err)
{
	hreq_t *q = ud;
	json_t *j;
	const char *id;

	if (!hreq_reply_enter(q))
		return;
	j = answer_json(ans);
	id = json_string_value(json_object_get(j, "id"));
	if (!id || strlen(id) >= sizeof(q->pit)) {
		log_warn("Cannot open a point in time for an export: %s %ld",
			 ans->err ? err->text : "HTTP", ans->status);
		json_decref(j);
		hreq_unavailable(q, "the archive is unavailable; try again later");
		return;
	}
	snprintf(q->pit, sizeof(q->pit), "%s", id);
	json_decref(j);
	hist_es_more(q);
}

/* The audit row is written: open the point in time. */
void hist_es_export_audited(hreq_t *q)
{
	char path[160];

	snprintf(path, sizeof(path), "/%s-*/_pit?keep_alive=" HIST_EXPORT_KEEP_ALIVE,
		 hist_http_app(q->h)->cfg->elasticsearch.index_prefix);
	if (es_send(q, "POST", path, NULL, on_pit) < 0)
		hreq_unavailable(q, "the archive is unavailable; try again later");
}

void hist_es_run(hreq_t *q)
{
	const json_t *user = json_object_get(q->intro, "user");

	/* who may ask comes before whether it can be answered: a 503 would
	 * tell a non-auditor about the deployment */
	if (q->route != HR_SEARCH && !hist_api_is_auditor(user)) {
		hreq_answer_error(q, 403, "forbidden", "exports are for auditors");
		return;
	}
	if (!hist_http_es(q->h)) {
		hreq_unavailable(q, "no Elasticsearch is configured (elasticsearch.urls)");
		return;
	}
	if (q->route == HR_SEARCH) {
		search(q);
		return;
	}
	json_t *f = filters(q);
	if (!f)
		return;
	json_decref(f);
	hist_http_audit(q);
}
