#!/usr/bin/env bash
# Builds the Debian package: scripts/build-deb.sh [SRC] [OUTDIR]
#
# SRC: the source tree (default: this script's). OUTDIR (default: the
# current folder) receives eirc_<version>_<arch>.deb; the build itself is in
# OUTDIR/eirc-deb-build (kept, so a second run is incremental), configured
# with -DCMAKE_INSTALL_PREFIX=/usr, RelWithDebInfo (stripped in the
# package), no tests and no benchmarks, every binary's --version the
# package's (git describe). Prints the .deb's path last.
# Needs Debian 12's build packages (scripts/install-deps.sh: cmake,
# dpkg-dev, file, g++ and inspircd-dev for the InspIRCd modules).
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
out=$(mkdir -p "${2:-.}" && cd "${2:-.}" && pwd)
build="$out/eirc-deb-build"

# The package ships our InspIRCd modules and pins the InspIRCd they are
# built for: without inspircd-dev and g++ there is nothing to pin.
if [ ! -e /usr/include/inspircd/config.h ] || ! command -v g++ >/dev/null; then
	echo "build-deb: needs inspircd-dev and g++ (scripts/install-deps.sh)" >&2
	exit 1
fi
for tool in cmake cpack dpkg-shlibdeps file; do
	command -v "$tool" >/dev/null || {
		echo "build-deb: $tool not found (scripts/install-deps.sh)" >&2
		exit 1
	}
done

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DEIRC_TESTS=OFF -DEIRC_BENCH=OFF -DEIRC_VERSION_FROM_GIT=ON >/dev/null
cmake --build "$build" -j"${EIRC_BUILD_JOBS:-2}" >/dev/null
rm -f "$build"/package/eirc_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/package/eirc_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
	echo "build-deb: cpack made no single eirc_*.deb in $build/package" >&2
	exit 1
fi
cp "${debs[0]}" "$out/"
echo "$out/$(basename "${debs[0]}")"
