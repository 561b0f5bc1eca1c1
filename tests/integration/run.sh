#!/usr/bin/env bash
# Run every integration test (tests/integration/test_*.sh) against the
# binaries in BUILD, or only those named in SW_TESTS (test names without
# .sh, space-separated); print one summary line; fail if any failed.
set -u
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "integration: needs root (network namespaces)" >&2
	exit 1
fi
pass=0
fail=0
failed=()
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${SW_TESTS:-}" ] && [[ " $SW_TESTS " != *" $name "* ]]; then
		continue
	fi
	start=$(date +%s)
	if BUILD="$build" bash "$t" >"/tmp/sw-$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "integration: ok     $name ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "integration: FAILED $name ($(($(date +%s) - start))s); its log:"
		sed 's/^/    /' "/tmp/sw-$name.log" | tail -n 60
	fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
