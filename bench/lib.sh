# shellcheck shell=bash
# Shared by the benchmarks that run sockwatchd in a private network
# namespace (reconcile.sh, prune.sh, top.sh). Set BENCH (the script's
# name) and BUILD first, then source this: it checks for root and the
# binaries, makes the namespace $NS with loopback up and the directory
# $WORK, and removes both, and the daemon $PID, on exit.
SW=$BUILD/sockwatch
SWD=$BUILD/sockwatchd
die() { echo "$BENCH.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace)"
[ -x "$SWD" ] && [ -x "$SW" ] ||
    die "$BUILD: sockwatchd and sockwatch not built"

NS=sw$BENCH$$
NS=${NS:0:15}
WORK=$(mktemp -d "/tmp/sockwatch-$BENCH.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns add "$NS"
ip -n "$NS" link set lo up

# swc ARGS...: the CLI in the namespace, on $WORK/sw.sock.
swc() {
	ip netns exec "$NS" "$SW" -S "$WORK/sw.sock" "$@"
}

# daemon_conf LINE...: $WORK/conf, the daemon on $WORK's socket and
# database with no capture and no metrics, then each LINE.
daemon_conf() {
	printf '[daemon]\nsocket = %s/sw.sock\ndatabase = %s/sw.db\n' \
	    "$WORK" "$WORK" >"$WORK/conf"
	printf 'interfaces = none\nmetrics_listen =\n' >>"$WORK/conf"
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$WORK/conf"
}

# ban_list N: N addresses in 198.18.0.0/15 from 198.18.1.1, skipping
# every .0, into $WORK/list.
ban_list() {
	awk -v n="$1" 'BEGIN { for (i = 256; c < n; i++) {
	    if (i % 256 == 0) continue;
	    printf "%d.%d.%d.%d\n", 198 + int(i / 16777216),
	    18 + int(i / 65536), int(i / 256) % 256, i % 256; c++ } }' \
	    >"$WORK/list"
}

# swd_start: sockwatchd -f -c $WORK/conf in the namespace (log in
# $WORK/log), once `sockwatch status` answers; sets PID.
swd_start() {
	ip netns exec "$NS" "$SWD" -f -c "$WORK/conf" >>"$WORK/log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		swc status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "sockwatchd did not start: $(tail -3 "$WORK/log")"
}

# status_latency LABEL N SAMPLES: time `sockwatch status` SAMPLES times,
# 0.25 s apart; a markdown line: LABEL, N, samples, median, p90 and max
# in ms. A status answer waits for the daemon's loop.
status_latency() {
	local s e
	for _ in $(seq "$3"); do
		s=$(date +%s%N)
		swc status >/dev/null
		e=$(date +%s%N)
		echo $(((e - s) / 1000000))
		sleep 0.25
	done | sort -n | awk -v what="$1" -v n="$2" '
		{ a[NR] = $1 }
		END { printf "| %s | %d | %d | %d | %d | %d |\n", what, n, NR,
		    a[int((NR + 1) / 2)], a[int(NR * 0.9)], a[NR] }'
}
