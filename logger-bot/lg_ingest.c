/*
 * lg_ingest: IRC messages to archive events, channel membership, derived
 * msgids (see lg_ingest.h).
 */
#include "logger-bot/lg_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_dm.h"
#include "archive/archive_keys.h"
#include "common/capture.h"
#include "common/irc_mask.h"
#include "logger-bot/lg_map.h"

#define NICK_MAX 255

struct chan {
	char name[ARCHIVE_EVENT_TARGET_MAX + 1]; /* as the server wrote it */
	lg_map_t members;                        /* folded nick -> (void *)1 */
};

struct recent {
	uint64_t h;
	int64_t window;
	uint32_t count;
};

struct lg_ingest {
	char network[ARCHIVE_KEYS_NETWORK_MAX + 1];
	char self[NICK_MAX + 1];
	enum irc_casemap cm;
	char prefixes[16];  /* member prefix chars of 005 PREFIX */
	char statusmsg[16]; /* STATUSMSG prefix chars of 005 STATUSMSG */
	char chantypes[16];
	lg_map_t chans; /* folded name -> struct chan */
	lg_map_t left;  /* folded name -> int64_t * (when the bot was removed) */
	struct recent recent[LG_DERIVE_RECENT_MAX];
	lg_ingest_stats_t stats;
};

/* What one message contributes before it is copied into events. */
struct source {
	irc_mask_userhost_t uh;
	archive_str_t account, tags;
	int64_t time_ms;
	archive_str_t msgid;
	char tagbuf[IRC_TAGS_MAX + 1];
};

int lg_ingest_new(const char *network, lg_ingest_t **out_ing)
{
	lg_ingest_t *ing;
	size_t n = network ? strlen(network) : 0;

	if (n == 0 || n > ARCHIVE_KEYS_NETWORK_MAX || memchr(network, ':', n))
		return -EINVAL;
	ing = calloc(1, sizeof(*ing));
	if (!ing)
		return -ENOMEM;
	memcpy(ing->network, network, n);
	ing->cm = IRC_CASEMAP_DEFAULT;
	strcpy(ing->prefixes, "~&@%+");
	strcpy(ing->statusmsg, "~&@%+");
	strcpy(ing->chantypes, "#&");
	*out_ing = ing;
	return 0;
}

static void free_chan(void *ud, const char *key, size_t len, void *value)
{
	struct chan *c = value;

	(void)ud, (void)key, (void)len;
	lg_map_clear(&c->members);
	free(c);
}

static void free_value(void *ud, const char *key, size_t len, void *value)
{
	(void)ud, (void)key, (void)len;
	free(value);
}

void lg_ingest_reset(lg_ingest_t *ing)
{
	lg_map_each(&ing->chans, free_chan, NULL);
	lg_map_clear(&ing->chans);
	lg_map_each(&ing->left, free_value, NULL);
	lg_map_clear(&ing->left);
}

void lg_ingest_free(lg_ingest_t *ing)
{
	if (!ing)
		return;
	lg_ingest_reset(ing);
	free(ing);
}

void lg_ingest_set_self(lg_ingest_t *ing, const char *nick)
{
	snprintf(ing->self, sizeof(ing->self), "%s", nick);
}

enum irc_casemap lg_ingest_casemap(const lg_ingest_t *ing)
{
	return ing->cm;
}

const lg_ingest_stats_t *lg_ingest_stats(const lg_ingest_t *ing)
{
	return &ing->stats;
}

struct collect {
	const char **out;
	size_t cap, n;
};

static void collect_one(void *ud, const char *key, size_t len, void *value)
{
	struct collect *c = ud;

	(void)len, (void)value;
	if (c->n < c->cap)
		c->out[c->n] = key;
	c->n++;
}

size_t lg_ingest_channels(const lg_ingest_t *ing, const char **out, size_t cap)
{
	struct collect c = {out, cap, 0};

	lg_map_each(&ing->chans, collect_one, &c);
	return c.n;
}

/* ---- names ---- */

static size_t fold(const lg_ingest_t *ing, const char *s, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		n = cap - 1;
	irc_casemap_fold(ing->cm, s, n, out);
	out[n] = '\0';
	return n;
}

