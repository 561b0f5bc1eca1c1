#!/bin/bash
# Benchmark: the enforcement path (docs/benchmarks.md section 6).
#
#  1. Banning 100,000 IPv4 addresses, side by side:
#     (a) `sockwatch block --for 1h -f LIST` against a sockwatchd in a
#         namespace ([daemon] interfaces = none), with [bans]
#         kill_connections = yes and = no;
#     (b) `nft -f FILE`: one `add element` of the same 100,000 (each with
#         timeout 1h) into a set (type ipv4_addr; flags timeout) of a
#         scratch table in another namespace;
#     (c) one `nft add element` process per address, 1,000 of them,
#         extrapolated to 100,000;
#     (d) build/bench/nft_floor: a bare libnftnl batch (its own namespace).
#  2. Restore: the daemon holds the 100,000 bans; SIGTERM, delete table
#     inet sockwatch, start again; time until `sockwatch status` answers
#     and until ban4 holds 100,000 elements; the "read N bans from the
#     database" log line.
#  3. Latency from the SYN that crosses [portscan] ports = 20 to the
#     "add element inet sockwatch ban4" line of `nft monitor` in the
#     victim's namespace, once per attacker address.
#
# Usage: bash bench/bans.sh [BUILD]   (default build). Run as root.
# Environment: RUNS (3, runs of 1a/1b/2), LAT_RUNS (11), N (100000),
# PER_ADDR (1000), KILL_RUNS (1, runs with kill_connections = yes),
# PERF (0; 1: perf record -g the daemon for PERF_SECS (10) s at the start
# of the first block with kill_connections = yes).
# Prints markdown on stdout; progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$here/build}
RUNS=${RUNS:-3}
LAT_RUNS=${LAT_RUNS:-11}
N=${N:-100000}
PER_ADDR=${PER_ADDR:-1000}
PERF=${PERF:-0}
PERF_SECS=${PERF_SECS:-10}
KILL_RUNS=${KILL_RUNS:-1}	# kill_connections = yes is slow (see docs)

die() { echo "bans.sh: $*" >&2; exit 1; }
note() { echo "bans.sh: $(date +%T) $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
SWD=$(realpath "$BUILD/sockwatchd")
SW=$(realpath "$BUILD/sockwatch")
FLOOR=$(realpath "$BUILD/bench/nft_floor")
for f in "$SWD" "$SW" "$FLOOR"; do [ -x "$f" ] || die "$f: not built"; done
for t in ip nft jq nmap stdbuf awk; do
	command -v "$t" >/dev/null || die "$t: not installed"
done

NSB=swbans-$$		# sockwatchd for 1a and 2
NSN=swnft-$$		# nft -f and per-address nft
NSV=swvic-$$		# 3: victim
NSA=swatk-$$		# 3: attacker
WORK=$(mktemp -d /tmp/sockwatch-bans.XXXXXX)
PIDS=()
NSS=()
DPID=

cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up; }
now() { echo "$EPOCHREALTIME"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }
drop() {		# forget PID $1 in PIDS
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# The addresses: 198.18.0.0/15 in order, skipping every .0.
awk -v n="$N" 'BEGIN { for (i = 0; c < n; i++) { if (i % 256 == 0) continue;
    printf "%d.%d.%d.%d\n", 198 + int(i / 16777216), 18 + int(i / 65536),
    int(i / 256) % 256, i % 256; c++ } }' > "$WORK/list"
[ "$(sort -u "$WORK/list" | wc -l)" -eq "$N" ] || die "list not distinct"
{
	printf 'add element inet bench ban4 { '
	awk 'NR > 1 { printf ", " } { printf "%s timeout 1h", $1 }' "$WORK/list"
	printf ' }\n'
} > "$WORK/add.nft"

# conf FILE DIR EXTRA...: a daemon config with everything under DIR.
conf() {
	local f=$1 d=$2
	shift 2
	{
		echo "[daemon]"
		echo "socket = $d/sw.sock"
		echo "database = $d/sw.db"
		echo "alerts_file = $d/alerts.jsonl"
		echo "metrics_listen ="
		printf '%s\n' "$@"
	} > "$f"
}

