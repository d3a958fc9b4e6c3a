/*
 * hist_dmstore: stores the direct messages irc-clients report (see
 * hist_dm.h for the report, hist_server_int.h for the entry points): the
 * archive's idempotent append script (archive/archive_append.h) into
 * dm:<lo>:<hi> and the archive, the nick <-> id keys, and each user's
 * conversation index for TARGETS (archive/archive_dm.h, which eirc-logger
 * files its copies of direct messages into as well).
 * Fire and forget: nothing is answered.
 */
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_append.h"
#include "archive/archive_dm.h"
#include "common/clock.h"
#include "common/log.h"

/* An outgoing direct message whose receiver's id is being looked up. */
struct dm_pending {
	hist_app_t *app;
	queue_t node; /* on hist_app's dms */
	hist_dm_t dm;
};

/* ---- direct messages ---- */

static void on_ignored(void *ud, redisReply *r, void *privdata)
{
	(void)ud, (void)privdata;
	if (r && r->type == REDIS_REPLY_ERROR)
		log_warn("Direct-message bookkeeping failed in Redis: %s", r->str);
}

/* Remembers nick -> id (for requests and outgoing reports naming a nick). */
static void nick_learn(hist_app_t *a, const char *nick, enum irc_casemap cm, uint64_t id)
{
	char key[ARCHIVE_KEYS_KEY_MAX], v[24];
	const eirc_config_t *cfg = a->cfg;

	if (id == 0 || archive_dm_nick_key(cfg->irc.network, cfg->redis.partitions, nick,
					   strlen(nick), cm, key, sizeof(key)) < 0)
		return;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)id);
	redis_cmd(a->redis, on_ignored, NULL, "SET %s %s PX %llu", key, v,
		  (unsigned long long)cfg->logger.retention);
	if (archive_dm_user_key(cfg->irc.network, cfg->redis.partitions, "unick", id, key,
				sizeof(key)) > 0)
		redis_cmd(a->redis, on_ignored, NULL, "SET %s %s PX %llu", key, nick,
			  (unsigned long long)cfg->logger.retention);
}

/* Indexes the conversation for TARGETS (archive_dm_index_build). */
static void dm_index(hist_app_t *a, uint64_t sender, uint64_t receiver, int64_t time_ms)
{
	static archive_dm_index_t x;
	const eirc_config_t *cfg = a->cfg;

	if (archive_dm_index_build(cfg->irc.network, cfg->redis.partitions, sender, receiver,
				   time_ms, cfg->logger.retention, &x) < 0)
		return;
	for (int i = 0; i < x.n; i++)
		(void)redis_argv(a->redis, x.cmd[i].argc, x.cmd[i].argv, x.cmd[i].argvlen,
				 on_ignored, NULL);
}

/* Appends the message to dm:<lo>:<hi> and the archive with the archive's
 * idempotent script: the sender's and the receiver's reports share the
 * msgid, so it is stored once. EVAL, not EVALSHA: a report is never lost to
 * NOSCRIPT after a Redis restart, and direct messages are few. */
static void dm_append(hist_app_t *a, const hist_dm_t *dm, uint64_t receiver)
{
	static archive_append_call_t call;
	char conv[64];
	archive_event_t ev;
	const eirc_config_t *cfg = a->cfg;
	archive_append_opts_t o = {cfg->redis.partitions, clock_wall_ms(), cfg->logger.retention,
				   a->has_mac_key ? a->mac_key : NULL};

	if (dm->sender_id == 0 ||
	    archive_keys_dm_target(dm->sender_id, receiver, conv, sizeof(conv)) < 0 ||
	    hist_dm_event(dm, cfg->irc.network, conv, o.now_ms, &ev) < 0 ||
	    archive_append_build(&ev, &o, NULL, &call) < 0) {
		log_debug("Ignored a direct message that cannot be stored (msgid %s)", dm->msgid);
		return;
	}
	if (redis_argv(a->redis, call.argc, call.argv, call.argvlen, on_ignored, NULL) < 0) {
		log_warn("Lost a direct message (msgid %s): Redis is unavailable", dm->msgid);
		return;
	}
	dm_index(a, dm->sender_id, receiver, ev.time_ms);
}

static void dm_pending_free(struct dm_pending *p);

void hist_dmstore_drop_pending(hist_app_t *a)
{
	while (!queue_empty(&a->dms))
		dm_pending_free(queue_data(queue_head(&a->dms), struct dm_pending, node));
}

static void dm_pending_free(struct dm_pending *p)
{
	queue_remove(&p->node);
	free(p);
}

int hist_redis_id(const redisReply *r, uint64_t *out)
{
	uint64_t v = 0;

	if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 19)
		return -ENOENT;
	for (size_t i = 0; i < r->len; i++) {
		if (r->str[i] < '0' || r->str[i] > '9')
			return -ENOENT;
		v = v * 10 + (uint64_t)(r->str[i] - '0');
	}
	*out = v;
	return v ? 0 : -ENOENT;
}

static void on_receiver(void *ud, redisReply *r, void *privdata)
{
	struct dm_pending *p = privdata;
	uint64_t id;

	(void)ud;
	if (hist_redis_id(r, &id) == 0 && id != p->dm.sender_id)
		dm_append(p->app, &p->dm, id);
	dm_pending_free(p);
}

void hist_dmstore_report(hist_app_t *a, const hist_dm_t *dm)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	uint64_t receiver = hist_dm_receiver(dm);
	struct dm_pending *p;

	/* nick -> id only from what is vouched for: the reporter's own (its
	 * irc-client's tags) and a sender's eirc/uid. A line without eirc/uid
	 * is nobody's: its nick teaches nothing, and it is stored nowhere. */
	nick_learn(a, dm->reporter_nick, dm->cm, dm->reporter_id);
	if (dm->sender_id == 0) {
		log_debug("Ignored a direct message without eirc/uid (msgid %s)", dm->msgid);
		return;
	}
	if (dm->sender_id != dm->reporter_id)
		nick_learn(a, dm->nick, dm->cm, dm->sender_id);
	if (receiver) {
		dm_append(a, dm, receiver);
		return;
	}
	if (archive_dm_nick_key(a->cfg->irc.network, a->cfg->redis.partitions, dm->target,
				strlen(dm->target), dm->cm, key, sizeof(key)) < 0 ||
	    !(p = malloc(sizeof(*p))))
		return;
	p->app = a;
	p->dm = *dm;
	queue_insert_tail(&a->dms, &p->node);
	if (redis_cmd(a->redis, on_receiver, p, "GET %s", key) < 0)
		dm_pending_free(p);
}
