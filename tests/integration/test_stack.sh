#!/usr/bin/env bash
# The local stack (eirc-stack, what scripts/run-stack.sh runs) comes up and
# goes down cleanly twice in a row on the same data folder, and after
# SIGINT (what Ctrl-C sends) nothing of it keeps running. A plain IRC
# client is refused at registration (irc.native_clients: refuse).
# logger.require_archive (true here) reaches InspIRCd's config as
# <eirccapture require="yes">.
#
# Started as root, no process of the stack but eirc-stack and its watchdog
# runs as root: PostgreSQL as postgres, Redis, InspIRCd (without
# --runasroot) and the daemons as eirc, the gateway with CAP_SETUID,
# CAP_SETGID and CAP_KILL as its only capabilities, an irc-client (a chat session is
# opened) as eirc-session with none; the data folder lets each read only
# what it needs.
#
# It uses config/eirc.yaml with the ports moved to free ones, so it can run
# beside other tests and beside a developer's own stack.
# Usage: test_stack.sh <path to eirc-stack> <build dir>
set -euo pipefail

stack_bin=$1
bin_dir=$2
src=${EIRC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d /tmp/eirc-stack-test-XXXXXX)
chmod 0711 "$work" # PostgreSQL runs as its own user and must get through
pid= chat=
cleanup() {
	[ -n "$chat" ] && kill "$chat" 2>/dev/null || true
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	[ -n "${KEEP_STACK_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
pg=$(free_port) rd=$(free_port) irc=$(free_port) http=$(free_port) internal=$(free_port) gw=$(free_port)
hist=$(free_port)
sed -e "s/port: 15432/port: $pg/; s/port: 16379/port: $rd/; s/port: 16667 /port: $irc /" \
	-e "s/listen_port: 8080 /listen_port: $http /; s/internal_listen_port: 8082/internal_listen_port: $internal/" \
	-e "s/listen_port: 8081 /listen_port: $gw /; s#auth_internal_url: http://127.0.0.1:8082#auth_internal_url: http://127.0.0.1:$internal#" \
	-e "s#spill_dir: var/logger-spill#spill_dir: $work/var/logger-spill#" \
	-e "s#witness_file: var/witness.log#witness_file: $work/var/witness.log#" \
	-e "s#socket_path: var/run/eirc-history.sock#socket_path: $work/var/run/eirc-history.sock#" \
	-e "s/listen_port: 8083 /listen_port: $hist /" \
	-e "s/require_archive: false /require_archive: true /" \
	-e "s#introspect_url: http://127.0.0.1:8080/#introspect_url: http://127.0.0.1:$http/#" \
	"$src/config/eirc.yaml" >"$work/eirc.yaml"
for p in "port: $irc " "listen_port: $http " "internal_listen_port: $internal" "listen_port: $gw " \
	"auth_internal_url: http://127.0.0.1:$internal" "listen_port: $hist " \
	"introspect_url: http://127.0.0.1:$http/" "require_archive: true "; do
	grep -q "$p" "$work/eirc.yaml" || { echo "could not move a port ($p)"; exit 1; }
done
secret() { head -c 18 /dev/urandom | base64 | tr "+/" "-_"; }
export EIRC_WEBIRC_PASSWORD=$(secret) EIRC_INTERNAL_SECRET=$(secret) EIRC_DB_PASSWORD=$(secret)
export EIRC_DB_OWNER_PASSWORD=$(secret) EIRC_REDIS_PASSWORD=$(secret)
export EIRC_REDIS_AUTH_PASSWORD=$(secret) EIRC_REDIS_GATEWAY_PASSWORD=$(secret)
export EIRC_REDIS_LOGGER_PASSWORD=$(secret) EIRC_REDIS_HISTORY_PASSWORD=$(secret)
export EIRC_DEMO_PASSWORD=$(secret) EIRC_LOGGER_IRC_PASSWORD=$(secret)
export EIRC_HISTORY_CLIENT_SECRET=$(head -c 24 /dev/urandom | base64 | tr "+/" "-_")
export EIRC_SESSION_KEY=$(head -c 32 /dev/urandom | base64 | tr "+/" "-_")

# The credentials the stack prints sign in (OAuth2 password grant).
can_sign_in() {
	python3 - "$http" "$EIRC_DEMO_PASSWORD" <<'PY'
import json, sys, urllib.parse, urllib.request
port, password = sys.argv[1], sys.argv[2]
body = urllib.parse.urlencode({"grant_type": "password", "client_id": "eirc-web",
                               "username": "demo", "password": password}).encode()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/oauth/token", body, timeout=30) as r:
    sys.exit(0 if "access_token" in json.load(r) else 1)
PY
}

# The demo user's token reads #general through eirc-history's HTTP API: the
# stack created the eirc-history OAuth client with the secret it was given.
history_answers() {
	python3 - "$http" "$hist" "$EIRC_DEMO_PASSWORD" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request
port, hport, password = sys.argv[1], sys.argv[2], sys.argv[3]
body = urllib.parse.urlencode({"grant_type": "password", "client_id": "eirc-web",
                               "username": "demo", "password": password}).encode()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/oauth/token", body, timeout=30) as r:
    at = json.load(r)["access_token"]
req = urllib.request.Request(f"http://127.0.0.1:{hport}/v1/rooms/%23general/messages",
                             headers={"Authorization": "Bearer " + at})
with urllib.request.urlopen(req, timeout=30) as r:
    if "messages" not in json.load(r):
        sys.exit(1)
# the stack has no Elasticsearch: a non-auditor's export is refused for who
# asks (403), before the missing archive is named (503)
req = urllib.request.Request(f"http://127.0.0.1:{hport}/v1/export?room=%23general",
                             headers={"Authorization": "Bearer " + at})
try:
    urllib.request.urlopen(req, timeout=30)
    sys.exit(1)
except urllib.error.HTTPError as e:
    print("export as demo:", e.code, e.read().decode())
    sys.exit(0 if e.code == 403 else 1)
PY
}

# Redis asks for its password before anything (any local user could read
# and rewrite the archive without one), and takes it.
redis_locked() {
	python3 - "$rd" "$EIRC_REDIS_PASSWORD" <<'PY'
import socket, sys
port, password = int(sys.argv[1]), sys.argv[2]
def ask(cmds):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(cmds.encode())
        data = b""
        while data.count(b"\r\n") < cmds.count("\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode()
anon = ask("PING\r\nKEYS *\r\n")
authed = ask(f"AUTH {password}\r\nPING\r\n")
print("redis without a password:", anon.split("\r\n")[0])
sys.exit(0 if anon.startswith("-NOAUTH") and authed == "+OK\r\n+PONG\r\n" else 1)
PY
}

# Every daemon is connected to Redis as its own ACL user (CLIENT LIST);
# none of the users may FLUSHALL, CONFIG or DEBUG (ACL DRYRUN), and
# eirc-history's user is refused a write to #general's stream.
redis_users_confined() {
	python3 - "$rd" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
def ask(*cmds):
    out = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in
                   (x.encode() for x in c)) for c in cmds)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(out)
        f = s.makefile("rb")
        replies = []
        for _ in cmds:
            line = f.readline()
            if line[:1] == b"$" and int(line[1:]) >= 0:
                line = f.read(int(line[1:]) + 2)
            replies.append(line.decode(errors="replace").strip())
        return replies
users = {"AUTH": "eirc-auth", "GATEWAY": "eirc-gateway", "LOGGER": "eirc-logger",
         "HISTORY": "eirc-history"}
admin = ["AUTH", os.environ["EIRC_REDIS_PASSWORD"]]
clients = ask(admin, ["CLIENT", "LIST"])[1]
bad = 0
for d, u in users.items():
    if f" user={u} " not in clients:
        print(f"no connection of {u}:\n{clients}")
        bad = 1
    for cmd in (["FLUSHALL"], ["CONFIG", "GET", "*"], ["DEBUG", "SLEEP", "0"], ["KEYS", "*"]):
        r = ask(admin, ["ACL", "DRYRUN", u] + cmd)[1]
        if r == "+OK":
            print(f"{u} may {' '.join(cmd)}")
            bad = 1
chan = "eirc:{p%d}:history:eirc:#general"
me = ["AUTH", "eirc-history", os.environ["EIRC_REDIS_HISTORY_PASSWORD"]]
for k in range(16):
    r = ask(me, ["XADD", chan % k, "*", "forged", "1"])
    if r[0] != "+OK" or not r[1].startswith("-NOPERM"):
        print("eirc-history writes a channel's stream:", r)
        bad = 1
print("redis users:", "confined" if not bad else "NOT confined")
sys.exit(bad)
PY
}

# irc.native_clients: refuse (config/eirc.yaml): a plain IRC client that
# says it is alice (issue 25, route 2) gets ERROR at registration, no 001.
plain_irc_refused() {
	python3 - "$irc" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"NICK alice\r\nUSER u1 0 * :alice\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
text = data.decode(errors="replace")
print("plain IRC client:", [l for l in text.split("\r\n") if l.startswith("ERROR")])
sys.exit(0 if " 001 " not in text and "this server admits only eIRC sessions" in text else 1)
PY
}

# eirc-logger sent logger.irc_password: InspIRCd gave it the capture class,
# so m_eirc_capture joins it into a channel the moment one is created (here
# by a probe that registers as the irc-client does, WEBIRC'd: the only way
# in with irc.native_clients: refuse, besides the capture password, and a
# capture bot creates no channel).
logger_captures() {
	python3 - "$irc" "$EIRC_WEBIRC_PASSWORD" <<'PY'
import socket, sys
port, password = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(f"WEBIRC {password} eirc 198.51.100.7 198.51.100.7\r\nNICK stackprobe\r\n"
          "USER u999999 0 * :probe\r\nJOIN #stack-probe\r\n".encode())
line = ""
try:
    for raw in s.makefile("rb"):
        line = raw.decode(errors="replace").rstrip("\r\n")
        if line.startswith(":eirc-logger!") and " JOIN " in line and "#stack-probe" in line:
            sys.exit(0)
        if line.startswith("ERROR"):
            break
except socket.timeout:
    pass
print("eirc-logger not joined into #stack-probe; last line:", line)
sys.exit(1)
PY
}

# Any process whose command line names the data folder: servers, watchdog.
leftovers() { pgrep -f -- "$work/var" || true; }

# A chat session through the gateway, held open until killed: prints
# "registered" once its irc-client has registered at InspIRCd (001).
chat_session() {
	python3 - "$http" "$gw" "$EIRC_DEMO_PASSWORD" <<'PY'
import base64, json, os, socket, sys, time, urllib.parse, urllib.request
port, gport, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = urllib.parse.urlencode({"grant_type": "password", "client_id": "eirc-web",
                               "username": "demo", "password": password}).encode()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/oauth/token", body, timeout=30) as r:
    at = json.load(r)["access_token"]
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/chat-token", b"",
                             headers={"Authorization": "Bearer " + at})
with urllib.request.urlopen(req, timeout=30) as r:
    ct = json.load(r)["chat_token"]
s = socket.create_connection(("127.0.0.1", gport), timeout=30)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /chat?chat_token={ct} HTTP/1.1\r\nHost: 127.0.0.1:{gport}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           f"Sec-WebSocket-Key: {key}\r\nOrigin: http://127.0.0.1:8080\r\n"
           "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n").encode())
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("gateway closed the upgrade")
    data += chunk
