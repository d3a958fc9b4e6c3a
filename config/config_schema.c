/*
 * config_schema: every key of eirc.yaml, one row each.
 *
 * To add a key: add a member to the section's struct in config.h and one
 * row here (the macro checks the member's C type), then regenerate
 * docs/configuration.md with `eirc-config --reference`. Defaults are written
 * as a user would write them in the file and parsed by the same code; the
 * unit tests load an empty configuration, so a bad default fails the build.
 *
 * Not here: parsing (config_value.c), walking YAML (config_walk.c).
 */
#include "config/config_schema.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/net_addr.h"
#include "common/session_ticket.h"

#define SECS(x)  ((uint64_t)(x)*1000u)
#define MINS(x)  (SECS(x) * 60u)
#define HOURS(x) (MINS(x) * 60u)
#define DAYS(x)  (HOURS(x) * 24u)
#define KIB(x)   ((uint64_t)(x) << 10)
#define MIB(x)   ((uint64_t)(x) << 20)
#define GIB(x)   ((uint64_t)(x) << 30)
#define TIB(x)   ((uint64_t)(x) << 40)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- string validators: NULL when fine, else what is wrong ---- */

static bool schema_all_of(const char *s, const char *extra, bool upper)
{
	for (; *s; s++) {
		char c = *s;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (upper && c >= 'A' && c <= 'Z') || strchr(extra, c) != NULL)
			continue;
		return false;
	}
	return true;
}

static const char *schema_name(const char *v)
{
	if (strlen(v) > 32 || !schema_all_of(v, "._-", true))
		return "must be 1 to 32 characters of A-Z, a-z, 0-9, '.', '_', '-'";
	return NULL;
}

static const char *schema_index_prefix(const char *v)
{
	if (strlen(v) > 64 || !schema_all_of(v, "._-", false) || strchr("._-", v[0]) != NULL)
		return "must be 1 to 64 characters of a-z, 0-9, '.', '_', '-', "
		       "starting with a letter or digit";
	return NULL;
}

static bool schema_is_ip(const char *v)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static const char *schema_ip(const char *v)
{
	return schema_is_ip(v) ? NULL : "must be an IPv4 or IPv6 address";
}

static const char *schema_ip_or_cidr(const char *v)
{
	net_cidr_t c;
	char addr[64];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);

	if (net_cidr_parse(v, &c) == 0)
		return NULL;
	if (n >= sizeof(addr))
		return "must be an IP address or CIDR range (10.0.0.0/8)";
	memcpy(addr, v, n);
	addr[n] = '\0';
	return slash && schema_is_ip(addr) ? "bad CIDR prefix length"
					   : "must be an IP address or CIDR range (10.0.0.0/8)";
}

static const char *schema_url_rest(const char *v)
{
	if (strncmp(v, "http://", 7) == 0)
		v += 7;
	else if (strncmp(v, "https://", 8) == 0)
		v += 8;
	else
		return NULL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return NULL;
	return *v && *v != '/' ? v : NULL;
}

static const char *schema_url(const char *v)
{
	return schema_url_rest(v) ? NULL : "must be an http:// or https:// URL with a host";
}

static const char *schema_origin(const char *v)
{
	const char *rest = schema_url_rest(v);
	if (!rest || strchr(rest, '/') != NULL)
		return "must be an origin: http:// or https://, a host and an "
		       "optional port, no path";
	return NULL;
}

static const char *schema_channel(const char *v)
{
	if ((v[0] != '#' && v[0] != '&') || v[1] == '\0' || strlen(v) > 64)
		return "must be a channel name: '#' or '&' then 1 to 63 bytes";
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == 0x7f)
			return "must not contain spaces, commas or control characters";
	return NULL;
}

static const char *schema_nick(const char *v)
{
	const char *specials = "[]\\`_^{|}";
	bool ok = strlen(v) <= 30 &&
		  ((v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z') ||
		   strchr(specials, v[0]) != NULL) &&
		  schema_all_of(v, "[]\\`_^{|}-", true);
	return ok ? NULL
		  : "must be an IRC nick: 1 to 30 letters, digits, '-' or "
		    "[]\\`_^{|}, not starting with a digit or '-'";
}

static const char *schema_one_word(const char *v)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "must be one word (no spaces or control characters)";
	return NULL;
}

/* The gateway URL the web client opens: ws:// or wss:// with a host, or a
 * path ("/chat") on the page's own origin (auth and gateway behind one
 * reverse proxy). */
static const char *schema_ws_url(const char *v)
{
	const char *rest = NULL;

	if (strncmp(v, "ws://", 5) == 0)
		rest = v + 5;
	else if (strncmp(v, "wss://", 6) == 0)
		rest = v + 6;
	else if (v[0] == '/' && v[1] != '/')
		rest = v;
	if (rest && (rest == v || (*rest && *rest != '/')) && schema_one_word(v) == NULL)
		return NULL;
	return "must be a ws:// or wss:// URL with a host, or a path starting with /";
}

static const char *schema_long_secret(const char *v)
{
	if (strlen(v) < 16)
		return "must be at least 16 bytes long";
	return schema_one_word(v);
}

static const char *schema_session_key(const char *v)
{
	if (strlen(v) < SESSION_KEY_MIN)
		return "must be at least 32 bytes long";
	return schema_one_word(v);
}

/* The validators with the rule each enforces, for the reference. */
static const config_validator_t schema_v_name = {schema_name, "1 to 32 of `A-Z a-z 0-9 . _ -`"};
static const config_validator_t schema_v_index_prefix = {
	schema_index_prefix, "1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit"};
static const config_validator_t schema_v_ip = {schema_ip, "an IPv4 or IPv6 address"};
static const config_validator_t schema_v_ip_or_cidr = {
	schema_ip_or_cidr, "IP addresses or CIDR ranges (`10.0.0.0/8`)"};
static const config_validator_t schema_v_url = {schema_url, "an `http://` or `https://` URL"};
static const config_validator_t schema_v_ws_url = {
	schema_ws_url, "a `ws://` or `wss://` URL, or a path on the page's origin (`/chat`)"};
