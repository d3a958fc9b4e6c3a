/*
 * eirc-archive: the auditor's tool for the tamper-evident archive
 * (docs/eirc-archive.md): keygen, verify, prove, check-proof, checkpoints.
 * This file is the command line: it reads the config, collects the keys
 * and dispatches; the commands live in eirc_archive_{verify,proof}.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "archive/eirc_archive.h"

static const char usage[] =
	"Usage: eirc-archive keygen NAME\n"
	"       eirc-archive --config FILE verify [--from T] [--to T] [--partition K]\n"
	"                    [--checkpoint FILE] [--key VKEY]...\n"
	"       eirc-archive --config FILE prove MSGID [--out FILE]\n"
	"       eirc-archive check-proof --key VKEY [--key VKEY]... FILE\n"
	"       eirc-archive --config FILE checkpoints\n"
	"       eirc-archive --check-config FILE | --help | --version\n"
	"\n"
	"Checks eIRC's tamper-evident archive (docs/eirc-archive.md).\n"
	"  keygen       a new signing key: the private key (integrity.signing_key)\n"
	"               on the first line, its public key on the second\n"
	"  verify       recomputes every partition's log from Redis and\n"
	"               Elasticsearch and checks it against every signed\n"
	"               checkpoint; T is YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ\n"
	"  prove        an inclusion proof of one event against the latest checkpoint\n"
	"  check-proof  checks a proof with public keys alone\n"
	"  checkpoints  the latest checkpoint of every log, in the witness format\n"
	"                (what an auditor keeps for verify --checkpoint)\n"
	"Exit status: 0 intact, 1 a finding, 2 usage or config, 3 a store unreachable.\n"
	"Reads the config's redis, elasticsearch, auth.database and integrity sections.\n";

/* What eirc-archive reads of the config (its ${VAR}s). */
static const char *const archive_keys[] = {"redis",
					   "elasticsearch",
					   "auth.database.host",
					   "auth.database.port",
					   "auth.database.name",
					   "auth.database.user",
					   "auth.database.password",
					   "auth.database.connect_timeout",
					   "integrity",
					   "logger.consumer_group",
					   NULL};

int ea_keys_add(ea_t *ea, const char *vkey)
{
	if (ea->n_keys == EA_KEYS_MAX) {
		fprintf(stderr, "eirc-archive: too many keys\n");
		return EA_EXIT_USAGE;
	}
	if (tlog_verifier_parse(vkey, &ea->keys[ea->n_keys]) < 0) {
		fprintf(stderr, "eirc-archive: not a public key: %s\n", vkey);
		return EA_EXIT_USAGE;
	}
	ea->n_keys++;
	return 0;
}

int ea_keys_from_config(ea_t *ea)
{
	const eirc_config_integrity_t *c = &ea->cfg->integrity;

	if (c->signing_key) {
		if (tlog_signer_parse(c->signing_key, &ea->signer) < 0) {
			fprintf(stderr,
				"eirc-archive: integrity.signing_key is not a signing key\n");
			return EA_EXIT_USAGE;
		}
		ea->have_signer = true;
		tlog_mac_key(&ea->signer, ea->mac_key);
		tlog_signer_verifier(&ea->signer, &ea->keys[ea->n_keys++]);
	}
	for (size_t i = 0; i < c->n_verify_keys; i++)
		if (ea_keys_add(ea, c->verify_keys[i]) != 0)
			return EA_EXIT_USAGE;
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	tlog_signer_t s;
	tlog_verifier_t v;
	char sk[TLOG_SKEY_MAX], vk[TLOG_VKEY_MAX];

	if (argc != 1) {
		fprintf(stderr, "eirc-archive keygen: NAME (see --help)\n");
		return EA_EXIT_USAGE;
	}
	if (tlog_signer_generate(argv[0], &s) < 0) {
		fprintf(stderr,
			"eirc-archive: %s: not a key name (no spaces, '+' or control "
			"characters)\n",
			argv[0]);
		return EA_EXIT_USAGE;
	}
	tlog_signer_verifier(&s, &v);
	if (tlog_signer_format(&s, sk, sizeof(sk)) < 0 ||
	    tlog_verifier_format(&v, vk, sizeof(vk)) < 0)
		return EA_EXIT_USAGE;
	sodium_memzero(&s, sizeof(s));
	printf("%s\n%s\n", sk, vk);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

int ea_cmd_checkpoints(ea_t *ea)
{
	PGresult *res;
	int rc;

	if ((rc = ea_open(ea, false, true)) != 0)
		return rc;
	res = PQexec((PGconn *)ea_pg(ea), "SELECT DISTINCT ON (origin) note FROM "
					  "archive_checkpoints ORDER BY origin, seq DESC");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQresultErrorMessage(res));
		PQclear(res);
		return EA_EXIT_UNREACHABLE;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("%s~~~~\n", PQgetvalue(res, i, 0));
	PQclear(res);
	return fflush(stdout) == 0 ? 0 : EA_EXIT_USAGE;
}

