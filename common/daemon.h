/*
 * daemon: the skeleton every eIRC program shares, written once: the
 * command line (-c/--config, --check-config, -h/--help, -V/--version, plus
 * a program's own options or subcommands through hooks), the config load
 * and log set-up, the libuv loop, SIGINT/SIGTERM (SIGPIPE ignored), a
 * bounded drain at stop, and the exit status. A main.c is a table
 * (eirc_daemon_def_t) and a few hooks into its library:
 *
 *     static const eirc_daemon_def_t def = {
 *         .prog = "eirc-history", .about = "...", .sections = "...",
 *         .start = start, .stop = stop, .end = end,
 *     };
 *     int main(int argc, char **argv) { return eirc_daemon_main(&def, &state, argc, argv); }
 *
 * The run, in order: parse the command line (answering --help, --version
 * and --check-config at once), load the config (every error printed),
 * set up logging as def->prog, ignore SIGPIPE, then either run the
 * subcommand (def->command) or: init the loop and the signal handlers,
 * start (def->start), uv_run until every handle of the program is closed,
 * end (def->end: free what is left), close the loop.
 *
 * Under systemd (Type=notify, $NOTIFY_SOCKET; common/notify.h) it sends
 * READY=1 once def->start returned 0 and def->not_ready says ready, STOPPING=1 at the first SIGINT
 * or SIGTERM, and RELOADING=1 then READY=1 around a reload: SIGHUP reads the config file again with
 * the same checks as at start and, only when it loads without error, applies its log section and
 * def->reload; an invalid file changes nothing (logged, and in systemctl status).
 *
 * The first SIGINT or SIGTERM calls def->stop, which begins a graceful stop
 * (the program closes its handles when done); further signals are logged
 * and ignored. With def->drain_ms, def->close is called that long after
 * the stop when the loop still runs: the program closes the rest at once.
 * The signal handlers and the drain timer never keep the loop alive
 * (uv_unref): the loop ends when the program's own handles are closed,
 * whether after a signal or on its own (an irc-client whose session ended).
 *
 * Not here: what a program does, and its log lines (the hooks log).
 */
#ifndef EIRC_DAEMON_H
#define EIRC_DAEMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "common/err.h"
#include "config/config.h"

/* The exit statuses of every eIRC program (eirc-config's --check too). */
#define EIRC_EXIT_OK 0 /* stopped cleanly; --help, --version, a valid --check-config */
#define EIRC_EXIT_FAILURE                                                                          \
	1                 /* the config does not load; start-up or a runtime failure;              \
			   * handles left open at exit */
#define EIRC_EXIT_USAGE 2 /* a bad command line (the reason and the usage on stderr) */

/* Config file used without -c/--config: $EIRC_CONFIG when set and not
 * empty, else this. */
#define EIRC_DAEMON_CONFIG_DEFAULT "config/eirc.yaml"

/* How often not_ready is asked before READY=1, and for how long at most. */
#define EIRC_DAEMON_READY_POLL_MS 100
#define EIRC_DAEMON_READY_WAIT_MS 30000

/* Most extra options one program adds to ours; past it every command line
 * of the program is a usage error. */
#define EIRC_DAEMON_OPTS_MAX 28

/* Extra options a program takes (eirc-irc-client's identity). */
typedef struct eirc_daemon_opts {
	/* {NULL}-terminated. A val that is a printable character is also its
	 * short option (not c, h or V); others must be >= 256. */
	const struct option *options;
	/* Usage lines of these options, for --help (ending in \n). */
	const char *usage;
	/* One option of the table with its argument (NULL for no_argument).
	 * Returns 0, or -EINVAL with the reason in out_err. */
	int (*apply)(void *app, int opt, const char *arg, eirc_err_t *out_err);
	/* After the last option, before the config loads (required options);
	 * NULL for none. Returns 0, or -EINVAL with the reason in out_err. */
	int (*done)(void *app, eirc_err_t *out_err);
} eirc_daemon_opts_t;

typedef struct eirc_daemon eirc_daemon_t;

