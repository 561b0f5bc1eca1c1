#!/usr/bin/env bash
# Recreate tests/data/*.nl: make known sockets in a fresh network namespace
# and capture the raw sock_diag replies. Run as root from the top of the
# tree: tests/tools/capture.sh BUILD (BUILD holds tools/nlcapture).
set -euo pipefail

build=${1:?usage: capture.sh BUILD}
cap="$build/tools/nlcapture"
data=tests/data
ns="sw-capture-$$"
udir=/tmp/sockwatch-capture
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$udir"
}
trap cleanup EXIT

[ -x "$cap" ] || { echo "capture: build $cap first" >&2; exit 1; }
rm -rf "$udir"
mkdir -p "$udir"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 198.18.0.1/32 dev lo
ip -n "$ns" addr add 198.18.0.2/32 dev lo
ip -n "$ns" addr add 2001:db8::1/128 dev lo

ip netns exec "$ns" python3 tests/tools/capture-sockets.py "$udir" \
    "$udir/manifest" &
pid=$!
for _ in $(seq 100); do
	[ -e "$udir/manifest" ] && break
	kill -0 "$pid" || { echo "capture: socket script died" >&2; exit 1; }
	sleep 0.1
done
[ -e "$udir/manifest" ] || { echo "capture: timed out" >&2; exit 1; }

for kind in tcp4 tcp6 udp4 udp6 unix; do
	ip netns exec "$ns" "$cap" "$kind" "$data/$kind.nl"
done
cp "$udir/manifest" "$data/manifest"
# For reference: what ss says about the same sockets.
ip netns exec "$ns" ss -tuaxne 2>/dev/null | sed "s/ *$//" > "$data/ss.txt"
