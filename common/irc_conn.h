/*
 * irc_conn: one client connection to an IRC server on a libuv loop, for
 * eirc-irc-client and eirc-logger. It connects (TCP, TLS over TCP, or a
 * UNIX socket), registers through irc_reg (WEBIRC, CAP LS 302, NICK, USER),
 * answers PING, PINGs an idle server and takes it as dead after a timeout,
 * and reconnects with jittered exponential backoff, trying the configured
 * servers in turn. Lines are framed with irc_line and parsed with irc_msg
 * before they reach the owner; a line that fails either never reaches
 * on_msg and is reported to on_bad_line instead (never dropped silently).
 *
 * It is not a bot or a bouncer: what to do with messages, which channels
 * to join after (re)registration, is the owner's business (callbacks).
 *
 * Memory: one framer (IRC_LINE_MAX bytes) per connection; reads go through
 * one static buffer of IRC_CONN_READ_CHUNK bytes (single-threaded loop);
 * writes the socket does not take at once are copied into the write queue,
 * whose size the owner bounds with irc_conn_queued() and read pausing on
 * its own side.
 */
#ifndef EIRC_COMMON_IRC_CONN_H
#define EIRC_COMMON_IRC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/irc_msg.h"
#include "common/irc_reg.h"

typedef struct irc_conn_server irc_conn_server_t;
typedef struct irc_conn_opts irc_conn_opts_t;
typedef struct irc_conn irc_conn_t;
typedef struct irc_conn_cb irc_conn_cb_t;

/* Bytes read from the socket at once (the static read buffer). */
#define IRC_CONN_READ_CHUNK 16384
/* Servers one connection may rotate over. */
#define IRC_CONN_SERVERS_MAX 16
/* Time allowed to flush QUIT before the connection is closed anyway. */
#define IRC_CONN_QUIT_FLUSH_MS 1000
/* Bytes of a refused line handed to on_bad_line (its start). */
#define IRC_CONN_EXCERPT_MAX 64

/* One IRC server: host and port (optionally TLS) or a UNIX socket path.
 * Strings are borrowed. */
struct irc_conn_server {
	const char *host;
	int port;
	bool tls;
	bool tls_verify;
	const char *tls_ca_file; /* NULL: the system's CA bundle */
	const char *unix_path;   /* set instead of host/port */
};

struct irc_conn_opts {
	const irc_conn_server_t *servers; /* borrowed */
	size_t n_servers;
	irc_reg_params_t reg;        /* copied; its strings are borrowed */
	uint64_t connect_timeout_ms; /* connect + register, per attempt */
	uint64_t ping_interval_ms;   /* idle time before we PING */
	uint64_t ping_timeout_ms;    /* then time to get any line back */
	uint64_t reconnect_min_ms;
	uint64_t reconnect_max_ms;
	/* Attempts (one server each) made before the first registration;
	 * after them on_down reports fatal. 0: no limit. */
	unsigned first_attempts_max;
};

enum irc_conn_state {
	IRC_CONN_WAITING = 0, /* down, a reconnection timer runs */
	IRC_CONN_CONNECTING,
	IRC_CONN_REGISTERING,
	IRC_CONN_REGISTERED,
	IRC_CONN_QUITTING,
	IRC_CONN_STOPPED, /* fatal error or quit done: no retry */
};

struct irc_conn;

