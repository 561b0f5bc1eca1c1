#!/usr/bin/env bash
# A soak: SOAK_MIN minutes (default 30) of mixed load on one sockwatchd,
# then checks that nothing grew, crashed, or drifted.
#
# Three network namespaces: the victim (sockwatchd, capture on every
# interface, an HTTP server and an iperf3 server), an attacker and a
# benign peer, each on its own veth pair. At the same time:
#   - nmap -sS of 1,000 ports every SCAN_EVERY s (default 10), each from
#     a fresh address of the attacker's (198.18.1.0-198.18.3.255);
#     [portscan] action = block, ban = 30s;
#   - hping3 SYN floods (2,000 SYNs at 1,000 a second) every 20 s, each
#     from a fresh address (198.18.4.0/24); [synflood] action = block;
#   - curl of a 64 KB file every 0.2 s and iperf3 (20 Mbit/s) from the
#     benign peer;
#   - sockwatch status --json, alerts --json -n 50 and sockets every
#     second; sockwatch reload every 10 s; every minute, 1,000 addresses
#     of 198.19.0.0/16 blocked (block -f --for 10m), unblocked 30 s later:
#     SOAK_BATCHES (default 4, at most 64) such sets in turn. The daemon
#     remembers every peer's last ban for its recidive window (up to a
#     million peers): with fresh addresses every minute (SOAK_BATCHES=64)
#     that history grows all along, by design;
#   - halfway (15 s into a minute, while a batch is blocked), SIGKILL of
#     sockwatchd and a restart on the same database and kernel table (no
#     scan or flood starts in the 35 s before, so that none straddles it);
#   - every 10 s the RSS and open fds of sockwatchd and its children into
#     $SOAK_OUT/samples.csv.
# Other phases scale with SOAK_MIN: the baseline is taken SOAK_MIN/6 after
# each start (5 minutes of 30).
#
# Checks (exit 1 if one fails):
#   memory   each daemon's total RSS and fds (parent and children) at its
#            end within 5% of its baseline: medians of the samples in one
#            window (a minute, or SOAK_MIN/6 if shorter) from the baseline
#            on, and in the last such window before its end;
#   crash    no unexpected exit, no child death (metrics), the inspector
#            restarted only by reloads, no CLI call failed while the
#            daemon was up, the children of the killed daemon gone;
#   bans     at the end the kernel's ban4 set, the store's bans table and
#            `sockwatch bans --json` are the same set; every churn batch
#            blocked last is there, every one unblocked last is not; the
#            bans in force before the kill are in force after the restart;
#   scans    every scanning address has a portscan alert, no other one has.
# Prints a summary; the log and CSVs stay in SOAK_OUT (default a new
# directory under /tmp).
#
# Usage: SOAK_MIN=30 bench/soak.sh [BUILD]   (as root)
# shellcheck disable=SC2317 # functions run by bgrun
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SOAK_MIN=${SOAK_MIN:-30}
SCAN_EVERY=${SCAN_EVERY:-10}
SOAK_BATCHES=${SOAK_BATCHES:-4}
BENCH=soak
# shellcheck source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
case $SOAK_MIN in '' | *[!0-9]*) die "SOAK_MIN: a number of minutes" ;; esac
if [ "$SOAK_MIN" -lt 2 ] || [ "$SOAK_MIN" -gt 720 ]; then
	die "SOAK_MIN: 2 to 720"
fi
case $SOAK_BATCHES in
[1-9] | [1-5][0-9] | 6[0-4]) ;;
*) die "SOAK_BATCHES: 1 to 64" ;;
esac
for t in nmap hping3 iperf3 curl python3 sqlite3 jq nft; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
OUT=${SOAK_OUT:-$(mktemp -d /tmp/sockwatch-soak-out.XXXXXX)}
mkdir -p "$OUT"

T=$((SOAK_MIN * 60))		# seconds of load
BASE=$((T / 6))			# baseline, after each start
WIN=$((BASE < 60 ? BASE : 60))	# the window a level is the median of
KILL_AT=$((T / 2 / 60 * 60 + 15))
VIC=198.18.0.1
VICB=198.18.8.1
BEN=198.18.8.2
ANS=${NS}a
BNS=${NS}b
BGPIDS=()

