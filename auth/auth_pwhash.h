/*
 * auth_pwhash: Argon2id password hashes (libsodium crypto_pwhash_str with
 * crypto_pwhash_ALG_ARGON2ID13), computed off the loop.
 *
 * Argon2id is slow on purpose (tens of milliseconds and tens of MiB per
 * hash), so verification runs on libuv's thread pool (uv_queue_work) and
 * the loop keeps serving. At most AUTH_PWHASH_PENDING_MAX verifications
 * wait or run at once; past that callers get -EAGAIN (the HTTP layer
 * answers 503), so a login flood cannot queue unbounded memory.
 *
 * A login for an unknown account verifies against a dummy hash made at
 * start, so its timing does not reveal whether the account exists.
 */
#ifndef EIRC_AUTH_PWHASH_H
#define EIRC_AUTH_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>
#include <uv.h>

#define AUTH_PWHASH_PENDING_MAX 64   /* verifications queued or running */
#define AUTH_PASSWORD_MAX       1024 /* bytes of a password */
#define AUTH_PASSWORD_MIN       8    /* bytes of a new password */

typedef struct auth_pwhash auth_pwhash_t;

/* match is true when the password matches; false on mismatch or error. */
typedef void (*auth_pwhash_cb)(void *data, bool match);

/*
 * Hashes `password` with Argon2id and the given limits into out
 * (crypto_pwhash_STRBYTES). Blocking: for the admin CLI and start-up.
 * Returns 0, -EINVAL (password length out of range) or -ENOMEM.
 */
int auth_pwhash_hash(const char *password, unsigned long long opslimit, size_t memlimit,
		     char out[crypto_pwhash_STRBYTES]);

/* Creates the verifier (makes the dummy hash: blocks once). */
int auth_pwhash_new(uv_loop_t *loop, unsigned long long opslimit, size_t memlimit,
		    auth_pwhash_t **out);
void auth_pwhash_free(auth_pwhash_t *ph);

/*
 * Verifies `password` against `hash` (NULL: the dummy hash, never a match)
 * on the thread pool. Both strings are copied. Returns 0, then cb runs once
 * on the loop thread; or -EAGAIN / -ENOMEM / UV_E* and cb never runs.
 */
int auth_pwhash_verify(auth_pwhash_t *ph, const char *hash, const char *password, auth_pwhash_cb cb,
		       void *data);

#endif
