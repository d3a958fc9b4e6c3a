/*
 * lg_app: eirc-logger's wiring and its logging (see lg_app.h).
 */
#include "logger-bot/lg_app.h"

#include <stdbool.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <sodium.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/irc_conn.h"
#include "common/log.h"
#include "common/utf8.h"
#include "logger-bot/lg_archive.h"
#include "logger-bot/lg_ingest.h"
#include "logger-bot/lg_map.h"
#include "logger-bot/lg_seal.h"
#include "logger-bot/lg_shipper.h"
#include "logger-bot/lg_writer.h"

struct app {
	const eirc_config_t *cfg;
	uv_loop_t *loop;
	lg_metrics_t m;
	lg_ingest_t *ing;
	lg_writer_t *writer;
	lg_shipper_t *shipper;
	lg_archive_t *archive; /* the archive streams' trimming, on the writer's Redis */
	lg_seal_t *seal;       /* the sealer; NULL without a key */
	redis_t *seal_redis;   /* its own connection: not queued behind the writer's batches */
	/* integrity.signing_key, parsed, and its MAC key (the writer's) */
	tlog_signer_t signer;
	uint8_t mac_key[32];
	bool signing;
	http_server_t *http; /* GET /metrics; NULL when off */
	irc_conn_t *conn;
	irc_conn_server_t servers[IRC_CONN_SERVERS_MAX];
	lg_map_t wanted;    /* folded channel -> name (malloc'd) */
	int64_t down_since; /* wall ms; 0 when registered */
	/* gaps across restarts (LG_APP_SEEN_MS): the heartbeat key, the time
	 * the previous run last wrote it (0: none), when this run first
	 * registered (0: not yet) */
	char seen_key[ARCHIVE_KEYS_KEY_MAX];
	enum { SEEN_UNREAD, SEEN_READING, SEEN_READ, SEEN_DONE } seen_state;
	int64_t prev_seen, first_registered;
	uv_timer_t list_timer, rejoin_timer, drain_timer, seen_timer;
	uint64_t last_loss_log;
	uint64_t bad_log_window;     /* loop ms when the window began */
	unsigned bad_log_count;      /* lines logged in the window */
	uint64_t bad_log_suppressed; /* not logged in the window */
	bool away;                   /* what the IRC server was last told (AWAY) */
	bool stopping;
	bool closed; /* close_handles ran */
	bool failed; /* stopped on an unusable Redis: exit status 1 */
};

static struct app app; /* one logger per process */

/* ---- channels ---- */

static void want(struct app *a, const char *name)
{
	char folded[ARCHIVE_EVENT_TARGET_MAX + 1];
	size_t n = strlen(name);
	char *copy;

	if (n == 0 || n > ARCHIVE_EVENT_TARGET_MAX)
		return;
	irc_casemap_fold(lg_ingest_casemap(a->ing), name, n, folded);
	if (lg_map_get(&a->wanted, folded, n) || !(copy = strdup(name)))
		return;
	if (lg_map_put(&a->wanted, folded, n, copy) < 0)
		free(copy);
}

/* name ended (m_eirc_capture parted the bot, no one else being in it): no
 * longer wanted, so neither rejoined nor given a gap at a reconnection. A
 * configured channel is wanted again at the next registration. */
static void unwant(struct app *a, const char *name)
{
	char folded[ARCHIVE_EVENT_TARGET_MAX + 1];
	size_t n = strlen(name);

	if (n == 0 || n > ARCHIVE_EVENT_TARGET_MAX)
		return;
	irc_casemap_fold(lg_ingest_casemap(a->ing), name, n, folded);
	free(lg_map_del(&a->wanted, folded, n));
}

static void join(struct app *a, const char *name)
{
	char line[ARCHIVE_EVENT_TARGET_MAX + 8];
	int n = snprintf(line, sizeof(line), "JOIN %s", name);

	if (irc_conn_send(a->conn, line, (size_t)n) < 0)
		log_warn("Failed to send JOIN %s, ignoring", name);
}

static void join_one(void *ud, const char *key, size_t len, void *value)
{
	(void)key, (void)len;
	join(ud, value);
}

static void free_value(void *ud, const char *key, size_t len, void *value)
{
	(void)ud, (void)key, (void)len;
	free(value);
}

static void on_rejoin_timer(uv_timer_t *t)
{
	struct app *a = t->data;

	if (irc_conn_state(a->conn) == IRC_CONN_REGISTERED)
		lg_map_each(&a->wanted, join_one, a);
}

