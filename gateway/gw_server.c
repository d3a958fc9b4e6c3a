/*
 * gw_server: the daemon object. See gw_server.h.
 *
 * Shutdown, in order: /readyz answers 503 "draining" and new upgrades get
 * 503 shutting_down at once; open sessions go on for gateway.drain_seconds
 * (the load balancer notices and sends new sessions elsewhere); then every
 * session is ended: "ERROR :Closing link: server restarting" after the
 * lines queued, then close 1012 (service restart: the web client
 * reconnects, to another gateway); consumes cancelled, socketpairs closed,
 * so each irc-client sends QUIT and exits; the grace timer
 * (gateway.shutdown_grace) then sends SIGKILL to every child still
 * running; once no session is left (every child reaped, every WebSocket
 * gone) the lws context, the auth client and the timers are closed, and
 * uv_run() returns.
 */
#include "gateway/gw_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/gw_bus.h"
#include "gateway/gw_http.h"
#include "gateway/gw_relay.h"

uint64_t gw_server_now(const gw_server_t *s)
{
	return uv_now(s->loop);
}

static void server_finish(gw_server_t *s)
{
	if (s->finished)
		return;
	s->finished = true;
	log_info("All sessions ended: closing");
	gw_bus_close(s->bus); /* before access: no event after this */
	s->bus = NULL;
	gw_access_close(s->access); /* before auth: its checks ride on it */
	s->access = NULL;
	gw_auth_close(s->auth);
	s->auth = NULL;
	uv_close((uv_handle_t *)&s->sweep, NULL);
	uv_close((uv_handle_t *)&s->grace, NULL);
	uv_close((uv_handle_t *)&s->drain, NULL);
	uv_close((uv_handle_t *)&s->probe, NULL);
	/* closes every wsi left; lws's libuv handles close in later iterations */
	http_server_close(s->http);
}

static void on_finish(uv_timer_t *t)
{
	server_finish(t->data);
}

/* Finishing closes the HTTP server: never from inside an lws callback
 * (the last session often ends in LWS_CALLBACK_CLOSED), so from a timer. */
void gw_server_maybe_finish(gw_server_t *s)
{
	if (s->drained && !s->finished && s->table.count == 0)
		uv_timer_start(&s->sweep, on_finish, 0, 0);
}

void gw_server_session_check_free(gw_session_t *ss)
{
	gw_server_t *s = ss->srv;

	if (ss->wsi || ss->auth || ss->pipe_open || ss->proc_open)
		return;
	if (s->access)
		gw_access_remove(s->access, ss);
	gw_table_remove(&s->table, ss);
	gw_relay_drop_queue(ss);
	free(ss->early);
	free(ss);
	gw_server_maybe_finish(s);
}

static void on_sweep(uv_timer_t *t)
{
	gw_server_t *s = t->data;
	uint64_t now = uv_now(s->loop);
	queue_t *q, *next;

	QUEUE_FOREACH_SAFE(q, next, &s->table.all) {
		gw_relay_sweep(gw_table_session(q), now, s->cfg->gateway.slow_reader_timeout);
	}
}

static void on_grace(uv_timer_t *t)
{
	gw_server_t *s = t->data;
	queue_t *q;
	int n = 0;

	s->grace_over = true;
	QUEUE_FOREACH(q, &s->table.all) {
		gw_session_t *ss = gw_table_session(q);
		if (ss->child_running) {
			gw_relay_kill(ss);
			n++;
		}
	}
	if (n)
		log_warn("Shutdown grace over: SIGKILL to %d irc-client(s)", n);
	if (!n && s->table.count)
		server_finish(s); /* only WebSockets that never let the close out are left */
}

/* The drain is over: every session ends, 1012. */
static void server_end_sessions(gw_server_t *s)
{
	queue_t *q, *next;

	s->drained = true;
	log_info("Ending %d session(s): close 1012, grace %llums", s->table.count,
		 (unsigned long long)s->cfg->gateway.shutdown_grace);
	QUEUE_FOREACH(q, &s->table.all) {
		gw_session_t *ss = gw_table_session(q);
		if (ss->auth) {
			gw_auth_cancel(ss->auth);
			ss->auth = NULL;
		}
		if (ss->wsi)
			gw_relay_end(ss, GW_CLOSE_RESTART, "server restarting");
		gw_relay_close_pipe(ss);
	}
	uv_timer_start(&s->grace, on_grace, s->cfg->gateway.shutdown_grace, 0);
	/* sessions freed from here on end in gw_server_maybe_finish */
	QUEUE_FOREACH_SAFE(q, next, &s->table.all) {
		gw_server_session_check_free(gw_table_session(q));
	}
	gw_server_maybe_finish(s);
}

