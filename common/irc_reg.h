/*
 * irc_reg: the client side of IRC registration, as a pure state machine.
 * It writes the opening lines (WEBIRC, CAP LS 302, NICK, USER), reads the
 * server's answers, requests the IRCv3 capabilities the caller wants out of
 * those the server offers, applies the nick-collision policy (433/432),
 * answers PING and reports when the server has welcomed us (001).
 *
 * It is shared by eirc-irc-client and eirc-logger. It does no I/O: lines to
 * send go through a callback, messages come in already parsed (irc_msg).
 * Sockets, TLS, timers and reconnection live in irc_conn.h.
 */
#ifndef EIRC_COMMON_IRC_REG_H
#define EIRC_COMMON_IRC_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/irc_msg.h"
#include "common/irc_nick.h"

typedef struct irc_reg_params irc_reg_params_t;
typedef struct irc_reg irc_reg_t;

/* Longest nick we register with, suffix included (irc_nick.h). */
#define IRC_REG_NICK_MAX IRC_NICK_MAX
/* Nick-collision retries with the suffix policy before giving up: the
 * suffixes |2 ... |10. */
#define IRC_REG_NICK_TRIES_MAX 9
/* Longest PASS password irc_reg sends (irc_reg_params.password). */
#define IRC_REG_PASSWORD_MAX 256
/* CAP LS continuation lines accepted before the offer is taken as is. */
#define IRC_REG_CAP_LS_LINES_MAX 16

/* The capabilities irc_reg knows by name; a bit each in a caps mask. */
enum irc_cap {
	IRC_CAP_MESSAGE_TAGS = 0,
	IRC_CAP_SERVER_TIME,
	IRC_CAP_BATCH,
	IRC_CAP_ECHO_MESSAGE,
	IRC_CAP_LABELED_RESPONSE,
	IRC_CAP_ACCOUNT_TAG,
	IRC_CAP_MULTI_PREFIX,
	IRC_CAP_AWAY_NOTIFY,
	IRC_CAP_CHGHOST,
	IRC_CAP_SETNAME,
	IRC_CAP_INVITE_NOTIFY,
	IRC_CAP_COUNT,
};

#define IRC_CAP_BIT(c) (UINT32_C(1) << (c))
#define IRC_CAP_ALL    (IRC_CAP_BIT(IRC_CAP_COUNT) - 1)

/* Returns the capability's IRCv3 name ("message-tags"), NULL past the end. */
const char *irc_cap_name(enum irc_cap cap);
/* Finds a capability by name (name[0..len), exact); -ENOENT when unknown. */
int irc_cap_lookup(const char *name, size_t len, enum irc_cap *out_cap);

enum irc_reg_nick_policy {
	IRC_REG_NICK_SUFFIX = 0, /* retry as nick|2, nick|3, ... (irc_nick.h) */
	IRC_REG_NICK_FAIL,       /* registration fails with -EADDRINUSE */
};

/* What to register as. Strings are borrowed and must outlive the
 * irc_reg. webirc_password NULL: no WEBIRC line. */
struct irc_reg_params {
	const char *nick;
	const char *user; /* USER's username, e.g. "u42" */
	const char *realname;
	const char *webirc_password;
	const char *webirc_gateway;
	const char *webirc_host; /* the browser's host name (or its IP) */
	const char *webirc_ip;   /* the browser's IP address */
	uint32_t caps_wanted;    /* IRC_CAP_BIT() mask */
	enum irc_reg_nick_policy nick_policy;
	/* PASS, sent first: the server's connect class for it (the logger's
	 * capture class, docs/logger.md); NULL: no PASS line. One word of at
	 * most IRC_REG_PASSWORD_MAX bytes. */
	const char *password;
};

enum irc_reg_state {
	IRC_REG_IDLE = 0,
	IRC_REG_CAP_LS,  /* waiting for the whole CAP LS */
	IRC_REG_CAP_REQ, /* waiting for ACK/NAK */
	IRC_REG_WELCOME, /* CAP END sent, waiting for 001 */
	IRC_REG_DONE,    /* 001 received */
	IRC_REG_FAILED,
};

/* Results of irc_reg_handle() besides negative errors. */
enum {
	IRC_REG_CONTINUE = 0,   /* keep feeding */
	IRC_REG_REGISTERED = 1, /* this message was the 001 */
};

/* Sends one line (without CRLF, len bytes, NUL-terminated). Returns 0 or a
 * negative errno, which irc_reg passes back to its caller. */
typedef int (*irc_reg_send_fn)(void *ud, const char *line, size_t len);

struct irc_reg {
	const irc_reg_params_t *params;
	irc_reg_send_fn send;
	void *ud;
	enum irc_reg_state state;
	uint32_t caps_offered;
	uint32_t caps_enabled;
	unsigned cap_ls_lines;
	unsigned nick_tries;
	char nick[IRC_REG_NICK_MAX + 1]; /* the nick in use (or being tried) */
	char server[64];                 /* the server's name, from 001's source */
};

/*
 * Initialises r for one connection: params and ud are borrowed; send is
 * called synchronously from irc_reg_start() and irc_reg_handle(). Returns 0,
 * or -EINVAL when params->nick is empty or longer than IRC_REG_NICK_MAX or
 * a string holds a space, CR, LF or NUL where IRC does not allow one.
 */
int irc_reg_init(irc_reg_t *r, const irc_reg_params_t *params, irc_reg_send_fn send, void *ud);

/* Sends the opening lines. Returns 0 or the send callback's error. */
int irc_reg_start(irc_reg_t *r);

/*
 * Feeds one parsed message from the server. Returns IRC_REG_CONTINUE,
 * IRC_REG_REGISTERED (msg is the 001; r->nick is the registered nick),
 * -EADDRINUSE (nick in use: policy fail, or suffix retries exhausted),
 * -EINVAL (432: the server refuses the nick), -ECONNRESET (ERROR from the
 * server before 001), or the send callback's error. After registration it
 * still answers PING, follows our own NICK changes and cap-notify (CAP NEW:
 * requests the wanted caps that appear; CAP DEL: drops those that go); every message is
 * also the caller's to look at (irc_reg never consumes one).
 */
int irc_reg_handle(irc_reg_t *r, const irc_msg_t *msg);

/* True when the message's source nick is ours (r->nick, under RFC 1459
 * case mapping). */
bool irc_reg_is_self(const irc_reg_t *r, const irc_msg_t *msg);

#endif
