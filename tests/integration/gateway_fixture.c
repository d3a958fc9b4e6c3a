/*
 * gateway_fixture: PostgreSQL + eirc-auth + InspIRCd + eirc-gateway for the
 * gateway integration tests. See gateway_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/harness/session_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GWFX_STOP_WAIT_MS 60000

static int write_config(gwfx_t *g, const char *gateway_yaml)
{
	FILE *f = fopen(g->config, "we");
	char servers[sizeof(g->irc_servers)];
	char history[sizeof(g->history_socket) + 2] = "null";
	char redis[96] = "";

	if (!f)
		return -1;
	if (g->auth.redis)
		snprintf(redis, sizeof(redis), "redis:\n  host: 127.0.0.1\n  port: %d\n",
			 srv_port(g->auth.redis));
	if (g->irc_servers[0])
		snprintf(servers, sizeof(servers), "%s", g->irc_servers);
	else
		snprintf(servers, sizeof(servers), "    - host: 127.0.0.1\n      port: %d\n",
			 srv_port(g->ircd));
	if (g->history_socket[0])
		snprintf(history, sizeof(history), "%s", g->history_socket);
	fprintf(f,
		"irc:\n  servers:\n%s"
		"  webirc_password: ${EIRC_WEBIRC_PASSWORD}\n  connect_timeout: 5s\n"
		"auth:\n  internal_secret: ${EIRC_INTERNAL_SECRET}\n"
		"irc_client:\n  reconnect_min: 100ms\n  reconnect_max: 1s\n"
		/* the tests send long lines and bursts; flood limits are not theirs */
		"  flood_lines_per_second: 100\n  flood_burst_lines: 200\n"
		"  flood_bytes_per_second: 1MiB\n"
		/* the deployment's one rule for private rooms, as eirc-auth's */
		"  private_room_masks: " FX_PRIVATE_MASKS "\n"
		"history:\n  socket_path: %s\n"
		"  introspect_client_secret: ${EIRC_HISTORY_CLIENT_SECRET}\n"
		"  session_key: ${EIRC_SESSION_KEY}\n%s"
		"gateway:\n  listen_port: %d\n"
		"  allowed_origins: [\"" GWFX_ORIGIN "\"]\n"
		"  irc_client_path: %s\n"
		"  auth_internal_url: http://127.0.0.1:%d\n%s%s"
		"log:\n  level: info\n",
		servers, history, redis, g->port, g->irc_client, g->auth.iport,
		/* stopping a gateway drains only where a test asks for it */
		gateway_yaml && strstr(gateway_yaml, "drain_seconds:") ? ""
								       : "  drain_seconds: 0\n",
		gateway_yaml ? gateway_yaml : "");
	if (fclose(f) != 0)
		return -1;
	/* the sandboxed irc-clients (eirc-session) read it too */
	return chmod(g->config, 0644);
}

int gwfx_gateway_start(gwfx_t *g, const char *gateway_yaml)
{
	const char *bd = getenv("EIRC_BUILD_DIR");
	char bin[600];

	snprintf(bin, sizeof(bin), "%s/gateway/eirc-gateway", bd ? bd : "build");
	g->port = srv_free_port();
	if (g->port < 0 || write_config(g, gateway_yaml) < 0)
		return -1;
	snprintf(g->url, sizeof(g->url), "ws://127.0.0.1:%d/chat", g->port);
	char opt[] = "--config", ids[2][48], setpriv[] = "/usr/bin/setpriv",
	     groups[] = "--init-groups", inh[] = "--inh-caps=+setuid,+setgid,+kill",
	     amb[] = "--ambient-caps=+setuid,+setgid,+kill", end[] = "--";
	snprintf(ids[0], sizeof(ids[0]), "--reuid=%s", g->run_as);
	snprintf(ids[1], sizeof(ids[1]), "--regid=%s", g->run_as);
	char *const plain[] = {bin, opt, g->config, NULL};
	char *const as_user[] = {setpriv, ids[0], ids[1], groups,    inh, amb,
				 end,     bin,    opt,    g->config, NULL};
	char *const *argv = g->run_as[0] ? as_user : plain;
	if (srv_process_start(g->auth.env, g->name[0] ? g->name : "eirc-gateway", argv, g->port,
			      "/healthz", &g->gw) < 0) {
		g->gw = NULL;
		return -1;
	}
	if (g->n_logs < sizeof(g->logs) / sizeof(g->logs[0]))
		snprintf(g->logs[g->n_logs++], sizeof(g->logs[0]), "%s", srv_log_path(g->gw));
	return 0;
}