static const config_validator_t schema_v_origin = {
	schema_origin, "origins: `http://` or `https://`, host, optional port, no path"};
static const config_validator_t schema_v_channel = {
	schema_channel, "channel names: `#` or `&` and 1 to 63 bytes, no spaces or commas"};
static const config_validator_t schema_v_nick = {
	schema_nick, "an IRC nick (letters, digits, `-` and RFC 2812 specials), at most 30 bytes"};
static const config_validator_t schema_v_one_word = {schema_one_word,
						     "one word: no spaces or control characters"};
static const config_validator_t schema_v_long_secret = {schema_long_secret,
							"one word of at least 16 bytes"};
static const config_validator_t schema_v_session_key = {schema_session_key,
							"one word of at least 32 bytes"};

/* A daemon's own Redis user (Redis 7 ACL, docs/operations.md), in its section;
 * each key unset takes redis.username / redis.password. */
#define SCHEMA_REDIS_LOGIN(T, who)                                                                 \
	CONFIG_STRING("redis_username", T, redis_username, NULL,                                   \
		      "Redis user (ACL) of " who "; unset: redis.username.",                       \
		      .validate = &schema_v_name),                                                 \
		CONFIG_SECRET("redis_password", T, redis_password,                                 \
			      "Password of " who "'s Redis user; unset: redis.password.")

/* ---- irc ---- */

static void schema_check_server(const void *obj, config_check_t *c)
{
	const eirc_config_irc_server_t *s = obj;

	if (!s->host && !s->unix_path)
		config_check_fail(c, NULL, "set host or unix_path");
	else if (s->host && s->unix_path)
		config_check_fail(c, "unix_path", "set host or unix_path, not both");
}

#define T eirc_config_irc_server_t
static const config_field_t schema_irc_server[] = {
	CONFIG_STRING("host", T, host, NULL,
		      "Host name or IP address of the IRC server (or set unix_path).", .umax = 253),
	CONFIG_PORT("port", T, port, "6667",
		    "TCP port of the IRC server (6697 is the usual TLS port)."),
	CONFIG_BOOL("tls", T, tls, "false", "Connect with TLS."),
	CONFIG_BOOL("tls_verify", T, tls_verify, "true",
		    "Verify the server's certificate and host name (with tls)."),
	CONFIG_PATH("tls_ca_file", T, tls_ca_file, NULL,
		    "CA bundle (PEM) to verify the server with; unset: the system's CAs."),
	CONFIG_PATH("unix_path", T, unix_path, NULL,
		    "UNIX socket of the IRC server, instead of host and port.",
		    .umax = CONFIG_UNIX_PATH_MAX),
};
#undef T

static const config_section_t schema_irc_server_sec = {
	"irc.servers[]",
	"One IRC server: a TCP host and port (optionally TLS) "
	"or a UNIX socket.",
	schema_irc_server,
	COUNT(schema_irc_server),
	sizeof(eirc_config_irc_server_t),
	schema_check_server,
};

static const char *const schema_native_clients[] = {
	[EIRC_CONFIG_NATIVE_REFUSE] = "refuse",
	[EIRC_CONFIG_NATIVE_AUTHENTICATED] = "authenticated",
	NULL,
};

#define T eirc_config_irc_t
static const config_field_t schema_irc[] = {
	CONFIG_STRING("network", T, network, "eirc",
		      "Name of the IRC network. It is part of every Redis key and archived "
		      "event: do not change it on a deployment that has history.",
		      .validate = &schema_v_name),
	CONFIG_SECTION_LIST("servers", T, servers, eirc_config_irc_server_t, n_servers,
			    schema_irc_server_sec,
			    "IRC servers, in order of preference: irc-clients and the logger use "
			    "the first one that answers.",
			    .flags = CONFIG_F_REQUIRED, .min_items = 1),
	CONFIG_SECRET("webirc_password", T, webirc_password,
		      "WEBIRC password the IRC server expects (InspIRCd m_cgiirc); "
		      "irc-clients send it with the browser's IP address.",
		      .flags = CONFIG_F_REQUIRED, .validate = &schema_v_one_word),
	CONFIG_STRING("webirc_gateway", T, webirc_gateway, "eirc", "Gateway name sent in WEBIRC.",
		      .validate = &schema_v_one_word, .umax = 64),
	CONFIG_DURATION("connect_timeout", T, connect_timeout, "10s", 100, MINS(5),
			"Time allowed to connect and register to the IRC server."),
	CONFIG_ENUM("native_clients", T, native_clients, eirc_config_native_clients_t, "refuse",
		    schema_native_clients,
		    "IRC clients that connect to the IRC server directly, not through the "
		    "gateway: refuse (only the gateway's WEBIRC'd sessions and the logger "
		    "register) or authenticated (PASS with the account's password and a nick "
		    "that is the account's name or name|2..name|10, checked by InspIRCd's "
		    "m_eirc_account against eirc-auth's accounts; the username becomes "
		    "u<id>). The local stack renders it into <eircaccount native=...>."),
};
#undef T

static const config_section_t schema_irc_sec = {
	"irc",
	"The IRC network eIRC connects to. Used by eirc-irc-client, "
	"eirc-logger and the local stack.",
	schema_irc,
	COUNT(schema_irc),
	sizeof(eirc_config_irc_t),
	NULL,
};

/* ---- gateway ---- */

static void schema_check_tls_pair(const char *cert, const char *key, config_check_t *c)
{
	if (cert && !key)
		config_check_fail(c, "tls_cert_file", "needs tls_key_file too");
	else if (key && !cert)
		config_check_fail(c, "tls_key_file", "needs tls_cert_file too");
}

static void schema_check_gateway(const void *obj, config_check_t *c)
{
	const eirc_config_gateway_t *g = obj;

	schema_check_tls_pair(g->tls_cert_file, g->tls_key_file, c);
	if (g->tls_listen_port != 0 && !g->tls_cert_file)
		config_check_fail(c, "tls_listen_port",
				  "needs tls_cert_file and "
				  "tls_key_file");
	if (g->browser_sndbuf != 0 && g->browser_sndbuf < KIB(4))
		config_check_fail(c, "browser_sndbuf", "must be 0 or at least 4KiB");
	if (g->max_sessions_per_ip > g->max_sessions)
		config_check_fail(c, "max_sessions_per_ip",
				  "must not be more than max_sessions (%d)", g->max_sessions);
}

