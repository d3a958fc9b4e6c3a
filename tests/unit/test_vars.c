/*
 * common/vars: the NAME=value table the gateway hands an irc-client on fd
 * 4. Set, get and format; the parser fed whole, split at every byte,
 * malformed, at VARS_MAX lines and VARS_BYTES_MAX bytes and one past;
 * vars_read on a pipe at the byte limit and one past.
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
#include <unistd.h>

#include "common/vars.h"

static void test_set_get_format(void **state)
{
	vars_t v = VARS_INIT;
	char out[VARS_BYTES_MAX];
	size_t len;

	(void)state;
	assert_int_equal(vars_set(&v, "EIRC_A", "one"), 0);
	assert_int_equal(vars_set(&v, "_b2", "x=y=z"), 0);
	assert_int_equal(vars_set(&v, "EMPTY", ""), 0);
	assert_int_equal(vars_set(&v, "EIRC_A", "two"), 0); /* replaced */
	assert_string_equal(vars_get(&v, "EIRC_A"), "two");
	assert_string_equal(vars_get(&v, "_b2"), "x=y=z");
	assert_string_equal(vars_get(&v, "EMPTY"), "");
	assert_null(vars_get(&v, "EIRC"));
	assert_null(vars_get(&v, "EIRC_AB"));
	len = vars_format(&v, out);
	assert_int_equal(len, v.bytes);
	assert_memory_equal(out, "EIRC_A=two\n_b2=x=y=z\nEMPTY=\n", len);
	/* what cannot be a line */
	assert_int_equal(vars_set(&v, "EIRC_A", "a\nb"), -EINVAL);
	assert_int_equal(vars_set(&v, "1ABC", "x"), -EINVAL);
	assert_int_equal(vars_set(&v, "A-B", "x"), -EINVAL);
	assert_int_equal(vars_set(&v, "", "x"), -EINVAL);
	assert_string_equal(vars_get(&v, "EIRC_A"), "two");
	vars_clear(&v);
	assert_int_equal(v.n, 0);
	assert_int_equal(v.bytes, 0);
}

static void expect_parse(const char *text, size_t len, int code)
{
	vars_t v = VARS_INIT;

	assert_int_equal(vars_parse(&v, text, len), code);
	if (code < 0)
		assert_int_equal(v.n, 0);
	vars_clear(&v);
}

static void test_parse(void **state)
{
	static const char ok[] = "EIRC_WEBIRC_PASSWORD=s3cr=t\nX=\nY=withheld\n";
	vars_t v = VARS_INIT;

	(void)state;
	assert_int_equal(vars_parse(&v, ok, sizeof(ok) - 1), 0);
	assert_int_equal(v.n, 3);
	assert_string_equal(vars_get(&v, "EIRC_WEBIRC_PASSWORD"), "s3cr=t");
	assert_string_equal(vars_get(&v, "X"), "");
	vars_clear(&v);
	expect_parse("", 0, 0);
	/* cut anywhere but after a newline: malformed */
	for (size_t cut = 1; cut < sizeof(ok) - 1; cut++)
		expect_parse(ok, cut, ok[cut - 1] == '\n' ? 0 : -EINVAL);
	expect_parse("NOEQUALS\n", 9, -EINVAL);
	expect_parse("=value\n", 7, -EINVAL);
	expect_parse("9A=x\n", 5, -EINVAL);
	expect_parse("A B=x\n", 6, -EINVAL);
	expect_parse("A=x\nA=y\n", 8, -EINVAL); /* twice */
	expect_parse("A=x\0y\n", 6, -EINVAL);
	expect_parse("A=x\n\n", 5, -EINVAL);
}

/* n lines "V<i>=x" plus padding in the last value to reach bytes. */
static size_t make_text(char *buf, int n, size_t bytes)
{
	size_t o = 0;

	for (int i = 0; i < n; i++)
		o += (size_t)sprintf(buf + o, "V%d=x\n", i);
	if (o < bytes) { /* pad the last value */
		size_t pad = bytes - o;
		o--; /* its newline */
		memset(buf + o, 'p', pad);
		o += pad;
		buf[o++] = '\n';
	}
	return o;
}

static void test_parse_limits(void **state)
{
	static char buf[VARS_BYTES_MAX * 2];
	size_t len;

	(void)state;
	len = make_text(buf, VARS_MAX, 0);
	expect_parse(buf, len, 0);
	len = make_text(buf, VARS_MAX + 1, 0);
	expect_parse(buf, len, -E2BIG);
	len = make_text(buf, 2, VARS_BYTES_MAX);
	assert_int_equal(len, VARS_BYTES_MAX);
	expect_parse(buf, len, 0);
	len = make_text(buf, 2, VARS_BYTES_MAX + 1);
	expect_parse(buf, len, -E2BIG);
	/* vars_set refuses the same limits and leaves the table unchanged */
	vars_t v = VARS_INIT;
	char name[16];
	for (int i = 0; i < VARS_MAX; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		assert_int_equal(vars_set(&v, name, "x"), 0);
	}
	assert_int_equal(vars_set(&v, "ONE_MORE", "x"), -E2BIG);
	assert_int_equal(vars_set(&v, "V0", "y"), 0); /* a replacement fits */
	vars_clear(&v);
	static char big[VARS_BYTES_MAX];
	memset(big, 'b', sizeof(big) - 1);
	big[VARS_BYTES_MAX - strlen("B=\n")] = '\0';
	assert_int_equal(vars_set(&v, "B", big), 0);
	assert_int_equal(v.bytes, VARS_BYTES_MAX);
	assert_int_equal(vars_set(&v, "C", ""), -E2BIG);
	assert_int_equal(v.n, 1);
	vars_clear(&v);
}

/* vars_read of len bytes written into a pipe (then closed). */
static int read_pipe(const char *text, size_t len, vars_t *v)
{
	int p[2], r;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, 65536) >= 0, 1);
	assert_int_equal(write(p[1], text, len), (ssize_t)len);
	close(p[1]);
	r = vars_read(p[0], v);
	close(p[0]);
	return r;
}

static void test_read(void **state)
{
	static char buf[VARS_BYTES_MAX * 2];
	vars_t v = VARS_INIT;
	size_t len = make_text(buf, 3, VARS_BYTES_MAX);

	(void)state;
	assert_int_equal(read_pipe(buf, len, &v), 0);
	assert_int_equal(v.n, 3);
	assert_string_equal(vars_get(&v, "V0"), "x");
	vars_clear(&v);
	len = make_text(buf, 3, VARS_BYTES_MAX + 1);
	assert_int_equal(read_pipe(buf, len, &v), -E2BIG);
	assert_int_equal(v.n, 0);
	assert_int_equal(read_pipe("A=x", 3, &v), -EINVAL);
	assert_int_equal(read_pipe("", 0, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(vars_read(-1, &v), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
