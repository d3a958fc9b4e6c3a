/*
 * ircc_chathist: checks a browser's CHATHISTORY request (IRCv3
 * draft/chathistory) before the irc-client authorises and forwards it: the
 * grammar of common/chathist.h under the irc-client's own bounds and FAIL
 * codes. Pure. Authorisation (may this user read the target?) and the
 * history itself are not here.
 */
#ifndef EIRC_IRCC_CHATHIST_H
#define EIRC_IRCC_CHATHIST_H

#include "common/chathist.h"
#include "common/irc_msg.h"

/* Longest target (channel or nick) accepted. */
#define IRCC_CHATHIST_TARGET_MAX 64
/* Largest limit accepted; the history bridge clamps to its own maximum. */
#define IRCC_CHATHIST_LIMIT_MAX 1000000u

/* Older names of the subcommands callers test for. */
#define IRCC_CH_LATEST CHATHIST_LATEST
#define IRCC_CH_TARGETS CHATHIST_TARGETS

struct ircc_chathist_req {
	enum chathist_sub sub;
	struct irc_msg_span target;     /* ptr NULL for TARGETS */
	unsigned limit;
};

/* What is wrong with a request: the FAIL code and a human text. */
struct ircc_chathist_err {
	const char *code;               /* "NEED_MORE_PARAMS", "INVALID_PARAMS", ... */
	const char *text;
};

/*
 * Checks msg (command CHATHISTORY). Returns 0 and fills *out_req (spans
 * into msg), or -EINVAL and fills *out_err: NEED_MORE_PARAMS (no
 * subcommand, too few params), UNKNOWN_COMMAND, or chathist_parse()'s
 * INVALID_PARAMS / INVALID_MSGREFTYPE.
 */
int ircc_chathist_parse(const struct irc_msg *msg, struct ircc_chathist_req *out_req,
                        struct ircc_chathist_err *out_err);

/* The subcommand's name ("LATEST"). */
#define ircc_chathist_sub_name chathist_sub_name

#endif
