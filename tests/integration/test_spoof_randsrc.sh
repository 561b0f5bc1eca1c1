#!/usr/bin/env bash
# Random spoofed sources make alerts, not a storm of bans. sockwatchd in a
# victim namespace with [portscan] and [synflood] action = block, a
# listener on port 22; the attacker namespace sends with hping3
# --rand-source, every packet from another random address:
#
#  1. A SYN scan of ports 1-2000, one port per source: no source probes
#     more than one port, so no portscan alert and no ban.
#  2. A SYN flood of port 22 (5000 SYNs at up to 5000 a second): one
#     synflood alert without a peer (the many sources' summary), never an
#     alert or a ban per spoofed address.
#  3. The daemon still works after the storm: the real attacker's own
#     nmap -sS --ttl 64 (the TTL of its own stack; see test_spoof.sh) is
#     banned as usual.
#
# The victim must take packets whose source it has no route back to:
# rp_filter is set to 0 there (a new namespace's default, but said
# rather than assumed).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools hping3 nmap nft || exit 0
T=$SW_TMP

tr_net
ip netns exec "$VNS" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$VIF.rp_filter=0"
tr_conf "$T/sockwatch.conf" "tcp/22"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = 60s

[synflood]
action = block
ban = 60s
EOF
listen_start "$VNS" ssh "tcp:$VIC4:22"
swd_start "$VNS" "$T/sockwatch.conf"

# metric NAME: the value of a metric without labels (0 if absent).
metric() {
	swc "$VNS" metrics | awk -v n="$1" '$1 == n { v = $2 } END {
	    print v + 0 }'
}

# spoofed_alerts: alerts about a peer other than the real attacker.
spoofed_alerts() {
	swc "$VNS" alerts --json | jq --arg a "$ATK4" '[.[] | select(.kind !=
	    "listener" and .kind != "bans" and .peer != null and
	    .peer != $a)] | length'
}

# bans_now RUN: print what the run left; fail if a spoofed source was
# banned or alerted for, or the daemon died.
bans_now() {
	local n4 n6 spa
	sleep 1.2	# the flood's second ends, its alert is raised
	pid_gone "$SWD_PID" && fail "$1: sockwatchd died"
	n4=$(elems "$VNS" ban4 | wc -l)
	n6=$(elems "$VNS" ban6 | wc -l)
	spa=$(spoofed_alerts)
	echo "$1: ban4 $n4, ban6 $n6 element(s); alerts about single" \
	    "spoofed sources $spa; alerts by kind $(swc "$VNS" alerts \
	    --json | jq -c 'group_by(.kind) | map({(.[0].kind): length}) |
	    add // {}'); bans_total $(metric sockwatch_bans_total)," \
	    "rate_limited $(metric sockwatch_bans_rate_limited_total)," \
	    "spoof_suspected $(metric sockwatch_bans_spoof_suspected_total);" \
	    "peers $(metric sockwatch_peers), evicted" \
	    "$(metric sockwatch_peer_evictions_total)"
	[ $((n4 + n6)) -eq 0 ] ||
	    fail "$1: spoofed sources banned: $(elems "$VNS" ban4 | head -5)"
	[ "$spa" -eq 0 ] || fail "$1: alerts about spoofed sources: $(swc \
	    "$VNS" alerts --json | jq -c '[.[] | select(.peer != null) |
	    [.kind, .peer, .action]] | .[:5]')"
}

# hping RUN ARGS...: hping3 in the attacker namespace, at most 20 s;
# prints how long it took and the packets it sent.
hping() {
	local run=$1 start rc=0 sent
	shift
	start=$EPOCHREALTIME
	timeout 20 ip netns exec "$ANS" hping3 "$@" "$VIC4" \
	    >"$T/$run.out" 2>&1 || rc=$?
	# hping3 exits 1 when nothing answered (no answer can reach a
	# random source); 124 is the timeout.
	[ "$rc" -le 1 ] || fail "$run: hping3 exit $rc: $(tail -3 \
	    "$T/$run.out")"
	sent=$(awk '/packets transmitted/ { print $1 }' "$T/$run.out")
	echo "$run: hping3 $* sent ${sent:-?} packets in $(awk -v a="$start" \
	    -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
}

# ---- 1. a scan from random sources ---------------------------------------
hping scan --rand-source -S -p ++1 -c 2000 -i u500
bans_now scan
[ "$(n_alerts "$VNS" --kind portscan)" -eq 0 ] ||
    fail "scan: portscan alerts for one probe per source"
echo "ok: a scan from random sources: no portscan alert, no ban"

# ---- 2. a SYN flood from random sources ------------------------------------
hping flood --rand-source -S -p 22 -c 5000 -i u200
bans_now flood
wait_for 3 alerts_ge "$VNS" 1 --kind synflood ||
    fail "flood: no synflood alert"
swc "$VNS" alerts --json --kind synflood >"$T/sf.json"
echo "flood: $(jq -r '.[] | "\(.action): \(.message)"' "$T/sf.json")"
jq -e 'all(.[]; .peer == null and .local_port == 22 and
    .evidence.sources > 100 and .action == "alert" and
    (.evidence.not_banned | test("no single peer")))' "$T/sf.json" \
    >/dev/null ||
    fail "flood: synflood alerts $(jq -c '[.[] | {peer, local_port,
    evidence}]' "$T/sf.json")"
echo "ok: a SYN flood from random sources: $(jq length "$T/sf.json") alert(s)" \
    "without a peer, no ban"

# ---- 3. the real attacker afterwards ----------------------------------------
tr_quiet "$(now_ms)"
timeout 30 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 --ttl 64 \
    --max-retries 1 --host-timeout 20s "$VIC4" >"$T/nmap.out" 2>&1 ||
    fail "nmap: $(cat "$T/nmap.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "after the storm, the real \
scanner $ATK4 is not banned: $(elems "$VNS" ban4); $(swc "$VNS" alerts \
--json --peer "$ATK4" | jq -c '[.[] | [.kind, .action, .evidence.not_banned]]')"
[ "$(elems "$VNS" ban4 | wc -l)" -eq 1 ] ||
    fail "ban4 holds more than the scanner: $(elems "$VNS" ban4)"
echo "ok: after the storm, nmap -sS from $ATK4 is banned"
swc "$VNS" status --json | jq -c '.capture // empty'
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
