/*
 * ircc_relay: rewrites a message from the IRC server (or the history
 * bridge) for a browser that negotiated only some capabilities: tags it did
 * not ask for are stripped, lines that only exist because of a capability
 * it lacks (BATCH, TAGMSG, AWAY, CHGHOST, SETNAME, ACK, other people's
 * INVITEs, echoes of its own messages) are dropped, and NAMES keeps one
 * prefix per nick without multi-prefix. Pure.
 */
#ifndef EIRC_IRCC_RELAY_H
#define EIRC_IRCC_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/irc_msg.h"

typedef struct ircc_relay_ctx ircc_relay_ctx_t;

struct ircc_relay_ctx {
	uint32_t browser_caps; /* IRC_CAP_BIT mask */
	uint32_t server_caps;  /* enabled on the IRC connection */
	const char *self_nick;
	/* NULL: the label tag follows browser_caps; non-NULL: any label tag
	 * is replaced with this one ("" removes it). */
	const char *label;
};

/*
 * Serializes msg as the browser should see it into buf (capacity cap,
 * NUL-terminated, no CRLF). Returns the length, 0 when the browser must not
 * see the message, or a negative IRC_MSG_E* error.
 */
int ircc_relay_format(const irc_msg_t *msg, const ircc_relay_ctx_t *ctx, char *buf, size_t cap);

#endif