static void on_drained(uv_timer_t *t)
{
	server_end_sessions(t->data);
}

void gw_server_shutdown(gw_server_t *s, bool drain)
{
	uint64_t ms = drain ? (uint64_t)s->cfg->gateway.drain_seconds * 1000 : 0;

	if (s->shutting_down)
		return;
	s->shutting_down = true;
	s->metrics.ready = 0;
	s->metrics.draining = 1;
	uv_timer_stop(&s->probe);
	log_info("Draining: /readyz answers 503, new sessions refused; %d session(s) end in "
		 "%llums",
		 s->table.count, (unsigned long long)ms);
	if (ms)
		uv_timer_start(&s->drain, on_drained, ms, 0);
	else
		server_end_sessions(s);
}

const char *gw_server_not_ready(const gw_server_t *s)
{
	if (s->shutting_down)
		return "draining";
	if (!s->auth_checked)
		return "eirc-auth not checked yet";
	return s->auth_ready ? NULL : "eirc-auth not ready";
}

static void on_probe_answer(void *ud, const http_client_answer_t *ans, const eirc_err_t *why)
{
	gw_server_t *s = ud;
	bool ready = ans->err == 0 && ans->status == 200;

	s->probe_xfer = NULL;
	if (ans->err == -ECANCELED || s->shutting_down)
		return;
	if (ready && !s->auth_ready)
		log_info("eirc-auth is ready: /readyz answers 200");
	else if (!ready && (s->auth_ready || !s->auth_checked)) {
		if (ans->err)
			log_warn("eirc-auth is not ready: %s",
				 why ? why->text : strerror(-ans->err));
		else
			log_warn("eirc-auth is not ready: /readyz answered %ld", ans->status);
	}
	s->auth_checked = true;
	s->auth_ready = ready;
	s->metrics.ready = gw_server_not_ready(s) == NULL;
}

static void on_probe(uv_timer_t *t)
{
	gw_server_t *s = t->data;
	int r;

	if (s->probe_xfer)
		return; /* the last one is still out (auth_timeout > the period) */
	r = gw_auth_get(s->auth, "/readyz", GW_READY_ANSWER_MAX, on_probe_answer, s,
			&s->probe_xfer);
	if (r < 0) {
		s->probe_xfer = NULL;
		log_warn("Failed to ask eirc-auth whether it is ready: %s, ignoring", strerror(-r));
	}
}

static int server_trusted(gw_server_t *s, eirc_err_t *out_err)
{
	const eirc_config_gateway_t *g = &s->cfg->gateway;

	if (!g->n_trusted_proxies)
		return 0;
	if (!(s->trusted = calloc(g->n_trusted_proxies, sizeof(*s->trusted))))
		return -ENOMEM;
	for (size_t i = 0; i < g->n_trusted_proxies; i++)
		if (net_cidr_parse(g->trusted_proxies[i], &s->trusted[i]) < 0)
			return eirc_err_set(out_err, -EINVAL,
					    "gateway.trusted_proxies: bad address %s",
					    g->trusted_proxies[i]);
	s->n_trusted = g->n_trusted_proxies;
	return 0;
}

static int server_http(gw_server_t *s)
{
	return http_server_new(s->loop,
			       &(http_server_opts_t){
				       .header_max = 4096,
				       .heads_max = 1024,
				       .timeout_s = 10,
				       .tls = s->cfg->gateway.tls_listen_port != 0,
			       },
			       &s->http);
}