int gwfx_start(gwfx_t *g, const char *gateway_yaml)
{
	gwfx_opts_t o = {.gateway_yaml = gateway_yaml};

	return gwfx_start_with(g, &o);
}

int gwfx_start_with(gwfx_t *g, const gwfx_opts_t *o)
{
	const char *bd = getenv("EIRC_BUILD_DIR");
	srv_ircd_opts_t io = {.webirc_password = GWFX_WEBIRC_PASSWORD, .localmax = 1000};
	gwfx_opts_t none = {0};

	if (!o)
		o = &none;
	memset(g, 0, sizeof(*g));
	signal(SIGPIPE, SIG_IGN);
	snprintf(g->irc_client, sizeof(g->irc_client), "%s/irc-client/eirc-irc-client",
		 bd ? bd : "build");
	if (o->irc_servers)
		snprintf(g->irc_servers, sizeof(g->irc_servers), "%s", o->irc_servers);
	if (o->history_socket)
		snprintf(g->history_socket, sizeof(g->history_socket), "%s", o->history_socket);
	if (o->run_as)
		snprintf(g->run_as, sizeof(g->run_as), "%s", o->run_as);
	setenv("EIRC_WEBIRC_PASSWORD", GWFX_WEBIRC_PASSWORD, 1);
	setenv("EIRC_INTERNAL_SECRET", FX_SECRET, 1);
	setenv("EIRC_HISTORY_CLIENT_SECRET", GWFX_HISTORY_SECRET, 1);
	setenv("EIRC_SESSION_KEY", SESSION_TEST_KEY, 1);
	if (o->base) {
		/* eirc-auth and PostgreSQL stay base's: the copy is never stopped */
		g->base = o->base;
		g->auth = o->base->auth;
		unsigned n = ++o->base->n_shared;
		snprintf(g->name, sizeof(g->name), "eirc-gateway-%u", n + 1);
		snprintf(g->config, sizeof(g->config), "%s/gateway-%u.yaml",
			 srv_env_dir(g->auth.env), n + 1);
	} else {
		if (fx_start_redis(&g->auth, NULL) < 0)
			return -1;
		chmod(srv_env_dir(g->auth.env), 0755);
		snprintf(g->config, sizeof(g->config), "%s/gateway.yaml", srv_env_dir(g->auth.env));
	}
	if (!o->irc_servers && srv_inspircd_start(g->auth.env, &io, &g->ircd) < 0)
		return -1;
	return gwfx_gateway_start(g, o->gateway_yaml);
}

int gwfx_gateway_wait(gwfx_t *g, int timeout_ms)
{
	int status = 0;
	pid_t pid = g->gw ? srv_pid(g->gw) : 0;

	if (pid <= 0)
		return -1;
	for (int waited = 0;; waited += 20) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0) {
			status = 255 << 8;
			break;
		}
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
	/* reaped here; the harness forgets it (and kills what is left in its group) */
	srv_stop(g->gw);
	g->gw = NULL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int gwfx_gateway_stop(gwfx_t *g)
{
	pid_t pid = g->gw ? srv_pid(g->gw) : 0;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	int st = gwfx_gateway_wait(g, GWFX_STOP_WAIT_MS);
	if (st == -ETIMEDOUT) {
		fprintf(stderr, "eirc-gateway did not stop in %d ms\n", GWFX_STOP_WAIT_MS);
		kill(pid, SIGKILL);
		st = gwfx_gateway_wait(g, GWFX_STOP_WAIT_MS);
	}
	return st;
}

