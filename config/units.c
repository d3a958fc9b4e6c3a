/*
 * units: parse and format the durations and sizes of eirc.yaml. Pure
 * functions over bytes; see units.h for the accepted forms.
 */
#include "config/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct units_unit {
	const char *name;
	uint64_t factor;
} units_unit_t;

/* Largest first, so formatting can pick the first exact one. */
static const units_unit_t units_durations[] = {
	{"d", 86400000u}, {"h", 3600000u}, {"m", 60000u}, {"s", 1000u}, {"ms", 1u},
};

static const units_unit_t units_sizes[] = {
	{"TiB", UINT64_C(1) << 40},
	{"GiB", UINT64_C(1) << 30},
	{"MiB", UINT64_C(1) << 20},
	{"KiB", UINT64_C(1) << 10},
	{"B", 1u},
};

#define UNITS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Leading decimal digits into *out_value; returns how many were read, or
 * 0 with *out_overflow set when they do not fit. */
static size_t units_digits(const char *text, size_t len, uint64_t *out_value, int *out_overflow)
{
	uint64_t v = 0;
	size_t i = 0;

	*out_overflow = 0;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		unsigned d = (unsigned)(text[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			*out_overflow = 1;
		else
			v = v * 10 + d;
	}
	*out_value = v;
	return i;
}

static int units_parse(const char *text, size_t len, const units_unit_t *units, size_t n_units,
		       int unit_optional, uint64_t *out)
{
	uint64_t v;
	int overflow;
	size_t n = units_digits(text, len, &v, &overflow);
	const char *unit = text + n;
	size_t unit_len = len - n;

	if (n == 0)
		return UNITS_ERR_NUMBER;
	if (unit_len == 0) {
		if (!unit_optional && v != 0)
			return UNITS_ERR_UNIT;
		if (overflow)
			return UNITS_ERR_RANGE;
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < n_units; i++) {
		if (strlen(units[i].name) != unit_len || memcmp(units[i].name, unit, unit_len) != 0)
			continue;
		if (overflow || v > UINT64_MAX / units[i].factor)
			return UNITS_ERR_RANGE;
		*out = v * units[i].factor;
		return 0;
	}
	return UNITS_ERR_UNIT;
}

int units_duration_parse(const char *text, size_t len, uint64_t *out_ms)
{
	return units_parse(text, len, units_durations, UNITS_COUNT(units_durations), 0, out_ms);
}

int units_size_parse(const char *text, size_t len, uint64_t *out_bytes)
{
	return units_parse(text, len, units_sizes, UNITS_COUNT(units_sizes), 1, out_bytes);
}

static char *units_format(uint64_t v, const units_unit_t *units, size_t n_units, const char *zero,
			  char *buf, size_t size)
{
	if (v == 0) {
		snprintf(buf, size, "%s", zero);
		return buf;
	}
	for (size_t i = 0; i < n_units; i++) {
		if (units[i].factor > 1 && v % units[i].factor == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", v / units[i].factor, units[i].name);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64 "%s", v, units[n_units - 1].name);
	return buf;
}

char *units_duration_format(uint64_t ms, char *buf, size_t size)
{
	return units_format(ms, units_durations, UNITS_COUNT(units_durations), "0s", buf, size);
}

char *units_size_format(uint64_t bytes, char *buf, size_t size)
{
	/* Plain bytes print without "B", the form most people write. */
	if (bytes % 1024 != 0 || bytes == 0) {
		snprintf(buf, size, "%" PRIu64, bytes);
		return buf;
	}
	return units_format(bytes, units_sizes, UNITS_COUNT(units_sizes), "0", buf, size);
}
