/*
 * irc_tls: TLS client over memory BIOs, OpenSSL loaded with dlopen() (see
 * irc_tls.h for why). Only the declarations of OpenSSL's headers are used:
 * every function is called through a pointer found with dlsym(), typed
 * from its prototype, so a mismatch is a compile error.
 *
 * One SSL_CTX per CA file (a handful at most, kept for the life of the
 * process): irc_tls_prepare() builds it, CA certificates loaded, before the
 * sandbox forbids open(); each connection gets its own SSL on top.
 */
#include "common/irc_tls.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define IRC_TLS_LIBSSL "libssl.so.3"
#else
#define IRC_TLS_LIBSSL "libssl.so.1.1"
#endif

/* Distinct CA files (and the system store) one process may use. */
#define IRC_TLS_CTX_MAX 16

/* One entry per line: clang-format 14 does not settle on a packed list. */
#define OSSL_FUNCS(X)                                                                              \
	X(OPENSSL_init_ssl)                                                                        \
	X(TLS_client_method)                                                                       \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_ctrl)                                                                                \
	X(SSL_set_bio)                                                                             \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_set_verify)                                                                          \
	X(SSL_set1_host)                                                                           \
	X(SSL_get0_param)                                                                          \
	X(SSL_do_handshake)                                                                        \
	X(SSL_is_init_finished)                                                                    \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_get_error)                                                                           \
	X(SSL_get_verify_result)                                                                   \
	X(BIO_new)                                                                                 \
	X(BIO_free)                                                                                \
	X(BIO_s_mem)                                                                               \
	X(BIO_read)                                                                                \
	X(BIO_write)                                                                               \
	X(BIO_ctrl_pending)                                                                        \
	X(ERR_get_error)                                                                           \
	X(ERR_error_string_n)                                                                      \
	X(ERR_clear_error)                                                                         \
	X(X509_verify_cert_error_string)                                                           \
	X(X509_get_default_cert_file)                                                              \
	X(X509_get_default_cert_file_env)                                                          \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                           \
	X(RAND_status)

static struct {
#define OSSL_PTR(f) __typeof__(&f) f;
	OSSL_FUNCS(OSSL_PTR)
#undef OSSL_PTR
} ossl;

static enum { TLS_UNTRIED, TLS_LOADED, TLS_MISSING } tls_lib;
static const char *lib_error = "TLS is not available (libssl could not be loaded)";

struct tls_ctx {
	char *ca_file; /* NULL: the system store */
	SSL_CTX *ctx;
	bool cas_loaded;
};
static struct tls_ctx ctxs[IRC_TLS_CTX_MAX];

struct irc_tls {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	irc_tls_io_t io;
	bool ready, verify;
	char err[160];
};

static bool load_symbols(void *h)
{
	void *sym;

#define OSSL_SYM(f)                                                                                \
	sym = dlsym(h, #f);                                                                        \
	if (!sym)                                                                                  \
		return false;                                                                      \
	memcpy(&ossl.f, &sym, sizeof(sym));
	OSSL_FUNCS(OSSL_SYM)
#undef OSSL_SYM
	return true;
}

bool irc_tls_available(void)
{
	if (tls_lib != TLS_UNTRIED)
		return tls_lib == TLS_LOADED;
	tls_lib = TLS_MISSING;
	/* RTLD_NODELETE: the library stays mapped for the process's life. */
	void *h = dlopen(IRC_TLS_LIBSSL, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h)
		return false;
	if (!load_symbols(h) ||
	    ossl.OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
					  OPENSSL_INIT_LOAD_CONFIG,
				  NULL) != 1) {
		lib_error = "TLS is not available (libssl is not usable)";
		memset(&ossl, 0, sizeof(ossl));
		return false;
	}
	/* Seeds the random generator now, while getrandom() and /dev/urandom
	 * are still reachable whatever the sandbox allows. */
	ossl.RAND_status();
	tls_lib = TLS_LOADED;
	return true;
}