int gwfx_stop(gwfx_t *g)
{
	gwfx_cleanup(g);
	int st = g->gw ? gwfx_gateway_stop(g) : 0;

	if (st != 0)
		fprintf(stderr, "eirc-gateway exit status %d\n", st);
	for (size_t i = 0; i < g->n_users; i++)
		free(g->access[i]);
	g->n_users = 0;
	for (size_t i = 0; i < g->n_issued; i++)
		free(g->issued[i]);
	g->n_issued = 0;
	if (g->base) /* eirc-auth is base's */
		return st;
	if (fx_stop(&g->auth) != 0)
		return -1;
	return st;
}

pid_t gwfx_gateway_pid(const gwfx_t *g)
{
	return g->gw ? srv_pid(g->gw) : 0;
}

const char *gwfx_gateway_log(const gwfx_t *g)
{
	return g->n_logs ? g->logs[g->n_logs - 1] : "";
}

void gwfx_add_user(gwfx_t *g, const char *name)
{
	ht_resp_t r;

	if (g->base) {
		gwfx_add_user(g->base, name);
		return;
	}
	assert_true(g->n_users < GWFX_MAX_USERS);
	assert_int_equal(fx_cli(&g->auth, FX_PASSWORD, NULL, 0, "user", "add", name,
				"--password-env", "PW", NULL),
			 0);
	assert_int_equal(fx_login(&g->auth, name, FX_PASSWORD, &r), 0);
	assert_int_equal(r.status, 200);
	const char *a = json_string_value(json_object_get(r.json, "access_token"));
	assert_non_null(a);
	snprintf(g->users[g->n_users], sizeof(g->users[0]), "%s", name);
	g->access[g->n_users] = strdup(a);
	g->n_users++;
	ht_resp_free(&r);
}

char *gwfx_token(gwfx_t *g, const char *name)
{
	if (g->base)
		return gwfx_token(g->base, name);
	for (size_t i = 0; i < g->n_users; i++) {
		if (strcmp(g->users[i], name) == 0) {
			char *t = fx_chat_token(&g->auth, g->access[i]);
			if (!t)
				fail_msg("no chat token for %s", name);
			if (g->n_issued < sizeof(g->issued) / sizeof(g->issued[0]))
				g->issued[g->n_issued++] = strdup(t);
			return t;
		}
	}
	fail_msg("unknown test user %s", name);
	return NULL;
}

void gwfx_url(const gwfx_t *g, const char *token, char *buf, size_t cap)
{
	if (token)
		snprintf(buf, cap, "%s?chat_token=%s", g->url, token);
	else
		snprintf(buf, cap, "%s", g->url);
}

ws_client_t *gwfx_open(gwfx_t *g, const char *user, const char *protocols)
{
	char url[512];
	char *tok = gwfx_token(g, user);
	ws_opts_t o = {.origin = GWFX_ORIGIN, .protocols = protocols};
	ws_refusal_t why;
	ws_client_t *ws = NULL;

	gwfx_url(g, tok, url, sizeof(url));
	free(tok);
	int r = ws_connect(url, &o, &ws, &why);
	if (r != 0)
		fail_msg("session for %s refused: %s (HTTP %d, %s)", user, strerror(-r), why.status,
			 why.error);
	gwfx_track(g, ws);
	return ws;
}

void gwfx_track(gwfx_t *g, ws_client_t *ws)
{
	for (size_t i = 0; i < sizeof(g->open) / sizeof(g->open[0]); i++) {
		if (!g->open[i]) {
			g->open[i] = ws;
			return;
		}
	}
	fail_msg("more than %zu sessions tracked", sizeof(g->open) / sizeof(g->open[0]));
}

void gwfx_close(gwfx_t *g, ws_client_t *ws)
{
	for (size_t i = 0; i < sizeof(g->open) / sizeof(g->open[0]); i++)
		if (g->open[i] == ws)
			g->open[i] = NULL;
	ws_free(ws);
}

int gwfx_cleanup(gwfx_t *g)
{
	for (size_t i = 0; i < sizeof(g->open) / sizeof(g->open[0]); i++) {
		ws_free(g->open[i]);
		g->open[i] = NULL;
	}
	if (!g->gw)
		return 0;
	return gwfx_wait_children(g, 0, 20000) ? 0 : -1;
}

