/*
 * chathist: the IRCv3 draft/chathistory request grammar, one parser for the
 * irc-client (checks a browser's request) and eirc-history (parses the
 * forwarded line):
 *   CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <ref> <limit>
 *   CHATHISTORY BETWEEN <target> <ref> <ref> <limit>
 *   CHATHISTORY TARGETS <timestamp=...> <timestamp=...> <limit>
 *   <ref>: msgid=<id> | timestamp=YYYY-MM-DDThh:mm:ss.sssZ | * (LATEST only)
 * Pure: params of a parsed message in, a typed request (timestamps in ms)
 * or the broken rule and its FAIL code out. Not here: who may read the
 * target (INVALID_TARGET is the caller's), the bridge's own tags.
 */
#ifndef EIRC_COMMON_CHATHIST_H
#define EIRC_COMMON_CHATHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/irc_msg.h"

typedef struct chathist_ref chathist_ref_t;
typedef struct chathist_req chathist_req_t;
typedef struct chathist_opts chathist_opts_t;
typedef struct chathist_err chathist_err_t;

/* Longest target (a channel or a nick), as a Redis key allows. */
#define CHATHIST_TARGET_MAX 200
/* Longest msgid= value (as the logger's msgid keys allow). */
#define CHATHIST_MSGID_MAX 128
/* Most references a subcommand takes (BETWEEN, TARGETS). */
#define CHATHIST_REFS_MAX 2
/* Longest eirc/channels value the irc-client sends with TARGETS (the
 * channels the user is in, comma-separated: the bridge does not know them). */
#define CHATHIST_CHANNELS_MAX 4000

enum chathist_sub {
	CHATHIST_LATEST = 0,
	CHATHIST_BEFORE,
	CHATHIST_AFTER,
	CHATHIST_AROUND,
	CHATHIST_BETWEEN,
	CHATHIST_TARGETS,
	CHATHIST_SUB_COUNT,
};

enum chathist_ref_kind {
	CHATHIST_REF_NONE = 0,
	CHATHIST_REF_STAR, /* '*': LATEST only */
	CHATHIST_REF_MSGID,
	CHATHIST_REF_TIME,
};

struct chathist_ref {
	enum chathist_ref_kind kind;
	int64_t time_ms;      /* CHATHIST_REF_TIME: ms since the epoch, >= 0 */
	irc_msg_span_t msgid; /* CHATHIST_REF_MSGID: the value after "msgid=" */
};

struct chathist_req {
	enum chathist_sub sub;
	irc_msg_span_t target;                 /* ptr NULL for TARGETS */
	chathist_ref_t ref[CHATHIST_REFS_MAX]; /* BETWEEN and TARGETS use both */
	uint32_t limit;                        /* 1..chathist_opts.limit_max */
};

/* What each side allows beyond the grammar. */
struct chathist_opts {
	size_t target_max;  /* 1..CHATHIST_TARGET_MAX */
	uint32_t limit_max; /* >= 1 */
	bool limit_clamp;   /* a limit over limit_max: clamped (true) or refused */
};

/* The rule a request breaks. */
enum chathist_error {
	CHATHIST_E_NO_SUB = 1, /* no subcommand */
	CHATHIST_E_UNKNOWN_SUB,
	CHATHIST_E_MISSING,     /* fewer params than the subcommand takes */
	CHATHIST_E_EXTRA,       /* more */
	CHATHIST_E_TARGET,      /* see chathist_target_ok() */
	CHATHIST_E_STAR,        /* '*' outside LATEST */
	CHATHIST_E_REFTYPE,     /* not msgid=<1..MSGID_MAX bytes> or a valid timestamp= */
	CHATHIST_E_TARGETS_REF, /* TARGETS with a msgid */
	CHATHIST_E_LIMIT,       /* not 1..limit_max in decimal digits */
};

struct chathist_err {
	enum chathist_error what;
	const char *code; /* INVALID_PARAMS or INVALID_MSGREFTYPE (static) */
	const char *text; /* for the FAIL line (static) */
};

/*
 * Parses the params of m (its command is not looked at) under opts. Returns
 * 0 and fills *out_req (spans into m), or -EINVAL and fills *out_err with
 * the first rule broken: subcommand, count, target, each reference left to
 * right, limit. A timestamp is a real UTC time from 1970 (second 60
 * allowed) in exactly that shape.
 * *out_req is untouched on failure.
 */
int chathist_parse(const irc_msg_t *m, const chathist_opts_t *opts, chathist_req_t *out_req,
		   chathist_err_t *out_err);

/* True when t is 1..max bytes, starts with neither '*' nor ':', and holds
 * no ',', space, control byte or DEL. */
bool chathist_target_ok(const irc_msg_span_t *t, size_t max);

/* The subcommand's name ("LATEST"), "?" for a value out of range. */
const char *chathist_sub_name(enum chathist_sub sub);

#endif
