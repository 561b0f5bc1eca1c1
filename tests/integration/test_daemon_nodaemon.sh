#!/usr/bin/env bash
# Without a daemon, the daemon's commands say so plainly and exit 3;
# `sockwatch check-config` and `sockwatchd -n` check files with FILE:LINE
# in their messages, no daemon needed.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add nod)

# run ARGS...: the CLI in NS; sets rc, and the out and err files.
run() {
	rc=0
	ip netns exec "$NS" "$SW" "$@" >"$T/out" 2>"$T/err" || rc=$?
}
# nodaemon DESCRIPTION ARGS...: exit 3, nothing on stdout, one plain
# sentence on stderr that says the daemon is not running.
nodaemon() {
	local what=$1
	shift
	run "$@"
	[ "$rc" -eq 3 ] || fail "$what: exit $rc, want 3: $(cat "$T/err")"
	[ -s "$T/out" ] && fail "$what: printed on stdout: $(cat "$T/out")"
	if [ "$(wc -l <"$T/err")" -ne 1 ] ||
	    ! grep -q '^sockwatch: sockwatchd is not running' "$T/err"; then
		fail "$what: stderr is not one plain line: $(cat "$T/err")"
	fi
	echo "ok: $what: exit 3: $(cat "$T/err")"
}

# 1. Nothing at the path.
for cmd in status alerts "alerts -f" "alerts --json" reload metrics; do
	# shellcheck disable=SC2086
	nodaemon "-S (no file): $cmd" -S "$T/nothing.sock" $cmd
done
# 2. Through SOCKWATCH_SOCKET.
SOCKWATCH_SOCKET="$T/nothing.sock" nodaemon "SOCKWATCH_SOCKET: status" status
# 3. A socket file that nobody listens on (a daemon killed with -9).
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[1])' \
    "$T/stale.sock"
[ -S "$T/stale.sock" ] || fail "test bug: no stale socket"
nodaemon "stale socket: status" -S "$T/stale.sock" status
nodaemon "stale socket: alerts" -S "$T/stale.sock" alerts
# 4. --direct needs no daemon.
run -S "$T/nothing.sock" listeners --direct
[ "$rc" -eq 0 ] || fail "listeners --direct without a daemon: exit $rc"

# check-config and sockwatchd -n.
SCAN=500ms sw_conf "$T/good.conf" "tcp/22 sshd, udp/53"
{
	echo "[daemon]"
	echo "scan_interval = 2s"
	echo "[listen]"
	echo "allow = tcp/22 sshd"
	echo "frobnicate = yes"
} >"$T/bad.conf"
{
	echo "[daemon]"
	echo "scan_interval = 2 fortnights"
} >"$T/bad2.conf"
run check-config "$T/good.conf"
[ "$rc" -eq 0 ] || fail "check-config good: exit $rc: $(cat "$T/err")"
run check-config "$T/bad.conf"
[ "$rc" -eq 1 ] || fail "check-config bad: exit $rc, want 1"
grep -q "^sockwatch: $T/bad.conf:5: .*frobnicate" "$T/err" ||
    fail "check-config bad: want FILE:5 and the key: $(cat "$T/err")"
echo "ok: check-config bad: $(cat "$T/err")"
run check-config "$T/bad2.conf"
[ "$rc" -eq 1 ] || fail "check-config bad2: exit $rc, want 1"
grep -q "^sockwatch: $T/bad2.conf:2: .*scan_interval" "$T/err" ||
    fail "check-config bad2: want FILE:2 and the key: $(cat "$T/err")"
run check-config "$T/missing.conf"
[ "$rc" -eq 1 ] || fail "check-config of a missing file: exit $rc, want 1"
grep -q "missing.conf" "$T/err" ||
    fail "check-config of a missing file: $(cat "$T/err")"

rc=0
"$SWD" -n -c "$T/good.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || fail "sockwatchd -n good: exit $rc: $(cat "$T/err")"
rc=0
"$SWD" -n -c "$T/bad.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "sockwatchd -n bad: exit $rc, want 1"
grep -q "$T/bad.conf:5: .*frobnicate" "$T/err" ||
    fail "sockwatchd -n bad: want FILE:5 and the key: $(cat "$T/err")"
echo "ok: sockwatchd -n bad: $(cat "$T/err")"
# -n must not have started anything.
[ -e "$SOCK" ] && fail "sockwatchd -n created the control socket"
# And a daemon does not start on a bad file.
rc=0
timeout 10 ip netns exec "$NS" "$SWD" -f -c "$T/bad.conf" \
    >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "sockwatchd -f with a bad config: exit $rc, want 1"
echo "all checks passed"
