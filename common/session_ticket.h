/*
 * session_ticket: how eirc-history knows that a connection to its socket
 * comes from an irc-client the gateway started, and for which user.
 *
 * A ticket is base64url without padding of
 * HMAC-SHA256(history.session_key, "eirc-session v1 <pid> <user_id>"):
 * the gateway makes one for each irc-client it spawns (its pid, the user
 * the token consumption named) and hands it over on the session socket
 * (EIRC SESSION); the irc-client presents it first on every connection to
 * the bridge (EIRC HELLO), and the bridge checks it against the peer's
 * SO_PEERCRED pid. Only the gateway and the bridge know the key.
 *
 * Pure: libsodium's HMAC and constant-time comparison, no I/O.
 */
#ifndef EIRC_SESSION_TICKET_H
#define EIRC_SESSION_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Characters of a ticket: 32 bytes of HMAC in unpadded base64url. */
#define SESSION_TICKET_LEN 43
/* Shortest history.session_key accepted (bytes). */
#define SESSION_KEY_MIN 32

/*
 * Writes the ticket of (pid, user_id) under key (NUL-terminated, at least
 * SESSION_KEY_MIN bytes) into out, NUL-terminated. Returns 0, or -EINVAL
 * for a key too short or pid not positive (out untouched).
 */
int session_ticket_make(const char *key, pid_t pid, uint64_t user_id,
			char out[SESSION_TICKET_LEN + 1]);

/* True when ticket[0..len) is the ticket of (pid, user_id) under key
 * (compared in constant time); false for anything else. */
bool session_ticket_check(const char *key, pid_t pid, uint64_t user_id, const char *ticket,
			  size_t len);

#endif