static bool same_file(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The system store: $SSL_CERT_FILE, else OpenSSL's default bundle. One
 * file read now, not the hashed directory OpenSSL would open lazily
 * during a handshake (after the sandbox forbids open()). */
static int load_cas(SSL_CTX *ctx, const char *ca_file)
{
	const char *file = ca_file;

	if (!file)
		file = getenv(ossl.X509_get_default_cert_file_env());
	if (!file || !*file)
		file = ossl.X509_get_default_cert_file();
	if (ossl.SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
		ossl.ERR_clear_error();
		return -ENOENT;
	}
	return 0;
}

static struct tls_ctx *ctx_find(const char *ca_file)
{
	for (size_t i = 0; i < IRC_TLS_CTX_MAX; i++)
		if (ctxs[i].ctx && same_file(ctxs[i].ca_file, ca_file))
			return &ctxs[i];
	return NULL;
}

static int ctx_new(const char *ca_file, struct tls_ctx **out)
{
	struct tls_ctx *e = NULL;

	for (size_t i = 0; i < IRC_TLS_CTX_MAX && !e; i++)
		if (!ctxs[i].ctx)
			e = &ctxs[i];
	if (!e)
		return -ENOMEM;
	char *copy = ca_file ? strdup(ca_file) : NULL;
	SSL_CTX *ctx = ossl.SSL_CTX_new(ossl.TLS_client_method());
	if ((ca_file && !copy) || !ctx) {
		free(copy);
		ossl.ERR_clear_error();
		return -ENOMEM;
	}
	ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	/* Idle connections give their 34 KiB read/write buffers back. */
	ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, NULL);
	*e = (struct tls_ctx){copy, ctx, false};
	*out = e;
	return 0;
}

int irc_tls_prepare(const char *ca_file, bool verify)
{
	struct tls_ctx *e;

	if (!irc_tls_available())
		return -ENOTSUP;
	e = ctx_find(ca_file);
	if (!e) {
		int err = ctx_new(ca_file, &e);
		if (err < 0)
			return err;
	}
	if (verify && !e->cas_loaded) {
		int err = load_cas(e->ctx, ca_file);
		if (err < 0)
			return err;
		e->cas_loaded = true;
	}
	return 0;
}

static void set_error(irc_tls_t *t, const char *what)
{
	unsigned long e = ossl.ERR_get_error();
	char buf[120] = "";

	if (e)
		ossl.ERR_error_string_n(e, buf, sizeof(buf));
	ossl.ERR_clear_error();
	snprintf(t->err, sizeof(t->err), "%s%s%s", what, *buf ? ": " : "", buf);
}

/* Hands whatever OpenSSL has written to the socket. */
static int drain(irc_tls_t *t)
{
	char buf[4096];

	while (ossl.BIO_ctrl_pending(t->wbio) > 0) {
		int n = ossl.BIO_read(t->wbio, buf, sizeof(buf));
		if (n <= 0)
			break;
		int err = t->io.flush(t->io.ud, buf, (size_t)n);
		if (err < 0)
			return err;
	}
	return 0;
}

static int set_host(irc_tls_t *t, const char *host)
{
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

	if (ip) /* no SNI for an address (RFC 6066); check the IP SAN */
		return ossl.X509_VERIFY_PARAM_set1_ip_asc(ossl.SSL_get0_param(t->ssl), host) == 1
			       ? 0
			       : -EINVAL;
	if (ossl.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
			  (void *)host) != 1)
		return -EINVAL;
	return t->verify && ossl.SSL_set1_host(t->ssl, host) != 1 ? -EINVAL : 0;
}

