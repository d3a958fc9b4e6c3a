/*
 * auth_db: libpq non-blocking connections on a libuv loop. See auth_db.h.
 *
 * Each connection owns a retry/connect timer (lives as long as the pool)
 * and, while it has a socket, a heap-allocated uv_poll_t for that socket:
 * libpq may change the socket on reconnect, so a new poll handle is made
 * for each socket and the old one freed in its close callback.
 *
 * Statements are prepared once per connection on first use (the SQL texts
 * are static strings, so their address names them): a query then costs one
 * round trip without parsing or planning.
 */
#include "auth/auth_db.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/queue.h"

/* Prepared statements per connection; past it, queries run unprepared. */
#define DB_PREPARED_MAX 48

typedef struct db_query {
	queue_t node; /* on auth_db's queue while waiting for a connection */
	const char *sql;
	int n;
	char *params[AUTH_DB_PARAMS_MAX];
	auth_db_cb cb;
	void *data;
} db_query_t;

typedef enum { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY } conn_state_t;

typedef struct db_conn {
	auth_db_t *db;
	PGconn *pg;
	uv_poll_t *poll;
	int poll_events;
	uv_timer_t timer;
	conn_state_t state;
	db_query_t *q;
	PGresult *res;
	const char *prepared[DB_PREPARED_MAX];
	int n_prepared;
	bool preparing; /* the pending result is the PREPARE of q */
} db_conn_t;

struct auth_db {
	uv_loop_t *loop;
	db_conn_t conns[AUTH_DB_POOL_MAX];
	int size;
	char *keys[8];
	char *values[8];
	unsigned connect_timeout_ms;
	queue_t waiting; /* db_query_t, oldest first */
	size_t queued;
	bool closing;
	int open_handles;
	void (*done)(void *);
	void *done_arg;
};

static void conn_connect(db_conn_t *c);
static void conn_dispatch(auth_db_t *db);
static void conn_on_poll(uv_poll_t *p, int status, int events);

static void query_free(db_query_t *q)
{
	for (int i = 0; i < q->n; i++)
		free(q->params[i]);
	free(q);
}

static void query_finish(db_query_t *q, int status, const PGresult *res)
{
	q->cb(q->data, status, res);
	query_free(q);
}

static void db_free_conninfo(auth_db_t *db)
{
	for (int i = 0; i < 8; i++) {
		free(db->keys[i]);
		free(db->values[i]);
	}
}

static void handle_closed(uv_handle_t *h)
{
	auth_db_t *db = h->data;

	if (h->type == UV_POLL)
		free(h);
	if (--db->open_handles > 0 || !db->closing)
		return;
	db_free_conninfo(db);
	if (db->done)
		db->done(db->done_arg);
	free(db);
}

/* Closes the poll handle of c's current socket, if any. */
static void conn_unpoll(db_conn_t *c)
{
	if (!c->poll)
		return;
	uv_close((uv_handle_t *)c->poll, handle_closed);
	c->poll = NULL;
	c->poll_events = 0;
}

/* Watches c's socket for `events`, making a poll handle when needed. The
 * handle's data is the pool (for handle_closed); conn_on_poll finds the
 * connection by its handle. */
static int conn_watch(db_conn_t *c, int events)
{
	int r;

	if (!c->poll) {
		c->poll = malloc(sizeof(*c->poll));
		if (!c->poll)
			return -ENOMEM;
		r = uv_poll_init(c->db->loop, c->poll, PQsocket(c->pg));
		if (r < 0) {
			free(c->poll);
			c->poll = NULL;
			return r;
		}
		c->poll->data = c->db;
		c->db->open_handles++;
	}
	if (events == c->poll_events)
		return 0;
	c->poll_events = events;
	return uv_poll_start(c->poll, events, conn_on_poll);
}

static void conn_on_retry(uv_timer_t *t);

/* The connection is unusable: fail its query, schedule a reconnect. */
static void conn_lost(db_conn_t *c)
{
	db_query_t *q = c->q;

	c->q = NULL;
	if (c->res) {
		PQclear(c->res);
		c->res = NULL;
	}
	conn_unpoll(c);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = C_DOWN;
	c->n_prepared = 0;
	c->preparing = false;
	if (!c->db->closing)
		uv_timer_start(&c->timer, conn_on_retry, AUTH_DB_RETRY_MS, 0);
	if (q)
		query_finish(q, -ECONNRESET, NULL);
}

static void conn_on_retry(uv_timer_t *t)
{
	db_conn_t *c = t->data;

	if (c->state == C_CONNECTING) {
		/* connect_timeout elapsed: give up on this attempt */
		conn_lost(c);
		return;
	}
	conn_connect(c);
}