# start NS CONF DIR: sockwatchd -f in NS, its log lines prefixed with
# $EPOCHREALTIME into DIR/log; returns when status answers. Sets DPID,
# T_STATUS (epoch s when status first answered).
start() {
	local ns=$1 cf=$2 d=$3 deadline=$((SECONDS + 60))
	ip netns exec "$ns" "$SWD" -f -c "$cf" 2> >(while IFS= read -r l; do
	    echo "$EPOCHREALTIME $l"; done >> "$d/log") &
	DPID=$!
	PIDS+=("$DPID")
	until "$SW" -S "$d/sw.sock" status >/dev/null 2>&1; do
		kill -0 "$DPID" 2>/dev/null || { cat "$d/log" >&2; die "sockwatchd exited"; }
		[ "$SECONDS" -lt "$deadline" ] || die "sockwatchd did not answer"
		sleep 0.005
	done
	T_STATUS=$(now)
}
stop() {
	kill -TERM "$DPID"
	wait "$DPID" 2>/dev/null || true
	drop "$DPID"
	DPID=
}
count_ban4() {
	ip netns exec "$1" nft -j list set inet "${2:-sockwatch}" ban4 2>/dev/null |
	    jq '[.nftables[].set? | select(. != null) | .elem[]?] | length' 2>/dev/null || echo 0
}

# ---- 1a. sockwatch block -f -------------------------------------------------
mkns "$NSB"
D=$WORK/d
mkdir -p "$D"
declare -A BLK
for kc in yes no; do
	nr=$RUNS
	[ "$kc" = yes ] && nr=$KILL_RUNS
	for ((r = 1; r <= nr; r++)); do
		rm -f "$D"/sw.db* "$D/alerts.jsonl"
		ip netns exec "$NSB" nft delete table inet sockwatch 2>/dev/null || true
		conf "$D/conf" "$D" "interfaces = none" "" "[bans]" \
		    "kill_connections = $kc"
		start "$NSB" "$D/conf" "$D"
		sleep 1
		if [ "$PERF" = 1 ] && [ "$r" = 1 ]; then
			perf record -q -F 999 -g -p "$DPID" -o "$WORK/perf.$kc" \
			    -- sleep "$PERF_SECS" >/dev/null 2>&1 &
			PPID_=$!
			PIDS+=("$PPID_")
			sleep 0.5
		fi
		t0=$(now)
		"$SW" -S "$D/sw.sock" block --for 1h -f "$WORK/list" >/dev/null
		t1=$(now)
		if [ "$PERF" = 1 ] && [ "$r" = 1 ]; then
			wait "$PPID_" 2>/dev/null || true
			drop "$PPID_"
		fi
		c=$(count_ban4 "$NSB")
		[ "$c" -eq "$N" ] || die "ban4 has $c elements after block, want $N"
		BLK[$kc]+="$(sub "$t0" "$t1") "
		note "1a kill_connections=$kc run $r: $(sub "$t0" "$t1") s"
		stop
	done
done
# The database and table of the last run (kill_connections = no) keep
# their 100,000 bans for part 2. No daemon runs meanwhile: the kernel
# builds a change event per element of any batch (nft -f's, the bare
# one's) while any process of the host listens to nftables events, as a
# daemon's monitor does.

# ---- 1b/1c. nft ---------------------------------------------------------------
mkns "$NSN"
ip netns exec "$NSN" nft -f - <<'EOF'
add table inet bench
add set inet bench ban4 { type ipv4_addr; flags timeout; }
EOF
NFTF=()
for ((r = 1; r <= RUNS; r++)); do
	ip netns exec "$NSN" nft flush set inet bench ban4
	t0=$(now)
	ip netns exec "$NSN" nft -f "$WORK/add.nft"
	t1=$(now)
	c=$(count_ban4 "$NSN" bench)
	[ "$c" -eq "$N" ] || die "bench ban4 has $c, want $N"
	NFTF+=("$(sub "$t0" "$t1")")
	note "1b nft -f run $r: ${NFTF[-1]} s"
done
ip netns exec "$NSN" nft flush set inet bench ban4
head -n "$PER_ADDR" "$WORK/list" > "$WORK/list1k"
t0=$(now)
while read -r a; do
	ip netns exec "$NSN" nft add element inet bench ban4 "{ $a timeout 1h }"
done < "$WORK/list1k"
t1=$(now)
PER=$(sub "$t0" "$t1")
PER100K=$(awk -v s="$PER" -v n="$N" -v k="$PER_ADDR" 'BEGIN { printf "%.1f", s * n / k }')
note "1c $PER_ADDR x nft add element: $PER s (x$((N / PER_ADDR)) = $PER100K s)"

