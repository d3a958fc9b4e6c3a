/*
 * config_print: write an eirc_config_t back as YAML, generic over the
 * schema table. Strings are double-quoted and escaped; durations and sizes
 * use the largest exact unit; secrets are masked unless told otherwise.
 */
#include "config/config_print.h"

#include <stdint.h>

#include "config/config_schema.h"
#include "config/units.h"

/* Length of the valid UTF-8 sequence at p (1 to 4) with its code point,
 * or 0 when the bytes are not valid UTF-8. */
static size_t print_utf8(const unsigned char *p, uint32_t *out_cp)
{
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	uint32_t cp = p[0] & (0x7f >> n);
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};

	if (n == 0 || p[0] >= 0xf8)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*out_cp = cp;
	return n;
}

/* One non-ASCII character; YAML treats some as line breaks or refuses
 * them raw, so those are escaped and the scalar reads back the same. */
static size_t print_non_ascii(const unsigned char *p, FILE *out)
{
	uint32_t cp = 0;
	size_t n = print_utf8(p, &cp);

	if (n == 0)
		fprintf(out, "\\x%02x", p[0]); /* not UTF-8: cannot round-trip */
	else if (cp <= 0x9f)
		fprintf(out, "\\x%02x", (unsigned)cp);
	else if (cp == 0x2028)
		fputs("\\L", out);
	else if (cp == 0x2029)
		fputs("\\P", out);
	else if (cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
		fprintf(out, "\\u%04x", (unsigned)cp);
	else
		fwrite(p, 1, n, out);
	return n ? n : 1;
}

void config_print_quoted(const char *s, FILE *out)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		if (*p >= 0x80) {
			p += print_non_ascii(p, out);
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (*p == '$' && p[1] == '{')
			fputs("$$", out); /* the loader reads "$${" as "${" */
		else
			fputc(*p, out);
		p++;
	}
	fputc('"', out);
}

static void print_scalar(const config_field_t *f, const char *slot, FILE *out, bool mask)
{
	char buf[UNITS_FORMAT_MAX];
	const char *s = NULL;

	switch (f->type) {
	case CONFIG_T_BOOL:
		fputs(*(const bool *)slot ? "true" : "false", out);
		break;
	case CONFIG_T_INT:
	case CONFIG_T_PORT:
		fprintf(out, "%d", *(const int *)slot);
		break;
	case CONFIG_T_SECRET:
		s = *(char *const *)slot;
		if (s && mask) {
			fputs("\"" CONFIG_SECRET_MASK "\"", out);
			break;
		}
		/* fall through */
	case CONFIG_T_STRING:
	case CONFIG_T_PATH:
		s = *(char *const *)slot;
		if (s)
			config_print_quoted(s, out);
		else
			fputs("null", out);
		break;
	case CONFIG_T_ENUM:
		fputs(f->values[*(const int *)slot], out);
		break;
	case CONFIG_T_DURATION:
		fputs(units_duration_format(*(const uint64_t *)slot, buf, sizeof(buf)), out);
		break;
	case CONFIG_T_SIZE:
		fputs(units_size_format(*(const uint64_t *)slot, buf, sizeof(buf)), out);
		break;
	case CONFIG_T_MODE:
		fprintf(out, "\"%04o\"", *(const unsigned *)slot);
		break;
	default:
		break;
	}
}

static void print_section(const config_section_t *sec, const char *base, int indent, bool list_item,
			  FILE *out, bool mask);

static void print_list(const config_field_t *f, const char *base, int indent, FILE *out, bool mask)
{
	const char *slot = base + f->offset;
	size_t n = *(const size_t *)(base + f->count_offset);

	if (n == 0) {
		fputs(" []\n", out);
		return;
	}
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		if (f->type == CONFIG_T_STRLIST) {
			fprintf(out, "%*s- ", indent + 2, "");
			config_print_quoted((*(char *const *const *)slot)[i], out);
			fputc('\n', out);
		} else {
			const char *v = *(const char *const *)slot;
			print_section(f->sub, v + i * f->sub->size, indent + 4, true, out, mask);
		}
	}
}

/* Keys of sec at `indent`; a list item puts "- " before its first key. */
static void print_section(const config_section_t *sec, const char *base, int indent, bool list_item,
			  FILE *out, bool mask)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		const config_field_t *f = &sec->fields[i];
		const char *slot = base + f->offset;

		if (indent == 0 && i > 0)
			fputc('\n', out);
		if (list_item && i == 0)
			fprintf(out, "%*s- %s:", indent - 2, "", f->name);
		else
			fprintf(out, "%*s%s:", indent, "", f->name);
		if (f->type == CONFIG_T_SECTION) {
			fputc('\n', out);
			print_section(f->sub, slot, indent + 2, false, out, mask);
		} else if (f->type == CONFIG_T_STRLIST || f->type == CONFIG_T_SECTION_LIST) {
			print_list(f, base, indent, out, mask);
		} else {
			fputc(' ', out);
			print_scalar(f, slot, out, mask);
			fputc('\n', out);
		}
	}
}

void config_print(const eirc_config_t *cfg, FILE *out, bool mask_secrets)
{
	fputs("# eIRC effective configuration: the file's values and the "
	      "defaults\n",
	      out);
	if (mask_secrets)
		fputs("# (secrets shown as " CONFIG_SECRET_MASK ")\n", out);
	print_section(&config_schema_root, (const char *)cfg, 0, false, out, mask_secrets);
}

void eirc_config_print(const eirc_config_t *cfg, FILE *out)
{
	config_print(cfg, out, true);
}
