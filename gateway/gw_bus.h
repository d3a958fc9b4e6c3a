/*
 * gw_bus: the gateway's subscription to the access bus (docs/architecture.md
 * "The access bus"): common/redis_sub on the channel ACCESS_MSG_CHANNEL of
 * the shared redis: section. Each well-formed message goes to
 * gw_access_event(); every (re)subscription, when messages may have been
 * missed, to gw_access_resync(). Malformed messages are logged and
 * dropped. It decides nothing itself: gw_access does the checks.
 */
#ifndef EIRC_GW_BUS_H
#define EIRC_GW_BUS_H

#include <uv.h>

#include "config/config.h"
#include "gateway/gw_access.h"

typedef struct gw_bus gw_bus_t;

/* Creates the subscription on loop (not started) for access (borrowed: it
 * must stay until gw_bus_close()). Returns 0 and *out, or -ENOMEM (*out
 * untouched). */
int gw_bus_new(uv_loop_t *loop, const eirc_config_t *cfg, gw_access_t *access, gw_bus_t **out);

/* Connects and subscribes, and keeps at it until gw_bus_close(). */
void gw_bus_start(gw_bus_t *b);

/* No gw_access_* call from here on; the connection and its handles close
 * and the memory is freed in later loop iterations. NULL is a no-op. */
void gw_bus_close(gw_bus_t *b);

#endif