static void on_list_timer(uv_timer_t *t)
{
	struct app *a = t->data;

	if (irc_conn_state(a->conn) == IRC_CONN_REGISTERED)
		(void)irc_conn_send(a->conn, "LIST", 4);
}

/* ---- archiving or not (AWAY) ---- */

/* Tells the IRC server whether the bot archives: AWAY while an event could
 * be lost (lg_writer_can_archive), back once it cannot. m_eirc_capture
 * counts only a capture bot that is not away as archiving. */
static void update_away(struct app *a)
{
	static const char gone[] = "AWAY :" LG_APP_AWAY_TEXT;
	bool away;

	if (!a->writer || !a->conn || irc_conn_state(a->conn) != IRC_CONN_REGISTERED)
		return; /* still starting; registration asks again */
	away = !lg_writer_can_archive(a->writer);
	if (away == a->away)
		return;
	if ((away ? irc_conn_send(a->conn, gone, sizeof(gone) - 1)
		  : irc_conn_send(a->conn, "AWAY", 4)) < 0)
		return;
	a->away = away;
	if (away)
		log_warn("Cannot archive now (Redis down and the spill file unavailable or full): "
			 "set AWAY");
	else
		log_info("Archiving again: AWAY cleared");
}

/* ---- events ---- */

static void emit(void *ud, const archive_event_t *ev)
{
	struct app *a = ud;

	a->m.events_received++;
	(void)lg_writer_push(a->writer, ev); /* losses are counted and noted there */
}

static void handle_hint(struct app *a, const lg_ingest_hint_t *h)
{
	const eirc_config_logger_t *lc = &a->cfg->logger;

	if (h->self_removed) {
		log_warn("Removed from %s (a gap until it is back), rejoining", h->channel);
		join(a, h->channel);
		uv_timer_start(&a->rejoin_timer, on_rejoin_timer, LG_APP_REJOIN_MS, 0);
	} else if (h->closed) {
		log_info("%s ended (no one else was in it): left it", h->channel);
		unwant(a, h->channel);
	} else if (h->self_joined) {
		want(a, h->channel); /* rejoined after a reconnection, in gap records */
	} else if (h->invited && lc->accept_invites) {
		log_info("Invited to %s, joining", h->channel);
		want(a, h->channel);
		join(a, h->channel);
	} else if (h->listed && lc->join_listed) {
		char folded[ARCHIVE_EVENT_TARGET_MAX + 1];
		size_t n = strlen(h->channel);
		irc_casemap_fold(lg_ingest_casemap(a->ing), h->channel, n, folded);
		if (!lg_map_get(&a->wanted, folded, n)) {
			want(a, h->channel);
			join(a, h->channel);
		}
	}
}

static void check_bot_mode(struct app *a, const irc_msg_t *msg)
{
	char line[IRC_REG_NICK_MAX + 16];
	int n;

	if (!irc_msg_command_is(msg, "005"))
		return;
	for (size_t i = 1; i + 1 < msg->n_params; i++) {
		if (msg->params[i].len >= 4 && memcmp(msg->params[i].ptr, "BOT=", 4) == 0) {
			n = snprintf(line, sizeof(line), "MODE %s +%.*s",
				     irc_conn_reg(a->conn)->nick,
				     (int)(msg->params[i].len - 4 > 1 ? 1 : msg->params[i].len - 4),
				     msg->params[i].ptr + 4);
			(void)irc_conn_send(a->conn, line, (size_t)n);
		}
	}
}

/* True when one more bad-input line may be logged now (see
 * LG_APP_BAD_LOG_BURST); notes what the last window left unlogged. */
static bool bad_log_allowed(struct app *a)
{
	uint64_t now = uv_now(a->loop);

	if (a->bad_log_window == 0 || now - a->bad_log_window >= LG_APP_BAD_LOG_MS) {
		if (a->bad_log_suppressed)
			log_warn("%" PRIu64 " more bad input lines were not logged (see "
				 "eirc_logger_lines_refused_total, "
				 "eirc_logger_events_refused_total)",
				 a->bad_log_suppressed);
		a->bad_log_window = now ? now : 1;
		a->bad_log_count = 0;
		a->bad_log_suppressed = 0;
	}
	if (a->bad_log_count >= LG_APP_BAD_LOG_BURST) {
		a->bad_log_suppressed++;
		return false;
	}
	a->bad_log_count++;
	return true;
}

/* A line irc_conn could not frame or parse: never archived, so said and
 * counted. The excerpt is cut at a NUL (log lines are C strings); log.h
 * escapes the other control bytes and redacts secret-looking values. */
