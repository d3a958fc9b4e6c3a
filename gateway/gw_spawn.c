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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cred.h"
#include "config/config.h"

#define GW_CAPS_SWITCH (1U << CAP_SETUID | 1U << CAP_SETGID)

static const char *const child_keys[] = {GW_CHILD_KEYS};
static const char *const passed_vars[GW_ENV_PASSED] = {
	"PATH", "TZ", "LANG", "LC_ALL", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};

/* The environment: the passed variables that are set, PATH always. */
static int env_build(gw_spawn_cfg_t *c, eirc_err_t *out_err)
{
	size_t n = 0;

	for (size_t i = 0; i < GW_ENV_PASSED; i++) {
		const char *v = getenv(passed_vars[i]);
		if (!v)
			continue;
		if (!(c->env[n] = malloc(strlen(passed_vars[i]) + strlen(v) + 2)))
			return eirc_err_set(out_err, -ENOMEM, "out of memory");
		sprintf(c->env[n++], "%s=%s", passed_vars[i], v);
	}
	if (!getenv("PATH") && !(c->env[n++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin")))
		return eirc_err_set(out_err, -ENOMEM, "out of memory");
	return 0;
}

typedef struct vars_build {
	vars_t vars;
	const char *bad; /* the first name that could not be set */
	int r;
} vars_build_t;

/* Sets name to its value (needed) or to GW_ENV_WITHHELD (not needed, and
 * not already set by a key that needs it). */
static void vars_add(vars_build_t *b, const char *name, bool needed)
{
	char *cred = NULL;
	int r = 0;

	if (b->r < 0 || (!needed && vars_get(&b->vars, name)))
		return;
	/* the environment, then $CREDENTIALS_DIRECTORY, as the gateway's own
	 * load read it; unset: that load would have failed */
	if (needed && (r = cred_get(name, &cred)) == -ENOENT)
		return;
	if (r == 0)
		r = vars_set(&b->vars, name, needed ? cred : GW_ENV_WITHHELD);
	if (r < 0) {
		b->r = r;
		b->bad = name;
	}
	if (cred) {
		explicit_bzero(cred, strlen(cred));
		free(cred);
	}
}

static void vars_needed(void *arg, const char *name)
{
	vars_add(arg, name, true);
}

static void vars_withheld(void *arg, const char *name)
{
	vars_add(arg, name, false);
}

/* The text of fd 4: every ${NAME} the config file references, with its
 * value when a key the child reads references it, GW_ENV_WITHHELD
 * otherwise (the child loads the whole file, so each must be set). */
static int vars_build(gw_spawn_cfg_t *c, const eirc_config_t *cfg, eirc_err_t *out_err)
{
	vars_build_t b = {.vars = VARS_INIT};

	for (size_t i = 0; i < sizeof(child_keys) / sizeof(child_keys[0]); i++)
		eirc_config_env_refs(cfg, child_keys[i], vars_needed, &b);
	eirc_config_env_refs(cfg, NULL, vars_withheld, &b);
	if (b.r == 0)
		c->vars_len = vars_format(&b.vars, c->vars);
	vars_clear(&b.vars);
	if (b.r == -E2BIG)
		return eirc_err_set(out_err, b.r,
				    "more than %d variables or %d bytes for irc-clients "
				    "(GW_ENV_MAX, VARS_BYTES_MAX), at %s",
				    GW_ENV_MAX, VARS_BYTES_MAX, b.bad);
	if (b.r == -EINVAL)
		return eirc_err_set(out_err, b.r,
				    "the value of %s holds a newline: it cannot be handed to "
				    "irc-clients",
				    b.bad);
	if (b.r == -ENOMEM)
		return eirc_err_set(out_err, b.r, "out of memory");
	if (b.r < 0)
		return eirc_err_set(out_err, b.r, "cannot read %s for irc-clients: %s", b.bad,
				    strerror(-b.r));
	return 0;
}

/* The effective capabilities (the low 32, where CAP_KILL, CAP_SETUID and
 * CAP_SETGID are); all of them for root. */
static uint32_t caps_effective(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (geteuid() == 0)
		return ~0U;
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return d[0].effective;
}

/* The memfd of fd 5: the config's text, sealed against every change, so
 * that no child (they share it) can alter what the next one reads. */
static int config_memfd(gw_spawn_cfg_t *c, const eirc_config_t *cfg, eirc_err_t *out_err)
{
	const char *p = cfg->source;
	size_t left = cfg->source_len;
	ssize_t n;
	int fd;

	if (!p)
		return eirc_err_set(out_err, -EINVAL, "the config's text was not kept");
	if ((fd = memfd_create("eirc-config", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0)
		return eirc_err_set(out_err, -errno, "memfd_create: %s", strerror(errno));
	c->config_fd = fd; /* > 2: the daemon's stdio is open */
	while (left > 0) {
		if ((n = write(fd, p, left)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eirc_err_set(out_err, -errno, "writing the config's memfd: %s",
					    strerror(errno));
		p += n;
		left -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return eirc_err_set(out_err, -errno, "sealing the config's memfd: %s",
				    strerror(errno));
	return 0;
}

/* Forks a probe that becomes the sandbox user (as uv_spawn will: no
 * supplementary groups) and tries to run the binary. */
static int probe_as_user(const gw_spawn_cfg_t *c, const char *user, eirc_err_t *out_err)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return eirc_err_set(out_err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0)
			_exit(10);
		if (access(c->irc_client_path, X_OK) < 0)
			_exit(12);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
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
	if ((r = env_build(c, out_err)) < 0 || (r = vars_build(c, cfg, out_err)) < 0 ||
	    (r = config_memfd(c, cfg, out_err)) < 0)
		return r;
	/* An ambient capability would be the child's after its execve, even
	 * under another uid: the gateway passes none (its own stay). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return eirc_err_set(out_err, -errno, "cannot clear the ambient capabilities: %s",
				    strerror(errno));
	uint32_t caps = caps_effective();
	/* setuid/setgid to another user: root, or both capabilities */
	if ((caps & GW_CAPS_SWITCH) != GW_CAPS_SWITCH)
		return 0;
	/* a child of another uid that does not quit is signalled (gw_relay) */
	if (!(caps & 1U << CAP_KILL))
		return eirc_err_set(out_err, -EPERM,
				    "the gateway can start irc-clients as another user "
				    "(CAP_SETUID, CAP_SETGID) but not signal them: give it "
				    "CAP_KILL too");
	if (!sandbox_user || !(pw = getpwnam(sandbox_user)))
		return eirc_err_set(out_err, -ENOENT,
				    "irc_client.sandbox_user %s does not exist "
				    "(irc-clients never run as the gateway's user)",
				    sandbox_user ? sandbox_user : "");
	if (pw->pw_uid == 0 || pw->pw_uid == geteuid())
		return eirc_err_set(out_err, -EPERM,
				    "irc_client.sandbox_user must be neither root nor the "
				    "gateway's own user");
	c->drop_privileges = true;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return probe_as_user(c, sandbox_user, out_err);
}

void gw_spawn_cfg_clear(gw_spawn_cfg_t *c)
{
	free(c->irc_client_path);
	free(c->config_path);
	if (c->config_fd > 2)
		close(c->config_fd);
	for (size_t i = 0; c->env[i]; i++)
		free(c->env[i]);
	explicit_bzero(c->vars, sizeof(c->vars));
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

/* Writes the text of fd 4 in full and closes the pipe. At most
 * VARS_BYTES_MAX (PIPE_BUF) bytes into an empty pipe: one write that never
 * blocks. */
static int vars_write(const gw_spawn_cfg_t *c, int fd)
{
	ssize_t n;

	do
		n = write(fd, c->vars, c->vars_len);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == c->vars_len ? 0 : -EIO;
}

int gw_spawn_start(uv_loop_t *loop, const gw_spawn_cfg_t *c, const gw_identity_t *id,
		   const char *client_ip, uv_process_t *proc, uv_exit_cb exit_cb, int *out_fd,
		   bool *out_proc_open)
{
	char uid[24], *argv[16];
	int sv[2], vp[2], r;
	uv_process_options_t o;
	uv_stdio_container_t stdio[6];

	*out_proc_open = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (pipe2(vp, O_CLOEXEC) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	spawn_argv(c, id, client_ip, uid, argv);
	stdio[0].flags = UV_IGNORE; /* libuv opens /dev/null */
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 2;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = sv[1];
	stdio[4].flags = UV_INHERIT_FD;
	stdio[4].data.fd = vp[0];
	stdio[5].flags = UV_INHERIT_FD;
	stdio[5].data.fd = c->config_fd;
	memset(&o, 0, sizeof(o));
	o.file = c->irc_client_path;
	o.args = argv;
	o.env = (char **)c->env;
	o.exit_cb = exit_cb;
	o.stdio = stdio;
	o.stdio_count = 6;
	if (c->drop_privileges) {
		o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		o.uid = c->uid;
		o.gid = c->gid;
	}
	/*
	 * libwebsockets 4.1 opens its sockets (listeners, accepted browsers)
	 * without close-on-exec; so that no child ever inherits another
	 * session's socket, mark every descriptor above stderr close-on-exec
	 * right before the fork (libuv's dup2 onto fds 3 to 5 clears it there).
	 */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		r = -errno;
		goto close_all;
	}
	r = uv_spawn(loop, proc, &o);
	*out_proc_open = true;
	if (r < 0)
		goto close_all;
	close(sv[1]);
	close(vp[0]);
	if (vars_write(c, vp[1]) < 0)
		uv_process_kill(proc, SIGKILL); /* it would wait for EOF or lack a value */
	*out_fd = sv[0];
	return 0;

close_all:
	close(sv[0]);
	close(sv[1]);
	close(vp[0]);
	close(vp[1]);
	return r;
}
