/*
 * daemon: the shared program skeleton (see daemon.h).
 */
#include "common/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/notify.h"

enum { OPT_CHECK = 'C' };

static const struct option daemon_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"check-config", required_argument, NULL, OPT_CHECK},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
};
#define DAEMON_OPTIONS_N (sizeof(daemon_options) / sizeof(daemon_options[0]))
/* One table of ours and a program's, with the {NULL} end. */
#define DAEMON_TABLE_MAX (DAEMON_OPTIONS_N + EIRC_DAEMON_OPTS_MAX + 1)

struct eirc_daemon {
	const eirc_daemon_def_t *def;
	void *app;
	const eirc_config_t *cfg;
	const char *config_path;
	eirc_config_vars_t vars;
	uv_loop_t loop;
	uv_signal_t sigint, sigterm, sighup;
	uv_timer_t drain;
	uv_timer_t ready; /* asks def->not_ready until READY=1 */
	uint64_t ready_since;
	bool stopping;
};

void eirc_daemon_usage(const eirc_daemon_def_t *def, FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS]%s\n%s\n"
		"Options:\n"
		"  -c, --config FILE        configuration (default $EIRC_CONFIG or\n"
		"                           " EIRC_DAEMON_CONFIG_DEFAULT ")\n"
		"      --check-config FILE  validate FILE as this program reads it (its\n"
		"                           sections; ${NAME} from the environment or\n"
		"                           $CREDENTIALS_DIRECTORY), print the effective config\n"
		"  -h, --help               this help\n"
		"  -V, --version            print the version\n",
		def->prog, def->command ? " [COMMAND ...]" : "", def->about);
	if (def->opts && def->opts->usage)
		fputs(def->opts->usage, out);
	if (def->command_usage) {
		fputc('\n', out);
		def->command_usage(out);
	}
	if (def->sections)
		fprintf(out, "\nSections used: %s.\n", def->sections);
}

/* Our options followed by the program's, and the short ones getopt is to
 * know ("+" first with subcommands: the first operand ends the options;
 * ":" to tell a missing value from an unknown option); false when they do
 * not fit. */
static bool options_merge(const eirc_daemon_def_t *def, struct option *all, char *shorts,
			  size_t shorts_cap)
{
	size_t n = DAEMON_OPTIONS_N, o;

	memcpy(all, daemon_options, sizeof(daemon_options));
	o = (size_t)snprintf(shorts, shorts_cap, "%s:c:hV", def->command ? "+" : "");
	for (const struct option *p = def->opts ? def->opts->options : NULL; p && p->name; p++) {
		if (n - DAEMON_OPTIONS_N == EIRC_DAEMON_OPTS_MAX || o + 3 >= shorts_cap)
			return false;
		all[n++] = *p;
		if (p->val > ' ' && p->val < 127) {
			shorts[o++] = (char)p->val;
			if (p->has_arg == required_argument)
				shorts[o++] = ':';
			shorts[o] = '\0';
		}
	}
	all[n] = (struct option){NULL, 0, NULL, 0};
	return true;
}

static bool usage_error(const eirc_daemon_def_t *def, const char *why, int *out_status)
{
	fprintf(stderr, "%s: %s\n", def->prog, why);
	eirc_daemon_usage(def, stderr);
	*out_status = EIRC_EXIT_USAGE;
	return false;
}

/* The option getopt refused, for the message. */
static const char *bad_option(int argc, char **argv)
{
	int i = optind - 1;

	return i > 0 && i < argc ? argv[i] : "?";
}

static const char *config_default(void)
{
	const char *env = getenv("EIRC_CONFIG");

	return env && *env ? env : EIRC_DAEMON_CONFIG_DEFAULT;
}

