#!/usr/bin/env bash
# Browser end-to-end tests of the web client, as a new user meets it: the
# README's run command (scripts/run-stack.sh) brings up the whole stack on
# a fresh data folder, a second user is added with the command the README
# documents, and headless Chromium (Debian's, driven by playwright-core)
# opens the printed URL. Screenshots go to $EIRC_BROWSER_ARTIFACTS
# (default build-logs/browser/).
#
# The stack uses config/eirc.yaml's ports (8080-8083, ...), so it cannot
# run beside a developer's own stack; it says so instead of failing late.
# Output ends with node's TAP summary ("# pass N", "# fail N").
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
artifacts=${EIRC_BROWSER_ARTIFACTS:-$root/build-logs/browser}
mkdir -p "$artifacts"
work=$(mktemp -d /tmp/eirc-browser-XXXXXX)
chmod 0711 "$work" # PostgreSQL runs as its own user and must get through
stack=
cleanup() {
	if [ -n "$stack" ] && kill -0 "$stack" 2>/dev/null; then
		kill -INT "$stack"
		for _ in $(seq 1 300); do kill -0 "$stack" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$stack" 2>/dev/null || true
	fi
	cp "$work"/stack.log "$artifacts"/ 2>/dev/null || true
	cp "$work"/var/*.log "$artifacts"/ 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for port in 8080 8081 8082 8083; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "not ok: port $port is in use (a local stack running?); stop it to run the browser tests"
		exit 1
	fi
done

# playwright-core 1.64 needs Node.js >= 20; Debian 12's nodejs package is 18.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "not ok: Node.js >= 20 needed (found ${node_major}); install it (e.g. NodeSource) or set EIRC_SKIP_BROWSER=1"
	exit 1
fi
(cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })

# The README's first command, on a fresh data folder.
setsid scripts/run-stack.sh --data-dir "$work/var" >"$work/stack.log" 2>&1 &
stack=$!
for _ in $(seq 1 3000); do
	grep -q 'Press Ctrl-C to stop' "$work/stack.log" && break
	kill -0 "$stack" 2>/dev/null || break
	sleep 0.2
done
if ! grep -q 'Press Ctrl-C to stop' "$work/stack.log"; then
	tail -50 "$work/stack.log"
	echo "not ok: the stack did not come up"
	exit 1
fi
url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/' "$work/stack.log" | head -1)
pass=$(sed -nE "s/.*sign in as 'demo' with password '([^']+)'.*/\1/p" "$work/stack.log" | head -1)
[ -n "$url" ] && [ -n "$pass" ] || { cat "$work/stack.log"; echo "not ok: no URL or credentials printed"; exit 1; }

# A second user, with the command the README gives.
bob_pass=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
(
	set -a
	. "$work/var/secrets.env"
	set +a
	printf '%s\n' "$bob_pass" | build/auth/eirc-auth --config config/eirc.yaml user add bob \
		--display-name Bob --password-stdin >/dev/null
)

irc_port=$(grep -oE 'InspIRCd +127\.0\.0\.1:[0-9]+' "$work/stack.log" | grep -oE '[0-9]+$' | head -1)
export EIRC_IRC_PORT=${irc_port:-16667}
export EIRC_URL=$url EIRC_USER1=demo EIRC_PASS1=$pass EIRC_USER2=bob EIRC_PASS2=$bob_pass
export EIRC_BROWSER_ARTIFACTS=$artifacts
# for eirc-auth's CLI in the tests (an administrator disabling an account)
export EIRC_ROOT=$root EIRC_SECRETS_ENV=$work/var/secrets.env
cd tests/browser
node --test --test-concurrency=1 --test-reporter=tap .