static void on_bad_line(void *ud, int err, const char *excerpt, size_t len)
{
	struct app *a = ud;
	char start[IRC_CONN_EXCERPT_MAX + 1];
	const char *why;

	if (err == IRC_MSG_ETOOLONG) {
		a->m.lines_refused_too_long++;
		why = "too long (whole line over 8703 bytes or message part over 512 bytes)";
	} else if (err == IRC_MSG_ETAGSTOOLONG) {
		a->m.lines_refused_tags_too_long++;
		why = "tags too long";
	} else {
		a->m.lines_refused_malformed++;
		why = "malformed (NUL or bare CR, or not IRC syntax)";
	}
	if (len > IRC_CONN_EXCERPT_MAX)
		len = IRC_CONN_EXCERPT_MAX;
	memcpy(start, excerpt, len);
	start[len] = '\0';
	if (bad_log_allowed(a))
		log_warn("Refused a line from the IRC server, not archived: %s; it starts: %s", why,
			 start);
}

/* An archived message that is odd but real: kept as the server sent it
 * (the archive is the record), said once per line and counted. */
static void flag_odd(struct app *a, const irc_msg_t *msg)
{
	bool bad_utf8 = false, controls = false;
	/* every archived command but QUIT and NICK names its channel first */
	bool in_chan = msg->n_params && !irc_msg_command_is(msg, "QUIT") &&
		       !irc_msg_command_is(msg, "NICK");
	irc_msg_span_t t = in_chan ? msg->params[0] : (irc_msg_span_t){"-", 1};

	for (size_t i = 0; i < msg->n_params && !bad_utf8; i++)
		bad_utf8 = !utf8_is_valid(msg->params[i].ptr, msg->params[i].len);
	for (size_t i = 0; in_chan && i < t.len && !controls; i++)
		controls = (unsigned char)t.ptr[i] < 0x20 || t.ptr[i] == 0x7f;
	a->m.flagged_invalid_utf8 += bad_utf8;
	a->m.flagged_channel_controls += controls;
	if ((bad_utf8 || controls) && bad_log_allowed(a))
		log_warn("Archived a %.*s from %.*s in %.*s as received: %s%s%s",
			 (int)msg->command.len, msg->command.ptr, (int)msg->source.len,
			 msg->source.ptr, (int)t.len, t.ptr,
			 bad_utf8 ? "invalid UTF-8 (U+FFFD in Elasticsearch)" : "",
			 bad_utf8 && controls ? ", " : "",
			 controls ? "control characters in the channel name" : "");
}

static void on_msg(void *ud, const irc_msg_t *msg)
{
	struct app *a = ud;
	lg_ingest_hint_t hint;
	const char *reason = NULL;
	uint64_t before = a->m.events_received;
	int r;

	check_bot_mode(a, msg);
	r = lg_ingest_msg(a->ing, msg, clock_wall_ms(), emit, a, &hint, &reason);
	if (r == LG_INGEST_DONE && a->m.events_received != before && msg->source.ptr)
		flag_odd(a, msg);
	if (r == -EINVAL) {
		a->m.events_refused++;
		if (bad_log_allowed(a))
			log_warn("Refused a %.*s from %.*s: %s, ignoring", (int)msg->command.len,
				 msg->command.ptr, (int)msg->source.len,
				 msg->source.ptr ? msg->source.ptr : "", reason);
	} else if (r < 0) {
		log_error("Failed to archive a %.*s: %s", (int)msg->command.len, msg->command.ptr,
			  strerror(-r));
	}
	handle_hint(a, &hint);
}

struct names {
	const char *v[LG_INGEST_CHANNELS_MAX];
	size_t n;
};

static void collect(void *ud, const char *key, size_t len, void *value)
{
	struct names *c = ud;

	(void)key, (void)len;
	if (c->n < LG_INGEST_CHANNELS_MAX)
		c->v[c->n++] = value;
}

static void record_gap(struct app *a, int64_t from, int64_t to, const char *why)
{
	static struct names c;
	size_t n;

	c.n = 0;
	lg_map_each(&a->wanted, collect, &c);
	n = c.n;
	lg_ingest_gap(a->ing, c.v, n, from, to, emit, a);
	a->m.gaps++;
	log_warn("Recorded a gap of %" PRId64 " ms in %zu channels%s", to - from, n, why);
}

/* ---- gaps across restarts ---- */

static void seen_read(struct app *a);

/* Once the previous run's heartbeat is known and this run has been
 * registered for LG_APP_SEEN_MS (so it is in its channels: the configured
 * ones, and those m_eirc_capture joined it to at registration): the time
 * between is a gap in each (the process was not running, or not
 * connected). From then on the heartbeat is written. */
