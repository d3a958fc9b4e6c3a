/*
 * auth_pwhash: Argon2id on the libuv thread pool. See auth_pwhash.h.
 */
#include "auth/auth_pwhash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct auth_pwhash {
	uv_loop_t *loop;
	unsigned long long ops;
	size_t mem;
	char dummy[crypto_pwhash_STRBYTES];
	int pending;
};

typedef struct pw_work {
	uv_work_t req;
	auth_pwhash_t *ph;
	char hash[crypto_pwhash_STRBYTES];
	char *password;
	size_t password_len;
	bool match;
	bool dummy;
	auth_pwhash_cb cb;
	void *data;
} pw_work_t;

int auth_pwhash_hash(const char *password, unsigned long long opslimit, size_t memlimit,
		     char out[crypto_pwhash_STRBYTES])
{
	size_t n = strlen(password);

	if (n < 1 || n > AUTH_PASSWORD_MAX)
		return -EINVAL;
	if (crypto_pwhash_str_alg(out, password, n, opslimit, memlimit,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

int auth_pwhash_new(uv_loop_t *loop, unsigned long long opslimit, size_t memlimit,
		    auth_pwhash_t **out)
{
	auth_pwhash_t *ph = calloc(1, sizeof(*ph));
	char pw[33];
	int r;

	if (!ph)
		return -ENOMEM;
	ph->loop = loop;
	ph->ops = opslimit;
	ph->mem = memlimit;
	/* a random password nobody knows: the dummy never matches */
	randombytes_buf(pw, 16);
	sodium_bin2hex(pw, sizeof(pw), (unsigned char *)pw, 16);
	r = auth_pwhash_hash(pw, opslimit, memlimit, ph->dummy);
	sodium_memzero(pw, sizeof(pw));
	if (r < 0) {
		free(ph);
		return r;
	}
	*out = ph;
	return 0;
}

void auth_pwhash_free(auth_pwhash_t *ph)
{
	free(ph);
}

static void pw_work(uv_work_t *req)
{
	pw_work_t *w = req->data;

	w->match = crypto_pwhash_str_verify(w->hash, w->password, w->password_len) == 0;
}

static void pw_after(uv_work_t *req, int status)
{
	pw_work_t *w = req->data;

	w->ph->pending--;
	sodium_memzero(w->password, w->password_len);
	free(w->password);
	w->cb(w->data, status == 0 && w->match && !w->dummy);
	free(w);
}

int auth_pwhash_verify(auth_pwhash_t *ph, const char *hash, const char *password, auth_pwhash_cb cb,
		       void *data)
{
	pw_work_t *w;
	int r;

	if (ph->pending >= AUTH_PWHASH_PENDING_MAX)
		return -EAGAIN;
	if (hash && strlen(hash) >= crypto_pwhash_STRBYTES)
		hash = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->password_len = strlen(password);
	w->password = strdup(password);
	if (!w->password) {
		free(w);
		return -ENOMEM;
	}
	memcpy(w->hash, hash ? hash : ph->dummy, strlen(hash ? hash : ph->dummy) + 1);
	w->dummy = hash == NULL;
	w->ph = ph;
	w->cb = cb;
	w->data = data;
	w->req.data = w;
	r = uv_queue_work(ph->loop, &w->req, pw_work, pw_after);
	if (r < 0) {
		sodium_memzero(w->password, w->password_len);
		free(w->password);
		free(w);
		return r;
	}
	ph->pending++;
	return 0;
}
