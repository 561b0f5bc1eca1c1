#!/usr/bin/env bash
# CrowdSec, both ways, against Debian's crowdsec: its Local API alone
# (crowdsec -no-cs -no-capi) on the victim namespace's loopback, with a
# generated config and a scratch SQLite database on a tmpfs of ours;
# sockwatchd in the same namespace as its bouncer and its agent.
#
#  1. A key file others can read is refused, naming it (start and reload);
#     a reload turns [crowdsec] on. The HTTP is a child's (the url names
#     the host, localhost): not root, no capability, no_new_privs,
#     seccomp; the parent holds no connection to the API.
#  2. 50,000 decisions (cscli decisions import) waiting when it starts:
#     applied in one batch (the daemon's own measure, logged; asserted
#     under 5 s).
#  3. cscli decisions add --ip: in ban4 within poll_interval + 2 s with
#     about an hour left; a Range decision lands in bannet4; a decision
#     for our own address or an [allow] peer is refused and logged; a
#     peer we banned ourselves keeps our ban through a CrowdSec decision
#     and its deletion; cscli decisions delete lifts the CrowdSec ban.
#  4. nmap scans the victim: the alert is in `cscli alerts list -a` with
#     scenario sockwatch/portscan within 30 s.
#  5. The LAPI is killed: the daemon lives, its bans stay, the errors
#     are counted and shown; an alert raised meanwhile waits, and so does
#     the withdrawal of a scanner unblocked meanwhile (it scans and is
#     banned again); a server answering garbage in its place changes
#     nothing and is reported; restarted, decisions are pulled again, the
#     waiting alerts pushed, and of the unblocked scanner's decisions the
#     old one withdrawn, the new one kept.
#  6. sockwatch unblock of the scanners withdraws our decisions from the
#     API (cscli no longer lists them), and only ours: a decision added
#     by cscli for the same peer stays; the unblocked peer without one
#     does not come back with the next poll.
#  7. kill -9 of the CrowdSec client: reported, bans kept, a new client
#     pulls decisions; it never died before that (no seccomp kill). Its
#     whole list brings back the peer cscli banned, not the other.
#  8. A reload that changes [crowdsec] starts a new client that reads the
#     whole list again; a reload without [crowdsec] ends it.
#  9. url = http:// to another host is warned of (the keys in clear),
#     http://localhost is not.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools crowdsec cscli nmap nft || exit 0
T=$SW_TMP
CS=$T/cs
LAPI_PORT=8080
POLL_S=2
ALLOWED4=198.18.9.77
BIG=50000

tr_net
# The API's database on a tmpfs: cscli imports 50,000 decisions in
# seconds there, in minutes on a slow disk.
mkdir -p "$CS"
mount -t tmpfs -o size=256m,mode=0700 swtest-crowdsec "$CS"
mkdir -p "$CS/data" "$CS/hub"
cat >"$CS/config.yaml" <<EOF
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $CS/
  working_dir: .
config_paths:
  config_dir: $CS/
  data_dir: $CS/data/
  simulation_path: /etc/crowdsec/simulation.yaml
  hub_dir: $CS/hub/
  index_path: $CS/hub/.index.json
  notification_dir: $CS/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
db_config:
  log_level: info
  type: sqlite
  db_path: $CS/data/crowdsec.db
  use_wal: true
api:
  client:
    insecure_skip_verify: false
    credentials_path: $CS/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$LAPI_PORT
    profiles_path: /etc/crowdsec/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
: >"$CS/local_api_credentials.yaml"

# cs ARGS...: cscli on our config, in the victim namespace (where the
# API listens).
cs() {
	ip netns exec "$VNS" cscli -c "$CS/config.yaml" "$@"
}
cs machines add -a -f "$CS/local_api_credentials.yaml" >/dev/null 2>&1 ||
    fail "cscli machines add -a"
sed -i "s#^url: .*#url: http://127.0.0.1:$LAPI_PORT#" \
    "$CS/local_api_credentials.yaml"
cs bouncers add swtest-bouncer -o raw >"$T/bouncer.key" 2>/dev/null ||
    fail "cscli bouncers add"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$T/machine.pw"
cs machines add swtest-agent --password "$(cat "$T/machine.pw")" \
    -f /dev/null >/dev/null 2>&1 || fail "cscli machines add"
chmod 600 "$T/bouncer.key" "$T/machine.pw"