static void restart_gap(struct app *a)
{
	if (a->seen_state != SEEN_READ || !a->first_registered ||
	    clock_wall_ms() - a->first_registered < LG_APP_SEEN_MS)
		return;
	a->seen_state = SEEN_DONE;
	if (a->prev_seen > 0 && a->prev_seen < a->first_registered)
		record_gap(a, a->prev_seen, a->first_registered, " (since the previous run)");
	if (irc_conn_state(a->conn) == IRC_CONN_REGISTERED)
		(void)lg_writer_seen_set(a->writer, a->seen_key, clock_wall_ms());
}

static void on_seen_read(void *ud, int64_t ms)
{
	struct app *a = ud;

	if (a->seen_state != SEEN_READING)
		return;
	if (ms < 0) {
		a->seen_state = SEEN_UNREAD; /* asked again when Redis is back */
		return;
	}
	a->prev_seen = ms;
	a->seen_state = SEEN_READ;
	restart_gap(a);
}

static void seen_read(struct app *a)
{
	if (a->seen_state == SEEN_UNREAD && !a->stopping &&
	    lg_writer_seen_get(a->writer, a->seen_key, on_seen_read, a) == 0)
		a->seen_state = SEEN_READING;
}

static void on_seen_timer(uv_timer_t *t)
{
	struct app *a = t->data;

	update_away(a);
	restart_gap(a);
	if (a->seen_state == SEEN_DONE && irc_conn_state(a->conn) == IRC_CONN_REGISTERED)
		(void)lg_writer_seen_set(a->writer, a->seen_key, clock_wall_ms());
}

static void on_registered(void *ud)
{
	struct app *a = ud;
	const eirc_config_logger_t *lc = &a->cfg->logger;

	a->m.irc_connected = 1;
	a->away = false; /* a new connection is not away */
	update_away(a);
	lg_ingest_set_self(a->ing, irc_conn_reg(a->conn)->nick);
	log_info("Registered as %s", irc_conn_reg(a->conn)->nick);
	if (a->down_since) {
		record_gap(a, a->down_since, clock_wall_ms(), "");
		a->down_since = 0;
	}
	for (size_t i = 0; i < lc->n_channels; i++)
		want(a, lc->channels[i]);
	if (!a->first_registered) {
		a->first_registered = clock_wall_ms();
		restart_gap(a);
	}
	lg_map_each(&a->wanted, join_one, a);
	if (lc->join_listed) {
		(void)irc_conn_send(a->conn, "LIST", 4);
		uv_timer_start(&a->list_timer, on_list_timer, lc->list_interval, lc->list_interval);
	}
}

static void on_down(void *ud, int err, const char *why, uint64_t retry_ms)
{
	struct app *a = ud;

	(void)err;
	if (a->m.irc_connected && !a->down_since)
		a->down_since = clock_wall_ms();
	a->m.irc_connected = 0;
	lg_ingest_reset(a->ing);
	uv_timer_stop(&a->list_timer);
	log_warn("IRC connection down (%s), retrying in %" PRIu64 " ms", why, retry_ms);
}

static void on_drain(void *ud)
{
	(void)ud;
}

static void on_quit(void *ud, int err)
{
	(void)ud, (void)err;
}

/* ---- notes from the writer and the shipper ---- */

static void close_handles(struct app *a);

static void on_fail_timer(uv_timer_t *t)
{
	close_handles(t->data);
}

/* A Redis that may evict keys (or will not say): nothing is written to it;
 * the logger stops with exit status 1 (the memory queue goes to the spill
 * file), out of the Redis client's callback. */
static void refuse_redis(struct app *a, const char *why)
{
	if (a->failed || a->closed)
		return;
	log_error("Refusing to archive into %s (docs/operations.md, \"Redis\"); stopping", why);
	a->failed = a->stopping = true;
	uv_timer_start(&a->drain_timer, on_fail_timer, 0, 0);
}

