/*
 * hist_dm: direct-message reports from irc-clients (the keys they are
 * filed under, the nick -> user id map among them, are archive/archive_dm.h's).
 *
 * A report is the server's PRIVMSG or NOTICE line as the irc-client got it
 * (its echo of the user's own message, or one the user received), with
 * "eirc/dm", "eirc/user=<reporter id>", "eirc/nick=<reporter nick>" and
 * "eirc/casemap" added. The sender's id is the server tag "eirc/uid"
 * (InspIRCd's m_eirc_account: the account the source is bound to), never
 * the source's username or nick, which a client chooses: a line without it
 * has no sender and is not stored. The receiver's id is the reporter's
 * when the reporter did not send it, else looked up by nick.
 * The bridge does not answer reports.
 *
 * Pure: bytes in, report out; the archived event. No I/O.
 */
#ifndef EIRC_HIST_DM_H
#define EIRC_HIST_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "common/irc_casemap.h"
#include "common/irc_msg.h"
#include "history-bridge/hist_req.h"

typedef struct hist_dm hist_dm_t;
struct hist_dm {
	uint64_t reporter_id;
	char reporter_nick[HIST_REQ_NICK_MAX + 1];
	enum irc_casemap cm;
	uint64_t sender_id; /* eirc/uid; 0: none (not an eIRC account's) */
	bool notice;
	int64_t time_ms; /* server-time, or -1 when absent */
	char msgid[ARCHIVE_EVENT_MSGID_MAX + 1];
	char nick[HIST_REQ_NICK_MAX + 1], user[ARCHIVE_EVENT_NAME_MAX + 1],
		host[ARCHIVE_EVENT_NAME_MAX + 1];
	char account[ARCHIVE_EVENT_NAME_MAX + 1];
	char target[HIST_REQ_NICK_MAX + 1]; /* the receiver's nick */
	char text[IRC_MSG_MAX + 1];
	char tags[IRC_TAGS_MAX + 1]; /* the server's tags, escaped; ours removed */
};

/*
 * Parses a report. Returns 0 and fills *out_dm; -ENOENT when the line is
 * not a report (no eirc/dm tag: a CHATHISTORY request); -EINVAL for a
 * report that cannot be stored (no msgid, a channel target, no reporter,
 * a part over its limit). *out_dm is unspecified on failure.
 */
int hist_dm_parse(const char *line, size_t len, hist_dm_t *out_dm);

/* The receiver's id when the report says it (the reporter received the
 * message), else 0: look the target nick up. */
uint64_t hist_dm_receiver(const hist_dm_t *dm);

/*
 * Fills *out_ev (strings point into dm and conv) for the logger's append
 * script: conversation conv ("dm:<lo>:<hi>"), network, now_ms when the
 * report has no server time. Returns 0 or -EINVAL.
 */
int hist_dm_event(const hist_dm_t *dm, const char *network, const char *conv, int64_t now_ms,
		  archive_event_t *out_ev);

#endif
