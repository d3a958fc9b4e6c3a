/*
 * ircc_policy: what the irc-client does with each command a browser sends
 * (the policy table of docs/irc-client.md), the private-room rule for
 * JOIN, and the checks of a browser's CHATHISTORY request (the grammar of
 * common/chathist.h under the irc-client's bounds and FAIL codes). Pure:
 * classification and checks only; ircc_session acts on the answer. Whether
 * the user may read a CHATHISTORY target, and the history itself, are not
 * here.
 */
#ifndef EIRC_IRCC_POLICY_H
#define EIRC_IRCC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/chathist.h"
#include "common/irc_msg.h"
#include "irc-client/ircc_ident.h"

/* Longest CHATHISTORY target (channel or nick) accepted. */
#define IRCC_CHATHIST_TARGET_MAX 64
/* Largest CHATHISTORY limit accepted; the history bridge clamps to its own
 * maximum. */
#define IRCC_CHATHIST_LIMIT_MAX 1000000u

enum ircc_policy_action {
	IRCC_POL_FORWARD = 0,  /* to the IRC server as is */
	IRCC_POL_CAP,          /* answered locally, never forwarded */
	IRCC_POL_PING,         /* answered locally */
	IRCC_POL_IGNORE,       /* PONG: meaningless from a browser */
	IRCC_POL_QUIT,         /* ends the session */
	IRCC_POL_NICK,         /* only to the user's own nick */
	IRCC_POL_JOIN,         /* private rooms: members only */
	IRCC_POL_CHATHISTORY,  /* checked, then to the history bridge */
	IRCC_POL_REGISTRATION, /* PASS, USER: 462 once registered */
	IRCC_POL_UNKNOWN,      /* WEBIRC, SERVICE: 421 */
	IRCC_POL_NOPRIV,       /* OPER, KILL, SQUIT: 481 */
	IRCC_POL_MODE,         /* a room's +s/+p are eIRC's: 482 */
	IRCC_POL_CONTROL,      /* EIRC: the gateway's control line, never the browser's */
};

/* Classifies msg by its command (case-insensitive). */
enum ircc_policy_action ircc_policy_classify(const irc_msg_t *msg);

/* True when chan[0..len) matches one of the private-room masks (IRC globs,
 * RFC 1459 case mapping). */
bool ircc_policy_room_private(char *const *masks, size_t n_masks, const char *chan, size_t len);

/* True when the user may JOIN chan (or read its history): not a private
 * room, or one of mine, the user's private rooms (RFC 1459
 * case-insensitive). */
bool ircc_policy_join_allowed(const ircc_room_list_t *mine, char *const *masks, size_t n_masks,
			      const char *chan, size_t len);

/* True when chan is a public room for this user: it matches no private-room
 * mask and is not one of mine. The irc-client makes such a room visible
 * (MODE -s) when it created it; every other channel stays secret (+s,
 * InspIRCd's defaultmodes). */
bool ircc_policy_room_public(const ircc_room_list_t *mine, char *const *masks, size_t n_masks,
			     const char *chan, size_t len);

/* True when msg (command MODE) changes the secret or private mode (s, p) of
 * a channel: a room's visibility is eIRC's, never the browser's. */
bool ircc_policy_mode_visibility(const irc_msg_t *msg);

/*
 * Checks msg (command CHATHISTORY). Returns 0 and fills *out_req (spans
 * into msg), or -EINVAL and fills *out_err, whose code is then
 * NEED_MORE_PARAMS (no subcommand, too few params), UNKNOWN_COMMAND, or
 * chathist_parse()'s INVALID_PARAMS / INVALID_MSGREFTYPE.
 */
int ircc_policy_chathist(const irc_msg_t *msg, chathist_req_t *out_req, chathist_err_t *out_err);

#endif