# On exit: the load and the servers (by pid), the other namespaces, then
# lib.sh's cleanup (the daemon, the victim's namespace, $WORK).
soak_cleanup() {
	local p
	trap '' INT TERM
	set +e
	for p in "${BGPIDS[@]}"; do
		# The loop's tool first (timeout passes the signal on).
		pkill -P "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	[ "${#BGPIDS[@]}" -eq 0 ] || wait "${BGPIDS[@]}" 2>/dev/null
	ip netns del "$ANS" 2>/dev/null
	ip netns del "$BNS" 2>/dev/null
	cleanup
}
trap soak_cleanup EXIT

# bgrun CMD...: a background job, stopped on exit.
bgrun() {
	"$@" &
	BGPIDS+=("$!")
}

# now: seconds since the load started.
now() {
	echo $(($(date +%s) - T0))
}

# sleep_until S: sleep until S seconds into the load (at once if past).
sleep_until() {
	local d=$(($1 - $(now)))
	[ "$d" -le 0 ] || sleep "$d"
}

# down: the daemon is being killed and restarted (failures are expected).
down() {
	[ -e "$WORK/down" ]
}

# paused: no scan or flood starts (from 35 s before the kill, so that none
# is in flight then, to the restart).
paused() {
	[ -e "$WORK/pause" ]
}

# --- the network
ip netns add "$ANS"
ip netns add "$BNS"
ip -n "$ANS" link set lo up
ip -n "$BNS" link set lo up
ip link add "swsa$$" netns "$NS" type veth peer name "swsA$$" netns "$ANS"
ip link add "swsb$$" netns "$NS" type veth peer name "swsB$$" netns "$BNS"
AIF=swsA$$
ip -n "$NS" addr add "$VIC/21" dev "swsa$$"
ip -n "$ANS" addr add 198.18.0.2/21 dev "$AIF"
ip -n "$NS" addr add "$VICB/24" dev "swsb$$"
ip -n "$BNS" addr add "$BEN/24" dev "swsB$$"
# The attacker's sources: 768 for scans, 256 for floods.
awk -v a="$AIF" 'BEGIN { for (i = 256; i < 1280; i++)
    printf "address add 198.18.%d.%d/21 dev %s\n", i / 256, i % 256, a }' |
    ip -n "$ANS" -b -
for l in "$NS swsa$$" "$ANS $AIF" "$NS swsb$$" "$BNS swsB$$"; do
	read -r n i <<<"$l"
	ip -n "$n" link set "$i" up
done

# --- the victim's services
mkdir "$WORK/www"
head -c 65536 /dev/urandom >"$WORK/www/file"
bgrun ip netns exec "$NS" python3 -m http.server -d "$WORK/www" -b 0.0.0.0 \
    80 >"$OUT/http.log" 2>&1
bgrun ip netns exec "$NS" iperf3 -s -B "$VICB" >"$OUT/iperf3-s.log" 2>&1

cat >"$WORK/conf" <<EOF
[daemon]
socket = $WORK/sw.sock
database = $WORK/sw.db
alerts_file = $WORK/alerts.jsonl
metrics_listen = 127.0.0.1:9464
interfaces = any

[listen]
allow = tcp/80, tcp/5201
action = alert

[portscan]
action = block
ban = 30s

[synflood]
action = block
ban = 30s

[bans]
reconcile_interval = 10s
EOF
swd_start
echo "$PID" >"$WORK/pid"
echo "soak.sh: $SOAK_MIN min, out $OUT, sockwatchd $PID" >&2

# --- the load; every loop ends at T (and is bounded in count too)
T0=$(date +%s)

# scans: SCAN_EVERY s apart, each from the next address; logs "start end
# addr rc". Skipped while the daemon is down.
scans() {
	local i=0 a
	set +e
	while [ "$(now)" -lt $((T - 15)) ] && [ "$i" -lt 768 ]; do
		if ! paused; then
			a=198.18.$((1 + i / 256)).$((i % 256))
			i=$((i + 1))
			: >"$WORK/scanning"
			s=$(date +%s.%N)
			timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS \
			    -S "$a" -e "$AIF" -p 1-1000 -T4 --max-retries 1 \
			    --host-timeout 30s "$VIC" >/dev/null 2>&1
			echo "$s $(date +%s.%N) $a $?" >>"$OUT/scans.log"
			rm -f "$WORK/scanning"
		fi
		sleep "$SCAN_EVERY"
	done
}