static int load_config(const char *path, eirc_config_t **out)
{
	eirc_config_errors_t *errs = NULL;
	eirc_config_vars_t vars = {.keys = archive_keys};
	int rc = eirc_config_load_vars(path, &vars, out, &errs);

	if (rc == 0)
		return 0;
	if (errs)
		eirc_config_errors_print(errs, stderr);
	else
		fprintf(stderr, "eirc-archive: %s: %s\n", path, strerror(-rc));
	eirc_config_errors_free(errs);
	return EA_EXIT_USAGE;
}

static int run(const char *config, const char *cmd, int argc, char **argv)
{
	static ea_t ea;
	eirc_config_t *cfg = NULL;
	int rc;

	if (!config) {
		fprintf(stderr, "eirc-archive %s: --config FILE is required\n", cmd);
		return EA_EXIT_USAGE;
	}
	if ((rc = load_config(config, &cfg)) != 0)
		return rc;
	ea.cfg = cfg;
	ea.progress = isatty(STDERR_FILENO);
	if ((rc = ea_keys_from_config(&ea)) == 0) {
		if (!strcmp(cmd, "verify"))
			rc = ea_cmd_verify(&ea, argc, argv);
		else if (!strcmp(cmd, "prove"))
			rc = ea_cmd_prove(&ea, argc, argv);
		else if (argc == 0)
			rc = ea_cmd_checkpoints(&ea);
		else
			rc = EA_EXIT_USAGE;
	}
	ea_close(&ea);
	sodium_memzero(&ea, sizeof(ea));
	eirc_config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	int i = 1, rc;

	if (sodium_init() < 0) {
		fprintf(stderr, "eirc-archive: cannot initialise libsodium\n");
		return EA_EXIT_USAGE;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("eirc-archive %s\n", EIRC_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--check-config") && i + 1 < argc)
			return eirc_config_check_main(argv[i + 1],
						      &(eirc_config_vars_t){.keys = archive_keys},
						      stdout, stderr);
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config = argv[++i];
			continue;
		}
		fputs(usage, stderr);
		return EA_EXIT_USAGE;
	}
	if (i == argc) {
		fputs(usage, stderr);
		return EA_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "keygen"))
		rc = cmd_keygen(argc - i - 1, argv + i + 1);
	else if (!strcmp(argv[i], "check-proof"))
		rc = ea_cmd_check_proof(argc - i - 1, argv + i + 1);
	else if (!strcmp(argv[i], "verify") || !strcmp(argv[i], "prove") ||
		 !strcmp(argv[i], "checkpoints"))
		rc = run(config, argv[i], argc - i - 1, argv + i + 1);
	else {
		fputs(usage, stderr);
		rc = EA_EXIT_USAGE;
	}
	return rc;
}