static void on_writer_note(void *ud, enum lg_writer_note n, const char *detail)
{
	struct app *a = ud;
	uint64_t now = uv_now(a->loop);

	update_away(a);
	switch (n) {
	case LG_WRITER_REDIS_UP:
		log_info("Redis writer connected");
		seen_read(a);
		break;
	case LG_WRITER_REDIS_DOWN:
		log_warn("Redis writer down (%s): queueing events", detail);
		break;
	case LG_WRITER_SPILLING:
		log_warn("Memory queue full: spilling events to %s", a->cfg->logger.spill_dir);
		break;
	case LG_WRITER_SPILL_DRAINED:
		log_info("Spill file replayed and emptied");
		break;
	case LG_WRITER_LOST:
		if (a->last_loss_log == 0 || now - a->last_loss_log >= LG_APP_LOSS_LOG_MS) {
			a->last_loss_log = now;
			log_error("EVENTS LOST: %s (%" PRIu64 " lost so far)", detail,
				  a->m.events_lost);
		}
		break;
	case LG_WRITER_SCRIPT_ERROR:
		log_error("Redis refused the append script: %s", detail);
		break;
	case LG_WRITER_SPILL_ERROR:
		log_error("Spill file error: %s", detail);
		break;
	case LG_WRITER_REDIS_UNSAFE:
		refuse_redis(a, detail);
		break;
	case LG_WRITER_REDIS_FULL:
		log_error("Redis is full (%s): events wait in memory and then in the spill file "
			  "until it has room (trimming, or a larger maxmemory)",
			  detail);
		break;
	}
}

static void on_shipper_note(void *ud, enum lg_shipper_note n, const char *detail)
{
	switch (n) {
	case LG_SHIP_TEMPLATE_OK:
		log_info("Elasticsearch index template installed");
		break;
	case LG_SHIP_TEMPLATE_FAILED:
		log_warn("Failed to install the index template (%s), retrying", detail);
		break;
	case LG_SHIP_BULK_FAILED:
		log_warn("_bulk failed (%s), retrying with backoff", detail);
		break;
	case LG_SHIP_DEAD_LETTER:
		log_error("Elasticsearch refused a document, moved to the dead-letter stream: %s",
			  detail);
		break;
	case LG_SHIP_REDIS_DOWN:
		log_warn("Shipper lost Redis (%s)", detail);
		break;
	case LG_SHIP_REDIS_UP:
		log_info("Shipper connected to Redis");
		break;
	case LG_SHIP_REDIS_UNSAFE:
		refuse_redis(ud, detail);
		break;
	}
}

/* Why the logger cannot archive now (IRC or Redis away: events go to the
 * spill, or are not seen at all), or NULL when it can. */
static const char *not_ready(const struct app *a)
{
	if (!a->m.irc_connected)
		return "irc not registered\n";
	if (!a->m.redis_connected)
		return "redis down\n";
	return NULL;
}

/* GET /metrics: Prometheus text; GET /healthz (liveness) and /readyz
 * (registered to IRC and Redis up, else 503 with the reason); 405 for
 * other methods, 404 for other paths. One request per connection, as
 * Prometheus asks. */
static int on_metrics_request(struct lws *wsi, void *pss, const char *path, size_t len)
{
	struct app *a = http_server_user(wsi);
	buf_t body;
	http_head_t hd = {200, "text/plain", 0, NULL, true};
	const char *text = NULL;
	char *uri;
	int ulen;

	(void)pss, (void)len;
	buf_init(&body, LG_METRICS_TEXT_MAX);
	if (lws_http_get_uri_and_method(wsi, &uri, &ulen) != LWSHUMETH_GET)
		hd.status = 405, text = "method not allowed\n";
	else if (strcmp(path, "/healthz") == 0)
		text = "ok\n";
	else if (strcmp(path, "/readyz") == 0 && (text = not_ready(a)))
		hd.status = 503;
	else if (strcmp(path, "/readyz") == 0)
		text = "ready\n";
	else if (strcmp(path, "/metrics") != 0)
		hd.status = 404, text = "not found\n";
	else if (lg_metrics_render(&a->m, &body) < 0)
		hd.status = 500, text = "error\n";
	else
		hd.content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (text)
		http_respond(wsi, &hd, text, strlen(text));
	else
		http_respond(wsi, &hd, buf_data(&body), buf_len(&body));
	buf_free(&body);
	return -1; /* closed once the answer is out */
}

static const http_handler_t metrics_handler = {.request = on_metrics_request};

/* ---- shutdown ---- */

static void close_handles(struct app *a)
{
	if (a->closed)
		return;
	a->closed = true;
	http_server_close(a->http);
	lg_shipper_close(a->shipper, NULL);
	lg_archive_close(a->archive); /* before its Redis, in the same turn */
	lg_seal_close(a->seal);       /* the same */
	if (a->seal_redis)
		redis_close(a->seal_redis, NULL);
	lg_writer_close(a->writer, NULL);
	irc_conn_free(a->conn);
	uv_close((uv_handle_t *)&a->list_timer, NULL);
	uv_close((uv_handle_t *)&a->rejoin_timer, NULL);
	uv_close((uv_handle_t *)&a->drain_timer, NULL);
	uv_close((uv_handle_t *)&a->seen_timer, NULL);
}

