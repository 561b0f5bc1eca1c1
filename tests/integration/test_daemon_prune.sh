#!/usr/bin/env bash
# Bounded growth. With [daemon] alerts_max = 50, 120 listener alerts leave
# the newest 50 in the database and in `sockwatch alerts`; status and the
# metrics count the pruned ones and give the database's size. The shipped
# logrotate file, its paths pointed at this test's files, rotates the
# alerts file and signals the daemon, which writes new alerts to a new
# file. A reload to alerts_keep = 1s empties the table; a bad value names
# file, line and key. A --replay's alerts, whatever their age, are kept
# to alerts_max.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add prn)
CONF="$T/sockwatch.conf"
DB="$T/sockwatch.db"
FILE="$T/alerts.jsonl"
LR=$(cd "$here/../../etc" && pwd)/sockwatch.logrotate
command -v logrotate >/dev/null ||
    fail "logrotate is not installed (scripts/install-deps.sh)"

# sql QUERY: one query on the daemon's database, from another connection.
sql() {
	sqlite3 -readonly -batch "$DB" "$1"
}
# rows_are N: the alerts table holds N rows.
rows_are() {
	[ "$(sql 'SELECT count(*) FROM alerts')" = "$1" ]
}
# lines_are FILE N: FILE has N lines.
lines_are() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -eq "$2" ]
}
# listeners NAME FIRST N: N listeners on 127.0.0.1, ports FIRST...
listeners() {
	local name=$1 p specs=()
	for ((p = $2; p < $2 + $3; p++)); do
		specs+=("tcp:127.0.0.1:$p")
	done
	listen_start "$NS" "$name" "${specs[@]}"
}
# kept FIRST LAST: the alerts in the database and in `sockwatch alerts`
# are those with ids FIRST..LAST, each as the alerts file has it.
kept() {
	local want got
	[ "$(sql 'SELECT count(*) || " " || min(id) || " " || max(id)
	    FROM alerts')" = "$(($2 - $1 + 1)) $1 $2" ] ||
	    fail "database: $(sql 'SELECT count(*), min(id), max(id) FROM
	    alerts'), want ids $1..$2"
	want=$(cat "$T"/alerts.jsonl* | jq -s -c --argjson a "$1" \
	    --argjson b "$2" '[.[] | select(.id >= $a and .id <= $b) |
	    [.id, .local_port]] | sort')
	got=$(swc "$NS" alerts --json | jq -c '[.[] | [.id, .local_port]] |
	    sort')
	[ "$got" = "$want" ] ||
	    fail "sockwatch alerts: $got, want the file's $want"
	[ "$(jq length <<<"$got")" -eq $(($2 - $1 + 1)) ] ||
	    fail "the alerts file lacks some of ids $1..$2"
}

SCAN=500ms sw_conf "$CONF" "tcp/22 sshd" "alerts_max = 50"
swd_start "$NS" "$CONF"

# 1. 120 alerts, ids 1..120 in a new database: all in the file, the
# newest 50 kept (pruning looks every 10 s at most).
listeners a 7200 120
first=$LPID
wait_for 10 lines_are "$FILE" 120 ||
    fail "alerts file: $(wc -l <"$FILE") lines, want 120"
wait_for 15 rows_are 50 ||
    fail "alerts table: $(sql 'SELECT count(*) FROM alerts') rows, want 50"
kept 71 120
swc "$NS" status --json >"$T/status.json"
jq -e '.store.written == 120 and .store.pruned == 70 and
    .store.errors == 0' "$T/status.json" >/dev/null ||
    fail "status: $(jq -c .store "$T/status.json")"
bytes=$(jq .store.bytes "$T/status.json")
[ "$bytes" -gt 0 ] && [ "$bytes" -eq "$(sql 'SELECT page_count *
    page_size FROM pragma_page_count(), pragma_page_size()')" ] ||
    fail "status: store.bytes $bytes, want the database's pages"
swc "$NS" status >"$T/status.txt"
grep -Eq '^database: +[0-9.]+ MiB; alerts written 120, pruned 70, '`
    `'dropped 0; 0 errors$' "$T/status.txt" ||
    fail "status: $(grep '^database' "$T/status.txt")"
swc "$NS" metrics >"$T/metrics.txt"
grep -qx 'sockwatch_store_alerts_pruned_total 70' "$T/metrics.txt" ||
    fail "metrics: $(grep pruned "$T/metrics.txt")"
grep -qx "sockwatch_store_bytes $bytes" "$T/metrics.txt" ||
    fail "metrics: $(grep store_bytes "$T/metrics.txt"), want $bytes"
echo "ok: 120 alerts, the newest 50 kept, 70 pruned, $bytes bytes"

# 2. logrotate -d passes the shipped file; with its paths pointed here
# (root owns this directory, so it rotates as root), -f rotates.
out=$(logrotate -d -s "$T/lr-shipped.state" "$LR" 2>&1) ||
    fail "logrotate -d on $LR: $out"
! grep -qi 'error' <<<"$out" || fail "logrotate -d on $LR: $out"
sed -e "s|/var/log/sockwatch/alerts.jsonl|$FILE|" \
    -e "s|/usr/local/bin/sockwatch|$SW|" \
    -e "s|su sockwatch sockwatch|su root root|" "$LR" >"$T/logrotate.conf"
grep -q "^$FILE {" "$T/logrotate.conf" && grep -q "$SW status" \
    "$T/logrotate.conf" || fail "test bug: $LR has other paths"
out=$(logrotate -d -s "$T/lr.state" "$T/logrotate.conf" 2>&1) ||
    fail "logrotate -d: $out"
! grep -qi 'error' <<<"$out" || fail "logrotate -d: $out"
cp "$FILE" "$T/before.jsonl"
logrotate -f -s "$T/lr.state" "$T/logrotate.conf" ||
    fail "logrotate -f failed"
cmp -s "$T/before.jsonl" "$FILE.1" || fail "$FILE.1 is not the old file"
# The SIGHUP: a reload, and a new file (the daemon's own: 0640).
wait_for 5 sh -c "$(printf '%q ' ip netns exec "$NS" "$SW" status \
    --json) | jq -e '.last_reload.ok and .last_reload.time != null'" ||
    fail "no reload after logrotate's postrotate"
wait_for 5 test -f "$FILE" || fail "the daemon did not open a new $FILE"
[ "$(stat -c %a "$FILE")" = 640 ] ||
    fail "new alerts file mode $(stat -c %a "$FILE"), want 640"
rm "$T/before.jsonl"

# New alerts go to the new file only; the old one is left alone; the
# table keeps the newest 50 (ids 81..130).
listeners b 7400 10
wait_for 10 lines_are "$FILE" 10 ||
    fail "new alerts file: $(wc -l <"$FILE") lines, want 10"
[ "$(jq -s -c '[.[].local_port] | sort' "$FILE")" = \
    "$(seq -s, 7400 7409 | sed 's/.*/[&]/')" ] ||
    fail "new alerts file: $(jq -s -c '[.[].local_port]' "$FILE")"
lines_are "$FILE.1" 120 || fail "$FILE.1 changed after the rotation"
wait_for 15 rows_are 50 || fail "alerts table: $(sql 'SELECT count(*)
    FROM alerts') rows after 10 more alerts, want 50"
kept 81 130
echo "ok: logrotate rotated the alerts file; new alerts in the new one"

# 3. A bad alerts_keep names file, line and key; a good one applies on
# reload: every alert is older than 1 s.
listen_stop "$first"
listen_stop "$LPID"
SCAN=500ms sw_conf "$T/bad.conf" "tcp/22 sshd" "alerts_keep = 1 month"
out=$("$SWD" -n -c "$T/bad.conf" 2>&1) && fail "-n passed: $out"
grep -q "$T/bad.conf:7: \[daemon\] alerts_keep: invalid duration" \
    <<<"$out" || fail "sockwatchd -n: $out"
SCAN=500ms sw_conf "$CONF" "tcp/22 sshd" "alerts_max = 50" \
    "alerts_keep = 1s"
sleep 1
swc "$NS" reload >/dev/null || fail "reload failed"
wait_for 5 rows_are 0 ||
    fail "alerts table: $(sql 'SELECT count(*) FROM alerts') rows, want 0"
swc "$NS" status --json | jq -e '.store.pruned == .store.written and
    .store.written >= 130' >/dev/null ||
    fail "status: $(swc "$NS" status --json | jq -c .store)"
echo "ok: alerts_keep = 1s on reload emptied the table"

# 4. A --replay's alerts carry the capture's times (2026-11-27, the
# scans of tests/data/scans.pcap): alerts_keep leaves them alone,
# alerts_max does not.
swd_stop
rm -f "$DB" "$DB-wal" "$DB-shm"
ip -n "$NS" addr add 198.18.0.1/32 dev lo
ip -n "$NS" addr add 2001:db8::1/128 dev lo
sw_conf "$CONF" "tcp/22 sshd" "interfaces = any" "alerts_keep = 1s" \
    "alerts_max = 5"
printf '\n[portscan]\nwindow = 2000ms\n' >>"$CONF"
swd_start "$NS" "$CONF" --replay "$here/../data/scans.pcap"
wait_for 5 sh -c "$(printf '%q ' ip netns exec "$NS" "$SW" status \
    --json) | jq -e '.alerts == 11'" || fail "the replay raised" \
    "$(swc "$NS" status --json | jq .alerts) alerts, want 11"
# A reload makes the daemon look at once.
swc "$NS" reload >/dev/null || fail "reload failed"
wait_for 5 rows_are 5 || fail "alerts table: $(sql 'SELECT count(*) FROM
    alerts') rows after the replay, want 5"
sleep 1
rows_are 5 || fail "replayed alerts pruned by their age"
[ "$(sql 'SELECT min(id) || "-" || max(id) FROM alerts')" = 7-11 ] ||
    fail "replay: ids $(sql 'SELECT group_concat(id) FROM alerts') kept"
echo "ok: a replay's alerts are kept whatever their age, to alerts_max"
