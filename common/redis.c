/*
 * redis: one Redis, or a Redis Cluster behind the same interface (see
 * redis.h). The connections are redis_conn (redis_conn_int.h); this file
 * is the slot map, the routing, the redirects and the in-order delivery of
 * replies.
 */
#include "common/redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/queue.h"
#include "common/redis_conn_int.h"
#include "common/redis_slot.h"
#include "config/config.h"

enum cl_state { CL_DOWN = 0, CL_UP, CL_RESET };

/* Commands of one slot keep their order through redirects: all those in
 * flight are on one node (node), and none is sent while an older one of
 * the slot is parked. */
struct slotstate {
	uint32_t parked[REDIS_SLOT_COUNT];
	uint32_t inflight[REDIS_SLOT_COUNT];
	int16_t node[REDIS_SLOT_COUNT];
};

struct node {
	redis_t *c;
	redis_conn_t *conn;
	char host[REDIS_SLOT_ADDR_MAX];
	int port;
	bool up;
	bool owner;     /* a master of the current map */
	bool resetting; /* connected when a reset began; its drop is awaited */
};

/* A command in cluster mode, from send to delivery (send order). */
struct cpend {
	queue_t order; /* on redis_t's pending, in send order */
	queue_t parkq; /* on redis_t's parked while parked */
	uint64_t seq;  /* send order */
	redis_reply_fn fn;
	void *privdata;
	char *cmd;
	size_t len;
	int route; /* enum redis_slot_route */
	int slot;
	int ask_node; /* ASK target, -1: none */
	unsigned redirects;
	int waiting;           /* replies expected (several for REDIS_SLOT_ALL) */
	uint64_t parked_since; /* 0: never parked */
	int node;              /* where it is in flight (REDIS_SLOT_KEY) */
	bool parked;
	bool done;
	bool lost;         /* REDIS_SLOT_ALL: a node's connection was lost */
	redisReply *reply; /* kept copy (done out of order), NULL: lost */
};

struct redis {
	uv_loop_t *loop;
	redis_opts_t opts;
	redis_cb_t cb;
	void *ud;
	redis_conn_t *single; /* without cluster: all there is */
	struct node *nodes[REDIS_NODES_MAX];
	size_t n_nodes;
	int16_t slots[REDIS_SLOT_COUNT]; /* node index, -1: unknown */
	enum cl_state state;
	bool map_ok, refreshing, freeing, draining, started;
	bool map_err_said; /* an unusable CLUSTER SLOTS was reported (on_down) */
	unsigned ticks;
	eirc_err_t down_why;  /* of the reset under way */
	queue_t pending;      /* every command until delivered, send order */
	queue_t parked;       /* the parked ones, send order */
	struct slotstate *ss; /* cluster: per-slot ordering */
	uint64_t seq;
	uint64_t routing_errors;
	int open; /* connections and the tick not closed yet */
	redis_closed_fn on_closed;
	uv_timer_t tick;
};

static char err_tryagain[] = "TRYAGAIN still migrating after the command timeout";
static char err_redirects[] = "ERR too many cluster redirects";
static char err_nodes[] = "ERR too many cluster nodes";

static void dispatch(redis_t *c, struct cpend *p);
static void drain(redis_t *c);

/* ---- replies kept for in-order delivery ---- */

/* A deep copy built as hiredis builds replies (malloc'd str and element
 * array), so freeReplyObject() frees it. */
static redisReply *reply_copy(const redisReply *s)
{
	redisReply *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->type = s->type;
	d->integer = s->integer;
	if (s->str) {
		if (!(d->str = malloc(s->len + 1)))
			goto fail;
		memcpy(d->str, s->str, s->len);
		d->str[s->len] = '\0';
		d->len = s->len;
	}
	if (s->elements) {
		if (!(d->element = calloc(s->elements, sizeof(*d->element))))
			goto fail;
		d->elements = s->elements;
		for (size_t i = 0; i < s->elements; i++)
			if (!(d->element[i] = reply_copy(s->element[i])))
				goto fail;
	}
	return d;
fail:
	freeReplyObject(d);
	return NULL;
}

