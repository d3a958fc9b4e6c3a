/*
 * hist_app: eirc-history's listener and Redis connection, started and
 * stopped by main.c's hooks (see hist_app.h); connections are hist_conn.c.
 */
#include "history-bridge/hist_app.h"
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <sodium.h>
#include <uv.h>

#include "archive/tlog.h"
#include "common/access_msg.h"
#include "common/log.h"
#include "common/redis.h"
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_query.h"

/* ---- Redis ---- */

static void on_script_loaded(void *ud, redisReply *r, void *privdata)
{
	hist_app_t *a = ud;

	(void)privdata;
	if (r && r->type == REDIS_REPLY_STRING && r->len < sizeof(a->sha))
		snprintf(a->sha, sizeof(a->sha), "%s", r->str);
}

void hist_app_load_script(hist_app_t *a)
{
	redis_cmd(a->redis, on_script_loaded, NULL, "SCRIPT LOAD %s", hist_query_script);
}

static void on_redis_up(void *ud)
{
	hist_app_t *a = ud;

	log_info("Connected to Redis at %s:%d", a->cfg->redis.host, a->cfg->redis.port);
	hist_app_load_script(a);
}

static void on_redis_down(void *ud, const eirc_err_t *why)
{
	hist_app_t *a = ud;

	log_warn("Redis at %s:%d is unavailable (%s); history requests fail until it is back",
		 a->cfg->redis.host, a->cfg->redis.port, why->text);
}

static void stop(hist_app_t *a);

/* A Redis that may evict keys (or will not say): eirc-history writes direct
 * messages into the archive, so it refuses it and stops, exit status 1.
 * stop() only begins closing: nothing is freed inside this callback. */
static void on_redis_unsafe(void *ud, const eirc_err_t *why)
{
	hist_app_t *a = ud;

	log_error("Refusing to store into %s (docs/operations.md, \"Redis\"); stopping", why->text);
	a->failed = true;
	stop(a);
}

/* ---- the access bus: eirc-auth's access changes drop cached tokens ---- */

static void on_access_subscribed(void *ud)
{
	hist_app_t *a = ud;

	log_info("Following %s on Redis at %s:%d; cached token checks dropped", ACCESS_MSG_CHANNEL,
		 a->cfg->redis.host, a->cfg->redis.port);
	a->access_up = true;
	hist_http_forget_all(a->http);
}

static void on_access_message(void *ud, const char *msg, size_t len)
{
	hist_app_t *a = ud;
	access_msg_t m;

	if (access_msg_parse(msg, len, &m) < 0) {
		log_warn("Malformed message on %s (%zu bytes), ignoring", ACCESS_MSG_CHANNEL, len);
		return;
	}
	log_debug("Access change %s of user %" PRIu64 ": its cached token checks dropped",
		  access_msg_kind_name(m.kind), m.user);
	hist_http_forget_user(a->http, m.user);
}

static void on_access_down(void *ud, const eirc_err_t *why)
{
	hist_app_t *a = ud;

	if (!a->access_up)
		return; /* said once per outage */
	a->access_up = false;
	log_warn("Lost %s on Redis at %s:%d (%s); a revoked token may be accepted up to "
		 "history.introspect_cache_ttl until it is back",
		 ACCESS_MSG_CHANNEL, a->cfg->redis.host, a->cfg->redis.port, why->text);
}

/* ---- start and stop ---- */

static void stop(hist_app_t *a)
{
	queue_t *q;

	if (a->stopping)
		return;
	a->stopping = true;
	hist_http_close(a->http); /* before Redis: its callbacks answer requests */
	redis_sub_close(a->access, NULL);
	a->access = NULL;
	redis_close(a->redis, NULL); /* no reply callback from here on */
	a->redis = NULL;
	hist_dmstore_drop_pending(a);
	QUEUE_FOREACH(q, &a->conns)
		queue_data(q, hist_conn_t, node)->inflight = 0;
	while (!queue_empty(&a->conns))
		hist_conn_close(queue_data(queue_head(&a->conns), hist_conn_t, node));
	if (a->listening) {
		uv_close((uv_handle_t *)&a->listener, NULL);
		unlink(a->cfg->history.socket_path);
	}
}

/* Creates the socket's folder when it is missing (one level, 0755: the
 * sandboxed irc-clients must be able to reach the socket). */
static void make_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("Cannot create %s: %s, ignoring", dir, strerror(errno));
}

/* True when something accepts connections on the socket at path (checked
 * once at start-up, before the loop runs: a blocking local connect). */
static bool socket_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

/* Who may connect (hist_conn.c checks SO_PEERCRED): the irc-clients'
 * user, irc_client.sandbox_user, and our own (a deployment where every
 * daemon and the irc-clients share one user). */
static void peer_users(hist_app_t *a)
{
	const char *user = a->cfg->irc_client.sandbox_user;
	const struct passwd *pw = user ? getpwnam(user) : NULL;

	a->peer_uids[0] = a->peer_uids[1] = geteuid();
	if (pw)
		a->peer_uids[0] = pw->pw_uid;
	else
		log_warn("irc_client.sandbox_user %s does not exist: only eirc-history's own "
			 "user may use %s",
			 user ? user : "(unset)", a->cfg->history.socket_path);
}