# ---- 1d. the bare libnftnl floor ---------------------------------------------
"$FLOOR" -n "$N" -r "$RUNS" > "$WORK/floor.out"
cat "$WORK/floor.out" >&2
BARE=$(awk '/^bare batch:/ { printf "%.3f", $3 / 1000 }' "$WORK/floor.out")
BANADD=$(awk '/^nft_ban_add \(new\):/ { printf "%.3f", $3 / 1000 }' "$WORK/floor.out")

# ---- 2. restore ----------------------------------------------------------------
RS=() RK=() RL=() RT=()
for ((r = 1; r <= RUNS; r++)); do
	[ -z "$DPID" ] || stop
	ip netns exec "$NSB" nft delete table inet sockwatch
	: > "$D/log"
	t0=$(now)
	start "$NSB" "$D/conf" "$D"
	ts=$T_STATUS
	deadline=$((SECONDS + 60))
	while :; do
		tp=$(now)
		c=$(count_ban4 "$NSB")
		[ "$c" -eq "$N" ] && break
		[ "$SECONDS" -lt "$deadline" ] || die "ban4 has $c after 60 s"
		sleep 0.01
	done
	tk=$(now)
	tl=$(awk '/read [0-9]+ bans from the database/ { print $1; exit }' "$D/log")
	line=$(grep -o 'read [0-9]* bans from the database.*' "$D/log" | head -1)
	tr=$(awk '/table inet sockwatch ready/ { print $1; exit }' "$D/log")
	RT+=("$(sub "$t0" "${tr:-$t0}")")
	RS+=("$(sub "$t0" "$ts")")
	# Kernel: the start of the first poll that saw all of them (an upper
	# bound on when they were there; the previous poll's start is a lower
	# bound only if it ended before the load).
	RK+=("$(sub "$t0" "$tp")")
	RL+=("$(sub "$t0" "${tl:-$t0}")")
	note "2 run $r: status ${RS[-1]} s, ban4 full by ${RK[-1]} s (poll took $(sub "$tp" "$tk") s), log '$line' at ${RL[-1]} s"
	{ echo "run $r:"; grep -v '^$' "$D/log" | head -20; } >> "$WORK/restore.logs"
done
stop

# ---- 3. latency ------------------------------------------------------------------
mkns "$NSV"
mkns "$NSA"
ip link add "swv$$" netns "$NSV" type veth peer name "swa$$" netns "$NSA"
ip -n "$NSV" addr add 198.18.0.1/24 dev "swv$$"
ip -n "$NSA" addr add 198.18.0.2/24 dev "swa$$"
ip -n "$NSV" link set "swv$$" up
ip -n "$NSA" link set "swa$$" up
V=$WORK/v
mkdir -p "$V"
conf "$V/conf" "$V" "interfaces = any" "" "[portscan]" "ports = 20" \
    "action = block" "ban = 1h" "" "[bans]" "kill_connections = yes"
start "$NSV" "$V/conf" "$V"
ip netns exec "$NSV" stdbuf -oL nft monitor 2>/dev/null > >(while IFS= read -r l;
    do echo "$EPOCHREALTIME $l"; done > "$V/monitor") &
