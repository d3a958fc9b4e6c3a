/*
 * vars: the NAME=value table of fd 4. See vars.h.
 */
#include "common/vars.h"

#include "common/read_all.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= VARS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

bool vars_name_ok(const char *name)
{
	return name_ok(name, strlen(name));
}

static int find(const vars_t *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strncmp(v->line[i], name, len) && v->line[i][len] == '=')
			return (int)i;
	return -1;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Sets the line for the first nlen bytes of name (value: vlen bytes). */
static int set(vars_t *v, const char *name, size_t nlen, const char *value, size_t vlen)
{
	int i = find(v, name, nlen);
	size_t old = i >= 0 ? strlen(v->line[i]) + 1 : 0, add = nlen + vlen + 2;
	char *s;

	if (!name_ok(name, nlen) || memchr(value, '\n', vlen) || memchr(value, '\0', vlen))
		return -EINVAL;
	if ((i < 0 && v->n == VARS_MAX) || v->bytes - old + add > VARS_BYTES_MAX)
		return -E2BIG;
	if (!(s = malloc(add)))
		return -ENOMEM;
	memcpy(s, name, nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, value, vlen);
	s[add - 1] = '\0';
	if (i >= 0)
		wipe_free(v->line[i]);
	else
		i = (int)v->n++;
	v->line[i] = s;
	v->bytes = v->bytes - old + add;
	return 0;
}

int vars_set(vars_t *v, const char *name, const char *value)
{
	return set(v, name, strlen(name), value, strlen(value));
}

const char *vars_get(const vars_t *v, const char *name)
{
	size_t len = strlen(name);
	int i = find(v, name, len);

	return i < 0 ? NULL : v->line[i] + len + 1;
}

size_t vars_format(const vars_t *v, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < v->n; i++) {
		size_t len = strlen(v->line[i]);
		memcpy(out + o, v->line[i], len);
		out[o + len] = '\n';
		o += len + 1;
	}
	return o;
}

int vars_parse(vars_t *v, const char *buf, size_t len)
{
	size_t i = 0;
	int r = 0;

	if (len > VARS_BYTES_MAX)
		return -E2BIG;
	while (r == 0 && i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		const char *eq = memchr(buf + i, '=', nl ? (size_t)(nl - buf) - i : len - i);
		if (!nl || !eq)
			r = -EINVAL;
		else if (find(v, buf + i, (size_t)(eq - buf) - i) >= 0)
			r = -EINVAL; /* twice */
		else
			r = set(v, buf + i, (size_t)(eq - buf) - i, eq + 1, (size_t)(nl - eq) - 1);
		if (nl)
			i = (size_t)(nl - buf) + 1;
	}
	if (r < 0)
		vars_clear(v);
	return r;
}

int vars_read(int fd, vars_t *v)
{
	char buf[VARS_BYTES_MAX + 1];
	size_t len;
	int r = read_all(fd, buf, sizeof(buf), &len);

	if (r == 0)
		r = len > VARS_BYTES_MAX ? -E2BIG : vars_parse(v, buf, len);
	explicit_bzero(buf, len);
	return r;
}

void vars_clear(vars_t *v)
{
	for (size_t i = 0; i < v->n; i++)
		wipe_free(v->line[i]);
	memset(v, 0, sizeof(*v));
}
