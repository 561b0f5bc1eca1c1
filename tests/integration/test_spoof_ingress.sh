#!/usr/bin/env bash
# The ingress check: on a host with two interfaces, a probe that comes in
# on another interface than the route back to its source leaves by was
# sent in someone else's name. The victim has the attacker's link
# (198.18.0.0/24) and the benign host's (198.18.1.0/24); sockwatchd
# captures on any interface with [portscan] action = block.
#
#  1. nmap -sS -S BEN4 -e (the attacker's link) --ttl 64: the benign
#     host's address, spoofed from the attacker's side, with the TTL the
#     benign host's own packets would have (the hop count cannot tell):
#     alerted for, evidence "ingress" and spoof_suspected, not banned.
#  2. nmap -D BEN4,ME --ttl 64 from the attacker: the attacker banned,
#     the decoy not.
#  3. The benign host scanning from its own link is banned: it came in
#     where its route leaves.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP

tr_net
ATKIF=$(ns_ifname "$ANS")
tr_conf "$T/sockwatch.conf" "tcp/22"
printf 'action = block\nban = 60s\n' >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"
sleep 1		# the routes reach the inspector at its first tick

peer_alert() {
	swc "$VNS" alerts --json --kind portscan | jq -e --arg p "$1" \
	    '[.[] | select(.peer == $p)] | last'
}
scan() {
	timeout 60 ip netns exec "$1" nmap -n -Pn -sS -p 1-100 -T4 --ttl 64 \
	    --max-retries 1 --host-timeout 20s "${@:2}" >>"$T/nmap.out" 2>&1 ||
	    fail "nmap ${*:2}: $(tail -5 "$T/nmap.out")"
}

# ---- 1. nmap -S, the benign address from the attacker's link -------------
# nmap -S needs a route from that source: the attacker puts the address
# on its interface (a spoofer on the path sends it anyway); the victim
# still routes its answers to the real benign host.
ip -n "$ANS" addr add "$BEN4/32" dev "$ATKIF"
scan "$ANS" -S "$BEN4" -e "$ATKIF" "$VIC4"
ip -n "$ANS" addr del "$BEN4/32" dev "$ATKIF"
wait_for 5 peer_alert "$BEN4" || fail "no alert for the spoofed $BEN4"
sleep 0.5
peer_alert "$BEN4" >"$T/spoofed.json"
vif=$(ip netns exec "$VNS" cat "/sys/class/net/$VIF/ifindex")
jq -e --argjson i "$vif" '.action == "alert" and
    .evidence.ingress.interface == $i and .evidence.ingress.route_back != $i
    and (.evidence.spoof_suspected | test("interface")) and
    (.evidence.not_banned | startswith("spoof suspected"))' \
    "$T/spoofed.json" >/dev/null || fail "alert: $(cat "$T/spoofed.json")"
in_set "$VNS" ban4 "$BEN4" && fail "the spoofed $BEN4 was banned"
echo "ok: nmap -S $BEN4 from the attacker's link: alerted for, not banned" \
    "($(jq -c .evidence.ingress "$T/spoofed.json"))"

# ---- 2. nmap -D ----------------------------------------------------------------
tr_quiet "$(now_ms)"
scan "$ANS" -D "$BEN4,ME" "$VIC4"
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "the scanner $ATK4 is not \
banned: $(peer_alert "$ATK4" | jq -c .evidence)"
in_set "$VNS" ban4 "$BEN4" && fail "the decoy $BEN4 was banned"
echo "ok: nmap -D $BEN4,ME: the scanner banned, the decoy not"

# ---- 3. the benign host itself -----------------------------------------------
tr_quiet "$(now_ms)"
scan "$BNS" "$VICB4"
wait_for 5 in_set "$VNS" ban4 "$BEN4" || fail "$BEN4 scanning from its own \
link is not banned: $(peer_alert "$BEN4" | jq -c .evidence)"
echo "ok: $BEN4 scanning from its own link: banned"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
