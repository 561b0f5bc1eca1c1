#!/usr/bin/env bash
# Capture heals when a named interface goes and comes back.
#
#  1. sockwatchd in a victim namespace with [daemon] interfaces naming its
#     veth end, [portscan] action = block: an nmap -sS from the attacker
#     is alerted for and banned. The veth is deleted: within 2 s status
#     and metrics say capture on it is down, and the daemon lives on. It
#     is created again with the same names and addresses: within 2 s of
#     the link coming up status says up again, with one gap; a new scan
#     from another address, started 2 s after the link came up, is
#     alerted for and banned within 2 s. No inspector death is counted
#     (a flapping interface must not end the daemon). The same after the
#     interface is set down and up again (its index unchanged), and after
#     it flapped (deleted and created 6 times, 0.3 s apart).
#  2. The daemon started with [daemon] interfaces naming an interface
#     that does not exist: it starts, says so, and captures nothing; the
#     interface is created; a scan started 2 s after its link came up is
#     alerted for and banned within 2 s. The same after it was renamed
#     away (status says so within 2 s) and back.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft curl || exit 0
T=$SW_TMP

VNS=$(ns_add vic)
ANS=$(ns_add atk)
VIF="swcv$$"
AIF="swca$$"
VIF=${VIF:0:15}
AIF=${AIF:0:15}

# veth_up VIFNAME AIFNAME NET: the pair between the namespaces, NET.1 on
# the victim's end and NET.2 on the attacker's; prints the epoch time
# (ms) when the victim's end was set up.
veth_up() {
	ip link add "$1" netns "$VNS" type veth peer name "$2" netns "$ANS"
	ip -n "$VNS" addr add "$3.1/24" dev "$1"
	ip -n "$ANS" addr add "$3.2/24" dev "$2"
	ip -n "$ANS" link set "$2" up
	ip -n "$VNS" link set "$1" up
	now_ms
}

# state IF: up or down, as `sockwatch status --json` has it.
state() {
	swc "$VNS" status --json | jq -r --arg i "$1" \
	    '.capture.interface_state[] | select(.interface == $i) | .state'
}

# missing IF: status says there is no such interface.
missing() {
	swc "$VNS" status --json | jq -e --arg i "$1" \
	    '.capture.interface_state[] | select(.interface == $i) |
	    .exists == false' >/dev/null
}

# metric NAME IF: the sample's value in the Prometheus exposition.
metric() {
	ip netns exec "$VNS" curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
	    awk -v m="$1{interface=\"$2\"}" '$1 == m { print $2 }'
}

# until_state IF STATE: wait (at most 5 s) for it; prints the ms it took
# from FROM (epoch ms).
until_state() {
	local i
	for ((i = 0; i < 50; i++)); do
		if [ "$(state "$1")" = "$2" ]; then
			echo $(($(now_ms) - $3))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# scan_banned SRC TARGET IF UP: from SRC (added to the attacker's IF),
# 2 s after UP (epoch ms: the link came up), nmap -sS; the address must
# be alerted for and in ban4 within 2 s of the scan's start. Prints the
# ms it took.
scan_banned() {
	local src=$1 target=$2 aif=$3 up=$4 start i nm
	ip -n "$ANS" addr add "$src/32" dev "$aif"
	while [ "$(now_ms)" -lt $((up + 2000)) ]; do
		sleep 0.05
	done
	start=$(now_ms)
	bg timeout 20 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
	    --ttl 64 --max-retries 1 --host-timeout 6s -e "$aif" -S "$src" \
	    "$target" >"$T/nmap.out" 2>&1
	nm=$!
	for ((i = 0; i < 40; i++)); do
		in_set "$VNS" ban4 "$src" && break
		sleep 0.05
	done
	in_set "$VNS" ban4 "$src" || fail "nmap -sS from $src: not banned" \
	    "within 2 s: ban4 $(elems "$VNS" ban4 | xargs); alerts" \
	    "$(swc "$VNS" alerts --json --peer "$src" | jq -c '[.[] |
	    [.kind, .action]]')"
	echo $(($(now_ms) - start))
	wait "$nm" || true
	swc "$VNS" alerts --json --kind portscan --peer "$src" | jq -e \
	    '.[0].action == "block"' >/dev/null ||
	    fail "nmap -sS from $src: no portscan alert with action block"
}

