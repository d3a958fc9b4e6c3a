/*
 * gw_spawn: starting one eirc-irc-client per session with uv_spawn.
 *
 * The child gets: fd 0 /dev/null, fds 1 and 2 the gateway's stderr, fd 3
 * one end of a socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) whose other
 * end the gateway keeps; no other descriptor (every descriptor above 2 is
 * marked close-on-exec right before each spawn: libwebsockets 4.1 opens
 * its sockets without it). Its argv is the process contract of
 * docs/irc-client.md (no secret on it); its environment is built once at
 * start by gw_spawn_cfg_init(): PATH, TZ, LANG, LC_ALL, the sanitizer
 * options, EIRC_WEBIRC_PASSWORD, and every variable the config file
 * references with ${NAME} inside the sections the irc-client reads (irc,
 * irc_client, history, log; as the config reports them,
 * eirc_config_env_refs()); variables referenced only elsewhere (the auth
 * section's internal secret and database password) are passed with the
 * placeholder GW_ENV_WITHHELD instead of their value: the file still
 * loads in the child (those keys are required there too) and the secret
 * never reaches it. When the gateway runs as root the child runs as
 * irc_client.sandbox_user.
 */
#ifndef EIRC_GW_SPAWN_H
#define EIRC_GW_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "common/err.h"
#include "config/config.h"
#include "gateway/gw_auth.h"

/* Most environment variables handed to a child. */
#define GW_ENV_MAX 64
/* The value given to variables the irc-client must not see (long enough
 * for the loader's "at least 16 bytes" secrets). */
#define GW_ENV_WITHHELD "withheld-by-eirc-gateway-not-a-secret"

typedef struct gw_spawn_cfg {
	char *irc_client_path;     /* absolute */
	char *config_path;         /* absolute */
	char *env[GW_ENV_MAX + 1]; /* "NAME=value", NULL-terminated */
	bool drop_privileges;      /* running as root: setuid/setgid */
	uid_t uid;
	gid_t gid;
} gw_spawn_cfg_t;

/*
 * Fills *out (already zeroed by the caller) from cfg, loaded from
 * config_path: resolves the binary (gateway.irc_client_path, else
 * eirc-irc-client next to self_exe), makes both paths absolute, builds env
 * from the config's ${NAME} references, and when euid is 0 looks up
 * irc_client.sandbox_user and checks (in a short-lived forked probe,
 * before the loop) that this user can read the config file and execute
 * the binary. Returns 0, or a negative errno with a message in out_err.
 * Blocking: call at start only.
 */
int gw_spawn_cfg_init(gw_spawn_cfg_t *out, const eirc_config_t *cfg, const char *config_path,
		      const char *self_exe, eirc_err_t *out_err);

void gw_spawn_cfg_clear(gw_spawn_cfg_t *c);

/*
 * Spawns a child for identity id and client_ip into *proc (initialised
 * here; exit_cb runs once when it is reaped; proc->data is left to the
 * caller to set before the loop runs again). Returns 0 and *out_fd, the
 * gateway's end of the socketpair (close-on-exec, to be opened with
 * uv_pipe_open), or a negative errno; either way *out_proc_open says
 * whether proc was initialised (uv_spawn leaves a failed handle that
 * still needs uv_close; exit_cb never runs for it).
 */
int gw_spawn_start(uv_loop_t *loop, const gw_spawn_cfg_t *c, const gw_identity_t *id,
		   const char *client_ip, uv_process_t *proc, uv_exit_cb exit_cb, int *out_fd,
		   bool *out_proc_open);

#endif
