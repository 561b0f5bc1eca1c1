#!/usr/bin/env bash
# A real Prometheus server scrapes sockwatchd, both in the victim
# namespace, every second, with etc/prometheus/sockwatch.rules.yml loaded;
# an nmap scan from the attacker namespace raises an alert and a ban. Through
# Prometheus's HTTP API: up is 1, the portscan alert counter and the bans
# gauge went up, every rule is loaded and evaluates healthily, and nothing
# fires on a healthy daemon. Every metric the rules and the Grafana dashboard
# (etc/grafana/sockwatch.json) name is in the daemon's real scrape, and every
# dashboard query is valid PromQL with data behind it.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
# shellcheck source=../prometheus/promql.sh disable=SC1091
. "$here/../prometheus/promql.sh"
for t in prometheus nmap curl jq; do
	command -v "$t" >/dev/null || fail "$t missing (make deps)"
done
T=$SW_TMP
PROM_PORT=19090
PROM="http://127.0.0.1:$PROM_PORT"

tr_net
tr_conf "$T/sockwatch.conf" "tcp/$METRICS_PORT sockwatchd"
printf 'action = block\nban = 60s\n' >>"$T/sockwatch.conf"
# A CrowdSec client (its API away: nothing listens on the port), so that
# its families are in the scrape too: the rules name one.
printf 'swtest-key\n' >"$T/bouncer.key"
chmod 600 "$T/bouncer.key"
printf '\n[crowdsec]\nurl = http://127.0.0.1:9/\nbouncer_key_file = %s\n' \
    "$T/bouncer.key" >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PROM_RULES
scrape_configs:
  - job_name: sockwatch
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
bg ip netns exec "$VNS" prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$T/prometheus.log" 2>&1
PROM_PID=$!
prom_log() {
	echo "--- prometheus log (last 20 lines):" >&2
	tail -n 20 "$T/prometheus.log" >&2
}

# api PATH [ARG...]: GET PATH from Prometheus in the victim namespace (the
# ARGs are curl's, e.g. --data-urlencode); the JSON answer on stdout.
api() {
	local path=$1
	shift
	ip netns exec "$VNS" curl -sS -f --max-time 5 -G "$@" "$PROM$path"
}
# query EXPR: the instant vector of EXPR, as Prometheus's JSON answer.
query() {
	api /api/v1/query --data-urlencode "query=$1"
}
# value EXPR: the value of EXPR's first sample (fails when it has none).
value() {
	query "$1" | jq -er '.data.result[0].value[1]'
}
# is_ge EXPR N: EXPR has a sample, and it is at least N (for wait_for).
is_ge() {
	local v
	v=$(value "$1") || return 1
	awk -v v="$v" -v n="$2" 'BEGIN { exit !(v + 0 >= n + 0) }'
}

wait_for 30 api /-/ready || { prom_log; fail "prometheus not ready in 30 s"; }
wait_for 15 is_ge 'up{job="sockwatch"}' 1 ||
    { prom_log; fail "up{job=\"sockwatch\"} is not 1 within 15 s:" \
    "$(query 'up')"; }
echo "ok: prometheus scrapes sockwatchd (up == 1)"
portscans0=$(value 'sum(sockwatch_alerts_total{kind="portscan"})') ||
    portscans0=0
[ "$(value 'sockwatch_bans')" = 0 ] || fail "bans before the scan"

timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
    --max-retries 1 --host-timeout 20s --ttl 64 "$VIC4" \
    >"$T/nmap.out" 2>&1 || fail "nmap: $(cat "$T/nmap.out")"
wait_for 10 is_ge 'sockwatch_bans' 1 ||
    fail "sockwatch_bans did not reach 1: $(query sockwatch_bans)" \
    "$(swc "$VNS" bans --json)"
wait_for 10 is_ge 'sum(sockwatch_alerts_total{kind="portscan"})' \
    $((portscans0 + 1)) || fail "no portscan alert counted:" \
    "$(query sockwatch_alerts_total)"
