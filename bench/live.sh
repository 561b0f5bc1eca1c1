#!/bin/bash
# Benchmark: live capture under a SYN flood. Two network namespaces joined
# by a veth pair (victim 198.18.0.1/24, sender 198.18.0.2/24); the sender
# runs bench/synblast (raw IPv4 SYNs to 198.18.0.1:80 from thousands of
# spoofed sources in 198.18.1.0-198.18.255.255, bounded in count and
# time) three times, each time with one capturer on the victim's veth:
#   sockwatchd          interfaces = the veth, metrics off; capture
#                       received/dropped from `sockwatch status --json`
#                       (after minus before)
#   bench/pcap_live     the bare loop: the daemon's pcap settings, a count
#                       per source; received/dropped from its pcap_stats
#   tcpdump -s 256 -w /dev/null   its exit summary
# CPU is the capturing process's time on a CPU over the blast (all its
# threads' /proc/PID/task/*/schedstat, before and after: in nanoseconds,
# where /proc/PID/stat counts 10 ms ticks), so it leaves out the kernel work
# done in softirq on the sender's CPU (the ring copy, the BPF filter).
# Prints a markdown table on stdout, progress on stderr.
#
# Usage: bench/live.sh [BUILD]   (default "build"; needs sockwatchd,
# sockwatch, bench/synblast and bench/pcap_live in it; run as root)
# Environment: LIVE_PACKETS (default 1000000), LIVE_SECS (the bound on
# each blast, default 30), LIVE_SOURCES (default 10000), LIVE_SEND_CPU
# and LIVE_CAP_CPU (the CPUs for the sender and the capturer, default
# the first and the last this script may use; "none" for both: no pinning),
# LIVE_PERF (a file: `perf record -p` on sockwatchd during its blast
# writes there, with the options in LIVE_PERF_OPTS, e.g. "-g").
set -euo pipefail

BUILD=${1:-build}
NPKTS=${LIVE_PACKETS:-1000000}
SECS=${LIVE_SECS:-30}
NSRC=${LIVE_SOURCES:-10000}
PORT=80
VIC4=198.18.0.1
SND4=198.18.0.2