static int tls_new(irc_tls_t *t, const struct tls_ctx *e, const char *host)
{
	t->ssl = ossl.SSL_new(e->ctx);
	if (!t->ssl)
		return -ENOMEM;
	t->rbio = ossl.BIO_new(ossl.BIO_s_mem());
	t->wbio = ossl.BIO_new(ossl.BIO_s_mem());
	if (!t->rbio || !t->wbio) {
		if (t->rbio)
			ossl.BIO_free(t->rbio);
		if (t->wbio)
			ossl.BIO_free(t->wbio);
		return -ENOMEM;
	}
	ossl.SSL_set_bio(t->ssl, t->rbio, t->wbio);
	ossl.SSL_set_connect_state(t->ssl);
	ossl.SSL_set_verify(t->ssl, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return set_host(t, host);
}

/* Runs the handshake as far as the bytes received allow. */
static int handshake(irc_tls_t *t)
{
	int r = ossl.SSL_do_handshake(t->ssl);
	int err = drain(t); /* alerts too, on failure */

	if (r == 1) {
		if (err == 0) {
			t->ready = true;
			err = t->io.ready(t->io.ud);
		}
		return err;
	}
	int e = ossl.SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return err;
	long v = ossl.SSL_get_verify_result(t->ssl);
	if (t->verify && v != X509_V_OK) {
		ossl.ERR_clear_error();
		snprintf(t->err, sizeof(t->err), "the IRC server's TLS certificate was refused: %s",
			 ossl.X509_verify_cert_error_string(v));
		return -EPERM;
	}
	set_error(t, "TLS handshake with the IRC server failed");
	return -EIO;
}

int irc_tls_start(irc_tls_t **out_tls, const char *host, bool verify, const char *ca_file,
		  const irc_tls_io_t *io)
{
	int err = irc_tls_prepare(ca_file, verify);

	if (err < 0)
		return err == -ENOENT ? -EIO : err;
	irc_tls_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->io = *io;
	t->verify = verify;
	err = tls_new(t, ctx_find(ca_file), host);
	if (err == 0)
		err = handshake(t);
	if (err < 0) {
		irc_tls_free(t);
		return err == -ENOMEM ? err : -EIO;
	}
	*out_tls = t;
	return 0;
}

/* Decrypts everything readable and hands it over. */
static int read_plain(irc_tls_t *t)
{
	char buf[4096];

	for (;;) {
		int n = ossl.SSL_read(t->ssl, buf, sizeof(buf));
		if (n > 0) {
			int err = t->io.plain(t->io.ud, buf, (size_t)n);
			if (err < 0)
				return err; /* t may be on its way out: touch nothing */
			continue;
		}
		int e = ossl.SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return drain(t); /* e.g. a key update answer */
		if (e == SSL_ERROR_ZERO_RETURN)
			snprintf(t->err, sizeof(t->err), "the IRC server closed the TLS session");
		else
			set_error(t, "TLS error from the IRC server");
		return -EIO;
	}
}

int irc_tls_feed(irc_tls_t *t, const char *data, size_t len)
{
	while (len > 0) {
		int n = ossl.BIO_write(t->rbio, data, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n <= 0) {
			set_error(t, "TLS buffer");
			return -ENOMEM;
		}
		data += n;
		len -= (size_t)n;
	}
	if (!t->ready) {
		int err = handshake(t);
		if (err < 0 || !t->ready)
			return err;
	}
	return read_plain(t);
}

int irc_tls_write(irc_tls_t *t, const char *data, size_t len)
{
	if (len == 0)
		return 0;
	/* Before the handshake ends SSL_write would start it again; the
	 * owner only writes after io->ready, so this is a misuse. */
	if (!t->ready)
		return -ENOTCONN;
	int n = ossl.SSL_write(t->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n <= 0 || (size_t)n != len) {
		set_error(t, "TLS write failed");
		return -EIO;
	}
	return drain(t);
}

const char *irc_tls_error(const irc_tls_t *t)
{
	if (!t || tls_lib != TLS_LOADED)
		return lib_error;
	return t->err[0] ? t->err : "TLS error";
}

void irc_tls_free(irc_tls_t *t)
{
	if (!t)
		return;
	if (t->ssl)
		ossl.SSL_free(t->ssl); /* frees both BIOs once set */
	free(t);
}