# floods: a SYN flood from a fresh address every 20 s; "start addr rc".
floods() {
	local i=0 a
	set +e
	sleep 5
	while [ "$(now)" -lt $((T - 15)) ] && [ "$i" -lt 256 ]; do
		if ! paused; then
			a=198.18.4.$i
			i=$((i + 1))
			echo "$(date +%s) $a" >>"$OUT/floods.log"
			timeout 30 ip netns exec "$ANS" hping3 -q -S -p 80 \
			    -a "$a" -c 2000 -i u1000 "$VIC" >/dev/null 2>&1
		fi
		sleep 20
	done
}

# http: curl every 0.2 s; counts ok and failed.
http() {
	local ok=0 bad=0 n=0
	set +e
	while [ "$(now)" -lt "$T" ] && [ "$n" -lt $((T * 10)) ]; do
		n=$((n + 1))
		if ip netns exec "$BNS" curl -sf -o /dev/null --max-time 5 \
		    "http://$VICB/file"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
		fi
		echo "$ok $bad" >"$OUT/http.count"
		sleep 0.2
	done
}

# iperf: 20 s runs at 20 Mbit/s, 10 s apart.
iperf() {
	local n=0
	set +e
	while [ "$(now)" -lt $((T - 25)) ] && [ "$n" -lt $((T / 30 + 1)) ]; do
		n=$((n + 1))
		timeout 40 ip netns exec "$BNS" iperf3 -c "$VICB" -t 20 -b 20M \
		    >>"$OUT/iperf3-c.log" 2>&1 || echo "iperf3 failed" \
		    >>"$OUT/iperf3-c.log"
		sleep 10
	done
}

# cli NAME CMD...: run sockwatch CMD, output discarded; a failure while
# the daemon is up is logged to $OUT/cli-fail.log.
cli() {
	local name=$1
	shift
	swc "$@" >/dev/null 2>"$WORK/$name.err" && return 0
	down || echo "$(now) $name: $(head -c 200 "$WORK/$name.err")" \
	    >>"$OUT/cli-fail.log"
	return 1
}

# polls: status, alerts and sockets every second.
polls() {
	local n=0
	set +e
	while [ "$(now)" -lt "$T" ] && [ "$n" -lt "$T" ]; do
		n=$((n + 1))
		cli status status --json
		cli alerts alerts --json -n 50
		cli sockets sockets
		sleep 1
	done
}

# reloads: every 10 s (on the tens of seconds); "time rc" lines.
reloads() {
	local n=0 rc
	set +e
	while [ "$(now)" -lt "$T" ] && [ "$n" -lt $((T / 10)) ]; do
		n=$((n + 1))
		sleep_until $((n * 10))
		down && continue
		rc=0
		cli reload reload || rc=$?
		echo "$(now) $rc" >>"$OUT/reloads.log"
	done
}

# batch B: the 1,000 addresses of churn batch B (0-63), one a line.
batch() {
	awk -v b="$1" 'BEGIN { for (i = 0; i < 1000; i++)
	    printf "198.19.%d.%d\n", b * 4 + int(i / 250), i % 250 + 1 }'
}

# churn: batch m (1,000 addresses of 198.19.0.0/16) blocked for 10 min at
# the start of minute m, unblocked at 30 s; "batch action time rc".
churn() {
	local m=0 b rc
	set +e
	while [ "$m" -lt $((T / 60)) ]; do
		b=$((m % SOAK_BATCHES))
		batch "$b" >"$WORK/batch.$b"
		rc=0
		cli block block -f "$WORK/batch.$b" --for 10m || rc=$?
		echo "$b block $(now) $rc" >>"$OUT/churn.log"
		sleep_until $((m * 60 + 30))
		[ "$m" -eq $((T / 60 - 1)) ] && break	# the last stays
		rc=0
		cli unblock unblock -f "$WORK/batch.$b" || rc=$?
		echo "$b unblock $(now) $rc" >>"$OUT/churn.log"
		m=$((m + 1))
		sleep_until $((m * 60))
	done
}

