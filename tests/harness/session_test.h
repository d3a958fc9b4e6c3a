/*
 * session_test: the history socket's credentials for the tests and
 * benches (docs/history.md): the session key their configs set, the
 * "EIRC SESSION" line a test that plays the gateway writes to an
 * irc-client it started, and the "EIRC HELLO" a test that talks to
 * eirc-history's socket directly says first, with a valid ticket for
 * the calling process.
 */
#ifndef EIRC_TESTS_SESSION_TEST_H
#define EIRC_TESTS_SESSION_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* history.session_key of every test config (at least SESSION_KEY_MIN). */
#define SESSION_TEST_KEY "eirc-test-session-key-0123456789abcdef"
/* The same as a config line, to paste into a history: section. */
#define SESSION_TEST_KEY_YAML "  session_key: " SESSION_TEST_KEY "\n"

/* "EIRC SESSION <ticket>\r\n" for an irc-client of pid and user (as the
 * gateway writes it first on fd 3) into buf. Returns its length; aborts
 * the process when cap is too small. */
size_t session_test_line(pid_t pid, uint64_t user_id, char *buf, size_t cap);

/* Writes "EIRC HELLO <user_id> <ticket>\r\n" on fd (blocking), the ticket
 * being for this process (getpid()) and user_id. Returns 0 or -errno. */
int session_test_hello(int fd, uint64_t user_id);

/* The same with the ticket of (ticket_pid, ticket_user) instead, for the
 * tests of refusals: another process's ticket, another user's. */
int session_test_hello_for(int fd, uint64_t user_id, pid_t ticket_pid, uint64_t ticket_user);

/* Writes the EIRC SESSION line of pid and user_id on fd (blocking).
 * Returns 0 or -errno. */
int session_test_send_line(int fd, pid_t pid, uint64_t user_id);

#endif
