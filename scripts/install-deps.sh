#!/usr/bin/env bash
# Installs every Debian package eIRC needs to build, test and run its local
# stack. Idempotent: packages already present are skipped, so a second run
# costs one dpkg query. Debian 12 (bookworm) as root, or with sudo.
set -euo pipefail

# Build and libraries (the -dev packages named by CMake's error messages);
# dpkg-dev and file for the Debian package (scripts/build-deb.sh: CPack runs
# dpkg-shlibdeps and file).
BUILD_PKGS=(
  build-essential cmake pkg-config git
  libuv1-dev libwebsockets-dev libhiredis-dev libpq-dev libyaml-dev
  libcurl4-openssl-dev libcmocka-dev libsodium-dev libseccomp-dev
  libjansson-dev libssl-dev openssl
  dpkg-dev file
)
# Real servers for the local stack and the integration tests.
SERVER_PKGS=(postgresql redis-server inspircd inspircd-dev)
# Fuzzing and sanitizers (libFuzzer ships in clang's runtime package);
# clang-format for the tree_rules test (scripts/check-tree.sh); headless
# Chromium and fonts for the browser tests (tests/browser); promtool (in
# prometheus; its server is kept from starting like the others) for the
# prometheus_rules test of dist/prometheus/eirc-alerts.yml; systemd for
# systemd-analyze security in the package_deb test; debootstrap and
# systemd-nspawn for the deployment test (tests/deploy).
TEST_PKGS=(clang libclang-rt-14-dev clang-format python3 procps iproute2 curl chromium fonts-dejavu-core
           prometheus systemd debootstrap systemd-container)

want=("${BUILD_PKGS[@]}" "${SERVER_PKGS[@]}")
case "${1:-all}" in
  run) ;;
  test|all)
    want+=("${TEST_PKGS[@]}")
    # Node.js drives the browser tests; machines that have it from elsewhere keep theirs.
    command -v npm >/dev/null || want+=(nodejs npm)
    ;;
  *) echo "usage: $0 [run|test|all]" >&2; exit 2 ;;
esac

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# The system users eIRC runs as (docs/security.md): eirc for the daemons,
# eirc-session for the irc-clients (a uid nothing else uses; eirc is in its
# group to own the history socket, mode 0660). Made once, in every mode:
# the tests run irc-clients as eirc-session too.
ensure_users() {
  getent group eirc-session >/dev/null ||
    $SUDO groupadd --system eirc-session
  id -u eirc-session >/dev/null 2>&1 ||
    $SUDO useradd --system --gid eirc-session --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin eirc-session
  id -u eirc >/dev/null 2>&1 ||
    $SUDO useradd --system --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin eirc
  id -nG eirc | tr ' ' '\n' | grep -qx eirc-session ||
    $SUDO usermod -a -G eirc-session eirc
}
ensure_users

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "eirc: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's packages start their daemons on install; the stack and the tests
# start their own copies on free ports, so keep the system ones from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
