/*
 * ircc_ident: who this irc-client process is, from its command line (the
 * options common/daemon hands over, see ircc_ident_opts). The
 * gateway passes the identity the token consumption returned (user id,
 * nick, display name, private rooms, sign-in rooms) and the browser's IP
 * address as options (see docs/irc-client.md); none of it is secret, so
 * argv is the right place, and secrets (the WEBIRC password) come only from
 * the configuration file. Every value is validated and bounded here.
 */
#ifndef EIRC_IRCC_IDENT_H
#define EIRC_IRCC_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/daemon.h"
#include "common/irc_reg.h"

#define IRCC_DISPLAY_MAX 128 /* display name (IRC realname) bytes */
#define IRCC_ROOM_MAX    64  /* channel name bytes */
#define IRCC_ROOMS_MAX   256 /* rooms in one list */
#define IRCC_IP_MAX      45  /* longest textual IPv6 address */

typedef struct ircc_room_list ircc_room_list_t;
struct ircc_room_list {
	char **v; /* case kept as given */
	size_t n;
	char *buf; /* the names, one allocation */
};

typedef struct ircc_ident {
	uint64_t user_id;
	char user[24]; /* "u<id>", the IRC username */
	char nick[IRC_REG_NICK_MAX + 1];
	char display[IRCC_DISPLAY_MAX + 1];
	char ip[IRCC_IP_MAX + 1];
	ircc_room_list_t private_rooms; /* private rooms the user is in */
	ircc_room_list_t rooms;         /* rooms to join at sign-in */
} ircc_ident_t;

/*
 * The identity options, for common/daemon's command line (eirc_daemon_opts_t;
 * its app is a zeroed ircc_ident_t, or a struct whose first member is
 * one, filled option by option). done
 * requires --user-id, --nick and --client-ip and defaults the display name
 * to the nick. After a failure call ircc_ident_clear.
 */
extern const eirc_daemon_opts_t ircc_ident_opts;

/*
 * Parses a comma-separated room list ("#a,#b", "" for none) into *l
 * (whose old contents are freed on success). Empty items are skipped;
 * skip_invalid: so are names that are no channel name, else they fail the
 * whole list (-EINVAL). -E2BIG past IRCC_ROOMS_MAX names, or -ENOMEM.
 */
int ircc_room_list_parse(const char *arg, bool skip_invalid, ircc_room_list_t *l);
/* Frees a list's memory; l is empty afterwards. */
void ircc_room_list_clear(ircc_room_list_t *l);

/* Frees the room lists; out may be reused. */
void ircc_ident_clear(ircc_ident_t *id);

/* True when s[0..len) is a nick IRC accepts: 1..IRC_REG_NICK_MAX bytes of
 * letters, digits and []\`_^{|}-, not starting with a digit or '-'. */
int ircc_ident_nick_valid(const char *s, size_t len);

#endif
