/*
 * eirc-irc-client: one web session's IRC process. Reads its identity from
 * the command line and its configuration file, builds the session on the
 * gateway's socket (fd 3), confines itself, and runs the loop until the
 * session ends. Everything else is in the ircc_* library.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
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
		char *const args[] = { (char *)"true", NULL };
		execve("/bin/true", args, args + 1);
		_exit(3); /* execve failed without killing us: no filter */
	}
}
#endif

static int run(const struct ircc_ident *id)
{
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	struct ircc_app *app;
	const char *why = NULL;

	int err = eirc_config_load(id->config_path, &cfg, &errs);
	if (err < 0) {
		if (errs)
			eirc_config_errors_print(errs, stderr);
		eirc_config_errors_free(errs);
		log_error("Failed to load the configuration %s: %s", id->config_path, strerror(-err));
		return 1;
	}
	eirc_config_log_setup(cfg, "eirc-irc-client");
	err = ircc_app_new(cfg, id, IRCC_BROWSER_FD, &app, &why);
	if (err < 0) {
		log_error("Failed to start the session of %s: %s", id->nick, why);
		eirc_config_free(cfg);
		return 1;
	}
	if (cfg->irc_client.sandbox) {
		const eirc_config_irc_client_t *ic = &cfg->irc_client;
		struct ircc_sandbox_opts so = { ic->sandbox_user, ic->rlimit_as, ic->rlimit_nofile,
			                        ic->rlimit_nproc };
		if (ircc_sandbox_apply(&so, &why) < 0) {
			log_error("Failed to sandbox the session of %s: %s", id->nick, why);
			return 1;
		}
	}
#ifdef IRCC_TEST_HOOKS
	test_hook_forbidden_syscall();
#endif
	/* Start-up (config parsing, name resolution, the filter build) left
	 * free heap behind: give it back, thousands of us run at once. */
	malloc_trim(0);
	int code = ircc_app_run(app);
	eirc_config_free(cfg);
	return code;
}

int main(int argc, char **argv)
{
	struct ircc_ident id;
	char err[160];

	signal(SIGPIPE, SIG_IGN);
	/* A POSIX TZ string: the C library never opens /etc/localtime (which
	 * the sandbox forbids) for a time conversion. Log times are UTC. */
	setenv("TZ", "UTC0", 1);
	tzset();
	log_setup("eirc-irc-client", LOG_INFO, LOG_FORMAT_TEXT, 2);
	if (ircc_ident_parse(argc, argv, &id, err, sizeof(err)) < 0) {
		log_error("Invalid command line: %s", err);
		return 2;
	}
	int code;
	switch (id.action) {
	case IRCC_HELP:
		ircc_ident_usage(argv[0], stdout);
		code = 0;
		break;
	case IRCC_VERSION:
		printf("eirc-irc-client %s\n", EIRC_VERSION);
		code = 0;
		break;
	case IRCC_CHECK_CONFIG:
		code = eirc_config_check_main(id.config_path, stdout, stderr);
		break;
	default:
		code = run(&id);
		break;
	}
	ircc_ident_clear(&id);
	return code;
}