bool eirc_daemon_args(const eirc_daemon_def_t *def, void *app, int argc, char **argv,
		      eirc_daemon_args_t *out, int *out_status)
{
	struct option all[DAEMON_TABLE_MAX];
	char shorts[2 * DAEMON_TABLE_MAX + 8];
	eirc_daemon_args_t a = {config_default(), 0, NULL};
	eirc_config_vars_t check_vars = {NULL, NULL, def->keys};
	eirc_err_t err = {""};
	char why[EIRC_ERR_MAX + 64];
	int c;

	if (!options_merge(def, all, shorts, sizeof(shorts)))
		return usage_error(def, "more extra options than EIRC_DAEMON_OPTS_MAX", out_status);
	optind = 0; /* GNU getopt: start afresh (also initialises it) */
	opterr = 0;
	/* "+": with subcommands, the first operand ends the options */
	while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		switch (c) {
		case 'c':
			a.config_path = optarg;
			break;
		case OPT_CHECK: /* as this program reads it: its keys, its credentials */
			*out_status = eirc_config_check_main(optarg, &check_vars, stdout, stderr);
			return false;
		case 'h':
			eirc_daemon_usage(def, stdout);
			*out_status = EIRC_EXIT_OK;
			return false;
		case 'V':
			printf("%s %s\n", def->prog, EIRC_VERSION);
			*out_status = EIRC_EXIT_OK;
			return false;
		case ':':
			snprintf(why, sizeof(why), "option %s needs a value",
				 bad_option(argc, argv));
			return usage_error(def, why, out_status);
		case '?':
			snprintf(why, sizeof(why), "unknown option %s", bad_option(argc, argv));
			return usage_error(def, why, out_status);
		default:
			if (def->opts->apply(app, c, optarg, &err) < 0)
				return usage_error(def, err.text, out_status);
			break;
		}
	}
	if (optind < argc && !def->command) {
		snprintf(why, sizeof(why), "unexpected argument %s", argv[optind]);
		return usage_error(def, why, out_status);
	}
	if (def->opts && def->opts->done && def->opts->done(app, &err) < 0)
		return usage_error(def, err.text, out_status);
	a.argc = argc - optind;
	a.argv = a.argc > 0 ? argv + optind : NULL;
	*out = a;
	return true;
}

/* eirc_daemon_config_load, ${NAME} read through vars (NULL: the
 * environment, then $CREDENTIALS_DIRECTORY), from text (NULL: the file at path). */
static int config_load(const eirc_daemon_def_t *def, const eirc_config_vars_t *vars,
		       const char *path, const char *text, size_t text_len, eirc_config_t **out_cfg)
{
	eirc_config_errors_t *errs = NULL;
	int r = text ? eirc_config_load_buffer_vars(path, text, text_len, vars, out_cfg, &errs)
		     : eirc_config_load_vars(path, vars, out_cfg, &errs);

	if (r < 0) {
		if (errs)
			eirc_config_errors_print(errs, stderr);
		else
			fprintf(stderr, "%s: cannot load %s: %s\n", def->prog, path, strerror(-r));
		eirc_config_errors_free(errs);
	}
	return r;
}

int eirc_daemon_config_load(const eirc_daemon_def_t *def, const char *path, eirc_config_t **out_cfg)
{
	return config_load(def, NULL, path, NULL, 0, out_cfg);
}

uv_loop_t *eirc_daemon_loop(eirc_daemon_t *d)
{
	return &d->loop;
}

const eirc_config_t *eirc_daemon_config(const eirc_daemon_t *d)
{
	return d->cfg;
}

const char *eirc_daemon_config_path(const eirc_daemon_t *d)
{
	return d->config_path;
}

/* ---- the loop ---- */

static void on_drain(uv_timer_t *t)
{
	eirc_daemon_t *d = t->data;

	log_warn("Still stopping after %llu ms: closing what is left",
		 (unsigned long long)d->def->drain_ms);
	d->def->close(d->app);
}

/* Tells systemd (Type=notify) what we do; outside systemd, nothing. */
static void notify(const eirc_daemon_t *d, const char *state)
{
	int r = notify_send(state);

	if (r < 0)
		log_warn("Failed to notify systemd (%s): %s, ignoring", state, strerror(-r));
}

/* READY=1 once the program says it is ready, or after ready_wait_ms. */
static void on_ready_poll(uv_timer_t *t)
{
	eirc_daemon_t *d = t->data;
	uint64_t wait = d->def->ready_wait_ms ? d->def->ready_wait_ms : EIRC_DAEMON_READY_WAIT_MS;
	const char *why = d->stopping ? NULL : d->def->not_ready(d->app);
	char state[256];

	if (d->stopping || !why) {
		if (!d->stopping)
			notify(d, "READY=1\nSTATUS=Ready");
		uv_timer_stop(t);
	} else if (uv_now(&d->loop) - d->ready_since >= wait) {
		log_warn("Not ready after %llu ms (%s): telling systemd it started all the same",
			 (unsigned long long)wait, why);
		snprintf(state, sizeof(state), "READY=1\nSTATUS=Started, not ready: %s", why);
		notify(d, state);
		uv_timer_stop(t);
	}
}

static void ready_begin(eirc_daemon_t *d)
{
	if (!d->def->not_ready) {
		notify(d, "READY=1"); /* listeners bound, first connections begun */
		return;
	}
	d->ready_since = uv_now(&d->loop);
	uv_timer_start(&d->ready, on_ready_poll, 0, EIRC_DAEMON_READY_POLL_MS);
}

/* SIGHUP (`systemctl reload`): the config file read and checked again as
 * at start; valid, its log section and what def->reload takes apply now,
 * the rest at the next start; invalid, nothing changes. */