# children PID: the daemon's children, their RSS (KB) and fds summed:
# "N RSS FDS". A reload restarts the inspector: while one is on its way
# out (gone or a zombie: no VmRSS) or not yet there, look again (2 s at
# most), so that a sample is of the whole daemon.
children() {
	local i k kids r f n rss fds
	for i in $(seq 10); do
		kids=$(cat /proc/"$1"/task/*/children 2>/dev/null)
		n=0 rss=0 fds=0
		for k in $kids; do
			r=$(awk '/^VmRSS/ { print $2 }' "/proc/$k/status" \
			    2>/dev/null)
			[ -n "$r" ] || continue
			f=$(find "/proc/$k/fd" -mindepth 1 2>/dev/null | wc -l)
			n=$((n + 1)) rss=$((rss + r)) fds=$((fds + f))
		done
		[ "$n" -ge 2 ] && break
		sleep 0.2
	done
	echo "$n $rss $fds"
}

# sample: every 10 s, 5 s after each reload, the RSS (KB) and fds of the
# daemon and its children, the metrics page fetched over HTTP, and the
# load average.
sample() {
	local n=0 pid rss fds kids krss kfds
	set +e
	echo "t,pid,rss_kb,fds,children,children_rss_kb,children_fds," \
	    "total_rss_kb,total_fds,load1" | tr -d ' ' >"$OUT/samples.csv"
	while [ "$(now)" -le "$T" ] && [ "$n" -le $((T / 10 + 1)) ]; do
		sleep_until $((n * 10 + 5))
		n=$((n + 1))
		pid=$(cat "$WORK/pid")
		if ! down && [ -d "/proc/$pid" ]; then
			rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
			fds=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
			read -r kids krss kfds < <(children "$pid")
			echo "$(now),$pid,$rss,$fds,$kids,$krss,$kfds," \
			    "$((rss + krss)),$((fds + kfds))," \
			    "$(cut -d' ' -f1 /proc/loadavg)" | tr -d ' ' \
			    >>"$OUT/samples.csv"
			ip netns exec "$NS" curl -sf --max-time 5 -o /dev/null \
			    http://127.0.0.1:9464/metrics ||
			    echo "$(now) metrics http failed" \
			    >>"$OUT/cli-fail.log"
		elif ! down; then
			echo "$(now) sockwatchd $pid is gone" >>"$OUT/crash.log"
		fi
	done
}

bgrun scans
bgrun floods
bgrun http
bgrun iperf
bgrun polls
bgrun reloads
bgrun churn
bgrun sample

# --- halfway: SIGKILL and restart, while a churn batch is blocked
sleep_until $((KILL_AT - 35))
: >"$WORK/pause"
sleep_until "$KILL_AT"
for _ in $(seq 60); do		# a scan in flight still (nmap's own timeout)
	[ -e "$WORK/scanning" ] || break
	sleep 1
done
: >"$WORK/down"
swc bans --json >"$OUT/bans-before-kill.json"
swc metrics >"$OUT/metrics-gen1.txt"
swc status --json >"$OUT/status-gen1.json"
kids=$(cat /proc/"$PID"/task/*/children)
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
KILLED=$(now)
orphans=
for _ in $(seq 50); do
	orphans=
	for k in $kids; do
		[ -d "/proc/$k" ] && orphans="$orphans $k"
	done
	[ -z "$orphans" ] && break
	sleep 0.1
done
echo "--- restart after SIGKILL at ${KILLED}s" >>"$WORK/log"
swd_start
echo "$PID" >"$WORK/pid"
RESTARTED=$(now)
swc bans --json >"$OUT/bans-after-restart.json"
rm -f "$WORK/down" "$WORK/pause"
echo "soak.sh: killed at ${KILLED}s, restarted at ${RESTARTED}s" \
    "(sockwatchd $PID)" >&2

# --- the end of the load
for p in "${BGPIDS[@]:2}"; do	# not the servers
	wait "$p" 2>/dev/null || true
done
sleep 2
swc metrics >"$OUT/metrics-gen2.txt"
swc status --json >"$OUT/status-gen2.json"
cp "$WORK/log" "$OUT/sockwatchd.log"

# --- the checks
FAILED=0
check() {	# check NAME OK DETAIL...
	local name=$1 ok=$2
	shift 2
	if [ "$ok" = 1 ]; then
		echo "PASS $name: $*"
	else
		echo "FAIL $name: $*"
		FAILED=1
	fi
}

# level FROM TO COL: the median of column COL of the samples in [FROM, TO)
# ("none" if there is none).
level() {
	awk -F, -v f="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 >= f && $1 < t {
	    print $c }' "$OUT/samples.csv" | sort -n | awk '{ v[NR] = $1 }
	    END { print NR ? v[int((NR + 1) / 2)] : "none" }'
}
# steady NAME BASE END: END within 5% of BASE.
steady() {
	local ok=0 d
	if [ "$2" -gt 0 ] 2>/dev/null && [ "$3" -gt 0 ] 2>/dev/null; then
		d=$(awk -v b="$2" -v e="$3" 'BEGIN {
		    printf "%+.1f", (e - b) * 100 / b }')
		awk -v d="$d" 'BEGIN { exit !(d <= 5 && d >= -5) }' && ok=1
	fi
	check "$1" "$ok" "$2 -> $3 (${d:-?}%)"
}
for col in 8:rss_kb 9:fds; do
	steady "memory gen1 total_${col#*:}" \
	    "$(level "$BASE" $((BASE + WIN)) "${col%:*}")" \
	    "$(level $((KILLED - WIN)) "$KILLED" "${col%:*}")"
	steady "memory gen2 total_${col#*:}" \
	    "$(level $((RESTARTED + BASE)) $((RESTARTED + BASE + WIN)) \
	    "${col%:*}")" "$(level $((T - WIN)) $((T + 1)) "${col%:*}")"
