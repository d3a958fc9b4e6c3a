/*
 * logger_fixture: processes, config, IRC clients and readers for the
 * eirc-logger integration tests (see logger_fixture.h).
 */
#include "common/clock.h"
#include "tests/integration/logger_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"
#include "tests/harness/session_test.h"

void lgf_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool lgf_wait_for(bool (*pred)(void *), void *ud, int timeout_ms)
{
	uint64_t end = clock_mono_ms() + timeout_ms;

	while (!pred(ud)) {
		if (clock_mono_ms() > end)
			return pred(ud);
		lgf_sleep_ms(100);
	}
	return true;
}

/* fork + exec with stdout/stderr to log, dying with us. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execv(argv[0], argv);
	_exit(127);
}

static int connect_port(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

int lgf_es_start(const char *dir, struct lgf_proc *out)
{
	char script[512], portfile[512], pf[600];
	char py[] = "/usr/bin/python3", o1[] = "--port", o2[] = "0", o3[] = "--port-file";
	char *argv[] = {py, script, o1, o2, o3, portfile, NULL};

	snprintf(script, sizeof(script), "%s/tests/es/es_server.py", EIRC_SOURCE_DIR);
	snprintf(portfile, sizeof(portfile), "%s/es.port", dir);
	snprintf(out->log, sizeof(out->log), "%s/es.log", dir);
	unlink(portfile);
	out->pid = spawn(argv, out->log);
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "re");
		if (f) {
			int ok = fscanf(f, "%d", &out->port);
			fclose(f);
			if (ok == 1)
				return 0;
		}
		lgf_sleep_ms(50);
	}
	snprintf(pf, sizeof(pf), "cat %s >&2", out->log);
	(void)system(pf);
	return -1;
}

/* method path on 127.0.0.1:port with a JSON body (or none): the answer's
 * body whatever its status (malloc'd), NULL when no answer came. */
static char *http(int port, const char *method, const char *path, const char *body)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	char url[1024], *out = NULL;
	ht_resp_t r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if (ht_request(&(ht_req_t){.method = method,
				   .url = url,
				   .headers = json,
				   .body = body,
				   .body_len = body ? strlen(body) : 0},
		       &r) == 0) {
		out = r.body;
		r.body = NULL;
	}
	ht_resp_free(&r);
	return out;
}

static const srv_t *logger_redis;
static const srv_t *logger_ircd;
static const char *logger_extra;

void lgf_use_extra(const char *yaml)
{
	logger_extra = yaml;
}

void lgf_use_redis(const srv_t *redis)
{
	logger_redis = redis;
}

void lgf_use_ircd(const srv_t *ircd)
{
	logger_ircd = ircd;
}

int lgf_env_start(srv_env_t **out_env, srv_t **out_redis, srv_t **out_ircd, char *dir,
		  size_t dir_cap)
{
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, out_env) < 0 || srv_redis_start(*out_env, NULL, out_redis) < 0 ||
	    (out_ircd && srv_inspircd_start(*out_env, NULL, out_ircd) < 0))
		return -1;
	lgf_use_redis(*out_redis);
	lgf_use_ircd(out_ircd ? *out_ircd : NULL);
	snprintf(dir, dir_cap, "%s", srv_env_dir(*out_env));
	return 0;
}

int lgf_sender_class(int maxchans, char *buf, size_t cap)
{
	int port = srv_free_port();

	if (port < 0)
		return -1;
	snprintf(
		buf, cap,
		"<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\">\n"
		"<connect name=\"sender\" allow=\"127.0.0.1\" port=\"%d\" maxchans=\"%d\"\n"
		"         timeout=\"20\" pingfreq=\"120\" hardsendq=\"67108864\"\n"
		"         softsendq=\"1048576\" recvq=\"1048576\" threshold=\"1000000\"\n"
		"         commandrate=\"1000000000\" fakelag=\"no\" localmax=\"16\"\n"
		"         globalmax=\"16\" limit=\"16\" resolvehostnames=\"no\" useident=\"no\">\n",
		port, port, maxchans);
	return port;
}

int lgf_es_control(int port, const char *name, const char *json)
{
	char path[128];
	char *r;

	snprintf(path, sizeof(path), "/_eirc_test/%s", name);
	r = http(port, "POST", path, json);
	int ok = r && strstr(r, "acknowledged") ? 0 : -1;
	free(r);
	return ok;
}

char *lgf_http_get(int port, const char *path)
{
	return http(port, "GET", path, NULL);
}

