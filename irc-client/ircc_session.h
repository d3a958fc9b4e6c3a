/*
 * ircc_session: the heart of eirc-irc-client, without any I/O. It sits
 * between the browser (lines from the gateway socket) and the IRC server
 * (parsed messages from irc_conn) and acts towards the browser like a
 * bouncer: it answers CAP itself, ignores the browser's NICK/USER/PASS,
 * replays the registration burst (001-005 with CHATHISTORY= and
 * MSGREFTYPES= added, MOTD), strips what the browser did not negotiate,
 * applies the command policy and flood limits to every browser line, and
 * answers CHATHISTORY through the history bridge.
 *
 * Output leaves through the ops callbacks; the loop adapter (ircc_app.c)
 * owns sockets and timers. Every callback is called synchronously from the
 * ircc_session_* call that caused it.
 */
#ifndef EIRC_IRCC_SESSION_H
#define EIRC_IRCC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/irc_msg.h"
#include "common/irc_reg.h"
#include "common/session_ticket.h"
#include "irc-client/ircc_ident.h"

typedef struct ircc_session ircc_session_t;
typedef struct ircc_session_ops ircc_session_ops_t;
typedef struct ircc_session_limits ircc_session_limits_t;

/* Browser bytes held while the IRC connection is first being set up; past
 * it lines are refused with FAIL ... TEMPORARILY_UNAVAILABLE. */
#define IRCC_HOLD_MAX 16384
/* Bytes of the registration burst (001-005, MOTD) kept for the replay;
 * MOTD lines past it are left out. */
#define IRCC_BURST_MAX 16384
/* Channels tracked for CHATHISTORY authorisation and rejoin. */
#define IRCC_CHANNELS_MAX 200
/* CHATHISTORY requests in flight to the history bridge. */
#define IRCC_HISTORY_PENDING_MAX 4
/* Longest browser label= kept for a labeled CHATHISTORY answer. */
#define IRCC_LABEL_MAX 64
/* Messages (PRIVMSG, NOTICE, TAGMSG) remembered after they went to the
 * server, oldest forgotten first, and the bytes of their target list kept:
 * m_eirc_capture's refusal "404 <nick> <target> :... (ARCHIVE_UNAVAILABLE)"
 * names no command, and the browser gets "FAIL <command>
 * ARCHIVE_UNAVAILABLE <target> :<text>" (its label kept). A message is
 * forgotten when the server's echo (echo-message) or a 404 for its target
 * answers it; the refusal is matched to the oldest one still unanswered for
 * that target (by label when the browser labelled it), PRIVMSG when none. */
#define IRCC_SENT_MAX        16
#define IRCC_SENT_TARGET_MAX 200
/* Time a browser that sent nothing gets before it is taken as a plain
 * client (burst replayed, sign-in rooms joined), and the time a browser in
 * CAP negotiation gets to send CAP END. */
#define IRCC_BROWSER_IDLE_GRACE_MS 1000
#define IRCC_BROWSER_CAP_GRACE_MS  10000

/* The browser-side capability offered on top of the server's. */
#define IRCC_BCAP_CHATHISTORY (UINT32_C(1) << 31)

struct ircc_session;

struct ircc_session_ops {
	/* One line (no CRLF) to the browser. 0 or negative errno. */
	int (*to_browser)(void *ud, const char *line, size_t len);
	/* One line (no CRLF) to the IRC server; -ENOTCONN when down. */
	int (*to_server)(void *ud, const char *line, size_t len);
	/* One line (no CRLF) to the history bridge; -ENOENT when none is
	 * configured, -ENOTCONN (or another error) when unreachable. */
	int (*to_history)(void *ud, const char *line, size_t len);
	/* The browser sent QUIT: end the session with this reason. */
	void (*quit)(void *ud, const char *reason);
	/* Milliseconds of a monotonic clock. */
	uint64_t (*now_ms)(void *ud);
};

struct ircc_session_limits {
	unsigned flood_lines_per_second;
	unsigned flood_burst_lines;
	uint64_t flood_bytes_per_second;
	unsigned chathistory_max; /* announced as CHATHISTORY=<n> */
	char **private_masks;     /* borrowed; glob masks of private rooms */
	size_t n_private_masks;
	unsigned join_replay_lines; /* LATEST <n> on JOIN without draft/chathistory */
};

/*
 * Creates a session for id (borrowed, must outlive it). Returns 0 or
 * -ENOMEM. Free with ircc_session_free (NULL is a no-op).
 */
int ircc_session_new(const ircc_ident_t *id, const ircc_session_limits_t *lim,
		     const ircc_session_ops_t *ops, void *ud, ircc_session_t **out);
void ircc_session_free(ircc_session_t *s);

/* One framed browser line (writable, NUL-terminated, no CRLF). */
void ircc_session_browser_line(ircc_session_t *s, char *line, size_t len);
/* The framer refused a line: err is IRC_MSG_ETOOLONG or IRC_MSG_EMALFORMED. */
void ircc_session_browser_bad_line(ircc_session_t *s, int err);
/*
 * The browser-grace timer fired (armed by the adapter when
 * ircc_session_server_registered returns > 0). Returns the next delay in ms
 * to re-arm, or 0.
 */
uint64_t ircc_session_browser_grace(ircc_session_t *s);

/* Every message from the IRC server (irc_conn on_msg), reg its state. */
void ircc_session_server_msg(ircc_session_t *s, const irc_reg_t *reg, const irc_msg_t *msg);
/* irc_conn registered (first time or again). Returns the browser-grace
 * delay to arm (ms), or 0. */
uint64_t ircc_session_server_registered(ircc_session_t *s, const irc_reg_t *reg);
/* The IRC connection went down; retry_ms 0 means for good. */
void ircc_session_server_down(ircc_session_t *s, const char *why, uint64_t retry_ms);
/* False while the session wants the IRC server not to be read (the browser
 * has not finished registering, so there is nowhere to put its lines). */
bool ircc_session_server_readable(const ircc_session_t *s);

/* Longest EIRC HELLO line, without CRLF. */
#define IRCC_HELLO_MAX (sizeof("EIRC HELLO 18446744073709551615 ") - 1 + SESSION_TICKET_LEN)

/*
 * The first line of every connection to the history bridge, "EIRC HELLO
 * <user id> <ticket>" with the gateway's ticket (EIRC SESSION), into buf.
 * Returns its length, -ENOENT when the gateway gave no ticket, or
 * -ENOBUFS when cap is too small (IRCC_HELLO_MAX + 1 is enough).
 */
int ircc_session_history_hello(const ircc_session_t *s, char *buf, size_t cap);
/* One line from the history bridge (writable, no CRLF). Returns true when
 * the bridge broke the protocol and its connection should be closed. */
bool ircc_session_history_line(ircc_session_t *s, char *line, size_t len);
/* The bridge connection closed or timed out: every request in flight gets
 * FAIL CHATHISTORY MESSAGE_ERROR. */
void ircc_session_history_down(ircc_session_t *s, const char *why);
/* Requests in flight, and the send time of the oldest (ms, 0 if none). */
size_t ircc_session_history_pending(const ircc_session_t *s, uint64_t *out_oldest_ms);

#endif
