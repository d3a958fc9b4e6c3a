/*
 * config: the public face of the configuration module: load a file or a
 * buffer (defaults, then the walker), free, print errors, and the shared
 * `--check-config FILE` behaviour.
 *
 * The walking itself is config_walk.c, the typed values config_value.c, the
 * table config_schema.c; printing lives in config_print.c and the reference
 * in config_doc.c. Nothing here logs: callers print what we return.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/read_all.h"
#include "config/config_schema.h"
#include "config/config_value.h"
#include "config/config_walk.h"

static eirc_config_errors_t *config_errors_new(const char *name)
{
	eirc_config_errors_t *errs = calloc(1, sizeof(*errs));

	if (!errs)
		return NULL;
	errs->file = strdup(name);
	if (!errs->file) {
		free(errs);
		return NULL;
	}
	return errs;
}

void eirc_config_errors_free(eirc_config_errors_t *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].path);
		free(errs->v[i].message);
	}
	free(errs->v);
	free(errs->file);
	free(errs);
}

void eirc_config_forget_source(eirc_config_t *cfg)
{
	free(cfg->source);
	cfg->source = NULL;
	cfg->source_len = 0;
}

void eirc_config_free(eirc_config_t *cfg)
{
	if (!cfg)
		return;
	config_value_free_section(&config_schema_root, cfg);
	for (size_t i = 0; i < cfg->n_env_refs; i++)
		free(cfg->env_refs[i].key); /* name is in the same block */
	free(cfg->env_refs);
	free(cfg->source);
	free(cfg);
}

/* True when the reference recorded under ref_key is under key: key itself
 * or a key below it. */
static bool env_ref_under(const char *ref_key, const char *key)
{
	size_t len = strlen(key);

	return !strncmp(ref_key, key, len) && (!ref_key[len] || ref_key[len] == '.');
}

size_t eirc_config_env_refs(const eirc_config_t *cfg, const char *key, eirc_config_env_cb cb,
			    void *ud)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_env_refs; i++) {
		const eirc_config_env_ref_t *e = &cfg->env_refs[i];
		bool seen = false;

		if (key && !env_ref_under(e->key, key))
			continue;
		/* a name is recorded once per key: report it once */
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(cfg->env_refs[j].name, e->name) &&
			       (!key || env_ref_under(cfg->env_refs[j].key, key));
		if (seen)
			continue;
		cb(ud, e->name);
		n++;
	}
	return n;
}

/* Hand errs to the caller (or free it) and return rc. */
static int config_fail(int rc, eirc_config_errors_t *errs, eirc_config_errors_t **out_errs)
{
	if (out_errs && rc != -ENOMEM)
		*out_errs = errs;
	else
		eirc_config_errors_free(errs);
	return rc;
}

static int load_buffer(const char *name, const char *buf, size_t len,
		       const eirc_config_vars_t *vars, eirc_config_t **out_cfg,
		       eirc_config_errors_t **out_errs)
{
	char msg[CONFIG_MSG_MAX];
	eirc_config_errors_t *errs = config_errors_new(name);
	eirc_config_t *cfg = calloc(1, sizeof(*cfg));
	int r = 0;

	if (!errs || !cfg) {
		r = -ENOMEM;
		goto free_all;
	}
	r = config_value_defaults(&config_schema_root, cfg, msg, sizeof(msg));
	if (r == -EINVAL) /* a bad default in the table: a bug, but say so */
		r = config_errors_add(errs, 0, 0, "", "%s", msg);
	else if (r == 0 && len > CONFIG_INPUT_MAX)
		r = config_errors_add(errs, 1, 1, "",
				      "file is larger than %d bytes "
				      "(CONFIG_INPUT_MAX)",
				      CONFIG_INPUT_MAX);
	else if (r == 0)
		r = config_walk(buf, len, vars, cfg, errs);
	if (r == 0 && errs->n > 0)
		r = -EINVAL;
	if (r == 0 && !(cfg->source = malloc(len ? len : 1)))
		r = -ENOMEM;
	if (r != 0)
		goto free_all;
	memcpy(cfg->source, buf, len);
	cfg->source_len = len;
	eirc_config_errors_free(errs);
	*out_cfg = cfg;
	return 0;

free_all:
	eirc_config_free(cfg);
	return config_fail(r, errs, out_errs);
}

int eirc_config_load_buffer(const char *name, const char *buf, size_t len, eirc_config_t **out_cfg,
			    eirc_config_errors_t **out_errs)
{
	return load_buffer(name, buf, len, NULL, out_cfg, out_errs);
}

int eirc_config_load_buffer_vars(const char *name, const char *buf, size_t len,
				 const eirc_config_vars_t *vars, eirc_config_t **out_cfg,
				 eirc_config_errors_t **out_errs)
{
	return load_buffer(name, buf, len, vars, out_cfg, out_errs);
}

/* Read at most CONFIG_INPUT_MAX + 1 bytes of path (one more than allowed,
 * so that the walker can report the limit). */
static int config_read(const char *path, char **out_buf, size_t *out_len)
{
	size_t cap = CONFIG_INPUT_MAX + 1, len;
	char *buf = malloc(cap);
	int fd, r;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	r = read_all(fd, buf, cap, &len);
	close(fd);
	if (r != 0) {
		free(buf);
		return r;
	}
	*out_buf = buf;
	*out_len = len;
	return 0;
}

int eirc_config_load(const char *path, eirc_config_t **out_cfg, eirc_config_errors_t **out_errs)
{
	return eirc_config_load_vars(path, NULL, out_cfg, out_errs);
}

int eirc_config_load_vars(const char *path, const eirc_config_vars_t *vars, eirc_config_t **out_cfg,
			  eirc_config_errors_t **out_errs)
{
	char *buf = NULL;
	size_t len = 0;
	int r = config_read(path, &buf, &len);

	if (r == -ENOMEM)
		return r;
	if (r != 0) {
		eirc_config_errors_t *errs = config_errors_new(path);
		if (!errs)
			return -ENOMEM;
		if (config_errors_add(errs, 0, 0, "", "cannot read: %s", strerror(-r)) != 0) {
			eirc_config_errors_free(errs);
			return -ENOMEM;
		}
		return config_fail(r, errs, out_errs);
	}
	r = load_buffer(path, buf, len, vars, out_cfg, out_errs);
	free(buf);
	return r;
}

void eirc_config_errors_print(const eirc_config_errors_t *errs, FILE *out)
{
	for (size_t i = 0; errs && i < errs->n; i++) {
		const eirc_config_error_t *e = &errs->v[i];
		fprintf(out, "%s:", errs->file);
		if (e->line)
			fprintf(out, "%u:%u:", e->line, e->column);
		if (*e->path)
			fprintf(out, " %s:", e->path);
		fprintf(out, " %s\n", e->message);
	}
}

int eirc_config_check_main(const char *path, const eirc_config_vars_t *vars, FILE *out, FILE *err)
{
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	int r = eirc_config_load_vars(path, vars, &cfg, &errs);

	if (r == 0) {
		eirc_config_print(cfg, out);
		eirc_config_free(cfg);
		return 0;
	}
	if (errs) {
		eirc_config_errors_print(errs, err);
		fprintf(err, "%s: %zu error%s, configuration not valid\n", path, errs->n,
			errs->n == 1 ? "" : "s");
		eirc_config_errors_free(errs);
	} else {
		fprintf(err, "%s: %s\n", path, strerror(-r));
	}
	return 1;
}
