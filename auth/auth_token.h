/*
 * auth_token: the opaque secrets eirc-auth hands out (access, refresh and
 * chat tokens, client secrets) and how they are kept.
 *
 * A token is 256 random bits from libsodium, written as unpadded base64url
 * (43 characters). The database only ever sees its SHA-256, as 64 lower-case
 * hex digits; looking a token up means hashing what the peer sent. Secrets
 * that are compared in memory (the internal API secret, a client secret's
 * hash) go through auth_secret_equal(), which takes the same time whatever
 * the inputs hold.
 *
 * Not here: storage, expiry, or any I/O. sodium_init() must have run.
 */
#ifndef EIRC_AUTH_TOKEN_H
#define EIRC_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_BYTES    32 /* 256 bits of randomness */
#define AUTH_TOKEN_LEN      43 /* base64url without padding */
#define AUTH_TOKEN_HASH_HEX 64 /* SHA-256 as hex */

/* Writes a new random token and its NUL into out (AUTH_TOKEN_LEN + 1). */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/* Writes the hex SHA-256 of tok[0..len) and a NUL into out. */
void auth_token_hash(const char *tok, size_t len, char out[AUTH_TOKEN_HASH_HEX + 1]);

/*
 * True when tok[0..len) looks like one of our tokens: exactly
 * AUTH_TOKEN_LEN characters of the base64url alphabet. Lets handlers answer
 * "unknown" without a database round trip for garbage.
 */
bool auth_token_well_formed(const char *tok, size_t len);

/*
 * Compares two secrets in constant time with respect to their contents
 * (both are hashed first, so unequal lengths leak nothing either).
 */
bool auth_secret_equal(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
