/*
 * gw_spawn: irc-client processes. See gw_spawn.h.
 */
#include "gateway/gw_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"

static const char *const child_sections[] = {"irc", "irc_client", "history", "log"};
static const char *const passed_vars[] = {"PATH",         "TZ",
					  "LANG",         "LC_ALL",
					  "ASAN_OPTIONS", "UBSAN_OPTIONS",
					  "LSAN_OPTIONS", "EIRC_WEBIRC_PASSWORD"};

typedef struct env_build {
	gw_spawn_cfg_t *c;
	size_t n;
	bool overflow;
} env_build_t;

static int env_find(gw_spawn_cfg_t *c, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(c->env[i], name, len) && c->env[i][len] == '=')
			return (int)i;
	return -1;
}

/* Sets NAME to its value (needs) or to GW_ENV_WITHHELD (not needed); a
 * needed reference wins over an unneeded one. */
static void env_add(env_build_t *b, const char *name, bool needs)
{
	const char *v = needs ? getenv(name) : GW_ENV_WITHHELD;
	int i = env_find(b->c, b->n, name);
	char *s;

	if (!v)
		return; /* unset: the child's loader will say so */
	if (i >= 0) {
		if (!needs)
			return;
		free(b->c->env[i]);
	} else if (b->n >= GW_ENV_MAX) {
		b->overflow = true;
		return;
	}
	if (!(s = malloc(strlen(name) + strlen(v) + 2))) {
		b->overflow = true;
		return;
	}
	sprintf(s, "%s=%s", name, v);
	b->c->env[i >= 0 ? (size_t)i : b->n++] = s;
}

static void env_needed(void *arg, const char *name)
{
	env_add(arg, name, true);
}

static void env_withheld(void *arg, const char *name)
{
	env_add(arg, name, false);
}

/* The passed variables, then every ${NAME} the config file references: the
 * value for the sections the child reads, GW_ENV_WITHHELD for the others
 * (the child loads the whole file, so each must be set). */
static int env_build(gw_spawn_cfg_t *c, const eirc_config_t *cfg, eirc_err_t *out_err)
{
	env_build_t b = {.c = c};

	for (size_t i = 0; i < sizeof(passed_vars) / sizeof(passed_vars[0]); i++)
		env_add(&b, passed_vars[i], true);
	if (env_find(c, b.n, "PATH") < 0 && b.n < GW_ENV_MAX)
		c->env[b.n++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin");
	for (size_t i = 0; i < sizeof(child_sections) / sizeof(child_sections[0]); i++)
		eirc_config_env_refs(cfg, child_sections[i], env_needed, &b);
	eirc_config_env_refs(cfg, NULL, env_withheld, &b);
	if (b.overflow)
		return eirc_err_set(out_err, -E2BIG,
				    "more than %d environment variables for "
				    "irc-clients",
				    GW_ENV_MAX);
	return 0;
}

/* Forks a probe that becomes the sandbox user (as uv_spawn will: no
 * supplementary groups) and tries to read the config and run the binary. */
static int probe_as_user(const gw_spawn_cfg_t *c, const char *user, eirc_err_t *out_err)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return eirc_err_set(out_err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd;
		if (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0)
			_exit(10);
		if ((fd = open(c->config_path, O_RDONLY | O_CLOEXEC)) < 0)
			_exit(11);
		if (access(c->irc_client_path, X_OK) < 0)
			_exit(12);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 11)
		return eirc_err_set(out_err, -EACCES,
				    "irc_client.sandbox_user %s cannot read "
				    "the config file %s (irc-clients run as that user)",
				    user, c->config_path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 12)
		return eirc_err_set(out_err, -EACCES,
				    "irc_client.sandbox_user %s cannot "
				    "execute %s",
				    user, c->irc_client_path);
	return eirc_err_set(out_err, -EPERM, "cannot switch to irc_client.sandbox_user %s", user);
}

static int resolve_binary(gw_spawn_cfg_t *c, const char *configured, const char *self_exe,
			  eirc_err_t *out_err)
{
	char buf[PATH_MAX], *slash;

	if (configured) {
		snprintf(buf, sizeof(buf), "%s", configured);
	} else {
		snprintf(buf, sizeof(buf), "%s", self_exe);
		slash = strrchr(buf, '/');
		if (!slash)
			return eirc_err_set(out_err, -ENOENT,
					    "cannot locate eirc-irc-client: "
					    "set gateway.irc_client_path");
		snprintf(slash + 1, sizeof(buf) - (size_t)(slash + 1 - buf), "eirc-irc-client");
		/* build tree: gateway/ and irc-client/ are siblings */
		if (access(buf, X_OK) < 0) {
			snprintf(slash + 1, sizeof(buf) - (size_t)(slash + 1 - buf),
				 "../irc-client/eirc-irc-client");
		}
	}
	if (!(c->irc_client_path = realpath(buf, NULL)) || access(c->irc_client_path, X_OK) < 0)
		return eirc_err_set(out_err, -ENOENT, "cannot execute the irc-client %s: %s", buf,
				    strerror(errno));
	return 0;
}

