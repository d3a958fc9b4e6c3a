/*
 * ircc_chathist: checks a browser's CHATHISTORY request (IRCv3
 * draft/chathistory) before the irc-client authorises and forwards it:
 * subcommand, parameter count, message references (msgid=, timestamp=, and
 * '*' for LATEST), limit. Pure: it reads a parsed irc_msg and names the
 * standard FAIL code for whatever is wrong. Authorisation (may this user
 * read the target?) and the history itself are not here.
 */
#ifndef EIRC_IRCC_CHATHIST_H
#define EIRC_IRCC_CHATHIST_H

#include <stddef.h>

#include "common/irc_msg.h"

/* Longest target (channel or nick) accepted. */
#define IRCC_CHATHIST_TARGET_MAX 64
/* Longest msgid= value accepted. */
#define IRCC_CHATHIST_MSGID_MAX 128
/* Largest limit parsed; the history bridge clamps to its own maximum. */
#define IRCC_CHATHIST_LIMIT_MAX 1000000u

enum ircc_chathist_sub {
	IRCC_CH_LATEST = 0,
	IRCC_CH_BEFORE,
	IRCC_CH_AFTER,
	IRCC_CH_AROUND,
	IRCC_CH_BETWEEN,
	IRCC_CH_TARGETS,
};

struct ircc_chathist_req {
	enum ircc_chathist_sub sub;
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
 * into msg), or -EINVAL and fills *out_err: NEED_MORE_PARAMS, UNKNOWN_COMMAND,
 * INVALID_PARAMS (bad limit, bad target, '*' outside LATEST) or
 * INVALID_MSGREFTYPE (a reference that is not msgid= or timestamp=, or a
 * malformed timestamp).
 */
int ircc_chathist_parse(const struct irc_msg *msg, struct ircc_chathist_req *out_req,
                        struct ircc_chathist_err *out_err);

/* The subcommand's name ("LATEST"). */
const char *ircc_chathist_sub_name(enum ircc_chathist_sub sub);

#endif
