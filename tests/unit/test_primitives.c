/*
 * Unit tests of common/'s primitives: queue (insert, remove twice, move,
 * removal while walking), backoff (doubling, ceiling, jitter range, no
 * overflow at huge attempts), tokbucket (burst, refill, wait, n > burst),
 * buf (limit exactly and one past, consume/append cycles, printf, steal,
 * truncate at the length, one past it and below, after a consume)
 * and err (cut at EIRC_ERR_MAX - 1, NULL target).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/backoff.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/queue.h"
#include "common/tokbucket.h"

struct item {
	int v;
	queue_t node;
};

static int collect(queue_t *h, int *out, int max)
{
	queue_t *q;
	int n = 0;

	QUEUE_FOREACH(q, h) {
		if (n < max)
			out[n] = queue_data(q, struct item, node)->v;
		n++;
	}
	return n;
}

static void test_queue(void **state)
{
	struct item it[5];
	queue_t h, other, *q, *n;
	int got[8];

	queue_init(&h);
	queue_init(&other);
	assert_true(queue_empty(&h));
	assert_ptr_equal(queue_head(&h), &h);
	for (int i = 0; i < 5; i++) {
		it[i].v = i;
		queue_insert_tail(&h, &it[i].node);
	}
	assert_int_equal(collect(&h, got, 8), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(got[i], i);
	queue_remove(&it[2].node);
	queue_remove(&it[2].node); /* a second removal is a no-op */
	assert_int_equal(collect(&h, got, 8), 4);
	assert_int_equal(got[2], 3);
	queue_insert_head(&h, &it[2].node);
	assert_int_equal(queue_data(queue_head(&h), struct item, node)->v, 2);
	assert_int_equal(queue_data(queue_tail(&h), struct item, node)->v, 4);
	QUEUE_FOREACH_SAFE(q, n, &h) {
		if (queue_data(q, struct item, node)->v % 2)
			queue_remove(q);
	}
	assert_int_equal(collect(&h, got, 8), 3);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2], 4);
	queue_insert_tail(&other, &it[1].node);
	queue_move(&h, &other);
	assert_true(queue_empty(&h));
	assert_int_equal(collect(&other, got, 8), 4);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[3], 4);
	queue_move(&h, &other); /* moving an empty list changes nothing */
	assert_int_equal(collect(&other, got, 8), 4);
}

static void test_backoff(void **state)
{
	backoff_t b;
	uint64_t d;

	assert_int_equal(backoff_delay(100, 5000, 0, 0), 100);
	assert_int_equal(backoff_delay(100, 5000, 1, 0), 200);
	assert_int_equal(backoff_delay(100, 5000, 5, 0), 3200);
	assert_int_equal(backoff_delay(100, 5000, 6, 0), 5000);
	assert_int_equal(backoff_delay(100, 5000, 6, 1023), 2500);
	assert_int_equal(backoff_delay(100, 5000, 4000000000u, 0), 5000);
	assert_int_equal(backoff_delay(0, 10, 0, 0), 1); /* min 0 is taken as 1 */
	backoff_init(&b, 100, 1000, 0);
	for (int i = 0; i < 50; i++) {
		d = backoff_next(&b);
		assert_true(d <= 1000);
		assert_true(d >= 50);
	}
	assert_int_equal(b.attempt, 50);
	backoff_reset(&b);
	d = backoff_next(&b);
	assert_true(d >= 50 && d <= 100);
}

