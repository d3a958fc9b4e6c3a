/*
 * gw_access: access checks of live sessions. See gw_access.h.
 *
 * Sessions are marked due (access_due) by events, resyncs and the recheck
 * timer; the kick timer (0 ms, or the retry delay after a failed round)
 * runs a round: every due session that still relays goes into batches of
 * GW_ACCESS_BATCH_MAX, one POST each. A request keeps the request ids of
 * its sessions, not pointers: a session may end while it is in flight.
 * The next round starts when every request of this one has answered.
 */
#include "gateway/gw_access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "common/backoff.h"
#include "common/http_client.h"
#include "common/irc_line.h"
#include "common/log.h"
#include "gateway/gw_relay.h"
#include "gateway/gw_server.h"

typedef struct access_req {
	queue_t node; /* on gw_access's reqs */
	gw_access_t *a;
	http_client_xfer_t *xfer; /* NULL once it ended */
	char *body;
	size_t n;
	char (*ids)[GW_REQUEST_ID_MAX + 1];
} access_req_t;

struct gw_access {
	gw_server_t *srv; /* its gw_auth carries the checks */
	uint64_t recheck_ms;
	queue_t by_user[GW_ACCESS_BUCKETS]; /* gw_session_t by user_node */
	queue_t reqs;                       /* access_req_t in flight */
	bool round_failed;
	backoff_t retry;
	uv_timer_t kick, recheck;
	int handles_open;
	/* events of the last moments (ring), and the last resync: a session
	 * whose consume was in flight then is checked once it relays */
	struct {
		uint64_t user, at;
	} recent[GW_ACCESS_RECENT_MAX];
	size_t recent_next, n_recent;
	uint64_t resync_at;                       /* loop time + 1 of the last resync; 0: none */
	gw_session_t *batch[GW_ACCESS_BATCH_MAX]; /* on_kick's */
};

static size_t user_hash(uint64_t user)
{
	return (size_t)((user * UINT64_C(0x9E3779B97F4A7C15)) >> 52) & (GW_ACCESS_BUCKETS - 1);
}

static void access_log(gw_session_t *ss, log_level_t level, const char *msg)
{
	log_field_t f[] = {{"request_id", ss->request_id}, {"nick", ss->nick}};

	log_fields(level, f, 2, "%s", msg);
}

static void on_kick(uv_timer_t *t);

/* Runs a round after delay_ms (a pending one is moved). */
static void kick(gw_access_t *a, uint64_t delay_ms)
{
	uv_timer_start(&a->kick, on_kick, delay_ms, 0);
}

/* ---- the pure part ---- */

char *gw_access_body(gw_session_t *const *sessions, size_t n)
{
	json_t *arr = json_array(), *j = json_pack("{s:o}", "sessions", arr);
	char *s = NULL;

	if (!j)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_pack("{s:I, s:I}", "user_id",
							 (json_int_t)sessions[i]->user_id, "family",
							 (json_int_t)sessions[i]->family)) < 0)
			goto out;
	s = json_dumps(j, JSON_COMPACT);
out:
	json_decref(j);
	return s;
}

void gw_access_verdicts_free(gw_access_verdict_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rooms);
		v[i] = (gw_access_verdict_t){0};
	}
}

static const char *reason_why(const char *reason)
{
	static const char *const map[][2] = {
		{"disabled", "account disabled"},
		{"deleted", "account deleted"},
		{"signed_out", "signed out"},
	};

	for (size_t i = 0; reason && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(reason, map[i][0]))
			return map[i][1];
	return NULL;
}

