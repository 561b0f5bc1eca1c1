#!/usr/bin/env bash
# The portscan detector against real nmap scans, live and offline.
#
# sockwatchd captures on every interface of a victim namespace; an
# attacker namespace scans it with nmap: -sS, -sT, -sF, -sN, -sX, -sA,
# -sW, -sM and -sU over IPv4, -sS and -sU over IPv6, each a few seconds
# after the last. After each scan `sockwatch alerts --kind portscan` has
# exactly one new alert, for the attacker, naming the scan's kind, and
# `sockwatch peers` lists the attacker with that probe kind. tcpdump on
# the victim's link records the scans; `sockwatch analyze` on that file
# must raise the same (kind, peer, scan) alerts as the daemon did live.
#
# SW_SAVE_CAPTURE=FILE also copies the capture to FILE: that is how
# tests/data/scans.pcap (replayed by test_traffic_replay.sh) was made.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap tcpdump || exit 0
T=$SW_TMP

tr_net
tr_conf "$T/sockwatch.conf" "tcp/80, tcp/25, udp/53"
# Open ports for the scans to find, over IPv4 and IPv6 (dual-stack).
listen_start "$VNS" svc 'tcp:[::]:80' 'tcp:[::]:25' 'udp:[::]:53'
swd_start "$VNS" "$T/sockwatch.conf"

# Record the attacker's link (what the daemon sees on it) for analyze.
bg timeout 120 ip netns exec "$VNS" tcpdump -Z root -i "$VIF" -s 256 -U \
    -c 20000 -w "$T/scans.pcap" 2>"$T/tcpdump.err"
td=$!
wait_for 5 grep -q "listening on" "$T/tcpdump.err" ||
    fail "tcpdump did not start: $(cat "$T/tcpdump.err")"

# The scans: nmap's option, the target, the evidence's scan name, the
# probe kind `sockwatch peers` shows, and the start of the message.
scans=(
	"-sS 198.18.0.1 syn syn SYN scan"
	"-sT 198.18.0.1 connect syn connect scan"
	"-sF 198.18.0.1 fin fin FIN scan"
	"-sN 198.18.0.1 null null NULL scan"
	"-sX 198.18.0.1 xmas xmas Xmas scan"
	"-sA 198.18.0.1 ack ack ACK/window scan"
	"-sW 198.18.0.1 ack ack ACK/window scan"
	"-sM 198.18.0.1 maimon maimon Maimon scan"
	"-sU 198.18.0.1 udp udp UDP scan"
	"-sS 2001:db8::1 syn syn SYN scan"
	"-sU 2001:db8::1 udp udp UDP scan"
)
want=0
expect=()
for s in "${scans[@]}"; do
	read -r opt target scan pkind label <<<"$s"
	case $target in
	*:*) peer=$ATK6 six=-6 ;;
	*) peer=$ATK4 six= ;;
	esac
	# 100 TCP ports or 50 UDP ones: well over the 20 of [portscan] ports.
	ports=1-100
	[ "$opt" = -sU ] && ports=1-50
	got=$(n_alerts "$VNS" --kind portscan)
	[ "$got" -eq "$want" ] ||
	    fail "before nmap $opt $target: $got portscan alerts, want $want"
	start=$EPOCHREALTIME
	# shellcheck disable=SC2086 # $six: -6 or nothing
	timeout 60 ip netns exec "$ANS" nmap $six -n -Pn "$opt" -p "$ports" \
	    -T4 --max-retries 1 --host-timeout 30s "$target" \
	    >"$T/nmap.out" 2>&1 || fail "nmap $opt $target: $(cat "$T/nmap.out")"
	end=$(now_ms)
	want=$((want + 1))
	expect+=("[\"portscan\",\"$peer\",\"$scan\"]")
	wait_for 5 alerts_ge "$VNS" "$want" --kind portscan ||
	    fail "nmap $opt $target: no portscan alert within 5 s"
	swc "$VNS" alerts --json --kind portscan >"$T/ps.json"
	jq -e --arg p "$peer" --arg s "$scan" --arg l "$label" '.[-1] |
	    .peer == $p and .evidence.scan == $s and
	    (.message | startswith($l + " from " + $p + ": ")) and
	    .evidence.ports > .evidence.ports_limit and
	    .evidence.hosts == 1 and .action == "alert"' "$T/ps.json" \
	    >/dev/null || fail "nmap $opt $target: the alert is $(jq -c \
	    '.[-1]' "$T/ps.json"), want peer $peer, scan $scan ($label)"
	# The peer table has the attacker, with this scan's probes.
	swc "$VNS" peers --json >"$T/peers.json"
	jq -e --arg p "$peer" --arg k "$pkind" 'any(.[]; .addr == $p and
	    (.kinds | index($k)) != null)' "$T/peers.json" >/dev/null ||
	    fail "nmap $opt $target: peers: $(jq -c --arg p "$peer" \
	    '.[] | select(.addr == $p)' "$T/peers.json"), want kind $pkind"
	echo "ok: nmap $opt $target ($(awk -v a="$start" -v b="$end" \
	    'BEGIN { printf "%.1f", b / 1000 - a }') s): $(jq -r \
	    '.[-1].message' "$T/ps.json")"
	tr_quiet "$end"
done

# The scans raised nothing else: no second alert for a scan, no synflood
# or bruteforce alert, no alert for another peer.
alerts_json "$VNS" "$T/alerts.json"
want_set=$(printf '%s\n' "${expect[@]}" | jq -s -c 'sort')
got_set=$(traffic_alerts "$T/alerts.json")
[ "$got_set" = "$want_set" ] ||
    fail "alerts $got_set, want $want_set"
[ "$(jq length "$T/alerts.json")" -eq "${#scans[@]}" ] ||
    fail "other alerts too: $(jq -c '[.[] | [.kind, .message]]' \
    "$T/alerts.json")"
swc "$VNS" peers --json --sort ports -n 1 | jq -e --arg p "$ATK6" \
    '.[0].addr == $p' >/dev/null || fail "peers --sort ports: the last" \
    "scanner is not first"
echo "ok: one alert per scan, nothing else"

# The capture: nothing lost, and the same alerts offline.
kill -INT "$td"
wait "$td" || true
grep -qx "0 packets dropped by kernel" "$T/tcpdump.err" ||
    fail "tcpdump: $(cat "$T/tcpdump.err")"
echo "ok: tcpdump: $(grep 'packets captured' "$T/tcpdump.err"), $(stat -c %s \
    "$T/scans.pcap") bytes"
rc=0
"$SW" analyze -c "$T/sockwatch.conf" --local "$VIC4" --local "$VIC6" \
    --json "$T/scans.pcap" >"$T/analyze.json" || rc=$?
[ "$rc" -eq 1 ] || fail "analyze exited $rc, want 1 (alerts)"
jq .alerts "$T/analyze.json" >"$T/analyze-alerts.json"
got_off=$(traffic_alerts "$T/analyze-alerts.json")
[ "$got_off" = "$got_set" ] ||
    fail "analyze of the capture: $got_off; live: $got_set"
echo "ok: sockwatch analyze on the capture: the same ${#scans[@]} alerts"
if [ -n "${SW_SAVE_CAPTURE:-}" ]; then
	cp "$T/scans.pcap" "$SW_SAVE_CAPTURE"
	echo "saved the capture as $SW_SAVE_CAPTURE"
fi

swc "$VNS" status --json | jq -e '.capture.dropped == 0' >/dev/null ||
    fail "the daemon's capture dropped packets: $(swc "$VNS" status \
    --json | jq -c .capture)"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
