#!/usr/bin/env bash
# No false alarm from ordinary traffic: with the shipped thresholds, a
# client in its own namespace downloads 50 MB from a web server in the
# victim namespace and makes 300 ordinary HTTP requests (200 on a
# connection each, 100 on one kept-alive connection); sockwatchd,
# capturing there, raises no alert, yet its peer table shows that it saw
# that traffic. Then a scan from the attacker namespace is alerted, and
# only that: the daemon was watching.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools curl || exit 0
T=$SW_TMP
BIG=$((50 * 1024 * 1024))
URL=http://$VICB4:8000

tr_net
tr_conf "$T/sockwatch.conf" "tcp/8000" default
mkdir "$T/www"
head -c "$BIG" /dev/zero >"$T/www/big.bin"
echo hello >"$T/www/index.txt"
swd_start "$VNS" "$T/sockwatch.conf"
bg ip netns exec "$VNS" python3 -m http.server --bind "$VICB4" \
    --directory "$T/www" 8000 >"$T/http.log" 2>&1
http=$!
wait_for 10 ip netns exec "$BNS" curl -sf -o /dev/null "$URL/index.txt" ||
    fail "the web server did not answer: $(cat "$T/http.log")"
pid_gone "$http" && fail "http.server exited: $(cat "$T/http.log")"

# 1. The download.
start=$EPOCHREALTIME
got=$(timeout 60 ip netns exec "$BNS" curl -sS -o /dev/null \
    -w '%{size_download}' "$URL/big.bin") || fail "the download failed"
[ "$got" -eq "$BIG" ] || fail "downloaded $got bytes, want $BIG"
echo "ok: downloaded 50 MB in $(awk -v a="$start" -v b="$EPOCHREALTIME" \
    'BEGIN { printf "%.2f", b - a }') s"

# 2. 200 requests, one connection each, one after the other...
start=$EPOCHREALTIME
# shellcheck disable=SC2016 # expanded by the inner shell
timeout 60 ip netns exec "$BNS" bash -c 'for i in $(seq 200); do
	curl -sS -o /dev/null -w "%{http_code}\n" "$1/index.txt?n=$i"
done' sh "$URL" >"$T/codes" 2>&1 || fail "curl: $(tail -n 3 "$T/codes")"
[ "$(grep -cx 200 "$T/codes")" -eq 200 ] ||
    fail "$(grep -cvx 200 "$T/codes") requests did not get 200"
# ...and 100 on one connection.
urls=()
for i in $(seq 100); do
	urls+=(-o /dev/null "$URL/index.txt?k=$i")
done
timeout 60 ip netns exec "$BNS" curl -sS \
    -w "%{http_code} %{num_connects}\n" "${urls[@]}" >"$T/codes2" 2>&1 ||
    fail "curl (keep-alive): $(tail -n 3 "$T/codes2")"
[ "$(grep -c '^200 ' "$T/codes2")" -eq 100 ] ||
    fail "keep-alive requests: $(sort "$T/codes2" | uniq -c)"
echo "ok: 300 requests in $(awk -v a="$start" -v b="$EPOCHREALTIME" \
    'BEGIN { printf "%.2f", b - a }') s"

# The daemon saw it all (let the capture buffer and a tick go by), and
# raised nothing.
sleep 1
swc "$VNS" peers --json >"$T/peers.json"
jq -e --arg b "$BEN4" --argjson big "$BIG" 'any(.[]; .addr == $b and
    .bytes_out > $big and .packets_in > 1000 and .syns >= 201 and
    .ports == 1 and .hosts == 1 and (.kinds - ["syn"]) == [])' "$T/peers.json" \
    >/dev/null || fail "peers: $(jq -c --arg b "$BEN4" \
    '.[] | select(.addr == $b)' "$T/peers.json")"
alerts_json "$VNS" "$T/alerts.json"
[ "$(jq length "$T/alerts.json")" -eq 0 ] ||
    fail "alerts for benign traffic: $(jq -c '[.[] | [.kind, .peer,
    .message]]' "$T/alerts.json")"
echo "ok: no alert; peers: $(jq -c --arg b "$BEN4" '.[] | select(.addr ==
    $b) | {addr, packets_in, packets_out, bytes_out, syns, ports}' \
    "$T/peers.json")"

# 3. The control: a scan from the attacker is alerted, and only it.
if has_tools nmap; then
	timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-100 -T4 \
	    --max-retries 1 "$VIC4" >"$T/nmap.out" 2>&1 ||
	    fail "nmap: $(cat "$T/nmap.out")"
	wait_for 5 alerts_ge "$VNS" 1 || fail "no alert for the scan"
	sleep 0.3
	alerts_json "$VNS" "$T/alerts.json"
	got=$(traffic_alerts "$T/alerts.json")
	[ "$got" = "[[\"portscan\",\"$ATK4\",\"syn\"]]" ] ||
	    fail "after the scan: alerts $got"
	echo "ok: the scan from $ATK4 was alerted, nothing else"
fi
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