/* ---- resets: one master lost is the whole connection lost ---- */

static void cpend_free(struct cpend *p)
{
	freeReplyObject(p->reply);
	free(p->cmd);
	free(p);
}

static void finish_reset(redis_t *c)
{
	if (c->freeing || c->state != CL_RESET || !queue_empty(&c->pending))
		return;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i]->resetting)
			return;
	c->state = CL_DOWN;
	c->map_ok = false;
	if (c->cb.on_down)
		c->cb.on_down(c->ud, &c->down_why);
}

static void complete(redis_t *c, struct cpend *p, const redisReply *reply);
static void unpark(redis_t *c, struct cpend *p);

static void begin_reset(redis_t *c, const char *why)
{
	struct cpend *p;
	queue_t *q;

	if (c->state != CL_UP)
		return;
	c->state = CL_RESET;
	eirc_err_set(&c->down_why, 0, "%s", why);
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];
		if (n->up) {
			n->resetting = true;
			redis_conn_drop(n->conn, c->down_why.text); /* kept until the drop */
		}
	}
	while (!c->freeing && !queue_empty(&c->parked)) {
		q = queue_head(&c->parked);
		p = queue_data(q, struct cpend, parkq);
		unpark(c, p);
		complete(c, p, NULL);
	}
	finish_reset(c);
}

/* ---- delivery in send order ---- */

static struct cpend *oldest(const redis_t *c)
{
	return queue_empty(&c->pending) ? NULL
					: queue_data(queue_head(&c->pending), struct cpend, order);
}

static void deliver(redis_t *c, struct cpend *p, const redisReply *reply)
{
	queue_remove(&p->order);
	p->fn(c->ud, (redisReply *)reply, p->privdata);
	cpend_free(p);
}

static void drain(redis_t *c)
{
	struct cpend *p;

	if (c->draining)
		return;
	c->draining = true;
	while (!c->freeing && (p = oldest(c)) && p->done)
		deliver(c, p, p->reply);
	c->draining = false;
	if (!c->freeing)
		finish_reset(c);
}

/* The command's final reply (NULL: lost). */
static void complete(redis_t *c, struct cpend *p, const redisReply *reply)
{
	p->done = true;
	if (p == oldest(c) && !c->draining) {
		deliver(c, p, reply);
	} else if (reply && !(p->reply = reply_copy(reply))) {
		begin_reset(c, "out of memory");
	}
	drain(c);
}

static void fail_routing(redis_t *c, struct cpend *p, char *msg)
{
	redisReply e = {.type = REDIS_REPLY_ERROR, .str = msg, .len = strlen(msg)};

	c->routing_errors++;
	complete(c, p, &e);
}

/* ---- nodes and the slot map ---- */

static void node_up(void *ud);
static void node_down(void *ud, const eirc_err_t *why);
static void node_unsafe(void *ud, const eirc_err_t *why);

static int node_find(redis_t *c, const char *host, int port)
{
	static const redis_cb_t cb = {node_up, node_down, node_unsafe};
	redis_opts_t o = c->opts;
	struct node *n;
	int err;

	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i]->port == port && strcmp(c->nodes[i]->host, host) == 0)
			return (int)i;
	if (c->n_nodes == REDIS_NODES_MAX)
		return -E2BIG;
	if (strlen(host) >= sizeof(n->host))
		return -ENAMETOOLONG;
	if (!(n = calloc(1, sizeof(*n))))
		return -ENOMEM;
	snprintf(n->host, sizeof(n->host), "%s", host);
	n->port = port;
	n->c = c;
	o.host = n->host;
	o.port = port;
	if ((err = redis_conn_new(c->loop, &o, &cb, n, &n->conn)) < 0) {
		free(n);
		return err;
	}
	c->nodes[c->n_nodes] = n;
	if (c->started)
		redis_conn_start(n->conn);
	return (int)c->n_nodes++;
}

