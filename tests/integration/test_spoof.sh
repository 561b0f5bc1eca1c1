#!/usr/bin/env bash
# Spoofed sources never get an innocent banned. sockwatchd in a victim
# namespace with [portscan] action = block; an innocent host (the benign
# namespace) holds an HTTP-like session to the victim; an attacker runs
# nmap with the innocent as a decoy, then spoofing it outright.
#
#  1. nmap -sS -D INNOCENT,ME: the attacker, which has no handshake to
#     compare with, is banned as before; the innocent is alerted for (its
#     address did scan) but not banned, its evidence says spoof_suspected
#     (its handshake came over 0 hops, the decoy probes over others: nmap
#     sends raw probes with a random TTL), and its session is still up.
#  2. Two windows later (the hop counts judge about the last two), nmap
#     -sS -S INNOCENT: the same for the innocent; the scanner is not seen
#     at all.
#  3. The price, as nmap users meet it: a scanner that first completes a
#     connection from its own address and then scans with nmap's defaults
#     (a random TTL per probe) is spoof-suspect too: alerted for, not
#     banned automatically (sockwatch block still bans it).
#  4. The refusals are counted in the metrics.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP
PORT=8080

tr_net
ATKIF=$(ns_ifname "$ANS")
tr_conf "$T/sockwatch.conf" "tcp/$PORT"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = 60s
EOF
bg ip netns exec "$VNS" python3 "$TOOLS/holdconn.py" server :: "$PORT" \
    "$T/server.ready"
wait_file 5 "$T/server.ready" "$!" || fail "holdconn server did not start"
swd_start "$VNS" "$T/sockwatch.conf"

# The innocent's session, its handshake seen by the daemon.
bg ip netns exec "$BNS" python3 "$TOOLS/holdconn.py" client "$VICB4" "$PORT" \
    "$T/held.ready" "$T/held.out" 5
wait_file 5 "$T/held.ready" "$!" || fail "the innocent did not connect"
grep -q connect-failed "$T/held.ready" && fail "held: $(cat "$T/held.ready")"
sleep 2.5

# peer_alert ADDR: the newest portscan alert about ADDR, as JSON.
peer_alert() {
	swc "$VNS" alerts --json --kind portscan | jq -e --arg p "$1" \
	    '[.[] | select(.peer == $p)] | last'
}

# ---- 1. nmap -D -------------------------------------------------------------
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
    --max-retries 1 --host-timeout 20s -D "$BEN4,ME" "$VIC4" \
    >"$T/nmap-d.out" 2>&1 || fail "nmap -D: $(cat "$T/nmap-d.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "the scanner $ATK4 is not \
banned: $(elems "$VNS" ban4)"
wait_for 5 peer_alert "$BEN4" || fail "no alert for the decoy $BEN4"
peer_alert "$BEN4" >"$T/decoy.json"
jq -e '.evidence.spoof_suspected != null and .action == "alert" and
    (.evidence.not_banned | startswith("spoof suspected")) and
    .evidence.hops.verified == 0 and .evidence.hops.differ > 0' \
    "$T/decoy.json" >/dev/null || fail "decoy alert: $(cat "$T/decoy.json")"
in_set "$VNS" ban4 "$BEN4" && fail "the innocent $BEN4 was banned"
[ -s "$T/held.out" ] && fail "the innocent's session ended: $(cat \
"$T/held.out")"
peer_alert "$ATK4" | jq -e '.evidence.spoof_suspected == null and
    .action == "block"' >/dev/null || fail "the scanner's alert: \
$(peer_alert "$ATK4")"
echo "ok: nmap -D $BEN4,ME: the scanner banned, the decoy alerted for \
(spoof suspected), not banned, its session up"

# ---- 2. nmap -S -------------------------------------------------------------
n0=$(swc "$VNS" alerts --json --kind portscan | jq --arg p "$BEN4" \
    '[.[] | select(.peer == $p)] | length')
tr_quiet "$(now_ms)"
# nmap -S needs a route from that source: the attacker puts the address
# on its interface (as a spoofer on the path would send it anyway); the
# victim still routes its answers to the real innocent.
ip -n "$ANS" addr add "$BEN4/32" dev "$ATKIF"
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 201-400 -T4 \
    --max-retries 1 --host-timeout 10s -e "$ATKIF" -S "$BEN4" "$VIC4" \
    >"$T/nmap-s.out" 2>&1 || true
more_alerts() {
	[ "$(swc "$VNS" alerts --json --kind portscan | jq --arg p "$BEN4" \
	    '[.[] | select(.peer == $p)] | length')" -gt "$n0" ]
}
wait_for 5 more_alerts || fail "no alert for the spoofed scan: $(cat "$T/nmap-s.out")"
peer_alert "$BEN4" | jq -e '.evidence.spoof_suspected != null and
    .action == "alert"' >/dev/null || fail "spoofed alert: \
$(peer_alert "$BEN4")"
in_set "$VNS" ban4 "$BEN4" && fail "the innocent $BEN4 was banned (-S)"
[ -s "$T/held.out" ] && fail "the innocent's session ended (-S)"
echo "ok: nmap -S $BEN4: alerted for, spoof suspected, not banned"

# ---- 3. a real scanner with a handshake of its own ---------------------------
OWN=198.18.0.9
ip -n "$ANS" addr add "$OWN/32" dev "$ATKIF"
ip netns exec "$ANS" python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3,
                             source_address=(sys.argv[3], 0))
s.close()' "$VIC4" "$PORT" "$OWN" || fail "$OWN could not connect"
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
    --max-retries 1 --host-timeout 20s -e "$ATKIF" -S "$OWN" "$VIC4" \
    >"$T/nmap-own.out" 2>&1 || fail "nmap -S $OWN: $(cat "$T/nmap-own.out")"
wait_for 5 peer_alert "$OWN" || fail "no alert for $OWN"
peer_alert "$OWN" | jq -e '.evidence.spoof_suspected != null and
    .action == "alert"' >/dev/null || fail "$OWN: $(peer_alert "$OWN")"
in_set "$VNS" ban4 "$OWN" && fail "$OWN banned: the trade-off changed"
swc "$VNS" block "$OWN" >/dev/null || fail "block $OWN failed"
in_set "$VNS" ban4 "$OWN" || fail "block: $OWN not in ban4"
echo "ok: a scanner with a handshake of its own, nmap defaults: alerted for \
(spoof suspected), not banned automatically; block bans it"

# ---- 4. metrics ---------------------------------------------------------------
swc "$VNS" metrics |
    grep -E '^sockwatch_bans_spoof_suspected_total [1-9]' >/dev/null ||
    fail "spoof refusals not counted"
echo "ok: counted in sockwatch_bans_spoof_suspected_total"