LAPI_PID=
lapi_up() {
	local code
	code=$(ip netns exec "$VNS" curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$LAPI_PORT/v1/decisions") || return 1
	[ "$code" = 403 ]
}
lapi_start() {
	bg ip netns exec "$VNS" crowdsec -c "$CS/config.yaml" -no-cs -no-capi \
	    >>"$T/lapi.out" 2>&1
	LAPI_PID=$!
	wait_for 20 lapi_up || fail "the Local API did not start"
}
lapi_start

# 2a. A blocklist of 50,000 decisions waits in the API before we start,
# as a community list would: the startup stream carries it whole.
awk -v n=$BIG 'BEGIN { print "duration,scope,value"
    for (i = 0; i < n; i++)
	printf "2h,ip,198.19.%d.%d\n", int(i / 250), i % 250 + 1 }' \
    >"$T/big.csv"
t0=$(now_ms)
cs decisions import -i "$T/big.csv" >"$T/import.out" 2>&1 ||
    fail "cscli decisions import: $(tail -n 3 "$T/import.out")"
echo "ok: cscli imported $BIG decisions in $(($(now_ms) - t0)) ms"

tr_conf "$T/sockwatch.conf" ""
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = 1h

[allow]
peers = $ALLOWED4
EOF
cp "$T/sockwatch.conf" "$T/off.conf"
cat >>"$T/sockwatch.conf" <<EOF

[crowdsec]
url = http://localhost:$LAPI_PORT
bouncer_key_file = $T/bouncer.key
machine_id = swtest-agent
machine_password_file = $T/machine.pw
poll_interval = ${POLL_S}s
EOF
cp "$T/sockwatch.conf" "$T/on.conf"

# 1. A key anyone can read is no key. The daemon starts with [crowdsec]
# off, and a reload turns it on.
chmod 644 "$T/bouncer.key"
out=$(ip netns exec "$VNS" "$SWD" -n -c "$T/on.conf" 2>&1) &&
    fail "a world-readable key file was taken: $out"
grep -q "$T/bouncer.key is readable by everyone" <<<"$out" ||
    fail "the refusal does not name the file: $out"
chmod 600 "$T/bouncer.key"
cp "$T/off.conf" "$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"
swc "$VNS" status --json | jq -e '.crowdsec == null' >/dev/null ||
    fail "[crowdsec] is on without keys"
cp "$T/on.conf" "$T/sockwatch.conf"
chmod 604 "$T/machine.pw"
swc "$VNS" reload >/dev/null 2>&1 && fail "reload took a world-readable key"
chmod 600 "$T/machine.pw"
swc "$VNS" status --json | jq -e '.last_reload.ok == false and
    (.last_reload.error | contains("machine.pw")) and .crowdsec == null' \
    >/dev/null || fail "the failed reload is not shown, or took effect"
swc "$VNS" reload >/dev/null || fail "reload with the key files mended"
echo "ok: key files readable by others are refused, naming them"

# status_of PID KEY: a field of /proc/PID/status.
status_of() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
# client_pid: the CrowdSec client's, as the status says.
client_pid() {
	swc "$VNS" status --json | jq -e '.crowdsec.client.pid | select(. > 0)'
}
CLIENT=$(client_pid) || fail "no CrowdSec client in the status"
[ "$(status_of "$CLIENT" PPid)" = "$SWD_PID" ] ||
    fail "pid $CLIENT is not sockwatchd's child"
[ "$(status_of "$CLIENT" Uid)" != 0 ] || fail "the CrowdSec client is root"
for k in CapEff CapPrm CapInh CapAmb; do
	[ "$(status_of "$CLIENT" $k)" = 0000000000000000 ] ||
	    fail "the CrowdSec client has $k $(status_of "$CLIENT" $k)"
done
[ "$(status_of "$CLIENT" NoNewPrivs)" = 1 ] &&
    [ "$(status_of "$CLIENT" Seccomp)" = 2 ] ||
    fail "the CrowdSec client is not under no_new_privs and seccomp"
# A hostile answer takes its heap, not the host's memory.
[ "$(cat "/proc/$CLIENT/oom_score_adj")" = 1000 ] ||
    fail "the CrowdSec client's oom_score_adj is not 1000"
grep -q '^Max data size  *1610612736 ' "/proc/$CLIENT/limits" ||
    grep -q __asan_init "$BUILD/sockwatchd" ||
    fail "the CrowdSec client's heap is not limited: \
$(grep 'Max data' "/proc/$CLIENT/limits")"
echo "ok: the CrowdSec client (pid $CLIENT): uid $(status_of "$CLIENT" Uid)," \
    "no capabilities, no_new_privs, seccomp"

