/*
 * hist_http_msgs: GET /v1/rooms/{room}/messages?before=&after=&around=&limit=
 * (docs/history.md): the room's authorisation, then the CHATHISTORY query
 * script (hist_query.h) on Redis, answered as JSON with msgid cursors.
 */
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_http_int.h"
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "history-bridge/hist_query.h"

/* Fields of one stored entry looked at (the logger writes 12 or 13). */
#define MSGS_FIELDS_MAX 32

static bool parse_limit(const char *s, const hreq_t *q, uint32_t *out)
{
	uint32_t max = (uint32_t)hist_http_app(q->h)->cfg->history.page_max;

	return hist_api_limit_parse(s, HIST_HTTP_LIMIT_DEFAULT, max, out) == 0;
}

bool hist_msgs_parse(hreq_t *q, const char *room, size_t room_len)
{
	char lim[24];

	if (!hist_api_room_ok(room, room_len)) {
		hreq_answer_error(q, 400, "invalid_request", "not a room name");
		return false;
	}
	memcpy(q->room, room, room_len);
	q->room[room_len] = '\0';
	if (!hreq_param(q, "before=", q->before, sizeof(q->before)) ||
	    !hreq_param(q, "after=", q->after, sizeof(q->after)) ||
	    !hreq_param(q, "around=", q->around, sizeof(q->around)) ||
	    !hreq_param(q, "limit=", lim, sizeof(lim)) || !parse_limit(lim, q, &q->limit)) {
		hreq_answer_error(q, 400, "invalid_request", "bad limit or cursor");
		return false;
	}
	if ((q->before[0] && !hist_api_cursor_ok(q->before, strlen(q->before))) ||
	    (q->after[0] && !hist_api_cursor_ok(q->after, strlen(q->after))) ||
	    (q->around[0] && !hist_api_cursor_ok(q->around, strlen(q->around))) ||
	    (q->around[0] && (q->before[0] || q->after[0]))) {
		hreq_answer_error(q, 400, "invalid_request",
				  "cursors are msgids; around= goes alone");
		return false;
	}
	return true;
}

static void set_ref(hist_ref_t *r, const char *msgid)
{
	r->kind = CHATHIST_REF_MSGID;
	r->msgid_len = strlen(msgid);
	memcpy(r->msgid, msgid, r->msgid_len + 1);
}

/* The CHATHISTORY form of the request: LATEST *, BEFORE, AFTER, AROUND,
 * or BETWEEN after= and before= (the first page after after=). */
static void build_req(hreq_t *q)
{
	hist_req_t *r = &q->req;

	memset(r, 0, sizeof(*r));
	r->cm = IRC_CASEMAP_RFC1459;
	r->target_len = strlen(q->room);
	memcpy(r->target, q->room, r->target_len + 1);
	r->target_is_channel = true;
	r->limit = q->limit;
	if (q->around[0]) {
		r->sub = CHATHIST_AROUND;
		set_ref(&r->ref[0], q->around);
	} else if (q->after[0] && q->before[0]) {
		r->sub = CHATHIST_BETWEEN;
		set_ref(&r->ref[0], q->after);
		set_ref(&r->ref[1], q->before);
	} else if (q->after[0]) {
		r->sub = CHATHIST_AFTER;
		set_ref(&r->ref[0], q->after);
	} else if (q->before[0]) {
		r->sub = CHATHIST_BEFORE;
		set_ref(&r->ref[0], q->before);
	} else {
		r->sub = CHATHIST_LATEST;
		r->ref[0].kind = CHATHIST_REF_STAR;
	}
}

static int query_send(hreq_t *q);

/* {"messages":[...], "next_before":..., "next_after":...} from the
 * script's {end, id, {fields}, ...} (oldest first). */
static json_t *page_json(hreq_t *q, const redisReply *r)
{
	bool at_start = r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1;
	json_t *msgs = json_array();
	hist_field_t f[MSGS_FIELDS_MAX];

	for (size_t i = 1; msgs && i + 1 < r->elements; i += 2) {
		const redisReply *fl = r->element[i + 1];
		size_t n = 0;
		if (fl->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t k = 0; k + 1 < fl->elements && n < MSGS_FIELDS_MAX; k += 2) {
			const redisReply *a = fl->element[k], *b = fl->element[k + 1];
			if (a->type == REDIS_REPLY_STRING && b->type == REDIS_REPLY_STRING)
				f[n++] = (hist_field_t){a->str, a->len, b->str, b->len};
		}
		json_t *m = hist_api_message(f, n);
		if (m)
			json_array_append_new(msgs, m);
	}
	size_t n = json_array_size(msgs);
	enum chathist_sub sub = q->req.sub;
	bool newer = sub != CHATHIST_LATEST &&
		     !((sub == CHATHIST_AFTER || sub == CHATHIST_BETWEEN) && n < q->limit);
	json_t *oldest = n ? json_object_get(json_array_get(msgs, 0), "msgid") : NULL;
	json_t *newest = n ? json_object_get(json_array_get(msgs, n - 1), "msgid") : NULL;
	return json_pack("{s:o,s:O,s:O}", "messages", msgs ? msgs : json_array(), "next_before",
			 oldest && !at_start ? oldest : json_null(), "next_after",
			 newest && newer ? newest : json_null());
}

static void on_page(void *ud, redisReply *r, void *privdata)
{
	hreq_t *q = privdata;
	hist_app_t *a = ud;

	if (!hreq_reply_enter(q))
		return;
	if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
	    !q->tried_eval) {
		q->tried_eval = true;
		a->sha[0] = '\0';
		hist_app_load_script(a);
		if (query_send(q) == 0)
			return;
		r = NULL;
	}
	if (!r) {
		hreq_unavailable(q, "message history is unavailable; try again later");
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
		log_warn("History query for %s failed: %s", q->room,
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected answer");
		hreq_unavailable(q, "message history could not be read");
	} else {
		hreq_answer_json(q, 200, page_json(q, r));
	}
}

static int query_send(hreq_t *q)
{
	hist_app_t *a = hist_http_app(q->h);
	hist_query_opts_t o = {a->cfg->irc.network, a->cfg->redis.partitions,
			       (uint32_t)a->cfg->history.page_max};
	static hist_query_call_t call;
	int r;

	if (hist_query_build(&q->req, &o, a->sha[0] ? a->sha : NULL, &call) < 0)
		return -EINVAL;
	if (!a->redis ||
	    (r = redis_argv(a->redis, call.argc, call.argv, call.argvlen, on_page, q)) < 0)
		return -ENOTCONN;
	q->pending++;
	return 0;
}

void hist_msgs_run(hreq_t *q)
{
	hist_app_t *a = hist_http_app(q->h);
	const json_t *user = json_object_get(q->intro, "user");
	const eirc_config_irc_client_t *ic = &a->cfg->irc_client;
	int r;

	if (hist_api_room_access(user, q->room, strlen(q->room), ic->private_room_masks,
				 ic->n_private_room_masks) == HIST_API_DENIED) {
		hreq_answer_error(q, 403, "forbidden", "this room is private");
		return;
	}
	build_req(q);
	if ((r = query_send(q)) == -EINVAL)
		hreq_answer_error(q, 400, "invalid_request", "room name too long");
	else if (r < 0)
		hreq_unavailable(q, "message history is unavailable; try again later");
}
