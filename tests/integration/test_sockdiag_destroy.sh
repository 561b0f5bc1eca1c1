#!/usr/bin/env bash
# sockdiag_destroy_peer (through tests/tools/sdkill) against the real
# kernel: a server namespace S holds TCP and connected UDP sockets of
# three client addresses in C; destroying one peer must end exactly its
# sockets (IPv4, IPv4-mapped IPv6, or IPv6), reset them for the client,
# abort them for the server process, and say how many it ended. Last, the
# time to end 1,000 connections of one peer is measured.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
tools="$here/../tools"
sdkill="$BUILD/tools/sdkill"
T=$SW_TMP
[ -x "$sdkill" ] || fail "no $sdkill (make BUILD=... $sdkill)"

S=$(ns_add kills)
C=$(ns_add killc)
ns_link "$S" 198.18.0.1 "$C" 198.18.0.2 2001:db8::1 2001:db8::2
ifc=$(ns_ifname "$C")
ip -n "$C" addr add 198.18.0.3/24 dev "$ifc"
ip -n "$C" addr add 198.18.0.4/24 dev "$ifc"
ip -n "$C" addr add 2001:db8::3/64 dev "$ifc" nodad

bg ip netns exec "$S" python3 "$tools/peerconns.py" server "$T/srv.ready" \
    "$T/srv.events" tcp,198.18.0.1,7001 tcp,::,7002 tcp,2001:db8::1,7003 \
    udpc,198.18.0.1,7101,198.18.0.2,7201 \
    udpc,198.18.0.1,7102,198.18.0.3,7201 \
    udpc,2001:db8::1,7103,2001:db8::2,7201
srv=$!
wait_file 20 "$T/srv.ready" "$srv" || fail "server did not start"
# Port 7002 listens on [::]: IPv4 clients arrive IPv4-mapped.
bg ip netns exec "$C" python3 "$tools/peerconns.py" client "$T/cli.ready" \
    "$T/cli.events" tcp,198.18.0.2,198.18.0.1,7001,3 \
    tcp,198.18.0.2,198.18.0.1,7002,1 tcp,2001:db8::2,2001:db8::1,7003,2 \
    tcp,198.18.0.3,198.18.0.1,7001,2 tcp,198.18.0.3,198.18.0.1,7002,1 \
    tcp,2001:db8::3,2001:db8::1,7003,1
cli=$!
wait_file 20 "$T/cli.ready" "$cli" || fail "client did not connect"

# count NS SS-ARGS...: sockets that ss lists (no header); -1 if ss fails.
count() {
	local ns=$1 out
	shift
	out=$(ip netns exec "$ns" ss -Hn "$@") || { echo -1; return; }
	[ -n "$out" ] && printf '%s\n' "$out" | wc -l || echo 0
}
# want_count N NS SS-ARGS...: wait up to 5 s for ss to list N sockets.
want_count() {
	local n=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		[ "$(count "$@")" -eq "$n" ] && return 0
		sleep 0.1
	done
	echo "ss -Hn ${*:2} in $1: want $n, have $(count "$@"):" >&2
	ip netns exec "$1" ss -Hn "${@:2}" >&2
	return 1
}
# events FILE PATTERN: lines of FILE that match PATTERN (ERE).
events() {
	grep -Ec "$2" "$1" 2>/dev/null || true
}
# want_events N FILE PATTERN: wait up to 5 s for N matching lines.
want_events() {
	local n=$1 i
	for ((i = 0; i < 50; i++)); do
		[ "$(events "$2" "$3")" -ge "$n" ] && break
		sleep 0.1
	done
	[ "$(events "$2" "$3")" -eq "$n" ] && return 0
	echo "want $n lines like '$3' in $2, have:" >&2
	cat "$2" >&2 2>/dev/null
	return 1
}
# kill_peer PEER N: sdkill PEER in S must report N destroyed.
kill_peer() {
	local out="$T/kill.${1//[:\/]/_}"
	ip netns exec "$S" "$sdkill" "$1" >"$out" 2>"$out.err" ||
	    fail "sdkill $1 failed: $(cat "$out.err")"
	cat "$out"
	grep -Eq "^destroyed $2 in [0-9.]+ ms$" "$out" ||
	    fail "sdkill $1: want $2 destroyed, got: $(tail -n 1 "$out")"
	[ "$(grep -c -v '^destroyed' "$out")" -eq "$2" ] ||
	    fail "sdkill $1: listed sockets do not match the count"
	LAST_KILL=$out
}

v4_2='dst 198.18.0.2 or dst [::ffff:198.18.0.2]'
v4_3='dst 198.18.0.3 or dst [::ffff:198.18.0.3]'
want_count 10 "$S" -t state established || fail "not all connected"
want_count 4 "$S" -t "( $v4_2 )" || fail "setup: 198.18.0.2"
want_count 3 "$S" -t "( $v4_3 )" || fail "setup: 198.18.0.3"
# (ss -u without -a: the connected UDP sockets only.)
want_count 3 "$S" -u || fail "setup: connected UDP"