# 2b. The 50,000 landed in one batch.
big_logged() {
	grep -Eq "crowdsec: startup stream: $BIG bans, .* in [0-9]+ ms" \
	    "$SWD_LOG"
}
wait_for $((POLL_S + 10)) big_logged || fail "no batch of $BIG bans"
line=$(grep -Eo "startup stream: $BIG bans, .*" "$SWD_LOG" | tail -n 1)
ms=$(grep -Eo ' in [0-9]+ ms' <<<"$line" | grep -Eo '[0-9]+')
echo "ok: $BIG decisions applied in one batch in $ms ms (daemon's measure:" \
    "${line#*malformed, })"
[ "$ms" -lt 5000 ] || fail "$BIG decisions took $ms ms"
n=$(elems "$VNS" ban4 | grep -c '^198\.19\.')
[ "$n" -eq "$BIG" ] || fail "ban4 holds $n of the $BIG"
ip netns exec "$VNS" ss -Htnp "dport = :$LAPI_PORT" >"$T/ss.out"
grep -q "pid=$SWD_PID," "$T/ss.out" &&
    fail "the parent holds a connection to the API: $(cat "$T/ss.out")"

# 3. Decisions become bans, deletions lift them.
t0=$(now_ms)
cs decisions add --ip 198.18.9.9 --duration 1h >/dev/null 2>&1 ||
    fail "cscli decisions add"
wait_for $((POLL_S + 2)) in_set "$VNS" ban4 198.18.9.9 ||
    fail "198.18.9.9 not in ban4 within $((POLL_S + 2)) s"
echo "ok: decision to ban4 in $(($(now_ms) - t0)) ms"
left=$(expires_of "$VNS" ban4 198.18.9.9)
if [ "$left" -le 3500 ] || [ "$left" -gt 3600 ]; then
	fail "198.18.9.9 has $left s left, not about an hour"
fi
swc "$VNS" bans --json | jq -e 'any(.[]; .addr == "198.18.9.9" and
    .source == "crowdsec")' >/dev/null ||
    fail "the ban's source is not crowdsec"

cs decisions add --range 198.18.64.0/24 --duration 30m >/dev/null 2>&1
cs decisions add --range 198.18.0.0/15 --duration 30m >/dev/null 2>&1
cs decisions add --ip "$ALLOWED4" --duration 1h >/dev/null 2>&1
cs decisions add --ip "$VIC4" --duration 1h >/dev/null 2>&1
swc "$VNS" block --for 2h 198.18.9.10 >/dev/null || fail "block"
cs decisions add --ip 198.18.9.10 --duration 5m >/dev/null 2>&1
wait_for $((POLL_S + 2)) in_set "$VNS" bannet4 198.18.64.0/24 ||
    fail "the Range decision is not in bannet4"
wait_for 3 grep -q "refusing to block $ALLOWED4" "$SWD_LOG" ||
    fail "the decision for an [allow] peer was not refused and logged"
in_set "$VNS" ban4 "$ALLOWED4" && fail "an [allow] peer was banned"
wait_for 3 grep -q "refusing to block $VIC4" "$SWD_LOG" ||
    fail "a decision for our own address was not refused and logged"
in_set "$VNS" ban4 "$VIC4" && fail "our own address was banned"
wait_for 3 grep -q "198.18.0.0/15 not banned: wider than /16" "$SWD_LOG" ||
    fail "a range wider than /16 was not refused and logged"
in_set "$VNS" bannet4 198.18.0.0/15 && fail "a /15 from the API was banned"
echo "ok: a Range decision in bannet4; our own address, an [allow]" \
    "peer and a /15 refused"

cs decisions delete --ip 198.18.9.9 >/dev/null 2>&1
cs decisions delete --ip 198.18.9.10 >/dev/null 2>&1
not_in_set() { ! in_set "$@"; }
wait_for $((POLL_S + 2)) not_in_set "$VNS" ban4 198.18.9.9 ||
    fail "a deleted decision's ban stays"
in_set "$VNS" ban4 198.18.9.10 || fail "our own ban went with a decision"
swc "$VNS" bans --json | jq -e 'any(.[]; .addr == "198.18.9.10" and
    .source == "manual")' >/dev/null || fail "our own ban changed source"