MONPID=$!
PIDS+=("$MONPID")
sleep 1
LAT=()
for ((i = 0; i < LAT_RUNS; i++)); do
	a=198.18.0.$((10 + i))
	ip -n "$NSA" addr add "$a/24" dev "swa$$"
	sleep 0.3
	ip netns exec "$NSA" nmap -n -Pn -sS -S "$a" -e "swa$$" -p 1-30 \
	    --max-retries 0 -T5 198.18.0.1 > "$V/nmap.$i" 2>&1 || true
	deadline=$((SECONDS + 5))
	until grep -q "add element inet sockwatch ban4 { $a " "$V/monitor"; do
		[ "$SECONDS" -lt "$deadline" ] || die "$a not banned (monitor)"
		sleep 0.05
	done
	tm=$(awk -v a="$a" '$0 ~ "add element inet sockwatch ban4 [{] " a " " { print $1; exit }' "$V/monitor")
	ta=$("$SW" -S "$V/sw.sock" alerts --json --kind portscan --peer "$a" |
	    jq -r '.[0].time')
	ms=$(jq -rn --arg t "$ta" --arg m "$tm" '
	    ($t | capture("^(?<s>[^.]+)\\.(?<f>[0-9]{3})")) as $c |
	    (($c.s + "Z" | fromdate) * 1000 + ($c.f | tonumber)) as $am |
	    ($m | tonumber) * 1000 - $am | . * 10 | round / 10')
	LAT+=("$ms")
	note "3 $a: alert $ta, monitor $tm: $ms ms"
done

# ---- report ------------------------------------------------------------------------
BY=$(printf '%s\n' ${BLK[yes]} | median)
BN=$(printf '%s\n' ${BLK[no]} | median)
NF=$(printf '%s\n' "${NFTF[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3g", a / b }'; }
eps() { awk -v s="$1" -v n="$N" 'BEGIN { printf "%.0f", n / s }'; }
rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat <<EOF
- Command: \`bash bench/bans.sh\` (RUNS=$RUNS, LAT_RUNS=$LAT_RUNS, N=$N)
- Machine: $(nproc) CPUs, kernel $(uname -r), $(nft --version); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); checkout $rev

| $N IPv4 bans | median s (runs) | elements/s | time / bare batch | time / sockwatch (kill_connections = no) |
|:--|--:|--:|--:|--:|
| \`sockwatch block --for 1h -f LIST\`, kill_connections = yes (default) | $BY (${BLK[yes]% }) | $(eps "$BY") | $(ratio "$BY" "$BARE")x | $(ratio "$BY" "$BN")x |
| \`sockwatch block --for 1h -f LIST\`, kill_connections = no | $BN (${BLK[no]% }) | $(eps "$BN") | $(ratio "$BN" "$BARE")x | 1.00x |
| \`nft -f FILE\` (one add element of all $N) | $NF (${NFTF[*]}) | $(eps "$NF") | $(ratio "$NF" "$BARE")x | $(ratio "$NF" "$BN")x |
| \`nft add element\` per address: $PER_ADDR in $PER s, x$((N / PER_ADDR)) | $PER100K | $(eps "$PER100K") | $(ratio "$PER100K" "$BARE")x | $(ratio "$PER100K" "$BN")x |
| nft_ban_add of policy/nft.c (nft_floor, best of $RUNS) | $BANADD | $(eps "$BANADD") | $(ratio "$BANADD" "$BARE")x | $(ratio "$BANADD" "$BN")x |
| bare libnftnl batch (nft_floor, best of $RUNS) | $BARE | $(eps "$BARE") | 1.00x | $(ratio "$BARE" "$BN")x |

Targets: sockwatch at least 0.8x the bare batch's speed: kill_connections = yes $(ratio "$BARE" "$BY")x, = no $(ratio "$BARE" "$BN")x. At least 500x faster than per-address nft: yes $(ratio "$PER100K" "$BY")x, no $(ratio "$PER100K" "$BN")x.

Restore of $N bans (SIGTERM, \`nft delete table inet sockwatch\`, start), seconds from the start command:

| run | "read N bans from the database" logged (store loaded) | "table inet sockwatch ready" logged (kernel loaded) | \`sockwatch status\` answers | ban4 holds $N (start of the first poll that saw it) |
|--:|--:|--:|--:|--:|
EOF
for ((r = 0; r < RUNS; r++)); do
	echo "| $((r + 1)) | ${RL[r]} | ${RT[r]} | ${RS[r]} | ${RK[r]} |"
done
echo "| median | $(printf '%s\n' "${RL[@]}" | median) | $(printf '%s\n' "${RT[@]}" | median) | $(printf '%s\n' "${RS[@]}" | median) | $(printf '%s\n' "${RK[@]}" | median) |"
echo
echo "Latency, alert time (threshold packet) to the nft monitor line, ms, $LAT_RUNS attackers: ${LAT[*]}"
echo "median $(printf '%s\n' "${LAT[@]}" | median) ms, max $(printf '%s\n' "${LAT[@]}" | maxof) ms"
echo
echo "Daemon log around the restores:"
echo '```'
grep -E 'run|restor|ban|nft|table' "$WORK/restore.logs" | head -30
echo '```'
for kc in yes no; do
	[ "$PERF" = 1 ] && [ -s "$WORK/perf.$kc" ] || continue
	echo
	echo "perf record -g -p DAEMON for ${PERF_SECS} s from the first block's start (kill_connections = $kc), self time by object, then by symbol (>= 1.5%):"
	echo '```'
	perf report -i "$WORK/perf.$kc" --no-children --sort dso --stdio \
	    -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
	echo
	perf report -i "$WORK/perf.$kc" --no-children --sort dso,sym --stdio \
	    -g none --percent-limit 1.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
	echo '```'
done
exit 0
