/*
 * prom: Prometheus text lines. See prom.h.
 */
#include "common/prom.h"

#include <inttypes.h>
#include <stdio.h>

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

void prom_status_count(prom_status_t *row, int status)
{
	if (status < PROM_STATUS_MIN || status > PROM_STATUS_MAX)
		row->n[0]++;
	else
		row->n[status - PROM_STATUS_MIN + 1]++;
}

int prom_status_render(buf_t *b, const char *name, const char *help, const prom_status_t *rows,
		       int nroutes, const char *(*label)(int i))
{
	char labels[128], code[8];
	int r = prom_head(b, name, "counter", help);

	for (int i = 0; r == 0 && i < nroutes; i++)
		for (int s = 0; r == 0 && s < (int)(sizeof(rows[i].n) / sizeof(rows[i].n[0]));
		     s++) {
			if (!rows[i].n[s])
				continue;
			if (s == 0)
				snprintf(code, sizeof(code), "other");
			else
				snprintf(code, sizeof(code), "%d", s - 1 + PROM_STATUS_MIN);
			snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%s\"", label(i),
				 code);
			r = prom_sample(b, name, labels, rows[i].n[s]);
		}
	return r;
}
