#!/usr/bin/env bash
# The tree's own rules, checked on every test run (ctest: tree_rules):
#   1. every C file is formatted by clang-format (.clang-format at the root);
#   2. no daemon includes another daemon's folder, the libraries at the
#      bottom (common/, config/, archive/) include no daemon, and nothing
#      under scripts/ includes tests/ (docs/architecture.md, "The layers");
#   3. lws_create_context and curl_easy_init each appear in one production
#      file (common/http_server.c, common/http_client.c).
# Prints each breach and exits 1 when there is one.
set -uo pipefail
cd "$(dirname "$0")/.."

bad=0
breach() {
	echo "tree_rules: $*" >&2
	bad=1
}

daemons=(auth gateway irc-client logger-bot history-bridge)
prod=(common config archive "${daemons[@]}" scripts)

# Tracked files when this is a git checkout, else every file below.
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- "$@"
	else
		find "$@" -type f
	fi
}

if ! command -v clang-format >/dev/null; then
	breach "clang-format is not installed (scripts/install-deps.sh installs it)"
else
	# in batches, two at once: one clang-format per file took 90 s of the
	# 120 s this test may take on a loaded 2-core machine
	out=$(files '*.c' '*.h' | tr '\n' '\0' |
		xargs -0 -r -n 64 -P 2 clang-format --dry-run -Werror 2>&1)
	rc=$?
	unformatted=$(printf '%s\n' "$out" |
		sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' |
		sort -u)
	for f in $unformatted; do
		breach "$f is not clang-formatted (run: clang-format -i $f)"
	done
	if [ "$rc" -ne 0 ] && [ -z "$unformatted" ]; then
		breach "clang-format failed: $(printf '%s\n' "$out" | head -3)"
	fi
fi

# include_breaches <folder> <forbidden folder...>
include_breaches() {
	local dir=$1 f hits
	shift
	for f in "$@"; do
		hits=$(grep -rn --include='*.c' --include='*.h' "#include \"$f/" "$dir" 2>/dev/null)
		[ -z "$hits" ] || breach "$dir includes $f/:"$'\n'"$hits"
	done
}
for d in "${daemons[@]}"; do
	others=()
	for o in "${daemons[@]}" tests; do [ "$o" = "$d" ] || others+=("$o"); done
	include_breaches "$d" "${others[@]}"
done
for d in common config archive scripts; do
	include_breaches "$d" "${daemons[@]}" tests
done

# only_in <symbol> <file>
only_in() {
	local hits
	hits=$(grep -rl --include='*.c' "$1" "${prod[@]}" 2>/dev/null | sort)
	[ "$hits" = "$2" ] || breach "$1 must appear only in $2, found in: $(echo $hits)"
}
only_in lws_create_context common/http_server.c
only_in curl_easy_init common/http_client.c

exit $bad
