/*
 * auth_room: the rule that makes a room private, shared by the API, the
 * admin commands and the start-up check. A room is private exactly when
 * its name matches one of irc_client.private_room_masks (IRC globs under
 * rfc1459 case mapping, as the irc-client matches them): the IRC server
 * decides before a room exists in eirc-auth (a JOIN creates a channel), so
 * only a name rule protects "#private-x" from its first moment. eirc-auth
 * keeps each room's `private` flag and its members, and refuses a flag the
 * name contradicts.
 *
 * Pure: no database, no I/O.
 */
#ifndef EIRC_AUTH_ROOM_H
#define EIRC_AUTH_ROOM_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a refusal text (the masks are cut to fit, with "..."). */
#define AUTH_ROOM_WHY_MAX 512

/* True when name matches one of the n masks. */
bool auth_room_name_private(char *const *masks, size_t n, const char *name);

/*
 * Checks that a room named `name` may have the flag `private`. Returns 0,
 * or -EINVAL with a sentence for the operator in why (cap bytes, naming
 * the masks): a private room whose name matches no mask (or no mask is
 * configured), or a public room whose name matches one.
 */
int auth_room_check(char *const *masks, size_t n, const char *name, bool private, char *why,
		    size_t cap);

#endif
