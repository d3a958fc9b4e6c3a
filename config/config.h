/*
 * config: the one eirc.yaml that configures every eIRC process.
 *
 * This module loads a YAML file (or buffer) into a plain struct, applying
 * the defaults of the schema table (config_schema.c) and collecting every
 * error as "file:line:column: key.path: what is wrong". It also prints the
 * effective configuration (secrets masked), the markdown reference, and
 * implements the `--check-config FILE` behaviour every daemon shares.
 *
 * It is not a general YAML library: only the keys of the schema exist, YAML
 * aliases are refused, and nothing here logs, opens sockets or acts on a
 * value. Adding a key is one row in config_schema.c plus one member here.
 */
#ifndef EIRC_CONFIG_H
#define EIRC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Named limits, enforced by the loader and tested at the limit and past it. */
#define CONFIG_INPUT_MAX    (1024 * 1024) /* bytes of YAML read */
#define CONFIG_DEPTH_MAX    16            /* nested mappings/lists */
#define CONFIG_LIST_MAX     1024          /* items in any list */
#define CONFIG_STRING_MAX   4096          /* bytes of a scalar, after ${} */
#define CONFIG_ERRORS_MAX   100           /* errors collected before giving up */
#define CONFIG_KEYPATH_MAX  256           /* bytes of a printed key path */
#define CONFIG_ENV_REFS_MAX 256           /* distinct (key, ${NAME}) pairs */

/* A UNIX socket path must fit sockaddr_un.sun_path with its NUL. */
#define CONFIG_UNIX_PATH_MAX 107

typedef enum eirc_config_log_level {
	EIRC_CONFIG_LOG_DEBUG,
	EIRC_CONFIG_LOG_INFO,
	EIRC_CONFIG_LOG_WARN,
	EIRC_CONFIG_LOG_ERROR,
} eirc_config_log_level_t;

typedef enum eirc_config_log_format {
	EIRC_CONFIG_LOG_TEXT,
	EIRC_CONFIG_LOG_JSON,
} eirc_config_log_format_t;

typedef enum eirc_config_nick_policy {
	EIRC_CONFIG_NICK_SUFFIX, /* retry as nick|2, nick|3, ... (common/irc_nick.h) */
	EIRC_CONFIG_NICK_FAIL,   /* end the session with a clear error */
} eirc_config_nick_policy_t;

typedef enum eirc_config_native_clients {
	EIRC_CONFIG_NATIVE_REFUSE,        /* only WEBIRC'd sessions register */
	EIRC_CONFIG_NATIVE_AUTHENTICATED, /* PASS checked against the accounts */
} eirc_config_native_clients_t;

/*
 * Durations are milliseconds (uint64_t), sizes are bytes (uint64_t). A
 * string, secret or path that is absent without default, or empty, is NULL.
 * Lists are an array plus an n_ count; an empty list is NULL and 0.
 */
typedef struct eirc_config_irc_server {
	char *host;
	int port;
	bool tls;
	bool tls_verify;
	char *tls_ca_file;
	char *unix_path;
} eirc_config_irc_server_t;

typedef struct eirc_config_irc {
	char *network;
	eirc_config_irc_server_t *servers;
	size_t n_servers;
	char *webirc_password;
	char *webirc_gateway;
	uint64_t connect_timeout;
	eirc_config_native_clients_t native_clients;
} eirc_config_irc_t;

typedef struct eirc_config_gateway {
	char *listen_address;
	int listen_port;
	int tls_listen_port;
	char *tls_cert_file;
	char *tls_key_file;
	char **allowed_origins;
	size_t n_allowed_origins;
	bool allow_missing_origin;
	char **trusted_proxies;
	size_t n_trusted_proxies;
	int max_sessions;
	int max_sessions_per_ip;
	uint64_t send_queue_high_watermark;
	uint64_t slow_reader_timeout;
	uint64_t browser_sndbuf;
	uint64_t ping_interval;
	int drain_seconds; /* SIGTERM: /readyz 503, sessions kept this long */
	uint64_t shutdown_grace;
	char *irc_client_path;
	char *auth_internal_url;
	uint64_t auth_timeout;
	uint64_t access_recheck;
	char *redis_username; /* NULL: redis.username */
	char *redis_password; /* NULL: redis.password */
} eirc_config_gateway_t;

