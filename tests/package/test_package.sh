#!/usr/bin/env bash
# The Debian package (ctest package_deb): scripts/build-deb.sh builds it,
# then its metadata and contents are checked with dpkg-deb, and the packaged
# binaries are run against the packaged config with only the credentials
# their unit loads:
#   - control: Package, Version (dist/changelog's, with +git<n>.g<hash>
#     off the tagged release: cmake/EircVersion.cmake), the
#     InspIRCd pin equal to the headers the modules were built with, adduser,
#     the shared libraries dpkg-shlibdeps found; conffiles; the four
#     maintainer scripts, executable and valid sh;
#   - files: every path of the install layout (docs/deploy.md), nothing in
#     /usr/local;
#   - units: ExecStart in /usr/bin, no EnvironmentFile, Type=notify and
#     ExecReload (SIGHUP), the LoadCredential names; `systemd-analyze security` <= 2.5 each;
#   - D2: each daemon's --check-config of /etc/eirc/eirc.yaml passes with
#     exactly its unit's credentials in $CREDENTIALS_DIRECTORY and an empty
#     environment, and fails naming the secret when any one is missing.
# Usage: test_package.sh SRC WORKDIR
set -euo pipefail

src=$1
work=$2
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

mkdir -p "$work"
deb=$(bash "$src/scripts/build-deb.sh" "$src" "$work" | tail -1)
[ -f "$deb" ] || { echo "FAIL: build-deb.sh printed no .deb ($deb)" >&2; exit 1; }
arch=$(dpkg --print-architecture)
case "$(basename "$deb")" in
eirc_*_"$arch".deb) ;;
*) fail "package file name $(basename "$deb") is not eirc_<version>_$arch.deb" ;;
esac

# ---- control ----
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = eirc ] || fail "Package: $(field Package)"
version=$(field Version)
want_version=$(sed -n '1s/^eirc (\([^)]*\)).*/\1/p' "$src/dist/changelog")
if [ -e "$src/.git" ] &&
	[ "$(git -C "$src" describe --tags --exact-match --match 'v*' 2>/dev/null)" != "v$want_version" ]; then
	want_version=$want_version+git$(git -C "$src" rev-list --count HEAD).g$(git -C "$src" rev-parse --short=8 HEAD)
fi
[ "$version" = "$want_version" ] || fail "Version: $version, expected $want_version"
depends=$(field Depends)
ircd=$(sed -n 's/.*define INSPIRCD_VERSION "InspIRCd-\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' \
	/usr/include/inspircd/config.h)
next=$(echo "$ircd" | awk -F. '{print $1 "." $2 "." $3 + 1}')
for d in "adduser" "libwebsockets-evlib-uv" "inspircd (>= $ircd)" "inspircd (<< $next~)" "libuv1" "libpq5" "libwebsockets17" \
	"libstdc++6"; do
	case ", $depends," in
	*", $d"[,\ ]*) ;;
	*) fail "Depends lacks '$d': $depends" ;;
	esac
done
ctl="$work/control"
rm -rf "$ctl" && mkdir -p "$ctl"
dpkg-deb -e "$deb" "$ctl"
[ "$(cat "$ctl/conffiles")" = /etc/eirc/eirc.yaml ] || fail "conffiles: $(cat "$ctl/conffiles")"
for s in preinst postinst prerm postrm; do
	[ -x "$ctl/$s" ] || fail "maintainer script $s missing or not executable"
	sh -n "$ctl/$s" || fail "maintainer script $s: not valid sh"
done
grep -q "INSPIRCD_MIN=\"$ircd\"" "$ctl/postinst" || fail "postinst does not pin InspIRCd $ircd"

# ---- files ----
list="$work/contents"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' >"$list"
for p in /usr/bin/eirc-auth /usr/bin/eirc-gateway /usr/bin/eirc-irc-client /usr/bin/eirc-logger \
	/usr/bin/eirc-history /usr/bin/eirc-config /usr/bin/eirc-archive /usr/share/eirc/web/index.html \
	/usr/share/eirc/nginx-eirc.conf /usr/share/eirc/inspircd/inspircd.conf \
	/usr/share/eirc/inspircd/limits.conf /usr/share/eirc/redis-users.acl \
	/usr/lib/inspircd/modules/m_eirc_capture.so /usr/lib/inspircd/modules/m_eirc_account.so \
	/usr/lib/inspircd/modules/m_eirc_reveal.so /usr/lib/inspircd/modules/m_eirc_fastregister.so \
	/usr/lib/systemd/system/eirc-auth.service /usr/lib/systemd/system/eirc-gateway.service \
	/usr/lib/systemd/system/eirc-logger.service /usr/lib/systemd/system/eirc-history.service \
	/etc/eirc/eirc.yaml /usr/share/doc/eirc/changelog.Debian.gz /usr/share/doc/eirc/deploy.md \
	/usr/share/eirc/prometheus/eirc-alerts.yml; do
	grep -qx "$p" "$list" || fail "the package lacks $p"
