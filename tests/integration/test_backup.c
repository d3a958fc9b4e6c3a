/*
 * dist/sbin/eirc-backup and eirc-restore (docs/operations.md, "Backups")
 * against a real PostgreSQL, Redis (appendonly yes) and
 * eirc-auth, run as root as an operator runs them, with the test standing
 * in for systemd: the scripts' systemctl (EIRC_SYSTEMCTL) hands each
 * request to the test, which stops and starts eirc-auth and Redis.
 *   - a backup holds postgres.dump, redis/dump.rdb, the AOF folder, the
 *     spill, MANIFEST and SHA256SUMS, in one dated 0700 folder;
 *   - after a wipe (a user deleted and another added, Redis flushed and
 *     written, the spill replaced) a restore brings back exactly the
 *     state of the backup: the users, every Redis key (the archive stream
 *     too), the spill's bytes; the eIRC units are stopped before anything
 *     is touched and started again after, Redis is restarted on its
 *     restored files, and eirc-auth is ready again (a user signs in);
 *   - with the database dropped altogether, the restore creates it
 *     (pg_restore --create), owner and grants included: the user signs in;
 *   - refusals, each with a clear reason and exit status 1: a damaged
 *     backup (one byte changed: nothing is stopped), a folder that is no
 *     backup, PostgreSQL unreachable during a backup (no folder is left,
 *     partial or not), not root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/integration/auth_fixture.h"

#define SPILL_BYTES (256 * 1024)

static fx_t fx;
static char dir[600];     /* the env's folder */
static char config[700];  /* the scripts' eirc.yaml */
static char backups[700]; /* eirc-backup's DIR */
static char ctl[700];     /* the stand-in systemd's folder */
static char calls[4096];  /* systemctl requests, "verb unit\n" each */

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	static char buf[1 << 16];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The spill's content: a pattern of n bytes. */
static void write_spill(const char *name, size_t n, unsigned seed)
{
	char path[800];
	FILE *f;

	snprintf(path, sizeof(path), "%s/spill/%s", dir, name);
	assert_non_null(f = fopen(path, "we"));
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * 31 + seed) & 0xff), f);
	assert_int_equal(fclose(f), 0);
}

static bool spill_is(const char *name, size_t n, unsigned seed)
{
	char path[800];
	FILE *f;
	bool ok = true;
	int c;
	size_t i = 0;

	snprintf(path, sizeof(path), "%s/spill/%s", dir, name);
	if (!(f = fopen(path, "re")))
		return false;
	while ((c = fgetc(f)) != EOF)
		ok = ok && i < n && c == (int)((i * 31 + seed) & 0xff), i++;
	fclose(f);
	return ok && i == n;
}

static redisReply *redis(const char *fmt, ...)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(fx.redis));
	redisReply *r;
	va_list ap;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	assert_non_null(r);
	return r;
}

static long long redis_int(const char *fmt, const char *arg)
{
	redisReply *r = redis(fmt, arg);
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	freeReplyObject(r);
	return v;
}

