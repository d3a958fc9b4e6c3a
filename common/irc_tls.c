/*
 * irc_tls: TLS client over memory BIOs, OpenSSL loaded with dlopen() (see
 * irc_tls.h for why). Not yet implemented: irc_tls_available() is false, so
 * a configuration asking for TLS is refused at start-up with -ENOTSUP.
 */
#include "common/irc_tls.h"

#include <errno.h>

bool irc_tls_available(void)
{
	return false;
}

int irc_tls_start(struct irc_tls **out_tls, const char *host, bool verify, const char *ca_file,
                  const struct irc_tls_io *io)
{
	(void)out_tls;
	(void)host;
	(void)verify;
	(void)ca_file;
	(void)io;
	return -ENOTSUP;
}

int irc_tls_feed(struct irc_tls *t, const char *data, size_t len)
{
	(void)t;
	(void)data;
	(void)len;
	return -EIO;
}

int irc_tls_write(struct irc_tls *t, const char *data, size_t len)
{
	(void)t;
	(void)data;
	(void)len;
	return -EIO;
}

const char *irc_tls_error(const struct irc_tls *t)
{
	(void)t;
	return "TLS is not available in this build";
}

void irc_tls_free(struct irc_tls *t)
{
	(void)t;
}