done

metric() {	# metric FILE NAME
	awk -v m="$2" '$1 == m { print $2 }' "$1"
}
deaths=$(($(metric "$OUT/metrics-gen1.txt" sockwatch_inspector_deaths_total) +
    $(metric "$OUT/metrics-gen1.txt" sockwatch_exporter_deaths_total) +
    $(metric "$OUT/metrics-gen2.txt" sockwatch_inspector_deaths_total) +
    $(metric "$OUT/metrics-gen2.txt" sockwatch_exporter_deaths_total)))
restarts=$(($(jq .capture.inspector.restarts "$OUT/status-gen1.json") +
    $(jq .capture.inspector.restarts "$OUT/status-gen2.json")))
nreload=$(wc -l <"$OUT/reloads.log")
badreload=$(awk '$2 != 0' "$OUT/reloads.log" | wc -l)
ok=0
if [ "$deaths" -eq 0 ] && [ "$restarts" -le "$nreload" ] &&
    [ ! -s "$OUT/crash.log" ] && [ -d "/proc/$PID" ] && [ -z "$orphans" ]; then
	ok=1
fi
check "crash" "$ok" "child deaths $deaths, inspector restarts $restarts" \
    "for $nreload reloads ($badreload failed), daemon up: $([ -d \
    "/proc/$PID" ] && echo yes || echo no), children of the killed one" \
    "left: ${orphans:-none}$([ -s "$OUT/crash.log" ] && echo ", $(cat \
    "$OUT/crash.log")")"
nfail=0
[ -s "$OUT/cli-fail.log" ] && nfail=$(wc -l <"$OUT/cli-fail.log")
check "cli" "$([ "$nfail" -eq 0 ] && echo 1)" "$nfail failed calls while" \
    "the daemon was up (status, alerts, sockets, reload, block, unblock," \
    "metrics HTTP)"
n=$(grep -Eic 'fatal|Sanitizer|runtime error' "$OUT/sockwatchd.log" || true)
check "log" "$([ "$n" -eq 0 ] && echo 1)" "$n fatal or sanitizer lines"

# Bans: the three views, the same set (retried: a ban may expire between
# two reads).
kernel_bans() {
	ip netns exec "$NS" nft -j list set inet sockwatch ban4 | jq -r \
	    '.nftables[].set? | select(. != null) | .elem[]? |
	    if type == "object" then .elem.val else . end' | sort
}
for i in $(seq 10); do
	kernel_bans >"$OUT/bans.kernel"
	sqlite3 "$WORK/sw.db" 'SELECT peer FROM bans' | grep -v : |
	    sed 's,/32$,,' | sort >"$OUT/bans.store" || true
	swc bans --json | jq -r '.[].addr' | grep -v : | sort >"$OUT/bans.cli"
	cmp -s "$OUT/bans.kernel" "$OUT/bans.store" &&
	    cmp -s "$OUT/bans.kernel" "$OUT/bans.cli" && break
	sleep 1
done
ok=0
cmp -s "$OUT/bans.kernel" "$OUT/bans.store" &&
    cmp -s "$OUT/bans.kernel" "$OUT/bans.cli" && ok=1
