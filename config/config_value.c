/*
 * config_value: typed parsing of one scalar per schema row, ${VAR}
 * expansion, defaults and freeing. See config_value.h.
 */
#include "config/config_value.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "config/units.h"

/* Longest quoted value in a message, before "...". */
#define VALUE_QUOTE_MAX 40

static int value_fail(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int value_fail(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

char *config_value_quote(const char *text, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	if (size < VALUE_QUOTE_MAX * 4 + 8) {
		snprintf(buf, size, "\"...\"");
		return buf;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < len && i < VALUE_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	o += (size_t)snprintf(buf + o, size - o, "%s\"", len > VALUE_QUOTE_MAX ? "..." : "");
	return buf;
}

/* Optional '-', then decimal digits; -ERANGE past int64. */
static int value_parse_i64(const char *text, size_t len, int64_t *out)
{
	bool neg = len > 0 && text[0] == '-';
	size_t i = neg ? 1 : 0;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	bool overflow = false;

	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(text[i] - '0');
		if (v > (lim - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (overflow)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int value_int(const config_field_t *f, const char *text, size_t len, void *slot, char *msg,
		     size_t size)
{
	char q[VALUE_QUOTE_MAX * 4 + 8];
	int64_t lo = f->imin, hi = f->imax, v = 0;
	int r = value_parse_i64(text, len, &v);

	if (f->type == CONFIG_T_PORT) {
		lo = (f->flags & CONFIG_F_PORT_ZERO) ? 0 : 1;
		hi = 65535;
	}
	if (r == -EINVAL)
		return value_fail(msg, size, "expected %s, got %s",
				  f->type == CONFIG_T_PORT ? "a port number" : "an integer",
				  config_value_quote(text, len, q, sizeof(q)));
	if (r == -ERANGE || v < lo || v > hi)
		return value_fail(msg, size, "%.*s is out of range (%" PRId64 "..%" PRId64 ")",
				  (int)len, text, lo, hi);
	*(int *)slot = (int)v;
	return 0;
}

static int value_bool(const char *text, size_t len, void *slot, char *msg, size_t size)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	char q[VALUE_QUOTE_MAX * 4 + 8];

	for (size_t i = 0; i < 3; i++) {
		if (strlen(yes[i]) == len && memcmp(yes[i], text, len) == 0) {
			*(bool *)slot = true;
			return 0;
		}
		if (strlen(no[i]) == len && memcmp(no[i], text, len) == 0) {
			*(bool *)slot = false;
			return 0;
		}
	}
	return value_fail(msg, size, "expected true or false, got %s",
			  config_value_quote(text, len, q, sizeof(q)));
}

static int value_enum(const config_field_t *f, const char *text, size_t len, void *slot, char *msg,
		      size_t size)
{
	char q[VALUE_QUOTE_MAX * 4 + 8], allowed[CONFIG_MSG_MAX] = "";
	size_t o = 0;

	for (int i = 0; f->values[i]; i++) {
		if (strlen(f->values[i]) == len && memcmp(f->values[i], text, len) == 0) {
			memcpy(slot, &i, sizeof(i)); /* enums are int-sized, see config.h */
			return 0;
		}
		if (o < sizeof(allowed))
			o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
					      i ? ", " : "", f->values[i]);
	}
	return value_fail(msg, size, "bad value %s (allowed: %s)",
			  config_value_quote(text, len, q, sizeof(q)), allowed);
}

static int value_units(const config_field_t *f, const char *text, size_t len, void *slot, char *msg,
		       size_t size)
{
	bool dur = f->type == CONFIG_T_DURATION;
	const char *what = dur ? "duration" : "size";
	const char *list = dur ? UNITS_DURATION_LIST : UNITS_SIZE_LIST;
	char q[VALUE_QUOTE_MAX * 4 + 8], lo[UNITS_FORMAT_MAX], hi[UNITS_FORMAT_MAX];
	uint64_t v = 0;
	size_t digits = 0;
	int r = dur ? units_duration_parse(text, len, &v) : units_size_parse(text, len, &v);

	config_value_quote(text, len, q, sizeof(q));
	while (digits < len && text[digits] >= '0' && text[digits] <= '9')
		digits++;
	if (r == UNITS_ERR_NUMBER)
		return value_fail(msg, size,
				  "bad %s %s: expected a number and a "
				  "unit (use %s)",
				  what, q, list);
	if (r == UNITS_ERR_UNIT && digits == len)
		return value_fail(msg, size, "bad %s %s: missing unit (use %s)", what, q, list);
	if (r == UNITS_ERR_UNIT) {
		char u[VALUE_QUOTE_MAX * 4 + 8];
		return value_fail(msg, size, "bad %s %s: unknown unit %s (use %s)", what, q,
				  config_value_quote(text + digits, len - digits, u, sizeof(u)),
				  list);
	}
	if (r == UNITS_ERR_RANGE)
		return value_fail(msg, size, "bad %s %s: too large", what, q);
	if (v < f->umin || v > f->umax) {
		if (dur) {
			units_duration_format(f->umin, lo, sizeof(lo));
			units_duration_format(f->umax, hi, sizeof(hi));
		} else {
			units_size_format(f->umin, lo, sizeof(lo));
			units_size_format(f->umax, hi, sizeof(hi));
		}
		return value_fail(msg, size, "%.*s is out of range (%s..%s)", (int)len, text, lo,
				  hi);
	}
	*(uint64_t *)slot = v;
	return 0;
}

static int value_mode(const char *text, size_t len, void *slot, char *msg, size_t size)
{
	char q[VALUE_QUOTE_MAX * 4 + 8];
	unsigned v = 0;

	if (len == 0 || len > 4)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '7')
			goto bad;
		v = v * 8 + (unsigned)(text[i] - '0');
	}
	if (v > 0777)
		goto bad;
	*(unsigned *)slot = v;
	return 0;
bad:
	return value_fail(msg, size,
			  "expected an octal file mode from 0000 to "
			  "0777, got %s",
			  config_value_quote(text, len, q, sizeof(q)));
}

static int value_string(const config_field_t *f, const char *text, size_t len, bool is_null,
			void *slot, char *msg, size_t size)
{
	size_t max = f->umax ? (size_t)f->umax : CONFIG_STRING_MAX;
	char **dst = slot, *copy;
	const char *why;

	if (is_null || len == 0) {
		if (f->flags & CONFIG_F_REQUIRED)
			return value_fail(msg, size, "must not be empty");
		free(*dst);
		*dst = NULL;
		return 0;
	}
	if (len > max)
		return value_fail(msg, size, "longer than %zu bytes", max);
	if (memchr(text, '\0', len))
		return value_fail(msg, size, "contains a NUL byte");
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	why = f->validate ? f->validate->check(copy) : NULL;
	if (why) {
		free(copy);
		return value_fail(msg, size, "%s", why);
	}
	free(*dst);
	*dst = copy;
	return 0;
}

int config_value_set(const config_field_t *f, const char *text, size_t len, bool is_null,
		     void *slot, char *msg, size_t msg_size)
{
	switch (f->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_SECRET:
	case CONFIG_T_PATH:
		return value_string(f, text, len, is_null, slot, msg, msg_size);
	default:
		break;
	}
	if (is_null)
		return value_fail(msg, msg_size, "missing value (expected %s)",
				  config_schema_type_noun(f->type));
	switch (f->type) {
	case CONFIG_T_BOOL:
		return value_bool(text, len, slot, msg, msg_size);
	case CONFIG_T_INT:
	case CONFIG_T_PORT:
		return value_int(f, text, len, slot, msg, msg_size);
	case CONFIG_T_ENUM:
		return value_enum(f, text, len, slot, msg, msg_size);
	case CONFIG_T_DURATION:
	case CONFIG_T_SIZE:
		return value_units(f, text, len, slot, msg, msg_size);
	case CONFIG_T_MODE:
		return value_mode(text, len, slot, msg, msg_size);
	default:
		return value_fail(msg, msg_size, "not a scalar key");
	}
}

/* ---- ${VAR} expansion ---- */

/* The reference "${NAME}" at text[i], i pointing at '$'; adds its value
 * and reports the name to on_ref. */
static int value_expand_ref(buf_t *b, const char *text, size_t len, size_t *io_i,
			    const config_value_refs_t *refs, char *msg, size_t size)
{
	size_t start = *io_i + 2, end = start;
	char name[128], q[VALUE_QUOTE_MAX * 4 + 8];
	const char *v;
	int r;

	while (end < len && text[end] != '}')
		end++;
	if (end == len)
		return value_fail(msg, size,
				  "unterminated \"${\" (write \"$${\" for "
				  "a literal \"${\")");
	for (size_t k = start; k < end; k++) {
		char c = text[k];
		bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (k > start && c >= '0' && c <= '9');
		if (!ok || end - start >= sizeof(name))
			return value_fail(
				msg, size, "bad variable name %s",
				config_value_quote(text + start, end - start, q, sizeof(q)));
	}
	if (end == start)
		return value_fail(msg, size, "empty variable name in \"${}\"");
	memcpy(name, text + start, end - start);
	name[end - start] = '\0';
	if ((r = refs->lookup(refs->ud, name, &v, msg, size)) != 0)
		return r;
	if ((r = refs->on_ref(refs->ud, name, msg, size)) != 0)
		return r;
	*io_i = end + 1;
	return buf_append(b, v, strlen(v));
}

int config_value_expand(const char *text, size_t len, const config_value_refs_t *refs,
			char **out_text, size_t *out_len, char *msg, size_t msg_size)
{
	buf_t b;
	size_t i = 0;
	int r = 0;

	buf_init(&b, CONFIG_STRING_MAX);
	while (r == 0 && i < len) {
		size_t run = i;
		while (run < len && text[run] != '$')
			run++;
		r = buf_append(&b, text + i, run - i);
		i = run;
		if (r != 0 || i == len)
			break;
		if (i + 2 < len && text[i + 1] == '$' && text[i + 2] == '{') {
			r = buf_append(&b, "${", 2);
			i += 3;
		} else if (i + 1 < len && text[i + 1] == '{') {
			r = value_expand_ref(&b, text, len, &i, refs, msg, msg_size);
		} else {
			r = buf_append(&b, "$", 1);
			i++;
		}
	}
	if (r == -EMSGSIZE)
		r = value_fail(msg, msg_size,
			       "longer than %d bytes "
			       "(CONFIG_STRING_MAX)",
			       CONFIG_STRING_MAX);
	if (r == 0) {
		size_t n = buf_len(&b);
		char *t = buf_steal(&b);
		if (!t)
			r = -ENOMEM;
		else
			*out_text = t, *out_len = n;
	}
	buf_free(&b);
	return r;
}

/* ---- defaults and freeing ---- */

int config_value_defaults(const config_section_t *sec, void *base, char *msg, size_t msg_size)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		const config_field_t *f = &sec->fields[i];
		char *slot = (char *)base + f->offset;
		char why[CONFIG_MSG_MAX];
		int r = 0;

		if (f->type == CONFIG_T_SECTION)
			r = config_value_defaults(f->sub, slot, msg, msg_size);
		else if (f->def)
			r = config_value_set(f, f->def, strlen(f->def), false, slot, why,
					     sizeof(why));
		if (r == -EINVAL && f->type != CONFIG_T_SECTION)
			snprintf(msg, msg_size, "bad default of %s%s%s: %s", sec->name,
				 *sec->name ? "." : "", f->name, why);
		if (r != 0)
			return r;
	}
	return 0;
}

static void value_free_list(const config_field_t *f, char *slot, char *count)
{
	size_t n = *(size_t *)count;

	if (f->type == CONFIG_T_STRLIST) {
		char **v = *(char ***)slot;
		for (size_t k = 0; k < n; k++)
			free(v[k]);
		free(v);
		*(char ***)slot = NULL;
	} else {
		char *v = *(char **)slot;
		for (size_t k = 0; k < n; k++)
			config_value_free_section(f->sub, v + k * f->sub->size);
		free(v);
		*(char **)slot = NULL;
	}
	*(size_t *)count = 0;
}

void config_value_free_section(const config_section_t *sec, void *base)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		const config_field_t *f = &sec->fields[i];
		char *slot = (char *)base + f->offset;

		switch (f->type) {
		case CONFIG_T_STRING:
		case CONFIG_T_SECRET:
		case CONFIG_T_PATH:
			free(*(char **)slot);
			*(char **)slot = NULL;
			break;
		case CONFIG_T_STRLIST:
		case CONFIG_T_SECTION_LIST:
			value_free_list(f, slot, (char *)base + f->count_offset);
			break;
		case CONFIG_T_SECTION:
			config_value_free_section(f->sub, slot);
			break;
		default:
			break;
		}
	}
}
