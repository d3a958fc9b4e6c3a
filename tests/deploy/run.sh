#!/usr/bin/env bash
# The deployment test: docs/deploy.md done on a real systemd host.
#
# A Debian 12 root made by debootstrap is booted with systemd-nspawn -b
# (--register=no --keep-unit, a private network: its loopback is its own)
# and entered with nsenter. In it, exactly as docs/deploy.md says: the
# previous release's package installed with apt, the setup command run,
# TLS from a test CA; then, through nginx over HTTPS and WSS only
# (tests/deploy/deploy_check, run in the container's network namespace):
#
#   1. two users chat (a room and a direct message) on the previous release;
#   2. the upgrade to this tree's package: the pre-upgrade backup made, the
#      edited config kept, the message of step 1 still replayed;
#   3. chat, CHATHISTORY, the HTTP history API and an auditor's export;
#      the upgrade's setup gave the config its integrity section, and
#      eirc-archive verify finds the archive intact (again after 6 and 7);
#   4. systemd-analyze security <= 2.5 for every eIRC unit, Type=notify,
#      the daemons as eirc, Debian's servers each as its own user;
#   5. one irc-client killed with SIGKILL: the gateway and the other
#      sessions go on;
#   6. a reboot of the container: everything back, history intact;
#   7. eirc-backup, a wipe of PostgreSQL, Redis and the spill, eirc-restore:
#      sign-in and history intact.
#
# Elasticsearch, which no reachable registry ships, is tests/es/es_server.py
# listening on the container's loopback (run from the host in its network
# namespace), as in every other test of the shipper.
#
# Usage: run.sh <deploy_check> ; root; needs debootstrap, systemd-nspawn
# (systemd-container), dpkg-dev and network access to Debian's mirror (the
# root and the packages' dependencies are downloaded before the boot; the
# container itself has no network). EIRC_DEPLOY_CACHE (default
# /var/cache/eirc-deploy) keeps the base root and the downloaded .debs
# between runs; KEEP_DEPLOY_TEST=1 keeps the work folder;
# EIRC_DEPLOY_PREVIOUS_DEB=<.deb> upgrades from that package instead of the
# last release in dist/releases.
set -euo pipefail

