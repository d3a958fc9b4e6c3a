/*
 * hist_chathist: answers CHATHISTORY requests (see hist_server_int.h): one
 * script call for a channel, a nick lookup first for a direct
 * conversation, and the gathering of TARGETS.
 */
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_dm.h"
#include "archive/archive_event.h"
#include "common/log.h"
#include "history-bridge/hist_dm.h"
#include "history-bridge/hist_query.h"

/* Fields of one stored entry we look at (the logger writes 12 or 13). */
#define HIST_FIELDS_MAX 32
/* Conversations one TARGETS request considers (channels plus direct). */
#define HIST_TARGETS_MAX 512

/* A TARGETS request being gathered: phase 1 asks each channel's latest
 * entry and the user's direct conversations, phase 2 the other users'
 * nicks; replies come in the order asked. */
struct target {
	int64_t time;
	uint64_t id; /* direct: the other user */
	char name[CHATHIST_TARGET_MAX + 1];
};

struct targets {
	int phase;
	size_t n_chans, n, replies;
	struct target t[HIST_TARGETS_MAX];
};

/* Scratch for one formatted line: the loop is single-threaded. */
static char line_buf[IRC_LINE_MAX + 1];

/* ---- the query ---- */

static int query_send(hist_conn_t *c);
static void on_fast(void *ud, redisReply *r, void *privdata);

/* Appends one entry ({id, {field, value, ...}}) of the script's answer. */
static void answer_entry(hist_conn_t *c, const redisReply *fields, const char *batch)
{
	hist_field_t f[HIST_FIELDS_MAX];
	size_t n = 0;

	if (fields->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < fields->elements && n < HIST_FIELDS_MAX; i += 2) {
		const redisReply *k = fields->element[i], *v = fields->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		f[n++] = (hist_field_t){k->str, k->len, v->str, v->len};
	}
	int len = hist_query_format(f, n, batch, c->req.target, line_buf, sizeof(line_buf));
	if (len > 0)
		hist_conn_out_add(c, line_buf, (size_t)len);
	else if (len < 0)
		log_debug("Skipped a stored entry of %s that cannot be replayed", c->req.target);
}

static void answer_batch(hist_conn_t *c, const redisReply *r)
{
	char batch[24];
	bool at_start = r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1;

	snprintf(batch, sizeof(batch), "hb%u", ++c->app->batch_seq);
	buf_reset(&c->out);
	hist_conn_out_addf(c, "%sBATCH +%s chathistory %s",
			   at_start ? "@draft/chathistory-end " : "", batch, c->req.target);
	for (size_t i = 1; i + 1 < r->elements; i += 2)
		answer_entry(c, r->element[i + 1], batch);
	hist_conn_out_addf(c, "BATCH -%s", batch);
	hist_conn_out_flush(c, c->req.label);
}

static void on_query(void *ud, redisReply *r, void *privdata)
{
	hist_conn_t *c = privdata;

	(void)ud;
	if (!hist_conn_reply_enter(c))
		return;
	if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
	    !c->tried_eval) {
		c->tried_eval = true;
		c->app->sha[0] = '\0'; /* EVAL until the script is loaded again */
		hist_app_load_script(c->app);
		if (query_send(c) == 0)
			return;
		r = NULL;
	}
	if (!r) {
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
		log_warn("History query for %s failed: %s", c->req.target,
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected answer");
		hist_conn_fail(c, "MESSAGE_ERROR", "Message history could not be read");
	} else {
		answer_batch(c, r);
	}
	hist_conn_pump(c);
}

static int query_send(hist_conn_t *c)
{
	const eirc_config_t *cfg = c->app->cfg;
	hist_query_opts_t o = {cfg->irc.network, cfg->redis.partitions,
			       (uint32_t)cfg->history.chathistory_max};
	static hist_query_call_t call;

	if (hist_query_build_conv(&c->req, &o, c->app->sha[0] ? c->app->sha : NULL,
				  c->conv[0] ? c->conv : NULL, &call) < 0)
		return -EINVAL;
	int r = redis_argv(c->app->redis, call.argc, call.argv, call.argvlen, on_query, c);
	if (r == 0)
		c->inflight++;
	return r;
}

