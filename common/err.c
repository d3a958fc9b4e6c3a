/*
 * err: error text for callers (see err.h).
 */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

int eirc_err_set(eirc_err_t *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return code;
}
