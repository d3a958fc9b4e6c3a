/*
 * auth_setup: `eirc-auth setup`, the one command an operator runs as root
 * after `apt install ./eirc_*.deb` (docs/deploy.md, "Setup"):
 *
 *   eirc-auth setup --domain HOST --admin NICK --auditor NICK
 *                   [--config /etc/eirc/eirc.yaml] [--no-start]
 *
 * In order: the domain written into eirc.yaml in place of the package's
 * chat.example.com; the package's integrity section added to a config
 * without one (an upgrade from 0.1); every secret the config names (and
 * Redis's default user's, InspIRCd's database role's) created in
 * /etc/eirc/credentials when missing (43 random base64url characters,
 * root 0600; EIRC_ARCHIVE_SIGNING_KEY a signed-note Ed25519 key named for
 * the domain, tlog_signer_generate); PostgreSQL's
 * roles and database (peer authentication as postgres); the migrations;
 * InspIRCd's read-only role; the first admin and auditor (generated
 * passwords, printed once and written to /root/eirc-setup.txt, 0600); the
 * history bridge's OAuth client; /etc/inspircd/inspircd.conf (the
 * original kept as inspircd.conf.eirc-orig) and its LimitNOFILE drop-in;
 * Redis's ACL file for the daemons' users (an existing one: the daemons'
 * lines given this version's rules, passwords kept); the nginx site for HOST,
 * enabled; then every unit enabled and started (--no-start: enabled
 * only), and what to do next.
 *
 * Idempotent: what exists is kept and reported as kept ("exists,
 * unchanged"); a second run changes nothing.
 *
 * Two options exist for tests and image builds: --root DIR writes every
 * file under DIR and runs no systemctl; --pg-admin CONNINFO connects to
 * PostgreSQL as a superuser with that libpq string instead of as the
 * postgres user over its socket.
 *
 * Not here: the daemon (main.c) and the admin commands (auth_admin.c,
 * which setup calls for the migrations, users and client).
 */
#ifndef EIRC_AUTH_SETUP_H
#define EIRC_AUTH_SETUP_H

#include <stdio.h>

/* Most bytes of a template setup renders (/usr/share/eirc/...). */
#define AUTH_SETUP_TEMPLATE_MAX (64 * 1024)
/* Longest --domain: a DNS name. */
#define AUTH_SETUP_DOMAIN_MAX 253

/*
 * Runs `eirc-auth setup`: argv[0] is "setup". Progress to out, errors to
 * err. Returns a process exit status (0 done, 1 a step failed: the steps
 * before it are kept and a new run resumes, 2 a bad command line).
 */
int auth_setup_main(int argc, char **argv, FILE *out, FILE *err);

#endif