static bool masters_up(const redis_t *c)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i]->owner && !c->nodes[i]->up)
			return false;
	return true;
}

static void check_up(redis_t *c)
{
	if (c->state != CL_DOWN || !c->map_ok || !masters_up(c))
		return;
	c->state = CL_UP;
	if (c->cb.on_up)
		c->cb.on_up(c->ud);
}

/* One range of CLUSTER SLOTS: [start, end, [host, port, ...], replicas...]. */
static int map_range(redis_t *c, const redisReply *e, int16_t *slots)
{
	const redisReply *m;
	const char *host;
	int idx;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
	    e->element[0]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->type != REDIS_REPLY_INTEGER || e->element[0]->integer < 0 ||
	    e->element[1]->integer >= REDIS_SLOT_COUNT ||
	    e->element[0]->integer > e->element[1]->integer)
		return -EINVAL;
	m = e->element[2];
	if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    m->element[1]->type != REDIS_REPLY_INTEGER || m->element[1]->integer < 1 ||
	    m->element[1]->integer > 65535)
		return -EINVAL;
	/* an empty or "?" host means "the address you reached me at" */
	host = m->element[0]->len && strcmp(m->element[0]->str, "?") ? m->element[0]->str
								     : c->opts.host;
	if ((idx = node_find(c, host, (int)m->element[1]->integer)) < 0)
		return idx;
	for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
		slots[s] = (int16_t)idx;
	return 0;
}

static void kick_parked(redis_t *c);

/* A slot map we cannot use: said once (as on_down) while down, so that a
 * cluster past REDIS_NODES_MAX does not stay down without a word;
 * counted as a routing error while up (the old map stays). */
static void map_failed(redis_t *c, int err)
{
	eirc_err_t e;
	const char *what = err == -E2BIG          ? "names more than REDIS_NODES_MAX nodes"
			   : err == -ENAMETOOLONG ? "names a host name too long"
			   : err == -EINVAL       ? "reply not understood"
						  : "could not be read: out of memory";

	if (c->state == CL_UP) {
		c->routing_errors++;
		return;
	}
	if (c->state != CL_DOWN || c->map_err_said || !c->cb.on_down)
		return;
	c->map_err_said = true;
	eirc_err_set(&e, err, "CLUSTER SLOTS %s", what);
	c->cb.on_down(c->ud, &e);
}

static void on_slots(void *ud, redisReply *r, void *privdata)
{
	redis_t *c = privdata;
	int16_t slots[REDIS_SLOT_COUNT];
	bool full = true;
	int err;

	(void)ud;
	c->refreshing = false;
	if (c->freeing || !r || r->type != REDIS_REPLY_ARRAY || c->state == CL_RESET)
		return;
	memset(slots, 0xff, sizeof(slots));
	for (size_t i = 0; i < r->elements; i++)
		if ((err = map_range(c, r->element[i], slots)) < 0) {
			map_failed(c, err);
			return;
		}
	for (size_t s = 0; s < REDIS_SLOT_COUNT && full; s++)
		full = slots[s] >= 0;
	if (!full && c->state == CL_DOWN)
		return; /* the cluster is still forming: asked again on the tick */
	memcpy(c->slots, slots, sizeof(slots));
	for (size_t i = 0; i < c->n_nodes; i++)
		c->nodes[i]->owner = false;
	for (size_t s = 0; s < REDIS_SLOT_COUNT; s++)
		if (slots[s] >= 0)
			c->nodes[slots[s]]->owner = true;
	c->map_ok = true;
	c->map_err_said = false;
	check_up(c);
	if (c->state == CL_UP)
		kick_parked(c);
}

