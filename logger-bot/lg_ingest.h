/*
 * lg_ingest: what the logger bot sees, turned into archive events. It
 * reads parsed IRC messages (already through irc_reg), keeps the channels
 * the bot is in and who is in them (NAMES, JOIN, PART, KICK, QUIT, NICK),
 * and emits one archive_event per archived fact:
 *   PRIVMSG, NOTICE, TAGMSG, TOPIC, MODE, JOIN, PART, KICK to a channel:
 *     one event in that channel;
 *   PRIVMSG, NOTICE, TAGMSG to some members only (STATUSMSG, "@#c"): one
 *     event in the channel's conversation ("#c"), target "@#c", arg the
 *     prefix ("@");
 *   PRIVMSG, NOTICE, TAGMSG to a user (m_eirc_capture's copy of a direct
 *     message, tags eirc/uid and eirc/to-uid: the sender's and the
 *     receiver's account ids): one event in conversation "dm:<lo>:<hi>"
 *     (archive_keys_dm_target), target the receiver's nick;
 *   QUIT, NICK: one event in every channel the user shared with the bot;
 *   a logger gap: one event in every channel the bot is in; and when the
 *     bot was kicked or parted out of a channel, one there from that
 *     moment to the bot's JOIN back - except the PART m_eirc_capture gives
 *     it when no one else is left (reason EIRC_CAPTURE_CLOSED_REASON,
 *     common/capture.h): the channel's end, archived as the PART it is,
 *     with no gap.
 * Messages to the bot itself, lines to a user without eirc/uid (a server's
 * notice) and user modes are not archived; a direct message whose ids
 * are missing is refused (a reason, not archived).
 *
 * msgid: the server's msgid tag when present (InspIRCd gives PRIVMSG,
 * NOTICE, TAGMSG one msgid network-wide). Otherwise a derived id
 *   "~<t><window>.<n>.<hash>"
 * where t is the type's letter, window the server-time divided by
 * LG_DERIVE_WINDOW_MS (exact milliseconds for messages), n how many
 * identical events (same type, channel, folded nick, text, argument) this
 * logger saw earlier in the same window, and hash a 64-bit FNV-1a of those
 * parts. Two loggers on linked servers derive the same id when the servers'
 * stamps fall in the same window - see docs/logger.md for how exact that is.
 *
 * Pure: no I/O; the clock comes in as an argument.
 */
#ifndef EIRC_LOGGER_LG_INGEST_H
#define EIRC_LOGGER_LG_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"
#include "common/irc_casemap.h"
#include "common/irc_msg.h"

/* Channels tracked at once, and members tracked per channel. */
#define LG_INGEST_CHANNELS_MAX 10000
#define LG_INGEST_MEMBERS_MAX  100000
/* Window of derived membership ids. */
#define LG_DERIVE_WINDOW_MS 1000
/* Recent derived ids remembered to number repeats within a window. */
#define LG_DERIVE_RECENT_MAX 4096

/* Results of lg_ingest_msg() besides negative errors. */
enum {
	LG_INGEST_DONE = 0,    /* archived (events emitted) or bookkeeping done */
	LG_INGEST_IGNORED = 1, /* nothing to archive (numerics, private messages...) */
};

/* Hints for the bot, set by lg_ingest_msg(). */
typedef struct lg_ingest_hint lg_ingest_hint_t;
struct lg_ingest_hint {
	bool self_removed; /* the bot was kicked or parted out of hint.channel: rejoin */
	bool self_joined;  /* the bot is in hint.channel (it joined, or the server joined it) */
	bool closed;       /* hint.channel ended (EIRC_CAPTURE_CLOSED_REASON): no rejoin */
	bool invited;      /* the bot was invited to hint.channel */
	bool listed;       /* a LIST reply named hint.channel (322) */
	char channel[ARCHIVE_EVENT_TARGET_MAX + 1];
};

typedef struct lg_ingest_stats lg_ingest_stats_t;
struct lg_ingest_stats {
	uint64_t events;  /* emitted */
	uint64_t refused; /* messages refused as bad input */
	uint64_t derive_table_full;
};

typedef void (*lg_ingest_emit_fn)(void *ud, const archive_event_t *ev);

typedef struct lg_ingest lg_ingest_t;

/* network is copied. Returns 0, -EINVAL (empty or over the key limit) or
 * -ENOMEM. */
int lg_ingest_new(const char *network, lg_ingest_t **out_ing);
void lg_ingest_free(lg_ingest_t *ing);

/* The bot's own nick (after registration, and after its NICK changes). */
void lg_ingest_set_self(lg_ingest_t *ing, const char *nick);

/* Forgets every channel (the connection is gone). */
void lg_ingest_reset(lg_ingest_t *ing);

/*
 * Feeds one message. now_ms is used when the message has no valid time
 * tag. Emits events through emit (synchronously, strings valid only during
 * the call). Returns LG_INGEST_DONE, LG_INGEST_IGNORED, or -EINVAL with
 * *out_reason set to a static English reason (bad input: the message is
 * not archived), or -ENOMEM. hint (may be NULL) is cleared then filled.
 */
int lg_ingest_msg(lg_ingest_t *ing, const irc_msg_t *msg, int64_t now_ms, lg_ingest_emit_fn emit,
		  void *ud, lg_ingest_hint_t *hint, const char **out_reason);

/* Emits one gap event (time start_ms, arg end_ms) in every channel of
 * `channels` (folded names) - the channels the bot was in. */
void lg_ingest_gap(lg_ingest_t *ing, const char *const *channels, size_t n, int64_t start_ms,
		   int64_t end_ms, lg_ingest_emit_fn emit, void *ud);

/* The channels the bot is in now (folded names), for gap records and
 * rejoins: fills up to cap pointers valid until the next call that
 * changes channels; returns the total count. */
size_t lg_ingest_channels(const lg_ingest_t *ing, const char **out, size_t cap);

/* Current case mapping (from 005 CASEMAPPING). */
enum irc_casemap lg_ingest_casemap(const lg_ingest_t *ing);

const lg_ingest_stats_t *lg_ingest_stats(const lg_ingest_t *ing);

#endif