# 1. An IPv4 peer: its IPv4 and IPv4-mapped TCP sockets and its UDP one.
kill_peer 198.18.0.2 5
[ "$(grep -c '^tcp ' "$LAST_KILL")" -eq 4 ] || fail "want 4 TCP sockets"
grep -q '^udp 198.18.0.1:7101 198.18.0.2:7201 ' "$LAST_KILL" ||
    fail "the connected UDP socket is not listed"
grep -q '^tcp \[::ffff:198.18.0.1\]:7002 \[::ffff:198.18.0.2\]:' \
    "$LAST_KILL" || fail "the IPv4-mapped socket is not listed"
want_count 0 "$S" -t "( $v4_2 )" || fail "198.18.0.2 survived"
want_count 0 "$S" -u dst 198.18.0.2 || fail "UDP of 198.18.0.2 survived"
# The client sees a reset on each; the server process an abort.
want_events 4 "$T/cli.events" '^tcp 198\.18\.0\.2:[0-9]+ .* ECONNRESET$' ||
    fail "the client did not see 4 resets"
peer2=' (198\.18\.0\.2|\[::ffff:198\.18\.0\.2\]):[0-9]+ '
want_events 5 "$T/srv.events" "${peer2}ECONNABORTED\$" ||
    fail "the server process did not see 5 aborts"
# Everyone else is untouched.
want_count 3 "$S" -t "( $v4_3 )" || fail "198.18.0.3 lost connections"
want_count 3 "$S" -t dst 2001:db8::/32 || fail "IPv6 lost connections"
want_count 2 "$S" -u || fail "other UDP sockets lost"
sleep 0.3
[ "$(events "$T/cli.events" '^tcp (198\.18\.0\.3|\[2001:)')" -eq 0 ] ||
    fail "other connections ended: $(cat "$T/cli.events")"

# 2. Again: nothing left to destroy.
kill_peer 198.18.0.2 0

# 3. An IPv6 host prefix: its two TCP connections and its UDP socket.
kill_peer 2001:db8::2/128 3
want_count 0 "$S" -t dst "[2001:db8::2]" || fail "2001:db8::2 survived"
want_count 1 "$S" -t dst "[2001:db8::3]" ||
    fail "2001:db8::3 lost its connection"
want_count 1 "$S" -u || fail "want the UDP socket of 198.18.0.3 only"
want_events 2 "$T/cli.events" '^tcp \[2001:db8::2\]:[0-9]+ .* ECONNRESET$' ||
    fail "the IPv6 client did not see 2 resets"

# 4. Without CAP_NET_ADMIN: refused, said so, nothing ended.
if command -v capsh >/dev/null; then
	rc=0
	ip netns exec "$S" capsh --drop=cap_net_admin -- -c \
	    "exec $sdkill 198.18.0.3" >"$T/nocap" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "sdkill without CAP_NET_ADMIN succeeded"
	grep -q 'CAP_NET_ADMIN' "$T/nocap" ||
	    fail "no word about CAP_NET_ADMIN: $(cat "$T/nocap")"
	want_count 3 "$S" -t "( $v4_3 )" || fail "198.18.0.3 lost connections"
else
	echo "no capsh: skipping the check without CAP_NET_ADMIN"
fi

# 5. The rest, by prefix: 198.18.0.3 (3 TCP, 1 UDP) and 2001:db8::3.
kill_peer 198.18.0.0/15 4
kill_peer 2001:db8::/32 1
want_count 0 "$S" -t state established || fail "connections left"

# 6. Time to end 1,000 connections of one peer.
n=1000
bg ip netns exec "$C" python3 "$tools/peerconns.py" client "$T/many.ready" \
    "$T/many.events" tcp,198.18.0.4,198.18.0.1,7001,$n
many=$!
wait_file 60 "$T/many.ready" "$many" || fail "$n connections: no client"
want_count "$n" "$S" -t state established dst 198.18.0.4 ||
    fail "$n connections did not establish"
ip netns exec "$S" "$sdkill" -q 198.18.0.4 >"$T/many.out" 2>&1 ||
    fail "sdkill of $n: $(cat "$T/many.out")"
grep -Eq "^destroyed $n in [0-9.]+ ms$" "$T/many.out" ||
    fail "want $n destroyed: $(cat "$T/many.out")"
echo "measure: $(cat "$T/many.out") (dump and destroy)"
want_count 0 "$S" -t dst 198.18.0.4 || fail "connections of 198.18.0.4 left"
want_events "$n" "$T/many.events" ' ECONNRESET$' ||
    fail "not every client connection saw a reset"
echo "all checks passed"