static void refresh(redis_t *c)
{
	static const char cluster_slots[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";

	for (size_t i = 0; i < c->n_nodes && !c->refreshing; i++)
		if (c->nodes[i]->up && redis_conn_send(c->nodes[i]->conn, cluster_slots,
						       sizeof(cluster_slots) - 1, on_slots, c) == 0)
			c->refreshing = true;
}

static void node_up(void *ud)
{
	struct node *n = ud;
	redis_t *c = n->c;

	n->up = true;
	if (c->state == CL_DOWN) {
		if (!c->map_ok)
			refresh(c);
		check_up(c);
	} else if (c->state == CL_UP) {
		kick_parked(c);
	}
}

static void node_down(void *ud, const eirc_err_t *why)
{
	struct node *n = ud;
	redis_t *c = n->c;
	bool was_up = n->up;

	n->up = false;
	n->resetting = false;
	if (c->state == CL_UP) {
		if (was_up) /* its callbacks just ran with NULL: the owner must resend */
			begin_reset(c, why->text);
	} else if (c->state == CL_RESET) {
		finish_reset(c);
	} else if (n == c->nodes[0] && c->cb.on_down) {
		c->cb.on_down(c->ud, why); /* the seed, as one Redis would say */
	}
}

/* Any node that may evict makes the whole cluster unfit. */
static void node_unsafe(void *ud, const eirc_err_t *why)
{
	struct node *n = ud;

	if (n->c->cb.on_unsafe)
		n->c->cb.on_unsafe(n->c->ud, why);
}

/* ---- routing ---- */

/* Parks p (in send order) until its node is up, the slot is stable or
 * TRYAGAIN's pause is over. */
static void park(redis_t *c, struct cpend *p)
{
	queue_t *at = queue_tail(&c->parked);

	if (!p->parked_since)
		p->parked_since = uv_now(c->loop) ? uv_now(c->loop) : 1;
	p->parked = true;
	if (p->slot >= 0)
		c->ss->parked[p->slot]++;
	/* usually the newest: found from the tail */
	while (at != &c->parked && queue_data(at, struct cpend, parkq)->seq > p->seq)
		at = at->prev;
	queue_insert_head(at, &p->parkq);
}

static void unpark(redis_t *c, struct cpend *p)
{
	queue_remove(&p->parkq);
	p->parked = false;
	if (p->slot >= 0)
		c->ss->parked[p->slot]--;
}

static bool slot_parked_in(const queue_t *list, int slot)
{
	const queue_t *q;

	QUEUE_FOREACH(q, list)
		if (queue_data(q, const struct cpend, parkq)->slot == slot)
			return true;
	return false;
}

static void dispatch_key(redis_t *c, struct cpend *p, bool from_park);

/* Sends what can go, oldest first; a command stays parked behind an older
 * one of its slot. */
static void kick_parked(redis_t *c)
{
	queue_t todo;
	struct cpend *p;
	uint64_t now = uv_now(c->loop);

	queue_init(&todo);
	queue_move(&c->parked, &todo);
	/* an owner may close us from a callback: then nothing more is sent */
	while (!c->freeing && !queue_empty(&todo)) {
		p = queue_data(queue_head(&todo), struct cpend, parkq);
		unpark(c, p);
		if (c->state != CL_UP)
			complete(c, p, NULL);
		else if (now - p->parked_since > c->opts.command_timeout_ms)
			fail_routing(c, p, err_tryagain);
		else if (p->slot >= 0 && slot_parked_in(&c->parked, p->slot))
			park(c, p);
		else if (p->route == REDIS_SLOT_KEY)
			dispatch_key(c, p, true);
		else
			dispatch(c, p);
	}
}

static void on_asking(void *ud, redisReply *r, void *privdata)
{
	(void)ud, (void)r, (void)privdata;
}

static void on_node_reply(void *ud, redisReply *reply, void *privdata);

static int send_to(redis_t *c, int idx, struct cpend *p)
{
	struct node *n = idx >= 0 ? c->nodes[idx] : NULL;

	if (!n || !n->up)
		return -ENOTCONN;
	if (p->ask_node >= 0 &&
	    redis_conn_send(n->conn, "*1\r\n$6\r\nASKING\r\n", 16, on_asking, NULL) < 0)
		return -ENOTCONN;
	if (redis_conn_send(n->conn, p->cmd, p->len, on_node_reply, p) < 0)
		return -ENOTCONN;
	p->waiting++;
	if (p->route == REDIS_SLOT_KEY) {
		c->ss->inflight[p->slot]++;
		c->ss->node[p->slot] = (int16_t)idx;
		p->node = idx;
	}
	return 0;
}

/* Sends a keyed command to the node of its slot, unless an older command
 * of the slot is parked or in flight elsewhere (then it parks). */
static void dispatch_key(redis_t *c, struct cpend *p, bool from_park)
{
	int idx = p->ask_node >= 0 ? p->ask_node : c->slots[p->slot];
	const struct slotstate *ss = c->ss;

	if ((!from_park && ss->parked[p->slot]) ||
	    (ss->inflight[p->slot] && ss->node[p->slot] != idx) || send_to(c, idx, p) < 0)
		park(c, p);
}

/* Sends p where it belongs, or parks it until that node is up. */
static void dispatch(redis_t *c, struct cpend *p)
{
	int idx = -1;

	if (p->route == REDIS_SLOT_KEY) {
		dispatch_key(c, p, false);
		return;
	}
	if (p->route == REDIS_SLOT_ALL) {
		for (size_t i = 0; i < c->n_nodes; i++)
			if (c->nodes[i]->owner)
				(void)send_to(c, (int)i, p);
		if (!p->waiting)
			park(c, p);
		return;
	}
	for (size_t i = 0; i < c->n_nodes && idx < 0; i++)
		if (c->nodes[i]->owner && c->nodes[i]->up)
			idx = (int)i;
	if (send_to(c, idx, p) < 0)
		park(c, p);
}

/* MOVED, ASK or TRYAGAIN from node n: sends p again (true), or it is a
 * final reply. */
static bool redirected(redis_t *c, struct node *n, struct cpend *p, const redisReply *r)
{
	char addr[REDIS_SLOT_ADDR_MAX], *colon, *end;
	bool ask;
	int slot, idx;
	long port;

	if (strncmp(r->str, "TRYAGAIN", 8) == 0) {
		p->ask_node = -1;
		park(c, p);
		return true;
	}
	if (redis_slot_redirect(r->str, &ask, &slot, addr, sizeof(addr)) < 0)
		return false;
	colon = strrchr(addr, ':');
	*colon = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return false;
	if (++p->redirects > REDIS_REDIRECTS_MAX) {
		fail_routing(c, p, err_redirects);
		return true;
	}
	/* as in CLUSTER SLOTS, "" or "?" is the host we reached n at */
	if ((idx = node_find(c, addr[0] && strcmp(addr, "?") ? addr : n->host, (int)port)) < 0) {
		fail_routing(c, p, err_nodes);
		return true;
	}
	p->ask_node = ask ? idx : -1;
	if (!ask) {
		c->slots[slot] = (int16_t)idx;
		refresh(c);
	}
	dispatch(c, p);
	return true;
}

/* SCRIPT LOAD and the like: the first error, else the first reply; a lost
 * connection (NULL) wins. */
static void fanout_reply(redis_t *c, struct cpend *p, const redisReply *reply)
{
	redisReply *r;

	if (!reply) {
		p->lost = true;
	} else if (!p->lost && (!p->reply || (reply->type == REDIS_REPLY_ERROR &&
					      p->reply->type != REDIS_REPLY_ERROR))) {
		freeReplyObject(p->reply);
		if (!(p->reply = reply_copy(reply))) {
			p->lost = true;
			begin_reset(c, "out of memory");
		}
	}
	if (p->waiting)
		return;
	r = p->lost ? NULL : p->reply;
	p->reply = NULL;
	complete(c, p, r);
	freeReplyObject(r);
}

static void on_node_reply(void *ud, redisReply *reply, void *privdata)
{
	struct node *n = ud;
	redis_t *c = n->c;
	struct cpend *p = privdata;

	p->waiting--;
	if (p->route == REDIS_SLOT_KEY)
		c->ss->inflight[p->slot]--;
	if (p->route == REDIS_SLOT_ALL) {
		fanout_reply(c, p, reply);
		return;
	}
	if (reply && reply->type == REDIS_REPLY_ERROR && c->state == CL_UP &&
	    redirected(c, n, p, reply))
		return;
	if (reply && reply->type == REDIS_REPLY_ERROR &&
	    (strncmp(reply->str, "CROSSSLOT", 9) == 0 ||
	     strncmp(reply->str, "CLUSTERDOWN", 11) == 0 || strncmp(reply->str, "MOVED", 5) == 0 ||
	     strncmp(reply->str, "ASK", 3) == 0 || strncmp(reply->str, "TRYAGAIN", 8) == 0))
		c->routing_errors++;
	complete(c, p, reply);
}

static int cl_send(redis_t *c, char *cmd, int len, redis_reply_fn fn, void *privdata)
{
	struct cpend *p;
	const char *key;
	size_t klen;
	int route;

	if ((route = redis_slot_route(cmd, (size_t)len, &key, &klen)) < 0) {
		redisFreeCommand(cmd);
		return -EINVAL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		redisFreeCommand(cmd);
		return -ENOMEM;
	}
	*p = (struct cpend){.fn = fn,
			    .privdata = privdata,
			    .cmd = cmd,
			    .len = (size_t)len,
			    .route = route,
			    .ask_node = -1,
			    .seq = ++c->seq,
			    .node = -1,
			    .slot = route == REDIS_SLOT_KEY ? redis_slot_of(key, klen) : -1};
	queue_init(&p->parkq);
	queue_insert_tail(&c->pending, &p->order);
	dispatch(c, p);
	return 0;
}

/* ---- the interface ---- */

void redis_opts_from_config(const eirc_config_redis_t *cfg, const char *username,
			    const char *password, redis_opts_t *out)
{
	*out = (redis_opts_t){.host = cfg->host,
			      .port = cfg->port,
			      .username = username ? username : cfg->username,
			      .password = password ? password : cfg->password,
			      .connect_timeout_ms = cfg->connect_timeout,
			      .command_timeout_ms = cfg->command_timeout,
			      .reconnect_min_ms = REDIS_RECONNECT_MIN_MS,
			      .reconnect_max_ms = REDIS_RECONNECT_MAX_MS,
			      .cluster = cfg->cluster};
}

static void on_tick(uv_timer_t *t)
{
	redis_t *c = t->data;

	c->ticks++;
	if (c->state == CL_DOWN && !c->map_ok && c->ticks % 10 == 0)
		refresh(c);
	if (!queue_empty(&c->parked))
		kick_parked(c);
}

int redis_new(uv_loop_t *loop, const redis_opts_t *opts, const redis_cb_t *cb, void *ud,
	      redis_t **out_r)
{
	redis_t *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	*c = (redis_t){.loop = loop, .opts = *opts, .cb = *cb, .ud = ud};
	queue_init(&c->pending);
	queue_init(&c->parked);
	if (!opts->cluster) {
		/* one Redis: the owner talks to the connection directly */
		if ((err = redis_conn_new(loop, opts, cb, ud, &c->single)) < 0)
			free(c);
		else
			*out_r = c;
		return err;
	}
	memset(c->slots, 0xff, sizeof(c->slots));
	if (!(c->ss = calloc(1, sizeof(*c->ss))) || node_find(c, opts->host, opts->port) < 0) {
		free(c->ss);
		free(c);
		return strlen(opts->host) >= REDIS_SLOT_ADDR_MAX ? -EINVAL : -ENOMEM;
	}
	c->opts.host = c->nodes[0]->host;
	uv_timer_init(loop, &c->tick);
	c->tick.data = c;
	*out_r = c;
	return 0;
}

void redis_start(redis_t *c)
{
	if (c->single) {
		redis_conn_start(c->single);
		return;
	}
	c->started = true;
	uv_timer_start(&c->tick, on_tick, REDIS_PARK_MS, REDIS_PARK_MS);
	for (size_t i = 0; i < c->n_nodes; i++)
		redis_conn_start(c->nodes[i]->conn);
}

bool redis_up(const redis_t *c)
{
	return c->single ? redis_conn_up(c->single) : c->state == CL_UP;
}

/* A formatted command (len < 0: formatting failed) to the connection or
 * the cluster; cmd is consumed. */
static int send_formatted(redis_t *c, char *cmd, int len, redis_reply_fn fn, void *privdata)
{
	int err;

	if (len < 0)
		return -ENOMEM;
	if (!c->single)
		return cl_send(c, cmd, len, fn, privdata);
	err = redis_conn_send(c->single, cmd, (size_t)len, fn, privdata);
	redisFreeCommand(cmd);
	return err;
}

int redis_argv(redis_t *c, int argc, const char **argv, const size_t *argvlen, redis_reply_fn fn,
	       void *privdata)
{
	char *cmd = NULL;

	if (!redis_up(c))
		return -ENOTCONN;
	if (c->single) {
		/* The writer's hot path: hiredis's sds formatter writes the
		 * argument headers without printf (redisFormatCommandArgv calls
		 * sprintf twice per argument: +6% of the writer's instructions). */
		sds scmd = NULL;
		int len = redisFormatSdsCommandArgv(&scmd, argc, argv, argvlen);
		int err;

		if (len < 0)
			return -ENOMEM;
		err = redis_conn_send(c->single, scmd, (size_t)len, fn, privdata);
		redisFreeSdsCommand(scmd);
		return err;
	}
	return send_formatted(c, cmd, redisFormatCommandArgv(&cmd, argc, argv, argvlen), fn,
			      privdata);
}

int redis_cmd(redis_t *c, redis_reply_fn fn, void *privdata, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int len;

	if (!redis_up(c))
		return -ENOTCONN;
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	return send_formatted(c, cmd, len, fn, privdata);
}

void redis_drop(redis_t *c, const char *why)
{
	if (c->single)
		redis_conn_drop(c->single, why);
	else
		begin_reset(c, why);
}

uint64_t redis_routing_errors(const redis_t *c)
{
	return c->routing_errors;
}

/* One connection or the tick closed; the last one frees everything. */
static void part_closed(void *arg)
{
	redis_t *c = arg;
	redis_closed_fn on_closed = c->on_closed;
	void *ud = c->ud;

	if (--c->open > 0)
		return;
	while (c->n_nodes > 0)
		free(c->nodes[--c->n_nodes]);
	free(c->ss);
	free(c);
	if (on_closed)
		on_closed(ud);
}

static void on_tick_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

void redis_close(redis_t *c, redis_closed_fn on_closed)
{
	struct cpend *p;

	if (!c)
		return;
	c->freeing = true;
	c->on_closed = on_closed;
	if (c->single) {
		c->open = 1;
		redis_conn_close(c->single, part_closed, c);
		return;
	}
	c->open = (int)c->n_nodes + 1;
	for (size_t i = 0; i < c->n_nodes; i++)
		redis_conn_close(c->nodes[i]->conn, part_closed, c);
	while ((p = oldest(c))) {
		queue_remove(&p->order);
		cpend_free(p);
	}
	queue_init(&c->parked);
	uv_close((uv_handle_t *)&c->tick, on_tick_closed);
}