static struct chan *chan_get(const lg_ingest_t *ing, const char *name, size_t n)
{
	char f[ARCHIVE_EVENT_TARGET_MAX + 1];

	if (n > ARCHIVE_EVENT_TARGET_MAX)
		return NULL;
	return lg_map_get(&ing->chans, f, fold(ing, name, n, f, sizeof(f)));
}

static bool is_channel(const lg_ingest_t *ing, irc_msg_span_t t)
{
	return t.len > 0 && strchr(ing->chantypes, t.ptr[0]) != NULL && t.ptr[0] != '\0';
}

static bool is_self(const lg_ingest_t *ing, const char *nick, size_t n)
{
	return irc_casemap_equal(ing->cm, nick, n, ing->self, strlen(ing->self));
}

static int member_add(lg_ingest_t *ing, struct chan *c, const char *nick, size_t n)
{
	char f[NICK_MAX + 1];

	if (n == 0 || n > NICK_MAX)
		return -EINVAL;
	if (c->members.n >= LG_INGEST_MEMBERS_MAX)
		return -ENOSPC;
	return lg_map_put(&c->members, f, fold(ing, nick, n, f, sizeof(f)), (void *)1) < 0 ? -ENOMEM
											   : 0;
}

static bool member_del(lg_ingest_t *ing, struct chan *c, const char *nick, size_t n)
{
	char f[NICK_MAX + 1];

	if (n == 0 || n > NICK_MAX)
		return false;
	return lg_map_del(&c->members, f, fold(ing, nick, n, f, sizeof(f))) != NULL;
}