check_bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${EIRC_DEPLOY_CACHE:-/var/cache/eirc-deploy}
mirror=${EIRC_DEPLOY_MIRROR:-http://deb.debian.org/debian}
security=${EIRC_DEPLOY_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
host=chat.eirc.test
room='#deploy'
t0=$(date +%s)

log() { printf '[deploy %4ds] %s\n' "$(($(date +%s) - t0))" "$*"; }
die() {
	log "FAILED: $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, systemd-nspawn)"
for t in debootstrap systemd-nspawn nsenter dpkg-deb openssl python3; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps.sh test installs it)"
done

work=$(mktemp -d /var/tmp/eirc-deploy-XXXXXX)
root=$work/root
nspawn_pid= leader= es_pid=
cleanup() {
	set +e
	[ -n "$es_pid" ] && kill "$es_pid" 2>/dev/null
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		[ -n "$leader" ] && nsenter -t "$leader" -a systemctl poweroff 2>/dev/null
		for _ in $(seq 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
		kill -KILL "$nspawn_pid" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	if [ -n "${KEEP_DEPLOY_TEST:-}" ]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# ---- the packages: this tree's and the previous release's ----

# The previous release: the last line of dist/releases ("VERSION COMMIT"),
# built from that commit of this repository with its own scripts; or,
# to try a candidate, the package EIRC_DEPLOY_PREVIOUS_DEB names.
log "building this tree's package"
new_deb=$(bash "$src/scripts/build-deb.sh" "$src" "$work/debs/new" 2>"$work/build-new.log" | tail -1) ||
	{ tail -30 "$work/build-new.log"; die "scripts/build-deb.sh failed"; }
if [ -n "${EIRC_DEPLOY_PREVIOUS_DEB:-}" ]; then
	prev_deb=$EIRC_DEPLOY_PREVIOUS_DEB
else
	read -r prev_version prev_commit < <(grep -v '^#' "$src/dist/releases" | tail -1)
	[ -n "${prev_commit:-}" ] || die "dist/releases names no previous release"
	git -C "$src" cat-file -e "$prev_commit^{commit}" 2>/dev/null ||
		die "the previous release $prev_version ($prev_commit) is not in this clone's history"
	log "building the previous release $prev_version ($prev_commit)"
	mkdir -p "$work/prev-src"
	git -C "$src" archive "$prev_commit" | tar -x -C "$work/prev-src"
	prev_deb=$(bash "$work/prev-src/scripts/build-deb.sh" "$work/prev-src" "$work/debs/prev" \
		2>"$work/build-prev.log" | tail -1) ||
		{ tail -30 "$work/build-prev.log"; die "the previous release's build-deb.sh failed"; }
fi
for d in "$new_deb" "$prev_deb"; do
	[ -f "$d" ] || die "no package at '$d'"
done
new_version=$(dpkg-deb -f "$new_deb" Version)
old_version=$(dpkg-deb -f "$prev_deb" Version)
dpkg --compare-versions "$new_version" gt "$old_version" ||
	die "this tree's version $new_version is not above the previous release's $old_version"
log "packages: $(basename "$prev_deb") -> $(basename "$new_deb")"

# ---- the Debian 12 root ----

mkdir -p "$cache/archives"
base=$cache/bookworm-base.tar
if [ ! -f "$base" ]; then
	log "debootstrap Debian 12 (once; kept in $cache)"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,procps \
		bookworm "$work/base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
	tar -C "$work/base" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$work/base"
fi
mkdir -p "$root"
tar -C "$root" -xf "$base"
echo eirc-deploy >"$root/etc/hostname"
printf '127.0.0.1 localhost %s\n::1 localhost\n' "$host" >"$root/etc/hosts"
mkdir -p "$root/root/debs/new" "$root/root/debs/prev"
cp "$new_deb" "$root/root/debs/new/"
cp "$prev_deb" "$root/root/debs/prev/"

# What apt will install inside, downloaded now (the container has no
# network): both packages' dependencies and the servers on this host.
server_pkgs="postgresql redis-server nginx"
log "downloading the dependencies into the root's apt cache"
cp -a "$cache/archives/." "$root/var/cache/apt/archives/" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
	"$mirror" "$mirror" "$security" >"$root/etc/apt/sources.list"
{
	chroot "$root" apt-get update -q &&
		chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q --download-only &&
		for d in prev new; do
			deb=${d}_deb deb=${!deb}
			chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--download-only --no-install-recommends "/root/debs/$d/$(basename "$deb")" $server_pkgs || exit 1
		done
} >"$work/download.log" 2>&1 || { tail -20 "$work/download.log"; die "downloading the dependencies failed"; }
# eIRC's own packages are installed from /root/debs (apt refuses a local
# package that also sits in its cache)
rm -f "$root/var/cache/apt/archives/"eirc_*.deb
cp -a "$root/var/cache/apt/archives/"*.deb "$cache/archives/" 2>/dev/null || true

# ---- the host ----

boot() {
	systemd-nspawn -q -D "$root" -b --register=no --keep-unit --private-network \
		-M "eirc-deploy-$$" >>"$work/console.log" 2>&1 </dev/null &
	nspawn_pid=$!
	leader=
	for _ in $(seq 100); do
		leader=$(pgrep -P "$nspawn_pid" -x systemd | head -1 || true)
		[ -n "$leader" ] && break
		sleep 0.1
	done
	[ -n "$leader" ] || die "systemd-nspawn did not start (see $work/console.log)"
	local state=
	# the bus comes up a moment after systemd; --wait then waits for the jobs
	for _ in $(seq 120); do
		state=$(inside timeout 120 systemctl is-system-running --wait 2>/dev/null || true)
		[ -n "$state" ] && [ "$state" != offline ] && break
		sleep 1
	done
	case $state in
	running) ;;
	*)
		inside systemctl --failed --no-pager || true
		die "the container booted to '$state', not running"
		;;
	esac
	log "booted: systemd $state (leader pid $leader)"
}
# Runs a command on the host, as root.
inside() { nsenter -t "$leader" -a -r -w -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# deploy_check in the container's network namespace (the host's loopback), with
# what it needs.
check() {
	nsenter -t "$leader" -n -- env DEPLOY_HOST="$host" DEPLOY_ADDR=127.0.0.1 \
		DEPLOY_CA="$work/tls/ca.pem" DEPLOY_ROOM="$room" DEPLOY_ALICE_PASSWORD="$alice_pw" \
		DEPLOY_BOB_PASSWORD="$bob_pw" DEPLOY_AUDITOR=auditor \
		DEPLOY_AUDITOR_PASSWORD="$auditor_pw" "$@"
}
units=(eirc-auth eirc-gateway eirc-logger eirc-history)
all_active() {
	local u s
	for u in "${units[@]}" postgresql redis-server inspircd nginx; do
		s=$(inside systemctl is-active "$u" || true)
		[ "$s" = active ] || {
			inside journalctl -u "$u" --no-pager -n 40 || true
			die "$u is $s"
		}
	done
}
es_start() {
	nsenter -t "$leader" -n -- python3 "$src/tests/es/es_server.py" --port 9200 \
		--data "$work/es-data.json" >>"$work/es.log" 2>&1 &
	es_pid=$!
}

log "booting the container"
boot

log "apt upgrade (the host up to date first, as docs/deploy.md says)"
inside env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q >"$work/upgrade.log" 2>&1 ||
	{ tail -30 "$work/upgrade.log"; die "apt-get upgrade failed"; }
log "apt install the previous release ($old_version), PostgreSQL, Redis and nginx"
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "/root/debs/prev/$(basename "$prev_deb")" $server_pkgs >"$work/install-prev.log" 2>&1 ||
	{ tail -30 "$work/install-prev.log"; die "apt install of the previous release failed"; }

# The site's certificate, from a test CA (the operator's own, or ACME's).
mkdir -p "$work/tls"
(
	cd "$work/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=eIRC deploy test CA" \
		-keyout ca.key -out ca.pem
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" -keyout privkey.pem -out site.csr
	printf 'subjectAltName=DNS:%s\n' "$host" >site.ext
	openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile site.ext -out fullchain.pem
) >"$work/tls.log" 2>&1 || { cat "$work/tls.log"; die "the test certificate"; }
mkdir -p "$root/etc/eirc/tls"
cp "$work/tls/fullchain.pem" "$work/tls/privkey.pem" "$root/etc/eirc/tls/"
chmod 0600 "$root/etc/eirc/tls/privkey.pem"

# Elasticsearch on the host's loopback, and the config pointed at it: the
# operator's edit of the conffile, which the upgrade must keep.
es_start
sed -i -e '/^# elasticsearch:/,/^$/s/^# //' \
	-e 's#https://es1\.internal\.example\.com:9200#http://127.0.0.1:9200#' \
	-e '/tls_ca_file: \/etc\/eirc\/internal-ca.pem/d' "$root/etc/eirc/eirc.yaml"
grep -q 'http://127.0.0.1:9200' "$root/etc/eirc/eirc.yaml" ||
	die "could not point /etc/eirc/eirc.yaml at the test Elasticsearch"
mkdir -p "$root/etc/eirc/credentials"
printf 'test-api-key\n' >"$root/etc/eirc/credentials/EIRC_ES_API_KEY"
chmod 0600 "$root/etc/eirc/credentials/EIRC_ES_API_KEY"
for u in eirc-logger eirc-history; do
	mkdir -p "$root/etc/systemd/system/$u.service.d"
	printf '[Service]\nLoadCredential=EIRC_ES_API_KEY:/etc/eirc/credentials/EIRC_ES_API_KEY\n' \
		>"$root/etc/systemd/system/$u.service.d/elasticsearch.conf"
done
inside systemctl daemon-reload

log "eirc-auth setup"
inside eirc-auth setup --domain "$host" --admin admin --auditor auditor >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log"; die "eirc-auth setup failed"; }
auditor_pw=$(awk '$1 == "auditor" && $2 == "auditor" {print $3}' "$root/root/eirc-setup.txt")
[ -n "$auditor_pw" ] || die "/root/eirc-setup.txt holds no auditor password"
# a second run changes nothing
inside eirc-auth setup --domain "$host" --admin admin --auditor auditor >"$work/setup2.log" 2>&1 ||
	{ cat "$work/setup2.log"; die "a second eirc-auth setup failed"; }

# Two users and a room, with the documented commands.
alice_pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
bob_pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
for u in alice bob; do
	pw=${u}_pw
	printf '%s\n' "${!pw}" | inside env CREDENTIALS_DIRECTORY=/etc/eirc/credentials \
		eirc-auth --config /etc/eirc/eirc.yaml user add "$u" --password-stdin >/dev/null ||
		die "eirc-auth user add $u"
done
inside env CREDENTIALS_DIRECTORY=/etc/eirc/credentials eirc-auth --config /etc/eirc/eirc.yaml \
	room add "$room" --auto-join >/dev/null || die "eirc-auth room add"
all_active

before_upgrade="before the upgrade $(date +%s%N)"
log "1. chat on the previous release"
check env DEPLOY_TEXT="$before_upgrade" "$check_bin" chat

# eirc-archive verify as an operator runs it (docs/compliance.md): the
# config and the credentials as the units see them; the events just written
# are sealed and their checkpoints filed within seconds, so a few tries
archive_verified() {
	local i out
	for i in $(seq 1 12); do
		if out=$(inside env CREDENTIALS_DIRECTORY=/etc/eirc/credentials \
			eirc-archive --config /etc/eirc/eirc.yaml verify 2>&1); then
			log "   eirc-archive verify: ${out##*$'\n'}"
			return 0
		fi
		sleep 5
	done
	printf '%s\n' "$out"
	die "eirc-archive verify did not find the archive intact"
}

log "2. upgrade to $new_version"
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	-o Dpkg::Options::=--force-confold "/root/debs/new/$(basename "$new_deb")" >"$work/install-new.log" 2>&1 ||
	{ tail -30 "$work/install-new.log"; die "the upgrade failed"; }
[ "$(inside dpkg-query -W -f '${Version}' eirc)" = "$new_version" ] || die "eirc is not at $new_version"
ls "$root/var/backups/eirc/"* >/dev/null 2>&1 || die "the upgrade made no backup in /var/backups/eirc"
grep -q 'http://127.0.0.1:9200' "$root/etc/eirc/eirc.yaml" || die "the upgrade lost the config edit"
# setup again, as docs/deploy.md says after an upgrade: what the new
# version sets up is added, nothing that exists changes
inside eirc-auth setup --domain "$host" --admin admin --auditor auditor >"$work/setup3.log" 2>&1 ||
	{ cat "$work/setup3.log"; die "eirc-auth setup after the upgrade failed"; }
all_active
check env DEPLOY_TEXT="$before_upgrade" "$check_bin" replay
log "   the message from before the upgrade is replayed"

text="after the upgrade $(date +%s%N)"
log "3. chat, CHATHISTORY, HTTP history, auditor export, eirc-archive verify"
check env DEPLOY_TEXT="$text" "$check_bin" chat
check env DEPLOY_TEXT="$text" "$check_bin" replay
check env DEPLOY_TEXT="$text" "$check_bin" export
grep -q '^integrity:' "$root/etc/eirc/eirc.yaml" || die "setup left the config without its integrity section"
archive_verified

log "4. each unit: its own user, Type=notify, systemd-analyze security <= 2.5"
for u in "${units[@]}"; do
	score=$(inside systemd-analyze security --no-pager "$u.service" | sed -nE 's/.*Overall exposure level for .*: ([0-9.]+).*/\1/p')
	type=$(inside systemctl show -P Type "$u")
	user=$(inside ps -o user= -p "$(inside systemctl show -P MainPID "$u")" | tr -d ' ')
	log "   $u: exposure $score, Type=$type, runs as $user"
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
		die "$u: systemd-analyze security gives '$score', above 2.5"
	[ "$type" = notify ] || die "$u: Type=$type, not notify"
	[ "$user" = eirc ] || die "$u runs as $user, not eirc"
done
# Debian's servers, each as its own user (nginx: its workers; the master
# keeps root for port 443)
for su in postgresql@15-main:postgres redis-server:redis inspircd:irc nginx:www-data; do
	u=${su%%:*} want=${su#*:}
	pid=$(inside systemctl show -P MainPID "$u")
	[ "$u" = nginx ] && pid=$(inside pgrep -P "$pid" | head -1)
	user=$(inside ps -o user:32= -p "$pid" | tr -d ' ')
	[ "$user" = "$want" ] || die "$u runs as '$user', not $want"
done
log "   postgresql, redis-server, inspircd and nginx's workers run as postgres, redis, irc, www-data"

log "5. SIGKILL to one irc-client"
restarts=$(inside systemctl show -P NRestarts eirc-gateway)
# the kill command also checks that every irc-client runs as eirc-session
kill_cmd="! nsenter -t $leader -a ps -o user:32= -C eirc-irc-client | grep -vx eirc-session &&
	nsenter -t $leader -a pkill -KILL -n -x eirc-irc-client"
check env DEPLOY_TEXT=unused DEPLOY_KILL_CMD="$kill_cmd" "$check_bin" kill
[ "$(inside systemctl show -P NRestarts eirc-gateway)" = "$restarts" ] || die "the gateway restarted"
all_active

log "6. reboot"
inside systemctl reboot || true
rc=0
wait "$nspawn_pid" || rc=$?
[ "$rc" -eq 133 ] || die "systemd-nspawn ended with $rc after the reboot, not 133"
kill "$es_pid" 2>/dev/null || true
boot
es_start
all_active
check env DEPLOY_TEXT="$text" "$check_bin" replay
archive_verified
log "   back after the reboot, history intact"

log "7. backup, wipe, restore"
inside eirc-backup /var/backups/eirc >"$work/backup.log" 2>&1 || { cat "$work/backup.log"; die "eirc-backup"; }
snap=$(ls -d "$root"/var/backups/eirc/*/ | sort | tail -1)
snap=/var/backups/eirc/$(basename "$snap")
log "   backup in $snap"
inside systemctl stop "${units[@]}"
inside runuser -u postgres -- dropdb eirc || die "dropdb eirc"
inside systemctl stop redis-server
rm -rf "$root/var/lib/redis/"*
rm -rf "$root/var/lib/eirc/spill/"*
inside systemctl start redis-server
inside runuser -u postgres -- psql -lqt | grep -qw eirc && die "the wipe left the database"
keys=$(inside sh -c 'REDISCLI_AUTH=$(cat /etc/eirc/credentials/EIRC_REDIS_PASSWORD) redis-cli --no-auth-warning DBSIZE')
[ "$keys" = 0 ] || die "the wipe left Redis with '$keys' keys"
inside eirc-restore "$snap" >"$work/restore.log" 2>&1 || { cat "$work/restore.log"; die "eirc-restore"; }
all_active
check env DEPLOY_TEXT="$text" "$check_bin" replay
archive_verified
log "   restored: sign-in and history intact"

log "passed in $(($(date +%s) - t0)) s"