static void conn_connect(db_conn_t *c)
{
	auth_db_t *db = c->db;

	c->pg = PQconnectStartParams((const char *const *)db->keys, (const char *const *)db->values,
				     0);
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD || PQsocket(c->pg) < 0 ||
	    conn_watch(c, UV_WRITABLE) < 0) {
		conn_lost(c);
		return;
	}
	c->state = C_CONNECTING;
	uv_timer_start(&c->timer, conn_on_retry, db->connect_timeout_ms, 0);
}

/* Drives PQconnectPoll; the socket may change between calls. */
static void conn_connecting(db_conn_t *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);
	uv_os_fd_t fd = -1;

	if (st == PGRES_POLLING_FAILED) {
		uv_timer_stop(&c->timer);
		conn_lost(c);
		return;
	}
	if (c->poll && (uv_fileno((uv_handle_t *)c->poll, &fd) < 0 || fd != PQsocket(c->pg)))
		conn_unpoll(c);
	if (st == PGRES_POLLING_OK) {
		uv_timer_stop(&c->timer);
		if (PQsetnonblocking(c->pg, 1) != 0 || conn_watch(c, UV_READABLE) < 0) {
			conn_lost(c);
			return;
		}
		c->state = C_IDLE;
		conn_dispatch(c->db);
		return;
	}
	if (conn_watch(c, st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE) < 0)
		conn_lost(c);
}

/* Index of the statement `sql` among c's prepared ones, or -1. */
static int conn_prepared(const db_conn_t *c, const char *sql)
{
	for (int i = 0; i < c->n_prepared; i++)
		if (c->prepared[i] == sql)
			return i;
	return -1;
}

/* Sends q (or first its PREPARE) on the connection c. */
static void conn_send(db_conn_t *c, db_query_t *q)
{
	char name[16];
	int idx = conn_prepared(c, q->sql), ok, f;

	c->q = q;
	c->state = C_BUSY;
	if (idx >= 0) {
		snprintf(name, sizeof(name), "s%d", idx);
		ok = PQsendQueryPrepared(c->pg, name, q->n, (const char *const *)q->params, NULL,
					 NULL, 0);
	} else if (c->n_prepared < DB_PREPARED_MAX) {
		snprintf(name, sizeof(name), "s%d", c->n_prepared);
		c->preparing = true;
		ok = PQsendPrepare(c->pg, name, q->sql, q->n, NULL);
	} else {
		ok = PQsendQueryParams(c->pg, q->sql, q->n, NULL, (const char *const *)q->params,
				       NULL, NULL, 0);
	}
	if (!ok) {
		conn_lost(c);
		return;
	}
	f = PQflush(c->pg);
	if (f < 0 || conn_watch(c, f ? UV_READABLE | UV_WRITABLE : UV_READABLE) < 0)
		conn_lost(c);
}

/* The PREPARE of c->q finished with r: run the statement, or fail q. */
static void conn_prepared_done(db_conn_t *c, PGresult *r)
{
	db_query_t *q = c->q;

	c->preparing = false;
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		c->q = NULL;
		c->state = C_IDLE;
		query_finish(q, -EIO, r);
		PQclear(r);
		if (!c->db->closing)
			conn_dispatch(c->db);
		return;
	}
	PQclear(r);
	c->prepared[c->n_prepared++] = q->sql;
	conn_send(c, q);
}

/* c has every result of its current command: finish it. */
static void conn_complete(db_conn_t *c)
{
	PGresult *r = c->res;
	db_query_t *q = c->q;
	ExecStatusType st;

	c->res = NULL;
	if (c->preparing) {
		conn_prepared_done(c, r);
		return;
	}
	c->q = NULL;
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	c->state = C_IDLE;
	query_finish(q, st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ? 0 : -EIO, r);
	PQclear(r);
	if (!c->db->closing)
		conn_dispatch(c->db);
}

/* Reads what arrived; completes the command once libpq has every result. */
static void conn_read(db_conn_t *c)
{
	PGresult *r;

	if (!PQconsumeInput(c->pg)) {
		conn_lost(c);
		return;
	}
	while (c->q && !PQisBusy(c->pg)) {
		r = PQgetResult(c->pg);
		if (!r) {
			conn_complete(c);
			return;
		}
		if (c->res)
			PQclear(c->res);
		c->res = r;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD)
		conn_lost(c);
}

