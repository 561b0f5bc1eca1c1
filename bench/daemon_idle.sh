#!/bin/bash
# Benchmark: sockwatchd's idle CPU use with many open sockets and no churn.
#
# In a private network namespace, hold established loopback TCP connections
# (tests/tools/mkconns.py, two sockets each), start sockwatchd there with a
# config in a temporary directory, let it settle, then read its CPU time
# (utime + stime from /proc/PID/stat, and the scheduler's nanosecond
# runtime from /proc/PID/schedstat) before and after a measuring window.
# CPU % = cpu_seconds / wall_seconds * 100, i.e. percent of ONE core.
#
# Usage: bench/daemon_idle.sh BUILD   (BUILD holds sockwatchd and sockwatch)
# Run as root. Prints a markdown report on stdout; progress goes to stderr.
#
# Environment (all optional):
#   SCENARIOS  "CONNS:INTERVAL ..." to run, in order; connections only
#              grow, so list them by ascending CONNS
#              (default "10000:2s 10000:1s 50000:2s")
#   SETTLE     seconds between the daemon's start and the window (5)
#   MEASURE    length of the measuring window in seconds (60)
#   PER_PROC   connections per mkconns.py process (5000)
#   PROFILE    scenarios ("CONNS:INTERVAL") to profile AFTER their window
#              with perf stat, perf record -g and strace (default
#              "10000:2s"; "" for none). Profiling never overlaps the window.
set -euo pipefail

BUILD=${1:?usage: daemon_idle.sh BUILD}
read -ra SCENARIOS <<< "${SCENARIOS:-10000:2s 10000:1s 50000:2s}"
read -ra PROFILE <<< "${PROFILE-10000:2s}"
SETTLE=${SETTLE:-5}
MEASURE=${MEASURE:-60}
PER_PROC=${PER_PROC:-5000}
PROF_SECS=${PROF_SECS:-10}

here=$(cd "$(dirname "$0")/.." && pwd)
MKCONNS=$here/tests/tools/mkconns.py