echo "ok: a deletion lifts the CrowdSec ban only"

# 4. Our alerts go to the API.
# cs_alert IP: the API holds our portscan alert for IP.
cs_alert() {
	cs alerts list -a -o json 2>/dev/null | jq -e --arg ip "$1" \
	    'any(.[]; .scenario == "sockwatch/portscan" and
	    .source.ip == $ip and .events_count >= 20)'
}
# wait_cs_alert SECS IP: cs_alert within SECS (a listing takes a second
# or two with 50,000 decisions: wall time, not a count of tries).
wait_cs_alert() {
	until_epoch "$(awk -v t="$EPOCHREALTIME" -v s="$1" \
	    'BEGIN { printf "%.6f", t + s }')" cs_alert "$2"
}
t0=$(now_ms)
ip netns exec "$ANS" nmap -n -Pn -sS -p 1-100 --max-retries 0 -T5 "$VIC4" \
    >/dev/null 2>&1 || true
wait_cs_alert 30 "$ATK4" ||
    fail "no sockwatch/portscan alert for $ATK4 in the API within 30 s"
echo "ok: the scan's alert is in the API after $(($(now_ms) - t0)) ms"
cs alerts list -a -o json 2>/dev/null | jq -e --arg ip "$ATK4" 'any(.[];
    .source.ip == $ip and any(.decisions[]?; .type == "ban" and
    .origin == "sockwatch"))' >/dev/null || fail "our ban is not in the alert"

# 5. The API goes away and comes back.
# in_force IP: the decisions in force for IP itself (not a range holding
# it), one JSON object a line. (cscli decisions list shows one decision
# of a value; its alerts list shows them all, a deleted one with a
# negative time left.)
in_force() {
	cs alerts list -a --ip "$1" -o json 2>/dev/null | jq -c --arg ip "$1" \
	    '.[]?.decisions[]? | select(.value == $ip and
	    (.duration | startswith("-") | not))'
}
# origins IP: their origins, sorted; own_ids IP: the ids of ours.
origins() {
	in_force "$1" | jq -rs 'map(.origin) | sort | join(",")'
}
own_ids() {
	in_force "$1" | jq -rs 'map(select(.origin == "sockwatch") | .id) |
	    sort | join(",")'
}
old4=$(own_ids "$ATK4")
[[ $old4 =~ ^[0-9]+$ ]] || fail "not one decision of ours for $ATK4: $old4"
bans_before=$(elems "$VNS" ban4 | wc -l)
kill "$LAPI_PID"
wait "$LAPI_PID" 2>/dev/null || true
t0=$(now_ms)
# The first scanner, unblocked while the API is away, scans again and is
# banned again: the withdrawal waits, and must take the old decision
# only, not the one of the alert pushed since.
swc "$VNS" unblock "$ATK4" >/dev/null || fail "sockwatch unblock"
ip netns exec "$ANS" nmap -n -Pn -sS -p 101-200 --max-retries 0 -T5 "$VIC4" \
    >/dev/null 2>&1 || true
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 not banned again"
# The rest of 2 polls' time (the retries' phase, and so this test's
# length, depends on it).
ms=$((POLL_S * 2000 - ($(now_ms) - t0)))
[ "$ms" -le 0 ] || sleep "$(awk -v ms="$ms" 'BEGIN { print ms / 1000 }')"
ip netns exec "$ANS" nmap -6 -n -Pn -sS -p 1-100 --max-retries 0 -T5 "$VIC6" \
    >/dev/null 2>&1 || true
sleep $POLL_S
kill -0 "$SWD_PID" || fail "sockwatchd died with the API"
[ "$(elems "$VNS" ban4 | wc -l)" -ge "$bans_before" ] ||
    fail "bans were lost while the API was down"
swc "$VNS" status --json | jq -e '.crowdsec.decisions.state == "failing" and
    .crowdsec.decisions.errors > 0' >/dev/null ||
    fail "the API's failures are not shown"
swc "$VNS" status | grep "decisions failing" >/dev/null ||
    fail "sockwatch status does not show the failure"
# (grep reads it all: -q would end swc early, a failure under pipefail.)
swc "$VNS" metrics | grep -E >/dev/null \
    '^sockwatch_crowdsec_errors_total\{direction="decisions"\} [1-9]' ||
    fail "the errors are not counted in the metrics"
echo "ok: the API down: daemon alive, $bans_before bans kept, errors counted"

