#!/usr/bin/env bash
# The Prometheus rules and the Grafana dashboard of etc/, without a
# daemon: promtool checks the rules and runs their unit tests, every alert
# is tested both firing and not firing, and the dashboard parses, takes
# its data source from a variable and queries only metrics that sockwatchd
# exports (tests/integration/test_prometheus.sh checks them against a real
# scrape and a real Prometheus).
set -euo pipefail
# shellcheck source=promql.sh disable=SC1091
. "$(dirname "$0")/promql.sh"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v promtool >/dev/null || fail "promtool missing (make deps)"
promtool check rules "$PROM_RULES" >/dev/null ||
    fail "promtool check rules $PROM_RULES"
promtool test rules "$PROM_RULES_TEST" >/dev/null ||
    fail "promtool test rules $PROM_RULES_TEST"

# Every alert has a test where it fires and one where it does not.
alerts=$(awk '$1 == "-" && $2 == "alert:" { print $3 }' "$PROM_RULES")
[ -n "$alerts" ] || fail "no alerts in $PROM_RULES"
cover=$(awk '$1 == "alertname:" { name = $2 }
    $1 == "exp_alerts:" { print name, ($2 == "[]" ? "quiet" : "fires") }' \
    "$PROM_RULES_TEST" | sort -u)
for a in $alerts; do
	for how in fires quiet; do
		grep -qx "$a $how" <<<"$cover" ||
		    fail "$PROM_RULES_TEST: no test where $a $how"
	done
done

# The dashboard.
jq -e . "$PROM_DASHBOARD" >/dev/null || fail "$PROM_DASHBOARD: not JSON"
jq -e '[.templating.list[] | select(.type == "datasource" and
    .query == "prometheus" and .name == "datasource")] | length == 1' \
    "$PROM_DASHBOARD" >/dev/null ||
    fail "$PROM_DASHBOARD: no Prometheus data source variable"
bad=$(jq -r '.panels[] | select(.datasource.uid != "${datasource}" or
    any(.targets[]; .datasource.uid != "${datasource}")) | .title' \
    "$PROM_DASHBOARD")
[ -z "$bad" ] || fail "$PROM_DASHBOARD: not on \${datasource}: $bad"
n=$(dashboard_exprs | wc -l)
[ "$n" -gt 0 ] || fail "$PROM_DASHBOARD: no queries"
# Prometheus's own series, or a sockwatch_ metric the daemon names.
for m in $(dashboard_exprs | promql_metrics); do
	case $m in
	up | scrape_*) continue ;;
	sockwatch_*) ;;
	*) fail "$PROM_DASHBOARD: queries $m, not a sockwatch metric" ;;
	esac
	grep -qF "\"$m\"" "$PROM_TOP"/daemon/*.c ||
	    fail "$PROM_DASHBOARD: queries $m, which sockwatchd does not export"
done
echo "prometheus: $(wc -w <<<"$alerts") alerts tested firing and quiet;" \
    "dashboard: $n queries"