die() { echo "daemon_idle.sh: $*" >&2; exit 1; }
note() { echo "daemon_idle.sh: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "$BUILD/sockwatchd" ] || die "$BUILD/sockwatchd: not built"
[ -x "$BUILD/sockwatch" ] || die "$BUILD/sockwatch: not built"
SWD=$(realpath "$BUILD/sockwatchd")
SW=$(realpath "$BUILD/sockwatch")
for t in ip python3; do
	command -v "$t" >/dev/null || die "$t: not installed"
done
# The interpreter itself, so that $! is the process that holds the sockets
# (a pyenv shim would be a shell script in between).
PY=$(python3 -c 'import sys; print(sys.executable)')
TCK=$(getconf CLK_TCK)

NS=swidle-$$
WORK=$(mktemp -d /tmp/sockwatch-idle.XXXXXX)
PIDS=()			# every process this script started
NS_MADE=0
DPID=

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$NS_MADE" -eq 1 ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up
# Keep the listening ports (5000 and up) out of the ephemeral range.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

nconns=0	# established connections held so far
nprocs=0	# mkconns.py processes, one listener each

# grow TARGET: start mkconns.py processes in parallel until TARGET
# connections are held, and wait until every one of them is ready.
grow() {
	local target=$1 n ready waiting=() deadline f pid
	while [ "$nconns" -lt "$target" ]; do
		n=$((target - nconns))
		[ "$n" -gt "$PER_PROC" ] && n=$PER_PROC
		ready=$WORK/ready.$nprocs
		ip netns exec "$NS" "$PY" "$MKCONNS" "$((5000 + nprocs))" \
		    "$n" "$ready" &
		PIDS+=("$!")
		waiting+=("$ready")
		nprocs=$((nprocs + 1))
		nconns=$((nconns + n))
	done
	deadline=$((SECONDS + 180))
	for f in "${waiting[@]}"; do
		while [ ! -e "$f" ]; do
			[ "$SECONDS" -lt "$deadline" ] ||
			    die "timed out waiting for $f"
			for pid in "${PIDS[@]}"; do
				kill -0 "$pid" 2>/dev/null ||
				    die "mkconns.py (pid $pid) died"
			done
			sleep 0.2
		done
	done
}

# cpu_ticks PID: utime + stime, in clock ticks. Fields counted after the
# last ')' so that a comm with spaces cannot shift them.
cpu_ticks() {
	local s
	s=$(< "/proc/$1/stat")
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $(( ${12} + ${13} ))	# fields 14 and 15 of the whole line
}
# run_ns PID: total time on the CPU in nanoseconds (sum over threads).
run_ns() {
	local t total=0 a
	for t in /proc/"$1"/task/*/schedstat; do
		read -r a _ < "$t"
		total=$((total + a))
	done
	echo "$total"
}
now_ns() { date +%s%N; }
# TCP sockets allocated host-wide, all namespaces: the kernel's dump of
# established sockets walks one hash table shared by every namespace, so
# another namespace's sockets cost us time too.
tcp_alloc() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "alloc") print $(i + 1) }' /proc/net/sockstat; }
# metric NAME: a counter from the daemon's metrics.
metric() {
	"$SW" -S "$WORK/sw.sock" metrics 2>/dev/null |
	    awk -v m="$1" '$1 == m { v = $2 } END { print v }'
}

# start_daemon INTERVAL: a config in $WORK, the daemon in the namespace.
start_daemon() {
	local deadline
	rm -f "$WORK/sw.sock" "$WORK/sw.db"* "$WORK/alerts.jsonl"
	cat > "$WORK/sockwatch.conf" <<EOF
[daemon]
socket = $WORK/sw.sock
database = $WORK/sw.db
scan_interval = $1
alerts_file = $WORK/alerts.jsonl
metrics_listen =

[listen]
allow = tcp/22 sshd, tcp/80 nginx, tcp/443 nginx, udp/53
action = alert
EOF
	ip netns exec "$NS" "$SWD" -f -c "$WORK/sockwatch.conf" \
	    2> "$WORK/daemon.log" &
	DPID=$!
	PIDS+=("$DPID")
	deadline=$((SECONDS + 30))
	until [ -S "$WORK/sw.sock" ] && "$SW" -S "$WORK/sw.sock" status \
	    >/dev/null 2>&1; do
		kill -0 "$DPID" 2>/dev/null || {
			cat "$WORK/daemon.log" >&2
			die "sockwatchd exited"
		}
		[ "$SECONDS" -lt "$deadline" ] || die "sockwatchd did not start"
		sleep 0.1
	done
	[ "$(< "/proc/$DPID/comm")" = sockwatchd ] ||
	    die "pid $DPID is not sockwatchd"
}

stop_daemon() {
	local pid keep=()
	kill -TERM "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	for pid in "${PIDS[@]}"; do
		[ "$pid" = "$DPID" ] || keep+=("$pid")
	done
	PIDS=("${keep[@]}")
	DPID=
}

# profile NAME: where the time goes, after the measuring window.
profile() {
	local d=$WORK/prof.$1 scans0 scans1
	mkdir -p "$d"
	note "$1: profiling (perf stat, perf record -g, strace) ${PROF_SECS}s each"
	if command -v perf >/dev/null; then
		scans0=$(metric sockwatch_scans_total)
		perf stat -e task-clock,context-switches,page-faults \
		    -p "$DPID" -o "$d/perfstat" -- sleep "$PROF_SECS" \
		    >/dev/null 2>&1 || true
		scans1=$(metric sockwatch_scans_total)
		echo "$((scans1 - scans0))" > "$d/perfstat.scans"
		perf record -q -F 4999 -g -p "$DPID" -o "$d/perf.data" \
		    -- sleep "$PROF_SECS" >/dev/null 2>&1 || true
		perf report -i "$d/perf.data" --no-children --sort sym \
		    --stdio -g none --percent-limit 1.5 2>/dev/null |
		    grep -v '^#' | grep -v '^$' | head -30 > "$d/perfsyms" ||
		    true
		perf report -i "$d/perf.data" --no-children --sort dso \
		    --stdio -g none 2>/dev/null | grep -v '^#' |
		    grep -v '^$' | head -12 > "$d/perfdso" || true
	fi
	if command -v strace >/dev/null; then
		timeout -s INT "$PROF_SECS" strace -c -p "$DPID" \
		    -o "$d/strace.c" 2>/dev/null || true
		timeout -s INT "$PROF_SECS" strace -ttt -T -p "$DPID" \
		    -o "$d/strace.T" 2>/dev/null || true
	fi
	{
		echo
		echo "### Profile: $1"
		echo
		if [ -s "$d/perfstat" ]; then
			echo "perf stat over ${PROF_SECS}s ($(< "$d/perfstat.scans") scans):"
			echo '```'
			grep -E 'task-clock|context-switches|page-faults|elapsed' \
			    "$d/perfstat" | sed 's/^ *//'
			echo '```'
		fi
		if [ -s "$d/perfsyms" ]; then
			echo "perf record -g, self time by object and by symbol (>= 1.5%):"
			echo '```'
			cat "$d/perfdso"
			echo
			cat "$d/perfsyms"
			echo '```'
		fi
		if [ -s "$d/strace.c" ]; then
			echo "strace -c over ${PROF_SECS}s (ptrace slows every syscall; counts matter more than times):"
			echo '```'
			cat "$d/strace.c"
			echo '```'
		fi
		if [ -s "$d/strace.T" ]; then
			# A scan: from the first sendto/sendmsg of a dump request
			# after epoll_wait to the end of the syscall before the
			# next epoll_wait.
			awk '
			/epoll_wait/ {
				if (inscan) { n++; sum += last - start;
				    if (last - start > max) max = last - start;
				    inscan = 0 }
				next }
			/^[0-9.]+ (sendto|sendmsg)\(/ && !inscan {
				inscan = 1; start = $1; rc = 0 }
			{ t = $1; d = $NF; gsub(/[<>]/, "", d); last = t + d;
			  if (inscan && $2 ~ /^recvmsg\(/) rc++ }
			END { if (n) printf "strace -T: %d scans, %.1f ms each on average (max %.1f ms) under ptrace, %d recvmsg in the last\n", n, sum / n * 1000, max * 1000, rc }' \
			    "$d/strace.T"
		fi
	} >> "$WORK/profiles.md"
}

# run CONNS INTERVAL: one measurement.
RESULTS=()
run() {
	local conns=$1 iv=$2 t0 t1 c0 c1 r0 r1 s0 s1 socks wall cpu pct pct2
	local tracked a0 a1 per p name=$1:$2
	note "$name: creating connections (have $nconns)"
	t0=$SECONDS
	grow "$conns"
	note "$name: $nconns connections ready after $((SECONDS - t0))s ($nprocs processes)"
	start_daemon "$iv"
	sleep "$SETTLE"
	tracked=$("$SW" -S "$WORK/sw.sock" metrics 2>/dev/null |
	    awk '$1 ~ /^sockwatch_sockets[{]/ { s += $2 } END { print s + 0 }')
	s0=$(metric sockwatch_scans_total)
	t0=$(now_ns); c0=$(cpu_ticks "$DPID"); r0=$(run_ns "$DPID")
	a0=$(tcp_alloc)
	note "$name: measuring for ${MEASURE}s"
	sleep "$MEASURE"
	t1=$(now_ns); c1=$(cpu_ticks "$DPID"); r1=$(run_ns "$DPID")
	s1=$(metric sockwatch_scans_total)
	a1=$(tcp_alloc)
	socks=$(ip netns exec "$NS" ss -Htan | wc -l)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
	pct=$(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.2f", c / w * 100 }')
	pct2=$(awk -v a="$r0" -v b="$r1" -v w="$wall" 'BEGIN { printf "%.3f", (b - a) / 1e9 / w * 100 }')
	per=$(awk -v a="$r0" -v b="$r1" -v n="$((s1 - s0))" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / 1e6 / n; else print "n/a" }')
	RESULTS+=("| $conns | $socks | $tracked | $iv | $wall | $cpu | **$pct** | $pct2 | $((s1 - s0)) | $per | $a0 / $a1 |")
	note "$name: ${pct}% of one core (${cpu}s CPU in ${wall}s), ${per} ms CPU per scan"
	for p in "${PROFILE[@]}"; do
		[ "$p" = "$name" ] && profile "$name"
	done
	grep -ci 'warn\|error' "$WORK/daemon.log" > "$WORK/warn.$conns.$iv" || true
	stop_daemon
}

for sc in "${SCENARIOS[@]}"; do
	run "${sc%%:*}" "${sc#*:}"
done

rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$rev" != unknown ] && [ -n "$(git -C "$here" status --porcelain \
    -- daemon monitor policy exporter common 2>/dev/null)" ]; then
	rev="$rev (working tree has uncommitted changes)"
fi
case $SWD in
"$here"/*) src="checkout $rev" ;;
*) src="$SWD, built outside this checkout (which is at $rev)" ;;
esac

cat <<EOF
- Command: \`bench/daemon_idle.sh $BUILD\`
- Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); sockwatchd from $src
- Each row: a fresh sockwatchd, ${SETTLE}s to settle, then a ${MEASURE}s window. CPU from /proc/PID/stat utime+stime (${TCK} ticks/s); "exact" from /proc/PID/task/*/schedstat (ns). "CPU per scan" = schedstat CPU / scans in the window. "TCP sockets" counts \`ss -tan\` lines in the namespace (established pairs plus one listener per mkconns.py process); "host-wide" is the \`alloc\` of /proc/net/sockstat, every namespace (other benchmarks running at the same time show up there).

| connections | TCP sockets | in the daemon's table | scan_interval | wall s | CPU s | CPU % of one core | CPU % (exact) | scans | CPU ms per scan | host-wide TCP sockets (start / end) |
|---|---|---|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${RESULTS[@]}"
[ -s "$WORK/profiles.md" ] && cat "$WORK/profiles.md"
exit 0