typedef struct eirc_config_auth_database {
	char *host;
	int port;
	char *name;
	char *user;
	char *password;
	char *owner;          /* NULL: user owns the schema */
	char *owner_password; /* NULL: peer or trust authentication */
	uint64_t connect_timeout;
	int pool_size;
} eirc_config_auth_database_t;

typedef struct eirc_config_auth {
	char *listen_address;
	int listen_port;
	char *tls_cert_file;
	char *tls_key_file;
	char **trusted_proxies; /* X-Forwarded-For is believed from these */
	size_t n_trusted_proxies;
	char *internal_listen_address;
	int internal_listen_port;
	char *internal_secret;
	char *web_gateway_url;
	char **web_frame_ancestors;
	size_t n_web_frame_ancestors;
	char *web_root;
	eirc_config_auth_database_t database;
	uint64_t chat_token_ttl;
	uint64_t access_token_ttl;
	uint64_t refresh_token_ttl;
	uint64_t max_body_size;
	uint64_t max_header_size;
	int max_headers;
	uint64_t request_timeout;
	int login_attempts_per_ip;
	int login_attempts_per_account;
	uint64_t login_account_window;
	uint64_t login_lockout_max;
	uint64_t token_purge_interval;
	int password_hash_ops;
	uint64_t password_hash_memory;
	char *redis_username; /* NULL: redis.username */
	char *redis_password; /* NULL: redis.password */
} eirc_config_auth_t;

typedef struct eirc_config_irc_client {
	eirc_config_nick_policy_t nick_collision;
	uint64_t ping_interval;
	uint64_t ping_timeout;
	uint64_t reconnect_min;
	uint64_t reconnect_max;
	int flood_lines_per_second;
	int flood_burst_lines;
	uint64_t flood_bytes_per_second;
	uint64_t upstream_queue_max;
	uint64_t browser_queue_max;
	bool sandbox;
	char *sandbox_user;
	uint64_t rlimit_as;
	int rlimit_nofile;
	int rlimit_nproc;
	char **private_room_masks;
	size_t n_private_room_masks;
} eirc_config_irc_client_t;

typedef struct eirc_config_redis {
	char *host;
	int port;
	bool cluster;
	char *username; /* NULL: the default user */
	char *password;
	int partitions;
	uint64_t connect_timeout;
	uint64_t command_timeout;
} eirc_config_redis_t;

typedef struct eirc_config_elasticsearch {
	char **urls;
	size_t n_urls;
	char *index_prefix;
	char *username;
	char *password;
	char *api_key;
	bool tls_verify;
	char *tls_ca_file;
	int bulk_max_docs;
	uint64_t bulk_max_bytes;
	uint64_t bulk_flush_interval;
	uint64_t retry_min;
	uint64_t retry_max;
	uint64_t request_timeout;
} eirc_config_elasticsearch_t;

typedef struct eirc_config_logger {
	char *nick;
	char *irc_password; /* PASS for the capture class; NULL: none */
	char **channels;
	size_t n_channels;
	bool join_listed;
	uint64_t list_interval;
	bool accept_invites;
	bool require_archive; /* <eirccapture require="yes"> */
	uint64_t memory_buffer_max;
	char *spill_dir;
	uint64_t spill_max;
	uint64_t retention;
	uint64_t archive_retention;
	bool shipper;
	char *consumer_group;
	char *metrics_address;
	int metrics_port;
	char *redis_username; /* NULL: redis.username */
	char *redis_password; /* NULL: redis.password */
} eirc_config_logger_t;