check "bans equal" "$ok" "kernel $(wc -l <"$OUT/bans.kernel"), store" \
    "$(wc -l <"$OUT/bans.store"), sockwatch bans $(wc -l <"$OUT/bans.cli")" \
    "($i reads)"
# The churn: a batch's last action says whether it is there.
lost=0 back=0
while read -r b act; do
	n=$(batch "$b" | sort | comm -12 - "$OUT/bans.kernel" | wc -l)
	if [ "$act" = block ]; then
		lost=$((lost + 1000 - n))
	else
		back=$((back + n))
	fi
done < <(awk '{ last[$1] = $2 } END { for (b in last) print b, last[b] }' \
    "$OUT/churn.log")
check "churn" "$([ $((lost + back)) -eq 0 ] && echo 1)" "$(wc -l \
    <"$OUT/churn.log") block/unblock of 1,000; lost $lost, back $back"
# Across the restart: the churn's bans (10 min) before the kill.
jq -r '.[].addr' "$OUT/bans-before-kill.json" | sort >"$OUT/bans.kill"
jq -r '.[].addr' "$OUT/bans-after-restart.json" | sort >"$OUT/bans.restart"
n=$(comm -23 "$OUT/bans.kill" "$OUT/bans.restart" | grep -c '^198\.19\.' ||
    true)
m=$(grep -c '^198\.19\.' "$OUT/bans.kill" || true)
check "restart" "$([ "$m" -gt 0 ] && [ "$n" -eq 0 ] && echo 1)" \
    "$m churn bans before the kill (there must be some), $n of them" \
    "missing after the restart"

# Scans: a portscan alert for every scanning address, and for no other.
# A scan that outlives its ban's start (nmap waits for the dropped
# probes) across a reload is alerted again: the new inspector starts with
# an empty peer table.
swc alerts --json -n 1000000 >"$OUT/alerts.json"
jq -r '.[] | select(.kind == "portscan") | .peer' "$OUT/alerts.json" |
    sort | uniq -c | awk '{ print $2, $1 }' >"$OUT/portscan.count"
awk '{ print $3 }' "$OUT/scans.log" | sort >"$OUT/scans.addr"
missed=$(join -a 1 -e 0 -o 0,2.2 "$OUT/scans.addr" "$OUT/portscan.count" |
    awk '$2 == 0 { print $1 }' | tr '\n' ' ')
extra=$(join -v 2 "$OUT/scans.addr" "$OUT/portscan.count" | awk '{ print $1 }' |
    tr '\n' ' ')
nscan=$(wc -l <"$OUT/scans.addr")
nrc=$(awk '$4 != 0' "$OUT/scans.log" | wc -l)
nalert=$(awk '{ s += $2 } END { print s + 0 }' "$OUT/portscan.count")
check "scans" "$([ -z "$missed$extra" ] && [ "$nrc" -eq 0 ] && echo 1)" \
    "$nscan scans ($nrc nmap failures), $nalert portscan alerts; not" \
    "alerted: ${missed:-none}; alerted, not scanning: ${extra:-none}"
echo "scans alerted more than once: $(awk '$2 > 1' "$OUT/portscan.count" |
    wc -l), lasting over 5 s: $(awk '$2 - $1 > 5' "$OUT/scans.log" | wc -l)"

# Figures.
echo "--- figures"
echo "load: $SOAK_MIN min, killed at ${KILLED}s, restarted at" \
    "${RESTARTED}s, $nscan scans, $(wc -l <"$OUT/floods.log") floods," \
    "http ok/failed $(cat "$OUT/http.count"), $nreload reloads"
echo "alerts: $(jq -r 'group_by(.kind) | map("\(.[0].kind) \(length)") |
    join(", ")' "$OUT/alerts.json")"
echo "synflood alerts for flood sources: $(jq -r '[.[] |
    select(.kind == "synflood") | .peer] | unique | length' \
    "$OUT/alerts.json") of $(wc -l <"$OUT/floods.log")"
echo "benign peer alerts: $(jq --arg b "$BEN" '[.[] | select(.peer == $b)] |
    length' "$OUT/alerts.json")"
echo "load average (1 min) over the run: $(awk -F, 'NR > 1 { s += $10;
    if ($10 > m) m = $10; n++ } END { printf "mean %.2f, max %.2f", s / n,
    m }' "$OUT/samples.csv")"
echo "samples: $OUT/samples.csv"
exit "$FAILED"