# heals VIF AIF NET SRC [set]: the pair (created again; with "set", the
# victim's end only set up), then capture on VIF must be up within 2 s
# of its link, and a scan from NET.SRC banned.
heals() {
	local up took
	if [ "${5:-}" = set ]; then
		ip -n "$VNS" link set "$1" up
		up=$(now_ms)
	else
		up=$(veth_up "$1" "$2" "$3") || exit 1
	fi
	took=$(until_state "$1" up "$up") ||
	    fail "capture on $1 is not up 5 s after its link came up"
	[ "$took" -le 2000 ] ||
	    fail "capture on $1 came up $took ms after the link, want <= 2 s"
	echo "ok: capture on $1 is up $took ms after the link"
	took=$(scan_banned "$3.$4" "$3.1" "$2" "$up") || exit 1
	echo "ok: a scan on the new $1 is banned ($took ms after its start)"
}

# confined IF: the inspector now running is unprivileged (no effective
# capability, not root) and holds a packet socket bound to IF's index as
# it is now: its handle was opened before it dropped privileges.
confined() {
	local pid ifx ino st
	pid=$(swc "$VNS" status --json | jq -r .capture.inspector.pid)
	st=$(grep -E '^(PPid|Uid|CapEff):' "/proc/$pid/status" | xargs)
	[[ $st == "PPid: $SWD_PID Uid: "[1-9]* ]] ||
	    fail "the inspector is not an unprivileged child: $st"
	[[ $st == *"CapEff: 0000000000000000" ]] ||
	    fail "the inspector has capabilities: $st"
	ifx=$(ip netns exec "$VNS" cat "/sys/class/net/$1/ifindex")
	for ino in $(ip netns exec "$VNS" cat /proc/net/packet |
	    awk -v i="$ifx" 'NR > 1 && $5 == i { print $9 }'); do
		find "/proc/$pid/fd" -lname "socket:\[$ino\]" | grep -q . &&
		    return 0
	done
	fail "the inspector $pid holds no packet socket on $1 (index $ifx)"
}

# ---- 1. deleted and created again ------------------------------------------
up=$(veth_up "$VIF" "$AIF" 198.18.0) || exit 1
sw_conf "$T/sockwatch.conf" "tcp/80" "interfaces = $VIF"
printf '\n[portscan]\naction = block\nban = 60s\n' >>"$T/sockwatch.conf"
listen_start "$VNS" svc 'tcp:0.0.0.0:80'
swd_start "$VNS" "$T/sockwatch.conf"
until_state "$VIF" up "$(now_ms)" >/dev/null ||
    fail "capture on $VIF is not up at start"
took=$(scan_banned 198.18.0.11 198.18.0.1 "$AIF" "$up") || exit 1
echo "ok: a scan on $VIF is banned ($took ms)"

ip -n "$VNS" link del "$VIF"
gone=$(now_ms)
took=$(until_state "$VIF" down "$gone") ||
    fail "status: capture on $VIF is not down 5 s after its deletion"
[ "$took" -le 2000 ] || fail "status said down only after $took ms"
[ "$(metric sockwatch_capture_up "$VIF")" = 0 ] ||
    fail "sockwatch_capture_up{interface=\"$VIF\"} is not 0 while it is gone"
echo "ok: status and metrics say capture on $VIF is down ($took ms)"
sleep 1

heals "$VIF" "$AIF" 198.18.0 12
confined "$VIF"

swc "$VNS" status --json | jq -e --arg i "$VIF" \
    '.capture.interface_state[] | select(.interface == $i) |
    .gaps == 1 and .last_gap_s > 1 and .last_gap_s < 10' >/dev/null ||
    fail "status: $(swc "$VNS" status --json | jq -c \
    .capture.interface_state), want one gap of 1 to 10 s"
