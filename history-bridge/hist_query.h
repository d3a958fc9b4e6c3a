/*
 * hist_query: turns a CHATHISTORY request into one Redis script call, and
 * one stored entry back into the IRC line it was.
 *
 * The script (hist_query_script) runs on the conversation's partition only
 * (KEYS: its history stream and the msgid keys of the references, all
 * under one {p<k>} hash tag, so it runs unchanged on Redis Cluster). It
 * resolves msgid= references through eirc:{p<k>}:msgid:<id> to a stream id
 * (checking that the entry is in this stream and has that msgid) and scans
 * the stream in stream-id order, so paging by msgid never repeats or skips.
 * timestamp= references compare with each entry's "time" field (the
 * server-time), exclusively; the scan starts HIST_TIME_SKEW_MS before or
 * after the time, as the logger appends within moments of the server time.
 * It answers {end, id1, {field, value...}, id2, ...} oldest first; end is 1
 * when no older entry that the request would replay exists (a backward
 * scan reads one more than asked to know): draft/chathistory-end. An
 * unknown msgid (or one of another conversation) answers {0}: an empty
 * batch. Events other than PRIVMSG and NOTICE are skipped unless the
 * request carries eirc/event-playback; logger gaps are never replayed; a
 * STATUSMSG ("@#c", stored with arg "@") only to its sender: the
 * requester whose id the stored eirc/uid tag names (the server delivered
 * it to some members only, and who they were then is not recorded; the
 * archive and the auditor's export keep it for everyone else).
 *
 * Pure: no I/O. hist_chathist.c sends the call and formats the answer.
 */
#ifndef EIRC_HIST_QUERY_H
#define EIRC_HIST_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive_keys.h"
#include "history-bridge/hist_req.h"

/* A timestamp reference looks this far around its time for entries. */
#define HIST_TIME_SKEW_MS 10000
/* Most stream entries one script call reads (filtered events included). */
#define HIST_SCAN_MAX 20000
/* Arguments of one call, command name included. */
#define HIST_QUERY_ARGC 16

extern const char hist_query_script[];

typedef struct hist_query_opts hist_query_opts_t;
struct hist_query_opts {
	const char *network; /* irc.network */
	int partitions;      /* redis.partitions */
	uint32_t limit_max;  /* history.chathistory_max */
};

typedef struct hist_query_call hist_query_call_t;
struct hist_query_call {
	int argc;
	const char *argv[HIST_QUERY_ARGC];
	size_t argvlen[HIST_QUERY_ARGC];
	uint32_t limit; /* after clamping */
	char sha[48];
	char history[ARCHIVE_KEYS_KEY_MAX];
	char mkey[2][ARCHIVE_KEYS_KEY_MAX];
	char num[6][24];
};

/*
 * Builds "EVALSHA_RO <sha> 3 <history> <msgid-key-1> <msgid-key-2> <op>
 * <k1> <v1> <k2> <v2> <limit> <skew> <events> <scan-max> <user id>" for req (sha
 * NULL: EVAL_RO with the script's source). Read-only forms: eirc-history's
 * Redis user may read a channel's stream but not write it (docs/operations.md,
 * "Redis users"), and EVAL/EVALSHA count every key they name as written. The target is folded with
 * req->cm; the limit is clamped to o->limit_max. argv points into *out_call and req, which must
 * outlive its use. Returns 0, or -EINVAL (TARGETS, a nick target, a name too long for a key;
 * *out_call is then unspecified).
 */
int hist_query_build(const hist_req_t *req, const hist_query_opts_t *o, const char *sha,
		     hist_query_call_t *out_call);

/* The same for the conversation conv (a direct-message pair
 * "dm:<lo>:<hi>", used as is) instead of the request's channel. */
int hist_query_build_conv(const hist_req_t *req, const hist_query_opts_t *o, const char *sha,
			  const char *conv, hist_query_call_t *out_call);

/*
 * The script's STATUSMSG rule, for callers that filter entries themselves
 * (hist_chathist's fast path): false when the entry (its type, the length
 * of its arg, its stored tags) is a STATUSMSG message whose tags do not
 * name uid as its sender (eirc/uid=<uid>); true otherwise.
 */
bool hist_query_visible(const char *type, size_t type_len, size_t arg_len, const char *tags,
			size_t tags_len, uint64_t uid);

/* One field of a stored entry. */
typedef struct hist_field hist_field_t;
struct hist_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * Formats one stored entry (its fields, as XRANGE gives them) as the IRC
 * line it was, with the tags it had, its original time= and msgid=, and
 * batch=<batch>, into buf (capacity cap, NUL-terminated, no CRLF). target
 * is the conversation as the request named it (used when the entry lacks
 * one). Returns the length; 0 when the entry is not replayed (a logger gap,
 * an unknown type, fields missing); -ENOBUFS (buf too small) or -EINVAL
 * (among others: a time of more than 18 digits, a source longer than three
 * ARCHIVE_EVENT_NAME_MAX names).
 */
int hist_query_format(const hist_field_t *f, size_t n, const char *batch, const char *target,
		      char *buf, size_t cap);

#endif
