/*
 * lg_app: the eirc-logger process: one libuv loop wiring the IRC bot
 * (irc_conn + lg_ingest), the Redis writer, the Elasticsearch shipper and
 * the /metrics listener from the loaded configuration, on the loop main.c's
 * common/daemon runs. It is the top of the daemon: the only part that
 * logs.
 *
 * The bot registers with the configured nick (nick|2 ... on collision), asks
 * for message-tags, server-time, batch, account-tag and multi-prefix, sets
 * bot mode (+B) when 005 announces BOT, joins the configured channels,
 * channels it is invited to (accept_invites) and, with join_listed, every
 * channel LIST shows (re-listed every list_interval); it archives every
 * channel the server joins it to (m_eirc_capture joins a capture bot into
 * every channel) as if configured. It rejoins at once after a kick or a
 * forced PART (again after LG_APP_REJOIN_MS) and after every reconnection,
 * and records the time it was out as a gap event in each channel it was
 * in, also across a restart of the process (LG_APP_SEEN_MS).
 *
 * With m_eirc_capture a channel ends when no one but capture bots is left:
 * the server parts the bot with EIRC_CAPTURE_CLOSED_REASON. That PART is
 * archived as any PART, and is no gap: the channel is no longer wanted (not
 * rejoined, no gap at a reconnection) until the server joins the bot again
 * when someone creates it anew. The server also refuses, without a reply,
 * a capture bot's JOIN to a channel that does not exist (a bot creates no
 * channel): a configured channel is joined at registration when it exists,
 * and otherwise the moment someone creates it; the JOIN is sent once per
 * registration (and after a kick), never retried on a timer.
 *
 * While it cannot archive (Redis down and the spill file unavailable or
 * full: lg_writer_can_archive) it is AWAY (LG_APP_AWAY_TEXT); back when it
 * can. It checks on every writer note and every LG_APP_SEEN_MS.
 *
 * Bad input is never dropped silently: a line irc_conn cannot frame or
 * parse, and a message lg_ingest refuses, is logged with its reason (rate
 * limited, see LG_APP_BAD_LOG_BURST; the line's start escaped by log.h) and
 * counted in eirc_logger_lines_refused_total{reason} or
 * eirc_logger_events_refused_total. Odd input the server did deliver
 * (invalid UTF-8, control characters in a channel name) is archived as
 * received, and logged and counted the same way
 * (eirc_logger_events_flagged_total{reason}).
 */
#ifndef EIRC_LOGGER_LG_APP_H
#define EIRC_LOGGER_LG_APP_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"

#define LG_APP_REJOIN_MS 2000
/* The away message while the logger cannot archive (C2 of issue 25: a
 * capture bot that is away does not count as archiving). */
#define LG_APP_AWAY_TEXT "archive unavailable"
/* Time given to the writer to empty its queue at shutdown before the rest
 * is spilled to disk (main.c's drain_ms: common/daemon then calls
 * lg_app_close). */
#define LG_APP_DRAIN_MS 5000
/* A loss is logged at most this often (with the running count). */
#define LG_APP_LOSS_LOG_MS 10000
/* Bad input (lines irc_conn refused, messages lg_ingest refused) is logged
 * one line per refused line, at most LG_APP_BAD_LOG_BURST per
 * LG_APP_BAD_LOG_MS: a peer able to flood them cannot flood the log. The
 * next window's first line says how many went unlogged; the metrics count
 * every one. */
#define LG_APP_BAD_LOG_BURST 20
#define LG_APP_BAD_LOG_MS    10000
/* Gaps across restarts: while in its channels the logger writes the wall
 * time to its heartbeat key (archive_keys_seen(): per network and nick) this
 * often. A new run reads it when Redis first answers and, once it has been
 * registered for LG_APP_SEEN_MS (in its channels again), records a gap from
 * that time to its registration in every channel it is in: configured, or
 * joined by the server (m_eirc_capture). The previous run's end is known to
 * LG_APP_SEEN_MS, and the gap errs on the long side. */
#define LG_APP_SEEN_MS 1000

/* The /metrics listener (common/http_server): bytes lws keeps of a request
 * head (past them the connection is closed unanswered), seconds for a head
 * to arrive, connections at once (one more is closed at accept). */
#define LG_APP_METRICS_HEAD_MAX  8192
#define LG_APP_METRICS_TIMEOUT_S 5
#define LG_APP_METRICS_CONNS_MAX 16

/* The logger is one per process: these act on it. */

/* Starts the logger on loop (borrowed config). Returns 0, or a negative
 * errno after logging why and closing what it opened (lg_app_free after
 * the loop frees the rest). */
int lg_app_start(uv_loop_t *loop, const eirc_config_t *cfg);

/* SIGINT/SIGTERM: leaves IRC and lets the writer empty its queue; closes
 * every handle once it is empty. A second call does nothing. */
void lg_app_stop(void);

/* The drain time is over: closes every handle now (the writer spills what
 * is left). */
void lg_app_close(void);

/* After the loop ended: frees what is left. */
void lg_app_free(void);
/* True when the logger stopped by itself on a Redis it refuses (its
 * maxmemory-policy can evict keys): the exit status is then 1. */
bool lg_app_failed(void);

/* NULL when the logger archives (registered on IRC, its Redis writer
 * connected: the metrics' irc_connected and redis_connected), else why
 * not: systemd's READY=1 waits for it. */
const char *lg_app_not_ready(void);

#endif