static void on_reload(uv_signal_t *s, int signum)
{
	eirc_daemon_t *d = s->data;
	eirc_config_t *cfg = NULL;
	eirc_err_t err = {""};
	int r;

	(void)signum;
	if (d->stopping || d->def->config_text) {
		log_info("Reload: ignored (%s)", d->stopping ? "stopping" : "no config file");
		return;
	}
	notify(d, "RELOADING=1");
	if (config_load(d->def, &d->vars, d->config_path, NULL, 0, &cfg) < 0) {
		log_error("Reload refused: %s does not load (errors above); the running "
			  "config stays",
			  d->config_path);
		notify(d, "READY=1\nSTATUS=Reload refused: the config does not load");
		return;
	}
	r = d->def->reload ? d->def->reload(d->app, cfg, &err) : 0;
	if (r < 0) {
		log_error("Reload refused: %s; the running config stays", err.text);
		notify(d, "READY=1\nSTATUS=Reload refused");
	} else {
		eirc_config_log_setup(cfg, d->def->prog);
		log_info("Reloaded %s: %s", d->config_path,
			 d->def->reload_applies
				 ? d->def->reload_applies
				 : "the log section now, the rest at the next start");
		notify(d, "READY=1\nSTATUS=Reloaded");
	}
	eirc_config_free(cfg);
}

static void on_signal(uv_signal_t *s, int signum)
{
	eirc_daemon_t *d = s->data;

	if (d->stopping) {
		log_info("Signal %d: already stopping", signum);
		return;
	}
	d->stopping = true;
	log_info("Signal %d: stopping", signum);
	notify(d, "STOPPING=1");
	if (d->def->drain_ms && d->def->close)
		uv_timer_start(&d->drain, on_drain, d->def->drain_ms, 0);
	d->def->stop(d->app);
}

/* Our handles, none of which keeps the loop alive. */
static void handles_init(eirc_daemon_t *d)
{
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sighup);
	uv_timer_init(&d->loop, &d->drain);
	uv_timer_init(&d->loop, &d->ready);
	d->sigint.data = d->sigterm.data = d->sighup.data = d->drain.data = d->ready.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sighup, on_reload, SIGHUP);
	uv_unref((uv_handle_t *)&d->sigint);
	uv_unref((uv_handle_t *)&d->sigterm);
	uv_unref((uv_handle_t *)&d->sighup);
	uv_unref((uv_handle_t *)&d->drain);
	uv_unref((uv_handle_t *)&d->ready);
}

static int daemon_run(eirc_daemon_t *d)
{
	int r, status;

	if ((r = uv_loop_init(&d->loop)) < 0) {
		log_error("Failed to start the loop: %s", uv_strerror(r));
		return EIRC_EXIT_FAILURE;
	}
	handles_init(d);
	r = d->def->start(d->app, d);
	if (r < 0)
		d->stopping = true; /* already closing: a signal has nothing to stop */
	else
		ready_begin(d);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->drain, NULL);
	uv_close((uv_handle_t *)&d->ready, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	status = d->def->end ? d->def->end(d->app) : EIRC_EXIT_OK;
	if (r < 0 && status == EIRC_EXIT_OK)
		status = EIRC_EXIT_FAILURE;
	if ((r = uv_loop_close(&d->loop)) < 0) {
		log_error("Handles left open at exit: %s", uv_strerror(r));
		if (status == EIRC_EXIT_OK)
			status = EIRC_EXIT_FAILURE;
	} else if (status == EIRC_EXIT_OK) {
		log_info("Stopped");
	}
	return status;
}

int eirc_daemon_main(const eirc_daemon_def_t *def, void *app, int argc, char **argv)
{
	eirc_daemon_args_t args;
	eirc_config_t *cfg = NULL;
	eirc_config_vars_t vars = {def->var, app, def->keys};
	const char *text = NULL;
	size_t text_len = 0;
	int status;

	if (!eirc_daemon_args(def, app, argc, argv, &args, &status))
		return status;
	if (def->config_text)
		text = def->config_text(app, &text_len);
	if (config_load(def, &vars, args.config_path, text, text_len, &cfg) < 0)
		return EIRC_EXIT_FAILURE;
	if (!def->keep_config_text)
		eirc_config_forget_source(cfg);
	eirc_config_log_setup(cfg, def->prog);
	/* a peer closing a socket must be an EPIPE, not our death */
	signal(SIGPIPE, SIG_IGN);
	if (args.argc > 0) {
		status = def->command(app, cfg, args.argc, args.argv);
	} else {
		eirc_daemon_t d = {.def = def,
				   .app = app,
				   .cfg = cfg,
				   .config_path = args.config_path,
				   .vars = vars};
		status = daemon_run(&d);
	}
	eirc_config_free(cfg);
	return status;
}
