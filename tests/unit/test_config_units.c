/*
 * Unit tests of config/units.c: durations and sizes at their 64-bit limits
 * and one past, every unit, every malformed form, and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/units.h"

static int dur(const char *s, uint64_t *out)
{
	return units_duration_parse(s, strlen(s), out);
}

static int size(const char *s, uint64_t *out)
{
	return units_size_parse(s, strlen(s), out);
}

static void test_duration_units(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(dur("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(dur("180s", &v), 0);
	assert_int_equal(v, 180000);
	assert_int_equal(dur("5m", &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(dur("2h", &v), 0);
	assert_int_equal(v, 7200000);
	assert_int_equal(dur("30d", &v), 0);
	assert_int_equal(v, UINT64_C(2592000000));
	assert_int_equal(dur("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dur("007s", &v), 0);
	assert_int_equal(v, 7000);
}

static void test_duration_limits(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(dur("18446744073709551615ms", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(dur("18446744073709551616ms", &v), UNITS_ERR_RANGE);
	assert_int_equal(dur("99999999999999999999999999ms", &v), UNITS_ERR_RANGE);
	/* floor(UINT64_MAX / 86400000) = 213503982334 */
	assert_int_equal(dur("213503982334d", &v), 0);
	assert_true(v == UINT64_C(213503982334) * 86400000u);
	assert_int_equal(dur("213503982335d", &v), UNITS_ERR_RANGE);
	assert_int_equal(dur("5124095576030h", &v), 0);
	assert_int_equal(dur("5124095576031h", &v), UNITS_ERR_RANGE);
	assert_int_equal(dur("307445734561825m", &v), 0);
	assert_int_equal(dur("307445734561826m", &v), UNITS_ERR_RANGE);
	assert_int_equal(dur("18446744073709551s", &v), 0);
	assert_int_equal(dur("18446744073709552s", &v), UNITS_ERR_RANGE);
}

static void test_duration_malformed(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(dur("", &v), UNITS_ERR_NUMBER);
	assert_int_equal(dur("s", &v), UNITS_ERR_NUMBER);
	assert_int_equal(dur("-1s", &v), UNITS_ERR_NUMBER);
	assert_int_equal(dur(" 1s", &v), UNITS_ERR_NUMBER);
	assert_int_equal(dur("30", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("5x", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("5 s", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("1.5s", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("1h30m", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("5S", &v), UNITS_ERR_UNIT);
	assert_int_equal(dur("5sec", &v), UNITS_ERR_UNIT);
	assert_int_equal(v, 42); /* untouched on failure */
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(units_duration_parse("5msXX", 3, &v), 0);
	assert_int_equal(v, 5);
}

static void test_size_units_and_limits(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(size("512B", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(size("64KiB", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(size("8MiB", &v), 0);
	assert_int_equal(v, 8u << 20);
	assert_int_equal(size("1GiB", &v), 0);
	assert_int_equal(v, 1u << 30);
	assert_int_equal(size("2TiB", &v), 0);
	assert_true(v == UINT64_C(2) << 40);
	assert_int_equal(size("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(size("18446744073709551616", &v), UNITS_ERR_RANGE);
	assert_int_equal(size("17179869183GiB", &v), 0);
	assert_int_equal(size("17179869184GiB", &v), UNITS_ERR_RANGE);
	assert_int_equal(size("16777215TiB", &v), 0);
	assert_int_equal(size("16777216TiB", &v), UNITS_ERR_RANGE);
}

static void test_size_malformed(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(size("", &v), UNITS_ERR_NUMBER);
	assert_int_equal(size("KiB", &v), UNITS_ERR_NUMBER);
	assert_int_equal(size("64KB", &v), UNITS_ERR_UNIT);
	assert_int_equal(size("8MB", &v), UNITS_ERR_UNIT);
	assert_int_equal(size("1k", &v), UNITS_ERR_UNIT);
	assert_int_equal(size("1kib", &v), UNITS_ERR_UNIT);
	assert_int_equal(size("1 KiB", &v), UNITS_ERR_UNIT);
	assert_int_equal(v, 7);
}

static void test_format(void **state)
{
	char b[UNITS_FORMAT_MAX];

	(void)state;
	assert_string_equal(units_duration_format(0, b, sizeof(b)), "0s");
	assert_string_equal(units_duration_format(180000, b, sizeof(b)), "3m");
	assert_string_equal(units_duration_format(1500, b, sizeof(b)), "1500ms");
	assert_string_equal(units_duration_format(86400000, b, sizeof(b)), "1d");
	assert_string_equal(units_duration_format(UINT64_MAX, b, sizeof(b)),
			    "18446744073709551615ms");
	assert_string_equal(units_size_format(0, b, sizeof(b)), "0");
	assert_string_equal(units_size_format(1000, b, sizeof(b)), "1000");
	assert_string_equal(units_size_format(65536, b, sizeof(b)), "64KiB");
	assert_string_equal(units_size_format(3u << 20, b, sizeof(b)), "3MiB");
	assert_string_equal(units_size_format(UINT64_MAX, b, sizeof(b)), "18446744073709551615");
	assert_string_equal(units_size_format(UINT64_MAX - 1023, b, sizeof(b)),
			    "18014398509481983KiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_limits),
		cmocka_unit_test(test_duration_malformed),
		cmocka_unit_test(test_size_units_and_limits),
		cmocka_unit_test(test_size_malformed),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
