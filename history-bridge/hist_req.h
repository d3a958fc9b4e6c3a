/*
 * hist_req: the CHATHISTORY request parser of eirc-history. One line from
 * an irc-client goes in (ARCHITECTURE.md "Contracts"):
 *
 *   @eirc/user=<id>;eirc/nick=<nick>;label=<l>[;eirc/casemap=<name>]
 *    [;eirc/event-playback] CHATHISTORY <sub> [<target>] <ref>... <limit>
 *
 * and a checked request comes out, or the standard FAIL code that the
 * bridge answers. Tags of our own: eirc/casemap names the IRC server's
 * CASEMAPPING (the irc-client knows it from 005; default rfc1459), so the
 * bridge folds the target as the logger did; eirc/event-playback (no
 * value) says the browser negotiated draft/event-playback, so events other
 * than PRIVMSG and NOTICE are replayed too; eirc/channels (TARGETS only)
 * lists the channels the user is in, comma-separated, since the bridge
 * does not know them.
 *
 * Also the connection's first line, EIRC HELLO (hist_hello_parse).
 *
 * Pure: bytes in, request out; no I/O, no allocation, no logging. It does
 * not know Redis (hist_query.h) nor who may read what (the irc-client
 * authorises the target before forwarding).
 */
#ifndef EIRC_HIST_REQ_H
#define EIRC_HIST_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chathist.h"
#include "common/irc_casemap.h"
#include "common/session_ticket.h"

typedef struct hist_ref hist_ref_t;
typedef struct hist_req hist_req_t;
typedef struct hist_req_err hist_req_err_t;

/* Longest label= kept (the irc-client sends "h<n>"). */
#define HIST_REQ_LABEL_MAX 64
/* Longest eirc/nick kept. Targets, msgids and the channel list are
 * bounded by the grammar's limits (CHATHIST_*_MAX, common/chathist.h). */
#define HIST_REQ_NICK_MAX 64

/* A reference with its msgid copied out of the line. */
struct hist_ref {
	enum chathist_ref_kind kind;
	int64_t time_ms; /* CHATHIST_REF_TIME */
	char msgid[CHATHIST_MSGID_MAX + 1];
	size_t msgid_len;
};

struct hist_req {
	uint64_t user_id;
	char nick[HIST_REQ_NICK_MAX + 1]; /* "" when not sent */
	char label[HIST_REQ_LABEL_MAX + 1];
	enum irc_casemap cm;
	bool event_playback;
	enum chathist_sub sub;
	char target[CHATHIST_TARGET_MAX + 1]; /* "" for TARGETS */
	size_t target_len;
	bool target_is_channel;
	hist_ref_t ref[CHATHIST_REFS_MAX];        /* BETWEEN and TARGETS use both */
	uint32_t limit;                           /* >= 1; huge values saturate */
	char channels[CHATHIST_CHANNELS_MAX + 1]; /* "#a,#b", TARGETS only */
};

/* Why a request is refused: the FAIL code, a text, and the context
 * ("LATEST #chan") for the FAIL line. */
struct hist_req_err {
	const char *code; /* INVALID_PARAMS, INVALID_TARGET, ... */
	const char *text;
	char context[16 + CHATHIST_TARGET_MAX + 2];
	char label[HIST_REQ_LABEL_MAX + 1];
};

/*
 * Parses line[0..len) (CRLF optional; the bytes are not modified).
 * Returns:
 *   0        *out_req is filled;
 *   -EINVAL  a well-formed envelope (label and user present) carrying a bad
 *            CHATHISTORY: *out_err holds the FAIL code, text, context and
 *            the label to answer "EIRC DONE <label>" with;
 *   -EPROTO  no usable envelope (not an IRC line, not CHATHISTORY, no
 *            label, no or bad eirc/user): the peer breaks the protocol.
 * FAIL codes: chathist_parse()'s (common/chathist.h), under
 * CHATHIST_TARGET_MAX and with huge limits saturating at UINT32_MAX (the
 * query clamps them). Out params are untouched except as said.
 */
int hist_req_parse(const char *line, size_t len, hist_req_t *out_req, hist_req_err_t *out_err);

/* The first line of every connection (docs/history.md): the user the
 * connection is for and the ticket the gateway gave the irc-client. */
typedef struct hist_hello {
	uint64_t user_id;
	char ticket[SESSION_TICKET_LEN + 1];
} hist_hello_t;

/* A user id as the socket's lines carry it (eirc/user, eirc/uid, HELLO):
 * archive_dm_id_parse's decimal (no leading zero, not 0), at most 19
 * digits. Returns 0 and *out, or -EPROTO (*out untouched). */
int hist_user_id_parse(const char *s, size_t len, uint64_t *out);

/*
 * Parses "EIRC HELLO <user_id> <ticket>" (CRLF optional): the user id 1 to
 * 19 digits, not 0; the ticket exactly SESSION_TICKET_LEN characters of
 * base64url. Returns 0 and *out_hello, or -EPROTO for anything else
 * (*out_hello untouched). Whether the ticket is right is the caller's
 * check (session_ticket_check).
 */
int hist_hello_parse(const char *line, size_t len, hist_hello_t *out_hello);

#endif