char *lgf_slurp(const char *path)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)))
		buf[fread(buf, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return buf;
}

long long lgf_metric(int port, const char *series)
{
	char *body = lgf_http_get(port, "/metrics"), *p;
	size_t n = strlen(series);
	long long v = -1;

	for (p = body; p && (p = strstr(p, series)); p += n)
		if ((p == body || p[-1] == '\n') && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
	free(body);
	return v;
}

int lgf_logger_start(const struct lgf_logger_cfg *c, struct lgf_proc *out)
{
	return lgf_logger_start_redis(c, LGF_PARTITIONS, NULL, out);
}

int lgf_logger_start_redis(const struct lgf_logger_cfg *c, int partitions, const char *extra_redis,
			   struct lgf_proc *out)
{
	char cfg[512], bin[512], urls[64] = "[]", login[256] = "", pass[192] = "";
	const char *pw = logger_ircd ? srv_capture_password(logger_ircd) : NULL;
	char opt[] = "-c";
	char *argv[] = {bin, opt, cfg, NULL};
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/%s.yaml", c->dir, c->nick);
	snprintf(bin, sizeof(bin), "%s/logger-bot/eirc-logger", getenv("EIRC_BUILD_DIR"));
	snprintf(out->log, sizeof(out->log), "%s/%s.log", c->dir, c->nick);
	if (c->es_port)
		snprintf(urls, sizeof(urls), "[\"http://127.0.0.1:%d\"]", c->es_port);
	if (logger_redis && srv_port(logger_redis) == c->redis_port)
		snprintf(login, sizeof(login), "  redis_username: %s\n  redis_password: %s\n",
			 srv_redis_user_name(logger_redis, REDIS_ACL_LOGGER),
			 srv_redis_user_password(logger_redis, REDIS_ACL_LOGGER));
	if (pw)
		snprintf(pass, sizeof(pass), "  irc_password: %s\n", pw);
	if (!(f = fopen(cfg, "we")))
		return -1;
	fprintf(f,
		"irc:\n  network: eIRC\n  webirc_password: unused\n  servers:\n"
		"    - host: 127.0.0.1\n      port: %d\n"
		"auth:\n  internal_secret: unused-in-logger-tests\n"
		"irc_client:\n  reconnect_min: 200ms\n  reconnect_max: 2s\n"
		"history:\n  socket_path: null\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 5s\n%s"
		"elasticsearch:\n  urls: %s\n  bulk_flush_interval: 100ms\n"
		"  retry_min: 100ms\n  retry_max: 2s\n  request_timeout: 5s\n%s"
		"logger:\n  nick: %s\n  channels: %s\n  spill_dir: %s/spill-%s\n"
		"  metrics_port: %d\n  retention: 1d\n%s%s%s%s"
		"log:\n  level: info\n",
		c->irc_port, c->redis_port, partitions, extra_redis ? extra_redis : "", urls,
		c->extra_es ? c->extra_es : "", c->nick, c->channels ? c->channels : "[]", c->dir,
		c->nick, c->metrics_port, c->extra_logger ? c->extra_logger : "", login, pass,
		logger_extra ? logger_extra : "");
	fclose(f);
	out->pid = spawn(argv, out->log);
	return out->pid > 0 ? 0 : -1;
}

int lgf_ircd_logger_class(char *buf, size_t cap, int *out_port)
{
	int port = srv_free_port(), n;

	if (port < 0)
		return -1;
	n = snprintf(buf, cap, "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\">\n", port);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*out_port = port;
	return 0;
}

int lgf_proc_stop(struct lgf_proc *p, int sig)
{
	int st;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		lgf_sleep_ms(50);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	return -1;
}

bool lgf_proc_alive(struct lgf_proc *p)
{
	int st;

	return p->pid > 0 && waitpid(p->pid, &st, WNOHANG) == 0;
}

/* ---- IRC client ---- */

static int read_line(struct lgf_irc *c, char *line, size_t cap, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf) + 1;
			size_t m = n < cap ? n : cap - 1;
			memcpy(line, c->buf, m);
			line[m] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (strncmp(line, "PING ", 5) == 0) {
				line[1] = 'O';
				(void)!write(c->fd, line, strlen(line));
			}
			return 0;
		}
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

int lgf_irc_send(struct lgf_irc *c, const char *fmt, ...)
{
	char line[9000];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 2)
		return -1;
	line[n++] = '\r';
	line[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(c->fd, line + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			lgf_irc_drain(c);
			continue;
		}
		if (w <= 0)
			return -1;
		off += (int)w;
	}
	return 0;
}

int lgf_irc_wait(struct lgf_irc *c, const char *needle, int timeout_ms, char *out, size_t cap)
{
	char line[9000];
	uint64_t end = clock_mono_ms() + timeout_ms;

	while (clock_mono_ms() < end) {
		if (read_line(c, line, sizeof(line), (int)(end - clock_mono_ms())) < 0)
			return -1;
		if (strstr(line, needle)) {
			if (out)
				snprintf(out, cap, "%s", line);
			return 0;
		}
	}
	return -1;
}