/* ---- the fast path ---- */

/* LATEST * and BEFORE msgid= (the forms clients page with) skip the
 * script: converting 100 entries into Lua and back costs more than the
 * range itself. One XREVRANGE reads limit + 1 + HIST_FAST_SLACK entries,
 * filtered here exactly as the script filters; when that window holds too
 * few replayable entries and the stream goes on, the script answers
 * instead. BEFORE first resolves the msgid key and checks the entry, as the
 * script does. The answers are the same (the integration tests cover both
 * paths). */
#define HIST_FAST_SLACK 8

enum { FAST_GET = 1, FAST_CHECK, FAST_RANGE };

static uint32_t req_limit(const hist_conn_t *c)
{
	uint32_t max = (uint32_t)c->app->cfg->history.chathistory_max;

	return c->req.limit < max ? c->req.limit : max;
}

static const redisReply *entry_field(const redisReply *e, const char *name)
{
	size_t n = strlen(name);

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	const redisReply *f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->len == n && memcmp(f->element[i]->str, name, n) == 0)
			return f->element[i + 1];
	return NULL;
}

static bool replayable(const redisReply *e, bool all, uint64_t uid)
{
	const redisReply *t = entry_field(e, "type"), *arg = entry_field(e, "arg"),
			 *tags = entry_field(e, "tags");

	if (!t || !hist_query_visible(t->str, t->len, arg ? arg->len : 0, tags ? tags->str : "",
				      tags ? tags->len : 0, uid))
		return false;
	if ((t->len == 7 && memcmp(t->str, "privmsg", 7) == 0) ||
	    (t->len == 6 && memcmp(t->str, "notice", 6) == 0))
		return true;
	return all && !(t->len == 3 && memcmp(t->str, "gap", 3) == 0);
}

static void fast_batch(hist_conn_t *c, const redisReply *range, const size_t *idx, size_t n,
		       bool at_start)
{
	char batch[24];

	snprintf(batch, sizeof(batch), "hb%u", ++c->app->batch_seq);
	buf_reset(&c->out);
	hist_conn_out_addf(c, "%sBATCH +%s chathistory %s",
			   at_start ? "@draft/chathistory-end " : "", batch, c->req.target);
	for (size_t i = n; i-- > 0;)
		answer_entry(c, range->element[idx[i]]->element[1], batch);
	hist_conn_out_addf(c, "BATCH -%s", batch);
	hist_conn_out_flush(c, c->req.label);
}

/* range: newest first. Returns false when the script must answer. */
static bool fast_answer(hist_conn_t *c, const redisReply *range)
{
	static size_t idx[1001 + HIST_FAST_SLACK];
	uint32_t limit = req_limit(c);
	size_t n = 0, asked = limit + 1 + HIST_FAST_SLACK;

	if (range->type != REDIS_REPLY_ARRAY || limit + 1 > sizeof(idx) / sizeof(idx[0]))
		return false;
	for (size_t i = 0; i < range->elements && n <= limit; i++)
		if (replayable(range->element[i], c->req.event_playback, c->req.user_id))
			idx[n++] = i;
	if (n <= limit && range->elements == asked)
		return false; /* too few in the window, and more before it */
	fast_batch(c, range, idx, n > limit ? limit : n, n <= limit);
	return true;
}

static void fast_done(hist_conn_t *c, const redisReply *range)
{
	if (c->fast_failed) {
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
	} else if (!c->fast_ref_ok) {
		fast_batch(c, NULL, NULL, 0, false); /* unknown msgid: empty, like the script */
	} else if (!fast_answer(c, range)) {
		c->fast_step = 0;
		if (query_send(c) == 0)
			return;
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
	}
	hist_conn_pump(c);
}

static int fast_range(hist_conn_t *c, const char *end)
{
	unsigned asked = req_limit(c) + 1 + HIST_FAST_SLACK;

	if (redis_cmd(c->app->redis, on_fast, c, "XREVRANGE %s %s - COUNT %u", c->fast_key, end,
		      asked) < 0)
		return -ENOTCONN;
	c->inflight++;
	return 0;
}