static void redis_ok(const char *fmt, const char *a, const char *b)
{
	redisReply *r = redis(fmt, a, b);

	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

/* The test as systemd: one request of the scripts' systemctl, if any. */
static void serve_systemctl(void)
{
	char req[800], ack[800], tmp[800], *line;
	int st = 0;

	snprintf(req, sizeof(req), "%s/req", ctl);
	if (!(line = read_text(req)))
		return;
	unlink(req);
	line[strcspn(line, "\n")] = '\0';
	strncat(calls, line, sizeof(calls) - strlen(calls) - 2);
	strcat(calls, "\n");
	if (!strcmp(line, "stop eirc-auth"))
		st = !fx.daemon || fx_stop_daemon(&fx) == 0 ? 0 : 1; /* stopped already: done */
	else if (!strcmp(line, "start eirc-auth"))
		st = fx_start_daemon(&fx) == 0 ? 0 : 1;
	else if (!strcmp(line, "stop redis-server"))
		st = srv_stop(fx.redis) == 0 ? 0 : 1;
	else if (!strcmp(line, "start redis-server"))
		st = srv_restart(fx.redis) == 0 ? 0 : 1;
	/* eirc-gateway, eirc-history, eirc-logger: not running here */
	snprintf(tmp, sizeof(tmp), "%s/ack.tmp", ctl);
	snprintf(ack, sizeof(ack), "%s/ack", ctl);
	write_text(tmp, st ? "1\n" : "0\n", 0600);
	assert_int_equal(rename(tmp, ack), 0);
}

/*
 * Runs dist/sbin/<script> arg with the deployment's environment pointed at
 * the test's servers, serving its systemctl; returns its exit status and
 * its output (stdout and stderr) in a static buffer. extra_env: one more
 * "NAME=value" or NULL.
 */
static int run(const char *script, const char *arg, const char *extra_env, char **out)
{
	char log[800], exe[800], path[4096];
	const char *src = getenv("EIRC_SOURCE_DIR"), *bld = getenv("EIRC_BUILD_DIR");
	int status;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/%s.out", dir, script);
	snprintf(exe, sizeof(exe), "%s/dist/sbin/%s", src ? src : ".", script);
	snprintf(path, sizeof(path), "%s/config:%s", bld ? bld : "build", getenv("PATH"));
	calls[0] = '\0';
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char port[16], sysctl[800];
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		snprintf(port, sizeof(port), "%d", srv_port(fx.pg));
		snprintf(sysctl, sizeof(sysctl), "%s/systemctl", ctl);
		setenv("PATH", path, 1);
		setenv("EIRC_CONFIG", config, 1);
		setenv("EIRC_CREDENTIALS", "/nonexistent", 1);
		setenv("EIRC_SYSTEMCTL", sysctl, 1);
		setenv("PGHOST", "127.0.0.1", 1);
		setenv("PGPORT", port, 1);
		setenv("PGUSER", "postgres", 1);
		setenv("PGPASSWORD", srv_password(fx.pg), 1);
		if (extra_env)
			putenv((char *)extra_env);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, script, arg, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		serve_systemctl();
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		assert_int_equal(w, 0);
		usleep(20 * 1000);
	}
	*out = read_text(log);
	assert_non_null(*out);
	print_message("%s %s: exit %d\n%s", script, arg, WEXITSTATUS(status), *out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The one eirc-* folder in backups: its path into out; false if none. */
static bool the_backup(char *out, size_t cap)
{
	DIR *d = opendir(backups);
	struct dirent *e;
	int n = 0;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
			if (strncmp(e->d_name, "eirc-", 5) ||
			    (size_t)snprintf(out, cap, "%s/%s", backups, e->d_name) >= cap)
				n = 99; /* a .partial, or anything else */
		}
	closedir(d);
	return n == 1;
}

static int setup(void **state)
{
	static char text[70000];
	char stub[800];
	(void)state;

	if (geteuid() != 0) {
		print_message("eirc-backup and eirc-restore run as root: skipped\n");
		return 0;
	}
	if (fx_start_redis(&fx, NULL) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", srv_env_dir(fx.env));
	snprintf(backups, sizeof(backups), "%s/backups", dir);
	snprintf(ctl, sizeof(ctl), "%s/systemd", dir);
	snprintf(config, sizeof(config), "%s/eirc.yaml", dir);
	snprintf(stub, sizeof(stub), "%s/spill", dir);
	if (mkdir(ctl, 0700) < 0 || mkdir(stub, 0700) < 0)
		return -1;
	/* the daemons' config, with the logger's spill in the env */
	snprintf(text, sizeof(text), "%slogger:\n  spill_dir: %s/spill\n", read_text(fx.config),
		 dir);
	write_text(config, text, 0640);
	snprintf(stub, sizeof(stub), "%s/systemctl", ctl);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n# the test's systemd: one request at a time, answered by the test\n"
		 "echo \"$*\" > %s/req.tmp && mv %s/req.tmp %s/req\n"
		 "while [ ! -e %s/ack ]; do sleep 0.02; done\n"
		 "st=$(cat %s/ack); rm -f %s/ack; exit \"$st\"\n",
		 ctl, ctl, ctl, ctl, ctl, ctl);
	write_text(stub, text, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (fx.env)
		fx_stop(&fx);
	return 0;
}

#define SKIP_UNLESS_ROOT()                                                                         \
	do {                                                                                       \
		if (geteuid() != 0)                                                                \
			skip();                                                                    \
	} while (0)

static void test_backup_wipe_restore(void **state)
{
	char b[800], p[900], *out;
	struct stat st;
	(void)state;
	SKIP_UNLESS_ROOT();

	/* the state to keep */
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "carol", "--password-env",
				"PW", NULL),
			 0);
	redis_ok("XADD eirc:{0}:archive * msg %s", "kept", NULL);
	redis_ok("SET eirc:test:%s %s", "kept", "before the backup");
	write_spill("spill.dat", SPILL_BYTES, 7);

	assert_int_equal(run("eirc-backup", backups, NULL, &out), 0);
	assert_non_null(strstr(out, "eirc-backup: saved "));
	assert_true(the_backup(b, sizeof(b)));
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	const char *files[] = {"postgres.dump",   "redis/dump.rdb", "redis/appendonlydir",
			       "spill/spill.dat", "MANIFEST",       "SHA256SUMS"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", b, files[i]);
		if (stat(p, &st) < 0)
			fail_msg("the backup lacks %s", files[i]);
	}
	snprintf(p, sizeof(p), "%s/MANIFEST", b);
	assert_non_null(strstr(read_text(p), "database eirc\n"));
	assert_string_equal(calls, ""); /* a backup stops nothing */

	/* the wipe */
	assert_int_equal(fx_sql(&fx, "DELETE FROM users WHERE nick = 'carol'"), 0);
	assert_int_equal(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "dave", "--password-env",
				"PW", NULL),
			 0);
	redis_ok("FLUSHALL", NULL, NULL);
	redis_ok("SET eirc:test:%s %s", "after", "the backup");
	snprintf(p, sizeof(p), "%s/spill/spill.dat", dir);
	assert_int_equal(unlink(p), 0);
	write_spill("other.dat", 1000, 3);

	assert_int_equal(run("eirc-restore", b, NULL, &out), 0);
	assert_non_null(strstr(out, "eirc-restore: restored "));
	/* the eIRC units stopped before anything was touched, Redis
	 * restarted on its files, the units started again */
	assert_string_equal(calls, "stop eirc-gateway\nstop eirc-history\nstop eirc-logger\n"
				   "stop eirc-auth\nstop redis-server\nstart redis-server\n"
				   "start eirc-auth\nstart eirc-logger\nstart eirc-history\n"
				   "start eirc-gateway\n");
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE nick = 'carol'"), 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE nick = 'dave'"), 0);
	assert_int_equal(redis_int("XLEN %s", "eirc:{0}:archive"), 1);
	redisReply *r = redis("GET eirc:test:kept");
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, "before the backup");
	freeReplyObject(r);
	assert_int_equal(redis_int("EXISTS %s", "eirc:test:after"), 0);
	assert_true(spill_is("spill.dat", SPILL_BYTES, 7));
	snprintf(p, sizeof(p), "%s/spill/other.dat", dir);
	assert_int_equal(access(p, F_OK), -1);
	/* eirc-auth serves the restored database: carol signs in */
	ht_resp_t lr;
	assert_int_equal(fx_login(&fx, "carol", FX_PASSWORD, &lr), 0);
	assert_int_equal(lr.status, 200);
	ht_resp_free(&lr);
}

