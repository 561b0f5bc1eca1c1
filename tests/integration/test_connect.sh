#!/usr/bin/env bash
# The [connect] policy against the real kernel: sockwatchd in a victim
# namespace with [connect] deny = a server's first addresses, a TCP
# server (holdconn.py) in a server namespace on all its addresses.
#
#   victim  198.18.0.1/24, 2001:db8::1/64  <->  server  198.18.0.2 (denied)
#                                                       198.18.0.3
#                                                       2001:db8::2 (denied)
#                                                       2001:db8::3
#
#  1. A connection to the denied address, opened before the daemon
#     starts, is ended when it starts (the client gets ECONNABORTED) and
#     raises a connect alert with the client's pid and comm.
#  2. A new connection to the denied address fails (dropped in the output
#     chain, or ended by the next socket scan) and raises a connect alert
#     naming the process; the address is in connect4 (and not banned).
#  3. A connection to the server's other address works, without an alert.
#  4. The same over IPv6 (connect6).
#  5. sockwatch_connect_blocked_total counts the ended connections.
#  6. A UDP socket bound first and connected to the denied address later
#     (it keeps its cookie, so the scan sees it change, not open) raises
#     a connect alert naming its process.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nft || exit 0
T=$SW_TMP
PORT=8080
CLI4=198.18.0.1
CLI6=2001:db8::1
DENY4=198.18.0.2
DENY6=2001:db8::2
OK4=198.18.0.3
OK6=2001:db8::3

VNS=$(ns_add vic)
SNS=$(ns_add srv)
ns_link "$VNS" "$CLI4" "$SNS" "$DENY4" "$CLI6" "$DENY6"
SIF=$(ns_ifname "$SNS")
ip -n "$SNS" addr add "$OK4/24" dev "$SIF"
ip -n "$SNS" addr add "$OK6/64" dev "$SIF" nodad

# A UDP socket connecting moves no socket counter: the forced dump sees
# it (6).
SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/22" "interfaces = none" \
    "full_scan_interval = 1s"
cat >>"$T/sockwatch.conf" <<EOF

[connect]
deny = $DENY4, $DENY6
EOF

# A client in the victim namespace: write its pid to PIDFILE, then try
# to connect to ADDR:PORT within 2 s; print ok or the error's name.
cat >"$T/try.py" <<'EOF'
import os, socket, sys
addr, port, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.settimeout(2)
try:
    s.connect((addr, port))
    print("ok")
except OSError as e:
    print(type(e).__name__)
EOF
n_try=0
# try_connect ADDR: run try.py in the victim namespace; sets TRY_PID and
# TRY_OUT.
try_connect() {
	n_try=$((n_try + 1))
	TRY_OUT=$(ip netns exec "$VNS" python3 "$T/try.py" "$1" "$PORT" \
	    "$T/try.$n_try.pid") || fail "try.py $1 failed"
	TRY_PID=$(cat "$T/try.$n_try.pid")
}
# connect_alert PEER PID: a connect alert for PEER names process PID.
connect_alert() {
	swc "$VNS" alerts --json --kind connect | jq -e --arg p "$1" \
	    --argjson pid "$2" 'any(.[]; .peer == $p and
	    .process.pid == $pid)' >/dev/null
}
# check_alert PEER PID: that alert says what it should.
check_alert() {
	swc "$VNS" alerts --json --kind connect | jq -c --arg p "$1" \
	    --argjson pid "$2" '[.[] | select(.peer == $p and
	    .process.pid == $pid)][0]' >"$T/alert.json"
	jq -e --arg c "$PYCOMM" --argjson port "$PORT" --argjson uid \
	    "$(id -u)" '.kind == "connect" and .severity == "warning" and
	    .action == "block" and .process.comm == $c and
	    .process.uid == $uid and .evidence.proto == "tcp" and
	    .evidence.port == $port and .evidence.sockets_closed >= 1 and
	    .process.pid as $pid |
	    (.message | test("\\(pid \($pid), uid \($uid)\\)")) and
	    (.message | test("denied by \\[connect\\]"))' "$T/alert.json" \
	    >/dev/null || fail "connect alert: $(cat "$T/alert.json")"
}

bg ip netns exec "$SNS" python3 "$TOOLS/holdconn.py" server :: "$PORT" \
    "$T/server.ready"
wait_file 5 "$T/server.ready" "$!" || fail "holdconn server did not start"

# ---- 1. a connection made before the daemon starts -----------------------
bg ip netns exec "$VNS" python3 "$TOOLS/holdconn.py" client "$DENY4" \
    "$PORT" "$T/held.ready" "$T/held.out" 5
wait_file 5 "$T/held.ready" "$!" || fail "holdconn client did not connect"
grep -q connect-failed "$T/held.ready" && fail "held: $(cat "$T/held.ready")"
held=$(cat "$T/held.ready")
sleep 0.2
[ -e "$T/held.out" ] && fail "the held connection ended before the start"
swd_start "$VNS" "$T/sockwatch.conf"
wait_file 3 "$T/held.out" 0 ||
    fail "the connection to $DENY4 is still open after the start"
