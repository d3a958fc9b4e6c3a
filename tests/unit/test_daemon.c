/*
 * Unit tests of common/daemon: the command line every program shares
 * (unknown option, missing value, stray operand, missing config,
 * --check-config good and bad, the subcommand and extra-options hooks,
 * EIRC_DAEMON_OPTS_MAX at the limit and past it) and the run (start
 * failure, a program ending on its own, SIGTERM into the stop hook, the
 * bounded drain into the close hook, systemd's notifications and SIGHUP's
 * reload), without servers. (A handle left
 * open is not tested here: the loop it leaves behind would leak.)
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/harness/testfile.h"
#include "common/daemon.h"

static char source_path[4096];

/* EIRC_SOURCE_DIR (set by CTest, else the working directory) + rel. */
static const char *source_file(const char *rel)
{
	const char *dir = getenv("EIRC_SOURCE_DIR");

	snprintf(source_path, sizeof(source_path), "%s/%s", dir ? dir : ".", rel);
	return source_path;
}

static void set_secrets(void)
{
	setenv("EIRC_WEBIRC_PASSWORD", "webirc-test-password", 1);
	setenv("EIRC_INTERNAL_SECRET", "internal-test-secret-0123456789", 1);
	setenv("EIRC_DB_PASSWORD", "db-test-password", 1);
	setenv("EIRC_DB_OWNER_PASSWORD", "db-owner-test-password", 1);
	setenv("EIRC_REDIS_PASSWORD", "redis-test-password", 1);
	setenv("EIRC_REDIS_AUTH_PASSWORD", "redis-auth-test-password", 1);
	setenv("EIRC_REDIS_GATEWAY_PASSWORD", "redis-gateway-test-password", 1);
	setenv("EIRC_REDIS_LOGGER_PASSWORD", "redis-logger-test-password", 1);
	setenv("EIRC_LOGGER_IRC_PASSWORD", "logger-irc-test-password", 1);
	setenv("EIRC_REDIS_HISTORY_PASSWORD", "redis-history-test-password", 1);
	setenv("EIRC_ARCHIVE_SIGNING_KEY", "PRIVATE+KEY+test+00000000+AQ", 1);
	setenv("EIRC_HISTORY_CLIENT_SECRET", "history-client-secret-0123456789", 1);
	setenv("EIRC_SESSION_KEY", "session-test-key-0123456789abcdef", 1);
	setenv("EIRC_ARCHIVE_SIGNING_KEY", "PRIVATE+KEY+test+00000000+AQ", 1);
}

/* ---- what the hooks saw ---- */

typedef struct seen {
	const char *config_path;
	int starts, stops, closes, ends;
	int start_rc, end_rc;
	int command_argc;
	char command_arg[64];
	int opt_x, opt_long;
	char opt_value[64];
	bool done_fails;
	enum { RUN_NOTHING, RUN_TIMER, RUN_SIGNAL, RUN_DRAIN, RUN_RELOAD, RUN_LATE } mode;
	uv_timer_t timer;
	int step, reloads, reload_rc;
	const char *reload_file; /* RUN_RELOAD: broken at the third SIGHUP */
} seen_t;

static seen_t seen;

static void on_timer_close(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
}

static void on_timer_noop(uv_timer_t *t)
{
	(void)t;
}

static void on_timer_kill(uv_timer_t *t)
{
	(void)t;
	uv_kill(getpid(), SIGTERM);
}

/* RUN_RELOAD: SIGHUP with a good file (the hook applies), again (the hook
 * refuses), with a broken file (the hook is not called), then SIGTERM. */
static void on_timer_reload(uv_timer_t *t)
{
	seen_t *s = t->data;
	FILE *f;

	switch (s->step++) {
	case 0:
		uv_kill(getpid(), SIGHUP);
		break;
	case 1:
		s->reload_rc = -EINVAL;
		uv_kill(getpid(), SIGHUP);
		break;
	case 2:
		if ((f = fopen(s->reload_file, "we"))) {
			fputs("gateway:\n  listen_port: [\n", f);
			fclose(f);
		}
		uv_kill(getpid(), SIGHUP);
		break;
	default:
		uv_timer_stop(t);
		uv_kill(getpid(), SIGTERM);
	}
}

