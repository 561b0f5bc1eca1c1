#!/usr/bin/env bash
# Run every libFuzzer target given for a few seconds over a copy of its
# corpus (tests/fuzz/corpus_NAME, if any), so that the tree's corpora stay
# as committed. A crash, leak or timeout fails; its input is kept in
# $SW_FUZZ_ARTIFACTS (default: build/fuzz/artifacts). Usage:
#   tests/fuzz/smoke.sh SECONDS build/fuzz/fuzz_NAME...
set -u
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
art=${SW_FUZZ_ARTIFACTS:-build/fuzz/artifacts}
mkdir -p "$art"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
for bin in "$@"; do
	name=${bin##*/fuzz_}
	rm -rf "${tmp:?}/$name"
	mkdir -p "$tmp/$name"
	if [ -d "$here/corpus_$name" ]; then
		cp "$here/corpus_$name"/* "$tmp/$name/"
	fi
	# stdin closed: an input naming /dev/stdin must not wait for a tty.
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$art/$name-" \
	    "$tmp/$name" </dev/null >"$tmp/$name.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$tmp/$name.log")
		echo "fuzz: $name: ${runs:-?} runs in ${secs} s, no finding"
		pass=$((pass + 1))
	else
		tail -n 40 "$tmp/$name.log" >&2
		echo "fuzz: FAILED: $name (input kept in $art/)" >&2
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