/* Until the writer's queue is empty; common/daemon calls lg_app_close
 * after LG_APP_DRAIN_MS if it never is. */
static void on_drain_timer(uv_timer_t *t)
{
	struct app *a = t->data;

	if (lg_writer_backlog_events(a->writer))
		return;
	uv_timer_stop(t);
	close_handles(a);
}

void lg_app_stop(void)
{
	struct app *a = &app;

	if (a->stopping || a->closed)
		return;
	a->stopping = true;
	log_info("Leaving IRC and flushing to Redis");
	irc_conn_quit(a->conn, "eirc-logger shutting down");
	uv_timer_start(&a->drain_timer, on_drain_timer, 50, 50);
}

void lg_app_close(void)
{
	close_handles(&app);
}

/* ---- start-up ---- */

static int start_writer(struct app *a)
{
	const eirc_config_t *cfg = a->cfg;
	lg_writer_opts_t o = {.partitions = cfg->redis.partitions,
			      .retention_ms = cfg->logger.retention,
			      .memory_max = cfg->logger.memory_buffer_max,
			      .spill_dir = cfg->logger.spill_dir,
			      .spill_max = cfg->logger.spill_max,
			      .mac_key = a->signing ? a->mac_key : NULL};
	int err;

	redis_opts_from_config(&cfg->redis, cfg->logger.redis_username, cfg->logger.redis_password,
			       &o.redis);
	o.redis.require_noeviction = true;
	if ((err = lg_writer_new(a->loop, &o, &a->m, on_writer_note, a, &a->writer)) < 0) {
		log_error("Failed to open the spill file in %s: %s", cfg->logger.spill_dir,
			  strerror(-err));
		return err;
	}
	lg_writer_start(a->writer);
	return 0;
}

/* With Elasticsearch, what every consumer group acknowledged goes; without,
 * what is older than logger.archive_retention (lg_archive.h). */
static int start_archive(struct app *a)
{
	const eirc_config_t *cfg = a->cfg;
	lg_archive_opts_t o = {.partitions = cfg->redis.partitions,
			       .acked = cfg->elasticsearch.n_urls > 0,
			       .retention_ms = cfg->logger.archive_retention,
			       .nick = cfg->logger.nick};
	int err;

	if ((err = lg_archive_new(a->loop, lg_writer_redis(a->writer), &o, &a->m, &a->archive)) <
	    0) {
		log_error("Failed to start the archive trimming: %s", strerror(-err));
		return err;
	}
	lg_archive_start(a->archive);
	if (o.acked && !cfg->logger.shipper)
		log_warn("Archive streams trimmed only below what every consumer group "
			 "acknowledged, and this logger does not ship (logger.shipper false): "
			 "another "
			 "logger must, or they grow until Redis is full");
	else if (o.acked)
		log_info("Archive streams trimmed once every consumer group acknowledged them");
	else
		log_info("Archive streams trimmed to logger.archive_retention (%" PRIu64
			 " s): no elasticsearch.urls",
			 o.retention_ms / 1000);
	return 0;
}

static void on_seal_note(void *ud, enum lg_seal_note n, int k, const char *detail)
{
	(void)ud;
	switch (n) {
	case LG_SEAL_REJECTED:
		log_error("Refused to seal archive entry %s in partition %d: not written by eIRC, "
			  "or changed since (left in the stream, listed in eirc:{p%d}:rejected)",
			  detail, k, k);
		break;
	case LG_SEAL_CHECKPOINT:
		log_debug("Checkpoint %s signed", detail);
		break;
	case LG_SEAL_LEASE:
		log_info("Sealing partition %d (this logger holds its seal lease)", k);
		break;
	case LG_SEAL_ERROR:
		log_warn("Sealing partition %d failed: %s", k, detail);
		break;
	case LG_SEAL_WITNESS_ERROR:
		log_error("Failed to append a checkpoint to the witness file %s", detail);
		break;
	}
}

/* integrity.signing_key: the events' MACs (the writer's) and the sealer.
 * Called before start_writer. */
static int load_signer(struct app *a)
{
	const eirc_config_integrity_t *in = &a->cfg->integrity;

	if (!in->signing_key) {
		log_warn("integrity.signing_key is not set: the archive is not sealed and not "
			 "tamper-evident (docs/compliance.md)");
		return 0;
	}
	if (tlog_signer_parse(in->signing_key, &a->signer) < 0) {
		log_error("integrity.signing_key is not a signed-note private key "
			  "(PRIVATE+KEY+<name>+<key id>+<base64>, from eirc-archive keygen)");
		return -EINVAL;
	}
	tlog_mac_key(&a->signer, a->mac_key);
	a->signing = true;
	return 0;
}

