/*
 * eirc-auth with its public listener on HTTPS (auth.tls_cert_file and
 * tls_key_file): the listener really speaks TLS with the configured
 * certificate (a client that trusts only our throwaway CA gets through, a
 * plain-HTTP request to the same port gets no HTTP answer), sign-in works
 * over it, and the internal listener stays plain on its own port.
 *
 * libwebsockets 4.1 enables TLS per vhost only when the vhost's options ask
 * for it; without that the "HTTPS" port served plain HTTP, which this test
 * was written to catch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/auth_fixture.h"

static char dir[] = "/tmp/eirc-auth-tls-XXXXXX";

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

/* A CA and a certificate for 127.0.0.1 it signs, in dir. */
static int make_certs(void)
{
	return sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-keyout ca.key -out ca.pem -days 2 -subj '/CN=eIRC auth test CA' "
		  "-addext basicConstraints=critical,CA:TRUE "
		  "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
		  "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > srv.ext "
		  "&& "
		  "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
		  "-out srv.csr -subj /CN=127.0.0.1 2>/dev/null && "
		  "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		  "-extfile srv.ext -out srv.pem 2>/dev/null && chmod 0755 . && chmod 0644 *",
		  dir);
}

/* A plain-HTTP HEAD /healthz to a port: the HTTP status, or 0 when no
 * complete answer came. */
static long plain_status(int port)
{
	char url[64];
	ht_resp_t r;
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	status = ht_request(&(ht_req_t){.method = "HEAD", .url = url, .timeout_s = 10}, &r) == 0
			 ? r.status
			 : 0;
	ht_resp_free(&r);
	return status;
}

int main(void)
{
	char extra[1200], ca[600];
	fx_t fx;
	ht_resp_t r;
	int fails = 0, st;

	if (!mkdtemp(dir) || make_certs() < 0) {
		fprintf(stderr, "not ok: cannot make the test certificates with the openssl CLI\n");
		return 1;
	}
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(extra, sizeof(extra), "  tls_cert_file: %s/srv.pem\n  tls_key_file: %s/srv.key\n",
		 dir, dir);
	if (fx_start_tls(&fx, extra, ca) < 0) {
		fprintf(stderr, "not ok: eirc-auth did not come up on HTTPS\n");
		fx_stop(&fx);
		sh("rm -rf %s", dir);
		return 1;
	}
#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		if (cond)                                                                          \
			printf("ok - %s\n", what);                                                 \
		else {                                                                             \
			printf("not ok - %s\n", what);                                             \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

	/* fx_start_tls waited for /healthz over verified HTTPS already */
	st = fx_http(&fx, false, "GET", "/healthz", NULL, NULL, 0, &r);
	CHECK(st == 0 && r.status == 200, "GET /healthz over HTTPS, certificate verified");
	ht_resp_free(&r);
	CHECK(plain_status(fx.port) == 0, "plain HTTP on the HTTPS port gets no HTTP answer");
	st = fx_http(&fx, true, "GET", "/healthz", NULL, NULL, 0, &r);
	CHECK(st == 0 && r.status == 200, "the internal listener stays plain HTTP");
	ht_resp_free(&r);
	CHECK(fx_cli(&fx, FX_PASSWORD, NULL, 0, "user", "add", "tls", "--password-env", "PW",
		     (char *)NULL) == 0,
	      "a user is created");
	st = fx_login(&fx, "tls", FX_PASSWORD, &r);
	CHECK(st == 0 && r.status == 200 && r.json && json_object_get(r.json, "access_token"),
	      "password grant over HTTPS");
	ht_resp_free(&r);
	st = fx_http(&fx, false, "GET", "/", NULL, NULL, 0, &r);
	CHECK(st == 0 && ht_has_header(&r, "content-security-policy:"),
	      "the web client is served over HTTPS with its CSP");
	ht_resp_free(&r);

	CHECK(fx_stop(&fx) == 0, "eirc-auth exits 0 on SIGTERM");
	sh("rm -rf %s", dir);
	printf("1..7\n");
	return fails ? 1 : 0;
}