static int verdict_fill(json_t *e, gw_access_verdict_t *v)
{
	json_t *active = json_object_get(e, "active");

	if (!json_is_boolean(active))
		return -EINVAL;
	if (!json_is_true(active)) {
		v->why = reason_why(json_string_value(json_object_get(e, "reason")));
		return v->why ? 0 : -EINVAL;
	}
	v->active = true;
	json_t *rooms = json_object_get(e, "private_rooms");
	int r;
	if (rooms && !json_is_array(rooms))
		return -EINVAL;
	/* the consume's limits (GW_AUTH_ROOMS_MAX): a user past them could
	 * not have opened the session either */
	if ((r = gw_auth_rooms_join(rooms, &v->rooms)) < 0)
		return r;
	if (!v->rooms && !(v->rooms = strdup("")))
		return -ENOMEM;
	return 0;
}

int gw_access_parse(const char *body, size_t len, size_t n, gw_access_verdict_t *out)
{
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *arr = json_object_get(j, "sessions");
	int r = 0;

	memset(out, 0, n * sizeof(*out));
	if (!json_is_array(arr) || json_array_size(arr) != n)
		r = -EINVAL;
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *e = json_array_get(arr, i);
		r = json_is_object(e) ? verdict_fill(e, &out[i]) : -EINVAL;
	}
	json_decref(j);
	if (r < 0)
		gw_access_verdicts_free(out, n);
	return r;
}

/* ---- applying an answer ---- */

/* "EIRC ROOMS :<rooms>" to the irc-client; a list longer than one line
 * takes (IRC_LINE_MAX) is cut at a name: the user loses the rooms left
 * out, never gains one. */
static void send_rooms(gw_session_t *ss, const char *rooms)
{
	char line[IRC_LINE_MAX];
	size_t n = (size_t)snprintf(line, sizeof(line), "EIRC ROOMS :%s", rooms);

	if (n > sizeof(line) - 3) {
		n = sizeof(line) - 3;
		while (n > 12 && line[n] != ',')
			n--;
		access_log(ss, LOG_WARN, "private rooms too many for one EIRC ROOMS line: cut");
	}
	memcpy(line + n, "\r\n", 2);
	gw_relay_to_irc(ss, line, n + 2);
}

static void apply(gw_access_t *a, const access_req_t *r, const gw_access_verdict_t *v)
{
	char msg[96];

	for (size_t i = 0; i < r->n; i++) {
		gw_session_t *ss = gw_table_find(&a->srv->table, r->ids[i]);
		if (!ss || !ss->access_tracked || ss->state != GW_SS_RELAYING)
			continue; /* ended meanwhile */
		if (v[i].active) {
			send_rooms(ss, v[i].rooms);
			a->srv->metrics.access_rooms++;
			continue;
		}
		a->srv->metrics.access_ended++;
		snprintf(msg, sizeof(msg), "session ended by an access change: %s", v[i].why);
		access_log(ss, LOG_INFO, msg);
		gw_access_remove(a, ss);
		gw_relay_end(ss, GW_CLOSE_INVALID_TOKEN, v[i].why);
	}
}

static void req_free(access_req_t *r)
{
	http_client_cancel(r->xfer);
	free(r->body);
	free(r->ids);
	free(r);
}

/* The sessions of r are due again (a failed request). */
static void req_redo(gw_access_t *a, const access_req_t *r)
{
	for (size_t i = 0; i < r->n; i++) {
		gw_session_t *ss = gw_table_find(&a->srv->table, r->ids[i]);
		if (ss && ss->access_tracked)
			ss->access_due = true;
	}
	a->round_failed = true;
}

static void round_end(gw_access_t *a)
{
	if (!a->round_failed) {
		kick(a, 0); /* what was marked meanwhile */
		return;
	}
	a->round_failed = false;
	kick(a, backoff_next(&a->retry));
}