static int t_reload(void *app, const eirc_config_t *cfg, eirc_err_t *out_err)
{
	seen_t *s = app;

	s->reloads++;
	if (cfg->gateway.listen_port != 8081)
		return eirc_err_set(out_err, -EINVAL, "not the test's config");
	return s->reload_rc < 0 ? eirc_err_set(out_err, s->reload_rc, "the hook says no") : 0;
}

static int t_start(void *app, eirc_daemon_t *d)
{
	seen_t *s = app;
	uv_loop_t *loop = eirc_daemon_loop(d);

	s->starts++;
	s->config_path = eirc_daemon_config_path(d);
	if (eirc_daemon_config(d)->gateway.listen_port != 8081)
		return -EINVAL;
	switch (s->mode) {
	case RUN_NOTHING:
		break;
	case RUN_TIMER: /* the program ends on its own */
		uv_timer_init(loop, &s->timer);
		uv_timer_start(&s->timer, on_timer_close, 10, 0);
		break;
	case RUN_SIGNAL:
	case RUN_DRAIN:
		uv_timer_init(loop, &s->timer);
		uv_timer_start(&s->timer, on_timer_kill, 10, 1000);
		break;
	case RUN_LATE: /* SIGTERM once the readiness polls are done */
		uv_timer_init(loop, &s->timer);
		uv_timer_start(&s->timer, on_timer_kill, 600, 1000);
		break;
	case RUN_RELOAD:
		uv_timer_init(loop, &s->timer);
		s->timer.data = s;
		uv_timer_start(&s->timer, on_timer_reload, 20, 20);
		break;
	}
	return s->start_rc;
}

static void t_stop(void *app)
{
	seen_t *s = app;

	s->stops++;
	if (s->mode == RUN_SIGNAL || s->mode == RUN_RELOAD || s->mode == RUN_LATE)
		uv_close((uv_handle_t *)&s->timer, NULL);
	else /* RUN_DRAIN: still busy long after */
		uv_timer_start(&s->timer, on_timer_noop, 10000, 0);
}

static void t_close(void *app)
{
	seen_t *s = app;

	s->closes++;
	uv_close((uv_handle_t *)&s->timer, NULL);
}

static int t_end(void *app)
{
	seen_t *s = app;

	s->ends++;
	return s->end_rc;
}

static int t_command(void *app, const eirc_config_t *cfg, int argc, char **argv)
{
	seen_t *s = app;

	(void)cfg;
	s->command_argc = argc;
	snprintf(s->command_arg, sizeof(s->command_arg), "%s", argc > 1 ? argv[1] : "");
	return 7;
}

enum { OPT_LONG = 256 };

static int t_apply(void *app, int opt, const char *arg, eirc_err_t *out_err)
{
	seen_t *s = app;

	if (opt == 'x') {
		s->opt_x++;
		return 0;
	}
	if (strcmp(arg, "bad") == 0)
		return eirc_err_set(out_err, -EINVAL, "--long: bad value");
	s->opt_long++;
	snprintf(s->opt_value, sizeof(s->opt_value), "%s", arg);
	return 0;
}

static int t_done(void *app, eirc_err_t *out_err)
{
	seen_t *s = app;

	return s->done_fails ? eirc_err_set(out_err, -EINVAL, "--long is required") : 0;
}

static const struct option t_options[] = {
	{"ex", no_argument, NULL, 'x'},
	{"long", required_argument, NULL, OPT_LONG},
	{NULL, 0, NULL, 0},
};

static const eirc_daemon_opts_t t_opts = {
	.options = t_options,
	.usage = "  -x, --ex          a flag\n      --long VALUE  a value\n",
	.apply = t_apply,
	.done = t_done,
};

static const eirc_daemon_def_t def_plain = {
	.prog = "eirc-test",
	.about = "A test daemon.\n",
	.start = t_start,
	.stop = t_stop,
	.end = t_end,
};

static int call(const eirc_daemon_def_t *def, int argc, const char **argv)
{
	return eirc_daemon_main(def, &seen, argc, (char **)argv);
}

static int setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	seen.end_rc = EIRC_EXIT_OK;
	set_secrets();
	unsetenv("EIRC_CONFIG");
	return 0;
}

/* ---- the command line ---- */

