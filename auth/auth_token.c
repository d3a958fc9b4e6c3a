/*
 * auth_token: random tokens, their SHA-256 and constant-time comparison.
 * See auth_token.h.
 */
#include "auth/auth_token.h"

#include <sodium.h>
#include <string.h>

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[AUTH_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void auth_token_hash(const char *tok, size_t len, char out[AUTH_TOKEN_HASH_HEX + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)tok, len);
	sodium_bin2hex(out, AUTH_TOKEN_HASH_HEX + 1, h, sizeof(h));
}

bool auth_token_well_formed(const char *tok, size_t len)
{
	if (!tok || len != AUTH_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool auth_secret_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
	unsigned char ha[crypto_hash_sha256_BYTES];
	unsigned char hb[crypto_hash_sha256_BYTES];

	if (!a || !b)
		return false;
	crypto_hash_sha256(ha, (const unsigned char *)a, a_len);
	crypto_hash_sha256(hb, (const unsigned char *)b, b_len);
	return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}
