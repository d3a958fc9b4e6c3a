/*
 * lws_log (lwslog_*): libwebsockets' own log lines into ours. eirc-auth, eirc-gateway
 * and eirc-history each run libwebsockets; each calls lwslog_setup() once
 * before creating its context, so lws errors and warnings arrive as
 * "lws: ..." lines through common/log (one line each, trailing CR/LF
 * dropped, at most LWSLOG_LINE_MAX bytes kept) instead of lws's stderr.
 */
#ifndef EIRC_COMMON_LWS_LOG_H
#define EIRC_COMMON_LWS_LOG_H

/* Longest lws line kept; the rest is cut. */
#define LWSLOG_LINE_MAX 511

/* Routes lws's errors and warnings to common/log. Idempotent. */
void lwslog_setup(void);

#endif