static void on_fast(void *ud, redisReply *r, void *privdata)
{
	hist_conn_t *c = privdata;
	char end[64];

	(void)ud;
	if (!hist_conn_reply_enter(c))
		return;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		c->fast_failed = true;
	} else if (c->fast_step == FAST_GET) {
		if (r->type != REDIS_REPLY_STRING || r->len > 41) { /* "<ms>-<seq>" */
			c->fast_ref_ok = false;
			fast_done(c, NULL);
			return;
		}
		snprintf(end, sizeof(end), "(%.*s", (int)r->len, r->str);
		c->fast_step = FAST_CHECK;
		/* the entry must be this stream's and carry that msgid */
		if (redis_cmd(c->app->redis, on_fast, c, "XRANGE %s %b %b", c->fast_key, r->str,
			      r->len, r->str, r->len) < 0)
			c->fast_failed = true;
		else if ((c->inflight++, fast_range(c, end)) < 0)
			c->fast_failed = true;
		if (c->inflight > 0)
			return;
	} else if (c->fast_step == FAST_CHECK) {
		const redisReply *id =
			r->elements == 1 ? entry_field(r->element[0], "msgid") : NULL;
		const hist_ref_t *ref = &c->req.ref[0];
		c->fast_ref_ok = id && id->len == ref->msgid_len &&
				 memcmp(id->str, ref->msgid, id->len) == 0;
		c->fast_step = FAST_RANGE;
		return;
	}
	if (c->inflight > 0)
		return;
	fast_done(c, r && r->type == REDIS_REPLY_ARRAY ? r : NULL);
}

/* 1 when the fast path took the request, 0 when it does not apply,
 * negative when Redis cannot be asked. */
static int fast_send(hist_conn_t *c)
{
	const eirc_config_t *cfg = c->app->cfg;
	hist_query_opts_t o = {cfg->irc.network, cfg->redis.partitions,
			       (uint32_t)cfg->history.chathistory_max};
	static hist_query_call_t call;
	const hist_ref_t *ref = &c->req.ref[0];
	bool latest = c->req.sub == CHATHIST_LATEST && ref->kind == CHATHIST_REF_STAR;

	if (!latest && !(c->req.sub == CHATHIST_BEFORE && ref->kind == CHATHIST_REF_MSGID))
		return 0;
	if (hist_query_build_conv(&c->req, &o, NULL, c->conv[0] ? c->conv : NULL, &call) < 0)
		return 0;
	snprintf(c->fast_key, sizeof(c->fast_key), "%s", call.history);
	c->fast_failed = false;
	c->fast_ref_ok = true;
	if (latest) {
		c->fast_step = FAST_RANGE;
		return fast_range(c, "+") < 0 ? -ENOTCONN : 1;
	}
	if (redis_cmd(c->app->redis, on_fast, c, "GET %s", call.mkey[0]) < 0)
		return -ENOTCONN;
	c->inflight++;
	c->fast_step = FAST_GET;
	return 1;
}

/* The script, or the fast path when it applies. */
static int query_start(hist_conn_t *c)
{
	int r = fast_send(c);

	if (r != 0)
		return r < 0 ? r : 0;
	return query_send(c);
}

/* A direct-message request: the other user's id from the nick, then the
 * conversation dm:<lo>:<hi> of the two ids. */
static void on_other(void *ud, redisReply *r, void *privdata)
{
	hist_conn_t *c = privdata;
	uint64_t id;

	(void)ud;
	if (!hist_conn_reply_enter(c))
		return;
	if (!r) {
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
	} else if (hist_redis_id(r, &id) < 0 || id == c->req.user_id ||
		   archive_keys_dm_target(c->req.user_id, id, c->conv, sizeof(c->conv)) < 0) {
		hist_conn_fail(c, "INVALID_TARGET", "No conversation with this nick is known");
	} else if (query_start(c) < 0) {
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
	} else {
		return;
	}
	hist_conn_pump(c);
}

