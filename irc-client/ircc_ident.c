/*
 * ircc_ident: command-line identity of an irc-client (see ircc_ident.h).
 */
#include "irc-client/ircc_ident.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ircc_ident_nick_valid(const char *s, size_t len)
{
	if (len == 0 || len > IRC_REG_NICK_MAX || (s[0] >= '0' && s[0] <= '9') || s[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c && strchr("[]\\`_^{|}-", c));
		if (!ok)
			return 0;
	}
	return 1;
}

static bool room_valid(const char *s, size_t len)
{
	if (len < 2 || len > IRCC_ROOM_MAX || (s[0] != '#' && s[0] != '&'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == ',' || c == ':' || c == 0x07)
			return false;
	}
	return true;
}

int ircc_room_list_parse(const char *arg, bool skip_invalid, ircc_room_list_t *l)
{
	size_t count = 1;

	for (const char *p = arg; *p; p++)
		count += *p == ',';
	if (count > IRCC_ROOMS_MAX)
		return -E2BIG;
	char *buf = strdup(arg);
	char **v = calloc(count, sizeof(*v));
	if (!buf || !v) {
		free(buf);
		free(v);
		return -ENOMEM;
	}
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!room_valid(tok, strlen(tok)) && skip_invalid)
			continue;
		if (!room_valid(tok, strlen(tok))) {
			free(buf);
			free(v);
			return -EINVAL;
		}
		v[n++] = tok;
	}
	free(l->buf);
	free(l->v);
	*l = (ircc_room_list_t){v, n, buf};
	return 0;
}

static int user_id_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 19)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool text_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			return false;
	return true;
}

static bool ip_valid(const char *s)
{
	unsigned char buf[16];

	return strlen(s) <= IRCC_IP_MAX &&
	       (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1) && s[0] != ':';
}

enum { OPT_UID = 256, OPT_NICK, OPT_DISPLAY, OPT_IP, OPT_PRIV, OPT_ROOMS };

static const struct option ident_options[] = {
	{"user-id", required_argument, NULL, OPT_UID},
	{"nick", required_argument, NULL, OPT_NICK},
	{"display-name", required_argument, NULL, OPT_DISPLAY},
	{"client-ip", required_argument, NULL, OPT_IP},
	{"private-rooms", required_argument, NULL, OPT_PRIV},
	{"rooms", required_argument, NULL, OPT_ROOMS},
	{NULL, 0, NULL, 0},
};

/* Applies one option; -EINVAL with out_err filled on a bad value. */
static int ident_apply(void *app, int opt, const char *arg, eirc_err_t *out_err)
{
	ircc_ident_t *id = app;

	switch (opt) {
	case OPT_UID:
		if (user_id_parse(arg, &id->user_id) < 0)
			return eirc_err_set(out_err, -EINVAL,
					    "--user-id: expected a positive integer");
		snprintf(id->user, sizeof(id->user), "u%llu", (unsigned long long)id->user_id);
		return 0;
	case OPT_NICK:
		if (!ircc_ident_nick_valid(arg, strlen(arg)))
			return eirc_err_set(out_err, -EINVAL,
					    "--nick: not a valid IRC nick (1-30 characters)");
		snprintf(id->nick, sizeof(id->nick), "%s", arg);
		return 0;
	case OPT_DISPLAY:
		if (!text_valid(arg, IRCC_DISPLAY_MAX))
			return eirc_err_set(out_err, -EINVAL,
					    "--display-name: 1-128 bytes, no CR/LF");
		snprintf(id->display, sizeof(id->display), "%s", arg);
		return 0;
	case OPT_IP:
		if (!ip_valid(arg))
			return eirc_err_set(out_err, -EINVAL,
					    "--client-ip: not an IPv4 or IPv6 address");
		snprintf(id->ip, sizeof(id->ip), "%s", arg);
		return 0;
	case OPT_PRIV:
	case OPT_ROOMS:
		if (ircc_room_list_parse(arg, false,
					 opt == OPT_PRIV ? &id->private_rooms : &id->rooms) < 0)
			return eirc_err_set(out_err, -EINVAL,
					    "--rooms/--private-rooms: at most 256 channel names "
					    "(#name, 64 bytes) separated by commas");
		return 0;
	default:
		return eirc_err_set(out_err, -EINVAL, "unknown option (see --help)");
	}
}

static int ident_done(void *app, eirc_err_t *out_err)
{
	ircc_ident_t *id = app;

	if (!id->user_id || !id->nick[0] || !id->ip[0])
		return eirc_err_set(out_err, -EINVAL,
				    "--user-id, --nick and --client-ip are required");
	if (!id->display[0])
		snprintf(id->display, sizeof(id->display), "%s", id->nick);
	return 0;
}

const eirc_daemon_opts_t ircc_ident_opts = {
	.options = ident_options,
	.usage = "      --user-id N          the user's id (the IRC username is u<N>)\n"
		 "      --nick NICK          the user's nick\n"
		 "      --client-ip IP       the browser's address (WEBIRC)\n"
		 "      --display-name NAME  the IRC realname (default: the nick)\n"
		 "      --rooms #a,#b        rooms to join at sign-in\n"
		 "      --private-rooms #p   private rooms the user is in\n",
	.apply = ident_apply,
	.done = ident_done,
};

void ircc_room_list_clear(ircc_room_list_t *l)
{
	free(l->buf);
	free(l->v);
	*l = (ircc_room_list_t){0};
}

void ircc_ident_clear(ircc_ident_t *id)
{
	ircc_room_list_clear(&id->private_rooms);
	ircc_room_list_clear(&id->rooms);
}
