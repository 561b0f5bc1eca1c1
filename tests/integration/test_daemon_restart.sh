#!/usr/bin/env bash
# Stop and start sockwatchd: SIGTERM exits 0 and removes the control
# socket file; after the restart the alert history is still there, byte
# for byte, `sockwatch status` works, and new alert ids continue above the
# old ones.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add rst)

SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/2222 $PYCOMM"
swd_start "$NS" "$T/sockwatch.conf"
first=$SWD_PID
listen_start "$NS" one tcp:0.0.0.0:7301
wait_alerts "$NS" 3 7301
listen_start "$NS" two tcp:0.0.0.0:7302
l2=$LPID
wait_alerts "$NS" 3 7302
alerts_json "$NS" "$T/before.json"
[ "$(jq length "$T/before.json")" -eq 2 ] ||
    fail "want 2 alerts before the restart: $(cat "$T/before.json")"
maxold=$(jq 'map(.id) | max' "$T/before.json")

# Stop: exit status 0, the socket file gone, the lock released.
swd_stop TERM
[ "$SWD_RC" -eq 0 ] || fail "sockwatchd exited $SWD_RC after SIGTERM"
[ -e "$SOCK" ] && fail "the control socket $SOCK is still there after stop"
grep -q 'stopped' "$SWD_LOG" || fail "no 'stopped' in the daemon's log"
echo "ok: SIGTERM: exit 0, $SOCK removed"
rc=0
swc "$NS" status >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 3 ] || fail "status with the daemon stopped: exit $rc, want 3"

# The listener on 7302 goes while the daemon is down; 7301 stays.
listen_stop "$l2"

swd_start "$NS" "$T/sockwatch.conf"
[ "$SWD_PID" != "$first" ] || fail "the same pid after a restart?"
swc "$NS" status >"$T/status.txt" || fail "status after the restart"
grep -q "^sockwatchd .*pid $SWD_PID" "$T/status.txt" ||
    fail "status after the restart: $(cat "$T/status.txt")"
echo "ok: restarted, status works"

# The listener still open (7301) is audited again at start, with a new id.
# shellcheck disable=SC2034 # read by wait_alerts
LTIME=$EPOCHREALTIME
wait_alerts "$NS" 1 7301
listen_start "$NS" three tcp:0.0.0.0:7303
wait_alerts "$NS" 3 7303
alerts_json "$NS" "$T/after.json"

# Every old alert is still there, unchanged.
for id in $(jq '.[].id' "$T/before.json"); do
	old=$(jq -S -c --argjson i "$id" '.[] | select(.id == $i)' \
	    "$T/before.json")
	new=$(jq -S -c --argjson i "$id" '.[] | select(.id == $i)' \
	    "$T/after.json")
	[ "$old" = "$new" ] ||
	    fail "alert $id changed across the restart: $old -> $new"
done
# New ids above the old ones, none reused.
jq -e --argjson m "$maxold" '[.[] | select(.id > $m)] | length == 2' \
    "$T/after.json" >/dev/null ||
    fail "want 2 new alerts with ids > $maxold: $(jq -c '[.[] | [.id,
    .local_port]]' "$T/after.json")"
jq -e 'map(.id) | length == (unique | length)' "$T/after.json" \
    >/dev/null || fail "duplicate alert ids"
jq -e --argjson m "$maxold" '[.[] | select(.id > $m) | .local_port] |
    sort == [7301, 7303]' "$T/after.json" >/dev/null ||
    fail "the new alerts are not for 7301 (at start) and 7303"
echo "ok: history kept ($(jq -c 'map(.id)' "$T/after.json")), new ids" \
    "above $maxold"

# The alerts file got every alert of both runs, once.
wait_for 2 sh -c "[ \"\$(jq -s -c 'map(.id) | sort' '$T/alerts.jsonl')\" = \
    \"\$(jq -c 'map(.id) | sort' '$T/after.json')\" ]" ||
    fail "alerts file ids $(jq -s -c 'map(.id)' "$T/alerts.jsonl")"

# A second clean stop, also by SIGINT.
swd_stop INT
[ "$SWD_RC" -eq 0 ] || fail "sockwatchd exited $SWD_RC after SIGINT"
[ -e "$SOCK" ] && fail "the control socket is still there after SIGINT"
echo "all checks passed"
