#!/usr/bin/env bash
# Subnet aggregation against the real kernel. With [bans] aggregate_v4 =
# 24 and aggregate_threshold = 3, three scanners of one /24 (not the
# victim's), each banned by the port-scan detector, make sockwatchd ban
# the whole /24: it is in bannet4, `sockwatch bans` shows it with the
# source "aggregate", the host bans stay, and a fourth address of that /24
# that never scanned gets no answer any more. Three scanners of a /24
# that holds an [allow] peer are banned each, the /24 is not.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP
NET=198.18.60		# scanners .2 .3 .4, a bystander .9
GUARD=198.18.61		# scanners .2 .3 .4; .50 is [allow]ed
PORT=8080

tr_net
ATKIF=$(ns_ifname "$ANS")
for a in "$NET.2" "$NET.3" "$NET.4" "$NET.9" "$GUARD.2" "$GUARD.3" \
    "$GUARD.4"; do
	ip -n "$ANS" addr add "$a/32" dev "$ATKIF"
done
ip -n "$VNS" route add "$NET.0/24" via "$ATK4"
ip -n "$VNS" route add "$GUARD.0/24" via "$ATK4"
tr_conf "$T/sockwatch.conf" "tcp/$PORT"
cat >>"$T/sockwatch.conf" <<EOF
ports = 5
action = block
ban = 10m

[allow]
peers = $GUARD.50

[bans]
default = 1h
aggregate_v4 = 24
aggregate_threshold = 3
EOF
swd_start "$VNS" "$T/sockwatch.conf"

# connect_from SRC: what a TCP connection from SRC (in the attacker
# namespace) to the victim's closed port PORT gets within 1 s:
# ConnectionRefusedError (the victim's RST) or TimeoutError (dropped).
connect_from() {
	ip netns exec "$ANS" python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(1)
s.bind((sys.argv[3], 0))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("ok")
except OSError as e:
    print(type(e).__name__)' "$VIC4" "$PORT" "$1"
}

# scan SRC: a small SYN scan from SRC; SRC is then banned.
scan() {
	timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$1" -e "$ATKIF" \
	    -p 1-30 -T4 --max-retries 1 --host-timeout 20s "$VIC4" \
	    >"$T/nmap-$1.out" 2>&1 || fail "nmap from $1: $(cat "$T/nmap-$1.out")"
	wait_for 3 in_set "$VNS" ban4 "$1" || fail "$1 not in ban4 after its \
scan: $(elems "$VNS" ban4); log: $(tail -3 "$SWD_LOG")"
}

got=$(connect_from "$NET.9")
[ "$got" = ConnectionRefusedError ] ||
    fail "before any ban, $NET.9 got $got, want the victim's reset"

# ---- two scanners: host bans only; the third: the /24 -------------------------
scan "$NET.2"
scan "$NET.3"
sleep 0.5
[ -z "$(elems "$VNS" bannet4)" ] ||
    fail "a prefix banned after 2 hosts (threshold 3): $(elems "$VNS" bannet4)"
scan "$NET.4"
wait_for 3 in_set "$VNS" bannet4 "$NET.0/24" ||
    fail "$NET.0/24 not in bannet4 after 3 hosts: $(elems "$VNS" bannet4)"
swc "$VNS" bans --json >"$T/bans.json"
jq -e --arg p "$NET.0/24" 'any(.[]; .addr == $p and .source == "aggregate"
    and (.reason | test("at least 3 hosts")) and .left_s > 3500)' \
    "$T/bans.json" >/dev/null || fail "bans: $(jq -c . "$T/bans.json")"
for a in "$NET.2" "$NET.3" "$NET.4"; do
	in_set "$VNS" ban4 "$a" || fail "the host ban of $a went"
done
got=$(connect_from "$NET.9")
[ "$got" = TimeoutError ] ||
    fail "$NET.9, inside the banned /24, got $got, want no answer"
echo "ok: 3 hosts of $NET.0/24 banned: the /24 banned (source aggregate), host bans kept, $NET.9 unanswered"

# ---- a /24 with an [allow] peer is not aggregated ----------------------------
scan "$GUARD.2"
scan "$GUARD.3"
scan "$GUARD.4"
sleep 1
in_set "$VNS" bannet4 "$GUARD.0/24" &&
    fail "$GUARD.0/24 was banned though it holds the [allow] $GUARD.50"
[ "$(elems "$VNS" bannet4)" = "$NET.0/24" ] ||
    fail "bannet4: $(elems "$VNS" bannet4), want only $NET.0/24"
grep -q "not banning $GUARD.0/24 (its banned hosts reached the threshold): .*allow" \
    "$SWD_LOG" || fail "the refused aggregation is not logged: \
$(grep "not banning" "$SWD_LOG" | tail -3)"
echo "ok: 3 hosts of $GUARD.0/24 banned, the /24 not (it holds an [allow] peer)"
echo "all checks passed"