# Something else on its port, answering garbage with 200 OK.
bg ip netns exec "$VNS" python3 -c 'import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        b = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$LAPI_PORT"
GARBAGE_PID=$!
garbage_seen() {
	swc "$VNS" status --json | jq -e '.crowdsec.decisions.error |
	    startswith("a bad answer")' >/dev/null
}
wait_for 40 garbage_seen || fail "a garbage answer was not reported"
[ "$(elems "$VNS" ban4 | wc -l)" -ge "$bans_before" ] ||
    fail "a garbage answer changed the bans"
kill "$GARBAGE_PID"
wait "$GARBAGE_PID" 2>/dev/null || true
echo "ok: a garbage answer: reported, bans kept"
lapi_start
cs decisions add --ip 198.18.9.11 --duration 1h >/dev/null 2>&1
# The retries back off (1 s, doubling): allow for the longest wait yet.
wait_for 45 in_set "$VNS" ban4 198.18.9.11 ||
    fail "no decision pulled after the API came back"
wait_cs_alert 45 "$ATK6" ||
    fail "the alert raised while the API was down was not pushed"
# withdrawn N: N decisions of ours withdrawn, and nothing waiting.
withdrawn() {
	swc "$VNS" status --json | jq -e --argjson n "$1" '.crowdsec.alerts |
	    .withdrawn >= $n and .withdraw_queued == 0 and .queued == 0 and
	    .withdraw_dropped == 0'
}
wait_for 45 withdrawn 1 || fail "the withdrawal did not happen: \
$(swc "$VNS" status --json | jq -c .crowdsec.alerts)"
new4=$(own_ids "$ATK4")
[[ $new4 =~ ^[0-9]+$ ]] && [ "$new4" != "$old4" ] ||
    fail "$ATK4: our decisions in force are '$new4', want the new one only" \
    "(the old: $old4)"
swc "$VNS" status --json | jq -e '.crowdsec.decisions.state == "ok" and
    .crowdsec.alerts.state == "ok" and .crowdsec.alerts.dropped == 0' \
    >/dev/null || fail "the state is not ok again"
kill -0 "$SWD_PID" || fail "sockwatchd died"
echo "ok: the API back: decisions pulled, the waiting alerts pushed, the" \
    "unblocked peer's old decision withdrawn, its new one kept"

# 6. An administrator's unblock withdraws the decisions our alerts put
# in the API, and only those.
[ "$(origins "$ATK6")" = sockwatch ] ||
    fail "the API does not hold our decision for $ATK6: $(origins "$ATK6")"
in_set "$VNS" ban6 "$ATK6" || fail "$ATK6 is not banned"
cs decisions add --ip "$ATK4" --duration 1h >/dev/null 2>&1 ||
    fail "cscli decisions add"
[ "$(origins "$ATK4")" = cscli,sockwatch ] ||
    fail "the API does not hold both decisions for $ATK4: $(origins "$ATK4")"
polls() {
	swc "$VNS" status --json | jq -e '.crowdsec.decisions.polls'
}
t0=$(now_ms)
swc "$VNS" unblock "$ATK4" "$ATK6" >/dev/null || fail "sockwatch unblock"
wait_for 10 withdrawn 3 || fail "our decisions were not withdrawn: \
$(swc "$VNS" status --json | jq -c .crowdsec.alerts)"
echo "ok: our decisions withdrawn $(($(now_ms) - t0)) ms after the unblock"
[ "$(origins "$ATK4")" = cscli ] ||
    fail "$ATK4 should hold cscli's decision only: $(origins "$ATK4")"
[ -z "$(origins "$ATK6")" ] ||
    fail "$ATK6 still has decisions: $(origins "$ATK6")"
n=$(swc "$VNS" metrics | awk \
    '$1 == "sockwatch_crowdsec_withdrawn_total{result=\"deleted\"}" {
    print $2 }')
[ "${n:-0}" -ge 3 ] ||
    fail "the withdrawn decisions are not counted in the metrics: '$n'"
# Two polls on: the one that may have started before the deletion, and
# one after it.
n=$(polls)
more_polls() {
	[ "$(polls)" -ge $((n + 2)) ]
}
wait_for $((POLL_S * 3 + 5)) more_polls || fail "no poll after the unblock"
in_set "$VNS" ban6 "$ATK6" && fail "$ATK6 came back with a poll"
echo "ok: sockwatch unblock deleted our decisions only; $ATK4 keeps" \
    "cscli's, $ATK6 stays unblocked"