static int start_seal(struct app *a)
{
	const eirc_config_integrity_t *in = &a->cfg->integrity;
	lg_seal_opts_t o = {.partitions = a->cfg->redis.partitions,
			    .signer = &a->signer,
			    .origin = in->origin,
			    .interval_ms = in->seal_interval,
			    .batch = in->seal_batch,
			    .checkpoint_events = in->checkpoint_events,
			    .checkpoint_interval_ms = in->checkpoint_interval,
			    .witness_file = in->witness_file,
			    .witness_syslog = in->witness_syslog};
	static const redis_cb_t cb = {NULL, NULL, NULL}; /* the writer reports Redis's state */
	redis_opts_t ro;
	int err;

	if (!a->signing)
		return 0;
	redis_opts_from_config(&a->cfg->redis, a->cfg->logger.redis_username,
			       a->cfg->logger.redis_password, &ro);
	if ((err = redis_new(a->loop, &ro, &cb, a, &a->seal_redis)) < 0 ||
	    (err = lg_seal_new(a->loop, a->seal_redis, &o, &a->m, on_seal_note, a, &a->seal)) < 0) {
		log_error("Failed to start the sealer: %s", strerror(-err));
		return err;
	}
	redis_start(a->seal_redis);
	lg_seal_start(a->seal);
	log_info("Sealing the archive every %" PRIu64 " ms; checkpoints of %s/p<k>",
		 in->seal_interval, in->origin);
	return 0;
}

static int start_shipper(struct app *a)
{
	const eirc_config_t *cfg = a->cfg;
	const eirc_config_elasticsearch_t *e = &cfg->elasticsearch;
	lg_shipper_opts_t o = {
		{0},
		{e->urls, e->n_urls, e->username, e->password, e->api_key, e->tls_verify,
		 e->tls_ca_file, e->request_timeout},
		cfg->redis.partitions,
		cfg->logger.consumer_group,
		cfg->logger.nick,
		e->index_prefix,
		e->bulk_max_docs,
		e->bulk_max_bytes,
		e->bulk_flush_interval,
		e->retry_min,
		e->retry_max,
		0,
		0,
	};
	int err;

	redis_opts_from_config(&cfg->redis, cfg->logger.redis_username, cfg->logger.redis_password,
			       &o.redis);
	o.redis.require_noeviction = true;
	if (!cfg->logger.shipper || e->n_urls == 0) {
		log_info("Shipper off (%s)",
			 cfg->logger.shipper ? "no elasticsearch.urls" : "logger.shipper false");
		return 0;
	}
	if ((err = lg_shipper_new(a->loop, &o, &a->m, on_shipper_note, a, &a->shipper)) < 0) {
		log_error("Failed to start the shipper: %s", strerror(-err));
		return err;
	}
	lg_shipper_start(a->shipper);
	return 0;
}

static int start_irc(struct app *a)
{
	const eirc_config_t *cfg = a->cfg;
	irc_conn_opts_t o = {
		.servers = a->servers,
		.n_servers = cfg->irc.n_servers,
		.reg = {cfg->logger.nick, "eirclog", "eIRC logger", NULL, NULL, NULL, NULL,
			IRC_CAP_BIT(IRC_CAP_MESSAGE_TAGS) | IRC_CAP_BIT(IRC_CAP_SERVER_TIME) |
				IRC_CAP_BIT(IRC_CAP_BATCH) | IRC_CAP_BIT(IRC_CAP_ACCOUNT_TAG) |
				IRC_CAP_BIT(IRC_CAP_MULTI_PREFIX),
			IRC_REG_NICK_SUFFIX, cfg->logger.irc_password},
		.connect_timeout_ms = cfg->irc.connect_timeout,
		.ping_interval_ms = cfg->irc_client.ping_interval,
		.ping_timeout_ms = cfg->irc_client.ping_timeout,
		.reconnect_min_ms = cfg->irc_client.reconnect_min,
		.reconnect_max_ms = cfg->irc_client.reconnect_max,
		.first_attempts_max = 0,
	};
	static const irc_conn_cb_t cb = {on_msg,   on_registered, on_down,
					 on_drain, on_quit,       on_bad_line};
	int err;

	for (size_t i = 0; i < cfg->irc.n_servers && i < IRC_CONN_SERVERS_MAX; i++) {
		const eirc_config_irc_server_t *s = &cfg->irc.servers[i];
		a->servers[i] = (irc_conn_server_t){s->host,       s->port,        s->tls,
						    s->tls_verify, s->tls_ca_file, s->unix_path};
	}
	if ((err = irc_conn_new(a->loop, &o, &cb, a, &a->conn)) < 0) {
		log_error("Failed to set up the IRC connection: %s", strerror(-err));
		return err;
	}
	irc_conn_start(a->conn);
	return 0;
}

