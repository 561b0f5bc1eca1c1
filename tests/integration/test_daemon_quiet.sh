#!/usr/bin/env bash
# Skipped dumps (daemon/scan.c): with nothing changing, the scheduled
# dumps are skipped and counted (metrics, status); a new listener and a
# new connection move the namespace's socket counters and are seen within
# about a scan_interval all the same; a listener that moves to another
# port without moving a counter (tests/tools/relisten.py) is still
# audited, at the latest by the dump that full_scan_interval forces.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add qui)

# A full dump forced only every 30 s: what is seen sooner was seen
# through the counters.
SCAN=1s sw_conf "$T/sockwatch.conf" "tcp/22 sshd" "full_scan_interval = 30s"
swd_start "$NS" "$T/sockwatch.conf"

# metric NAME: one of the daemon's counters.
metric() {
	swc "$NS" metrics | awk -v m="$1" '$1 == m { v = $2 } END { print v }'
}

# 1. Quiet: over 5 s of 1 s scans, nearly every scan is skipped. A
# scan may still run when the CLI's own connection moved a counter.
f0=$(metric sockwatch_scans_total)
s0=$(metric sockwatch_scans_skipped_total)
sleep 5
f1=$(metric sockwatch_scans_total)
s1=$(metric sockwatch_scans_skipped_total)
[ $((s1 - s0)) -ge 3 ] && [ $((f1 - f0)) -le 2 ] ||
    fail "idle for 5 s: $((f1 - f0)) full dumps, $((s1 - s0)) skipped"
echo "ok: idle 5 s: $((f1 - f0)) full dumps, $((s1 - s0)) skipped"
swc "$NS" status --json | jq -e '.scans.skipped >= 3 and .scans.full >= 1
    and .scans.full_scan_interval_ms == 30000' >/dev/null ||
    fail "status .scans: $(swc "$NS" status --json | jq -c .scans)"

# 2. A new listener: socket(), bind() and listen() move the counters;
# audited well within the forced dump's 30 s.
listen_start "$NS" new tcp:0.0.0.0:7201
wait_alerts "$NS" 4 7201

# 3. A new established connection to that listener (both ends count;
# the server's end waits in the accept queue).
tcp_est() {
	swc "$NS" status --json | jq -e --argjson n "$1" \
	    '.sockets.tcp >= $n' >/dev/null
}
n0=$(swc "$NS" status --json | jq .sockets.tcp)
bg ip netns exec "$NS" python3 -c '
import socket, time
c = socket.create_connection(("127.0.0.1", 7201))
time.sleep(60)' </dev/null
conn=$!
wait_for 4 tcp_est $((n0 + 2)) ||
    fail "a new connection not in the table within 4 s (had $n0 TCP" \
    "sockets, now $(swc "$NS" status --json | jq .sockets.tcp))"
echo "ok: a new connection in the table within 4 s"
kill "$conn"

# 4. A listener that moves port with every counter left as it was, under
# a forced dump every 6 s: audited within 6 s + a scan (+ 1 s of slack).
sed -i 's/^full_scan_interval = .*/full_scan_interval = 6s/' \
    "$T/sockwatch.conf"
swc "$NS" reload || fail "reload failed"
bg ip netns exec "$NS" python3 "$TOOLS/relisten.py" "$T" </dev/null
rl=$!
wait_file 5 "$T/port1" "$rl" || fail "relisten.py did not listen"
p1=$(<"$T/port1")
wait_for 4 has_alert "$NS" "$p1" || fail "no alert for port $p1"
# Let the new inspector's start (the reload) settle, then leave the
# namespace alone: no CLI polling while the forced dump is awaited.
sleep 3
c0=$(metric sockwatch_scans_forced_total)
s0=$(metric sockwatch_scans_skipped_total)
kill -USR1 "$rl"
wait_file 5 "$T/port2" "$rl" || fail "relisten.py did not move"
p2=$(<"$T/port2")
t0=$EPOCHREALTIME
sleep 8
has_alert "$NS" "$p2" ||
    fail "the listener moved from port $p1 to $p2: no alert within 8 s"
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
c1=$(metric sockwatch_scans_forced_total)
s1=$(metric sockwatch_scans_skipped_total)
[ "$c1" -gt "$c0" ] && [ "$s1" -gt "$s0" ] ||
    fail "moved listener: forced dumps $c0 -> $c1, skipped $s0 -> $s1"
echo "ok: listener moved $p1 -> $p2 with no counter moving: alerted" \
    "within $secs s ($((c1 - c0)) forced, $((s1 - s0)) skipped)"
echo "PASS"