ws_client_t *gwfx_open_registered(gwfx_t *g, const char *user, const char *protocols, itc_t **out_c)
{
	ws_client_t *ws = gwfx_open(g, user, protocols);
	itc_t *c = itc_from_ws(ws, strcmp(ws_protocol(ws), "binary.ircv3.net") == 0);

	/* identity comes from the token: NICK/USER are replayed, not used */
	itc_sendf(c, "NICK ignored");
	itc_sendf(c, "USER ignored 0 * :ignored");
	itc_expect_within(c, "001", NULL, 20000);
	*out_c = c;
	return ws;
}

/* Calls fn for every sample line of /metrics (comments skipped). */
static void each_sample(gwfx_t *g, void (*fn)(const char *key, size_t klen, double v, void *),
			void *ud)
{
	char *body = NULL;

	assert_int_equal(ht_get(g->port, "/metrics", &body), 200);
	for (char *save = NULL, *l = strtok_r(body, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || l[0] == '\0')
			continue;
		char *sp = strrchr(l, ' '), *end;
		if (!sp)
			fail_msg("bad /metrics line: %s", l);
		double v = strtod(sp + 1, &end);
		if (end == sp + 1)
			fail_msg("bad /metrics value: %s", l);
		fn(l, (size_t)(sp - l), v, ud);
	}
	free(body);
}

typedef struct {
	const char *want;
	size_t want_len;
	bool family;
	double v;
	bool found;
} gwfx_find_t;

static void find_sample(const char *key, size_t klen, double v, void *ud)
{
	gwfx_find_t *f = ud;

	if (f->family) {
		if (klen >= f->want_len && memcmp(key, f->want, f->want_len) == 0 &&
		    (klen == f->want_len || key[f->want_len] == '{')) {
			f->v += v;
			f->found = true;
		}
	} else if (klen == f->want_len && memcmp(key, f->want, klen) == 0) {
		f->v = v;
		f->found = true;
	}
}

double gwfx_metric(gwfx_t *g, const char *sample)
{
	gwfx_find_t f = {sample, strlen(sample), false, 0, false};

	each_sample(g, find_sample, &f);
	return f.found ? f.v : -1;
}

double gwfx_metric_sum(gwfx_t *g, const char *name)
{
	gwfx_find_t f = {name, strlen(name), true, 0, false};

	each_sample(g, find_sample, &f);
	return f.v;
}

/* ppid and pgid of a process from /proc/<pid>/stat; false if gone. */
static bool proc_ids(pid_t pid, pid_t *ppid, pid_t *pgid)
{
	char path[64], buf[1024];
	FILE *f;
	int pp, pg;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 2, "%*c %d %d", &pp, &pg) != 2)
		return false;
	*ppid = pp;
	*pgid = pg;
	return true;
}

static size_t scan_proc(pid_t parent, pid_t group, pid_t except, pid_t *pids, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		pid_t ppid, pgid;
		if (*end || v <= 0 || (pid_t)v == except || !proc_ids((pid_t)v, &ppid, &pgid))
			continue;
		if ((parent && ppid == parent) || (group && pgid == group)) {
			if (n < cap)
				pids[n] = (pid_t)v;
			n++;
		}
	}
	closedir(d);
	return n;
}

size_t gwfx_children(const gwfx_t *g, pid_t *pids, size_t cap)
{
	pid_t gw = gwfx_gateway_pid(g);

	return gw > 0 ? scan_proc(gw, 0, 0, pids, cap) : 0;
}

size_t gwfx_group_members(pid_t pgid, pid_t *pids, size_t cap)
{
	return scan_proc(0, pgid, pgid, pids, cap);
}

bool gwfx_wait_children(gwfx_t *g, size_t n, int timeout_ms)
{
	uint64_t deadline = clock_mono_ms() + (uint64_t)timeout_ms;

	for (;;) {
		size_t have = gwfx_children(g, NULL, 0);
		double m = gwfx_metric(g, "eirc_gateway_children");
		if (have == n && m == (double)n)
			return true;
		if (clock_mono_ms() >= deadline) {
			fprintf(stderr, "gateway children: %zu in /proc, metric %g, want %zu\n",
				have, m, n);
			return false;
		}
		usleep(50 * 1000);
	}
}