in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 is not in ban4"
echo "ok: portscan alerts $portscans0 -> $(value \
    'sum(sockwatch_alerts_total{kind="portscan"})'), bans in force" \
    "$(value sockwatch_bans)"
# What Prometheus holds is what the daemon says.
v=$(swc "$VNS" bans --json | jq length)
[ "$(value sockwatch_bans)" = "$v" ] ||
    fail "sockwatch_bans is $(value sockwatch_bans), sockwatch bans lists $v"
# Our metrics listener and Prometheus's, at least.
is_ge sockwatch_listeners 2 ||
    fail "sockwatch_listeners: $(query sockwatch_listeners)"
is_ge 'sockwatch_sockets{family="inet",proto="tcp",state="listen"}' 2 ||
    fail "no listening TCP sockets: $(query sockwatch_sockets)"
# nmap's 200 probes and the answers, scraped within a second or so.
wait_for 5 is_ge 'sockwatch_capture_packets_total' 200 ||
    fail "capture packets: $(query sockwatch_capture_packets_total)"
v=$(value 'sockwatch_capture_up{interface="any"}') ||
    fail "no sockwatch_capture_up{interface=\"any\"}"
[ "$v" = 1 ] || fail "sockwatch_capture_up{interface=\"any\"} is $v"
v=$(value 'sockwatch_store_open') || fail "no sockwatch_store_open"
[ "$v" = 1 ] || fail "sockwatch_store_open is $v"

# The rules: all loaded, each evaluated at least once without error.
nalerts=$(grep -c '^ *- alert:' "$PROM_RULES")
all_evaluated() {
	api /api/v1/rules | jq -e --argjson n "$nalerts" '[.data.groups[].rules[]
	    | select(.type == "alerting")] | length == $n and
	    all(.[]; .health == "ok" and
	    (.lastEvaluation | startswith("0001") | not))' >/dev/null
}
wait_for 10 all_evaluated || fail "rules not all loaded and healthy:" \
    "$(api /api/v1/rules | jq -c '[.data.groups[].rules[] |
    {name, health, lastError, lastEvaluation}]')"
# On a healthy daemon with one scan, nothing is pending or firing.
api /api/v1/alerts >"$T/alerts.json"
jq -e '.data.alerts | length == 0' "$T/alerts.json" >/dev/null ||
    fail "alerts active: $(jq -c '.data.alerts' "$T/alerts.json")"
echo "ok: $nalerts rules loaded, healthy, none active"

# Every metric the rules and the dashboard name is one the daemon exports
# (a family appears with its TYPE line even before its first sample).
ip netns exec "$VNS" curl -sS -f --max-time 5 \
    "http://127.0.0.1:$METRICS_PORT/metrics" >"$T/scrape.prom" ||
    fail "GET /metrics failed"
api /api/v1/rules | jq -r '.data.groups[].rules[].query' >"$T/rule.exprs"
for m in $( { cat "$T/rule.exprs"; dashboard_exprs; } | promql_metrics); do
	case $m in up | scrape_*) continue ;; esac
	grep -q "^# TYPE $m " "$T/scrape.prom" ||
	    fail "$m (rules or dashboard) is not in sockwatchd's scrape"
done
# Every dashboard query, with its variables filled in, has data.
n=0
while read -r e; do
	e=${e//\$__rate_interval/30s}
	e=${e//\$job/sockwatch}
	e=${e//\$instance/.+}
	query "$e" >"$T/q.json" || fail "query failed: $e"
	jq -e '.status == "success" and (.data.result | length > 0)' \
	    "$T/q.json" >/dev/null || fail "no data for $e: $(cat "$T/q.json")"
	n=$((n + 1))
done < <(dashboard_exprs)
echo "ok: $n dashboard queries answered with data"
pid_gone "$SWD_PID" && fail "sockwatchd died"
pid_gone "$PROM_PID" && { prom_log; fail "prometheus died"; }
echo "all checks passed"
