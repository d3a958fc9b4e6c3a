/*
 * session_test: the tests' EIRC SESSION and EIRC HELLO. See session_test.h.
 */
#include "tests/harness/session_test.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/session_ticket.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

size_t session_test_line(pid_t pid, uint64_t user_id, char *buf, size_t cap)
{
	char t[SESSION_TICKET_LEN + 1];

	if (session_ticket_make(SESSION_TEST_KEY, pid, user_id, t) < 0)
		abort();
	int n = snprintf(buf, cap, "EIRC SESSION %s\r\n", t);
	if (n < 0 || (size_t)n >= cap)
		abort();
	return (size_t)n;
}

int session_test_hello_for(int fd, uint64_t user_id, pid_t ticket_pid, uint64_t ticket_user)
{
	char t[SESSION_TICKET_LEN + 1], line[128];

	if (session_ticket_make(SESSION_TEST_KEY, ticket_pid, ticket_user, t) < 0)
		abort();
	int n = snprintf(line, sizeof(line), "EIRC HELLO %" PRIu64 " %s\r\n", user_id, t);
	return write_all(fd, line, (size_t)n);
}

int session_test_hello(int fd, uint64_t user_id)
{
	return session_test_hello_for(fd, user_id, getpid(), user_id);
}

int session_test_send_line(int fd, pid_t pid, uint64_t user_id)
{
	char line[128];
	size_t n = session_test_line(pid, user_id, line, sizeof(line));

	return write_all(fd, line, n);
}