static void server_id(gw_server_t *s)
{
	unsigned char r[4] = {0};

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memcpy(r, &(uint32_t){(uint32_t)getpid()}, 4);
	snprintf(s->gw_id, sizeof(s->gw_id), "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

int gw_server_new(uv_loop_t *loop, const eirc_config_t *cfg, const char *config_path,
		  const char *self_exe, gw_server_t **out, eirc_err_t *out_err)
{
	const eirc_config_gateway_t *g = &cfg->gateway;
	gw_server_t *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = cfg;
	gw_table_init(&s->table);
	server_id(s);
	s->retry.secs_since_valid_ping = (uint16_t)(g->ping_interval / 1000);
	s->retry.secs_since_valid_hangup = (uint16_t)(2 * g->ping_interval / 1000 + 1);
	if ((r = server_trusted(s, out_err)) < 0 ||
	    (r = gw_spawn_cfg_init(&s->spawn, cfg, config_path, self_exe, out_err)) < 0)
		goto fail;
	if ((r = gw_auth_new(loop, g->auth_internal_url, cfg->auth.internal_secret, g->auth_timeout,
			     &s->auth)) < 0) {
		eirc_err_set(out_err, r, "cannot start libcurl");
		goto fail;
	}
	if ((r = gw_access_new(s, g->access_recheck, &s->access)) < 0) {
		eirc_err_set(out_err, r, "out of memory");
		gw_auth_close(s->auth);
		uv_run(loop, UV_RUN_DEFAULT);
		goto fail;
	}
	if ((r = gw_bus_new(loop, cfg, s->access, &s->bus)) < 0) {
		eirc_err_set(out_err, r, "cannot set up the access bus's subscription");
		gw_auth_close(s->auth);
		gw_access_close(s->access);
		uv_run(loop, UV_RUN_DEFAULT);
		goto fail;
	}
	if ((r = server_http(s)) < 0) {
		eirc_err_set(out_err, r, "cannot start libwebsockets");
		gw_auth_close(s->auth);
		gw_bus_close(s->bus);
		gw_access_close(s->access);
		uv_run(loop, UV_RUN_DEFAULT);
		goto fail;
	}
	uv_timer_init(loop, &s->sweep);
	uv_timer_init(loop, &s->grace);
	uv_timer_init(loop, &s->drain);
	uv_timer_init(loop, &s->probe);
	s->sweep.data = s->grace.data = s->drain.data = s->probe.data = s;
	uv_timer_start(&s->sweep, on_sweep, GW_SWEEP_MS, GW_SWEEP_MS);
	*out = s;
	return 0;
fail:
	gw_spawn_cfg_clear(&s->spawn);
	free(s->trusted);
	free(s);
	return r;
}

/* Descriptors open in this process now (one scan of /proc/self/fd). */
static long server_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

bool gw_server_fd_room(const gw_server_t *s)
{
	struct rlimit rl;
	long need = s->fd_base + GW_FD_RESERVE + (long)(s->table.count + 1) * GW_FDS_PER_SESSION;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	return (rlim_t)need <= rl.rlim_cur;
}

static void server_log_fds(gw_server_t *s)
{
	struct rlimit rl;
	long room = 0;

	s->fd_base = server_fd_count();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur > s->fd_base + GW_FD_RESERVE)
		room = ((long)rl.rlim_cur - s->fd_base - GW_FD_RESERVE) / GW_FDS_PER_SESSION;
	log_info("descriptors: %ld open, %d per session, %d reserved: room for %ld sessions",
		 s->fd_base, GW_FDS_PER_SESSION, GW_FD_RESERVE, room);
}

int gw_server_listen(gw_server_t *s)
{
	const eirc_config_gateway_t *g = &s->cfg->gateway;

	int plain, tls;

	if ((plain = gw_http_listen(s, "plain", g->listen_port, false)) < 0)
		return plain;
	log_info("listening on %s:%d", g->listen_address, http_server_port(s->http, plain));
	if (g->tls_listen_port) {
		if ((tls = gw_http_listen(s, "tls", g->tls_listen_port, true)) < 0)
			return tls;
		log_info("listening (TLS) on %s:%d", g->listen_address,
			 http_server_port(s->http, tls));
	}
	gw_bus_start(s->bus);
	uv_timer_start(&s->probe, on_probe, 0, GW_READY_PROBE_MS);
	server_log_fds(s);
	return 0;
}

int gw_server_reload_sessions(gw_server_t *s, const eirc_config_t *cfg, const char *self_exe,
			      eirc_err_t *out_err)
{
	gw_spawn_cfg_t next = {0};
	int r = gw_spawn_cfg_init(&next, cfg, s->spawn.config_path, self_exe, out_err);

	if (r < 0) {
		gw_spawn_cfg_clear(&next);
		return r;
	}
	/* children started have their copies of fd 4 and fd 5 already */
	gw_spawn_cfg_clear(&s->spawn);
	s->spawn = next;
	return 0;
}

void gw_server_free(gw_server_t *s)
{
	if (!s)
		return;
	http_server_free(s->http);
	gw_spawn_cfg_clear(&s->spawn);
	free(s->trusted);
	free(s);
}