typedef struct eirc_config_history {
	char *socket_path;
	unsigned socket_mode;
	char *socket_group;
	char *session_key;
	char *listen_address;
	int listen_port;
	int chathistory_max;
	int join_replay_lines;
	int page_max;
	int rate_per_second;
	int rate_burst;
	uint64_t request_timeout;
	char *introspect_url;
	char *introspect_client_id;
	char *introspect_client_secret;
	uint64_t introspect_cache_ttl;
	char *redis_username; /* NULL: redis.username */
	char *redis_password; /* NULL: redis.password */
} eirc_config_history_t;

typedef struct eirc_config_integrity {
	char *signing_key; /* note private key; NULL: the archive is not sealed */
	char **verify_keys;
	size_t n_verify_keys;
	char *origin;
	int checkpoint_events;
	uint64_t checkpoint_interval;
	uint64_t seal_interval;
	int seal_batch;
	char *witness_file; /* NULL: none */
	bool witness_syslog;
} eirc_config_integrity_t;

typedef struct eirc_config_log {
	eirc_config_log_level_t level;
	eirc_config_log_format_t format;
} eirc_config_log_t;

/* One variable a ${NAME} reference of the file reads, and the key it
 * appears under (list indexes left out). Read them with
 * eirc_config_env_refs. */
typedef struct eirc_config_env_ref {
	char *key;  /* "irc.webirc_password"; one allocation with name */
	char *name; /* "EIRC_WEBIRC_PASSWORD" */
} eirc_config_env_ref_t;

typedef struct eirc_config {
	eirc_config_irc_t irc;
	eirc_config_gateway_t gateway;
	eirc_config_auth_t auth;
	eirc_config_irc_client_t irc_client;
	eirc_config_redis_t redis;
	eirc_config_elasticsearch_t elasticsearch;
	eirc_config_logger_t logger;
	eirc_config_history_t history;
	eirc_config_integrity_t integrity;
	eirc_config_log_t log;
	/* not in the schema: the file's references, once per (key, name), in
	 * file order */
	eirc_config_env_ref_t *env_refs;
	size_t n_env_refs;
	/* not in the schema: the text it was loaded from, byte for byte (the
	 * gateway hands it to every irc-client: they never read the file) */
	char *source;
	size_t source_len;
} eirc_config_t;

/* One problem found in the file. line and column are 1-based, as an editor
 * shows them; 0 when the problem has no position (the file cannot be read).
 * path is the dotted key path ("irc.servers[0].port"), "" when none. */
typedef struct eirc_config_error {
	unsigned line;
	unsigned column;
	char *path;
	char *message;
} eirc_config_error_t;

/* Every error of one load, in file order. */
typedef struct eirc_config_errors {
	char *file;
	eirc_config_error_t *v;
	size_t n;
} eirc_config_errors_t;

/*
 * Load and validate the YAML file at `path`.
 *
 * Returns 0 and sets *out_cfg (free with eirc_config_free) when the file is
 * valid. Otherwise returns -EINVAL (the file has errors), a negative errno
 * from open/read, or -ENOMEM; *out_cfg is untouched, and *out_errs (when
 * out_errs is not NULL) receives every error found, in file order (free with
 * eirc_config_errors_free). *out_errs is untouched on success and -ENOMEM.
 * ${VAR} references are read from the environment, then from
 * $CREDENTIALS_DIRECTORY (see eirc_config_vars_t), every one required.
 */
int eirc_config_load(const char *path, eirc_config_t **out_cfg, eirc_config_errors_t **out_errs);

/* What a ${NAME} unset under a key the program does not read stands for:
 * a daemon fails on an unset ${NAME} only in the parts it reads (each
 * systemd unit loads only its own credentials). Long enough for every
 * secret's length check, and never a working secret. */
#define EIRC_CONFIG_VAR_UNREAD "unset-and-not-read-by-this-program"

