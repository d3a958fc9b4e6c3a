/*
 * irc_testclient: the IRC peer of the integration tests. It sends lines and
 * reads them back parsed (irc_line framer + irc_msg parser), over a TCP
 * connection to a server, a socketpair end of an irc-client (as the
 * gateway holds it), or any transport that moves whole lines (a WebSocket
 * through ws_client: one message, one line).
 *
 * For cmocka tests only: a failure (a line that does not parse, an expected
 * line that does not come, a write that fails) fails the running test.
 */
#ifndef EIRC_TESTS_HARNESS_IRC_TESTCLIENT_H
#define EIRC_TESTS_HARNESS_IRC_TESTCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/irc_line.h"
#include "common/irc_msg.h"

/* How long itc_next() and itc_expect() wait for a line, in ms. */
#define ITC_TIMEOUT_MS 5000

/* A line transport: recv gives the next whole line (no CRLF) within
 * timeout_ms, returning 0, -ETIMEDOUT, or another negative errno when the
 * transport is closed; send takes one line without CRLF, returning 0 or a
 * negative errno. */
typedef int (*itc_recv_fn)(void *ctx, int timeout_ms, const char **out_line, size_t *out_len);
typedef int (*itc_send_fn)(void *ctx, const char *line, size_t len);

typedef struct itc {
	int fd;    /* byte stream, or -1 with a transport */
	pid_t pid; /* the irc-client at the other end, or 0 */
	itc_recv_fn recv;
	itc_send_fn send;
	void *ctx;
	size_t read_chunk;             /* bytes per read(); 0: 4096 */
	size_t lines;                  /* lines parsed so far */
	char line[IRC_LINE_MAX + 1];   /* the last line, raw */
	char parsed[IRC_LINE_MAX + 1]; /* the same, parsed in place into msg */
	irc_msg_t msg;
	irc_line_t lf;
} itc_t;

/* A TCP connection to 127.0.0.1:port. */
itc_t *itc_connect(int port);
/* Takes over fd (closed by itc_close); pid, when not 0, is waited for. */
itc_t *itc_from_fd(int fd, pid_t pid);
/* Lines over a transport; ctx stays the caller's. */
itc_t *itc_from_transport(itc_recv_fn recv, itc_send_fn send, void *ctx);

/* Lines over an open WebSocket: one message per line, sent as binary
 * frames when binary is true (binary.ircv3.net), text frames otherwise.
 * ws stays the caller's (free it after itc_close). */
struct ws_client;
itc_t *itc_from_ws(struct ws_client *ws, bool binary);

/* Writes bytes as they are (byte streams only). */
void itc_send_raw(itc_t *c, const void *data, size_t len);
/* Sends one line; CRLF is added on byte streams. */
void itc_sendf(itc_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Next line, parsed into c->msg (raw in c->line); false on EOF/close or when
 * none comes within timeout_ms. A line that does not parse fails the test. */
bool itc_next_within(itc_t *c, int timeout_ms);
bool itc_next(itc_t *c);

/* True when the last raw line contains needle. */
bool itc_has(const itc_t *c, const char *needle);
/* Parameter i of m equals want / contains needle. */
bool itc_param_is(const irc_msg_t *m, size_t i, const char *want);
bool itc_param_has(const irc_msg_t *m, size_t i, const char *needle);

/* Reads until a line with command cmd holding needle (NULL: any) comes;
 * fails the test when none comes within timeout_ms in all (_within), or
 * when ITC_TIMEOUT_MS pass without any line (itc_expect). */
void itc_expect_within(itc_t *c, const char *cmd, const char *needle, int timeout_ms);
void itc_expect(itc_t *c, const char *cmd, const char *needle);

/* NICK + USER, then waits for 001. */
void itc_register(itc_t *c, const char *nick);

/* Closes the fd (not a transport's ctx), waits for pid if any and frees c;
 * returns pid's wait status, or 0. */
int itc_close(itc_t *c);

#endif