#define T eirc_config_gateway_t
static const config_field_t schema_gateway[] = {
	CONFIG_STRING("listen_address", T, listen_address, "127.0.0.1",
		      "IP address the WebSocket listeners bind to.", .validate = &schema_v_ip),
	CONFIG_PORT("listen_port", T, listen_port, "8081",
		    "Port of the plain WebSocket listener (/chat, /healthz, /metrics); "
		    "0 picks a free port.",
		    .flags = CONFIG_F_PORT_ZERO),
	CONFIG_PORT("tls_listen_port", T, tls_listen_port, "0",
		    "Port of the TLS WebSocket listener; 0 disables it.",
		    .flags = CONFIG_F_PORT_ZERO),
	CONFIG_PATH("tls_cert_file", T, tls_cert_file, NULL,
		    "Certificate chain (PEM) of the TLS listener."),
	CONFIG_PATH("tls_key_file", T, tls_key_file, NULL,
		    "Private key (PEM) of the TLS listener."),
	CONFIG_STRLIST("allowed_origins", T, allowed_origins, n_allowed_origins,
		       "Origin header values allowed to open /chat "
		       "(\"https://chat.example.com\"); anything else is refused.",
		       .validate = &schema_v_origin),
	CONFIG_BOOL("allow_missing_origin", T, allow_missing_origin, "false",
		    "Accept upgrades without an Origin header (non-browser clients)."),
	CONFIG_STRLIST("trusted_proxies", T, trusted_proxies, n_trusted_proxies,
		       "Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For "
		       "header gives the client's address.",
		       .validate = &schema_v_ip_or_cidr),
	CONFIG_INT("max_sessions", T, max_sessions, "10000", 1, 1000000,
		   "Most WebSocket sessions (and irc-client processes) at once."),
	CONFIG_INT("max_sessions_per_ip", T, max_sessions_per_ip, "20", 1, 1000000,
		   "Most sessions at once from one client address."),
	CONFIG_SIZE("send_queue_high_watermark", T, send_queue_high_watermark, "1MiB", KIB(16),
		    GIB(1),
		    "Bytes queued towards one browser above which the gateway stops "
		    "reading from its irc-client."),
	CONFIG_DURATION("slow_reader_timeout", T, slow_reader_timeout, "30s", SECS(1), HOURS(1),
			"A browser that stays above the high watermark this long is "
			"disconnected."),
	CONFIG_SIZE("browser_sndbuf", T, browser_sndbuf, "0", 0, MIB(64),
		    "SO_SNDBUF of each browser socket (the kernel doubles it and caps it "
		    "at net.core.wmem_max); bounds what the kernel holds for a browser "
		    "that stops reading, so the slow-reader rule applies sooner. 0: the "
		    "kernel's autotuning (up to tcp_wmem's maximum)."),
	CONFIG_DURATION("ping_interval", T, ping_interval, "30s", SECS(1), HOURS(1),
			"Interval of WebSocket pings to each browser."),
	CONFIG_INT("drain_seconds", T, drain_seconds, "5", 0, 300,
		   "On SIGTERM, seconds during which /readyz answers 503 and new "
		   "sessions are refused while open ones go on, so that a load "
		   "balancer stops sending new ones; then each session gets ERROR and "
		   "WebSocket close 1012 (service restart) and the browser reconnects."),
	CONFIG_DURATION("shutdown_grace", T, shutdown_grace, "10s", 0, MINS(5),
			"After the drain, time given to sessions to end before children "
			"are killed."),
	CONFIG_PATH("irc_client_path", T, irc_client_path, NULL,
		    "The eirc-irc-client binary; unset: the one next to eirc-gateway."),
	CONFIG_STRING("auth_internal_url", T, auth_internal_url, "http://127.0.0.1:8082",
		      "Base URL of eirc-auth's internal listener; the shared secret is "
		      "auth.internal_secret.",
		      .validate = &schema_v_url),
	CONFIG_DURATION("auth_timeout", T, auth_timeout, "5s", 100, MINS(1),
			"Timeout of a call to eirc-auth's internal API."),
	CONFIG_DURATION("access_recheck", T, access_recheck, "60s", 0, HOURS(24),
			"Period of the recheck of every live session at eirc-auth "
			"(POST /internal/access), the safety net for an access change "
			"whose eirc:access message was lost; 0 disables it."),
	SCHEMA_REDIS_LOGIN(T, "eirc-gateway"),
};
#undef T

static const config_section_t schema_gateway_sec = {
	"gateway",
	"eirc-gateway: the WebSocket endpoint browsers connect to.",
	schema_gateway,
	COUNT(schema_gateway),
	sizeof(eirc_config_gateway_t),
	schema_check_gateway,
};

/* ---- auth ---- */

#define T eirc_config_auth_database_t
static const config_field_t schema_auth_db[] = {
	CONFIG_STRING("host", T, host, "127.0.0.1",
		      "PostgreSQL host name, IP address, or socket directory (/run/...).",
		      .umax = 253),
	CONFIG_PORT("port", T, port, "5432", "PostgreSQL port."),
	CONFIG_STRING("name", T, name, "eirc", "Database name.", .umax = 63),
	CONFIG_STRING("user", T, user, "eirc", "Database role.", .umax = 63),
	CONFIG_SECRET("password", T, password,
		      "Password of the role; unset for peer or trust authentication."),
	CONFIG_STRING("owner", T, owner, NULL,
		      "Role that owns the schema and applies the migrations; the service "
		      "role (user) then gets only what it needs, and no UPDATE, DELETE or "
		      "TRUNCATE on the append-only tables (audit_log). Unset: user owns the "
		      "schema and could rewrite the audit log (a warning at start-up).",
		      .umax = 63),
	CONFIG_SECRET("owner_password", T, owner_password,
		      "Password of the owner role; unset for peer or trust authentication."),
	CONFIG_DURATION("connect_timeout", T, connect_timeout, "5s", SECS(1), MINS(5),
			"Timeout of one connection attempt."),
	CONFIG_INT("pool_size", T, pool_size, "4", 1, 64,
		   "Connections kept open (queries run concurrently on them)."),
};
#undef T