/* The database gone altogether (a new host after `eirc-auth setup`
 * would have an empty one; here there is none): pg_restore --create. */
static void test_restore_into_dropped_database(void **state)
{
	char b[800], *out;
	(void)state;
	SKIP_UNLESS_ROOT();

	assert_true(the_backup(b, sizeof(b)));
	assert_int_equal(fx_stop_daemon(&fx), 0);
	/* WITH (FORCE): the fixture's own connection goes too */
	assert_int_equal(srv_pg_exec(fx.pg, "postgres", "DROP DATABASE eirc WITH (FORCE)"), 0);
	assert_int_equal(run("eirc-restore", b, NULL, &out), 0);
	assert_non_null(strstr(out, "pg_restore --create of the database eirc"));
	PQreset(fx.db);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM users WHERE nick = 'carol'"), 1);
	ht_resp_t lr;
	assert_int_equal(fx_login(&fx, "carol", FX_PASSWORD, &lr), 0);
	assert_int_equal(lr.status, 200);
	ht_resp_free(&lr);
}

static void test_refusals(void **state)
{
	char b[800], bad[900], p[1000], cmd[2100], *out;
	(void)state;
	SKIP_UNLESS_ROOT();

	assert_true(the_backup(b, sizeof(b)));
	/* one byte changed: refused before anything is stopped */
	snprintf(bad, sizeof(bad), "%s/../damaged", backups);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", b, bad);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/postgres.dump", bad);
	FILE *f = fopen(p, "r+e");
	assert_non_null(f);
	fseek(f, 100, SEEK_SET);
	int c = fgetc(f);
	fseek(f, 100, SEEK_SET);
	fputc(c ^ 1, f);
	fclose(f);
	assert_int_equal(run("eirc-restore", bad, NULL, &out), 1);
	assert_non_null(strstr(out, "is damaged"));
	assert_string_equal(calls, "");
	/* not a backup */
	assert_int_equal(run("eirc-restore", dir, NULL, &out), 1);
	assert_non_null(strstr(out, "is no eirc-backup folder"));
	assert_string_equal(calls, "");
	/* PostgreSQL unreachable: nothing left behind */
	snprintf(p, sizeof(p), "%s/failed", dir);
	assert_int_equal(run("eirc-backup", p, "PGPORT=1", &out), 1);
	assert_non_null(strstr(out, "pg_dump of the database eirc failed"));
	DIR *d = opendir(p);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("a failed backup left %s/%s", p, e->d_name);
	closedir(d);
	/* a bad command line */
	assert_int_equal(run("eirc-backup", "--no-such-option", NULL, &out), 2);
	assert_non_null(strstr(out, "usage: eirc-backup [--config FILE] DIR"));
}

static void test_not_root(void **state)
{
	char cmd[1200], *src = getenv("EIRC_SOURCE_DIR");
	(void)state;
	SKIP_UNLESS_ROOT();

	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=nobody --regid=nogroup --clear-groups %s/dist/sbin/eirc-backup "
		 "/tmp/x 2>&1 | grep -q 'run it as root'",
		 src ? src : ".");
	assert_int_equal(system(cmd), 0);
}

static void test_clean_stop(void **state)
{
	SKIP_UNLESS_ROOT();
	fx_test_clean_stop(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_wipe_restore),
		cmocka_unit_test(test_restore_into_dropped_database),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_root),
		cmocka_unit_test_prestate(test_clean_stop, &fx), /* last */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
