/*
 * The server harness itself: servers start, answer and stop; and nothing is
 * left behind when the process that started them ends normally, is
 * interrupted (SIGINT) or is killed (SIGKILL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop_restart),
		cmocka_unit_test(test_port_in_use_fails_clearly),
		cmocka_unit_test(test_kept_folder_survives),
		cmocka_unit_test(test_cleanup_on_sigkill),
		cmocka_unit_test(test_cleanup_on_sigint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