/* The /metrics listener: request heads up to LG_APP_METRICS_HEAD_MAX
 * bytes within LG_APP_METRICS_TIMEOUT_S, LG_APP_METRICS_CONNS_MAX
 * connections at once. */
static int start_httpd(struct app *a)
{
	const eirc_config_logger_t *lc = &a->cfg->logger;
	eirc_err_t e = {""};
	int err;

	if (lc->metrics_port == 0)
		return 0;
	err = http_server_new(a->loop,
			      &(http_server_opts_t){
				      .header_max = LG_APP_METRICS_HEAD_MAX,
				      .heads_max = LG_APP_METRICS_CONNS_MAX,
				      .conns_max = LG_APP_METRICS_CONNS_MAX,
				      .timeout_s = LG_APP_METRICS_TIMEOUT_S,
			      },
			      &a->http);
	if (err == 0)
		err = http_server_listen(a->http,
					 &(http_listen_opts_t){
						 .name = "metrics",
						 .address = lc->metrics_address,
						 .port = lc->metrics_port,
						 .handler = &metrics_handler,
						 .keepalive_s = LG_APP_METRICS_TIMEOUT_S,
						 .user = a,
					 },
					 &e);
	if (err < 0)
		log_error("Failed to listen on %s:%d for /metrics: %s", lc->metrics_address,
			  lc->metrics_port, e.text[0] ? e.text : strerror(-err));
	return err < 0 ? err : 0;
}

static void init_handles(struct app *a)
{
	uv_timer_init(a->loop, &a->list_timer);
	uv_timer_init(a->loop, &a->rejoin_timer);
	uv_timer_init(a->loop, &a->drain_timer);
	uv_timer_init(a->loop, &a->seen_timer);
	a->list_timer.data = a->rejoin_timer.data = a->drain_timer.data = a->seen_timer.data = a;
}

int lg_app_start(uv_loop_t *loop, const eirc_config_t *cfg)
{
	struct app *a = &app;
	int r;

	a->loop = loop;
	a->cfg = cfg;
	if (!cfg->irc.network || cfg->irc.n_servers == 0) {
		log_error("irc.network and irc.servers must be set for the logger");
		return -EINVAL;
	}
	if ((r = lg_ingest_new(cfg->irc.network, &a->ing)) < 0) {
		log_error("Failed to start: bad irc.network or no memory");
		return r;
	}
	if ((r = archive_keys_seen(cfg->redis.partitions, cfg->irc.network, cfg->logger.nick,
				   a->seen_key, sizeof(a->seen_key))) < 0) {
		log_error("Failed to start: irc.network or logger.nick too long for a Redis key");
		return r;
	}
	if ((r = load_signer(a)) < 0)
		return r;
	init_handles(a);
	uv_timer_start(&a->seen_timer, on_seen_timer, LG_APP_SEEN_MS, LG_APP_SEEN_MS);
	if ((r = start_writer(a)) < 0 || (r = start_archive(a)) < 0 || (r = start_seal(a)) < 0 ||
	    (r = start_shipper(a)) < 0 || (r = start_httpd(a)) < 0 || (r = start_irc(a)) < 0) {
		close_handles(a);
		return r;
	}
	log_info("eirc-logger %s running on network %s", EIRC_VERSION, cfg->irc.network);
	return 0;
}

const char *lg_app_not_ready(void)
{
	if (!app.m.irc_connected)
		return "not registered on IRC";
	return app.m.redis_connected ? NULL : "Redis down";
}

bool lg_app_failed(void)
{
	return app.failed;
}

void lg_app_free(void)
{
	struct app *a = &app;

	http_server_free(a->http); /* lws frees its context once its handles are closed */
	a->http = NULL;
	lg_map_each(&a->wanted, free_value, NULL);
	lg_map_clear(&a->wanted);
	lg_ingest_free(a->ing);
	a->ing = NULL;
	sodium_memzero(&a->signer, sizeof(a->signer));
	sodium_memzero(a->mac_key, sizeof(a->mac_key));
}
