/*
 * The server harness itself: servers start, answer and stop; and nothing is
 * left behind when the process that started them ends normally, is
 * interrupted (SIGINT) or is killed (SIGKILL). Started as root, no server
 * runs as root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scripts/stack/launch.h"

struct started {
	char dir[2048];
	pid_t pids[3];
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Reaps every exited child (we are a subreaper: orphans come to us). */
static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static bool gone(pid_t pid)
{
	reap_all();
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Child: start all three servers, report, then wait to be signalled. */
static void child_start_servers(int wfd, bool handlers)
{
	struct started st = {0};
	srv_env_t *env;
	srv_t *s[3];

	if (handlers)
		srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || srv_redis_start(env, NULL, &s[0]) < 0 ||
	    srv_inspircd_start(env, NULL, &s[1]) < 0 || srv_postgres_start(env, NULL, &s[2]) < 0)
		_exit(3);
	snprintf(st.dir, sizeof(st.dir), "%s", srv_env_dir(env));
	for (int i = 0; i < 3; i++)
		st.pids[i] = srv_pid(s[i]);
	if (write(wfd, &st, sizeof(st)) != sizeof(st))
		_exit(4);
	for (;;)
		pause();
}

static void check_cleanup_after(int sig, bool handlers)
{
	struct started st;
	int p[2];
	pid_t child;
	struct stat sb;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		child_start_servers(p[1], handlers);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &st, sizeof(st)), (ssize_t)sizeof(st));
	close(p[0]);
	for (int i = 0; i < 3; i++)
		assert_true(st.pids[i] > 0 && kill(st.pids[i], 0) == 0);
	assert_int_equal(stat(st.dir, &sb), 0);

	assert_int_equal(kill(child, sig), 0);
	assert_int_equal(waitpid(child, NULL, 0), child);

	/* Within the stop timeout every server is gone and the folder too. */
	bool clean = false;
	for (int t = 0; t < (SRV_STOP_TIMEOUT_MS + 5000) / 50 && !clean; t++) {
		clean = gone(st.pids[0]) && gone(st.pids[1]) && gone(st.pids[2]) &&
			stat(st.dir, &sb) < 0;
		if (!clean)
			sleep_ms(50);
	}
	if (!clean)
		fprintf(stderr, "left behind after signal %d: dir %s pids %d %d %d\n", sig, st.dir,
			(int)st.pids[0], (int)st.pids[1], (int)st.pids[2]);
	assert_true(clean);
	/* The watchdog has exited too: no child of ours is left. */
	for (int t = 0; t < 100 && waitpid(-1, NULL, WNOHANG) >= 0; t++)
		sleep_ms(50);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_cleanup_on_sigkill(void **state)
{
	(void)state;
	check_cleanup_after(SIGKILL, false);
}

static void test_cleanup_on_sigint(void **state)
{
	(void)state;
	check_cleanup_after(SIGINT, true);
}

static void test_start_stop_restart(void **state)
{
	srv_env_t *env;
	srv_t *r;
	char dir[2048];
	struct stat sb;
	(void)state;

	assert_int_equal(srv_env_new(NULL, &env), 0);
	snprintf(dir, sizeof(dir), "%s", srv_env_dir(env));
	assert_int_equal(srv_redis_start(env, NULL, &r), 0);
	int port = srv_port(r);
	assert_true(port > 0 && port < 65536);
	pid_t first = srv_pid(r);
	assert_true(srv_running(r));

	/* kill -9, then a restart on the same port. */
	assert_int_equal(srv_kill(r, SIGKILL), 0);
	assert_false(srv_running(r));
	assert_true(gone(first));
	assert_int_equal(srv_restart(r), 0);
	assert_int_equal(srv_port(r), port);
	assert_true(srv_pid(r) != first);

	assert_int_equal(srv_stop(r), 0);
	assert_int_equal(srv_stop(r), -ECHILD);
	srv_env_free(env);
	assert_true(stat(dir, &sb) < 0 && errno == ENOENT);
}

static void test_port_in_use_fails_clearly(void **state)
{
	srv_env_t *env;
	srv_t *a, *b;
	(void)state;

	assert_int_equal(srv_env_new(NULL, &env), 0);
	assert_int_equal(srv_redis_start(env, NULL, &a), 0);
	srv_redis_opts_t o = {.port = srv_port(a)};
	/* A configured port that is taken: an error, and nothing left running. */
	b = NULL;
	assert_true(srv_redis_start(env, &o, &b) < 0);
	assert_null(b);
	srv_env_free(env);
}