static const config_section_t schema_auth_db_sec = {
	"auth.database",       "The PostgreSQL database of eirc-auth.", schema_auth_db,
	COUNT(schema_auth_db), sizeof(eirc_config_auth_database_t),     NULL,
};

static void schema_check_auth(const void *obj, config_check_t *c)
{
	const eirc_config_auth_t *a = obj;

	schema_check_tls_pair(a->tls_cert_file, a->tls_key_file, c);
	if (a->access_token_ttl > a->refresh_token_ttl)
		config_check_fail(c, "access_token_ttl",
				  "must not be longer than refresh_token_ttl");
}

#define T eirc_config_auth_t
static const config_field_t schema_auth[] = {
	CONFIG_STRING("listen_address", T, listen_address, "127.0.0.1",
		      "IP address of the public HTTP listener (OAuth, API, web client).",
		      .validate = &schema_v_ip),
	CONFIG_PORT("listen_port", T, listen_port, "8080",
		    "Port of the public HTTP listener; 0 picks a free port.",
		    .flags = CONFIG_F_PORT_ZERO),
	CONFIG_PATH("tls_cert_file", T, tls_cert_file, NULL,
		    "Certificate chain (PEM); with tls_key_file the public listener "
		    "speaks HTTPS."),
	CONFIG_PATH("tls_key_file", T, tls_key_file, NULL,
		    "Private key (PEM) of the public listener."),
	CONFIG_STRLIST("trusted_proxies", T, trusted_proxies, n_trusted_proxies,
		       "Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For "
		       "header gives the client's address on the public listener (login "
		       "limits per address, the audit log).",
		       .validate = &schema_v_ip_or_cidr),
	CONFIG_STRING("internal_listen_address", T, internal_listen_address, "127.0.0.1",
		      "IP address of the internal listener (gateway calls); "
		      "keep it private.",
		      .validate = &schema_v_ip),
	CONFIG_PORT("internal_listen_port", T, internal_listen_port, "8082",
		    "Port of the internal listener; 0 picks a free port.",
		    .flags = CONFIG_F_PORT_ZERO),
	CONFIG_SECRET("internal_secret", T, internal_secret,
		      "Shared secret of the internal API: eirc-gateway sends it, eirc-auth "
		      "checks it. At least 16 bytes.",
		      .flags = CONFIG_F_REQUIRED, .validate = &schema_v_long_secret),
	CONFIG_STRING("web_gateway_url", T, web_gateway_url, "ws://127.0.0.1:8081/chat",
		      "WebSocket URL of eirc-gateway's /chat that the web client opens "
		      "(given to it by GET /api/client-config); a path such as /chat "
		      "means the page's own origin.",
		      .validate = &schema_v_ws_url),
	CONFIG_STRLIST("web_frame_ancestors", T, web_frame_ancestors, n_web_frame_ancestors,
		       "Origins allowed to show the web client in an <iframe> (embed mode, "
		       "CSP frame-ancestors); empty: only eirc-auth's own pages.",
		       .validate = &schema_v_origin),
	CONFIG_PATH("web_root", T, web_root, "web", "Folder of the static web client served at /."),
	CONFIG_SECTION("database", T, database, eirc_config_auth_database_t, schema_auth_db_sec,
		       "PostgreSQL connection."),
	CONFIG_DURATION("chat_token_ttl", T, chat_token_ttl, "180s", SECS(1), HOURS(1),
			"Lifetime of a single-use chat token."),
	CONFIG_DURATION("access_token_ttl", T, access_token_ttl, "1h", MINS(1), DAYS(30),
			"Lifetime of an OAuth access token."),
	CONFIG_DURATION("refresh_token_ttl", T, refresh_token_ttl, "30d", HOURS(1), DAYS(365),
			"Lifetime of an OAuth refresh token."),
	CONFIG_SIZE("max_body_size", T, max_body_size, "64KiB", KIB(1), MIB(16),
		    "Largest request body accepted."),
	CONFIG_SIZE("max_header_size", T, max_header_size, "8KiB", KIB(1), MIB(1),
		    "Largest total size of a request's headers."),
	CONFIG_INT("max_headers", T, max_headers, "64", 1, 1000, "Most headers in one request."),
	CONFIG_DURATION("request_timeout", T, request_timeout, "10s", SECS(1), MINS(5),
			"Time a client has to send a whole request."),
	CONFIG_INT("login_attempts_per_ip", T, login_attempts_per_ip, "20", 1, 100000,
		   "Failed logins per minute from one address before lockout (in memory, per "
		   "eirc-auth process)."),
	CONFIG_INT("login_attempts_per_account", T, login_attempts_per_account, "5", 1, 100000,
		   "Failed logins for one account name within login_account_window, from any "
		   "address and through any eirc-auth process sharing the database; the next "
		   "try is refused (429) until the oldest of them leaves the window."),
	CONFIG_DURATION("login_account_window", T, login_account_window, "1m", SECS(1), DAYS(1),
			"Window over which login_attempts_per_account counts failures."),
	CONFIG_DURATION("login_lockout_max", T, login_lockout_max, "15m", SECS(1), DAYS(1),
			"Longest lockout of an address; lockouts double from 1s up to this."),
	CONFIG_DURATION("token_purge_interval", T, token_purge_interval, "10m", MINS(1), DAYS(1),
			"Interval of the purge of expired tokens."),
	CONFIG_INT("password_hash_ops", T, password_hash_ops, "3", 1, 20,
		   "Argon2id passes (libsodium opslimit) of new password hashes; 2 is "
		   "libsodium's interactive level, 3 its moderate level."),
	CONFIG_SIZE("password_hash_memory", T, password_hash_memory, "64MiB", KIB(8), GIB(4),
		    "Argon2id memory (libsodium memlimit) of new "
		    "password hashes; each login in progress uses this much."),
	SCHEMA_REDIS_LOGIN(T, "eirc-auth"),
};
#undef T

