#!/usr/bin/env bash
# Installs what is missing, builds, and runs every eIRC test:
#   1. the unit and integration tests (real PostgreSQL, Redis, InspIRCd),
#      built with -Werror;
#   2. the web client in headless Chromium against the whole stack, started
#      with the README's run command (tests/browser/run.sh);
#   3. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   4. each libFuzzer target for EIRC_FUZZ_SECONDS (default 60) on its
#      corpus, after replaying the kept crash regressions.
# Ends with one summary line; exits non-zero if any step failed.
#
# Environment: EIRC_FUZZ_SECONDS, EIRC_JOBS (parallel build/test jobs),
# EIRC_SKIP_ASAN=1 / EIRC_SKIP_FUZZ=1 / EIRC_SKIP_BROWSER=1 for a quick local run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${EIRC_JOBS:-$(nproc)}
fuzz_seconds=${EIRC_FUZZ_SECONDS:-60}
logdir="$root/build-logs"
mkdir -p "$logdir"

passed=0
failed=0
failures=()

step() { printf '\n==== %s ====\n' "$*"; }

fail() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "FAILED: $1" >&2
}

bash scripts/install-deps.sh test || { echo "dependency install failed" >&2; exit 1; }

# build_and_test <dir> <label> [cmake args...]
build_and_test() {
	local dir=$1 label=$2
	shift 2
	step "build ($label)"
	if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$logdir/$label-configure.log" 2>&1; then
		cat "$logdir/$label-configure.log"
		fail "configure ($label)"
		return
	fi
	if ! cmake --build "$dir" -j "$jobs" >"$logdir/$label-build.log" 2>&1; then
		grep -E 'error|Error' -A5 "$logdir/$label-build.log" | head -60
		fail "build ($label)"
		return
	fi
	step "tests ($label)"
	ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600 2>&1 |
		tee "$logdir/$label-ctest.log"
	local summary
	summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$logdir/$label-ctest.log" | tail -1)
	if [ -z "$summary" ]; then
		fail "tests ($label): no summary from ctest"
		return
	fi
	local nfail ntotal
	nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
	ntotal=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
	passed=$((passed + ntotal - nfail))
	if [ "$nfail" -ne 0 ]; then
		failed=$((failed + nfail))
		failures+=("tests ($label): $nfail of $ntotal")
	fi
}

build_and_test build plain

# The web client in headless Chromium against the whole stack, started with
# the README's run command (tests/browser/run.sh). Counted per test.
browser_tests() {
	step "browser tests (web client, headless Chromium)"
	bash tests/browser/run.sh 2>&1 | tee "$logdir/browser.log"
	local p f
	p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$logdir/browser.log" | tail -1)
	f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$logdir/browser.log" | tail -1)
	if [ -z "$p" ] || [ -z "$f" ]; then
		fail "browser tests: they did not run (see build-logs/browser.log)"
		return
	fi
	passed=$((passed + p))
	if [ "$f" -ne 0 ]; then
		failed=$((failed + f))
		failures+=("browser tests: $f failed (screenshots and logs in build-logs/browser/)")
	fi
}
if [ "${EIRC_SKIP_BROWSER:-0}" != 1 ]; then
	browser_tests
fi

if [ "${EIRC_SKIP_ASAN:-0}" != 1 ]; then
	# halt_on_error keeps a sanitizer finding from scrolling past as a warning.
	export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	build_and_test build-asan asan -DEIRC_SANITIZE=address,undefined
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

run_fuzzers() {
	local dir=build-fuzz
	step "build (fuzz)"
	if ! CC=clang cmake -S . -B "$dir" -DEIRC_FUZZ=ON -DEIRC_TESTS=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$logdir/fuzz-configure.log" 2>&1 ||
		! cmake --build "$dir" -j "$jobs" >"$logdir/fuzz-build.log" 2>&1; then
		tail -n 40 "$logdir/fuzz-configure.log" "$logdir/fuzz-build.log"
		fail "build (fuzz)"
		return
	fi
	local t
	while read -r t; do
		[ -n "$t" ] || continue
		step "fuzz $t (${fuzz_seconds}s)"
		local seeds="tests/fuzz/corpus/$t" regress="tests/fuzz/regressions/$t"
		local work="$dir/corpus/$t" artifacts="$dir/artifacts/$t/"
		mkdir -p "$work" "$artifacts"
		if [ -d "$regress" ] && ls "$regress"/* >/dev/null 2>&1; then
			if ! "$dir/fuzz/$t" -runs=1 "$regress"/* >"$logdir/fuzz-$t-regress.log" 2>&1; then
				tail -n 40 "$logdir/fuzz-$t-regress.log"
				fail "fuzz $t: regression input"
				continue
			fi
		fi
		# New inputs go to the work corpus; the seeds in the tree stay as
		# they are. -rss_limit_mb bounds memory; one core per fuzzer.
		if "$dir/fuzz/$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -timeout=10 \
			-artifact_prefix="$artifacts" -print_final_stats=1 "$work" "$seeds" \
			>"$logdir/fuzz-$t.log" 2>&1; then
			grep -E '^stat::number_of_executed_units|^Done' "$logdir/fuzz-$t.log" | tr '\n' ' '
			echo
			passed=$((passed + 1))
		else
			tail -n 60 "$logdir/fuzz-$t.log"
			echo "crash input kept in $artifacts; add it to $regress/ once fixed" >&2
			fail "fuzz $t"
		fi
	done <"$dir/fuzz-targets.txt"
}

if [ "${EIRC_SKIP_FUZZ:-0}" != 1 ]; then
	run_fuzzers
fi

echo
if [ "$failed" -ne 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
# One plain closing line, counting ctest tests of every build and each
# fuzz target that ran clean.
echo "eirc: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
