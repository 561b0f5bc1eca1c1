#!/usr/bin/env bash
# One sockwatchd per control socket: a second one on the same path (with
# an otherwise different config) refuses to start with a clear message
# and leaves the first alone. A daemon killed with SIGKILL leaves a stale
# socket file, which the next one replaces.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add one)

SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/2222 $PYCOMM"
swd_start "$NS" "$T/sockwatch.conf"
first=$SWD_PID
ino=$(stat -c %i "$SOCK")

# Same socket, different database, alerts file and metrics port.
sed -e "s|^database = .*|database = $T/second.db|" \
    -e "s|^alerts_file = .*|alerts_file = $T/second.jsonl|" \
    -e "s|^metrics_listen = .*|metrics_listen = 127.0.0.1:19465|" \
    "$T/sockwatch.conf" >"$T/second.conf"
rc=0
timeout 10 ip netns exec "$NS" "$SWD" -f -c "$T/second.conf" \
    >"$T/second.out" 2>"$T/second.err" || rc=$?
[ "$rc" -ne 124 ] || fail "a second sockwatchd is still running after 10 s"
[ "$rc" -ne 0 ] || fail "a second sockwatchd exited 0"
grep -q "already running" "$T/second.err" ||
    fail "the second sockwatchd does not say why: $(cat "$T/second.err")"
grep -q "$SOCK" "$T/second.err" ||
    fail "the second sockwatchd does not name the socket"
echo "ok: second sockwatchd exits $rc: $(head -n 1 "$T/second.err")"
[ -e "$T/second.db" ] && fail "the second sockwatchd created its database"

# The first is untouched: same process, same socket file, still serving.
pid_gone "$first" && fail "the first sockwatchd died"
[ "$(stat -c %i "$SOCK" 2>/dev/null)" = "$ino" ] ||
    fail "the control socket file was replaced or removed"
[ "$(swc "$NS" status --json | jq .pid)" = "$first" ] ||
    fail "status is not answered by the first sockwatchd"
listen_start "$NS" one tcp:0.0.0.0:7601
l1=$LPID
wait_alerts "$NS" 3 7601
echo "ok: the first sockwatchd still serves"

# SIGKILL: the socket file stays behind; the next start clears it.
swd_stop KILL
listen_stop "$l1"
[ -S "$SOCK" ] || fail "test assumption: no stale socket after SIGKILL"
rc=0
swc "$NS" status >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 3 ] || fail "status on a stale socket: exit $rc, want 3"
swd_start "$NS" "$T/sockwatch.conf"
echo "ok: a new sockwatchd replaces the stale socket of a killed one"
has_alert "$NS" 7601 || fail "the killed daemon's alert was not kept"
swd_stop TERM
[ "$SWD_RC" -eq 0 ] || fail "exit $SWD_RC after SIGTERM"
echo "all checks passed"