static const config_section_t schema_auth_sec = {
	"auth",
	"eirc-auth: users, OAuth2 tokens, chat tokens, the web client.",
	schema_auth,
	COUNT(schema_auth),
	sizeof(eirc_config_auth_t),
	schema_check_auth,
};

/* ---- irc_client ---- */

static const char *const schema_nick_policies[] = {
	[EIRC_CONFIG_NICK_SUFFIX] = "suffix",
	[EIRC_CONFIG_NICK_FAIL] = "fail",
	NULL,
};

static void schema_check_irc_client(const void *obj, config_check_t *c)
{
	const eirc_config_irc_client_t *ic = obj;

	if (ic->reconnect_min > ic->reconnect_max)
		config_check_fail(c, "reconnect_min", "must not be longer than reconnect_max");
}

#define T eirc_config_irc_client_t
static const config_field_t schema_irc_client[] = {
	CONFIG_ENUM("nick_collision", T, nick_collision, eirc_config_nick_policy_t, "suffix",
		    schema_nick_policies,
		    "When the user's nick is taken (a second session): suffix (retry as "
		    "nick|2 ... nick|10; no account name may hold '|') or fail (end the "
		    "session with a clear error)."),
	CONFIG_DURATION("ping_interval", T, ping_interval, "60s", SECS(5), HOURS(1),
			"Idle time after which the client PINGs the IRC server."),
	CONFIG_DURATION("ping_timeout", T, ping_timeout, "30s", SECS(1), HOURS(1),
			"Time without an answer after which the server is taken as dead."),
	CONFIG_DURATION("reconnect_min", T, reconnect_min, "1s", 100, HOURS(1),
			"First delay before reconnecting to the IRC server (doubles)."),
	CONFIG_DURATION("reconnect_max", T, reconnect_max, "60s", SECS(1), DAYS(1),
			"Longest delay between reconnection attempts."),
	CONFIG_INT("flood_lines_per_second", T, flood_lines_per_second, "5", 1, 1000,
		   "Lines per second a browser may send, on average."),
	CONFIG_INT("flood_burst_lines", T, flood_burst_lines, "20", 1, 10000,
		   "Lines a browser may send in a burst above the average."),
	CONFIG_SIZE("flood_bytes_per_second", T, flood_bytes_per_second, "4KiB", 512, MIB(1),
		    "Bytes per second a browser may send, on average."),
	CONFIG_SIZE("upstream_queue_max", T, upstream_queue_max, "256KiB", KIB(8), MIB(64),
		    "Bytes queued towards the IRC server; above it the browser "
		    "side is paused."),
	CONFIG_SIZE("browser_queue_max", T, browser_queue_max, "256KiB", KIB(8), MIB(64),
		    "Bytes queued towards the browser; above it the IRC side "
		    "is paused."),
	CONFIG_BOOL("sandbox", T, sandbox, "true",
		    "Install the seccomp filter and rlimits (turn off only to debug)."),
	CONFIG_STRING("sandbox_user", T, sandbox_user, "eirc-session",
		      "Unprivileged user irc-clients run as whenever the gateway can switch "
		      "users (as root, or with CAP_SETUID and CAP_SETGID): a user of their "
		      "own, that nothing else runs as.",
		      .umax = 32, .validate = &schema_v_one_word),
	CONFIG_SIZE("rlimit_as", T, rlimit_as, "256MiB", MIB(16), GIB(64),
		    "RLIMIT_AS: address space of one irc-client."),
	CONFIG_INT("rlimit_nofile", T, rlimit_nofile, "32", 8, 4096,
		   "RLIMIT_NOFILE: open files of one irc-client."),
	CONFIG_INT("rlimit_nproc", T, rlimit_nproc, "0", 0, 4096,
		   "RLIMIT_NPROC of one irc-client; 0 forbids creating processes."),
	CONFIG_STRLIST("private_room_masks", T, private_room_masks, n_private_room_masks,
		       "IRC glob masks (\"#private-*\") naming the "
		       "private rooms: a user may JOIN a channel matching one only when the "
		       "gateway lists it among the user's private rooms. A room is private "
		       "exactly when its name matches one: eirc-auth refuses a private room "
		       "that matches none and a public one that matches."),
};
#undef T

static const config_section_t schema_irc_client_sec = {
	"irc_client",
	"eirc-irc-client: the per-session IRC process. Its "
	"CHATHISTORY socket is history.socket_path.",
	schema_irc_client,
	COUNT(schema_irc_client),
	sizeof(eirc_config_irc_client_t),
	schema_check_irc_client,
};

/* ---- redis ---- */

#define T eirc_config_redis_t
static const config_field_t schema_redis[] = {
	CONFIG_STRING("host", T, host, "127.0.0.1", "Redis host name or address.", .umax = 253),
	CONFIG_PORT("port", T, port, "6379", "Redis port."),
	CONFIG_BOOL("cluster", T, cluster, "false",
		    "Redis Cluster: host/port is a seed node; the slot map is read "
		    "with CLUSTER SLOTS and each command goes to the master owning "
		    "its key's slot (MOVED/ASK followed)."),
	CONFIG_STRING("username", T, username, NULL,
		      "Redis user (ACL) of every daemon whose section names none; unset: the "
		      "default user.",
		      .validate = &schema_v_name),
	CONFIG_SECRET("password", T, password,
		      "Password (AUTH) of redis.username, or of the default user; unset when "
		      "Redis has none."),
	CONFIG_INT("partitions", T, partitions, "16", 1, 16384,
		   "Number of key partitions (hash tags {p0}..). Fixed for a "
		   "deployment: changing it moves every conversation."),
	CONFIG_DURATION("connect_timeout", T, connect_timeout, "2s", 100, MINS(1),
			"Timeout of one connection attempt."),
	CONFIG_DURATION("command_timeout", T, command_timeout, "5s", 100, MINS(5),
			"Time a command may take before the connection is dropped."),
};
#undef T

