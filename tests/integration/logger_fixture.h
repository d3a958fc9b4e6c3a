/*
 * logger_fixture: what the eirc-logger integration tests share: the
 * Elasticsearch test server (tests/es/es_server.py) and eirc-logger
 * processes started with a parent-death signal and stopped by pid, a
 * config writer, small blocking IRC clients, and Redis/ES readers that
 * return the archived ids. Test tooling: it blocks and asserts.
 */
#ifndef EIRC_TESTS_LOGGER_FIXTURE_H
#define EIRC_TESTS_LOGGER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "scripts/stack/launch.h"

#define LGF_PARTITIONS 4

/* A child process (ES test server or eirc-logger). */
struct lgf_proc {
	pid_t pid;
	int port; /* ES: its port */
	char log[512];
};

/*
 * The servers most logger tests start first: srv_env_install_signal_handlers(),
 * a temporary environment, Redis and, when out_ircd is not NULL, InspIRCd
 * (default options); dir gets the environment's folder. *out_env is set as
 * soon as the environment exists, so that the teardown's srv_env_free()
 * also cleans up after a later failure. Returns 0 or -1.
 */
int lgf_env_start(srv_env_t **out_env, srv_t **out_redis, srv_t **out_ircd, char *dir,
		  size_t dir_cap);

/*
 * InspIRCd config lines (for srv_ircd_opts_t.extra_binds) of a client port
 * on a free loopback port whose class "sender" has no flood limits, for
 * clients that send thousands of lines (at most 16 of them, maxchans
 * channels each). Returns the port, or -1.
 */
int lgf_sender_class(int maxchans, char *buf, size_t cap);

/* Starts the ES test server; waits until it listens. Returns 0 or -1. */
int lgf_es_start(const char *dir, struct lgf_proc *out);
/* POSTs a JSON body to the ES test server's control endpoint; 0 or -1. */
int lgf_es_control(int port, const char *name, const char *json);
/* GETs path (tests/harness/http_test) into a malloc'd NUL-terminated
 * string: the body whatever the status, NULL when no answer came. */
char *lgf_http_get(int port, const char *path);
/* The whole of a file (a logger's log), NUL-terminated, or NULL; the
 * caller frees it. */
char *lgf_slurp(const char *path);
/* The value of one series of a /metrics page on port (the name with its
 * labels, exactly as printed), or -1 when absent or unreachable. */
long long lgf_metric(int port, const char *series);

struct lgf_logger_cfg {
	const char *dir; /* its config, spill folder, log */
	const char *nick;
	int irc_port, redis_port, es_port; /* es_port 0: no shipper */
	const char *channels;              /* YAML flow list, e.g. "[\"#a\", \"#b\"]" */
	const char *extra_logger;          /* extra "  key: value\n" lines for logger: */
	const char *extra_es;              /* extra lines for elasticsearch: */
	int metrics_port;
};
/* Starts eirc-logger with c. On the Redis of lgf_use_redis (c->redis_port
 * its port) it logs in as that Redis's eirc-logger ACL user, as in
 * production; on another Redis as the default user. With lgf_use_ircd it
 * sends that InspIRCd's capture password (logger.irc_password). */
int lgf_logger_start(const struct lgf_logger_cfg *c, struct lgf_proc *out);
/* The Redis (of srv_redis_start) whose eirc-logger user the loggers
 * started afterwards use; lgf_env_start sets its own. */
void lgf_use_redis(const srv_t *redis);
/* Top-level config sections (YAML text, e.g. "integrity:\n  signing_key:
 * ...\n") the loggers started afterwards get besides the fixture's own;
 * borrowed. NULL: none. */
void lgf_use_extra(const char *yaml);
/* The InspIRCd whose capture password (srv_capture_password) the loggers
 * started afterwards send, so that they are capture bots (in every
 * channel, m_eirc_capture); lgf_env_start sets its own. For a linked pair
 * either server (both have the same). NULL: no PASS. */
void lgf_use_ircd(const srv_t *ircd);
/* The same with `partitions` key partitions (not LGF_PARTITIONS) and extra
 * lines for the redis: section (e.g. "  cluster: true\n"; NULL: none). */
