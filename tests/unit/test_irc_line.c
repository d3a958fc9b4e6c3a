/*
 * irc_line unit tests: split, merged and one-byte-at-a-time input, lines at
 * the limit and one past it (default and caller limits, CRLF and bare LF),
 * resynchronisation after an oversized line, NUL and bare CR, and the
 * feed/drain contract when the buffer is full; strict mode (CRLF only) at
 * its limits, with bare LF refused and an oversized line dropped up to a
 * CRLF split across reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/irc_line.h"

#define EVENTS_MAX 64
#define TOO_LONG   "<too long>"
#define MALFORMED  "<malformed>"

/* What a stream produced: lines and errors, in order. */
struct events {
	size_t n;
	char *ev[EVENTS_MAX];
};

static void events_clear(struct events *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->ev[i]);
	e->n = 0;
}

static void events_add(struct events *e, const char *s, size_t len)
{
	assert_true(e->n < EVENTS_MAX);
	e->ev[e->n] = malloc(len + 1);
	assert_non_null(e->ev[e->n]);
	memcpy(e->ev[e->n], s, len);
	e->ev[e->n++][len] = '\0';
}

/* Drains lf until it needs more bytes, recording what comes out. */
static void drain(irc_line_t *lf, struct events *e)
{
	for (;;) {
		char *line;
		size_t len;
		int rc = irc_line_next(lf, &line, &len);

		if (rc == IRC_MSG_EAGAIN)
			return;
		if (rc == IRC_MSG_ETOOLONG) {
			events_add(e, TOO_LONG, strlen(TOO_LONG));
		} else if (rc == IRC_MSG_EMALFORMED) {
			events_add(e, MALFORMED, strlen(MALFORMED));
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(line), len); /* NUL-terminated, no NUL */
			assert_null(memchr(line, '\r', len));
			assert_null(memchr(line, '\n', len));
			assert_true(len + 1 <= lf->limit);
			events_add(e, line, len);
		}
	}
}

/* Feeds data in chunks of `chunk` bytes (0: all at once), draining. */
static void feed_all(irc_line_t *lf, const char *data, size_t len, size_t chunk, struct events *e)
{
	while (len > 0) {
		size_t n = chunk && chunk < len ? chunk : len;
		while (n > 0) {
			size_t took = irc_line_feed(lf, data, n);
			data += took;
			len -= took;
			n -= took;
			drain(lf, e);
		}
	}
}

static void assert_events(const struct events *e, const char *const *want, size_t n)
{
	assert_int_equal(e->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(e->ev[i], want[i]);
}

static const char STREAM[] =
	":irc.example.net 001 alice :Welcome to the eIRC IRC Network alice!u1@10.0.0.1\r\n"
	"@time=2024-05-01T10:00:00.000Z;msgid=a1 :bob!u2@h PRIVMSG #c :hi there\r\n"
	"PING :irc.example.net\n"
	"\r\n"
	"\n"
	":bob!u2@h QUIT :bye\r\n";

static const char *const STREAM_LINES[] = {
	":irc.example.net 001 alice :Welcome to the eIRC IRC Network alice!u1@10.0.0.1",
	"@time=2024-05-01T10:00:00.000Z;msgid=a1 :bob!u2@h PRIVMSG #c :hi there",
	"PING :irc.example.net",
	":bob!u2@h QUIT :bye",
};

static void test_stream_any_chunking(void **state)
{
	irc_line_t *lf = malloc(sizeof(*lf));
	struct events e = {0};

	assert_non_null(lf);
	for (size_t chunk = 0; chunk <= sizeof(STREAM); chunk++) {
		assert_int_equal(irc_line_init(lf, 0), 0);
		feed_all(lf, STREAM, sizeof(STREAM) - 1, chunk, &e);
		assert_events(&e, STREAM_LINES, 4);
		assert_int_equal(irc_line_pending(lf), 0);
		events_clear(&e);
	}
	free(lf);
}

static void test_need_more_bytes(void **state)
{
	static irc_line_t lf;
	char *line = NULL;
	size_t len = 99;

	assert_int_equal(irc_line_init(&lf, 0), 0);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_EAGAIN);
	assert_int_equal(irc_line_feed(&lf, "PRIV", 4), 4);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_EAGAIN);
	assert_int_equal(irc_line_feed(&lf, "MSG x\r", 6), 6);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_EAGAIN);
	assert_null(line);
	assert_int_equal(len, 99);
	assert_int_equal(irc_line_pending(&lf), 10);
	assert_int_equal(irc_line_feed(&lf, "\nPI", 3), 3);
	assert_int_equal(irc_line_next(&lf, &line, &len), 0);
	assert_string_equal(line, "PRIVMSG x");
	assert_int_equal(len, 9);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_EAGAIN);
	assert_int_equal(irc_line_pending(&lf), 2);
	assert_int_equal(irc_line_feed(&lf, NULL, 0), 0);
}