static const config_section_t schema_redis_sec = {
	"redis",
	"Redis: the Streams of eirc-logger and eirc-history, and the access bus "
	"(pub/sub channel eirc:access) eirc-auth publishes access changes on and "
	"eirc-gateway and eirc-history follow.",
	schema_redis,
	COUNT(schema_redis),
	sizeof(eirc_config_redis_t),
	NULL,
};

/* ---- elasticsearch ---- */

static void schema_check_es(const void *obj, config_check_t *c)
{
	const eirc_config_elasticsearch_t *e = obj;

	if (e->retry_min > e->retry_max)
		config_check_fail(c, "retry_min", "must not be longer than retry_max");
	if (e->username && !e->password)
		config_check_fail(c, "username", "needs password too");
	else if (e->password && !e->username)
		config_check_fail(c, "password", "needs username too");
	if (e->api_key && e->username)
		config_check_fail(c, "api_key",
				  "set api_key or username and "
				  "password, not both");
}

#define T eirc_config_elasticsearch_t
static const config_field_t schema_es[] = {
	CONFIG_STRLIST("urls", T, urls, n_urls,
		       "Elasticsearch nodes (\"https://es1:9200\"); empty: nothing is "
		       "shipped and search is unavailable.",
		       .validate = &schema_v_url),
	CONFIG_STRING("index_prefix", T, index_prefix, "eirc",
		      "Daily indices are named <prefix>-YYYY.MM.DD.",
		      .validate = &schema_v_index_prefix),
	CONFIG_STRING("username", T, username, NULL, "User for basic authentication.", .umax = 256),
	CONFIG_SECRET("password", T, password,
		      "Password for basic "
		      "authentication."),
	CONFIG_SECRET("api_key", T, api_key,
		      "API key (the base64 \"id:key\" form), instead of username and "
		      "password."),
	CONFIG_BOOL("tls_verify", T, tls_verify, "true", "Verify the cluster's certificates."),
	CONFIG_PATH("tls_ca_file", T, tls_ca_file, NULL,
		    "CA bundle (PEM) for the cluster; unset: the system's CAs."),
	CONFIG_INT("bulk_max_docs", T, bulk_max_docs, "1000", 1, 100000,
		   "A _bulk request is sent at this many documents..."),
	CONFIG_SIZE("bulk_max_bytes", T, bulk_max_bytes, "5MiB", KIB(1), MIB(100),
		    "...or at this many bytes..."),
	CONFIG_DURATION("bulk_flush_interval", T, bulk_flush_interval, "1s", 10, MINS(1),
			"...or this long after its first document."),
	CONFIG_DURATION("retry_min", T, retry_min, "500ms", 10, MINS(1),
			"First delay before retrying a 429 or 5xx (doubles, with jitter)."),
	CONFIG_DURATION("retry_max", T, retry_max, "30s", SECS(1), HOURS(1),
			"Longest delay between retries."),
	CONFIG_DURATION("request_timeout", T, request_timeout, "30s", SECS(1), MINS(10),
			"Timeout of one HTTP request."),
};
#undef T

static const config_section_t schema_es_sec = {
	"elasticsearch",
	"The Elasticsearch cluster: the shipper of eirc-logger "
	"writes to it, eirc-history searches and exports from it.",
	schema_es,
	COUNT(schema_es),
	sizeof(eirc_config_elasticsearch_t),
	schema_check_es,
};

/* ---- logger ---- */

#define T eirc_config_logger_t
static const config_field_t schema_logger[] = {
	CONFIG_STRING("nick", T, nick, "eirc-logger", "Nick of the logger bot.",
		      .validate = &schema_v_nick),
	CONFIG_SECRET("irc_password", T, irc_password,
		      "PASS the bot sends to the IRC server: the password of its connect class "
		      "with eirccapture=\"yes\" (m_eirc_capture: the bot is then in every "
		      "channel and gets a copy of every message); unset: no PASS, and the bot "
		      "archives only the channels it joins.",
		      .validate = &schema_v_one_word),
	CONFIG_STRLIST("channels", T, channels, n_channels, "Channels the bot always joins.",
		       .validate = &schema_v_channel),
	CONFIG_BOOL("join_listed", T, join_listed, "false",
		    "Also join every channel LIST shows (re-listed every "
		    "list_interval)."),
	CONFIG_DURATION("list_interval", T, list_interval, "10m", MINS(1), DAYS(1),
			"Interval of LIST with join_listed."),
	CONFIG_BOOL("accept_invites", T, accept_invites, "true",
		    "Join channels the bot is invited to."),
	CONFIG_BOOL("require_archive", T, require_archive, "false",
		    "Fail closed: the IRC server refuses a PRIVMSG, NOTICE or TAGMSG to a "
		    "channel no archiving logger is in, or to a user while no logger on that "
		    "server archives (the logger is away while Redis and its spill file are both "
		    "unavailable), with numeric 404 ... (ARCHIVE_UNAVAILABLE); eIRC users get "
		    "FAIL <command> ARCHIVE_UNAVAILABLE. Rendered by the stack into "
		    "<eirccapture require=\"yes\">. false: such messages flow and the hole is a "
		    "recorded gap."),
	CONFIG_SIZE("memory_buffer_max", T, memory_buffer_max, "64MiB", MIB(1), GIB(16),
		    "Events held in memory while Redis is down, before "
		    "spilling to disk."),
	CONFIG_PATH("spill_dir", T, spill_dir, "var/logger-spill",
		    "Folder of the append-only spill file."),
	CONFIG_SIZE("spill_max", T, spill_max, "1GiB", MIB(1), TIB(16),
		    "Largest spill file; past it events are lost, loudly and counted."),
	CONFIG_DURATION("retention", T, retention, "30d", HOURS(1), DAYS(3650),
			"How long Redis history streams keep events (trimmed by time)."),
	CONFIG_DURATION("archive_retention", T, archive_retention, "7d", SECS(10), DAYS(3650),
			"Without elasticsearch.urls: how long the archive streams keep events "
			"(trimmed by time every 10 s). With Elasticsearch they keep what a "
			"consumer group has not acknowledged, however old, and nothing else. "
			"A sealed archive (integrity.signing_key) is trimmed only at a checkpoint "
			"boundary, leaving a tombstone (docs/compliance.md)."),
	CONFIG_BOOL("shipper", T, shipper, "true",
		    "Run the Elasticsearch shipper in this process."),
	CONFIG_STRING("consumer_group", T, consumer_group, "eirc-shipper",
		      "Redis consumer group of the shipper.", .validate = &schema_v_name),
	CONFIG_STRING("metrics_address", T, metrics_address, "127.0.0.1",
		      "IP address of the /metrics listener.", .validate = &schema_v_ip),
	CONFIG_PORT("metrics_port", T, metrics_port, "0",
		    "Port of the /metrics listener; 0 disables it.", .flags = CONFIG_F_PORT_ZERO),
	SCHEMA_REDIS_LOGIN(T, "eirc-logger"),
};
#undef T

