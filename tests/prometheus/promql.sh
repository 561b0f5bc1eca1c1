# shellcheck shell=bash disable=SC2034
# Helpers shared by tests/prometheus/check.sh and
# tests/integration/test_prometheus.sh.

PROM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROM_TOP=$(cd "$PROM_DIR/../.." && pwd)
PROM_RULES="$PROM_TOP/etc/prometheus/sockwatch.rules.yml"
PROM_RULES_TEST="$PROM_DIR/sockwatch.rules.test.yml"
PROM_DASHBOARD="$PROM_TOP/etc/grafana/sockwatch.json"

# promql_metrics: the metric names the PromQL expressions on stdin (one a
# line) select, one a line, sorted: what is left once strings, label
# matchers, ranges, by/without/on/ignoring lists, function names and
# operators are taken out.
promql_metrics() {
	sed -E 's/"[^"]*"//g; s/\{[^}]*\}//g; s/\[[^]]*\]//g;
	    s/\<(by|without|on|ignoring|group_left|group_right) *\([^)]*\)//g' |
	    grep -oE '[A-Za-z_:][A-Za-z0-9_:]*( *\()?' |
	    grep -vE '\($' |
	    grep -vxE 'and|or|unless|bool|offset|group_(left|right)|inf|nan' |
	    sort -u
}

# dashboard_exprs: every query of the Grafana dashboard, one a line.
dashboard_exprs() {
	jq -r '.panels[].targets[].expr' "$PROM_DASHBOARD"
}
