#!/usr/bin/env bash
# Every nmap scan type gets a real attacker banned, not only -sS
# (test_bans.sh): with [portscan] action = block, each of -sT, -sF, -sN,
# -sX, -sA, -sW, -sM and -sU over IPv4, and -sF and -sU over IPv6, from
# an address of its own on the attacker's interface, is alerted for with
# the scan's name and action block, and the address is in ban4 (ban6)
# within 5 s of the scan's end.
#
# The probes carry the TTL of the attacker's own stack (--ttl 64): nmap
# gives raw probes a random TTL by default, and a peer whose handshake
# (-sT completes some) and probes disagree on the hop count is
# spoof-suspect, never banned automatically (test_spoof.sh). Not over
# IPv6: nmap 7.93 -6 with --ttl sends no probe at all ("0 hosts up"); the
# IPv6 scans here complete no handshake, so their hop limit is not
# compared with anything.
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
tr_conf "$T/sockwatch.conf" "tcp/80, tcp/25, udp/53"
printf 'action = block\nban = 60s\n' >>"$T/sockwatch.conf"
# Open ports for the scans to find, over IPv4 and IPv6 (dual-stack).
listen_start "$VNS" svc 'tcp:[::]:80' 'tcp:[::]:25' 'udp:[::]:53'
swd_start "$VNS" "$T/sockwatch.conf"

# nmap's option, the scanner's address (its own, added to the attacker's
# interface) and the evidence's scan name.
scans=(
	"-sT 198.18.0.11 connect"
	"-sF 198.18.0.12 fin"
	"-sN 198.18.0.13 null"
	"-sX 198.18.0.14 xmas"
	"-sA 198.18.0.15 ack"
	"-sW 198.18.0.16 ack"
	"-sM 198.18.0.17 maimon"
	"-sU 198.18.0.18 udp"
	"-sF 2001:db8::12 fin"
	"-sU 2001:db8::18 udp"
)
n=0
for s in "${scans[@]}"; do
	read -r opt src scan <<<"$s"
	case $src in
	*:*) six=-6 target=$VIC6 set=ban6 ttl='' ;;
	*) six='' target=$VIC4 set=ban4 ttl='--ttl 64' ;;
	esac
	if [ -n "$six" ]; then
		ip -n "$ANS" addr add "$src/128" dev "$ATKIF" nodad
	else
		ip -n "$ANS" addr add "$src/32" dev "$ATKIF"
	fi
	ports=1-200
	[ "$opt" = -sU ] && ports=1-60
	start=$EPOCHREALTIME
	# The ban comes within the first second; what it leaves unanswered
	# slows nmap down (once 24 s for -sF), so each scan gets 6 s.
	# shellcheck disable=SC2086 # $six, $ttl: options or nothing
	timeout 20 ip netns exec "$ANS" nmap $six -n -Pn "$opt" -p "$ports" \
	    -T4 $ttl --max-retries 1 --host-timeout 6s -e "$ATKIF" \
	    -S "$src" "$target" >"$T/nmap.out" 2>&1 ||
	    fail "nmap $opt from $src: $(cat "$T/nmap.out")"
	took=$(awk -v a="$start" -v b="$EPOCHREALTIME" \
	    'BEGIN { printf "%.1f", b - a }')
	wait_for 5 in_set "$VNS" "$set" "$src" || fail "nmap $opt from $src: \
not in $set after $took s: $(elems "$VNS" "$set"); alerts: $(swc "$VNS" \
alerts --json --peer "$src" | jq -c '[.[] | [.kind, .action, .evidence.scan,
.evidence.not_banned]]')"
	swc "$VNS" alerts --json --kind portscan --peer "$src" >"$T/ps.json"
	# The first alert bans; a scan that goes on (nmap retries what the
	# ban leaves unanswered) may be alerted for again a window later.
	jq -e --arg s "$scan" '.[0].action == "block" and
	    all(.[]; .evidence.scan == $s)' "$T/ps.json" >/dev/null ||
	    fail "nmap $opt from $src: alerts $(jq -c '[.[] | [.action,
	    .evidence.scan, .message]]' "$T/ps.json"), want $scan, block"
	n=$((n + 1))
	echo "ok: nmap $six $opt from $src ($took s): banned; $(jq -r \
	    '.[0].message' "$T/ps.json") ($(jq length "$T/ps.json") alert(s))"
done
[ "$(elems "$VNS" ban4 | wc -l) $(elems "$VNS" ban6 | wc -l)" = "8 2" ] ||
    fail "ban4: $(elems "$VNS" ban4 | xargs); ban6:" \
    "$(elems "$VNS" ban6 | xargs); want the $n scanners, nothing else"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
