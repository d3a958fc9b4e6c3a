/*
 * auth_room: private rooms by name. See auth_room.h.
 */
#include "auth/auth_room.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/irc_mask.h"

bool auth_room_name_private(char *const *masks, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (irc_mask_match(masks[i], strlen(masks[i]), name, strlen(name),
				   IRC_CASEMAP_RFC1459))
			return true;
	return false;
}

/* "#a, #b" into out, cut with "..." when it does not fit. */
static void mask_list(char *const *masks, size_t n, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", masks[i]);
		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(out + (cap > 4 ? cap - 4 : 0), cap > 4 ? 4 : cap, "...");
			return;
		}
		len += (size_t)w;
	}
}

int auth_room_check(char *const *masks, size_t n, const char *name, bool private, char *why,
		    size_t cap)
{
	char list[AUTH_ROOM_WHY_MAX / 2];
	bool by_name = auth_room_name_private(masks, n, name);

	if (by_name == private)
		return 0;
	mask_list(masks, n, list, sizeof(list));
	if (private && n == 0)
		snprintf(why, cap,
			 "room %s cannot be private: no irc_client.private_room_masks are "
			 "configured, and a private room's name must match one",
			 name);
	else if (private)
		snprintf(why, cap,
			 "room %s cannot be private: its name matches none of "
			 "irc_client.private_room_masks (%s); name it to match one",
			 name, list);
	else
		snprintf(why, cap,
			 "room %s cannot be public: its name matches "
			 "irc_client.private_room_masks (%s), which makes it private on IRC",
			 name, list);
	return -EINVAL;
}