static void on_done(void *ud, const http_client_answer_t *ans, const eirc_err_t *why)
{
	access_req_t *r = ud;
	gw_access_t *a = r->a;
	gw_access_verdict_t *v = NULL;
	int pr = -EINVAL;

	r->xfer = NULL;
	queue_remove(&r->node);
	if (ans->err == -ECANCELED) { /* gw_auth_close() first: the gateway is ending */
		req_free(r);
		return;
	}
	if (!ans->err && ans->status == 200 && (v = calloc(r->n, sizeof(*v))))
		pr = gw_access_parse(ans->body, ans->len, r->n, v);
	if (pr == 0) {
		backoff_reset(&a->retry);
		apply(a, r, v);
		gw_access_verdicts_free(v, r->n);
	} else {
		log_warn("Access check of %zu session(s) at eirc-auth failed: %s%s%ld, retrying",
			 r->n, ans->err ? why->text : "HTTP ", ans->err ? "" : " status ",
			 ans->err ? 0L : ans->status);
		a->srv->metrics.access_check_failures++;
		req_redo(a, r);
	}
	free(v);
	req_free(r);
	if (queue_empty(&a->reqs))
		round_end(a);
}

static int send_batch(gw_access_t *a, gw_session_t *const *batch, size_t n)
{
	access_req_t *r = calloc(1, sizeof(*r));
	int rc = -ENOMEM;

	if (!r || !(r->ids = calloc(n, sizeof(*r->ids))) || !(r->body = gw_access_body(batch, n)))
		goto fail;
	r->a = a;
	r->n = n;
	for (size_t i = 0; i < n; i++)
		memcpy(r->ids[i], batch[i]->request_id, sizeof(r->ids[i]));
	if ((rc = gw_auth_post(a->srv->auth, "/internal/access", r->body, strlen(r->body),
			       GW_ACCESS_RESPONSE_MAX, on_done, r, &r->xfer)) < 0)
		goto fail;
	queue_insert_tail(&a->reqs, &r->node);
	return 0;
fail:
	if (r)
		req_free(r);
	for (size_t i = 0; i < n; i++)
		batch[i]->access_due = true;
	a->round_failed = true;
	log_warn("Access check of %zu session(s) not sent: %s, retrying", n, strerror(-rc));
	return rc;
}

/* Sends every due session still relaying, in batches. */
static void on_kick(uv_timer_t *t)
{
	gw_access_t *a = t->data;
	gw_session_t **batch = a->batch;
	size_t n = 0;
	queue_t *q;

	if (!queue_empty(&a->reqs))
		return; /* round_end kicks again */
	QUEUE_FOREACH(q, &a->srv->table.all) {
		gw_session_t *ss = gw_table_session(q);
		if (!ss->access_due)
			continue;
		ss->access_due = false;
		if (!ss->access_tracked || ss->state != GW_SS_RELAYING)
			continue;
		batch[n++] = ss;
		if (n == GW_ACCESS_BATCH_MAX) {
			send_batch(a, batch, n);
			n = 0;
		}
	}
	if (n)
		send_batch(a, batch, n);
	if (queue_empty(&a->reqs) && a->round_failed)
		round_end(a);
}

static void mark_all(gw_access_t *a)
{
	queue_t *q;
	bool any = false;

	QUEUE_FOREACH(q, &a->srv->table.all) {
		gw_session_t *ss = gw_table_session(q);
		if (ss->access_tracked)
			any = ss->access_due = true;
	}
	if (any)
		kick(a, 0);
}

static void on_recheck(uv_timer_t *t)
{
	mark_all(t->data);
}

/* ---- the interface ---- */

void gw_access_event(gw_access_t *a, const char *kind, uint64_t user, uint64_t family)
{
	bool one_family = !strcmp(kind, "signout") && family;
	queue_t *q;
	bool any = false;

	a->recent[a->recent_next].user = user;
	a->recent[a->recent_next].at = uv_now(a->srv->loop);
	a->recent_next = (a->recent_next + 1) % GW_ACCESS_RECENT_MAX;
	if (a->n_recent < GW_ACCESS_RECENT_MAX)
		a->n_recent++;
	QUEUE_FOREACH(q, &a->by_user[user_hash(user)]) {
		gw_session_t *ss = queue_data(q, gw_session_t, user_node);
		/* a session opened without a family (an older eirc-auth) is
		 * checked on every sign-out of its user */
		if (ss->user_id != user || (one_family && ss->family && ss->family != family))
			continue;
		any = ss->access_due = true;
	}
	if (any)
		kick(a, 0);
}