void lgf_irc_drain(struct lgf_irc *c)
{
	char line[9000];

	while (read_line(c, line, sizeof(line), 0) == 0)
		;
}

/* Registers: WEBIRC when webirc_password is set, then NICK and USER. */
static int irc_register(int port, const char *webirc_password, const char *nick, const char *user,
			const char *caps, struct lgf_irc *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->nick, sizeof(out->nick), "%s", nick);
	if ((out->fd = connect_port(port)) < 0)
		return -1;
	if (webirc_password)
		lgf_irc_send(out, "WEBIRC %s eirc 127.0.0.1 127.0.0.1", webirc_password);
	if (caps)
		lgf_irc_send(out, "CAP REQ :%s", caps);
	lgf_irc_send(out, "NICK %s", nick);
	lgf_irc_send(out, "USER u%s 0 * :%s", user, nick);
	if (caps)
		lgf_irc_send(out, "CAP END");
	return lgf_irc_wait(out, " 001 ", 10000, NULL, 0);
}

int lgf_irc_connect(int port, const char *nick, const char *caps, struct lgf_irc *out)
{
	return irc_register(port, NULL, nick, nick, caps, out);
}

int lgf_irc_connect_webirc(int port, const char *webirc_password, const char *nick, const char *uid,
			   const char *caps, struct lgf_irc *out)
{
	return irc_register(port, webirc_password, nick, uid, caps, out);
}

void lgf_irc_close(struct lgf_irc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int lgf_irc_client_spawn(const char *cfg, const char *nick, const char *uid, int *out_fd)
{
	char bin[512];
	int sv[2];
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/irc-client/eirc-irc-client", getenv("EIRC_BUILD_DIR"));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		const char *argv[] = {
			bin,         "--config", cfg,           "--nick",       nick,
			"--user-id", uid,        "--client-ip", "198.51.100.7", "--display-name",
			nick,        NULL};
		dup2(sv[1], 3);
		/* exactly fds 0-3, as the gateway: an fd 4 left open (a client
		 * library's socket) is not the pipe of ${NAME} values */
		close_range(4, ~0U, 0);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	/* as the gateway: the session ticket first (ignored without history) */
	session_test_send_line(sv[0], pid, strtoull(uid, NULL, 10));
	*out_fd = sv[0];
	return (int)pid;
}

/* ---- Redis readers ---- */

redisContext *lgf_redis(int port)
{
	redisContext *r = redisConnect("127.0.0.1", port);

	if (!r || r->err) {
		if (r)
			redisFree(r);
		return NULL;
	}
	return r;
}

static void copy_field(char *dst, size_t cap, const redisReply *v)
{
	size_t n = v->len < cap - 1 ? v->len : cap - 1;

	memcpy(dst, v->str, n);
	dst[n] = '\0';
}

static void entry_from(const redisReply *fields, struct lgf_entry *e)
{
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const char *k = fields->element[i]->str;
		const redisReply *v = fields->element[i + 1];
		if (!strcmp(k, "msgid"))
			copy_field(e->msgid, sizeof(e->msgid), v);
		else if (!strcmp(k, "type"))
			copy_field(e->type, sizeof(e->type), v);
		else if (!strcmp(k, "conv"))
			copy_field(e->conv, sizeof(e->conv), v);
		else if (!strcmp(k, "nick"))
			copy_field(e->nick, sizeof(e->nick), v);
		else if (!strcmp(k, "user"))
			copy_field(e->user, sizeof(e->user), v);
		else if (!strcmp(k, "host"))
			copy_field(e->host, sizeof(e->host), v);
		else if (!strcmp(k, "text"))
			copy_field(e->text, sizeof(e->text), v);
		else if (!strcmp(k, "arg"))
			copy_field(e->arg, sizeof(e->arg), v);
		else if (!strcmp(k, "tags"))
			copy_field(e->tags, sizeof(e->tags), v);
		else if (!strcmp(k, "time"))
			e->time = strtoll(v->str, NULL, 10);
	}
}

static size_t read_stream(redisContext *r, const char *key, struct lgf_entry *out, size_t max)
{
	redisReply *rep = redisCommand(r, "XRANGE %s - +", key);
	size_t n = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < rep->elements && n < max; i++)
			entry_from(rep->element[i]->element[1], &out[n++]);
	if (rep)
		freeReplyObject(rep);
	return n;
}

size_t lgf_stream(redisContext *r, const char *key, struct lgf_entry *out, size_t max)
{
	return read_stream(r, key, out, max);
}

size_t lgf_archive(redisContext *r, struct lgf_entry *out, size_t max)
{
	char key[64];
	size_t n = 0;

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		snprintf(key, sizeof(key), "eirc:{p%d}:archive", k);
		n += read_stream(r, key, out + n, max - n);
	}
	return n;
}