/* Gives the socket its group (history.socket_group, when set) and mode.
 * Returns 0 or a negative errno, with the reason logged. */
static int socket_owner(hist_app_t *a)
{
	const eirc_config_history_t *h = &a->cfg->history;
	const struct group *g = h->socket_group ? getgrnam(h->socket_group) : NULL;

	if (h->socket_group && !g) {
		log_error("history.socket_group %s does not exist", h->socket_group);
		return -ENOENT;
	}
	if (g && chown(h->socket_path, (uid_t)-1, g->gr_gid) < 0) {
		int r = -errno;
		log_error("Failed to give %s the group %s: %s (eirc-history's user must be a "
			  "member of it)",
			  h->socket_path, h->socket_group, strerror(errno));
		return r;
	}
	if (chmod(h->socket_path, (mode_t)h->socket_mode) < 0) {
		int r = -errno;
		log_error("Failed to set the mode of %s: %s", h->socket_path, strerror(errno));
		return r;
	}
	return 0;
}

/* Removes a stale socket file (never a live one, never anything else) and
 * listens. */
static int listen_socket(hist_app_t *a)
{
	const char *path = a->cfg->history.socket_path;
	struct stat st;
	int r;

	if (!path) {
		log_error("history.socket_path is not set: nothing to serve");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("history.socket_path is too long for a UNIX socket: %s", path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (socket_live(path)) {
			log_error("Another eirc-history serves %s; not replacing it", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	make_parent(path);
	peer_users(a);
	uv_pipe_init(a->loop, &a->listener, 0);
	a->listener.data = a;
	a->listening = true;
	if ((r = uv_pipe_bind(&a->listener, path)) < 0) {
		/* path is not ours (a file, a folder): stop() must not unlink it */
		uv_close((uv_handle_t *)&a->listener, NULL);
		a->listening = false;
	} else if ((r = socket_owner(a)) < 0) {
		return r;
	} else {
		r = uv_listen((uv_stream_t *)&a->listener, 128, hist_conn_accept);
	}
	if (r < 0) {
		log_error("Failed to listen on %s: %s", path, uv_strerror(r));
		return r;
	}
	log_info("Serving CHATHISTORY on %s (mode %04o, group %s)", path,
		 a->cfg->history.socket_mode,
		 a->cfg->history.socket_group ? a->cfg->history.socket_group : "eirc-history's");
	return 0;
}

static int start(hist_app_t *a)
{
	const eirc_config_t *cfg = a->cfg;
	static const redis_sub_cb_t access_cb = {on_access_subscribed, on_access_message,
						 on_access_down};
	redis_cb_t cb = {on_redis_up, on_redis_down, on_redis_unsafe};
	redis_opts_t o, w;
	int r;

	redis_opts_from_config(&cfg->redis, cfg->history.redis_username,
			       cfg->history.redis_password, &o);
	/* Answer before the irc-client gives up on us (history.request_timeout). */
	if (o.command_timeout_ms > cfg->history.request_timeout / 2)
		o.command_timeout_ms = cfg->history.request_timeout / 2;
	w = o;
	w.require_noeviction = true; /* the access bus only reads */
	if ((r = redis_new(a->loop, &w, &cb, a, &a->redis)) < 0)
		return r;
	if ((r = listen_socket(a)) < 0)
		return r;
	if (cfg->history.listen_port > 0 &&
	    ((r = hist_http_new(a, &a->http)) < 0 || (r = hist_http_listen(a->http)) < 0 ||
	     (r = redis_sub_new(a->loop, &o, ACCESS_MSG_CHANNEL, &access_cb, a, &a->access)) < 0))
		return r;
	redis_start(a->redis);
	if (a->access)
		redis_sub_start(a->access);
	return 0;
}

int hist_app_new(uv_loop_t *loop, const eirc_config_t *cfg, hist_app_t **out)
{
	hist_app_t *a;
	tlog_signer_t signer;

	if (cfg->integrity.signing_key &&
	    tlog_signer_parse(cfg->integrity.signing_key, &signer) < 0)
		return -EINVAL;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	if (cfg->integrity.signing_key) {
		tlog_mac_key(&signer, a->mac_key);
		a->has_mac_key = true;
		sodium_memzero(&signer, sizeof(signer));
	}
	a->loop = loop;
	a->cfg = cfg;
	queue_init(&a->conns);
	queue_init(&a->dms);
	*out = a;
	return 0;
}

int hist_app_start(hist_app_t *a)
{
	int r = start(a);

	if (r < 0)
		stop(a);
	return r;
}

void hist_app_stop(hist_app_t *a)
{
	stop(a);
}

const char *hist_app_not_ready(const hist_app_t *a)
{
	return a->redis && redis_up(a->redis) ? NULL : "Redis down";
}

bool hist_app_failed(const hist_app_t *a)
{
	return a && a->failed;
}

void hist_app_free(hist_app_t *a)
{
	if (!a)
		return;
	hist_http_free(a->http); /* lws frees its context once its handles are closed */
	free(a);
}