static void test_tokbucket(void **state)
{
	tokbucket_t b;

	tokbucket_init(&b, 10, 5, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(tokbucket_take(&b, 1, 1000));
	assert_false(tokbucket_take(&b, 1, 1000));
	assert_int_equal(tokbucket_wait_ms(&b, 1, 1000), 100);
	assert_false(tokbucket_take(&b, 1, 1099));
	assert_true(tokbucket_take(&b, 1, 1100));
	assert_int_equal(tokbucket_wait_ms(&b, 6, 1100), UINT64_MAX); /* past the burst */
	assert_int_equal(tokbucket_wait_ms(&b, 5, 1100), 500);
	assert_true(tokbucket_take(&b, 5, 1000000)); /* refill stops at the burst */
	assert_false(tokbucket_take(&b, 1, 1000000));
	tokbucket_init(&b, 0, 1, 0);
	assert_true(tokbucket_take(&b, 1, 0));
	assert_int_equal(tokbucket_wait_ms(&b, 1, 5), UINT64_MAX);
	assert_false(tokbucket_take(&b, 1, 100000)); /* rate 0: no refill after a long pause */
}

static void test_buf(void **state)
{
	buf_t b;
	char *s;

	buf_init(&b, 8);
	assert_string_equal(buf_data(&b), "");
	assert_int_equal(buf_append(&b, "12345678", 8), 0);  /* at the limit */
	assert_int_equal(buf_append(&b, "9", 1), -EMSGSIZE); /* one past */
	assert_int_equal(buf_len(&b), 8);
	assert_string_equal(buf_data(&b), "12345678");
	buf_consume(&b, 3);
	assert_string_equal(buf_data(&b), "45678");
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_string_equal(buf_data(&b), "45678abc");
	assert_int_equal(buf_printf(&b, "%d", 1), -EMSGSIZE);
	buf_consume(&b, 100);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_printf(&b, "%s-%d", "ab", 42), 0);
	assert_string_equal(buf_data(&b), "ab-42");
	s = buf_steal(&b);
	assert_string_equal(s, "ab-42");
	free(s);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_string_equal(buf_data(&b), "");
	for (int i = 0; i < 1000; i++) { /* append/consume cycles stay in bounds */
		assert_int_equal(buf_append(&b, "xyz", 3), 0);
		buf_consume(&b, 2);
		if (buf_len(&b) > 5)
			buf_consume(&b, buf_len(&b));
	}
	assert_true(b.cap <= 8);
	buf_free(&b);
	s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
}

static void test_buf_truncate(void **state)
{
	buf_t b;

	(void)state;
	buf_init(&b, 8);
	buf_truncate(&b, 0); /* nothing held, no memory: a no-op */
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_data(&b), "");
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	buf_truncate(&b, 8); /* at the length: unchanged */
	assert_int_equal(buf_len(&b), 8);
	assert_string_equal(buf_data(&b), "12345678");
	buf_truncate(&b, 9); /* one past: unchanged, nothing grows */
	assert_int_equal(buf_len(&b), 8);
	assert_string_equal(buf_data(&b), "12345678");
	buf_truncate(&b, 7); /* one below: the last byte goes */
	assert_int_equal(buf_len(&b), 7);
	assert_string_equal(buf_data(&b), "1234567");
	assert_int_equal(buf_append(&b, "x", 1), 0); /* room again up to the limit */
	assert_int_equal(buf_append(&b, "y", 1), -EMSGSIZE);
	assert_string_equal(buf_data(&b), "1234567x");
	buf_consume(&b, 3); /* counts from the unconsumed front */
	buf_truncate(&b, 2);
	assert_int_equal(buf_len(&b), 2);
	assert_string_equal(buf_data(&b), "45");
	buf_truncate(&b, 0);
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(buf_data(&b), "");
	assert_int_equal(buf_append(&b, "abcdefgh", 8), 0);
	assert_string_equal(buf_data(&b), "abcdefgh");
	buf_free(&b);
}

static void test_err(void **state)
{
	eirc_err_t e;
	char big[EIRC_ERR_MAX * 2];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(eirc_err_set(&e, -EINVAL, "bad %s", "key"), -EINVAL);
	assert_string_equal(e.text, "bad key");
	assert_int_equal(eirc_err_set(&e, -E2BIG, "%s", big), -E2BIG);
	assert_int_equal(strlen(e.text), EIRC_ERR_MAX - 1);
	assert_int_equal(eirc_err_set(NULL, -ENOENT, "ignored"), -ENOENT);
}

static void test_clock(void **state)
{
	uint64_t a = clock_mono_ms(), b = clock_mono_ms();

	assert_true(b >= a);
	assert_true(clock_wall_ms() > INT64_C(1600000000000)); /* after 2020 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue),        cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_tokbucket),    cmocka_unit_test(test_buf),
		cmocka_unit_test(test_buf_truncate), cmocka_unit_test(test_err),
		cmocka_unit_test(test_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
