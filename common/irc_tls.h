/*
 * irc_tls: the client side of TLS for irc_conn, as a byte pump between
 * ciphertext (socket) and plaintext (IRC lines) with memory BIOs. It owns
 * no socket and no loop: ciphertext to send leaves through io->flush,
 * plaintext received arrives through io->plain.
 *
 * OpenSSL is loaded lazily with dlopen() the first time a TLS server is
 * configured (irc_tls_available()), so a process whose configuration has no
 * TLS never maps libssl/libcrypto: their relocations would cost each of
 * the thousands of irc-client processes tens of KiB of private memory. The
 * library must be loaded before the sandbox is installed.
 */
#ifndef EIRC_COMMON_IRC_TLS_H
#define EIRC_COMMON_IRC_TLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct irc_tls irc_tls_t;
typedef struct irc_tls_io irc_tls_io_t;

struct irc_tls;

struct irc_tls_io {
	/* Ciphertext for the socket. Returns 0 or a negative errno. */
	int (*flush)(void *ud, const char *data, size_t len);
	/* Decrypted bytes from the server. Returns 0 or a negative errno. */
	int (*plain)(void *ud, const char *data, size_t len);
	/* The handshake succeeded (certificate verified when asked). */
	int (*ready)(void *ud);
	void *ud;
};

/* Loads and initialises OpenSSL once; true when TLS can be used. Not
 * thread-safe (our daemons are single-threaded). */
bool irc_tls_available(void);

/*
 * Builds the TLS context for ca_file (NULL: the system's CA bundle,
 * $SSL_CERT_FILE or OpenSSL's default file) and, when verify, reads its
 * certificates now. Call it for every TLS server before the sandbox: a
 * handshake then needs no file. Contexts are kept for the process's life,
 * one per distinct ca_file. Returns 0, -ENOTSUP (no OpenSSL), -ENOENT (the
 * CA file cannot be read or holds no certificate) or -ENOMEM.
 */
int irc_tls_prepare(const char *ca_file, bool verify);

/*
 * Starts a client handshake with SNI `host`; verify checks the certificate
 * chain (against ca_file, or the system's CAs when NULL) and that it names
 * host. io is copied. Returns 0 and sets *out_tls (the ClientHello has
 * gone to io->flush), -ENOTSUP (no OpenSSL), -ENOMEM or -EIO. TLS 1.2 at
 * least. io->ready may be called from irc_tls_feed(), never from here.
 */
int irc_tls_start(irc_tls_t **out_tls, const char *host, bool verify, const char *ca_file,
		  const irc_tls_io_t *io);

/* Feeds ciphertext from the socket; plaintext goes to io->plain. Returns 0,
 * -EPERM (the certificate was refused), -EIO (TLS error or close_notify), or
 * a callback's error: a callback returning one stops the call at once, and
 * t is not touched afterwards (the owner may then free it). */
int irc_tls_feed(irc_tls_t *t, const char *data, size_t len);

/* Encrypts plaintext and hands the records to io->flush. Only after
 * io->ready: before it, returns -ENOTCONN. Returns 0, -EIO or the flush
 * callback's error. */
int irc_tls_write(irc_tls_t *t, const char *data, size_t len);

/* A short English description of the last error (static or in t). */
const char *irc_tls_error(const irc_tls_t *t);

/* NULL is a no-op. */
void irc_tls_free(irc_tls_t *t);

#endif