/* What runs, what is refused (formerly test_config_files' daemon test). */
static void test_daemon_main(void **state)
{
	const char *path = source_file("config/eirc.yaml");
	const char *version[] = {"eirc-test", "--version", NULL};
	const char *bogus[] = {"eirc-test", "--bogus", NULL};
	const char *extra[] = {"eirc-test", "-c", path, "stray", NULL};
	const char *missing[] = {"eirc-test", "-c", "/nonexistent/eirc.yaml", NULL};
	const char *run[] = {"eirc-test", "--config", path, NULL};

	(void)state;
	assert_int_equal(call(&def_plain, 2, version), 0);
	assert_int_equal(call(&def_plain, 2, bogus), 2);
	assert_int_equal(call(&def_plain, 4, extra), 2);
	assert_int_equal(call(&def_plain, 3, missing), 1);
	assert_int_equal(seen.starts, 0);
	seen.end_rc = 42;
	assert_int_equal(call(&def_plain, 3, run), 42);
	assert_string_equal(seen.config_path, path);
	assert_int_equal(seen.starts, 1);
	assert_int_equal(seen.ends, 1);
	assert_int_equal(seen.stops, 0);
}

static void test_usage_errors(void **state)
{
	const char *novalue[] = {"eirc-test", "--config", NULL};
	const char *noshort[] = {"eirc-test", "-c", NULL};
	const char *help[] = {"eirc-test", "--help", "--bogus", NULL};

	(void)state;
	assert_int_equal(call(&def_plain, 2, novalue), EIRC_EXIT_USAGE);
	assert_int_equal(call(&def_plain, 2, noshort), EIRC_EXIT_USAGE);
	/* --help answers at once, before a later bad option */
	assert_int_equal(call(&def_plain, 3, help), EIRC_EXIT_OK);
	assert_int_equal(seen.starts, 0);
}

/* $EIRC_CONFIG, then config/eirc.yaml, without -c. */
static void test_config_default(void **state)
{
	const char *none[] = {"eirc-test", NULL};
	const char *path = source_file("config/eirc.yaml");

	(void)state;
	setenv("EIRC_CONFIG", path, 1);
	assert_int_equal(call(&def_plain, 1, none), EIRC_EXIT_OK);
	assert_string_equal(seen.config_path, path);
	setenv("EIRC_CONFIG", "", 1);
	if (chdir(source_file(".")) == 0) {
		assert_int_equal(call(&def_plain, 1, none), EIRC_EXIT_OK);
		assert_string_equal(seen.config_path, EIRC_DAEMON_CONFIG_DEFAULT);
	}
	setenv("EIRC_CONFIG", "/nonexistent/eirc.yaml", 1);
	assert_int_equal(call(&def_plain, 1, none), EIRC_EXIT_FAILURE);
	unsetenv("EIRC_CONFIG");
}

static void test_check_config(void **state)
{
	const char *good[] = {"eirc-test", "--check-config", source_file("config/eirc.yaml"), NULL};
	char *bad_path = tf_temp_file("daemon", "log:\n  level: loud\n");
	const char *bad[] = {"eirc-test", "--check-config", bad_path, NULL};
	const char *gone[] = {"eirc-test", "--check-config", "/nonexistent/eirc.yaml", NULL};

	(void)state;
	assert_int_equal(call(&def_plain, 3, good), EIRC_EXIT_OK);
	assert_int_equal(call(&def_plain, 3, bad), EIRC_EXIT_FAILURE);
	assert_int_equal(call(&def_plain, 3, gone), EIRC_EXIT_FAILURE);
	assert_int_equal(seen.starts, 0);
	unlink(bad_path);
	free(bad_path);
}

/* With a command hook, the first operand ends the options. */
static void test_subcommand(void **state)
{
	const char *path = source_file("config/eirc.yaml");
	const char *cmd[] = {"eirc-test", "-c", path, "user", "--bogus", NULL};
	const char *none[] = {"eirc-test", "-c", path, NULL};
	const char *before[] = {"eirc-test", "--bogus", "user", NULL};
	eirc_daemon_def_t def = def_plain;

	(void)state;
	def.command = t_command;
	assert_int_equal(call(&def, 5, cmd), 7);
	assert_int_equal(seen.command_argc, 2);
	assert_string_equal(seen.command_arg, "--bogus");
	assert_int_equal(seen.starts, 0);
	/* no command: the daemon runs */
	assert_int_equal(call(&def, 3, none), EIRC_EXIT_OK);
	assert_int_equal(seen.starts, 1);
	/* options before the command are still ours */
	assert_int_equal(call(&def, 3, before), EIRC_EXIT_USAGE);
}