static const config_section_t schema_logger_sec = {
	"logger",
	"eirc-logger: the archiving bot and the Elasticsearch shipper.",
	schema_logger,
	COUNT(schema_logger),
	sizeof(eirc_config_logger_t),
	NULL,
};

/* ---- history ---- */

static void schema_check_history(const void *obj, config_check_t *c)
{
	const eirc_config_history_t *h = obj;

	if (h->join_replay_lines > h->chathistory_max)
		config_check_fail(c, "join_replay_lines",
				  "must not be more than chathistory_max (%d)", h->chathistory_max);
	if (h->rate_burst < h->rate_per_second)
		config_check_fail(c, "rate_burst", "must not be less than rate_per_second (%d)",
				  h->rate_per_second);
	if (h->socket_path && !h->session_key)
		config_check_fail(c, "session_key", "required when socket_path is set");
}

#define T eirc_config_history_t
static const config_field_t schema_history[] = {
	CONFIG_PATH("socket_path", T, socket_path, "var/run/eirc-history.sock",
		    "UNIX socket for irc-clients (CHATHISTORY, direct messages).",
		    .umax = CONFIG_UNIX_PATH_MAX),
	CONFIG_MODE("socket_mode", T, socket_mode, "0660", "Permissions of the socket (octal)."),
	CONFIG_STRING("socket_group", T, socket_group, NULL,
		      "Group the socket is given (irc_client.sandbox_user's); unset: "
		      "eirc-history's own.",
		      .umax = 32, .validate = &schema_v_one_word),
	CONFIG_SECRET("session_key", T, session_key,
		      "Key of the session tickets: eirc-gateway vouches for each irc-client "
		      "it starts, eirc-history checks the ticket on its socket; required "
		      "with socket_path, known to those two only.",
		      .validate = &schema_v_session_key),
	CONFIG_STRING("listen_address", T, listen_address, "127.0.0.1",
		      "IP address of the HTTP API.", .validate = &schema_v_ip),
	CONFIG_PORT("listen_port", T, listen_port, "8083", "Port of the HTTP API; 0 disables it.",
		    .flags = CONFIG_F_PORT_ZERO),
	CONFIG_INT("chathistory_max", T, chathistory_max, "100", 1, 1000,
		   "Largest CHATHISTORY limit (announced as CHATHISTORY=); larger "
		   "requests are clamped."),
	CONFIG_INT("join_replay_lines", T, join_replay_lines, "0", 0, 1000,
		   "Lines replayed on JOIN to browsers without draft/chathistory; 0: "
		   "none."),
	CONFIG_INT("page_max", T, page_max, "200", 1, 1000,
		   "Largest page of the HTTP messages API."),
	CONFIG_INT("rate_per_second", T, rate_per_second, "10", 1, 10000,
		   "Requests per second one user may make, on average."),
	CONFIG_INT("rate_burst", T, rate_burst, "20", 1, 100000,
		   "Requests one user may make in a burst."),
	CONFIG_DURATION("request_timeout", T, request_timeout, "5s", 100, MINS(5),
			"Time a request may take before it fails with 503 or "
			"MESSAGE_ERROR."),
	CONFIG_STRING("introspect_url", T, introspect_url, "http://127.0.0.1:8080/oauth/introspect",
		      "eirc-auth's token introspection endpoint (RFC 7662).",
		      .validate = &schema_v_url),
	CONFIG_STRING("introspect_client_id", T, introspect_client_id, "eirc-history",
		      "OAuth client id used for introspection.", .validate = &schema_v_one_word,
		      .umax = 128),
	CONFIG_SECRET("introspect_client_secret", T, introspect_client_secret,
		      "OAuth client secret used for introspection."),
	CONFIG_DURATION("introspect_cache_ttl", T, introspect_cache_ttl, "30s", 0, HOURS(1),
			"How long an introspection answer is reused; 0: never."),
	SCHEMA_REDIS_LOGIN(T, "eirc-history"),
};
#undef T

static const config_section_t schema_history_sec = {
	"history",
	"eirc-history: CHATHISTORY for irc-clients and the HTTP "
	"history, search and export API.",
	schema_history,
	COUNT(schema_history),
	sizeof(eirc_config_history_t),
	schema_check_history,
};

/* ---- log ---- */

static const char *const schema_log_levels[] = {
	[EIRC_CONFIG_LOG_DEBUG] = "debug",
	[EIRC_CONFIG_LOG_INFO] = "info",
	[EIRC_CONFIG_LOG_WARN] = "warn",
	[EIRC_CONFIG_LOG_ERROR] = "error",
	NULL,
};

static const char *const schema_log_formats[] = {
	[EIRC_CONFIG_LOG_TEXT] = "text",
	[EIRC_CONFIG_LOG_JSON] = "json",
	NULL,
};

#define T eirc_config_log_t
static const config_field_t schema_log[] = {
	CONFIG_ENUM("level", T, level, eirc_config_log_level_t, "info", schema_log_levels,
		    "Lowest level written."),
	CONFIG_ENUM("format", T, format, eirc_config_log_format_t, "text", schema_log_formats,
		    "text: one readable line per event; json: one "
		    "JSON object per line."),
};
#undef T

/* ---- integrity ---- */