static int dm_lookup(hist_conn_t *c)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	const eirc_config_t *cfg = c->app->cfg;

	if (archive_dm_nick_key(cfg->irc.network, cfg->redis.partitions, c->req.target,
				c->req.target_len, c->req.cm, key, sizeof(key)) < 0)
		return -EINVAL;
	int r = redis_cmd(c->app->redis, on_other, c, "GET %s", key);
	if (r == 0)
		c->inflight++;
	return r;
}

/* ---- TARGETS ---- */

static void targets_send_nicks(hist_conn_t *c);

static int cmp_target(const void *x, const void *y)
{
	const struct target *a = x, *b = y;

	return a->time < b->time ? -1 : a->time > b->time;
}

/* Sorted by time, the first n from the first bound's side, within the
 * bounds (exclusive). */
static void targets_answer(hist_conn_t *c)
{
	struct targets *g = c->targets;
	int64_t t1 = c->req.ref[0].time_ms, t2 = c->req.ref[1].time_ms;
	int64_t lo = t1 < t2 ? t1 : t2, hi = t1 < t2 ? t2 : t1;
	size_t n = 0, first;
	char batch[24], ts[32];

	for (size_t i = 0; i < g->n; i++)
		if (g->t[i].name[0] && g->t[i].time > lo && g->t[i].time < hi)
			g->t[n++] = g->t[i];
	qsort(g->t, n, sizeof(g->t[0]), cmp_target);
	size_t take = n < c->req.limit ? n : c->req.limit;
	if (take > (size_t)c->app->cfg->history.chathistory_max)
		take = (size_t)c->app->cfg->history.chathistory_max;
	first = t1 <= t2 ? 0 : n - take;
	snprintf(batch, sizeof(batch), "hb%u", ++c->app->batch_seq);
	buf_reset(&c->out);
	hist_conn_out_addf(c, "BATCH +%s draft/chathistory-targets", batch);
	for (size_t i = first; i < first + take; i++) {
		if (archive_event_time_format(g->t[i].time, ts, sizeof(ts)) < 0)
			continue;
		hist_conn_out_addf(c, "@batch=%s CHATHISTORY TARGETS %s %s", batch, g->t[i].name,
				   ts);
	}
	hist_conn_out_addf(c, "BATCH -%s", batch);
	free(c->targets);
	c->targets = NULL;
	hist_conn_out_flush(c, c->req.label);
}

static void targets_fail(hist_conn_t *c)
{
	free(c->targets);
	c->targets = NULL;
	hist_conn_fail(c, "MESSAGE_ERROR",
		       "Message history is unavailable: its store cannot "
		       "be reached; try again later");
}

static void targets_reply(struct targets *g, const redisReply *r)
{
	size_t i = g->replies++;

	if (g->phase == 2) {
		struct target *t = &g->t[g->n_chans + i];
		if (r->type == REDIS_REPLY_STRING && r->len <= HIST_REQ_NICK_MAX)
			snprintf(t->name, sizeof(t->name), "%.*s", (int)r->len, r->str);
		return;
	}
	if (i < g->n_chans) {
		/* [[id, [field, value, ...]]]: the channel's latest entry */
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
		    r->element[0]->elements != 2 ||
		    r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
			return;
		const redisReply *f = r->element[0]->element[1];
		for (size_t j = 0; j + 1 < f->elements; j += 2)
			if (f->element[j]->len == 4 && memcmp(f->element[j]->str, "time", 4) == 0)
				g->t[i].time = strtoll(f->element[j + 1]->str, NULL, 10);
		return;
	}
	/* ZRANGEBYSCORE ... WITHSCORES: id, score, id, score ... */
	for (size_t j = 0;
	     r->type == REDIS_REPLY_ARRAY && j + 1 < r->elements && g->n < HIST_TARGETS_MAX;
	     j += 2) {
		struct target *t = &g->t[g->n++];
		memset(t, 0, sizeof(*t));
		t->id = strtoull(r->element[j]->str, NULL, 10);
		t->time = strtoll(r->element[j + 1]->str, NULL, 10);
	}
}

