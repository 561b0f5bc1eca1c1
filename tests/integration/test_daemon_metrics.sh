#!/usr/bin/env bash
# Prometheus metrics: `sockwatch metrics` and GET /metrics on
# metrics_listen both pass `promtool check metrics` and count the alerts,
# listeners and reloads that happened.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add met)
command -v promtool >/dev/null || fail "promtool missing (apt-get install prometheus)"

SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/2222 $PYCOMM"
swd_start "$NS" "$T/sockwatch.conf"
# One allowed listener and three that alert.
listen_start "$NS" l tcp:0.0.0.0:2222 tcp:0.0.0.0:7701 \
    udp:0.0.0.0:7702 tcp:127.0.0.1:7703
wait_alerts "$NS" 3 7701 7702 7703
swc "$NS" reload >/dev/null || fail "reload"

# value FILE SAMPLE: the value of the sample line SAMPLE (name{labels}).
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1"
}
# check_metrics FILE WHAT: promtool passes it, and the numbers are right.
check_metrics() {
	local f=$1 what=$2 v
	promtool check metrics <"$f" >"$f.promtool" 2>&1 ||
	    fail "$what: promtool check metrics: $(cat "$f.promtool")"
	v=$(value "$f" 'sockwatch_alerts_total{kind="listener"}') ||
	    fail "$what: no sockwatch_alerts_total{kind=\"listener\"}"
	[ "$v" = 3 ] || fail "$what: sockwatch_alerts_total{kind=\"listener\"}" \
	    "is $v, want 3"
	# Ours (4) and the daemon's own metrics listener.
	v=$(value "$f" sockwatch_listeners) || fail "$what: no listeners"
	[ "$v" = 5 ] || fail "$what: sockwatch_listeners is $v, want 5"
	v=$(value "$f" 'sockwatch_config_reloads_total{result="ok"}') ||
	    fail "$what: no reloads"
	[ "$v" = 1 ] || fail "$what: reloads ok is $v, want 1"
	v=$(value "$f" 'sockwatch_sockets{family="inet",proto="tcp",state="listen"}') ||
	    fail "$what: no sockwatch_sockets for inet tcp listen"
	[ "$v" = 4 ] || fail "$what: inet tcp listening sockets: $v, want 4"
	for m in sockwatch_uptime_seconds sockwatch_scans_total \
	    sockwatch_netlink_resyncs_total sockwatch_events_dropped_total \
	    sockwatch_store_errors_total sockwatch_socket_events_total \
	    sockwatch_control_clients; do
		grep -q "^${m}[ {]" "$f" || fail "$what: no $m"
	done
	echo "ok: $what: promtool clean, 3 listener alerts, 5 listeners"
}

swc "$NS" metrics >"$T/cli.prom" || fail "sockwatch metrics failed"
check_metrics "$T/cli.prom" "sockwatch metrics"

ip netns exec "$NS" curl -sS -f --max-time 5 -D "$T/headers" \
    "http://127.0.0.1:$METRICS_PORT/metrics" >"$T/http.prom" ||
    fail "curl /metrics failed"
grep -qi '^content-type: text/plain' "$T/headers" ||
    fail "/metrics content type: $(grep -i content-type "$T/headers")"
check_metrics "$T/http.prom" "GET /metrics"

# Only /metrics is served.
code=$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' \
    --max-time 5 "http://127.0.0.1:$METRICS_PORT/nope") || true
[ "$code" = 404 ] || fail "GET /nope answered $code, want 404"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