/* The extra-options hook: short and long, a refused value, done. */
static void test_extra_options(void **state)
{
	const char *path = source_file("config/eirc.yaml");
	const char *ok[] = {"eirc-test", "-x", "--long", "v1", "-c", path, "--ex", NULL};
	const char *bad[] = {"eirc-test", "--long", "bad", "-c", path, NULL};
	const char *missing[] = {"eirc-test", "--long", NULL};
	const char *none[] = {"eirc-test", "-c", path, NULL};
	eirc_daemon_def_t def = def_plain;

	(void)state;
	def.opts = &t_opts;
	assert_int_equal(call(&def, 7, ok), EIRC_EXIT_OK);
	assert_int_equal(seen.opt_x, 2);
	assert_int_equal(seen.opt_long, 1);
	assert_string_equal(seen.opt_value, "v1");
	assert_int_equal(call(&def, 5, bad), EIRC_EXIT_USAGE);
	assert_int_equal(call(&def, 2, missing), EIRC_EXIT_USAGE);
	seen.done_fails = true;
	assert_int_equal(call(&def, 3, none), EIRC_EXIT_USAGE);
	assert_int_equal(seen.starts, 1);
}

static int t_apply_count(void *app, int opt, const char *arg, eirc_err_t *out_err)
{
	(void)opt, (void)arg, (void)out_err;
	((seen_t *)app)->opt_long++;
	return 0;
}

/* EIRC_DAEMON_OPTS_MAX extra options work; one more is refused. */
static void test_options_limit(void **state)
{
	static struct option many[EIRC_DAEMON_OPTS_MAX + 2];
	static char names[EIRC_DAEMON_OPTS_MAX + 1][16];
	const char *path = source_file("config/eirc.yaml");
	const char *argv[] = {"eirc-test", "-c", path, "--o0", "--o27", NULL};
	eirc_daemon_opts_t opts = {many, NULL, t_apply_count, NULL};
	eirc_daemon_def_t def = def_plain;

	(void)state;
	for (int i = 0; i <= EIRC_DAEMON_OPTS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "o%d", i);
		many[i] = (struct option){names[i], no_argument, NULL, 256 + i};
	}
	def.opts = &opts;
	many[EIRC_DAEMON_OPTS_MAX] = (struct option){NULL, 0, NULL, 0};
	assert_int_equal(call(&def, 5, argv), EIRC_EXIT_OK);
	assert_int_equal(seen.opt_long, 2);
	many[EIRC_DAEMON_OPTS_MAX] = (struct option){names[EIRC_DAEMON_OPTS_MAX], no_argument, NULL,
						     256 + EIRC_DAEMON_OPTS_MAX};
	assert_int_equal(call(&def, 5, argv), EIRC_EXIT_USAGE);
}

/* ---- the run ---- */

static void test_run(void **state)
{
	const char *path = source_file("config/eirc.yaml");
	const char *argv[] = {"eirc-test", "-c", path, NULL};
	char *other = tf_temp_file("daemon", "irc:\n  servers:\n    - host: 127.0.0.1\n"
					     "  webirc_password: pw\nauth:\n"
					     "  internal_secret: 0123456789abcdef\n"
					     "gateway:\n  listen_port: 9999\n"
					     "history:\n  socket_path: null\n");
	const char *argv_other[] = {"eirc-test", "-c", other, NULL};
	eirc_daemon_def_t def = def_plain;

	(void)state;
	/* start fails (not port 8081): end still runs, status 1 */
	assert_int_equal(call(&def, 3, argv_other), EIRC_EXIT_FAILURE);
	assert_int_equal(seen.ends, 1);
	unlink(other);
	free(other);
	/* the program ends on its own; its end status is the exit status */
	seen.mode = RUN_TIMER;
	seen.end_rc = EIRC_EXIT_FAILURE;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_FAILURE);
	assert_int_equal(seen.stops, 0);
	/* SIGTERM calls stop once; the program closes, the loop ends */
	seen.mode = RUN_SIGNAL;
	seen.end_rc = EIRC_EXIT_OK;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_OK);
	assert_int_equal(seen.stops, 1);
	assert_int_equal(seen.closes, 0);
	/* a stop that never finishes: close after drain_ms */
	seen.mode = RUN_DRAIN;
	seen.stops = 0;
	def.close = t_close;
	def.drain_ms = 20;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_OK);
	assert_int_equal(seen.stops, 1);
	assert_int_equal(seen.closes, 1);
	/* a start failure counts even when end says 0 */
	seen.mode = RUN_NOTHING;
	seen.start_rc = -EADDRINUSE;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_FAILURE);
}

