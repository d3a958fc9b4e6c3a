/*
 * ircc_relay: server-to-browser rewriting by negotiated caps (see
 * ircc_relay.h).
 */
#include "irc-client/ircc_relay.h"

#include <string.h>

#include "common/irc_casemap.h"
#include "common/irc_mask.h"
#include "common/irc_reg.h"

#define HAS(ctx, cap) (((ctx)->browser_caps & IRC_CAP_BIT(cap)) != 0)

static bool key_is(const irc_msg_tag_t *t, const char *key)
{
	return t->key_len == strlen(key) && memcmp(t->key, key, t->key_len) == 0;
}

static bool tag_allowed(const irc_msg_tag_t *t, const ircc_relay_ctx_t *ctx)
{
	if (key_is(t, "time"))
		return HAS(ctx, IRC_CAP_SERVER_TIME);
	if (key_is(t, "batch"))
		return HAS(ctx, IRC_CAP_BATCH);
	if (key_is(t, "account"))
		return HAS(ctx, IRC_CAP_ACCOUNT_TAG);
	if (key_is(t, "label"))
		return !ctx->label && HAS(ctx, IRC_CAP_LABELED_RESPONSE);
	return HAS(ctx, IRC_CAP_MESSAGE_TAGS);
}

/* Builds the packed tags the browser may see into tags[0..*out_len). */
static int tags_filter(const irc_msg_t *m, const ircc_relay_ctx_t *ctx, char *tags, size_t cap,
		       size_t *out_len)
{
	irc_msg_tag_t t;
	size_t pos = 0, len = 0;

	while (irc_msg_tag_next(m, &pos, &t)) {
		if (!tag_allowed(&t, ctx))
			continue;
		int r = irc_msg_tags_append(t.key, t.key_len, t.has_value ? t.value : NULL,
					    t.value_len, tags, cap, &len);
		if (r < 0)
			return r;
	}
	if (ctx->label && ctx->label[0] && HAS(ctx, IRC_CAP_LABELED_RESPONSE)) {
		int r = irc_msg_tags_append("label", 5, ctx->label, strlen(ctx->label), tags, cap,
					    &len);
		if (r < 0)
			return r;
	}
	*out_len = len;
	return 0;
}

static bool from_self(const irc_msg_t *m, const char *self)
{
	irc_mask_userhost_t uh;

	return m->source.ptr && irc_mask_split(m->source.ptr, m->source.len, &uh) == 0 &&
	       irc_casemap_equal(IRC_CASEMAP_RFC1459, uh.nick, uh.nick_len, self, strlen(self));
}

static bool param0_is_self(const irc_msg_t *m, const char *self)
{
	return m->n_params > 0 && irc_casemap_equal(IRC_CASEMAP_RFC1459, m->params[0].ptr,
						    m->params[0].len, self, strlen(self));
}

/* True when the browser must not see this line at all. */
static bool dropped(const irc_msg_t *m, const ircc_relay_ctx_t *ctx)
{
	if (irc_msg_command_is(m, "BATCH"))
		return !HAS(ctx, IRC_CAP_BATCH);
	if (irc_msg_command_is(m, "ACK"))
		return !HAS(ctx, IRC_CAP_LABELED_RESPONSE);
	if (irc_msg_command_is(m, "AWAY"))
		return !HAS(ctx, IRC_CAP_AWAY_NOTIFY);
	if (irc_msg_command_is(m, "CHGHOST"))
		return !HAS(ctx, IRC_CAP_CHGHOST);
	if (irc_msg_command_is(m, "SETNAME"))
		return !HAS(ctx, IRC_CAP_SETNAME);
	if (irc_msg_command_is(m, "INVITE"))
		return !HAS(ctx, IRC_CAP_INVITE_NOTIFY) && !param0_is_self(m, ctx->self_nick);
	bool tagmsg = irc_msg_command_is(m, "TAGMSG");
	if (tagmsg && !HAS(ctx, IRC_CAP_MESSAGE_TAGS))
		return true;
	if ((tagmsg || irc_msg_command_is(m, "PRIVMSG") || irc_msg_command_is(m, "NOTICE")) &&
	    (ctx->server_caps & IRC_CAP_BIT(IRC_CAP_ECHO_MESSAGE)) &&
	    !HAS(ctx, IRC_CAP_ECHO_MESSAGE) && ctx->self_nick)
		return from_self(m, ctx->self_nick) && !param0_is_self(m, ctx->self_nick);
	return false;
}

/* 353 without multi-prefix: keep the first prefix of each nick. */
static void names_one_prefix(irc_msg_t *m, char *buf, size_t cap)
{
	static const char prefixes[] = "~&@%+";
	irc_msg_span_t *last = &m->params[m->n_params - 1];
	bool word_start = true, skipping = false;
	size_t o = 0;

	for (size_t i = 0; i < last->len && o < cap; i++) {
		char ch = last->ptr[i];
		bool prefix = ch != '\0' && strchr(prefixes, ch) != NULL;
		if (ch == ' ') {
			word_start = true;
			skipping = false;
		} else if (word_start) {
			word_start = false;
			skipping = prefix;
		} else if (skipping && prefix) {
			continue;
		} else {
			skipping = false;
		}
		buf[o++] = ch;
	}
	last->ptr = buf;
	last->len = o;
}

int ircc_relay_format(const irc_msg_t *msg, const ircc_relay_ctx_t *ctx, char *buf, size_t cap)
{
	static char tags[IRC_TAGS_MAX];
	static char names[IRC_MSG_MAX];
	irc_msg_t m = *msg;
	size_t tags_len = 0;

	if (dropped(msg, ctx))
		return 0;
	int r = tags_filter(msg, ctx, tags, sizeof(tags), &tags_len);
	if (r < 0)
		return r;
	m.tags.ptr = tags_len ? tags : NULL;
	m.tags.len = tags_len;
	if (!HAS(ctx, IRC_CAP_MULTI_PREFIX) && irc_msg_command_is(msg, "353") && m.n_params > 0)
		names_one_prefix(&m, names, sizeof(names));
	return irc_msg_serialize(&m, 0, buf, cap);
}