/*
 * Callbacks, all called from the loop (never from inside an irc_conn_*
 * call). The owner may call irc_conn_free() from any of them.
 *   on_msg: every message from the server, in order, after irc_reg has
 *     seen it (registration numerics included); msg points into a buffer
 *     valid during the call.
 *   on_registered: the 001 arrived (called just before its on_msg); the
 *     owner joins channels.
 *   on_down: the connection is gone (err: negative errno, why: a short
 *     English reason). retry_ms > 0: a reconnection is scheduled after that
 *     delay; 0: irc_conn stopped for good (fatal nick policy, 432, or
 *     first_attempts_max reached).
 *   on_drain: the write queue went back under half of what it was when
 *     irc_conn_queued() was last found at or above the owner's limit
 *     (called after each completed write that empties the queue).
 *   on_quit: irc_conn_quit() finished: QUIT flushed (err 0) or not.
 *   on_bad_line (NULL allowed): a line from the server was dropped because
 *     it could not be framed or parsed; the connection goes on with the
 *     next line. err says why: IRC_MSG_ETOOLONG (longer than IRC_LINE_MAX,
 *     or a message part over IRC_MSG_MAX), IRC_MSG_ETAGSTOOLONG (tags over
 *     the message-tags limits) or IRC_MSG_EMALFORMED (NUL or bare CR, no
 *     command, bad tag key...; see irc_msg_parse()). excerpt is the
 *     start of the line as received, after its tags section when it has
 *     one (so it shows the source and command), at most
 *     IRC_CONN_EXCERPT_MAX bytes, not NUL-terminated, may hold any byte
 *     (escape before logging), valid during the call. Called once per dropped line, as it is
 * dropped (so a too-long line is reported before its tail has arrived).
 */
struct irc_conn_cb {
	void (*on_msg)(void *ud, const irc_msg_t *msg);
	void (*on_registered)(void *ud);
	void (*on_down)(void *ud, int err, const char *why, uint64_t retry_ms);
	void (*on_drain)(void *ud);
	void (*on_quit)(void *ud, int err);
	void (*on_bad_line)(void *ud, int err, const char *excerpt, size_t len);
};

/*
 * Creates a connection on loop (not started). opts and cb are copied;
 * strings they point to are borrowed. Host names are resolved here, once,
 * blocking (start-up only: reconnections reuse the addresses, and a
 * sandboxed process cannot resolve later). Returns 0, -EINVAL (no server,
 * bad registration params), -ENOTSUP (TLS asked and libssl cannot be
 * loaded), -ENOENT (a TLS server's CA file, or the system's, cannot be
 * read), a getaddrinfo failure as -EHOSTUNREACH, or -ENOMEM. With a TLS
 * server, OpenSSL is loaded and its CA certificates read here too (see
 * irc_tls_prepare()), so a sandbox may follow; without one it never is.
 */
int irc_conn_new(uv_loop_t *loop, const irc_conn_opts_t *opts, const irc_conn_cb_t *cb, void *ud,
		 irc_conn_t **out_conn);

/* Starts the first connection attempt. */
void irc_conn_start(irc_conn_t *c);

/*
 * Queues one line (len bytes, without CRLF; irc_conn adds it). Returns 0,
 * -ENOTCONN when not connected, -EMSGSIZE when longer than IRC_LINE_MAX - 2,
 * -EINVAL when it holds CR, LF or NUL, or -ENOMEM.
 */
int irc_conn_send(irc_conn_t *c, const char *line, size_t len);

/* Bytes written to us that the socket has not taken yet. */
size_t irc_conn_queued(const irc_conn_t *c);

/* Stops / restarts reading from the server (backpressure). A read already
 * delivered is processed to its end before reading stops. */
void irc_conn_read_pause(irc_conn_t *c, bool paused);

/*
 * Sends "QUIT :reason" (when registered), flushes it, closes the socket and
 * calls cb->on_quit exactly once, within IRC_CONN_QUIT_FLUSH_MS. No
 * reconnection follows.
 */
void irc_conn_quit(irc_conn_t *c, const char *reason);

/* The registration state machine: caps enabled, current nick, server. */
const irc_reg_t *irc_conn_reg(const irc_conn_t *c);
enum irc_conn_state irc_conn_state(const irc_conn_t *c);

/* Closes every handle; the memory is freed once libuv has closed them.
 * No callback fires afterwards. NULL is a no-op. */
void irc_conn_free(irc_conn_t *c);

#endif
