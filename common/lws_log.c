/*
 * lws_log: libwebsockets' log lines into common/log (see lws_log.h).
 */
#include "common/lws_log.h"

#include <string.h>

#include <libwebsockets.h>

#include "common/log.h"

static void lwslog_line(int level, const char *line)
{
	size_t n = strlen(line);
	char buf[LWSLOG_LINE_MAX + 1];

	if (n > LWSLOG_LINE_MAX)
		n = LWSLOG_LINE_MAX;
	memcpy(buf, line, n);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	log_fields(level == LLL_ERR ? LOG_ERROR : LOG_WARN, NULL, 0, "lws: %s", buf);
}

void lwslog_setup(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, lwslog_line);
}
