#!/usr/bin/env bash
# The daemon's responsiveness while it prunes a large alert history: in a
# private network namespace, sockwatchd gets a database of N alerts
# (default 1,000,000; each the JSON of a real port scan alert and a peer
# of its own, put in with sqlite3); `sockwatch status` is timed SAMPLES
# times (default 40), 0.25 s apart, first with no limit, then after a
# reload to alerts_max = N/2, while the backlog is deleted a batch a tick.
# A status answer waits for the daemon's loop: its latency shows how long
# the loop is held. Prints a markdown line for each, and the deletion
# rate.
#
# Usage: bench/prune.sh [BUILD] [N] [SAMPLES]   (as root)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-1000000}
SAMPLES=${3:-40}
BENCH=prune
# shellcheck source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
[ "$N" -ge 1000 ] && [ "$N" -le 10000000 ] || die "N: 1000 to 10000000"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

# conf MAX: the configuration, with alerts_max = MAX and no age limit.
conf() {
	daemon_conf "alerts_keep = 0" "alerts_max = $1"
}
# The schema comes from the daemon; the rows from sqlite3.
conf 0
swd_start
kill "$PID"
wait "$PID" || true
PID=
# The first alert of the test capture: a SYN scan, 586 bytes of JSON.
json=$("$SW" analyze --json "$(dirname "$0")/../tests/data/scans.pcap" |
    jq -c '.alerts[0]') || true
[ "${#json}" -gt 500 ] || die "no alert from tests/data/scans.pcap"
sqlite3 "$WORK/sw.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL
    SELECT i + 1 FROM n WHERE i < $N) INSERT INTO alerts (id, time_ms,
    kind, severity, peer, json) SELECT i, 1795793795000 + i * 10,
    'portscan', 'warning', randomblob(16), '$json' FROM n" ||
    die "filling the database failed"
swd_start
status_latency "no limit" "$N" "$SAMPLES"
conf $((N / 2))
swc reload >/dev/null || die "reload failed"
t0=$(date +%s%N)
status_latency "alerts_max = N/2, pruning" "$N" "$SAMPLES"
p=$(swc status --json | jq .store.pruned)
t1=$(date +%s%N)
[ "$p" -gt 0 ] || die "nothing was pruned"
echo "prune.sh: $p alerts deleted in $(((t1 - t0) / 1000000)) ms," \
    "$((p * 1000000000 / (t1 - t0))) a second" >&2