head, data = data.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("no 101: " + head.decode(errors="replace"))
def need(n):
    global data
    while len(data) < n:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("session closed before 001")
        data += chunk
while True:  # server frames: unmasked, text lines
    need(2)
    n = data[1] & 127
    off = 2
    if n == 126:
        need(4); n = int.from_bytes(data[2:4], "big"); off = 4
    elif n == 127:
        need(10); n = int.from_bytes(data[2:10], "big"); off = 10
    need(off + n)
    payload, data = data[off:off + n], data[off + n:]
    if b" 001 " in payload:
        break
print("registered", flush=True)
time.sleep(300)
PY
}

# pids of every process below $1.
descendants() {
	local all todo=("$1") p c
	all=$(ps -e -o pid=,ppid=)
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		for c in $(awk -v p="$p" '$2 == p { print $1 }' <<<"$all"); do
			echo "$c"
			todo+=("$c")
		done
	done
}

status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# As root: who runs each process of the stack, with which capabilities
# (a process that ended meanwhile, a PostgreSQL backend, is skipped).
users_checked() {
	local n_client=0 p comm ids user want caps
	for p in $(descendants "$pid"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		ids=$(status_field "$p" Uid) # real, effective, saved, filesystem: all one
		[ -n "$ids" ] || continue
		[ "$(awk '/^Uid:/ { print ($2 == $3 && $3 == $4 && $4 == $5) }' "/proc/$p/status")" = 1 ] ||
			{ echo "not ok: $comm (pid $p) has mixed uids: $(grep ^Uid: "/proc/$p/status")"; return 1; }
		user=$(getent passwd "$ids" | cut -d: -f1)
		caps=0000000000000000
		case $comm in
		eirc-watchdog) want=root caps= ;; # the launcher's: stops the servers
		postgres) want=postgres ;;
		redis-server | inspircd | eirc-auth | eirc-logger | eirc-history) want=eirc ;;
		eirc-gateway) want=eirc caps=00000000000000e0 ;; # CAP_KILL, CAP_SETUID, CAP_SETGID
		eirc-irc-client) want=eirc-session n_client=$((n_client + 1)) ;;
		*)
			echo "not ok: an unexpected process in the stack: $p $comm ($user)"
			return 1
			;;
		esac
		[ "$user" = "$want" ] ||
			{ echo "not ok: $comm (pid $p) runs as $user, not $want"; return 1; }
		[ -z "$caps" ] || [ "$(status_field "$p" CapEff)" = "$caps" ] ||
			{ echo "not ok: $comm (pid $p) has capabilities $(status_field "$p" CapEff), not $caps"; return 1; }
		if [ "$comm" = eirc-irc-client ]; then
			[ "$(status_field "$p" CapPrm)$(status_field "$p" CapAmb)" = "$caps$caps" ] ||
				{ echo "not ok: an irc-client may gain capabilities: $(grep ^Cap "/proc/$p/status")"; return 1; }
		fi
		if [ "$comm" = inspircd ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- --runasroot; then
			echo "not ok: InspIRCd runs with --runasroot: $(tr '\0' ' ' <"/proc/$p/cmdline")"
			return 1
		fi
	done
	[ "$n_client" -ge 1 ] || { echo "not ok: no irc-client runs for the open session"; return 1; }
}

