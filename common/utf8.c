/*
 * utf8: strict validation and maximal-subpart repair (see utf8.h).
 *
 * Every function walks the input with seq_scan(), which follows the table of
 * well-formed byte sequences (Unicode §3.9, Table 3-7): the second byte's
 * range depends on the lead byte (E0: A0..BF, ED: 80..9F, F0: 90..BF,
 * F4: 80..8F), which is what rules out overlongs, surrogates and values
 * above U+10FFFF without decoding first.
 */
#include "common/utf8.h"

#include <string.h>

/*
 * Examines the sequence starting at s[0] (len > 0). Returns how many bytes
 * it spans: a valid sequence's length (*out_status 0, *out_cp set), or the
 * length of the maximal subpart of an ill-formed one (*out_status
 * UTF8_EILSEQ, or UTF8_EAGAIN when the subpart is cut by the buffer end).
 */
static size_t seq_scan(const unsigned char *s, size_t len, uint32_t *out_cp, int *out_status)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xBF;
	size_t need;
	uint32_t c;

	if (b < 0x80) {
		*out_cp = b;
		*out_status = 0;
		return 1;
	}
	if (b < 0xC2 || b > 0xF4) {
		*out_status = UTF8_EILSEQ;
		return 1;
	}
	if (b < 0xE0) {
		need = 2;
		c = b & 0x1Fu;
	} else if (b < 0xF0) {
		need = 3;
		c = b & 0x0Fu;
		lo = b == 0xE0 ? 0xA0 : 0x80;
		hi = b == 0xED ? 0x9F : 0xBF;
	} else {
		need = 4;
		c = b & 0x07u;
		lo = b == 0xF0 ? 0x90 : 0x80;
		hi = b == 0xF4 ? 0x8F : 0xBF;
	}
	for (size_t i = 1; i < need; i++) {
		if (i == len) {
			*out_status = UTF8_EAGAIN;
			return i;
		}
		if (s[i] < lo || s[i] > hi) {
			*out_status = UTF8_EILSEQ;
			return i;
		}
		lo = 0x80;
		hi = 0xBF;
		c = (c << 6) | (s[i] & 0x3Fu);
	}
	*out_cp = c;
	*out_status = 0;
	return need;
}

int utf8_decode(const char *s, size_t len, uint32_t *out_cp)
{
	uint32_t cp = 0;
	int status;
	size_t n;

	if (len == 0)
		return UTF8_EAGAIN;
	n = seq_scan((const unsigned char *)s, len, &cp, &status);
	if (status < 0)
		return status;
	*out_cp = cp;
	return (int)n;
}

int utf8_encode(uint32_t cp, char out[UTF8_SEQ_MAX])
{
	if (cp > UTF8_CODEPOINT_MAX || (cp >= 0xD800 && cp <= 0xDFFF))
		return UTF8_EINVAL;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t utf8_valid_prefix(const char *s, size_t len, bool *out_incomplete)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		int status;
		size_t n;

		/* ASCII fast path: the common case in chat text. */
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		n = seq_scan(u + i, len - i, &cp, &status);
		if (status < 0) {
			if (out_incomplete)
				*out_incomplete = status == UTF8_EAGAIN;
			return i;
		}
		i += n;
	}
	return len;
}

bool utf8_is_valid(const char *s, size_t len)
{
	return utf8_valid_prefix(s, len, NULL) == len;
}

size_t utf8_sanitized_len(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, out = 0;

	while (i < len) {
		uint32_t cp;
		int status;
		size_t n = seq_scan(u + i, len - i, &cp, &status);

		out += status < 0 ? UTF8_REPLACEMENT_LEN : n;
		i += n;
	}
	return out;
}

int utf8_sanitize(const char *s, size_t len, char *out, size_t cap, size_t *out_len)
{
	static const char repl[UTF8_REPLACEMENT_LEN] = {'\xEF', '\xBF', '\xBD'};
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, w = 0, need = utf8_sanitized_len(s, len);

	if (need > cap)
		return UTF8_ENOBUFS;
	while (i < len) {
		uint32_t cp;
		int status;
		size_t n = seq_scan(u + i, len - i, &cp, &status);

		if (status < 0) {
			memcpy(out + w, repl, UTF8_REPLACEMENT_LEN);
			w += UTF8_REPLACEMENT_LEN;
		} else {
			memcpy(out + w, s + i, n);
			w += n;
		}
		i += n;
	}
	*out_len = w;
	return 0;
}
