#!/bin/bash
# Benchmark: `sockwatch sockets -t -a -p` answered by sockwatchd (through
# its exporter since privilege separation) against the same command with
# --direct, and `ss -tanp`, at N established loopback connections (2N
# sockets) in a private network namespace; for one or more builds, so that
# a tree before and after a change are measured in the same run.
#
# Usage: bench/daemon_sockets.sh BUILD [BUILD...]   (run as root)
# Environment: CONNS (default 10000, at most 8000 per mkconns.py process),
# RUNS (hyperfine runs, default 10).
# Prints a markdown table on stdout; progress on stderr.
set -euo pipefail

CONNS=${CONNS:-10000}
RUNS=${RUNS:-10}
PER_PROC=8000
here=$(cd "$(dirname "$0")/.." && pwd)
NS=swdsock-$$
WORK=$(mktemp -d /tmp/sw-dsock.XXXXXX)
PIDS=()

die() { echo "daemon_sockets.sh: $*" >&2; exit 1; }
note() { echo "daemon_sockets.sh: $*" >&2; }

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ $# -ge 1 ] || die "usage: bench/daemon_sockets.sh BUILD [BUILD...]"
for t in hyperfine jq ss; do
	command -v "$t" >/dev/null || die "$t: not installed"
done

ip netns add "$NS"
ip -n "$NS" link set lo up
left=$CONNS
port=20000
while [ "$left" -gt 0 ]; do
	n=$((left < PER_PROC ? left : PER_PROC))
	ip netns exec "$NS" python3 "$here/tests/tools/mkconns.py" "$port" "$n" \
	    "$WORK/ready.$port" &
	PIDS+=("$!")
	for ((i = 0; i < 600; i++)); do
		[ -s "$WORK/ready.$port" ] && break
		sleep 0.1
	done
	[ -s "$WORK/ready.$port" ] || die "mkconns.py on $port did not start"
	left=$((left - n))
	port=$((port + 1))
done
note "$CONNS connections up"

echo "| build | daemon ms (median) | --direct ms | ss -tanp ms | daemon / ss | daemon / direct |"
echo "|---|---:|---:|---:|---:|---:|"
for b in "$@"; do
	b=$(realpath "$b")
	conf=$WORK/sw.conf
	printf '[daemon]\nsocket = %s/s.sock\ndatabase = %s/db\ninterfaces = none\n' \
	    "$WORK" "$WORK" >"$conf"
	rm -f "$WORK"/db*
	ip netns exec "$NS" "$b/sockwatchd" -f -c "$conf" >"$WORK/swd.log" 2>&1 &
	swd=$!
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS" "$b/sockwatch" -S "$WORK/s.sock" status \
		    >/dev/null 2>&1 && break
		sleep 0.1
	done
	hyperfine -N -r "$RUNS" -w 2 --export-json "$WORK/h.json" \
	    "ip netns exec $NS $b/sockwatch -S $WORK/s.sock sockets -t -a -p" \
	    "ip netns exec $NS $b/sockwatch sockets -t -a -p --direct" \
	    "ip netns exec $NS ss -tanp" >/dev/null 2>&1 ||
	    die "hyperfine failed"
	kill -TERM "$swd"
	wait "$swd" || true
	jq -r --arg b "$b" '[.results[].median * 1000] |
	    "| \($b) | \(.[0] | floor) | \(.[1] | floor) | \(.[2] | floor) | " +
	    "\(.[0] / .[2] * 100 | floor / 100)x | " +
	    "\(.[0] / .[1] * 100 | floor / 100)x |"' "$WORK/h.json"
done
