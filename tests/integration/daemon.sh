# shellcheck shell=bash disable=SC2034
# Helpers for the tests that run sockwatchd (test_daemon*.sh). Source it
# after lib.sh. The daemon's socket, database, alerts file and log live in
# $SW_TMP; the CLI finds the socket through SOCKWATCH_SOCKET.

SWD="$BUILD/sockwatchd"
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
SOCK="$SW_TMP/run/sockwatch.sock"
# Outside $SW_TMP, so that it can still be read after sw_cleanup.
SWD_LOG=$(mktemp /tmp/sw-sockwatchd.XXXXXX)
METRICS_PORT=19464
export SOCKWATCH_SOCKET="$SOCK"
SWD_PID=

# The name python3 runs under here (python3, python3.11, ...): what a
# [listen] allow entry must name to cover a listener that python3 holds.
PYCOMM=$(python3 -c 'print(open("/proc/self/comm").read().strip())')

# Clean up (sw_cleanup stops the daemon with SIGTERM); fail if a
# sanitizer (make asan) complained on the way; on failure, show what the
# daemon said.
swd_exit() {
	local rc=$?
	sw_cleanup
	if grep -Eq 'Sanitizer|runtime error:' "$SWD_LOG"; then
		echo "FAIL: sockwatchd: sanitizer report" >&2
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -s "$SWD_LOG" ]; then
		echo "--- sockwatchd log (last 60 lines):" >&2
		tail -n 60 "$SWD_LOG" >&2
	fi
	rm -f "$SWD_LOG"
	exit "$rc"
}
trap swd_exit EXIT

# sw_conf FILE ALLOW [LINE...]: a config with everything under $SW_TMP,
# [listen] allow = ALLOW, and the LINEs added to [daemon]. SCAN sets
# scan_interval (default 2s, the shipped value).
sw_conf() {
	local file=$1 allow=$2
	shift 2
	{
		echo "[daemon]"
		echo "socket = $SOCK"
		echo "database = $SW_TMP/sockwatch.db"
		echo "scan_interval = ${SCAN:-2s}"
		echo "alerts_file = $SW_TMP/alerts.jsonl"
		echo "metrics_listen = 127.0.0.1:$METRICS_PORT"
		[ $# -gt 0 ] && printf '%s\n' "$@"
		echo
		echo "[listen]"
		echo "allow = $allow"
		echo "action = alert"
	} >"$file"
}

# pid_gone PID: PID has exited (a zombie child counts as gone).
pid_gone() {
	local st
	st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) ||
	    return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# swc NS ARGS...: the CLI in NS (the socket comes from SOCKWATCH_SOCKET).
swc() {
	local ns=$1
	shift
	ip netns exec "$ns" "$SW" "$@"
}

# swd_start NS CONF [ARG...]: start sockwatchd -f in NS (with the extra
# ARGs, e.g. --replay FILE); sets SWD_PID; returns once `sockwatch
# status` answers with that pid (at most 5 s).
swd_start() {
	local ns=$1 conf=$2 i pid
	shift 2
	echo "--- sockwatchd start $(date +%T.%N)" >>"$SWD_LOG"
	bg ip netns exec "$ns" "$SWD" -f -c "$conf" "$@" >>"$SWD_LOG" 2>&1
	SWD_PID=$!
	for ((i = 0; i < 100; i++)); do
		pid=$(swc "$ns" status --json 2>/dev/null | jq -r .pid) || pid=
		[ "$pid" = "$SWD_PID" ] && return 0
		pid_gone "$SWD_PID" && fail "sockwatchd exited at start"
		sleep 0.05
	done
	fail "sockwatchd did not answer within 5 s"
}

# reap PID SECS: wait at most SECS for our child PID to exit; sets RC to
# its exit status; fails if it does not exit.
reap() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		pid_gone "$1" && break
		sleep 0.1
	done
	pid_gone "$1" || fail "pid $1 did not exit within $2 s"
	RC=0
	wait "$1" || RC=$?
}

# swd_stop [SIGNAL]: signal the daemon (TERM) and wait at most 5 s for it
# to exit; sets SWD_RC to its exit status.
swd_stop() {
	kill -"${1:-TERM}" "$SWD_PID"
	reap "$SWD_PID" 5
	SWD_RC=$RC
}

# listen_start NS NAME SPEC...: tests/tools/listen.py in NS holding the
# sockets SPEC...; sets LPID and LTIME (epoch seconds when they were all
# open) once they are.
listen_start() {
	local ns=$1 name=$2 ready="$SW_TMP/listen.$2" pid
	shift 2
	rm -f "$ready"
	bg ip netns exec "$ns" python3 "$TOOLS/listen.py" "$ready" "$@"
	pid=$!
	wait_file 10 "$ready" "$pid" || fail "listen.py $name did not start"
	read -r LPID LTIME <"$ready"
	[ "$LPID" = "$pid" ] || fail "listen.py pid $LPID, started $pid"
}

# listen_stop PID: end a listen.py and wait for it.
listen_stop() {
	kill "$1"
	wait "$1" 2>/dev/null || true
}

# alerts_json NS FILE: all alerts, as the CLI prints them, into FILE.
alerts_json() {
	swc "$1" alerts --json >"$2" || fail "sockwatch alerts --json failed"
}

# has_alert NS PORT: a listener alert for PORT is in the history.
has_alert() {
	swc "$1" alerts --json --kind listener |
	    jq -e --argjson p "$2" 'any(.[]; .local_port == $p)' >/dev/null
}

# until_epoch END CMD...: retry CMD (every 50 ms) until it succeeds or the
# wall clock (epoch seconds, fractional) passes END.
until_epoch() {
	local end=$1
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		awk -v e="$end" -v n="$EPOCHREALTIME" 'BEGIN { exit !(n > e) }' &&
		    return 1
		sleep 0.05
	done
}

# wait_alerts NS SECS PORT...: every PORT has a listener alert within SECS
# of LTIME (when listen_start's sockets opened); fails if not.
wait_alerts() {
	local ns=$1 secs=$2 end p
	shift 2
	end=$(awk -v t="$LTIME" -v s="$secs" 'BEGIN { printf "%.6f", t + s }')
	for p in "$@"; do
		until_epoch "$end" has_alert "$ns" "$p" ||
		    fail "no listener alert for port $p within $secs s"
	done
	echo "ok: alerts for port(s) $* within $secs s"
}