void gw_access_resync(gw_access_t *a)
{
	a->resync_at = uv_now(a->srv->loop) + 1;
	mark_all(a);
}

/* True when an event for ss's user, or a resync, may have come while its
 * consume was in flight (consume_at or later). */
static bool missed_while_consuming(const gw_access_t *a, const gw_session_t *ss)
{
	size_t oldest =
		(a->recent_next + GW_ACCESS_RECENT_MAX - a->n_recent) % GW_ACCESS_RECENT_MAX;

	if (a->resync_at && a->resync_at - 1 >= ss->consume_at)
		return true;
	if (a->n_recent == GW_ACCESS_RECENT_MAX && a->recent[oldest].at >= ss->consume_at)
		return true; /* the ring does not reach back far enough */
	for (size_t i = 0; i < a->n_recent; i++)
		if (a->recent[i].user == ss->user_id && a->recent[i].at >= ss->consume_at)
			return true;
	return false;
}

void gw_access_add(gw_access_t *a, gw_session_t *ss)
{
	if (ss->access_tracked)
		return;
	ss->access_tracked = true;
	queue_insert_tail(&a->by_user[user_hash(ss->user_id)], &ss->user_node);
	if (missed_while_consuming(a, ss)) {
		ss->access_due = true;
		kick(a, 0);
	}
}

void gw_access_remove(gw_access_t *a, gw_session_t *ss)
{
	(void)a;
	if (!ss->access_tracked)
		return;
	ss->access_tracked = false;
	ss->access_due = false;
	queue_remove(&ss->user_node);
	queue_init(&ss->user_node);
}

static void access_free(gw_access_t *a)
{
	free(a);
}

static void on_timer_closed(uv_handle_t *h)
{
	gw_access_t *a = h->data;

	if (--a->handles_open == 0)
		access_free(a);
}

int gw_access_new(gw_server_t *srv, uint64_t recheck_ms, gw_access_t **out)
{
	gw_access_t *a = calloc(1, sizeof(*a));
	uint32_t seed = 0;

	if (!a)
		return -ENOMEM;
	a->srv = srv;
	a->recheck_ms = recheck_ms;
	for (size_t i = 0; i < GW_ACCESS_BUCKETS; i++)
		queue_init(&a->by_user[i]);
	queue_init(&a->reqs);
	(void)getrandom(&seed, sizeof(seed), 0);
	backoff_init(&a->retry, GW_ACCESS_RETRY_MIN_MS, GW_ACCESS_RETRY_MAX_MS, seed);
	uv_timer_init(srv->loop, &a->kick);
	uv_timer_init(srv->loop, &a->recheck);
	a->kick.data = a->recheck.data = a;
	a->handles_open = 2;
	if (recheck_ms)
		uv_timer_start(&a->recheck, on_recheck, recheck_ms, recheck_ms);
	*out = a;
	return 0;
}

void gw_access_close(gw_access_t *a)
{
	if (!a)
		return;
	/* requests in flight on gw_auth's client: cancelled, no callback */
	while (!queue_empty(&a->reqs)) {
		access_req_t *r = queue_data(queue_head(&a->reqs), access_req_t, node);
		queue_remove(&r->node);
		req_free(r);
	}
	for (size_t i = 0; i < GW_ACCESS_BUCKETS; i++)
		while (!queue_empty(&a->by_user[i]))
			gw_access_remove(
				a, queue_data(queue_head(&a->by_user[i]), gw_session_t, user_node));
	uv_close((uv_handle_t *)&a->kick, on_timer_closed);
	uv_close((uv_handle_t *)&a->recheck, on_timer_closed);
}