/* Builds a line of `total` bytes with its terminator, content 'x'. */
static char *make_line(size_t total, bool crlf)
{
	char *s = malloc(total + 1);
	size_t eol = crlf ? 2 : 1;

	assert_non_null(s);
	memset(s, 'x', total - eol);
	memcpy(s + total - eol, crlf ? "\r\n" : "\n", eol);
	s[total] = '\0';
	return s;
}

/* A line of exactly `limit` bytes passes, one past fails once and the
 * framer picks up the next line, for each chunking. strict: irc_line_init_strict
 * (lines end in CRLF; one past the limit, the buffer ends with the line's CR
 * and its LF comes with the next read). */
static void check_limit_mode(size_t limit, bool crlf, bool strict, size_t chunk)
{
	static irc_line_t lf;
	struct events e = {0};
	char *at = make_line(limit, crlf), *past = make_line(limit + 1, crlf);
	size_t n_at = limit - (crlf ? 2 : 1);
	size_t arg = limit == IRC_LINE_MAX ? 0 : limit;

	assert_int_equal(strict ? irc_line_init_strict(&lf, arg) : irc_line_init(&lf, arg), 0);
	feed_all(&lf, at, limit, chunk, &e);
	feed_all(&lf, past, limit + 1, chunk, &e);
	feed_all(&lf, "N\r\n", 3, chunk, &e); /* fits every limit tested */
	assert_int_equal(e.n, 3);
	assert_int_equal(strlen(e.ev[0]), n_at);
	assert_string_equal(e.ev[1], TOO_LONG);
	assert_string_equal(e.ev[2], "N");
	events_clear(&e);
	free(at);
	free(past);
}

static void check_limit(size_t limit, bool crlf, size_t chunk)
{
	check_limit_mode(limit, crlf, false, chunk);
}

static void test_limit_default(void **state)
{
	static const size_t chunks[] = {0, 1, 7, 512, 4096};

	assert_int_equal(IRC_LINE_MAX, 8191 + 512);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		check_limit(IRC_LINE_MAX, true, chunks[i]);
		check_limit(IRC_LINE_MAX, false, chunks[i]);
	}
}

static void test_limit_caller(void **state)
{
	static const size_t limits[] = {3, 16, IRC_MSG_MAX, IRC_LINE_MAX - 1};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		for (size_t chunk = 0; chunk < 5; chunk++) {
			check_limit(limits[i], true, chunk);
			check_limit(limits[i], false, chunk);
		}
	}
}

static void test_oversized_resync_in_one_read(void **state)
{
	static irc_line_t lf;
	struct events e = {0};
	static const char *const want[] = {"ok", TOO_LONG, "after", TOO_LONG, "end"};
	const char data[] = "ok\n0123456789abcdef\r\nafter\r\n0123456789abcdefghij\nend\n";

	assert_int_equal(irc_line_init(&lf, 10), 0);
	feed_all(&lf, data, sizeof(data) - 1, 0, &e);
	assert_events(&e, want, 5);
	events_clear(&e);
}

static void test_oversized_reported_before_its_end(void **state)
{
	static irc_line_t lf;
	char *line;
	size_t len;

	assert_int_equal(irc_line_init(&lf, 8), 0);
	assert_int_equal(irc_line_feed(&lf, "0123456789", 10), 8);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_ETOOLONG);
	assert_int_equal(irc_line_next(&lf, &line, &len), IRC_MSG_EAGAIN);
	assert_int_equal(irc_line_feed(&lf, "89", 2), 2); /* dropped */
	assert_int_equal(irc_line_pending(&lf), 0);
	assert_int_equal(irc_line_feed(&lf, "AB\r\nCD\n", 7), 7);
	assert_int_equal(irc_line_next(&lf, &line, &len), 0);
	assert_string_equal(line, "CD");
}