done
if [ -d "$src/dist/sbin" ]; then
	for f in "$src"/dist/sbin/*; do
		grep -qx "/usr/sbin/$(basename "$f")" "$list" || fail "the package lacks /usr/sbin/$(basename "$f")"
	done
fi
! grep -q '^/usr/local' "$list" || fail "files under /usr/local: $(grep '^/usr/local' "$list" | head -3)"

root="$work/root"
rm -rf "$root" && mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
for b in auth gateway logger history config archive; do
	v=$("$root/usr/bin/eirc-$b" --version 2>&1 || true)
	[ "$v" = "eirc-$b $version" ] || fail "eirc-$b --version: '$v', expected 'eirc-$b $version'"
done
strings "$root/usr/lib/inspircd/modules/m_eirc_capture.so" | grep -qx "InspIRCd-$ircd.*" ||
	fail "m_eirc_capture.so is not built for InspIRCd $ircd"

# ---- units, and D2 through the packaged binaries ----
declare -A want_creds=(
	[auth]="EIRC_INTERNAL_SECRET EIRC_DB_PASSWORD EIRC_DB_OWNER_PASSWORD EIRC_REDIS_AUTH_PASSWORD EIRC_ARCHIVE_SIGNING_KEY"
	[gateway]="EIRC_WEBIRC_PASSWORD EIRC_REDIS_GATEWAY_PASSWORD EIRC_INTERNAL_SECRET EIRC_SESSION_KEY"
	[history]="EIRC_SESSION_KEY EIRC_HISTORY_CLIENT_SECRET EIRC_REDIS_HISTORY_PASSWORD EIRC_ARCHIVE_SIGNING_KEY"
	[logger]="EIRC_LOGGER_IRC_PASSWORD EIRC_REDIS_LOGGER_PASSWORD EIRC_ARCHIVE_SIGNING_KEY"
)
creds="$work/creds"
for d in auth gateway history logger; do
	unit="$root/usr/lib/systemd/system/eirc-$d.service"
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	case "$exec_start" in
	"/usr/bin/eirc-$d --config /etc/eirc/eirc.yaml") ;;
	*) fail "eirc-$d.service: ExecStart=$exec_start" ;;
	esac
	! grep -q '^EnvironmentFile=' "$unit" || fail "eirc-$d.service still reads an EnvironmentFile"
	grep -qx 'Type=notify' "$unit" || fail "eirc-$d.service: not Type=notify"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "eirc-$d.service: no ExecReload"
	names=$(sed -n 's/^LoadCredential=\([A-Z_0-9]*\):\/etc\/eirc\/credentials\/\1$/\1/p' "$unit" | sort | tr '\n' ' ')
	want=$(echo "${want_creds[$d]}" | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$names" = "$want" ] || fail "eirc-$d.service: LoadCredential $names, expected $want"
	if command -v systemd-analyze >/dev/null; then
		score=$(cd "$root/usr/lib/systemd/system" &&
			systemd-analyze security --offline=yes --no-pager "eirc-$d.service" 2>/dev/null |
			sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
		echo "eirc-$d.service: systemd-analyze security $score"
		awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }' ||
			fail "eirc-$d.service: systemd-analyze security ${score:-?} > 2.5"
	fi
	# exactly the unit's credentials, an empty environment
	rm -rf "$creds" && mkdir -p "$creds"
	for n in $names; do
		head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | head -c 43 >"$creds/$n"
		echo >>"$creds/$n"
	done
	run() { env -i CREDENTIALS_DIRECTORY="$creds" "$root/usr/bin/eirc-$d" \
		--check-config "$root/etc/eirc/eirc.yaml"; }
	run >/dev/null 2>"$work/err" ||
		fail "eirc-$d --check-config with its unit's credentials: $(head -3 "$work/err")"
	for n in $names; do
		mv "$creds/$n" "$creds/$n.away"
		if run >/dev/null 2>"$work/err" || ! grep -q "$n is not set" "$work/err"; then
			fail "eirc-$d --check-config without $n: not refused ($(head -1 "$work/err"))"
		fi
		mv "$creds/$n.away" "$creds/$n"
	done
done

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed for $deb" >&2
	exit 1
fi
echo "ok: $deb ($version)"
