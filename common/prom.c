/*
 * prom: Prometheus text lines. See prom.h.
 */
#include "common/prom.h"

#include <inttypes.h>

int prom_head(buf_t *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int prom_sample(buf_t *b, const char *name, const char *labels, uint64_t v)
{
	if (!labels || !labels[0])
		return buf_printf(b, "%s %" PRIu64 "\n", name, v);
	return buf_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, v);
}

int prom_one(buf_t *b, const char *name, const char *type, const char *help, uint64_t v)
{
	int r = prom_head(b, name, type, help);

	return r < 0 ? r : prom_sample(b, name, NULL, v);
}
