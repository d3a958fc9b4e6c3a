/*
 * session_ticket: the irc-client's credential towards eirc-history. See
 * session_ticket.h.
 */
#include "common/session_ticket.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* The HMAC of "eirc-session v1 <pid> <user_id>" under key. */
static int ticket_mac(const char *key, pid_t pid, uint64_t user_id,
		      unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	char msg[64];
	size_t key_len = strlen(key);

	if (key_len < SESSION_KEY_MIN || pid <= 0 || sodium_init() < 0)
		return -EINVAL;
	int n = snprintf(msg, sizeof(msg), "eirc-session v1 %ld %" PRIu64, (long)pid, user_id);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, (unsigned long long)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int session_ticket_make(const char *key, pid_t pid, uint64_t user_id,
			char out[SESSION_TICKET_LEN + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	int r = ticket_mac(key, pid, user_id, mac);

	if (r < 0)
		return r;
	sodium_bin2base64(out, SESSION_TICKET_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

bool session_ticket_check(const char *key, pid_t pid, uint64_t user_id, const char *ticket,
			  size_t len)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	size_t got_len = 0;
	const char *end = NULL;

	if (len != SESSION_TICKET_LEN || ticket_mac(key, pid, user_id, want) < 0)
		return false;
	if (sodium_base642bin(got, sizeof(got), ticket, len, NULL, &got_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    got_len != sizeof(got) || end != ticket + len)
		return false;
	return crypto_verify_32(got, want) == 0;
}