die() { echo "live.sh: $*" >&2; exit 1; }
note() { echo "live.sh: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, raw sockets)"
[[ $NPKTS =~ ^[1-9][0-9]*$ ]] || die "LIVE_PACKETS=$NPKTS: not a number"
if ! [[ $SECS =~ ^[1-9][0-9]*$ ]] || [ "$SECS" -gt 600 ]; then
	die "LIVE_SECS=$SECS: want 1..600"
fi
for f in sockwatchd sockwatch bench/synblast bench/pcap_live; do
	[ -x "$BUILD/$f" ] || die "$BUILD/$f: not built (make BUILD=$BUILD all $BUILD/bench/synblast $BUILD/bench/pcap_live)"
done
SWD=$(realpath "$BUILD/sockwatchd")
SW=$(realpath "$BUILD/sockwatch")
BLAST=$(realpath "$BUILD/bench/synblast")
LIVE=$(realpath "$BUILD/bench/pcap_live")
for t in ip jq tcpdump taskset; do
	command -v "$t" >/dev/null || die "$t: not installed"
done
TCPDUMP=$(command -v tcpdump)

cpus=$(taskset -pc $$ | sed 's/.*: *//')
SEND_CPU=${LIVE_SEND_CPU:-${cpus%%[,-]*}}
CAP_CPU=${LIVE_CAP_CPU:-${cpus##*[,-]}}
SPIN=()
CPIN=()
[ "$SEND_CPU" = none ] || SPIN=(taskset -c "$SEND_CPU")
[ "$CAP_CPU" = none ] || CPIN=(taskset -c "$CAP_CPU")

WORK=$(mktemp -d /tmp/sockwatch-live.XXXXXX)
chmod 0755 "$WORK"
VNS=sw-live-vic-$$
SNS=sw-live-snd-$$
VIF=vlv$$
SIF=vls$$
VIF=${VIF:0:15}
SIF=${SIF:0:15}
PIDS=()
NETNS=()

cleanup() {
	local pid
	trap '' INT TERM
	set +eu
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the network --------------------------------------------------------
ip netns add "$VNS"
NETNS+=("$VNS")
ip netns add "$SNS"
NETNS+=("$SNS")
for ns in "$VNS" "$SNS"; do
	ip -n "$ns" link set lo up
	# No IPv6 on the link: no neighbour discovery in the counts.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$VIF" netns "$VNS" type veth peer name "$SIF" netns "$SNS"
ip -n "$VNS" addr add "$VIC4/24" dev "$VIF"
ip -n "$SNS" addr add "$SND4/24" dev "$SIF"
ip -n "$VNS" link set "$VIF" up
ip -n "$SNS" link set "$SIF" up
# The sender knows the victim's MAC before the blast starts: no ARP.
vmac=$(ip netns exec "$VNS" cat "/sys/class/net/$VIF/address")
ip -n "$SNS" neigh replace "$VIC4" lladdr "$vmac" dev "$SIF" nud permanent

# A listener on the target port, so that the flood is a SYN flood against
# a service (the synflood detector watches listeners). Its answers go
# nowhere: the victim has no route to 198.18.1.0 and up.
ip netns exec "$VNS" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(128)
time.sleep(int(sys.argv[2]))' "$PORT" $((3 * SECS + 120)) &
PIDS+=("$!")

# --- helpers ------------------------------------------------------------
# cpu_ns PID: time on a CPU of all of PID's threads and of its child
# processes' (sockwatchd's inspector and exporter), in nanoseconds
# (schedstat: exact, where /proc/PID/stat counts 10 ms ticks).
cpu_ns() {
	local p
	for p in "$1" $(pgrep -P "$1"); do
		cat /proc/"$p"/task/*/schedstat
	done | awk '{ s += $1 } END { print s }'
}

# vif_rx: packets the victim's veth received, and dropped.
vif_rx() {
	ip netns exec "$VNS" sh -c "cat /sys/class/net/$VIF/statistics/rx_packets \
	    /sys/class/net/$VIF/statistics/rx_dropped" | paste -sd ' '
}

# wait_for SECS PID CMD...: retry CMD every 50 ms until it succeeds, PID
# exits (fail) or SECS pass (fail).
wait_for() {
	local secs=$1 pid=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# stop_pid PID: SIGTERM, and wait (at most 5 s, then SIGKILL).
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# blast NAME PID: the flood, with the capturer PID's CPU and the veth's
# counters read before and after; sets CPU_MS, SENT, RATE, ARRIVED,
# VDROP.
blast() {
	local name=$1 pid=$2 c0 c1 r0 r1
	sleep 0.3
	local perf=
	if [ "$name" = sockwatchd ] && [ -n "${LIVE_PERF:-}" ]; then
		# shellcheck disable=SC2086
		perf record -q ${LIVE_PERF_OPTS:-} -o "$LIVE_PERF" -p \
		    "$(pgrep -P "$pid" | paste -sd, | sed "s/^/$pid,/;s/,$//")" \
		    >/dev/null 2>"$WORK/perf.err" &
		perf=$!
		PIDS+=("$perf")
		sleep 0.5
	fi
	r0=$(vif_rx)
	c0=$(cpu_ns "$pid")
	ip netns exec "$SNS" "${SPIN[@]}" "$BLAST" -n "$NPKTS" -t "$SECS" \
	    -s "$NSRC" "$VIC4" "$PORT" >"$WORK/$name.blast"
	# Two buffer timeouts and then some: everything queued is read.
	sleep 0.5
	if [ -n "$perf" ]; then
		kill -INT "$perf"
		wait "$perf" || true
		note "perf data in $LIVE_PERF"
	fi
	c1=$(cpu_ns "$pid")
	r1=$(vif_rx)
	CPU_MS=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	SENT=$(awk '$1 == "sent" { print $2 }' "$WORK/$name.blast")
	RATE=$(awk '$1 == "rate" { print $2 }' "$WORK/$name.blast")
	ARRIVED=$((${r1% *} - ${r0% *}))
	VDROP=$((${r1#* } - ${r0#* }))
	note "$name: sent $SENT at $RATE/s, $ARRIVED arrived on $VIF ($VDROP dropped there), capturer CPU $CPU_MS ms"
}

declare -A R_SENT R_RATE R_RECV R_DROP R_CPU R_ARR

record() {
	R_SENT[$1]=$SENT
	R_RATE[$1]=$RATE
	R_ARR[$1]=$ARRIVED
	R_CPU[$1]=$CPU_MS
	R_RECV[$1]=$2
	R_DROP[$1]=$3
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 1: sockwatchd ------------------------------------------------------
SOCK=$WORK/sockwatch.sock
cat >"$WORK/sockwatch.conf" <<EOF
[daemon]
socket = $SOCK
database = $WORK/sockwatch.db
alerts_file = $WORK/alerts.jsonl
metrics_listen =
interfaces = $VIF

[listen]
allow = tcp/22, tcp/$PORT
action = alert
EOF
swstatus() { ip netns exec "$VNS" "$SW" -S "$SOCK" status --json; }
note "run 1/3: sockwatchd on $VIF"
ip netns exec "$VNS" "${CPIN[@]}" "$SWD" -f -c "$WORK/sockwatch.conf" \
    >"$WORK/sockwatchd.log" 2>&1 &
SWD_PID=$!
PIDS+=("$SWD_PID")
swd_up() { [ "$(swstatus | jq -r .pid)" = "$SWD_PID" ]; }
wait_for 10 "$SWD_PID" swd_up ||
    die "sockwatchd did not answer: $(tail -5 "$WORK/sockwatchd.log")"
s0=$(swstatus | jq -c '.capture | [.received, .dropped]')
blast sockwatchd "$SWD_PID"
swstatus >"$WORK/status.json"
s1=$(jq -c '.capture | [.received, .dropped]' "$WORK/status.json")
record sockwatchd \
    $(($(jq '.[0]' <<<"$s1") - $(jq '.[0]' <<<"$s0"))) \
    $(($(jq '.[1]' <<<"$s1") - $(jq '.[1]' <<<"$s0")))
SWD_PEERS=$(jq -r '.capture | "\(.peers) peers (cap \(.max_peers)), \(.peer_evictions) evictions"' "$WORK/status.json")
SWD_ALERTS=$(ip netns exec "$VNS" "$SW" -S "$SOCK" alerts --json 2>/dev/null |
    jq -r '[.[] | .kind] | group_by(.) | map("\(length) \(.[0])") | join(", ")' ||
    echo "?")
stop_pid "$SWD_PID"

# --- 2: the bare loop ---------------------------------------------------
note "run 2/3: pcap_live on $VIF"
ip netns exec "$VNS" "${CPIN[@]}" "$LIVE" -t $((SECS + 30)) "$VIF" \
    >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE_PID=$!
PIDS+=("$LIVE_PID")
wait_for 10 "$LIVE_PID" grep -q 'listening on' "$WORK/live.err" ||
    die "pcap_live did not start: $(cat "$WORK/live.err")"
blast pcap_live "$LIVE_PID"
stop_pid "$LIVE_PID"
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
record pcap_live "$(get "$WORK/live.out" pcap_recv)" \
    "$(get "$WORK/live.out" pcap_drop)"
LIVE_HANDLED=$(get "$WORK/live.out" received)
LIVE_SOURCES=$(get "$WORK/live.out" sources)
LIVE_RUSAGE=$(awk '$1 == "cpu_ms" { print $2 }' "$WORK/live.out")

# --- 3: tcpdump ---------------------------------------------------------
note "run 3/3: tcpdump on $VIF"
ip netns exec "$VNS" "${CPIN[@]}" "$TCPDUMP" -i "$VIF" -s 256 -w /dev/null \
    >"$WORK/tcpdump.out" 2>"$WORK/tcpdump.err" &
TD_PID=$!
PIDS+=("$TD_PID")
wait_for 10 "$TD_PID" grep -q 'listening on' "$WORK/tcpdump.err" ||
    die "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
blast tcpdump "$TD_PID"
stop_pid "$TD_PID"
record tcpdump \
    "$(awk '/packets received by filter/ { print $1 }' "$WORK/tcpdump.err")" \
    "$(awk '/packets dropped by kernel/ { print $1 }' "$WORK/tcpdump.err")"
[ -n "${R_RECV[tcpdump]}" ] ||
    die "no summary from tcpdump: $(cat "$WORK/tcpdump.err")"

# --- the report ---------------------------------------------------------
nspp() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.0f", (n > 0 ? c * 1e6 / n : 0) }'; }
base=$(nspp "${R_CPU[pcap_live]}" "${R_RECV[pcap_live]}")

row() {
	local k=$1 label=$2 ns
	ns=$(nspp "${R_CPU[$k]}" "${R_RECV[$k]}")
	awk -v l="$label" -v s="${R_SENT[$k]}" -v a="${R_ARR[$k]}" \
	    -v r="${R_RECV[$k]}" -v d="${R_DROP[$k]}" -v c="${R_CPU[$k]}" \
	    -v ns="$ns" -v b="$base" -v rate="${R_RATE[$k]}" 'BEGIN {
		printf "| %s | %d | %d | %d | %d | %.1f | %d | %s | %.0f |\n",
		    l, s, a, r, d, c, ns, (b > 0 ? sprintf("%.2fx", ns / b) : "-"), rate
	}'
}

if [ ${#CPIN[@]} -gt 0 ]; then
	pinned="sender on CPU $SEND_CPU, capturer on CPU $CAP_CPU (taskset)"
else
	pinned="not pinned"
fi
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rev=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)

cat <<EOF
### Live capture: a SYN flood over a veth

- sockwatch $rev; $(uname -sr); ${cpu_model:-unknown CPU}, $(nproc --all) CPUs; $pinned
- Each run: \`synblast -n $NPKTS -t $SECS -s $NSRC $VIC4 $PORT\` in the sender namespace (raw IPv4 SYNs, $NSRC spoofed sources, to a listener on port $PORT), one capturer on the victim's veth \`$VIF\`
- Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)
- CPU: the capturing process's time on a CPU over the blast, from /proc/PID/task/*/schedstat (time on a CPU, in ns); ns per packet = CPU / received
- received: what pcap_stats says passed the filter (sockwatchd: capture.received after minus before); dropped: pcap_stats' kernel drops (ring full)

| capturer | sent | arrived on veth | received | dropped | CPU ms | CPU ns/packet | x bare loop | sender packets/s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
row sockwatchd "sockwatchd (interfaces = veth)"
row pcap_live "bench/pcap_live (the bare loop)"
row tcpdump "\`tcpdump -i VETH -s 256 -w /dev/null\`"
echo
echo "- sockwatchd: $SWD_PEERS; alerts: ${SWD_ALERTS:-none}"
echo "- pcap_live: handled $LIVE_HANDLED packets from $LIVE_SOURCES sources; its whole-run getrusage CPU $LIVE_RUSAGE ms"
echo "- tcpdump: $(grep -E 'packets (captured|received|dropped)' "$WORK/tcpdump.err" | paste -sd ';' | sed 's/;/; /g')"
echo
awk -v d="${R_DROP[sockwatchd]}" -v ns="$(nspp "${R_CPU[sockwatchd]}" "${R_RECV[sockwatchd]}")" \
    -v b="$base" -v rate="${R_RATE[sockwatchd]}" 'BEGIN {
	printf "Targets (issue 4): no kernel drops at the sender'"'"'s top rate (%.0f packets/s): %s (%d dropped); CPU per packet within 2x of the bare loop: %s (%.2fx).\n",
	    rate, (d == 0 ? "met" : "NOT met"), d,
	    (b > 0 && ns / b <= 2 ? "met" : "NOT met"), (b > 0 ? ns / b : 0)
}'
