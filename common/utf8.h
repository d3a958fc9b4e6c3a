/*
 * utf8: strict UTF-8 validation, decoding and repair over byte buffers.
 *
 * Strict means RFC 3629 / Unicode 15 §3.9: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no 0xC0, 0xC1, 0xF5..0xFF. NUL
 * (U+0000) is valid UTF-8; refusing it is the IRC codec's business. Repair
 * replaces each maximal subpart of an ill-formed sequence with one U+FFFD
 * (Unicode "U+FFFD substitution of maximal subparts", as the WHATWG
 * Encoding standard decodes).
 *
 * Not here: normalization, case folding, grapheme or width logic.
 */
#ifndef EIRC_COMMON_UTF8_H
#define EIRC_COMMON_UTF8_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_CODEPOINT_MAX   0x10FFFFu
#define UTF8_SEQ_MAX         4 /* bytes in one encoded code point */
#define UTF8_REPLACEMENT_LEN 3 /* U+FFFD encoded: "\xEF\xBF\xBD" */

/* Worst-case output of utf8_sanitize() for n input bytes (every byte
 * replaced). n must be below SIZE_MAX / 3. */
#define UTF8_SANITIZE_MAX(n) ((n)*UTF8_REPLACEMENT_LEN)

#define UTF8_EILSEQ  (-EILSEQ)  /* ill-formed sequence */
#define UTF8_EAGAIN  (-EAGAIN)  /* valid so far, but cut short */
#define UTF8_EINVAL  (-EINVAL)  /* not a Unicode scalar value */
#define UTF8_ENOBUFS (-ENOBUFS) /* output buffer too small */

/*
 * Decodes the code point at s[0..len) (len > 0). Returns its length in bytes
 * (1 to 4) and stores it in *out_cp; UTF8_EAGAIN when s is a valid but
 * incomplete start of a sequence (more bytes could complete it), or
 * UTF8_EILSEQ.
 */
int utf8_decode(const char *s, size_t len, uint32_t *out_cp);

/*
 * Encodes cp into out[0..4). Returns its length (1 to 4), or UTF8_EINVAL for
 * a surrogate or a value above U+10FFFF.
 */
int utf8_encode(uint32_t cp, char out[UTF8_SEQ_MAX]);

/* Returns true when s[0..len) is entirely valid UTF-8. */
bool utf8_is_valid(const char *s, size_t len);

/*
 * Returns the length of the longest prefix of s[0..len) that is valid
 * UTF-8 and ends on a code point boundary. When it is below len,
 * *out_incomplete (if not NULL) says whether the rest is only a valid
 * sequence cut short by the end of the buffer (so a streaming caller, e.g.
 * a fragmented WebSocket text message, should wait for more) rather than an
 * error.
 */
size_t utf8_valid_prefix(const char *s, size_t len, bool *out_incomplete);

/* Returns the exact length utf8_sanitize() produces for s[0..len). */
size_t utf8_sanitized_len(const char *s, size_t len);

/*
 * Copies s[0..len) into out (capacity cap), replacing each maximal subpart
 * of an ill-formed sequence with U+FFFD. The result is at most
 * UTF8_SANITIZE_MAX(len) bytes, exactly utf8_sanitized_len(s, len); it is
 * not NUL-terminated. Returns 0 and stores the length in *out_len, or
 * UTF8_ENOBUFS (nothing useful in out, *out_len untouched). out and s must
 * not overlap.
 */
int utf8_sanitize(const char *s, size_t len, char *out, size_t cap, size_t *out_len);

#endif