#define T eirc_config_integrity_t
static const config_field_t schema_integrity[] = {
	CONFIG_SECRET("signing_key", T, signing_key,
		      "Ed25519 key that signs the archive's checkpoints, as a signed-note private "
		      "key (\"PRIVATE+KEY+<name>+<key id>+<base64>\", from `eirc-archive keygen`); "
		      "read by eirc-logger (sealing) and eirc-auth (the audit log). Unset: nothing "
		      "is sealed and the archive is not tamper-evident (docs/compliance.md).",
		      .validate = &schema_v_one_word),
	CONFIG_STRLIST("verify_keys", T, verify_keys, n_verify_keys,
		       "Public keys (\"<name>+<key id>+<base64>\") whose checkpoints are "
		       "accepted besides the signing key's own: the keys rotated out. eirc-auth "
		       "publishes them at /.well-known/eirc-archive-key.",
		       .validate = &schema_v_one_word),
	CONFIG_STRING("origin", T, origin, "eirc/archive",
		      "Checkpoint origin prefix: partition k's log is \"<origin>/p<k>\", the "
		      "audit log's \"<origin>/audit\". Set it to a name of your own (your "
		      "domain) before the first event: it is signed into every checkpoint.",
		      .validate = &schema_v_one_word),
	CONFIG_INT("checkpoint_events", T, checkpoint_events, "1000", 1, 1000000,
		   "A partition's log is checkpointed after this many new events..."),
	CONFIG_DURATION("checkpoint_interval", T, checkpoint_interval, "10s", SECS(1), HOURS(1),
			"...or this long after its last checkpoint, if it grew."),
	CONFIG_DURATION("seal_interval", T, seal_interval, "1s", 100, MINS(1),
			"How often eirc-logger seals the events archived since its last pass: "
			"with the seal lease's takeover, the bound of the sealing delay."),
	CONFIG_INT("seal_batch", T, seal_batch, "1000", 1, 100000,
		   "Events read and sealed per Redis round trip."),
	CONFIG_PATH("witness_file", T, witness_file, NULL,
		    "File every signed checkpoint is appended to (a witness outside Redis and "
		    "PostgreSQL; ship it elsewhere). Unset: none."),
	CONFIG_BOOL("witness_syslog", T, witness_syslog, "false",
		    "Also log every signed checkpoint to syslog (LOG_AUTHPRIV)."),
};
#undef T

static const config_section_t schema_integrity_sec = {
	"integrity",
	"The tamper-evident archive (docs/compliance.md): sealing, signed checkpoints, "
	"witnesses.",
	schema_integrity,
	COUNT(schema_integrity),
	sizeof(eirc_config_integrity_t),
	NULL,
};

static const config_section_t schema_log_sec = {
	"log",
	"Logging of every daemon (to stderr).",
	schema_log,
	COUNT(schema_log),
	sizeof(eirc_config_log_t),
	NULL,
};

/* ---- root ---- */

#define T eirc_config_t
static const config_field_t schema_root[] = {
	CONFIG_SECTION("irc", T, irc, eirc_config_irc_t, schema_irc_sec, ""),
	CONFIG_SECTION("gateway", T, gateway, eirc_config_gateway_t, schema_gateway_sec, ""),
	CONFIG_SECTION("auth", T, auth, eirc_config_auth_t, schema_auth_sec, ""),
	CONFIG_SECTION("irc_client", T, irc_client, eirc_config_irc_client_t, schema_irc_client_sec,
		       ""),
	CONFIG_SECTION("redis", T, redis, eirc_config_redis_t, schema_redis_sec, ""),
	CONFIG_SECTION("elasticsearch", T, elasticsearch, eirc_config_elasticsearch_t,
		       schema_es_sec, ""),
	CONFIG_SECTION("logger", T, logger, eirc_config_logger_t, schema_logger_sec, ""),
	CONFIG_SECTION("history", T, history, eirc_config_history_t, schema_history_sec, ""),
	CONFIG_SECTION("integrity", T, integrity, eirc_config_integrity_t, schema_integrity_sec,
		       ""),
	CONFIG_SECTION("log", T, log, eirc_config_log_t, schema_log_sec, ""),
};
#undef T

/* What spans sections, or a section the file leaves out (its own check
 * runs only when the file has it): runs once the rest is valid. */
static void schema_check_root(const void *obj, config_check_t *c)
{
	const eirc_config_t *cfg = obj;

	if (cfg->history.socket_path && !cfg->history.session_key)
		config_check_fail(c, "history", "session_key is required when socket_path is set");
}

const config_section_t config_schema_root = {
	"", "", schema_root, COUNT(schema_root), sizeof(eirc_config_t), schema_check_root,
};

const config_field_t *config_schema_find(const config_section_t *sec, const char *name, size_t len)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		const char *n = sec->fields[i].name;
		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return &sec->fields[i];
	}
	return NULL;
}

/* Each type's name in the reference (config_doc) and what a value of it
 * must be, for error text. */
static const struct {
	const char *name;
	const char *noun;
} schema_types[] = {
	[CONFIG_T_BOOL] = {"bool", "true or false"},
	[CONFIG_T_INT] = {"int", "an integer"},
	[CONFIG_T_PORT] = {"port", "a port number"},
	[CONFIG_T_STRING] = {"string", "a string"},
	[CONFIG_T_SECRET] = {"secret", "a string"},
	[CONFIG_T_PATH] = {"path", "a string"},
	[CONFIG_T_ENUM] = {"enum", "one of the allowed values"},
	[CONFIG_T_DURATION] = {"duration", "a duration"},
	[CONFIG_T_SIZE] = {"size", "a size"},
	[CONFIG_T_MODE] = {"mode", "an octal file mode"},
	[CONFIG_T_STRLIST] = {"list of strings", "a list of strings"},
	[CONFIG_T_SECTION] = {"section", "a mapping"},
	[CONFIG_T_SECTION_LIST] = {"list of sections", "a list of mappings"},
};

const char *config_schema_type_name(config_type_t type)
{
	return (size_t)type < COUNT(schema_types) ? schema_types[type].name : "?";
}

const char *config_schema_type_noun(config_type_t type)
{
	return (size_t)type < COUNT(schema_types) ? schema_types[type].noun : "a value";
}
