/*
 * ircc_ident: who this irc-client process is, from its command line. The
 * gateway passes the identity the token consumption returned (user id,
 * nick, display name, private rooms, sign-in rooms) and the browser's IP
 * address as options (see docs/irc-client.md); none of it is secret, so
 * argv is the right place, and secrets (the WEBIRC password) come only from
 * the configuration file. Every value is validated and bounded here.
 */
#ifndef EIRC_IRCC_IDENT_H
#define EIRC_IRCC_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/irc_reg.h"

#define IRCC_DISPLAY_MAX 128            /* display name (IRC realname) bytes */
#define IRCC_ROOM_MAX 64                /* channel name bytes */
#define IRCC_ROOMS_MAX 256              /* rooms in one list */
#define IRCC_IP_MAX 45                  /* longest textual IPv6 address */

enum ircc_ident_action {
	IRCC_RUN = 0,
	IRCC_HELP,
	IRCC_VERSION,
	IRCC_CHECK_CONFIG,
};

struct ircc_room_list {
	char **v;                       /* case kept as given */
	size_t n;
	char *buf;                      /* the names, one allocation */
};

struct ircc_ident {
	enum ircc_ident_action action;
	const char *config_path;        /* borrowed from argv */
	uint64_t user_id;
	char user[24];                  /* "u<id>", the IRC username */
	char nick[IRC_REG_NICK_MAX + 1];
	char display[IRCC_DISPLAY_MAX + 1];
	char ip[IRCC_IP_MAX + 1];
	struct ircc_room_list private_rooms; /* private rooms the user is in */
	struct ircc_room_list rooms;    /* rooms to join at sign-in */
};

/*
 * Parses argv (getopt_long; resets optind first). Returns 0 and fills
 * *out (free with ircc_ident_clear), or -EINVAL with a one-line reason in
 * err (capacity errlen). For --help/--version/--check-config only out->action
 * (and config_path) is set.
 */
int ircc_ident_parse(int argc, char **argv, struct ircc_ident *out, char *err, size_t errlen);

/* Frees the room lists; out may be reused. */
void ircc_ident_clear(struct ircc_ident *id);

/* True when s[0..len) is a nick IRC accepts: 1..IRC_REG_NICK_MAX bytes of
 * letters, digits and []\`_^{|}-, not starting with a digit or '-'. */
int ircc_ident_nick_valid(const char *s, size_t len);

/* Prints the usage text. */
void ircc_ident_usage(const char *prog, void *file);

#endif
