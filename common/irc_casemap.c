/*
 * irc_casemap: IRC case folding and comparison (see irc_casemap.h). A
 * switch per byte rather than 256-byte tables: three tiny mappings, and
 * the code reads as the definition.
 */
#include "common/irc_casemap.h"

#include <string.h>

#define ISUPPORT_KEY "CASEMAPPING"

char irc_casemap_fold_char(enum irc_casemap cm, char c)
{
	if (cm == IRC_CASEMAP_NONE)
		return c;
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	if (cm == IRC_CASEMAP_ASCII)
		return c;
	switch (c) {
	case '[':
		return '{';
	case ']':
		return '}';
	case '\\':
		return '|';
	case '~':
		return cm == IRC_CASEMAP_RFC1459 ? '^' : c;
	default:
		return c;
	}
}

void irc_casemap_fold(enum irc_casemap cm, const char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = irc_casemap_fold_char(cm, in[i]);
}

void irc_casemap_fold_str(enum irc_casemap cm, const char *in, char *out, size_t cap)
{
	size_t n = strnlen(in, cap - 1);

	irc_casemap_fold(cm, in, n, out);
	out[n] = '\0';
}

int irc_casemap_cmp(enum irc_casemap cm, const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)irc_casemap_fold_char(cm, a[i]);
		unsigned char y = (unsigned char)irc_casemap_fold_char(cm, b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	if (a_len == b_len)
		return 0;
	return a_len < b_len ? -1 : 1;
}

bool irc_casemap_equal(enum irc_casemap cm, const char *a, size_t a_len, const char *b,
		       size_t b_len)
{
	return a_len == b_len && irc_casemap_cmp(cm, a, a_len, b, b_len) == 0;
}

static bool name_is(const char *name, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

int irc_casemap_from_name(const char *name, size_t len, enum irc_casemap *out_cm)
{
	if (name_is(name, len, "rfc1459"))
		*out_cm = IRC_CASEMAP_RFC1459;
	else if (name_is(name, len, "strict-rfc1459"))
		*out_cm = IRC_CASEMAP_STRICT_RFC1459;
	else if (name_is(name, len, "ascii"))
		*out_cm = IRC_CASEMAP_ASCII;
	else
		return -EINVAL;
	return 0;
}

int irc_casemap_from_isupport(const char *token, size_t len, enum irc_casemap *out_cm)
{
	size_t klen = sizeof(ISUPPORT_KEY) - 1;

	if (len == klen + 1 && token[0] == '-' && memcmp(token + 1, ISUPPORT_KEY, klen) == 0) {
		*out_cm = IRC_CASEMAP_DEFAULT;
		return 0;
	}
	if (len < klen || memcmp(token, ISUPPORT_KEY, klen) != 0 ||
	    (len > klen && token[klen] != '='))
		return -ENOENT;
	if (len == klen)
		return -EINVAL; /* "CASEMAPPING" without a value */
	return irc_casemap_from_name(token + klen + 1, len - klen - 1, out_cm);
}