int gw_spawn_cfg_init(gw_spawn_cfg_t *c, const eirc_config_t *cfg, const char *config_path,
		      const char *self_exe, eirc_err_t *out_err)
{
	const char *sandbox_user = cfg->irc_client.sandbox_user;
	struct passwd *pw;
	int r;

	if ((r = resolve_binary(c, cfg->gateway.irc_client_path, self_exe, out_err)) < 0)
		return r;
	if (!(c->config_path = realpath(config_path, NULL)))
		return eirc_err_set(out_err, -errno, "cannot resolve %s: %s", config_path,
				    strerror(errno));
	if ((r = env_build(c, cfg, out_err)) < 0)
		return r;
	if (geteuid() != 0)
		return 0;
	if (!sandbox_user || !(pw = getpwnam(sandbox_user)))
		return eirc_err_set(out_err, -ENOENT,
				    "irc_client.sandbox_user %s does not exist "
				    "(irc-clients never run as root)",
				    sandbox_user ? sandbox_user : "");
	if (pw->pw_uid == 0)
		return eirc_err_set(out_err, -EPERM, "irc_client.sandbox_user must not be root");
	c->drop_privileges = true;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return probe_as_user(c, sandbox_user, out_err);
}

void gw_spawn_cfg_clear(gw_spawn_cfg_t *c)
{
	free(c->irc_client_path);
	free(c->config_path);
	for (size_t i = 0; i < GW_ENV_MAX && c->env[i]; i++) {
		explicit_bzero(c->env[i], strlen(c->env[i]));
		free(c->env[i]);
	}
	memset(c, 0, sizeof(*c));
}

/* The process contract of docs/irc-client.md; argv holds up to 16. */
static void spawn_argv(const gw_spawn_cfg_t *c, const gw_identity_t *id, const char *client_ip,
		       char uid[24], char *argv[16])
{
	int n = 0;

	snprintf(uid, 24, "%" PRIu64, id->user_id);
	argv[n++] = c->irc_client_path;
	argv[n++] = (char *)"--config";
	argv[n++] = c->config_path;
	argv[n++] = (char *)"--user-id";
	argv[n++] = uid;
	argv[n++] = (char *)"--nick";
	argv[n++] = (char *)id->nick;
	argv[n++] = (char *)"--client-ip";
	argv[n++] = (char *)client_ip;
	if (id->display_name[0]) {
		argv[n++] = (char *)"--display-name";
		argv[n++] = (char *)id->display_name;
	}
	if (id->autojoin) {
		argv[n++] = (char *)"--rooms";
		argv[n++] = id->autojoin;
	}
	if (id->private_rooms) {
		argv[n++] = (char *)"--private-rooms";
		argv[n++] = id->private_rooms;
	}
	argv[n] = NULL;
}

int gw_spawn_start(uv_loop_t *loop, const gw_spawn_cfg_t *c, const gw_identity_t *id,
		   const char *client_ip, uv_process_t *proc, uv_exit_cb exit_cb, int *out_fd,
		   bool *out_proc_open)
{
	char uid[24], *argv[16];
	int sv[2], r;
	uv_process_options_t o;
	uv_stdio_container_t stdio[4];

	*out_proc_open = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	spawn_argv(c, id, client_ip, uid, argv);
	stdio[0].flags = UV_IGNORE; /* libuv opens /dev/null */
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 2;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = sv[1];
	memset(&o, 0, sizeof(o));
	o.file = c->irc_client_path;
	o.args = argv;
	o.env = (char **)c->env;
	o.exit_cb = exit_cb;
	o.stdio = stdio;
	o.stdio_count = 4;
	if (c->drop_privileges) {
		o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		o.uid = c->uid;
		o.gid = c->gid;
	}
	/*
	 * libwebsockets 4.1 opens its sockets (listeners, accepted browsers)
	 * without close-on-exec; so that no child ever inherits another
	 * session's socket, mark every descriptor above stderr close-on-exec
	 * right before the fork (libuv's dup2 onto fd 3 clears it there).
	 */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	r = uv_spawn(loop, proc, &o);
	*out_proc_open = true;
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	*out_fd = sv[0];
	return 0;
}
