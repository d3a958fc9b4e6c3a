/*
 * gw_bus: the access bus's messages to gw_access (see gw_bus.h).
 */
#include "gateway/gw_bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "common/access_msg.h"
#include "common/log.h"
#include "common/redis_sub.h"

struct gw_bus {
	const eirc_config_redis_t *cfg;
	gw_access_t *access;
	redis_sub_t *sub;
	bool up; /* subscribed since the last loss was logged */
};

static void on_subscribed(void *ud)
{
	gw_bus_t *b = ud;

	log_info("Following %s on Redis at %s:%d; rechecking every session", ACCESS_MSG_CHANNEL,
		 b->cfg->host, b->cfg->port);
	b->up = true;
	gw_access_resync(b->access);
}

static void on_message(void *ud, const char *msg, size_t len)
{
	gw_bus_t *b = ud;
	access_msg_t m;

	if (access_msg_parse(msg, len, &m) < 0) {
		log_warn("Malformed message on %s (%zu bytes), ignoring", ACCESS_MSG_CHANNEL, len);
		return;
	}
	log_debug("Access change %s of user %" PRIu64 " (family %" PRIu64 ")",
		  access_msg_kind_name(m.kind), m.user, m.family);
	gw_access_event(b->access, access_msg_kind_name(m.kind), m.user, m.family);
}

static void on_down(void *ud, const eirc_err_t *why)
{
	gw_bus_t *b = ud;

	if (!b->up)
		return; /* said once per outage */
	b->up = false;
	log_warn("Lost %s on Redis at %s:%d (%s); access changes reach live sessions "
		 "by gateway.access_recheck until it is back",
		 ACCESS_MSG_CHANNEL, b->cfg->host, b->cfg->port, why->text);
}

int gw_bus_new(uv_loop_t *loop, const eirc_config_t *cfg, gw_access_t *access, gw_bus_t **out)
{
	static const redis_sub_cb_t cb = {on_subscribed, on_message, on_down};
	gw_bus_t *b = calloc(1, sizeof(*b));
	redis_opts_t o;
	int r;

	if (!b)
		return -ENOMEM;
	*b = (gw_bus_t){.cfg = &cfg->redis, .access = access};
	redis_opts_from_config(&cfg->redis, cfg->gateway.redis_username,
			       cfg->gateway.redis_password, &o);
	if ((r = redis_sub_new(loop, &o, ACCESS_MSG_CHANNEL, &cb, b, &b->sub)) < 0) {
		free(b);
		return r;
	}
	*out = b;
	return 0;
}

void gw_bus_start(gw_bus_t *b)
{
	redis_sub_start(b->sub);
}

static void sub_closed(void *ud)
{
	free(ud);
}

void gw_bus_close(gw_bus_t *b)
{
	if (b)
		redis_sub_close(b->sub, sub_closed);
}