/* What a program is: the table its main.c passes to eirc_daemon_main. */
typedef struct eirc_daemon_def {
	const char *prog;               /* "eirc-logger": usage, --version, log lines */
	const char *about;              /* what it does, for --help (lines ending in \n) */
	const char *sections;           /* config sections it reads, for --help, or NULL */
	const eirc_daemon_opts_t *opts; /* extra options, or NULL */

	/* Subcommands (eirc-auth's admin commands), or NULL. With it, the
	 * first operand ends the options: `prog [OPTIONS] COMMAND ARGS...`
	 * runs command with the loaded config instead of the daemon; it
	 * returns the exit status. Without it, an operand is a usage error. */
	int (*command)(void *app, const eirc_config_t *cfg, int argc, char **argv);
	/* Prints the subcommands' usage after the options in --help. */
	void (*command_usage)(FILE *out);

	/* Starts the program on eirc_daemon_loop(d). Returns 0, or a negative
	 * errno after logging why and closing (or beginning to close) what it
	 * opened; the loop then runs until those handles are closed, end is
	 * called and the exit status is EIRC_EXIT_FAILURE. */
	int (*start)(void *app, eirc_daemon_t *d);
	/* The first SIGINT/SIGTERM: begin a graceful stop. */
	void (*stop)(void *app);
	/* drain_ms after stop, if the loop still runs: close everything now.
	 * NULL: none (the program bounds its own stop). */
	void (*close)(void *app);
	/* After the loop ended (every handle closed), before uv_loop_close:
	 * frees what is left. Returns the program's exit status (EIRC_EXIT_OK
	 * or EIRC_EXIT_FAILURE). NULL: EIRC_EXIT_OK. */
	int (*end)(void *app);
	uint64_t drain_ms; /* 0: no bound (close is never called) */
	/* SIGHUP (`systemctl reload`) after the config file loaded again
	 * without error: applies what the program can take at once from cfg
	 * (which is freed after the call: copy what is kept). Returns 0, or a
	 * negative errno with the reason in out_err (nothing applied). NULL:
	 * only the log section applies. */
	int (*reload)(void *app, const eirc_config_t *cfg, eirc_err_t *out_err);
	/* What a reload applies, for its log line ("the log section and ..."). */
	const char *reload_applies;
	/* After start: NULL when the program can do its work now (listeners
	 * bound, first connections made), else why not. With it, systemd's
	 * READY=1 waits for NULL, asked every EIRC_DAEMON_READY_POLL_MS, at
	 * most ready_wait_ms (0: EIRC_DAEMON_READY_WAIT_MS), then is sent all
	 * the same with the reason in STATUS= (a unit that never starts helps
	 * nobody; /readyz keeps saying 503). NULL: READY=1 right after start. */
	const char *(*not_ready)(void *app);
	uint64_t ready_wait_ms;
	/* Where the config's ${NAME} references are read: the value of name,
	 * or NULL when not set. NULL: the environment, then
	 * $CREDENTIALS_DIRECTORY/NAME (common/cred.h; eirc-irc-client reads
	 * the table the gateway handed it instead). */
	const char *(*var)(void *app, const char *name);
	/* What the program reads of the config (eirc_config_vars_t.keys):
	 * a ${NAME} unset elsewhere does not stop it (each unit gets only
	 * its own credentials). NULL: every key. */
	const char *const *keys;
	/* The config's text when the program was handed it (eirc-irc-client:
	 * the gateway's copy), or NULL: the file named by -c is read. Errors
	 * still name that path. */
	const char *(*config_text)(void *app, size_t *out_len);
	/* Keep the config's text in eirc_config_t.source after loading (the
	 * gateway, for its irc-clients); otherwise it is freed at once: no
	 * other program needs it, and thousands of irc-clients run at once. */
	bool keep_config_text;
} eirc_daemon_def_t;

/* The command line, parsed. */
typedef struct eirc_daemon_args {
	const char *config_path; /* -c/--config, else EIRC_DAEMON_CONFIG_DEFAULT's rule */
	int argc;                /* the subcommand and its arguments (0: none) */
	char **argv;
} eirc_daemon_args_t;

/*
 * The main() of a program: see the top of this file. `app` is passed to
 * every hook. Returns the process exit status (EIRC_EXIT_*, or what
 * def->command or def->end returned).
 */
int eirc_daemon_main(const eirc_daemon_def_t *def, void *app, int argc, char **argv);

/*
 * The command-line step alone (for a program that runs no loop, such as
 * eirc-stack): parses argv with getopt_long (resets optind). Returns true
 * and fills *out when the program is to run. Returns false and sets
 * *out_status when it is done: --help and --version answered on stdout
 * (EIRC_EXIT_OK), --check-config answered (its status), or a bad command
 * line (the reason and the usage on stderr, EIRC_EXIT_USAGE).
 */
bool eirc_daemon_args(const eirc_daemon_def_t *def, void *app, int argc, char **argv,
		      eirc_daemon_args_t *out, int *out_status);

/*
 * Loads the config at path, ${NAME} from the environment then
 * $CREDENTIALS_DIRECTORY, each required (def->var and def->keys are
 * eirc_daemon_main's). Returns 0 and *out_cfg (eirc_config_free), or a
 * negative errno after printing every error (or "prog: cannot load
 * path") to stderr.
 */
int eirc_daemon_config_load(const eirc_daemon_def_t *def, const char *path,
			    eirc_config_t **out_cfg);

/* Prints the usage text (--help). */
void eirc_daemon_usage(const eirc_daemon_def_t *def, FILE *out);

/* For the hooks: the loop, the loaded config and the file it came from. */
uv_loop_t *eirc_daemon_loop(eirc_daemon_t *d);
const eirc_config_t *eirc_daemon_config(const eirc_daemon_t *d);
const char *eirc_daemon_config_path(const eirc_daemon_t *d);

#endif
