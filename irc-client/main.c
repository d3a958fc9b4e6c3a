/*
 * eirc-irc-client: one web session's IRC process. The program's table for
 * common/daemon (command line with the identity options of ircc_ident,
 * config, loop, signals) and its hooks: take the config's ${NAME} values
 * from the gateway's pipe (fd 4) before the config loads, build the
 * session on the gateway's socket (fd 3), confine itself, run until the
 * session ends. Everything else is in the ircc_* library.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/vars.h"
#include "irc-client/ircc_app.h"
#include "irc-client/ircc_ident.h"
#include "irc-client/ircc_sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's exit-time scan needs ptrace and clone, which the seccomp
 * filter forbids: it is off in this process (the unit tests cover leaks). */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}
#endif

#ifdef IRCC_TEST_HOOKS
/* Test build only (eirc-irc-client-testhooks): proves the seccomp filter
 * is active by making a forbidden system call once it is installed. The
 * production binary has no such code path at all. */
static void test_hook_forbidden_syscall(void)
{
	const char *v = getenv("EIRC_IRCC_TEST_FORBIDDEN_SYSCALL");

	if (v && strcmp(v, "execve") == 0) {
		char *const args[] = {(char *)"true", NULL};
		execve("/bin/true", args, args + 1);
		_exit(3); /* execve failed without killing us: no filter */
	}
}
#endif

/* The app of main(); id first: it is ircc_ident_opts's app too. */
typedef struct irc_client {
	ircc_ident_t id;
	ircc_app_t *app;
	vars_t vars;  /* the config's ${NAME} values, until the config is loaded */
	char *config; /* the config's text from IRCC_CONFIG_FD, until loaded */
	size_t config_len;
} irc_client_t;

/*
 * The table the gateway writes on IRCC_VARS_FD, read to EOF; the pipe is
 * closed. No fd 4 (started by hand, --help): an empty table, and a config
 * with a ${NAME} reference does not load. Never the environment: the
 * gateway puts no secret there.
 */
static int vars_take(vars_t *out)
{
	struct stat st;
	int r;

	if (fstat(IRCC_VARS_FD, &st) < 0)
		return errno == EBADF ? 0 : -errno;
	if (!S_ISFIFO(st.st_mode))
		r = -ENOTSUP; /* not the gateway's pipe: never wait on it */
	else
		r = vars_read(IRCC_VARS_FD, out);
	close(IRCC_VARS_FD);
	return r;
}

/*
 * The config's text from the gateway's memfd on IRCC_CONFIG_FD (sealed, so
 * its size is its length; pread, since every irc-client shares its file
 * offset); the descriptor is closed. No fd 5 (started by hand): *out stays
 * NULL and the file named by --config is read.
 */
static int config_take(char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int r = 0;

	if (fstat(IRCC_CONFIG_FD, &st) < 0)
		return errno == EBADF ? 0 : -errno;
	if (!S_ISREG(st.st_mode))
		r = -ENOTSUP; /* not the gateway's memfd */
	else if (st.st_size > CONFIG_INPUT_MAX)
		r = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	while (r == 0 && got < (size_t)st.st_size) {
		n = pread(IRCC_CONFIG_FD, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	close(IRCC_CONFIG_FD);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = got;
	return 0;
}

static const char *config_text(void *app, size_t *out_len)
{
	irc_client_t *m = app;

	*out_len = m->config_len;
	return m->config;
}

static const char *var(void *app, const char *name)
{
	return vars_get(&((irc_client_t *)app)->vars, name);
}

static int start(void *app, eirc_daemon_t *d)
{
	irc_client_t *m = app;
	const eirc_config_t *cfg = eirc_daemon_config(d);
	eirc_err_t err;
	const char *why = NULL;
	int r;

	vars_clear(&m->vars); /* the config holds what it needs: wipe the rest */
	free(m->config);
	m->config = NULL;
	r = ircc_app_new(eirc_daemon_loop(d), cfg, &m->id, IRCC_BROWSER_FD, &m->app, &err);
	if (r < 0) {
		log_error("Failed to start the session of %s: %s", m->id.nick, err.text);
		return r;
	}
	if (cfg->irc_client.sandbox) {
		const eirc_config_irc_client_t *ic = &cfg->irc_client;
		ircc_sandbox_opts_t so = {ic->sandbox_user, ic->rlimit_as, ic->rlimit_nofile,
					  ic->rlimit_nproc};
		if ((r = ircc_sandbox_apply(&so, &why)) < 0) {
			log_error("Failed to sandbox the session of %s: %s", m->id.nick, why);
			ircc_app_stop(m->app);
			return r;
		}
	}
#ifdef IRCC_TEST_HOOKS
	test_hook_forbidden_syscall();
#endif
	/* Start-up (config parsing, name resolution, the filter build) left
	 * free heap behind: give it back, thousands of us run at once. */
	malloc_trim(0);
	ircc_app_start(m->app);
	return 0;
}

static void stop(void *app)
{
	ircc_app_stop(((irc_client_t *)app)->app);
}

static int end(void *app)
{
	irc_client_t *m = app;
	int code = m->app ? ircc_app_exit_code(m->app) : EIRC_EXIT_FAILURE;

	ircc_app_free(m->app);
	m->app = NULL;
	return code;
}

int main(int argc, char **argv)
{
	static const eirc_daemon_def_t def = {
		.prog = "eirc-irc-client",
		.about = "One eIRC web session: the gateway starts it with the browser's socket\n"
			 "on fd 3; it registers to the IRC server as the user and relays lines\n"
			 "through its policy. The config's text comes from the gateway's memfd\n"
			 "on fd 5 (without it: the --config file), its ${NAME} values from the\n"
			 "gateway's pipe on fd 4.\n",
		.sections = "irc, irc_client, history, log. See docs/irc-client.md",
		.opts = &ircc_ident_opts,
		.start = start,
		.stop = stop,
		.end = end,
		.var = var,
		.config_text = config_text,
	};
	irc_client_t m = {.app = NULL, .vars = VARS_INIT};
	int r = vars_take(&m.vars), rc = config_take(&m.config, &m.config_len);

	/* A POSIX TZ string: the C library never opens /etc/localtime (which
	 * the sandbox forbids) for a time conversion. Log times are UTC. */
	setenv("TZ", "UTC0", 1);
	tzset();
	log_setup("eirc-irc-client", LOG_INFO, LOG_FORMAT_TEXT, 2);
	if (r < 0) {
		log_error("Failed to read the variables on fd %d: %s", IRCC_VARS_FD, strerror(-r));
		return EIRC_EXIT_FAILURE;
	}
	if (rc < 0) {
		log_error("Failed to read the config on fd %d: %s", IRCC_CONFIG_FD, strerror(-rc));
		vars_clear(&m.vars);
		return EIRC_EXIT_FAILURE;
	}
	int code = eirc_daemon_main(&def, &m, argc, argv);
	vars_clear(&m.vars);
	free(m.config);
	ircc_ident_clear(&m.id);
	return code;
}