static void test_kept_folder_survives(void **state)
{
	char dir[] = "/tmp/eirc-kept-XXXXXX", path[4096];
	srv_env_t *env;
	srv_t *r;
	struct stat sb;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(srv_env_new(dir, &env), 0);
	assert_int_equal(srv_redis_start(env, NULL, &r), 0);
	srv_env_free(env);
	/* A kept environment (the local stack's var/) keeps its data. */
	snprintf(path, sizeof(path), "%s/redis", dir);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* A field of /proc/<pid>/status ("Uid", "CapEff"...): its first value. */
static void status_field(pid_t pid, const char *key, char out[256])
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = '\0';
	assert_non_null(f = fopen(path, "re"));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			sscanf(line + kl + 1, "%255s", out);
			break;
		}
	fclose(f);
}

static uid_t uid_of(const char *user)
{
	struct passwd *pw = getpwnam(user);

	assert_non_null(pw);
	return pw->pw_uid;
}

static void assert_runs_as(const srv_t *s, const char *user, const char *cap_eff)
{
	char v[256];

	status_field(srv_pid(s), "Uid", v);
	assert_int_equal(strtol(v, NULL, 10), uid_of(user));
	status_field(srv_pid(s), "CapEff", v);
	assert_string_equal(v, cap_eff);
}

/* As root: PostgreSQL runs as postgres, Redis and InspIRCd (without
 * --runasroot) as SRV_USER, with no capability, also in a folder a run as
 * root left; a process runs as its srv_as_t says, the gateway's kind
 * keeping CAP_SETUID, CAP_SETGID and CAP_KILL alone (ambient: after its
 * execve). */
static void test_no_server_runs_as_root(void **state)
{
	char dir[] = "/tmp/eirc-users-XXXXXX", path[4096], cmdline[4096] = "";
	srv_env_t *env;
	srv_t *pg, *rd, *irc, *plain, *gw;
	char *sleep_argv[] = {(char *)"/bin/sleep", (char *)"60", NULL};
	const srv_as_t eirc = {.user = SRV_USER}, gateway = {SRV_USER, .setuid_caps = true};
	struct stat sb;
	FILE *f;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0711);
	/* what a run of the harness as root left: Redis's folder root's */
	snprintf(path, sizeof(path), "%s/redis", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/redis/left-by-root", dir);
	assert_non_null(f = fopen(path, "we"));
	fclose(f);
	assert_int_equal(srv_env_new(dir, &env), 0);
	assert_int_equal(srv_postgres_start(env, NULL, &pg), 0);
	assert_int_equal(srv_redis_start(env, NULL, &rd), 0);
	assert_int_equal(srv_inspircd_start(env, NULL, &irc), 0);
	assert_runs_as(pg, "postgres", "0000000000000000");
	assert_runs_as(rd, SRV_USER, "0000000000000000");
	assert_runs_as(irc, SRV_USER, "0000000000000000");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, uid_of(SRV_USER));
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)srv_pid(irc));
	assert_non_null(f = fopen(path, "re"));
	size_t n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		cmdline[i] = cmdline[i] ? cmdline[i] : ' ';
	assert_null(strstr(cmdline, "--runasroot"));

	assert_int_equal(srv_process_start_as(env, "plain", sleep_argv, 0, NULL, &eirc, &plain), 0);
	assert_int_equal(srv_process_start_as(env, "gw", sleep_argv, 0, NULL, &gateway, &gw), 0);
	assert_runs_as(plain, SRV_USER, "0000000000000000");
	assert_runs_as(gw, SRV_USER, "00000000000000e0"); /* CAP_KILL, CAP_SETUID, CAP_SETGID */
	char v[256];
	status_field(srv_pid(gw), "CapPrm", v);
	assert_string_equal(v, "00000000000000e0");
	status_field(srv_pid(gw), "CapAmb", v);
	assert_string_equal(v, "00000000000000e0");
	/* its log, written through the descriptor, is not its own to read */
	assert_int_equal(stat(srv_log_path(gw), &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* a folder given to the daemons: theirs; one outside env: refused */
	snprintf(path, sizeof(path), "%s/run/deeper", dir);
	assert_int_equal(srv_env_give_dir(env, path, SRV_USER, NULL, 0710), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, uid_of(SRV_USER));
	assert_int_equal(sb.st_mode & 0777, 0710);
	assert_int_equal(srv_env_give_dir(env, dir, SRV_USER, NULL, 0710), -EINVAL);
	assert_int_equal(srv_env_give_dir(env, "/tmp", SRV_USER, NULL, 0710), -EINVAL);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_uid, 0);

	srv_env_free(env);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop_restart),
		cmocka_unit_test(test_port_in_use_fails_clearly),
		cmocka_unit_test(test_kept_folder_survives),
		cmocka_unit_test(test_no_server_runs_as_root),
		cmocka_unit_test(test_cleanup_on_sigkill),
		cmocka_unit_test(test_cleanup_on_sigint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