# As root: the data folder lets each read only what it needs.
data_checked() {
	local v=$work/var f
	as() { runuser -u "$1" -- "${@:2}" 2>/dev/null; }
	for f in "$v"/*.log; do
		[ "$(stat -c %a "$f")" = 600 ] || { echo "not ok: $f is mode $(stat -c %a "$f")"; return 1; }
	done
	for f in postgres.password eirc-auth.log; do
		! as eirc cat "$v/$f" >/dev/null || { echo "not ok: eirc reads $v/$f"; return 1; }
	done
	! as eirc ls "$v/postgres" >/dev/null || { echo "not ok: eirc reads $v/postgres"; return 1; }
	for f in redis inspircd; do
		as eirc ls "$v/$f" >/dev/null || { echo "not ok: eirc cannot read its $v/$f"; return 1; }
		! as eirc-session ls "$v/$f" >/dev/null ||
			{ echo "not ok: eirc-session reads $v/$f"; return 1; }
	done
	! as nobody stat "$v/run/eirc-history.sock" >/dev/null ||
		{ echo "not ok: nobody gets through to the history socket's folder"; return 1; }
	as eirc-session stat "$v/run/eirc-history.sock" >/dev/null ||
		{ echo "not ok: eirc-session cannot get to the history socket"; return 1; }
	[ "$(stat -c %U:%a "$v/logger-spill")" = eirc:700 ] ||
		{ echo "not ok: logger-spill is $(stat -c %U:%a "$v/logger-spill")"; return 1; }
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Everything listens on 127.0.0.1 only: 127.0.0.2 (loopback too, on every
# Linux host) and the machine's own non-loopback addresses are refused.
port_refuses() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
elsewhere="127.0.0.2 $(hostname -I 2>/dev/null || true)"

for round in 1 2; do
	"$stack_bin" --config "$work/eirc.yaml" --data-dir "$work/var" --bin-dir "$bin_dir" >"$work/out-$round.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		grep -q 'Press Ctrl-C to stop' "$work/out-$round.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'Press Ctrl-C to stop' "$work/out-$round.log"; then
		cat "$work/out-$round.log"
		echo "not ok: round $round: the stack did not come up"
		exit 1
	fi
	for p in "$pg" "$rd" "$irc" "$http" "$internal" "$gw" "$hist"; do
		port_answers "$p" || { echo "not ok: round $round: nothing on port $p"; exit 1; }
		for a in $elsewhere; do
			port_refuses "$a" "$p" ||
				{ echo "not ok: round $round: port $p answers on $a, not only on 127.0.0.1"; exit 1; }
		done
	done
	[ "$(curl -s "http://127.0.0.1:$gw/healthz")" = ok ] ||
		{ echo "not ok: round $round: eirc-gateway does not answer /healthz"; exit 1; }
	grep -q "ws://127.0.0.1:$gw/chat" "$work/out-$round.log" ||
		{ cat "$work/out-$round.log"; echo "not ok: round $round: no gateway URL printed"; exit 1; }
	grep -q "sign in as 'demo' with password '$EIRC_DEMO_PASSWORD'" "$work/out-$round.log" ||
		{ cat "$work/out-$round.log"; echo "not ok: round $round: no credentials printed"; exit 1; }
	can_sign_in || { echo "not ok: round $round: the demo user cannot sign in"; exit 1; }
	history_answers || { echo "not ok: round $round: eirc-history's HTTP API refused"; exit 1; }
	redis_locked || { echo "not ok: round $round: Redis answers without its password"; exit 1; }
	plain_irc_refused || { echo "not ok: round $round: a plain IRC client registered"; exit 1; }
	redis_users_confined || { echo "not ok: round $round: a daemon's Redis user can do more than its part"; exit 1; }
	logger_captures || { echo "not ok: round $round: eirc-logger is not in InspIRCd's capture class"; exit 1; }
	grep -rqs --include=inspircd.conf 'eirccapture require="yes"' "$work/var" ||
		{ echo "not ok: round $round: logger.require_archive not rendered into <eirccapture>"; exit 1; }
	if [ "$(id -u)" = 0 ]; then
		chat_session >"$work/chat-$round.log" 2>&1 &
		chat=$!
		for _ in $(seq 1 300); do
			grep -q registered "$work/chat-$round.log" && break
			kill -0 "$chat" 2>/dev/null || break
			sleep 0.1
		done
		grep -q registered "$work/chat-$round.log" ||
			{ cat "$work/chat-$round.log"; echo "not ok: round $round: no chat session"; exit 1; }
		users_checked || { ps -o pid,user,comm,args --ppid "$pid"; exit 1; }
		kill "$chat"
		wait "$chat" 2>/dev/null || true
		data_checked || exit 1
		echo "ok: round $round: no root but eirc-stack and its watchdog, each user's folders its own"
	else
		echo "ok: round $round: not root, every process runs as $(id -un) (user checks skipped)"
	fi
	[ -n "$(leftovers)" ] || { echo "not ok: round $round: no server process found"; exit 1; }

	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	pid=
	if [ "$status" -ne 0 ]; then
		cat "$work/out-$round.log"
		echo "not ok: round $round: exit status $status after SIGINT"
		exit 1
	fi
	sleep 0.2
	if [ -n "$(leftovers)" ]; then
		ps -o pid,cmd -p "$(leftovers | tr '\n' ',' | sed 's/,$//')"
		echo "not ok: round $round: processes left after SIGINT"
		exit 1
	fi
	for p in "$pg" "$rd" "$irc" "$http" "$internal" "$gw" "$hist"; do
		if port_answers "$p"; then echo "not ok: round $round: port $p still open"; exit 1; fi
	done
	echo "ok: round $round: up, answered on $pg $rd $irc $http $internal $gw, signed in, down, nothing left"
	# The cluster's system identifier (first 8 bytes of pg_control), new at each initdb.
	sysid[round]=$(od -An -tx8 -N8 "$work/var/postgres/global/pg_control")
done
# The data folder was reused: PostgreSQL was initialised once.
[ -n "${sysid[1]}" ] && [ "${sysid[1]}" = "${sysid[2]}" ] ||
	{ echo "not ok: PostgreSQL was initialised again (${sysid[1]} -> ${sysid[2]})"; exit 1; }
echo "ok: stack up and down twice"
