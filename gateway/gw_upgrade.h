/*
 * gw_upgrade: the pure decisions of a WebSocket upgrade on /chat: is the
 * Origin allowed, which IRCv3 subprotocol is chosen, where is the chat
 * token in the query (the client's address: common/net_addr).
 *
 * Bytes in, answers out: no libwebsockets, no loop, no logging. Every
 * input comes from an untrusted peer, so every function takes a length
 * bound and refuses what it does not understand. gw_http asks these
 * questions in the order of docs/gateway.md.
 */
#ifndef EIRC_GW_UPGRADE_H
#define EIRC_GW_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest chat token accepted from the query (auth's are 43 bytes). */
#define GW_TOKEN_MAX 256

typedef enum gw_subproto {
	GW_SUBP_NONE,    /* no Sec-WebSocket-Protocol: text, no header back */
	GW_SUBP_TEXT,    /* text.ircv3.net */
	GW_SUBP_BINARY,  /* binary.ircv3.net */
	GW_SUBP_UNKNOWN, /* offered, but nothing we speak */
} gw_subproto_t;

#define GW_SUBP_TEXT_NAME   "text.ircv3.net"
#define GW_SUBP_BINARY_NAME "binary.ircv3.net"

/*
 * True when origin (NULL: no Origin header) may open /chat: it equals one
 * of allowed[0..n) ignoring ASCII case (origins are scheme://host[:port],
 * RFC 6454 serialisation); a missing origin only when allow_missing.
 */
bool gw_origin_allowed(const char *origin, char *const *allowed, size_t n, bool allow_missing);

/*
 * The subprotocol for a Sec-WebSocket-Protocol value (NULL or "" when the
 * header is absent): the first of the client's comma-separated list that
 * we speak, names compared exactly (RFC 6455 tokens are case-sensitive).
 */
gw_subproto_t gw_subproto_choose(const char *offered);

/*
 * Finds chat_token in a query string (the part after '?', without it, not
 * URL-decoded; len bytes). Returns 0 and copies it NUL-terminated into
 * out (cap bytes, at least GW_TOKEN_MAX + 1); -ENOENT when absent or
 * empty; -EINVAL when malformed: more than one chat_token, longer than
 * GW_TOKEN_MAX, or a byte outside base64url (tokens never need
 * %-escapes). out is untouched on failure.
 */
int gw_token_from_query(const char *query, size_t len, char *out, size_t cap);

#endif