static void conn_on_poll(uv_poll_t *p, int status, int events)
{
	auth_db_t *db = p->data;
	db_conn_t *c = NULL;

	for (int i = 0; i < db->size && !c; i++)
		if (db->conns[i].poll == p)
			c = &db->conns[i];
	if (!c)
		return;
	if (status < 0) {
		conn_lost(c);
		return;
	}
	if (c->state == C_CONNECTING) {
		conn_connecting(c);
		return;
	}
	if ((events & UV_WRITABLE) && c->state == C_BUSY) {
		int f = PQflush(c->pg);
		if (f < 0 || (f == 0 && conn_watch(c, UV_READABLE) < 0)) {
			conn_lost(c);
			return;
		}
	}
	if (events & UV_READABLE)
		conn_read(c);
}

static void conn_dispatch(auth_db_t *db)
{
	for (int i = 0; i < db->size && !queue_empty(&db->waiting); i++) {
		db_conn_t *c = &db->conns[i];
		queue_t *n;
		if (c->state != C_IDLE)
			continue;
		n = queue_head(&db->waiting);
		queue_remove(n);
		db->queued--;
		conn_send(c, queue_data(n, db_query_t, node));
	}
}

static int db_set(auth_db_t *db, int i, const char *k, const char *v)
{
	db->keys[i] = strdup(k);
	db->values[i] = v ? strdup(v) : NULL;
	return db->keys[i] && (!v || db->values[i]) ? 0 : -ENOMEM;
}

static int db_conninfo(auth_db_t *db, const auth_db_opts_t *o)
{
	char opt[64];
	int i = 0, r = 0;

	snprintf(opt, sizeof(opt), "-c statement_timeout=%u", o->statement_timeout_ms);
	r |= db_set(db, i++, "host", o->host);
	r |= db_set(db, i++, "port", o->port);
	r |= db_set(db, i++, "dbname", o->dbname);
	r |= db_set(db, i++, "user", o->user);
	if (o->password)
		r |= db_set(db, i++, "password", o->password);
	r |= db_set(db, i++, "options", opt);
	r |= db_set(db, i++, "application_name", "eirc-auth");
	return r ? -ENOMEM : 0;
}

int auth_db_new(uv_loop_t *loop, const auth_db_opts_t *opts, auth_db_t **out_db)
{
	auth_db_t *db;

	if (opts->size < 1 || opts->size > AUTH_DB_POOL_MAX)
		return -EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->loop = loop;
	queue_init(&db->waiting);
	db->size = opts->size;
	db->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	if (db_conninfo(db, opts) < 0) {
		db_free_conninfo(db);
		free(db);
		return -ENOMEM;
	}
	for (int i = 0; i < db->size; i++) {
		db_conn_t *c = &db->conns[i];
		c->db = db;
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
		db->open_handles++;
		conn_connect(c);
	}
	*out_db = db;
	return 0;
}

int auth_db_query(auth_db_t *db, const char *sql, int n, const char *const *params, auth_db_cb cb,
		  void *data)
{
	db_query_t *q;

	if (db->closing)
		return -ECANCELED;
	if (n < 0 || n > AUTH_DB_PARAMS_MAX || !cb)
		return -EINVAL;
	if (db->queued >= AUTH_DB_QUEUE_MAX)
		return -EAGAIN;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (params[i] && !(q->params[i] = strdup(params[i]))) {
			q->n = i;
			query_free(q);
			return -ENOMEM;
		}
	}
	q->n = n;
	q->sql = sql;
	q->cb = cb;
	q->data = data;
	queue_insert_tail(&db->waiting, &q->node);
	db->queued++;
	conn_dispatch(db);
	return 0;
}

int auth_db_ready(const auth_db_t *db)
{
	int n = 0;

	for (int i = 0; i < db->size; i++)
		n += db->conns[i].state == C_IDLE || db->conns[i].state == C_BUSY;
	return n;
}

void auth_db_close(auth_db_t *db, void (*done)(void *arg), void *arg)
{
	if (!db)
		return;
	db->closing = true;
	db->done = done;
	db->done_arg = arg;
	while (!queue_empty(&db->waiting)) {
		queue_t *n = queue_head(&db->waiting);
		queue_remove(n);
		query_finish(queue_data(n, db_query_t, node), -ECANCELED, NULL);
	}
	db->queued = 0;
	for (int i = 0; i < db->size; i++) {
		db_conn_t *c = &db->conns[i];
		db_query_t *running = c->q;
		c->q = NULL;
		conn_unpoll(c);
		if (c->res)
			PQclear(c->res);
		c->res = NULL;
		PQfinish(c->pg);
		c->pg = NULL;
		c->state = C_DOWN;
		uv_timer_stop(&c->timer);
		c->timer.data = db;
		uv_close((uv_handle_t *)&c->timer, handle_closed);
		if (running)
			query_finish(running, -ECANCELED, NULL);
	}
}