static int chan_add(lg_ingest_t *ing, const char *name, size_t n, struct chan **out)
{
	char f[ARCHIVE_EVENT_TARGET_MAX + 1];
	struct chan *c;

	if ((c = chan_get(ing, name, n))) {
		*out = c;
		return 0;
	}
	if (ing->chans.n >= LG_INGEST_CHANNELS_MAX)
		return -ENOSPC;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(c->name, name, n);
	if (lg_map_put(&ing->chans, f, fold(ing, name, n, f, sizeof(f)), c) < 0) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static void chan_del(lg_ingest_t *ing, const char *name, size_t n)
{
	char f[ARCHIVE_EVENT_TARGET_MAX + 1];
	struct chan *c = lg_map_del(&ing->chans, f, fold(ing, name, n, f, sizeof(f)));

	if (c)
		free_chan(NULL, NULL, 0, c);
}

/* ---- derived ids ---- */

static uint32_t recent_count(lg_ingest_t *ing, uint64_t hw, int64_t window)
{
	size_t i = (size_t)hw & (LG_DERIVE_RECENT_MAX - 1);

	for (int probe = 0; probe < 16; probe++, i = (i + 1) & (LG_DERIVE_RECENT_MAX - 1)) {
		struct recent *r = &ing->recent[i];
		if (r->count && r->h == hw && r->window == window)
			return r->count++;
		if (r->count == 0 || r->window < window - 2 || r->window > window + 2) {
			*r = (struct recent){hw, window, 1};
			return 0;
		}
	}
	ing->stats.derive_table_full++;
	return 0;
}

static uint64_t hash_part(uint64_t h, const char *p, size_t n)
{
	static const char sep = '\0';

	h = archive_event_fnv64(h, p, n);
	return archive_event_fnv64(h, &sep, 1);
}

static void derive(lg_ingest_t *ing, const archive_event_t *ev, int64_t window_ms, char *buf,
		   size_t cap)
{
	static const char letters[ARCHIVE_EV_TYPE_COUNT] = "pntjlqkcomg";
	char nick[NICK_MAX + 1];
	int64_t w = ev->time_ms / window_ms;
	uint64_t h = ARCHIVE_EVENT_FNV64_INIT;
	size_t nn = fold(ing, ev->s[ARCHIVE_S_NICK].p ? ev->s[ARCHIVE_S_NICK].p : "",
			 ev->s[ARCHIVE_S_NICK].n, nick, sizeof(nick));

	h = hash_part(h, &letters[ev->type], 1);
	h = hash_part(h, ev->s[ARCHIVE_S_CONV].p, ev->s[ARCHIVE_S_CONV].n);
	h = hash_part(h, nick, nn);
	h = hash_part(h, ev->s[ARCHIVE_S_TEXT].p ? ev->s[ARCHIVE_S_TEXT].p : "",
		      ev->s[ARCHIVE_S_TEXT].n);
	h = hash_part(h, ev->s[ARCHIVE_S_ARG].p ? ev->s[ARCHIVE_S_ARG].p : "",
		      ev->s[ARCHIVE_S_ARG].n);
	snprintf(buf, cap, "~%c%" PRId64 ".%" PRIu32 ".%016" PRIx64, letters[ev->type], w,
		 recent_count(ing, archive_event_fnv64(h, &w, sizeof(w)), w), h);
}

/* ---- events ---- */

static archive_str_t str_of(const char *p, size_t n)
{
	return (archive_str_t){p, n};
}

static archive_str_t span(irc_msg_span_t s)
{
	return (archive_str_t){s.ptr, s.ptr ? s.len : 0};
}

struct out {
	lg_ingest_emit_fn emit;
	void *ud;
};

/* Emits one event of type in conversation conv[0..cn) (folded here), its
 * target as the server wrote it target[0..tn); msgid from src unless
 * `derived` is forced (events that fan out to several channels). */
static void emit_ev(lg_ingest_t *ing, const struct source *src, enum archive_event_type type,
		    archive_str_t conv, archive_str_t target, archive_str_t text, archive_str_t arg,
		    bool derived, const struct out *o)
{
	char folded[ARCHIVE_EVENT_TARGET_MAX + 1], id[96];
	archive_event_t ev = {.type = type, .time_ms = src->time_ms};
	bool is_msg = type <= ARCHIVE_EV_TAGMSG;

	ev.s[ARCHIVE_S_NETWORK] = str_of(ing->network, strlen(ing->network));
	ev.s[ARCHIVE_S_CONV] = str_of(folded, fold(ing, conv.p, conv.n, folded, sizeof(folded)));
	ev.s[ARCHIVE_S_TARGET] = target;
	ev.s[ARCHIVE_S_NICK] = str_of(src->uh.nick, src->uh.nick_len);
	ev.s[ARCHIVE_S_USER] = str_of(src->uh.user, src->uh.user_len);
	ev.s[ARCHIVE_S_HOST] = str_of(src->uh.host, src->uh.host_len);
	ev.s[ARCHIVE_S_ACCOUNT] = src->account;
	ev.s[ARCHIVE_S_TAGS] = src->tags;
	ev.s[ARCHIVE_S_TEXT] = text;
	ev.s[ARCHIVE_S_ARG] = arg;
	if (src->msgid.n && !derived) {
		ev.s[ARCHIVE_S_MSGID] = src->msgid;
	} else {
		derive(ing, &ev, is_msg ? 1 : LG_DERIVE_WINDOW_MS, id, sizeof(id));
		ev.s[ARCHIVE_S_MSGID] = str_of(id, strlen(id));
	}
	ing->stats.events++;
	o->emit(o->ud, &ev);
}

/* emit_ev in channel name[0..n), which is also the target. */
static void emit_in(lg_ingest_t *ing, const struct source *src, enum archive_event_type type,
		    const char *name, size_t n, archive_str_t text, archive_str_t arg, bool derived,
		    const struct out *o)
{
	emit_ev(ing, src, type, str_of(name, n), str_of(name, n), text, arg, derived, o);
}

static int source_init(const irc_msg_t *msg, int64_t now_ms, struct source *src,
		       const char **out_reason)
{
	irc_msg_tag_t t;
	int n;

	memset(&src->uh, 0, sizeof(src->uh));
	src->account = src->msgid = str_of(NULL, 0);
	if (!msg->source.ptr || irc_mask_split(msg->source.ptr, msg->source.len, &src->uh) < 0 ||
	    src->uh.nick_len > NICK_MAX || src->uh.user_len > NICK_MAX ||
	    src->uh.host_len > ARCHIVE_EVENT_NAME_MAX) {
		*out_reason = "missing or oversized source";
		return -EINVAL;
	}
	src->time_ms = now_ms;
	if (irc_msg_tag_get(msg, "time", &t) == 0)
		(void)archive_event_time_parse(t.value, t.value_len, &src->time_ms);
	if (irc_msg_tag_get(msg, "msgid", &t) == 0 && t.value_len > 0 &&
	    t.value_len <= ARCHIVE_EVENT_MSGID_MAX)
		src->msgid = str_of(t.value, t.value_len);
	if (irc_msg_tag_get(msg, "account", &t) == 0 && t.value_len <= ARCHIVE_EVENT_NAME_MAX)
		src->account = str_of(t.value, t.value_len);
	n = irc_msg_tags_serialize(msg, src->tagbuf, sizeof(src->tagbuf));
	if (n < 0 || (size_t)n > ARCHIVE_EVENT_TAGS_MAX) {
		*out_reason = "tags too long to store";
		return -EINVAL;
	}
	src->tags = str_of(src->tagbuf, (size_t)n);
	return 0;
}

/* ---- handlers ---- */

struct ctx {
	lg_ingest_t *ing;
	const irc_msg_t *msg;
	struct source *src;
	struct out out;
	lg_ingest_hint_t *hint;
	const char **reason;
};

static int refuse(struct ctx *x, const char *why)
{
	x->ing->stats.refused++;
	*x->reason = why;
	return -EINVAL;
}

/* params[0] must be a channel name within limits; it is *out_chan when
 * LG_INGEST_DONE is returned. */
static int channel_param(struct ctx *x, size_t min_params, irc_msg_span_t *out_chan)
{
	irc_msg_span_t t;

	if (x->msg->n_params < min_params)
		return refuse(x, "missing parameters");
	t = x->msg->params[0];
	if (!is_channel(x->ing, t))
		return LG_INGEST_IGNORED;
	if (t.len > ARCHIVE_EVENT_TARGET_MAX)
		return refuse(x, "channel name longer than "
				 "200"
				 " bytes");
	*out_chan = t;
	return LG_INGEST_DONE;
}

static archive_str_t param(const irc_msg_t *m, size_t i)
{
	return i < m->n_params ? span(m->params[i]) : str_of(NULL, 0);
}

/* The id in tag key of the message, or 0 when absent or not an id. */
static uint64_t tag_id(const irc_msg_t *m, const char *key)
{
	irc_msg_tag_t t;
	uint64_t id;

	if (irc_msg_tag_get(m, key, &t) < 0 || archive_dm_id_parse(t.value, t.value_len, &id) < 0)
		return 0;
	return id;
}

/*
 * A message to a user: the copy m_eirc_capture gives the bot of a direct
 * message between two others (target: the receiver's nick), filed in the
 * pair's conversation "dm:<lo>:<hi>" from the ids the server vouches for
 * (eirc/uid of the sender, eirc/to-uid of the receiver), never from a nick
 * or an ident. Messages to the bot itself, and lines without eirc/uid (a
 * server's notice), are not archived.
 */
static int on_direct(struct ctx *x, enum archive_event_type type, irc_msg_span_t t)
{
	char conv[48];
	irc_msg_tag_t tag;
	uint64_t from = tag_id(x->msg, "eirc/uid"), to;
	int n;

	if (is_self(x->ing, t.ptr, t.len) || irc_msg_tag_get(x->msg, "eirc/uid", &tag) < 0)
		return LG_INGEST_IGNORED;
	to = tag_id(x->msg, "eirc/to-uid");
	if (from == 0 || to == 0)
		return refuse(x, "direct message without a valid eirc/uid and eirc/to-uid");
	if (t.len == 0 || t.len > ARCHIVE_EVENT_TARGET_MAX)
		return refuse(x, "receiver's nick empty or too long");
	if (from == to)
		return LG_INGEST_IGNORED; /* between two sessions of one account */
	n = archive_keys_dm_target(from, to, conv, sizeof(conv));
	if (n < 0)
		return n;
	emit_ev(x->ing, x->src, type, str_of(conv, (size_t)n), span(t), param(x->msg, 1),
		str_of(NULL, 0), false, &x->out);
	return LG_INGEST_DONE;
}

/*
 * PRIVMSG, NOTICE, TAGMSG. To a channel: in that channel. STATUSMSG
 * ("@#c": to the members with that rank or above): in the channel's
 * conversation, target "@#c" as written and arg the prefix, so replay can
 * give it only to its sender (hist_query). Anything else: on_direct.
 */
static int on_message(struct ctx *x, enum archive_event_type type)
{
	const irc_msg_t *m = x->msg;
	irc_msg_span_t t, c;
	size_t pre = 0;

	if (m->n_params < (type == ARCHIVE_EV_TAGMSG ? 1u : 2u))
		return refuse(x, "missing parameters");
	t = m->params[0];
	c = t;
	while (c.len && !is_channel(x->ing, c) && t.ptr[pre] &&
	       strchr(x->ing->statusmsg, t.ptr[pre])) {
		pre++;
		c.ptr++;
		c.len--;
	}
	if (!is_channel(x->ing, c))
		return pre ? LG_INGEST_IGNORED : on_direct(x, type, t);
	if (t.len > ARCHIVE_EVENT_TARGET_MAX)
		return refuse(x, "channel name longer than 200 bytes");
	emit_ev(x->ing, x->src, type, span(c), span(t), param(m, 1),
		str_of(pre ? t.ptr : NULL, pre), false, &x->out);
	return LG_INGEST_DONE;
}

/* x's hint naming channel t (a channel_param), or NULL without a hint. */
static lg_ingest_hint_t *hint_channel(struct ctx *x, irc_msg_span_t t)
{
	if (!x->hint)
		return NULL;
	memcpy(x->hint->channel, t.ptr, t.len);
	x->hint->channel[t.len] = '\0';
	return x->hint;
}

/* One gap event (start_ms .. end_ms, arg the end) in channel name[0..n). */
static void gap_in(lg_ingest_t *ing, const char *name, size_t n, int64_t start_ms, int64_t end_ms,
		   const struct out *o)
{
	struct source src;
	char end[24];

	memset(&src, 0, sizeof(src));
	src.uh.nick = ing->self;
	src.uh.nick_len = strlen(ing->self);
	src.time_ms = start_ms;
	snprintf(end, sizeof(end), "%" PRId64, end_ms);
	emit_in(ing, &src, ARCHIVE_EV_GAP, name, n, str_of(NULL, 0), str_of(end, strlen(end)), true,
		o);
}

/* The bot was kicked or parted out of channel t: it is no longer there, and
 * the time until it is back is a gap (self_rejoined). */
static int self_removed(struct ctx *x, irc_msg_span_t t)
{
	char f[ARCHIVE_EVENT_TARGET_MAX + 1];
	size_t n = fold(x->ing, t.ptr, t.len, f, sizeof(f));
	lg_ingest_hint_t *h = hint_channel(x, t);
	int64_t *since;

	chan_del(x->ing, t.ptr, t.len);
	if (h)
		h->self_removed = true;
	if (lg_map_get(&x->ing->left, f, n))
		return LG_INGEST_DONE;
	if (!(since = malloc(sizeof(*since))))
		return -ENOMEM;
	*since = x->src->time_ms;
	if (lg_map_put(&x->ing->left, f, n, since) < 0) {
		free(since);
		return -ENOMEM;
	}
	return LG_INGEST_DONE;
}

/* The bot is in channel t (it joined, or the server joined it): when it had
 * been removed, the time it was out is recorded as a gap there first. */
static void self_rejoined(struct ctx *x, irc_msg_span_t t)
{
	char f[ARCHIVE_EVENT_TARGET_MAX + 1];
	int64_t *since = lg_map_del(&x->ing->left, f, fold(x->ing, t.ptr, t.len, f, sizeof(f)));
	lg_ingest_hint_t *h = hint_channel(x, t);

	if (since)
		gap_in(x->ing, t.ptr, t.len, *since, x->src->time_ms, &x->out);
	free(since);
	if (h)
		h->self_joined = true;
}

static int on_join(struct ctx *x, enum archive_event_type type)
{
	irc_msg_span_t t;
	struct chan *c;
	int r = channel_param(x, 1, &t);

	if (r != LG_INGEST_DONE)
		return r;
	if (is_self(x->ing, x->src->uh.nick, x->src->uh.nick_len)) {
		c = chan_get(x->ing, t.ptr, t.len);
		if (c)
			chan_del(x->ing, t.ptr, t.len);
		if ((r = chan_add(x->ing, t.ptr, t.len, &c)) < 0)
			return r == -ENOSPC ? refuse(x, "too many channels") : r;
		self_rejoined(x, t);
	}
	c = chan_get(x->ing, t.ptr, t.len);
	if (c && member_add(x->ing, c, x->src->uh.nick, x->src->uh.nick_len) == -ENOSPC)
		x->ing->stats.refused++;
	emit_in(x->ing, x->src, ARCHIVE_EV_JOIN, t.ptr, t.len, str_of(NULL, 0), str_of(NULL, 0),
		false, &x->out);
	return LG_INGEST_DONE;
}

/* A PART whose reason is exactly EIRC_CAPTURE_CLOSED_REASON. */
static bool is_closing(const irc_msg_t *m)
{
	static const char why[] = EIRC_CAPTURE_CLOSED_REASON;

	return m->n_params >= 2 && m->params[1].len == sizeof(why) - 1 &&
	       memcmp(m->params[1].ptr, why, sizeof(why) - 1) == 0;
}

/* m_eirc_capture parted the bot from channel t, no one else being in it:
 * the channel's end. It is no longer there, and nothing is missing: no gap,
 * no rejoin (it joins it again when someone creates it anew). */
static int self_closed(struct ctx *x, irc_msg_span_t t)
{
	lg_ingest_hint_t *h = hint_channel(x, t);

	chan_del(x->ing, t.ptr, t.len);
	if (h)
		h->closed = true;
	return LG_INGEST_DONE;
}

static int on_part(struct ctx *x, enum archive_event_type type)
{
	const irc_mask_userhost_t *uh = &x->src->uh;
	irc_msg_span_t t;
	struct chan *c;
	int r;

	if ((r = channel_param(x, 1, &t)) != LG_INGEST_DONE)
		return r;
	emit_in(x->ing, x->src, ARCHIVE_EV_PART, t.ptr, t.len, param(x->msg, 1), str_of(NULL, 0),
		false, &x->out);
	if (is_self(x->ing, uh->nick, uh->nick_len))
		return is_closing(x->msg) ? self_closed(x, t) : self_removed(x, t);
	if ((c = chan_get(x->ing, t.ptr, t.len)))
		member_del(x->ing, c, uh->nick, uh->nick_len);
	return LG_INGEST_DONE;
}

static int on_kick(struct ctx *x, enum archive_event_type type)
{
	irc_msg_span_t t, v;
	struct chan *c;
	int r = channel_param(x, 2, &t);

	if (r != LG_INGEST_DONE)
		return r;
	v = x->msg->params[1];
	emit_in(x->ing, x->src, ARCHIVE_EV_KICK, t.ptr, t.len, param(x->msg, 2), span(v), false,
		&x->out);
	if (is_self(x->ing, v.ptr, v.len))
		return self_removed(x, t);
	if ((c = chan_get(x->ing, t.ptr, t.len)))
		member_del(x->ing, c, v.ptr, v.len);
	return LG_INGEST_DONE;
}

static int on_topic(struct ctx *x, enum archive_event_type type)
{
	irc_msg_span_t t;
	int r = channel_param(x, 2, &t);

	if (r != LG_INGEST_DONE)
		return r;
	emit_in(x->ing, x->src, ARCHIVE_EV_TOPIC, t.ptr, t.len, param(x->msg, 1), str_of(NULL, 0),
		false, &x->out);
	return LG_INGEST_DONE;
}

static int on_mode(struct ctx *x, enum archive_event_type type)
{
	char text[IRC_MSG_MAX + 1];
	size_t n = 0;
	irc_msg_span_t t;
	int r = channel_param(x, 2, &t);

	if (r != LG_INGEST_DONE)
		return r;
	for (size_t i = 1; i < x->msg->n_params; i++) {
		irc_msg_span_t p = x->msg->params[i];
		if (n + p.len + 1 > sizeof(text))
			return refuse(x, "mode string too long");
		if (i > 1)
			text[n++] = ' ';
		memcpy(text + n, p.ptr, p.len);
		n += p.len;
	}
	emit_in(x->ing, x->src, ARCHIVE_EV_MODE, t.ptr, t.len, str_of(text, n), str_of(NULL, 0),
		false, &x->out);
	return LG_INGEST_DONE;
}

struct fanout {
	struct ctx *x;
	enum archive_event_type type;
	archive_str_t text, arg;
	int err;
};

static void fanout_one(void *ud, const char *key, size_t len, void *value)
{
	struct fanout *f = ud;
	struct ctx *x = f->x;
	struct chan *c = value;
	const irc_mask_userhost_t *uh = &x->src->uh;

	(void)key, (void)len;
	if (!member_del(x->ing, c, uh->nick, uh->nick_len))
		return;
	emit_in(x->ing, x->src, f->type, c->name, strlen(c->name), f->text, f->arg, true, &x->out);
	if (f->type == ARCHIVE_EV_NICK && member_add(x->ing, c, f->arg.p, f->arg.n) < 0)
		f->err = -ENOSPC;
}

static int on_quit(struct ctx *x, enum archive_event_type type)
{
	struct fanout f = {x, ARCHIVE_EV_QUIT, param(x->msg, 0), str_of(NULL, 0), 0};

	if (is_self(x->ing, x->src->uh.nick, x->src->uh.nick_len))
		return LG_INGEST_IGNORED;
	lg_map_each(&x->ing->chans, fanout_one, &f);
	return LG_INGEST_DONE;
}

static int on_nick(struct ctx *x, enum archive_event_type type)
{
	struct fanout f = {x, ARCHIVE_EV_NICK, str_of(NULL, 0), param(x->msg, 0), 0};
	char nick[NICK_MAX + 1];

	if (x->msg->n_params < 1 || x->msg->params[0].len == 0)
		return refuse(x, "missing parameters");
	if (x->msg->params[0].len > NICK_MAX)
		return refuse(x, "nick too long");
	lg_map_each(&x->ing->chans, fanout_one, &f);
	if (is_self(x->ing, x->src->uh.nick, x->src->uh.nick_len)) {
		memcpy(nick, x->msg->params[0].ptr, x->msg->params[0].len);
		nick[x->msg->params[0].len] = '\0';
		lg_ingest_set_self(x->ing, nick);
	}
	if (f.err)
		x->ing->stats.refused++;
	return LG_INGEST_DONE;
}

/* ---- numerics and bookkeeping ---- */

static void isupport_token(lg_ingest_t *ing, irc_msg_span_t p)
{
	enum irc_casemap cm;
	const char *close;

	if (irc_casemap_from_isupport(p.ptr, p.len, &cm) == 0) {
		ing->cm = cm;
	} else if (p.len > 7 && memcmp(p.ptr, "PREFIX=", 7) == 0 &&
		   (close = memchr(p.ptr, ')', p.len))) {
		size_t n = p.len - (size_t)(close + 1 - p.ptr);
		if (n < sizeof(ing->prefixes)) {
			memcpy(ing->prefixes, close + 1, n);
			ing->prefixes[n] = '\0';
		}
	} else if (p.len > 10 && memcmp(p.ptr, "STATUSMSG=", 10) == 0 &&
		   p.len - 10 < sizeof(ing->statusmsg)) {
		memcpy(ing->statusmsg, p.ptr + 10, p.len - 10);
		ing->statusmsg[p.len - 10] = '\0';
	} else if (p.len > 10 && memcmp(p.ptr, "CHANTYPES=", 10) == 0 &&
		   p.len - 10 < sizeof(ing->chantypes)) {
		memcpy(ing->chantypes, p.ptr + 10, p.len - 10);
		ing->chantypes[p.len - 10] = '\0';
	}
}

static int on_names(struct ctx *x)
{
	const irc_msg_t *m = x->msg;
	irc_msg_span_t t, list;
	struct chan *c;

	if (m->n_params < 4)
		return LG_INGEST_IGNORED;
	t = m->params[2];
	list = m->params[3];
	if (!(c = chan_get(x->ing, t.ptr, t.len)))
		return LG_INGEST_IGNORED;
	for (size_t i = 0; i < list.len;) {
		size_t j = i, end;
		while (j < list.len && list.ptr[j] != ' ')
			j++;
		end = j;
		while (i < end && strchr(x->ing->prefixes, list.ptr[i]) && list.ptr[i])
			i++;
		for (size_t k = i; k < end; k++)
			if (list.ptr[k] == '!')
				end = k;
		if (end > i && member_add(x->ing, c, list.ptr + i, end - i) < 0)
			x->ing->stats.refused++;
		i = j + 1;
	}
	return LG_INGEST_DONE;
}

static int set_hint(struct ctx *x, irc_msg_span_t chan, bool *flag)
{
	if (!x->hint || chan.len == 0 || chan.len > ARCHIVE_EVENT_TARGET_MAX ||
	    !is_channel(x->ing, chan))
		return LG_INGEST_IGNORED;
	*flag = true;
	memcpy(x->hint->channel, chan.ptr, chan.len);
	x->hint->channel[chan.len] = '\0';
	return LG_INGEST_DONE;
}

static int on_numeric(struct ctx *x)
{
	const irc_msg_t *m = x->msg;

	if (irc_msg_command_is(m, "005")) {
		for (size_t i = 1; i + 1 < m->n_params; i++)
			isupport_token(x->ing, m->params[i]);
		return LG_INGEST_DONE;
	}
	if (irc_msg_command_is(m, "353"))
		return on_names(x);
	if (irc_msg_command_is(m, "322") && m->n_params >= 2 && x->hint)
		return set_hint(x, m->params[1], &x->hint->listed);
	if (irc_msg_command_is(m, "INVITE") && m->n_params >= 2 && x->hint &&
	    is_self(x->ing, m->params[0].ptr, m->params[0].len))
		return set_hint(x, m->params[1], &x->hint->invited);
	return LG_INGEST_IGNORED;
}

/* The archived commands: the event type each makes and its handler (the
 * type matters to on_message only). */
static const struct handler {
	const char *cmd;
	enum archive_event_type type;
	int (*fn)(struct ctx *x, enum archive_event_type type);
} handlers[] = {
	{"PRIVMSG", ARCHIVE_EV_PRIVMSG, on_message}, {"NOTICE", ARCHIVE_EV_NOTICE, on_message},
	{"TAGMSG", ARCHIVE_EV_TAGMSG, on_message},   {"JOIN", ARCHIVE_EV_JOIN, on_join},
	{"PART", ARCHIVE_EV_PART, on_part},          {"KICK", ARCHIVE_EV_KICK, on_kick},
	{"QUIT", ARCHIVE_EV_QUIT, on_quit},          {"NICK", ARCHIVE_EV_NICK, on_nick},
	{"TOPIC", ARCHIVE_EV_TOPIC, on_topic},       {"MODE", ARCHIVE_EV_MODE, on_mode},
};

/* The handler of m's command; NULL when it is not archived. */
static const struct handler *handler_of(const irc_msg_t *m)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (irc_msg_command_is(m, handlers[i].cmd))
			return &handlers[i];
	return NULL;
}

int lg_ingest_msg(lg_ingest_t *ing, const irc_msg_t *msg, int64_t now_ms, lg_ingest_emit_fn emit,
		  void *ud, lg_ingest_hint_t *hint, const char **out_reason)
{
	struct source src;
	struct ctx x = {ing, msg, &src, {emit, ud}, hint, out_reason};
	const struct handler *h = handler_of(msg);
	int err;

	if (hint)
		memset(hint, 0, sizeof(*hint));
	if (!h)
		return on_numeric(&x);
	if (!msg->source.ptr)
		return LG_INGEST_IGNORED; /* e.g. a server's own NOTICE without source */
	if ((err = source_init(msg, now_ms, &src, out_reason)) < 0) {
		ing->stats.refused++;
		return err;
	}
	return h->fn(&x, h->type);
}

void lg_ingest_gap(lg_ingest_t *ing, const char *const *channels, size_t n, int64_t start_ms,
		   int64_t end_ms, lg_ingest_emit_fn emit, void *ud)
{
	struct out o = {emit, ud};

	for (size_t i = 0; i < n; i++)
		gap_in(ing, channels[i], strlen(channels[i]), start_ms, end_ms, &o);
}