/* How ${NAME} references are read. get returns the value of name, or NULL
 * when it is not set; NULL: the environment, then the file
 * $CREDENTIALS_DIRECTORY/NAME (common/cred.h). keys, when not NULL, is a
 * NULL-terminated list of what the program reads, each a section ("irc")
 * or one key ("auth.internal_secret", as eirc_config_env_refs takes): a
 * ${NAME} unset under any other key loads as EIRC_CONFIG_VAR_UNREAD
 * instead of failing. */
typedef struct eirc_config_vars {
	const char *(*get)(void *ud, const char *name);
	void *ud;
	const char *const *keys;
} eirc_config_vars_t;

/*
 * eirc_config_load, reading ${NAME} references through vars (NULL: the
 * environment). eirc-irc-client reads them from the table the gateway
 * hands it on fd 4, never from its environment.
 */
int eirc_config_load_vars(const char *path, const eirc_config_vars_t *vars, eirc_config_t **out_cfg,
			  eirc_config_errors_t **out_errs);

/*
 * Same as eirc_config_load, from `len` bytes at `buf` (need not be NUL
 * terminated); `name` is the file name used in error messages.
 */
int eirc_config_load_buffer(const char *name, const char *buf, size_t len, eirc_config_t **out_cfg,
			    eirc_config_errors_t **out_errs);

/* eirc_config_load_buffer, reading ${NAME} references through vars (NULL:
 * the environment): eirc-irc-client loads the text the gateway hands it. */
int eirc_config_load_buffer_vars(const char *name, const char *buf, size_t len,
				 const eirc_config_vars_t *vars, eirc_config_t **out_cfg,
				 eirc_config_errors_t **out_errs);

/* Frees cfg->source (the text it was loaded from) for a program that does
 * not hand it on: only the gateway keeps it. */
void eirc_config_forget_source(eirc_config_t *cfg);

/* Free a loaded configuration; NULL is a no-op. */
void eirc_config_free(eirc_config_t *cfg);

/* Free an error list; NULL is a no-op. */
void eirc_config_errors_free(eirc_config_errors_t *errs);

/*
 * Print every error as one line "file:line:column: key.path: message"
 * (the "key.path: " part only when there is a path, the position only when
 * there is one). Values of secrets never appear in a message.
 */
void eirc_config_errors_print(const eirc_config_errors_t *errs, FILE *out);

/*
 * Print the effective configuration (file values and defaults) as YAML
 * that loads back to the same configuration; every secret that is set is
 * shown as "********".
 */
void eirc_config_print(const eirc_config_t *cfg, FILE *out);

/*
 * Print the markdown configuration reference (docs/configuration.md) built
 * from the schema table: an introduction, then one table per section.
 */
void eirc_config_reference_print(FILE *out);

/*
 * The `--check-config FILE` of every daemon: loads `path` (${NAME} through
 * vars as eirc_config_load_vars; a daemon passes its keys), prints the
 * effective configuration to `out` and returns 0, or prints every error and
 * a summary line to `err` and returns 1. The result is a process exit status.
 */
int eirc_config_check_main(const char *path, const eirc_config_vars_t *vars, FILE *out, FILE *err);

/* Applies the `log` section (level, format) to common/log for program
 * `prog`, logging to stderr. */
void eirc_config_log_setup(const eirc_config_t *cfg, const char *prog);

/*
 * The variables the file's ${NAME} references read (in string values, the
 * only ones expanded), in file order: those under `key` — a section
 * ("irc": every key in it, lists and subsections too) or one key
 * ("history.socket_path", "irc.servers": every item) — or every one when
 * key is NULL. Calls cb once per distinct name and returns how many. A
 * file holds at most CONFIG_ENV_REFS_MAX distinct (key, name) pairs; past
 * it the load fails. "$${" is a literal, never a reference.
 */
typedef void (*eirc_config_env_cb)(void *ud, const char *name);
size_t eirc_config_env_refs(const eirc_config_t *cfg, const char *key, eirc_config_env_cb cb,
			    void *ud);

#endif /* EIRC_CONFIG_H */