static void on_targets(void *ud, redisReply *r, void *privdata)
{
	hist_conn_t *c = privdata;

	(void)ud;
	if (!hist_conn_reply_enter(c) || !c->targets)
		return;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		c->targets->phase = -1;
	} else if (c->targets->phase > 0) {
		targets_reply(c->targets, r);
	}
	if (c->inflight > 0)
		return;
	if (c->targets->phase == 1)
		targets_send_nicks(c);
	else if (c->targets->phase == 2)
		targets_answer(c);
	else
		targets_fail(c);
	if (c->inflight == 0)
		hist_conn_pump(c);
}

static void targets_send_nicks(hist_conn_t *c)
{
	struct targets *g = c->targets;
	const eirc_config_t *cfg = c->app->cfg;
	char key[ARCHIVE_KEYS_KEY_MAX];

	g->phase = 2;
	g->replies = 0;
	for (size_t i = g->n_chans; i < g->n; i++) {
		if (archive_dm_user_key(cfg->irc.network, cfg->redis.partitions, "unick",
					g->t[i].id, key, sizeof(key)) < 0 ||
		    redis_cmd(c->app->redis, on_targets, c, "GET %s", key) < 0) {
			g->phase = -1;
			break;
		}
		c->inflight++;
	}
	if (c->inflight == 0)
		g->phase == 2 ? targets_answer(c) : targets_fail(c);
}

/* Phase 1: each channel's latest entry, and the user's conversations. */
static int targets_start(hist_conn_t *c)
{
	const eirc_config_t *cfg = c->app->cfg;
	hist_query_opts_t o = {cfg->irc.network, cfg->redis.partitions, 1};
	hist_query_call_t call;
	char key[ARCHIVE_KEYS_KEY_MAX];
	struct targets *g = calloc(1, sizeof(*g));
	int64_t t1 = c->req.ref[0].time_ms, t2 = c->req.ref[1].time_ms;
	hist_req_t one = c->req;

	if (!g)
		return -ENOMEM;
	c->targets = g;
	g->phase = 1;
	one.sub = CHATHIST_LATEST;
	for (char *save = NULL, *ch = strtok_r(c->req.channels, ",", &save);
	     ch && g->n < HIST_TARGETS_MAX - 1; ch = strtok_r(NULL, ",", &save)) {
		one.target_len = strlen(ch);
		if (one.target_len > CHATHIST_TARGET_MAX)
			continue;
		memcpy(one.target, ch, one.target_len + 1);
		one.target_is_channel = true;
		if (hist_query_build(&one, &o, NULL, &call) < 0)
			continue;
		snprintf(g->t[g->n].name, sizeof(g->t[0].name), "%s", ch);
		if (redis_cmd(c->app->redis, on_targets, c, "XREVRANGE %s + - COUNT 1",
			      call.history) < 0)
			return -ENOTCONN;
		g->n++;
		c->inflight++;
	}
	g->n_chans = g->n;
	if (archive_dm_user_key(cfg->irc.network, cfg->redis.partitions, "dms", c->req.user_id, key,
				sizeof(key)) < 0 ||
	    redis_cmd(c->app->redis, on_targets, c,
		      "ZRANGEBYSCORE %s (%lld (%lld WITHSCORES "
		      "LIMIT 0 %d",
		      key, (long long)(t1 < t2 ? t1 : t2), (long long)(t1 < t2 ? t2 : t1),
		      HIST_TARGETS_MAX - (int)g->n) < 0)
		return -ENOTCONN;
	c->inflight++;
	return 0;
}

void hist_chathist_request(hist_conn_t *c)
{
	const hist_req_t *q = &c->req;

	if (q->sub == CHATHIST_TARGETS) {
		if (targets_start(c) < 0) {
			if (c->inflight == 0)
				targets_fail(c);
			else
				c->targets->phase = -1; /* fail once the replies are in */
		}
		return;
	}
	c->tried_eval = false;
	c->conv[0] = '\0';
	int r = q->target_is_channel ? query_start(c) : dm_lookup(c);
	if (r == -EINVAL)
		hist_conn_fail(c, "INVALID_TARGET", "This target has no history here");
	else if (r < 0)
		hist_conn_fail(c, "MESSAGE_ERROR",
			       "Message history is unavailable: its store "
			       "cannot be reached; try again later");
}