/* One datagram from fd, or "" when none is waiting. */
static const char *next_datagram(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Under systemd (NOTIFY_SOCKET): READY=1 after start, RELOADING=1 and
 * READY=1 around each SIGHUP, the reload applied only when the file loads
 * and the hook agrees, STOPPING=1 at SIGTERM; an invalid file leaves the
 * hook uncalled. */
static void test_notify_reload(void **state)
{
	char sock[] = "/tmp/eirc-test-notify-XXXXXX", buf[256];
	char *text = NULL, *copy;
	size_t cap = 0;
	FILE *f = fopen(source_file("config/eirc.yaml"), "re");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	eirc_daemon_def_t def = def_plain;
	int fd;

	(void)state;
	assert_non_null(f);
	assert_true(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	copy = tf_temp_file("reload", text);
	free(text);
	const char *argv[] = {"eirc-test", "-c", copy, NULL};
	assert_non_null(mkdtemp(sock));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", sock);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	def.reload = t_reload;
	seen.mode = RUN_RELOAD;
	seen.reload_file = copy;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_OK);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(seen.reloads, 2);
	assert_int_equal(seen.stops, 1);
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "READY=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "RELOADING=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "READY=1\nSTATUS=Reloaded");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "RELOADING=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "READY=1\nSTATUS=Reload refused");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "RELOADING=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)),
			    "READY=1\nSTATUS=Reload refused: the config does not load");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "STOPPING=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "");
	close(fd);
	unlink(a.sun_path);
	rmdir(sock);
	unlink(copy);
	free(copy);
}

static int not_ready_calls;

/* Not ready the first three times asked; a negative count: never. */
static const char *t_not_ready(void *app)
{
	(void)app;
	if (not_ready_calls < 0)
		return "no database";
	return ++not_ready_calls <= 3 ? "no database" : NULL;
}

/* READY=1 waits for not_ready; one never ready is started all the same
 * after ready_wait_ms, the reason in STATUS=. */
static void test_notify_ready(void **state)
{
	char sock[] = "/tmp/eirc-test-ready-XXXXXX", buf[256];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const char *argv[] = {"eirc-test", "-c", source_file("config/eirc.yaml"), NULL};
	eirc_daemon_def_t def = def_plain;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(sock));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", sock);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	def.not_ready = t_not_ready;
	def.ready_wait_ms = 10000;
	seen.mode = RUN_LATE; /* SIGTERM after 600 ms */
	not_ready_calls = 0;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_OK);
	assert_int_equal(not_ready_calls, 4); /* ready at the fourth poll, ~300 ms */
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "READY=1\nSTATUS=Ready");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "STOPPING=1");
	/* never ready: started all the same after ready_wait_ms */
	not_ready_calls = -1;
	def.ready_wait_ms = 150;
	assert_int_equal(call(&def, 3, argv), EIRC_EXIT_OK);
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)),
			    "READY=1\nSTATUS=Started, not ready: no database");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "STOPPING=1");
	assert_string_equal(next_datagram(fd, buf, sizeof(buf)), "");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(a.sun_path);
	rmdir(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_daemon_main, setup),
		cmocka_unit_test_setup(test_usage_errors, setup),
		cmocka_unit_test_setup(test_config_default, setup),
		cmocka_unit_test_setup(test_check_config, setup),
		cmocka_unit_test_setup(test_subcommand, setup),
		cmocka_unit_test_setup(test_extra_options, setup),
		cmocka_unit_test_setup(test_options_limit, setup),
		cmocka_unit_test_setup(test_run, setup),
		cmocka_unit_test_setup(test_notify_reload, setup),
		cmocka_unit_test_setup(test_notify_ready, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