swc "$VNS" status | grep -E "^  $VIF +up since .*, 1 gap \(last [0-9.]+ s\)$" \
    >/dev/null || fail "status text: $(swc "$VNS" status)"
got="$(metric sockwatch_capture_up "$VIF") $(metric \
    sockwatch_capture_gaps_total "$VIF")"
[ "$got" = "1 1" ] || fail "metrics: capture_up and gaps_total $got, want 1 1"
grep -Eq "capture on $VIF: up again after [0-9.]+ s \(down since " \
    "$SWD_LOG" || fail "the log does not tell the gap"
swc "$VNS" status --json | jq -e '.capture.inspector.deaths == 0' \
    >/dev/null || fail "an inspector death was counted"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "ok: one gap in status, metrics and the log; no inspector death; the" \
    "new inspector is unprivileged and holds a handle on the new $VIF"

# ifdown/ifup: the same interface, the same index.
ip -n "$VNS" link set "$VIF" down
until_state "$VIF" down "$(now_ms)" >/dev/null ||
    fail "status: capture on $VIF is not down 5 s after it was set down"
sleep 1
heals "$VIF" "$AIF" 198.18.0 13 set
swc "$VNS" status --json | jq -e --arg i "$VIF" \
    '.capture.interface_state[] | select(.interface == $i) | .gaps == 2' \
    >/dev/null || fail "status: $(swc "$VNS" status --json | jq -c \
    .capture.interface_state), want a second gap"
echo "ok: set down and up again: a second gap"

# Flapping: deleted and created again 6 times, 0.3 s apart. New
# inspectors are rate-limited, none of it is a death, and the last link
# is captured within 2 s all the same.
for ((i = 0; i < 6; i++)); do
	ip -n "$VNS" link del "$VIF"
	veth_up "$VIF" "$AIF" 198.18.0 >/dev/null
	sleep 0.3
done
ip -n "$VNS" link del "$VIF"
heals "$VIF" "$AIF" 198.18.0 14
swc "$VNS" status --json | jq -e '.capture.inspector.deaths == 0' \
    >/dev/null || fail "flapping: an inspector death was counted"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "ok: flapping: no death, capture back on the last link"
swd_stop
[ "$SWD_RC" -eq 0 ] || fail "sockwatchd exited $SWD_RC"

# ---- 2. missing at start ---------------------------------------------------
LVIF="swlv$$"
LAIF="swla$$"
LVIF=${LVIF:0:15}
LAIF=${LAIF:0:15}
sw_conf "$T/sockwatch.conf" "tcp/80" "interfaces = $LVIF"
printf '\n[portscan]\naction = block\nban = 60s\n' >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"
[ "$(state "$LVIF")" = down ] || fail "capture on $LVIF is not down"
grep -q "capture on $LVIF: no such interface" "$SWD_LOG" ||
    fail "the log does not say $LVIF is missing"
grep -q "none of \[daemon\] interfaces exists" "$SWD_LOG" ||
    fail "the log does not say that nothing is captured"
swc "$VNS" status | grep -E "^  $LVIF +down since .*\(no such interface\)$" \
    >/dev/null || fail "status text: $(swc "$VNS" status)"
echo "ok: sockwatchd starts without $LVIF and says so"
sleep 1
heals "$LVIF" "$LAIF" 198.18.2 12

# Renamed away (no event names the old name: the index under a new one
# says it), then back.
ip -n "$VNS" link set "$LVIF" down
ip -n "$VNS" link set "$LVIF" name "swlr$$"
ip -n "$VNS" link set "swlr$$" up
wait_for 2 missing "$LVIF" ||
    fail "status: $LVIF still exists 2 s after its rename"
ip -n "$VNS" link set "swlr$$" down
ip -n "$VNS" link set "swlr$$" name "$LVIF"
heals "$LVIF" "$LAIF" 198.18.2 13 set
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
