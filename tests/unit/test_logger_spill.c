/*
 * The spill file: record format (split, corrupt, oversized), append and
 * replay in order, size limit at the limit and one past, torn tail after a
 * crash, reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logger-bot/lg_spill.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/eirc-spill-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char path_buf[300];
static const char *file_path(void)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, LG_SPILL_FILE_NAME);
	return path_buf;
}

static void test_parse(void **state)
{
	unsigned char rec[64];
	const void *p;
	size_t plen, used;

	(void)state;
	lg_spill_record_header("hello", 5, rec);
	memcpy(rec + 8, "hello", 5);
	for (size_t cut = 0; cut < 13; cut++)
		assert_int_equal(lg_spill_parse(rec, cut, &p, &plen, &used), -EAGAIN);
	assert_int_equal(lg_spill_parse(rec, 13, &p, &plen, &used), 0);
	assert_int_equal(plen, 5);
	assert_int_equal(used, 13);
	assert_memory_equal(p, "hello", 5);
	rec[10] ^= 1;
	assert_int_equal(lg_spill_parse(rec, 13, &p, &plen, &used), -EBADMSG);
	/* length over the limit, and zero */
	memset(rec, 0xff, 8);
	assert_int_equal(lg_spill_parse(rec, 13, &p, &plen, &used), -EBADMSG);
	memset(rec, 0, 8);
	assert_int_equal(lg_spill_parse(rec, 13, &p, &plen, &used), -EBADMSG);
}

static void test_append_replay_in_order(void **state)
{
	lg_spill_t *s;
	char rec[64], out[LG_SPILL_PAYLOAD_MAX];
	size_t n;
	uint64_t dropped = 1;

	(void)state;
	unlink(file_path());
	assert_int_equal(lg_spill_open(dir, 1 << 20, &s, &dropped), 0);
	assert_int_equal(dropped, 0);
	for (int i = 0; i < 10000; i++) {
		int len = snprintf(rec, sizeof(rec), "record-%d", i);
		assert_int_equal(lg_spill_append(s, rec, (size_t)len), 0);
		if (i % 777 == 0)
			assert_int_equal(lg_spill_sync(s), 0);
	}
	for (int i = 0; i < 10000; i++) {
		int len = snprintf(rec, sizeof(rec), "record-%d", i);
		assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
		assert_int_equal(n, (size_t)len);
		assert_memory_equal(out, rec, n);
		if (i == 5000) /* appends while replaying land after */
			assert_int_equal(lg_spill_append(s, "late", 4), 0);
	}
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_memory_equal(out, "late", 4);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), -ENOENT);
	assert_int_equal(lg_spill_unread(s), 0);
	assert_int_equal(lg_spill_reset(s), 0);
	assert_int_equal(lg_spill_size(s), 0);
	lg_spill_close(s);
}

static void test_limit_and_reopen(void **state)
{
	lg_spill_t *s;
	static char big[LG_SPILL_PAYLOAD_MAX + 1];
	char out[LG_SPILL_PAYLOAD_MAX];
	uint64_t max = LG_SPILL_HEADER_LEN + 2 * (LG_SPILL_RECORD_HEADER + LG_SPILL_PAYLOAD_MAX);
	uint64_t dropped;
	size_t n;

	(void)state;
	unlink(file_path());
	memset(big, 'b', sizeof(big));
	assert_int_equal(lg_spill_open(dir, LG_SPILL_HEADER_LEN, &s, NULL), -EINVAL);
	assert_int_equal(lg_spill_open(dir, max, &s, NULL), 0);
	assert_int_equal(lg_spill_append(s, big, LG_SPILL_PAYLOAD_MAX + 1), -EMSGSIZE);
	assert_int_equal(lg_spill_append(s, big, 0), -EMSGSIZE);
	assert_int_equal(lg_spill_append(s, big, LG_SPILL_PAYLOAD_MAX), 0);
	assert_int_equal(lg_spill_append(s, big, LG_SPILL_PAYLOAD_MAX), 0); /* at the limit */
	assert_int_equal(lg_spill_append(s, big, 1), -ENOSPC);              /* one past */
	lg_spill_close(s);
	/* reopened: both records pending, in order */
	assert_int_equal(lg_spill_open(dir, max, &s, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(lg_spill_unread(s), max - LG_SPILL_HEADER_LEN);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_int_equal(n, LG_SPILL_PAYLOAD_MAX);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), -ENOENT);
	lg_spill_close(s);
}

static void test_torn_tail_and_foreign_file(void **state)
{
	lg_spill_t *s;
	char out[LG_SPILL_PAYLOAD_MAX];
	uint64_t dropped = 0;
	size_t n;
	int fd;

	(void)state;
	unlink(file_path());
	assert_int_equal(lg_spill_open(dir, 1 << 20, &s, NULL), 0);
	assert_int_equal(lg_spill_append(s, "one", 3), 0);
	assert_int_equal(lg_spill_append(s, "two", 3), 0);
	lg_spill_close(s);
	/* a crash in the middle of a third record */
	fd = open(file_path(), O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x20\0\0\0\1\2\3\4thr", 11), 11);
	close(fd);
	assert_int_equal(lg_spill_open(dir, 1 << 20, &s, &dropped), 0);
	assert_int_equal(dropped, 11);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_memory_equal(out, "one", 3);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_memory_equal(out, "two", 3);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), -ENOENT);
	/* new appends go after the cut */
	assert_int_equal(lg_spill_append(s, "four", 4), 0);
	assert_int_equal(lg_spill_next(s, out, sizeof(out), &n), 0);
	assert_memory_equal(out, "four", 4);
	lg_spill_close(s);
	/* a file that is not a spill file is refused, not overwritten */
	fd = open(file_path(), O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(write(fd, "NOTSPILL-and-more", 17), 17);
	close(fd);
	assert_int_equal(lg_spill_open(dir, 1 << 20, &s, NULL), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_append_replay_in_order),
		cmocka_unit_test(test_limit_and_reopen),
		cmocka_unit_test(test_torn_tail_and_foreign_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