long gwfx_fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Adds the inodes of TCP sockets whose remote port is port, from one
 * /proc/net/tcp* table; returns the new count. */
static size_t inodes_to_port(const char *table, int port, unsigned long *inodes, size_t n,
			     size_t cap)
{
	FILE *f = fopen(table, "re");
	char line[512];

	if (!f)
		return n;
	while (fgets(line, sizeof(line), f)) {
		char rem[64];
		unsigned long inode;
		/* sl local rem st tx:rx tr:tm retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %*s %63s %*s %*s %*s %*s %*s %*s %lu", rem, &inode) != 2)
			continue;
		char *colon = strrchr(rem, ':');
		if (colon && strtol(colon + 1, NULL, 16) == port && n < cap)
			inodes[n++] = inode;
	}
	fclose(f);
	return n;
}

long gwfx_fd_count_except(pid_t pid, int remote_port)
{
	static unsigned long inodes[4096];
	size_t n = inodes_to_port("/proc/net/tcp", remote_port, inodes, 0, 4096);
	char path[64], link[320], target[128];
	DIR *d;
	struct dirent *e;
	long count = 0;

	n = inodes_to_port("/proc/net/tcp6", remote_port, inodes, n, 4096);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		bool skip = false;
		if (len > 0) {
			target[len] = '\0';
			unsigned long ino;
			if (sscanf(target, "socket:[%lu]", &ino) == 1)
				for (size_t i = 0; i < n && !skip; i++)
					skip = inodes[i] == ino;
		}
		count += !skip;
	}
	closedir(d);
	return count;
}

long gwfx_status_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long gwfx_rss_kib(pid_t pid)
{
	return gwfx_status_field(pid, "VmRSS");
}

bool gwfx_log_has(const gwfx_t *g, const char *needle)
{
	char line[16384];
	bool found = false;

	for (size_t i = 0; i < g->n_logs && !found; i++) {
		FILE *f = fopen(g->logs[i], "re");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
		fclose(f);
	}
	return found;
}

void gwfx_assert_tokens_not_logged(const gwfx_t *g)
{
	const gwfx_t *t = g->base ? g->base : g; /* who gave the tokens out */

	for (size_t i = 0; i < t->n_issued; i++)
		if (gwfx_log_has(g, t->issued[i]))
			fail_msg("chat token %s is in a gateway log (%s)", t->issued[i],
				 gwfx_gateway_log(g));
}

void gwfx_test_clean_stop(void **state)
{
	assert_int_equal(gwfx_stop(*state), 0);
}

int gwfx_history_start(srv_env_t *env, const char *network, int irc_port, int redis_port,
		       int partitions, int chathistory_max, char *sock, size_t cap,
		       srv_t **out_history)
{
	const char *bd = getenv("EIRC_BUILD_DIR");
	char bin[512], cfg[512];
	FILE *f;
	struct stat st;

	snprintf(cfg, sizeof(cfg), "%s/history.yaml", srv_env_dir(env));
	snprintf(sock, cap, "%s/hist.sock", srv_env_dir(env));
	if (!(f = fopen(cfg, "we")))
		return -1;
	fprintf(f,
		"irc:\n  network: %s\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: " GWFX_WEBIRC_PASSWORD "\n"
		"auth:\n  internal_secret: " FX_SECRET "\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 2s\n"
		"history:\n  socket_path: %s\n  socket_mode: \"0666\"\n  chathistory_max: "
		"%d\n" SESSION_TEST_KEY_YAML "  listen_port: 0\n  request_timeout: 5s\n"
		"log:\n  level: info\n",
		network, irc_port, redis_port, partitions, sock, chathistory_max);
	if (fclose(f) != 0)
		return -1;
	snprintf(bin, sizeof(bin), "%s/history-bridge/eirc-history", bd ? bd : "build");
	char *argv[] = {bin, (char *)"--config", cfg, NULL};
	if (srv_process_start(env, "eirc-history", argv, 0, NULL, out_history) < 0)
		return -1;
	for (int i = 0; i < 200; i++) { /* it listens before its loop runs */
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}