/* data[0..len) gives want[0..n) under every chunking from 0 to 3. */
static void expect_stream(bool strict, size_t limit, const char *data, size_t len,
			  const char *const *want, size_t n)
{
	static irc_line_t lf;
	struct events e = {0};

	for (size_t chunk = 0; chunk < 4; chunk++) {
		assert_int_equal(
			strict ? irc_line_init_strict(&lf, limit) : irc_line_init(&lf, limit), 0);
		feed_all(&lf, data, len, chunk, &e);
		assert_events(&e, want, n);
		events_clear(&e);
	}
}

static void test_malformed_lines(void **state)
{
	static const char *const want[] = {MALFORMED, "good",    MALFORMED, MALFORMED,
					   "x",       MALFORMED, "y"};
	const char data[] = "a\0b\r\ngood\r\nbare\rcr\r\ntwo\r\r\nx\n\r\r\ny\r\n";

	expect_stream(false, 0, data, sizeof(data) - 1, want, 7);
}

static void test_full_buffer_feed_contract(void **state)
{
	static irc_line_t lf;
	struct events e = {0};
	static const char *const want[] = {"ab", "cd", "ef", "gh", "ij"};
	const char data[] = "ab\ncd\nef\ngh\nij\n";
	size_t took;

	assert_int_equal(irc_line_init(&lf, 8), 0);
	took = irc_line_feed(&lf, data, sizeof(data) - 1);
	assert_int_equal(took, 8);
	assert_int_equal(irc_line_feed(&lf, data + took, sizeof(data) - 1 - took), 0);
	drain(&lf, &e);
	feed_all(&lf, data + took, sizeof(data) - 1 - took, 0, &e);
	assert_events(&e, want, 5);
	events_clear(&e);
}

static void test_init_limits(void **state)
{
	static irc_line_t lf;

	lf.limit = 42;
	assert_int_equal(irc_line_init(&lf, 1), IRC_MSG_EINVAL);
	assert_int_equal(irc_line_init(&lf, IRC_LINE_MAX + 1), IRC_MSG_EINVAL);
	assert_int_equal(lf.limit, 42);
	assert_int_equal(irc_line_init(&lf, 2), 0);
	assert_int_equal(irc_line_init(&lf, 0), 0);
	assert_int_equal(lf.limit, IRC_LINE_MAX);
}

static void test_strict_limits(void **state)
{
	static const size_t limits[] = {3, 16, IRC_LINE_MAX};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		for (size_t chunk = 0; chunk < 5; chunk++)
			check_limit_mode(limits[i], true, true, chunk);
}

static void test_strict_terminators(void **state)
{
	static irc_line_t lf;
	struct events e = {0};
	/* a bare LF or CR does not end a line, it spoils it up to its CRLF */
	static const char *const want[] = {MALFORMED, MALFORMED, MALFORMED, "OK"};
	const char data[] = "PRIVMSG #a :x\nQUIT\r\nPRIVMSG #a :y\rQUIT\r\nA\0B\r\n\r\nOK\r\n";
	static const char *const want1[] = {TOO_LONG, "after"};
	const char data1[] = "0123456789\n\rx\r\nafter\r\n";

	expect_stream(true, 0, data, sizeof(data) - 1, want, 4);
	expect_stream(true, 10, data1, sizeof(data1) - 1, want1, 2);
	/* discarding: a CR at the end of one read and LF at the start of the
	 * next end the oversized line; a CR then anything else does not */
	assert_int_equal(irc_line_init_strict(&lf, 4), 0);
	feed_all(&lf, "abcdef\r", 7, 0, &e);
	feed_all(&lf, "x\r", 2, 0, &e);
	feed_all(&lf, "\nok\r\n", 5, 0, &e);
	static const char *const want2[] = {TOO_LONG, "ok"};
	assert_events(&e, want2, 2);
	events_clear(&e);
	assert_int_equal(irc_line_init_strict(&lf, 1), IRC_MSG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_any_chunking),
		cmocka_unit_test(test_need_more_bytes),
		cmocka_unit_test(test_limit_default),
		cmocka_unit_test(test_limit_caller),
		cmocka_unit_test(test_oversized_resync_in_one_read),
		cmocka_unit_test(test_oversized_reported_before_its_end),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_full_buffer_feed_contract),
		cmocka_unit_test(test_init_limits),
		cmocka_unit_test(test_strict_limits),
		cmocka_unit_test(test_strict_terminators),
	};

	return cmocka_run_group_tests_name("irc_line", tests, NULL, NULL);
}
