/*
 * common/notify: $NOTIFY_SOCKET parsed (a path, an abstract "@name", the
 * forms refused, sizeof(sun_path) - 1 bytes and one past) and the datagram
 * sent to a real socket of each kind, NOTIFY_STATE_MAX bytes and one past;
 * nothing sent when NOTIFY_SOCKET is unset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/notify.h"

static void test_addr(void **state)
{
	struct sockaddr_un a;
	socklen_t len;
	char name[sizeof(a.sun_path) + 1];

	(void)state;
	assert_int_equal(notify_addr("/run/systemd/notify", &a, &len), 0);
	assert_string_equal(a.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
	assert_int_equal(notify_addr("@abstract", &a, &len), 0);
	assert_int_equal(a.sun_path[0], '\0');
	assert_memory_equal(a.sun_path + 1, "abstract", 8);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 9);
	assert_int_equal(notify_addr(NULL, &a, &len), -ENOENT);
	assert_int_equal(notify_addr("", &a, &len), -ENOENT);
	assert_int_equal(notify_addr("vsock:2:1234", &a, &len), -EAFNOSUPPORT);
	assert_int_equal(notify_addr("relative", &a, &len), -EAFNOSUPPORT);
	memset(name, 'x', sizeof(name));
	name[0] = '/';
	name[sizeof(a.sun_path) - 1] = '\0'; /* the longest: 107 bytes */
	assert_int_equal(notify_addr(name, &a, &len), 0);
	name[sizeof(a.sun_path) - 1] = 'x';
	name[sizeof(a.sun_path)] = '\0'; /* one past */
	assert_int_equal(notify_addr(name, &a, &len), -ENAMETOOLONG);
}

static void expect(int fd, const char *state, size_t len)
{
	char buf[NOTIFY_STATE_MAX + 2];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, state, len);
}

static void test_send(void **state)
{
	char dir[] = "/tmp/eirc-test-notify-XXXXXX", abstract[64];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char *big = malloc(NOTIFY_STATE_MAX + 2);
	int fd, afd;
	socklen_t alen;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0); /* not under systemd */
	assert_non_null(mkdtemp(dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	assert_int_equal(notify_send("READY=1"), 1);
	expect(fd, "READY=1", 7);
	assert_int_equal(notify_send("RELOADING=1\nSTATUS=x"), 1);
	expect(fd, "RELOADING=1\nSTATUS=x", 20);
	memset(big, 'S', NOTIFY_STATE_MAX + 1);
	big[NOTIFY_STATE_MAX] = '\0';
	assert_int_equal(notify_send(big), 1);
	expect(fd, big, NOTIFY_STATE_MAX);
	big[NOTIFY_STATE_MAX] = 'S';
	big[NOTIFY_STATE_MAX + 1] = '\0';
	assert_int_equal(notify_send(big), -EMSGSIZE);
	/* the abstract namespace */
	snprintf(abstract, sizeof(abstract), "@eirc-test-notify-%d", (int)getpid());
	assert_int_equal(notify_addr(abstract, &a, &alen), 0);
	afd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(afd, (struct sockaddr *)&a, alen), 0);
	setenv("NOTIFY_SOCKET", abstract, 1);
	assert_int_equal(notify_send("STOPPING=1"), 1);
	expect(afd, "STOPPING=1", 10);
	/* nobody listening: the error, not a crash */
	snprintf(abstract, sizeof(abstract), "%s/nobody", dir);
	setenv("NOTIFY_SOCKET", abstract, 1);
	assert_int_equal(notify_send("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	close(afd);
	snprintf(abstract, sizeof(abstract), "%s/notify", dir);
	unlink(abstract);
	rmdir(dir);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_send),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