int lgf_logger_start_redis(const struct lgf_logger_cfg *c, int partitions, const char *extra_redis,
			   struct lgf_proc *out);

/* What production InspIRCd needs for the logger (docs/logger.md): its own
 * listener; its class is config/inspircd.conf.in's "eirc-capture" (the
 * capture password, a 64 MiB hardsendq), which the logger gets by its PASS
 * on any port. Writes the raw lines for srv_ircd_opts_t.extra_binds
 * into buf and the port into *out_port; the logger then connects to that
 * port. Returns 0 or -1. */
int lgf_ircd_logger_class(char *buf, size_t cap, int *out_port);
/* Sends sig and waits for the exit; returns the exit status or -1. */
int lgf_proc_stop(struct lgf_proc *p, int sig);
bool lgf_proc_alive(struct lgf_proc *p);

/* A blocking IRC client. */
struct lgf_irc {
	int fd;
	char nick[32];
	char buf[65536];
	size_t len;
};
int lgf_irc_connect(int port, const char *nick, const char *caps, struct lgf_irc *out);
/* The same registered as the gateway's sessions are, for an InspIRCd with
 * m_eirc_account (which refuses plain clients): WEBIRC from 127.0.0.1 with
 * webirc_password (srv_password of the server), USER u<uid>, so the
 * session is bound to account nick, id uid. */
int lgf_irc_connect_webirc(int port, const char *webirc_password, const char *nick, const char *uid,
			   const char *caps, struct lgf_irc *out);
int lgf_irc_send(struct lgf_irc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads lines until one contains needle (or timeout_ms); copies it to
 * out when not NULL. Returns 0 or -1. */
int lgf_irc_wait(struct lgf_irc *c, const char *needle, int timeout_ms, char *out, size_t cap);
/* Reads and discards whatever is there. */
void lgf_irc_drain(struct lgf_irc *c);
void lgf_irc_close(struct lgf_irc *c);
/* Starts build/irc-client/eirc-irc-client as the gateway does (its end of
 * a socketpair on fd 3) with --config cfg, nick, user id uid, a fixed
 * client IP and display name nick. Returns the child's pid (the caller
 * reaps it) and *out_fd, or -errno. */
int lgf_irc_client_spawn(const char *cfg, const char *nick, const char *uid, int *out_fd);

/* One archived entry's fields, as read back. */
struct lgf_entry {
	char msgid[160];
	char type[16];
	char conv[256];
	char nick[64];
	char user[64];
	char host[128];
	char text[1024];
	char arg[256];
	char tags[1024];
	long long time;
};

redisContext *lgf_redis(int port);
/* Reads every entry of every partition's archive (up to max). */
size_t lgf_archive(redisContext *r, struct lgf_entry *out, size_t max);
/* Reads every history stream of every partition (up to max): unlike the
 * archive, which the shipper trims once acknowledged, history keeps all
 * within the retention. */
size_t lgf_all_history(redisContext *r, struct lgf_entry *out, size_t max);
/* Reads one stream (XRANGE - +) of the Redis r is connected to. */
size_t lgf_stream(redisContext *r, const char *key, struct lgf_entry *out, size_t max);
/* Reads a history stream of network eIRC. */
size_t lgf_history(redisContext *r, const char *chan, struct lgf_entry *out, size_t max);
/*
 * Partition k's log (logger-bot/lg_seal.h) against its archive stream, on
 * r (the Redis, or the cluster master owning k's slot), read at once: 1
 * when the log has looked at the archive's last entry, began with the
 * archive ("start" 0-0), refused nothing, and every entry left is the leaf
 * its position says (leaf `trimmed` + i, recomputed with archive/tlog.h,
 * the hash stored in its chunk); 0 while the log is behind; -1 when it is
 * wrong, with why in buf.
 */
int lgf_seal_check(redisContext *r, int k, char *why, size_t cap);

/* Waits until pred() holds or timeout_ms passes; returns pred's last value. */
bool lgf_wait_for(bool (*pred)(void *), void *ud, int timeout_ms);
void lgf_sleep_ms(int ms);

#endif
