#!/usr/bin/env bash
# The listener audit through the real daemon: listeners open before the
# start are audited at start; an unexpected listener's alert shows up in
# `sockwatch alerts --json` within 3 s and on a subscription, with its
# process; allowed listeners and connected UDP raise nothing; loopback
# listeners say so. Measures the time from a listener opening to its
# alert on a subscription.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add lsn)

sw_conf "$T/sockwatch.conf" \
    "tcp/22 sshd, tcp/2222 $PYCOMM, udp/5353 $PYCOMM, tcp/80"

# 1. A listener that is there before the daemon: audited at start.
listen_start "$NS" pre tcp:0.0.0.0:7100
pre=$LPID
swd_start "$NS" "$T/sockwatch.conf"
# shellcheck disable=SC2034 # read by wait_alerts
LTIME=$EPOCHREALTIME
wait_alerts "$NS" 1 7100

# 2. Follow the live stream with the CLI, from before the listeners open.
bg ip netns exec "$NS" "$SW" alerts -f --json >"$T/follow.out" \
    2>"$T/follow.err"
follow=$!
# The follower is connected once status counts two clients (it and us).
wait_for 5 sh -c "$(printf '%q ' ip netns exec "$NS" "$SW" status --json) |
    jq -e '.clients >= 2'" || fail "alerts -f did not connect"
sleep 0.2

# 3. In one python3 process: first what must not alert (allowed by port
# and process, allowed by port alone, a connected UDP socket), then what
# must. A scan that sees the later sockets has seen the earlier ones.
listen_start "$NS" main \
    tcp:0.0.0.0:2222 udp:0.0.0.0:5353 tcp:0.0.0.0:80 udpc:127.0.0.1:9 \
    tcp:0.0.0.0:7101 tcp:0.0.0.0:22 udp:0.0.0.0:7102 \
    tcp:127.0.0.1:7103 'tcp:[::1]:7104' 'udp:[::]:7105'
main=$LPID
wait_alerts "$NS" 3 7101 22 7102 7103 7104 7105

alerts_json "$NS" "$T/alerts.json"
# Exactly the expected ports, one alert each.
got=$(jq -c '[.[] | .local_port] | sort' "$T/alerts.json")
[ "$got" = "[22,7100,7101,7102,7103,7104,7105]" ] ||
    fail "alerted ports $got, want [22,7100,...,7105]: allowed or" \
    "connected sockets alerted, or an alert twice"

# check PORT JQ-CONDITION DESCRIPTION: the alert for PORT satisfies it.
check() {
	jq -e --argjson p "$1" "first(.[] | select(.local_port == \$p)) |
	    $2" "$T/alerts.json" >/dev/null ||
	    fail "alert for port $1: $3: $(jq -c --argjson p "$1" \
	    '.[] | select(.local_port == $p)' "$T/alerts.json")"
}
# Every field of the issue, on every alert.
for p in 7100 7101 22 7102 7103 7104 7105; do
	check "$p" 'keys == (["action", "evidence", "id", "kind", "local_addr",
	    "local_port", "message", "peer", "process", "severity", "time"] |
	    sort)' "the fields"
	check "$p" '.kind == "listener" and .action == "alert" and
	    .peer == null and (.id | type) == "number"' "kind/action/peer/id"
	check "$p" '.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")' \
	    "time is not RFC 3339 UTC with milliseconds"
	check "$p" '.process.comm == "'"$PYCOMM"'" and .process.uid == 0' \
	    "process comm/uid"
	check "$p" '(.message | length) > 0 and (.message | contains("\n") |
	    not) and .evidence.port == .local_port' "message/evidence"
done
check 7100 ".process.pid == $pre" "the pre-existing listener's pid"
for p in 7101 22 7102 7103 7104 7105; do
	check "$p" ".process.pid == $main" "pid, want $main"
done
check 7101 '.local_addr == "0.0.0.0" and .severity == "warning" and
    .evidence.proto == "tcp" and .evidence.loopback_only == false and
    (.message | test("loopback") | not)' "wildcard TCP listener"
check 22 '(.message | contains("sshd")) and (.evidence.rule |
    contains("sshd"))' "tcp/22 is allowed to sshd only: say so"
check 7102 '.evidence.proto == "udp" and .local_addr == "0.0.0.0" and
    (.message | contains("udp"))' "UDP bound unconnected socket"
check 7103 '.local_addr == "127.0.0.1" and .severity == "info" and
    (.message | contains("loopback")) and .evidence.loopback_only == true' \
    "IPv4 loopback listener"
check 7104 '.local_addr == "::1" and (.message | contains("loopback")) and
    .evidence.loopback_only == true' "IPv6 loopback listener"
check 7105 '.local_addr == "::" and .evidence.proto == "udp" and
    .evidence.loopback_only == false' "IPv6 wildcard UDP socket"
echo "ok: alert fields, processes, loopback and UDP"

# 4. The same alerts arrived on the subscription (the CLI's -f stream).
want=$(jq -c '[.[] | select(.local_port != 7100) | .id] | sort' \
    "$T/alerts.json")
follow_ids() {
	[ "$(jq -s -c '[.[] | select(.local_port != 7100) | .id] | sort' \
	    "$T/follow.out")" = "$want" ]
}
wait_for 2 follow_ids || fail "alerts -f --json printed ids $(jq -s -c \
    '[.[].id]' "$T/follow.out"), want $want; stderr: $(cat "$T/follow.err")"
jq -s -e 'all(.[]; .kind == "listener" and .process.comm != null)' \
    "$T/follow.out" >/dev/null || fail "alerts -f: incomplete alerts"
pid_gone "$follow" && fail "alerts -f exited"
echo "ok: alerts -f --json streamed the same alerts"

# 5. ...and to the JSON-lines file (flushed every tick).
file_ids() {
	[ "$(jq -s -c '[.[].id] | sort' "$T/alerts.jsonl")" = \
	    "$(jq -c '[.[].id] | sort' "$T/alerts.json")" ]
}
wait_for 2 file_ids || fail "alerts_file holds ids $(jq -s -c '[.[].id]' \
    "$T/alerts.jsonl")"
echo "ok: the alerts file has one line per alert"

# 6. Time from listen() to the alert on a subscription, at every phase of
# the scan (scan_interval = 2s).
ip netns exec "$NS" python3 "$TOOLS/swctl.py" latency "$SOCK" 7 7200 2 ||
    fail "latency measurement"

pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
