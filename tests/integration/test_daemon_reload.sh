#!/usr/bin/env bash
# Reloading: SIGHUP with a broken file keeps the running policy, and
# `sockwatch reload` and `sockwatch status` report the error with file and
# line; once the file is fixed, `sockwatch reload` applies it. SIGHUP also
# reopens the alerts file (log rotation).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add rld)
CONF="$T/sockwatch.conf"

# last_reload JQ: `sockwatch status --json` .last_reload satisfies JQ.
last_reload() {
	swc "$NS" status --json | jq -e ".last_reload | $1" >/dev/null
}
# count PORT: how many listener alerts there are for PORT.
count() {
	swc "$NS" alerts --json --kind listener |
	    jq --argjson p "$1" '[.[] | select(.local_port == $p)] | length'
}

SCAN=500ms sw_conf "$CONF" "tcp/2222 $PYCOMM"
swd_start "$NS" "$CONF"

# A file that would allow 3333 instead of 2222, but with an unknown key
# on line 7 (in [daemon]): it must not be applied. Replace the file.
SCAN=500ms sw_conf "$T/broken.conf" "tcp/3333 $PYCOMM" "bogus_key = 1"
[ "$(sed -n 7p "$T/broken.conf")" = "bogus_key = 1" ] ||
    fail "test bug: the bad key is not on line 7"
mv "$T/broken.conf" "$CONF"
kill -HUP "$SWD_PID"
wait_for 3 last_reload '.ok == false' ||
    fail "status does not show the failed SIGHUP reload"
swc "$NS" status >"$T/status.txt"
grep -q "^reload: *FAILED .*$CONF:7: .*bogus_key" "$T/status.txt" ||
    fail "status should show the failed reload with file and line:" \
    "$(cat "$T/status.txt")"
echo "ok: status: $(grep '^reload:' "$T/status.txt")"

# The old policy runs: 3333 alerts, 2222 does not (opened first).
listen_start "$NS" old tcp:0.0.0.0:2222 tcp:0.0.0.0:3333
old=$LPID
wait_alerts "$NS" 3 3333
[ "$(count 2222)" -eq 0 ] || fail "2222 alerted: the broken file was used"
echo "ok: the old policy stays after a broken SIGHUP"

# `sockwatch reload`: non-zero, the error with file and line on stderr.
rc=0
swc "$NS" reload >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "reload of a broken file exited 0"
grep -q "$CONF:7:.*bogus_key" "$T/err" ||
    fail "reload's error does not name $CONF:7 and the key: $(cat "$T/err")"
[ -s "$T/out" ] && fail "reload printed on stdout: $(cat "$T/out")"
echo "ok: reload exits $rc: $(cat "$T/err")"
swc "$NS" metrics |
    grep -x 'sockwatch_config_reloads_total{result="error"} 2' >/dev/null ||
    fail "metrics should count 2 failed reloads"
pid_gone "$SWD_PID" && fail "sockwatchd died"

# Fix the file (allow 3333 now) and reload: it is applied.
SCAN=500ms sw_conf "$CONF" "tcp/3333 $PYCOMM"
swc "$NS" reload >"$T/out" 2>"$T/err" ||
    fail "reload of a good file failed: $(cat "$T/err")"
last_reload '.ok == true and .error == null' ||
    fail "status does not show the good reload"
swc "$NS" status | grep '^reload: *ok at ' >/dev/null ||
    fail "status does not say the reload was ok"
listen_stop "$old"
listen_start "$NS" new tcp:0.0.0.0:3333 tcp:0.0.0.0:2222
wait_alerts "$NS" 3 2222
[ "$(count 3333)" -eq 1 ] ||
    fail "3333 alerted again: the fixed file was not applied"
echo "ok: the fixed file is applied by sockwatch reload"

# Log rotation: move the file away, SIGHUP, new alerts go to a new file.
mv "$T/alerts.jsonl" "$T/alerts.jsonl.1"
n1=$(wc -l <"$T/alerts.jsonl.1")
before=$(swc "$NS" status --json | jq -r .last_reload.time)
kill -HUP "$SWD_PID"
wait_for 3 last_reload ".ok == true and .time != \"$before\"" ||
    fail "SIGHUP with a good file did not reload"
listen_start "$NS" rot tcp:0.0.0.0:7304
wait_alerts "$NS" 3 7304
wait_for 2 test -s "$T/alerts.jsonl" ||
    fail "no new alerts file after SIGHUP"
jq -e -s 'length == 1 and .[0].local_port == 7304' "$T/alerts.jsonl" \
    >/dev/null || fail "the new alerts file: $(cat "$T/alerts.jsonl")"
[ "$(wc -l <"$T/alerts.jsonl.1")" -eq "$n1" ] ||
    fail "the rotated file is still written to"
echo "ok: SIGHUP reopens the alerts file"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