[ "$(cat "$T/held.out")" = ECONNABORTED ] ||
    fail "held connection ended with $(cat "$T/held.out"), want ECONNABORTED"
wait_for 3 connect_alert "$DENY4" "$held" ||
    fail "no connect alert for pid $held: $(swc "$VNS" alerts --json)"
check_alert "$DENY4" "$held"
echo "ok: the connection open at start ended; alert: $(jq -r .message \
    "$T/alert.json")"

# ---- 2. a new connection to the denied address ----------------------------
in_set "$VNS" connect4 "$DENY4" || fail "connect4 lacks $DENY4: \
$(elems "$VNS" connect4)"
in_set "$VNS" connect6 "$DENY6" || fail "connect6 lacks $DENY6: \
$(elems "$VNS" connect6)"
try_connect "$DENY4"
case $TRY_OUT in
TimeoutError | timeout | ConnectionAbortedError) ;;
*) fail "connect to $DENY4: $TRY_OUT, want a timeout or an abort" ;;
esac
wait_for 2 connect_alert "$DENY4" "$TRY_PID" ||
    fail "no connect alert for pid $TRY_PID: $(swc "$VNS" alerts --json)"
check_alert "$DENY4" "$TRY_PID"
echo "ok: connect to $DENY4: $TRY_OUT; alert: $(jq -r .message \
    "$T/alert.json")"
# The destination is not banned: its own set blocks it.
in_set "$VNS" ban4 "$DENY4" && fail "$DENY4 is in ban4"
swc "$VNS" bans --json | jq -e 'length == 0' >/dev/null ||
    fail "bans: $(swc "$VNS" bans --json)"
ip netns exec "$VNS" ss -Htn "( dst $DENY4 )" >"$T/ss.txt"
[ -s "$T/ss.txt" ] && fail "sockets towards $DENY4 left: $(cat "$T/ss.txt")"

# ---- 3. the server's other address -------------------------------------------
try_connect "$OK4"
[ "$TRY_OUT" = ok ] || fail "connect to $OK4: $TRY_OUT, want ok"
echo "ok: connect to $OK4 (not denied) works"

# ---- 4. IPv6 ------------------------------------------------------------------
try_connect "$DENY6"
case $TRY_OUT in
TimeoutError | timeout | ConnectionAbortedError) ;;
*) fail "connect to $DENY6: $TRY_OUT, want a timeout or an abort" ;;
esac
wait_for 2 connect_alert "$DENY6" "$TRY_PID" ||
    fail "no connect alert for pid $TRY_PID: $(swc "$VNS" alerts --json)"
check_alert "$DENY6" "$TRY_PID"
echo "ok: connect to $DENY6: $TRY_OUT; alert: $(jq -r .message \
    "$T/alert.json")"
try_connect "$OK6"
[ "$TRY_OUT" = ok ] || fail "connect to $OK6: $TRY_OUT, want ok"
echo "ok: connect to $OK6 (not denied) works"
# One scan later: still no alert about the allowed addresses.
sleep 0.6
swc "$VNS" alerts --json --kind connect >"$T/connect.json"
jq -e --arg a "$OK4" --arg b "$OK6" 'all(.[]; .peer != $a and
    .peer != $b)' "$T/connect.json" >/dev/null ||
    fail "alerts about allowed addresses: $(cat "$T/connect.json")"
n=$(jq length "$T/connect.json")
[ "$n" -eq 3 ] || fail "$n connect alerts, want 3: $(cat "$T/connect.json")"

# ---- 5. the counter -------------------------------------------------------------
swc "$VNS" metrics >"$T/metrics.txt" || fail "sockwatch metrics failed"
got=$(awk '$1 == "sockwatch_connect_blocked_total" { print $2 }' \
    "$T/metrics.txt")
[ "${got:-0}" -ge 3 ] ||
    fail "sockwatch_connect_blocked_total = '$got', want >= 3"
echo "ok: sockwatch_connect_blocked_total $got"

# ---- 6. a UDP socket bound first, connected later -------------------------
cat >"$T/udp.py" <<'EOF'
import os, socket, sys, time
addr, port, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), s.getsockname()[1]))
os.rename(ready + ".tmp", ready)
for _ in range(100):
    if os.path.exists(go):
        break
    time.sleep(0.1)
s.connect((addr, port))
time.sleep(10)
EOF
bg ip netns exec "$VNS" python3 "$T/udp.py" "$DENY4" "$PORT" \
    "$T/udp.ready" "$T/udp.go"
wait_file 5 "$T/udp.ready" "$!" || fail "udp.py did not start"
read -r upid uport <"$T/udp.ready"
# udp_seen: the daemon's table holds the bound socket.
udp_seen() {
	swc "$VNS" sockets -u -a --json | jq -e --argjson p "$uport" \
	    'any(.[]; .local_port == $p)' >/dev/null
}
wait_for 5 udp_seen || fail "the daemon did not see udp port $uport"
touch "$T/udp.go"
wait_for 5 connect_alert "$DENY4" "$upid" ||
    fail "no connect alert for the UDP socket of pid $upid: \
$(swc "$VNS" alerts --json --kind connect)"
echo "ok: a bound UDP socket connected to $DENY4 raised a connect alert"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