size_t lgf_history(redisContext *r, const char *chan, struct lgf_entry *out, size_t max)
{
	redisReply *rep = redisCommand(r, "KEYS eirc:{p*}:history:eIRC:%s", chan);
	size_t n = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1)
		n = read_stream(r, rep->element[0]->str, out, max);
	if (rep)
		freeReplyObject(rep);
	return n;
}

size_t lgf_all_history(redisContext *r, struct lgf_entry *out, size_t max)
{
	redisReply *rep = redisCommand(r, "KEYS eirc:{p*}:history:*");
	size_t n = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < rep->elements; i++)
			n += read_stream(r, rep->element[i]->str, out + n, max - n);
	if (rep)
		freeReplyObject(rep);
	return n;
}

/* ---- the sealed log ---- */

static const char *state_field(const redisReply *h, const char *name)
{
	for (size_t i = 0; i + 1 < h->elements; i += 2)
		if (!strcmp(h->element[i]->str, name))
			return h->element[i + 1]->str;
	return NULL;
}

/* Entry e's leaf hash equals the one stored at index idx of partition k. */
static bool leaf_stored(redisContext *r, int k, const redisReply *e, unsigned long long idx)
{
	const redisReply *kv = e->element[1];
	tlog_field_t f[TLOG_FIELDS_MAX];
	uint8_t leaf[TLOG_HASH_LEN];
	char key[ARCHIVE_KEYS_KEY_MAX];
	unsigned long long off = (idx % ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN;
	size_t n = 0;
	redisReply *stored;
	bool ok;

	for (size_t j = 0; j + 1 < kv->elements && n < TLOG_FIELDS_MAX; j += 2)
		if (!tlog_field_excluded(kv->element[j]->str, kv->element[j]->len))
			f[n++] = (tlog_field_t){{kv->element[j]->str, kv->element[j]->len},
						{kv->element[j + 1]->str, kv->element[j + 1]->len}};
	if (tlog_leaf_hash((archive_str_t){e->element[0]->str, e->element[0]->len}, f, n, leaf) < 0)
		return false;
	archive_keys_leaves(k, idx / ARCHIVE_KEYS_LEAVES_CHUNK, key, sizeof(key));
	stored = redisCommand(r, "GETRANGE %s %llu %llu", key, off, off + TLOG_HASH_LEN - 1);
	ok = stored && stored->type == REDIS_REPLY_STRING && stored->len == TLOG_HASH_LEN &&
	     memcmp(stored->str, leaf, TLOG_HASH_LEN) == 0;
	if (stored)
		freeReplyObject(stored);
	return ok;
}

int lgf_seal_check(redisContext *r, int k, char *why, size_t cap)
{
	static const char script[] =
		"return {redis.call('HGETALL', KEYS[1]), redis.call('XRANGE', KEYS[2], '-', '+')}";
	char tlog[64], arch[64];
	const char *last, *start, *trimmed, *size, *rejected;
	redisReply *rep, *e;
	unsigned long long base;
	int rv = -1;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
	archive_keys_archive(k, arch, sizeof(arch));
	rep = redisCommand(r, "EVAL %s 2 %s %s", script, tlog, arch);
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		snprintf(why, cap, "p%d: the snapshot script failed", k);
		goto out;
	}
	e = rep->element[1];
	last = state_field(rep->element[0], "last");
	start = state_field(rep->element[0], "start");
	trimmed = state_field(rep->element[0], "trimmed");
	size = state_field(rep->element[0], "size");
	rejected = state_field(rep->element[0], "rejected");
	if (e->elements == 0 && !size) {
		rv = 1; /* nothing archived in this partition */
		goto out;
	}
	if (e->elements && (!last || strcmp(last, e->element[e->elements - 1]->element[0]->str))) {
		rv = 0;
		goto out;
	}
	base = trimmed ? strtoull(trimmed, NULL, 10) : 0;
	if (!size || !start || strcmp(start, "0-0") != 0 ||
	    (rejected && strcmp(rejected, "0") != 0) ||
	    strtoull(size, NULL, 10) != base + e->elements) {
		snprintf(why, cap, "p%d: start %s, rejected %s, size %s for %llu + %zu entries", k,
			 start ? start : "-", rejected ? rejected : "0", size ? size : "-", base,
			 e->elements);
		goto out;
	}
	for (size_t i = 0; i < e->elements; i++)
		if (!leaf_stored(r, k, e->element[i], base + i)) {
			snprintf(why, cap, "p%d: leaf %llu (%s) is not its entry's", k, base + i,
				 e->element[i]->element[0]->str);
			goto out;
		}
	rv = 1;
out:
	if (rep)
		freeReplyObject(rep);
	return rv;
}