# 7. The client killed: the parent lives on, keeps the bans, and a new
# client (after a short backoff) reads the stream from its start again.
swc "$VNS" status --json | jq -e '.crowdsec.client.deaths == 0' >/dev/null ||
    fail "the CrowdSec client died during the test: $(grep -i 'client' \
    "$SWD_LOG" | tail -n 3)"
CLIENT=$(client_pid) || fail "no CrowdSec client"
bans_before=$(elems "$VNS" ban4 | wc -l)
kill -9 "$CLIENT"
new_client() {
	local p
	p=$(client_pid) && [ "$p" != "$CLIENT" ]
}
wait_for 10 new_client || fail "no new CrowdSec client within 10 s"
grep -q "CrowdSec client (pid $CLIENT) killed by signal 9" "$SWD_LOG" ||
    fail "the client's death is not in the log"
swc "$VNS" alerts --json --kind crowdsec | jq -e 'length == 1' >/dev/null ||
    fail "no crowdsec alert for the client's death"
swc "$VNS" metrics | grep '^sockwatch_crowdsec_client_deaths_total 1$' \
    >/dev/null || fail "the client's death is not counted in the metrics"
cs decisions add --ip 198.18.9.12 --duration 1h >/dev/null 2>&1
wait_for $((POLL_S + 10)) in_set "$VNS" ban4 198.18.9.12 ||
    fail "no decision pulled by the new client"
# Its whole list: cscli's decision for an unblocked peer, not ours.
swc "$VNS" bans --json | jq -e --arg ip "$ATK4" 'any(.[]; .addr == $ip and
    .source == "crowdsec")' >/dev/null ||
    fail "cscli's decision for $ATK4 was not applied by the new client"
in_set "$VNS" ban6 "$ATK6" && fail "$ATK6 came back with the whole list"
[ "$(elems "$VNS" ban4 | wc -l)" -gt "$bans_before" ] ||
    fail "bans were lost with the client"
kill -0 "$SWD_PID" || fail "sockwatchd died with its client"
echo "ok: kill -9 of the CrowdSec client: reported, bans kept, a new one" \
    "pulls decisions"

# 8. A reload that changes [crowdsec] starts a new client, which reads
# the whole list again; one that drops it ends the client.
# Only a whole list carries the [allow] peer's decision again.
startups() {
	grep -c "refusing to block $ALLOWED4" "$SWD_LOG"
}
CLIENT=$(client_pid) || fail "no CrowdSec client"
n0=$(startups)
sed -i 's/^poll_interval = .*/poll_interval = 3s/' "$T/sockwatch.conf"
swc "$VNS" reload >/dev/null || fail "reload with a new poll_interval"
new_client || fail "no new CrowdSec client after the reload"
kill -0 "$CLIENT" 2>/dev/null && fail "the old client lives on"
more_startups() {
	[ "$(startups)" -gt "$n0" ]
}
wait_for 10 more_startups || fail "the new client did not read the list again"
CLIENT=$(client_pid) || fail "no CrowdSec client"
cp "$T/off.conf" "$T/sockwatch.conf"
swc "$VNS" reload >/dev/null || fail "reload without [crowdsec]"
swc "$VNS" status --json | jq -e '.crowdsec == null' >/dev/null ||
    fail "[crowdsec] is still on"
client_gone() {
	! kill -0 "$CLIENT" 2>/dev/null
}
wait_for 3 client_gone || fail "the client lives on without [crowdsec]"
in_set "$VNS" ban4 198.18.9.12 || fail "the bans went with [crowdsec]"
echo "ok: a reload that changes [crowdsec] starts a new client; one" \
    "without it ends the client, the bans stay"

# 9. The keys in clear: no warning for localhost (all reloads above), one
# for plain HTTP to another host.
grep -q 'plain HTTP' "$SWD_LOG" && fail "a warning for http://localhost: \
$(grep 'plain HTTP' "$SWD_LOG")"
sed "s#^url = .*#url = http://$VIC4:$LAPI_PORT#" "$T/on.conf" \
    >"$T/sockwatch.conf"
swc "$VNS" reload >/dev/null || fail "reload with a remote url"
wait_for 3 grep -q "crowdsec: http://$VIC4:$LAPI_PORT/ is plain HTTP to \
another host: the bouncer key and the machine's password cross the network \
in clear" "$SWD_LOG" || fail "no warning for the keys in clear"
echo "ok: plain HTTP to another host is warned of, to localhost not"
