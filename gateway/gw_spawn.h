/*
 * gw_spawn: starting one eirc-irc-client per session with uv_spawn.
 *
 * The child gets: fd 0 /dev/null, fds 1 and 2 the gateway's stderr, fd 3
 * one end of a socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) whose other
 * end the gateway keeps, fd 4 the read end of a pipe carrying the config's
 * ${NAME} values (common/vars: "NAME=value\n" lines, written in full and
 * closed right after the spawn; the write end is close-on-exec), fd 5 a
 * sealed memfd holding the config's text as the gateway loaded it at start
 * (the child reads it with pread and closes it: it never opens the config
 * file, so the file need not be readable by irc_client.sandbox_user, and an
 * edit reaches sessions only when the gateway restarts); no other
 * descriptor (every descriptor above 2 is marked close-on-exec right
 * before each spawn: libwebsockets 4.1 opens its sockets without it).
 *
 * No secret is on its argv (the process contract of docs/irc-client.md)
 * nor in its environment, which holds only PATH, TZ, LANG, LC_ALL and the
 * sanitizer options: a process of another uid may read neither, but
 * /proc/<pid>/cmdline is readable by every user, and the environment by
 * anything that can ptrace the child. The table on fd 4 is built once at
 * start by gw_spawn_cfg_init() from every ${NAME} the config file
 * references (eirc_config_env_refs()): the value when a key the irc-client
 * reads references it (GW_CHILD_KEYS), else GW_ENV_WITHHELD, so that the
 * file still loads in the child (those keys are required there too) and
 * eirc-auth's secrets, the history bridge's, Redis passwords never reach
 * it.
 *
 * The child runs as irc_client.sandbox_user whenever the gateway can
 * switch users: as root, or with CAP_SETUID and CAP_SETGID effective (the
 * local stack runs the gateway as an unprivileged user with those two as
 * ambient capabilities; gw_spawn_cfg_init clears the ambient set, so that
 * no child is ever given a capability by its execve).
 */
#ifndef EIRC_GW_SPAWN_H
#define EIRC_GW_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "common/err.h"
#include "common/vars.h"
#include "config/config.h"
#include "gateway/gw_auth.h"

/* Most ${NAME} variables handed to a child on fd 4 (at most VARS_BYTES_MAX
 * bytes in all). */
#define GW_ENV_MAX VARS_MAX
/* The value given to variables the irc-client must not see (long enough
 * for the loader's "at least 16 bytes" secrets). */
#define GW_ENV_WITHHELD "withheld-by-eirc-gateway-not-a-secret"
/* The environment variables a child keeps (the rest is dropped). */
#define GW_ENV_PASSED 7
/* The config keys eirc-irc-client reads (a section: every key in it): a
 * ${NAME} referenced under one of them is handed over with its value. */
#define GW_CHILD_KEYS                                                                              \
	"irc", "irc_client", "log", "history.socket_path", "history.request_timeout",              \
		"history.chathistory_max", "history.join_replay_lines"

typedef struct gw_spawn_cfg {
	char *irc_client_path;        /* absolute */
	char *config_path;            /* absolute */
	char *env[GW_ENV_PASSED + 2]; /* "NAME=value", NULL-terminated */
	char vars[VARS_BYTES_MAX];    /* the text written on fd 4 */
	size_t vars_len;
	int config_fd;        /* the sealed memfd of fd 5; valid when > 2 */
	bool drop_privileges; /* root, or CAP_SETUID + CAP_SETGID */
	uid_t uid;
	gid_t gid;
} gw_spawn_cfg_t;

/*
 * Fills *out (already zeroed by the caller) from cfg, loaded from
 * config_path: resolves the binary (gateway.irc_client_path, else
 * eirc-irc-client next to self_exe), makes both paths absolute, builds env
 * and the text of fd 4 from the config's ${NAME} references, the memfd of
 * fd 5 from cfg->source, clears the process's ambient capabilities, and
 * when it can switch users (euid 0, or CAP_SETUID and CAP_SETGID
 * effective) looks up irc_client.sandbox_user and checks (in a short-lived
 * forked probe, before the loop) that this user can execute the binary. Returns 0, or a negative
 * errno with a message in out_err
 * (-E2BIG: more than GW_ENV_MAX variables or VARS_BYTES_MAX bytes;
 * -EINVAL: a value with a newline). Blocking: call at start only.
 */
int gw_spawn_cfg_init(gw_spawn_cfg_t *out, const eirc_config_t *cfg, const char *config_path,
		      const char *self_exe, eirc_err_t *out_err);

void gw_spawn_cfg_clear(gw_spawn_cfg_t *c);

/*
 * Spawns a child for identity id and client_ip into *proc (initialised
 * here; exit_cb runs once when it is reaped; proc->data is left to the
 * caller to set before the loop runs again) and hands it the text of fd 4
 * (should that write fail, the child is killed: its exit ends the session
 * as any other would). Returns 0 and *out_fd, the
 * gateway's end of the socketpair (close-on-exec, to be opened with
 * uv_pipe_open), or a negative errno; either way *out_proc_open says
 * whether proc was initialised (uv_spawn leaves a failed handle that
 * still needs uv_close; exit_cb never runs for it).
 */
int gw_spawn_start(uv_loop_t *loop, const gw_spawn_cfg_t *c, const gw_identity_t *id,
		   const char *client_ip, uv_process_t *proc, uv_exit_cb exit_cb, int *out_fd,
		   bool *out_proc_open);

#endif
