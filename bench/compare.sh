#!/usr/bin/env bash
# Compares two builds of eIRC with the gateway, history and logger benches,
# in one run, interleaved (before, after, before, after), so that whatever
# else the shared machine does weighs on both alike. Each build runs its own
# bench binary against its own daemons. Timings are printed, never judged
# here: read the ratios.
#
#   bench/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS(2)]
#
# Both build folders need the targets gateway_bench history_bench
# logger_bench and the daemons (cmake --build DIR). Sizes are small enough
# for a 2-core machine (about 4 minutes a round); set EIRC_COMPARE_FULL=1
# for the sizes of docs/gateway.md, docs/history.md and docs/logger.md.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS]" >&2
	exit 2
fi
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
rounds=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${EIRC_COMPARE_FULL:-0}" = 1 ]; then
	gw_args=(--sessions 1000 --rate 1000 --seconds 30 --rounds 6 --idle 10000)
	hist_args=(--messages 1000000 --channels 100 --requests 2000)
	lg_args=(200000)
	lg_irc_args=(irc --clients 20 --channels 20 --seconds 10)
else
	gw_args=(--sessions 200 --rate 200 --seconds 10 --rounds 2 --idle 1000)
	hist_args=(--messages 200000 --channels 100 --requests 1000)
	lg_args=(100000)
	lg_irc_args=(irc --clients 10 --channels 10 --seconds 5)
fi

# run <label> <build> <bench> <args...>: the bench of that build, with that
# build's daemons.
run() {
	local label=$1 build=$2 bench=$3
	shift 3
	printf '\n===== %s: %s %s (load %s)\n' "$label" "$bench" "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"
	EIRC_BUILD_DIR="$build" "$build/bench/$bench" "$@" 2>&1 || echo "($bench exited $?)"
}

for r in $(seq 1 "$rounds"); do
	for side in before after; do
		b=$before
		[ "$side" = after ] && b=$after
		run "round $r $side" "$b" history_bench "${hist_args[@]}"
		run "round $r $side" "$b" logger_bench "${lg_args[@]}"
		run "round $r $side" "$b" logger_bench "${lg_irc_args[@]}"
		run "round $r $side" "$b" gateway_bench "${gw_args[@]}" --build-dir "$b"
	done
done
