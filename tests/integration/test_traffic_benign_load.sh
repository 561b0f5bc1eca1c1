#!/usr/bin/env bash
# No false alarm from heavy ordinary traffic, with the shipped detector
# thresholds and windows, and action = block for portscan, synflood and
# bruteforce (so that a false positive would also ban). From the benign
# namespace to the victim, where sockwatchd captures:
#
#  1. iperf3: 5 s of TCP, 5 s of TCP in 8 parallel streams, 5 s of UDP at
#     50 Mbit/s.
#  2. HTTP (python3 -m http.server): 500 requests one after the other, a
#     connection each, then 1000 more, 8 at a time.
#  3. An administrator's ssh sessions to Debian's sshd as shipped, with
#     a password, within a minute: 8 logins each running a command; one
#     interactive login (a terminal) whose command answers 2 s after its
#     input; one session of a script driving a shell without a terminal
#     (ssh -T) whose 8 commands each answer 1.5 s after they were sent.
#     An answer delayed in an established session is not a slow failed
#     authentication; 10 connections are the most [bruteforce]
#     connections allows.
#
# Asserted: every transfer, request and login succeeded; no portscan,
# synflood or bruteforce alert; the ban sets are empty; the daemon lives.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools iperf3 curl sshpass ssh ssh-keygen chpasswd nft || exit 0
if [ ! -x /usr/sbin/sshd ] || [ ! -r /etc/ssh/sshd_config ]; then
	echo "skip: no Debian sshd"
	exit 0
fi
T=$SW_TMP
ADM=swtest-adm
ADM_PW=$(head -c 18 /dev/urandom | base64)
URL=http://$VICB4:8000
ATTACKS='["portscan", "synflood", "bruteforce"]'

tr_net
sw_user_add "$ADM"
# A login shell, so that the sessions can run commands.
usermod --shell /bin/bash "$ADM"
echo "$ADM:$ADM_PW" | chpasswd
sshd_start "ListenAddress $VICB4" "Include /etc/ssh/sshd_config"

tr_conf "$T/sockwatch.conf" "tcp/22, tcp/5201, udp/5201, tcp/8000" default
printf '\n[%s]\naction = block\n' portscan synflood bruteforce \
    >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"

# since START: seconds from START to now.
since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# no_attack_alert WHAT: fail if an attack alert or a ban exists.
no_attack_alert() {
	local n
	alerts_json "$VNS" "$T/alerts.json"
	n=$(jq --argjson k "$ATTACKS" '[.[] | select(.kind as $x |
	    $k | index($x))] | length' "$T/alerts.json")
	[ "$n" -eq 0 ] || fail "$1: attack alerts: $(jq -c '[.[] |
	    select(.kind != "listener") | [.kind, .peer, .local_port,
	    .message]]' "$T/alerts.json")"
	for s in ban4 ban6 bannet4 bannet6; do
		[ -z "$(elems "$VNS" "$s")" ] ||
		    fail "$1: $s holds $(elems "$VNS" "$s" | head -5)"
	done
	pid_gone "$SWD_PID" && fail "$1: sockwatchd died"
	echo "ok: $1: no attack alert, no ban"
}

# ---- 1. iperf3 --------------------------------------------------------------
bg ip netns exec "$VNS" iperf3 -s -B "$VICB4" -p 5201 >"$T/iperf3-s.log" 2>&1
wait_for 5 sh -c "ip netns exec $VNS ss -Htln 'sport = :5201' | grep -q ." ||
    fail "iperf3 -s did not start: $(cat "$T/iperf3-s.log")"
# iperf RUN ARGS...: a 5 s iperf3 client run; prints its throughput.
iperf() {
	local run=$1
	shift
	timeout 20 ip netns exec "$BNS" iperf3 -c "$VICB4" -p 5201 -t 5 -J \
	    "$@" >"$T/$run.json" 2>&1 || fail "iperf3 $run: $(jq -r \
	    '.error // empty' "$T/$run.json" 2>/dev/null || tail -3 \
	    "$T/$run.json")"
	jq -e '.end.sum_received.bytes > 0 or .end.sum.bytes > 0' \
	    "$T/$run.json" >/dev/null || fail "iperf3 $run: nothing received"
	echo "ok: iperf3 $run: $(jq -r '(.end.sum_received // .end.sum) |
	    "\(.bytes / 1048576 | floor) MiB, \(.bits_per_second / 1e6 |
	    floor) Mbit/s" + (if .lost_percent then ", \(.lost_percent |
	    . * 100 | round / 100)% lost" else "" end)' "$T/$run.json")"
}
iperf tcp
iperf tcp-P8 -P 8
iperf udp -u -b 50M
no_attack_alert iperf3

# ---- 2. HTTP ------------------------------------------------------------------
mkdir "$T/www"
head -c 4096 /dev/urandom | base64 >"$T/www/index.html"
bg ip netns exec "$VNS" /usr/bin/python3 -m http.server --bind "$VICB4" \
    --directory "$T/www" 8000 >"$T/http.log" 2>&1
http=$!
wait_for 10 ip netns exec "$BNS" curl -sf -o /dev/null "$URL/index.html" ||
    fail "the web server did not answer: $(cat "$T/http.log")"
start=$EPOCHREALTIME
# shellcheck disable=SC2016 # expanded by the inner shell
timeout 60 ip netns exec "$BNS" bash -c 'for i in $(seq 500); do
	curl -sS -o /dev/null -w "%{http_code}\n" "$1/index.html?n=$i"
done' sh "$URL" >"$T/codes" 2>&1 || fail "curl: $(tail -n 3 "$T/codes")"
[ "$(grep -cx 200 "$T/codes")" -eq 500 ] ||
    fail "$(grep -cvx 200 "$T/codes") of 500 requests did not get 200"
echo "ok: 500 requests one after the other in $(since "$start") s"
start=$EPOCHREALTIME
seq 1000 | timeout 60 ip netns exec "$BNS" xargs -P 8 -I{} curl -sS \
    --retry 0 -o /dev/null -w "%{http_code}\n" "$URL/index.html?p={}" \
    >"$T/codes-p" 2>&1 || fail "curl -P 8: $(grep -v '^200$' \
    "$T/codes-p" | head -3)"
[ "$(grep -cx 200 "$T/codes-p")" -eq 1000 ] ||
    fail "$(grep -cvx 200 "$T/codes-p") of 1000 parallel requests did" \
    "not get 200: $(grep -vx 200 "$T/codes-p" | sort | uniq -c | head -3)"
echo "ok: 1000 requests 8 at a time in $(since "$start") s"
pid_gone "$http" && fail "http.server died"
no_attack_alert http

# ---- 3. an administrator's ssh sessions --------------------------------------
SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no
    -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1
    -o ConnectTimeout=5 -o LogLevel=ERROR)
# adm_ssh ARGS...: ssh from the benign namespace as the administrator.
adm_ssh() {
	SSHPASS=$ADM_PW timeout 20 ip netns exec "$BNS" env -u SSH_AUTH_SOCK \
	    sshpass -e ssh "${SSH_OPTS[@]}" "$@"
}
start=$EPOCHREALTIME
for i in $(seq 8); do
	got=$(adm_ssh "$ADM@$VICB4" "echo login-$i \$(id -un)" </dev/null \
	    2>"$T/ssh.err") || fail "ssh login $i: exit $?: $(cat "$T/ssh.err")"
	[ "$got" = "login-$i $ADM" ] || fail "ssh login $i: '$got'"
done
echo "ok: 8 ssh logins, each running a command, in $(since "$start") s"
# The interactive session: a terminal, a command typed 1 s after login
# whose output comes 2 s later, then exit.
start=$EPOCHREALTIME
{
	sleep 1
	echo 'sleep 2; echo "do""ne"'
	sleep 3.5
	echo exit
} | adm_ssh -tt "$ADM@$VICB4" >"$T/interactive.out" 2>"$T/ssh.err" ||
    fail "interactive ssh: exit $?: $(cat "$T/ssh.err")"
# (The echoed command line ends in a quote; the terminal's escapes may
# come before the answer.)
tr -d '\r' <"$T/interactive.out" | grep -ax '.*done' >/dev/null ||
    fail "interactive ssh: no output: $(tr -d '\r' <"$T/interactive.out" |
    tail -5)"
echo "ok: an interactive ssh session with an answer 2 s after its input" \
    "($(since "$start") s)"
# A script driving a remote shell without a terminal (ssh -T, commands
# on stdin as it goes, as deployment tools do): 8 commands over one
# connection, each answering 1.5 s after it was sent, with no echo in
# between. The 10th connection to port 22 in the minute: still within
# [bruteforce] connections.
start=$EPOCHREALTIME
{
	sleep 1
	for i in $(seq 8); do
		echo "sleep 1.5; echo step-$i"
		sleep 1.8
	done
	echo exit
} | adm_ssh -T "$ADM@$VICB4" >"$T/script.out" 2>"$T/ssh.err" ||
    fail "scripted ssh -T: exit $?: $(grep -v chdir "$T/ssh.err");" \
    "$(grep -c '^step-' "$T/script.out") answers of 8; bruteforce" \
    "alerts: $(swc "$VNS" alerts --json --kind bruteforce | jq -c \
    '[.[] | [.action, .message]]')"
[ "$(grep -cx 'step-[1-8]' "$T/script.out")" -eq 8 ] ||
    fail "scripted ssh -T: $(grep -cx 'step-[1-8]' "$T/script.out")" \
    "answers of 8"
echo "ok: a scripted ssh -T session, 8 commands answering 1.5 s late," \
    "in $(since "$start") s"
[ "$(grep -c "Accepted password for $ADM from $BEN4" "$SW_TMP/sshd.log")" \
    -eq 10 ] || fail "sshd accepted $(grep -c "Accepted password" \
    "$SW_TMP/sshd.log") logins, want 10"
sleep 1		# the capture's last packets
no_attack_alert ssh
# The late answers of the ssh -T session were counted as failed logins
# and then discounted: the peer held a logged-in session.
swc "$VNS" metrics |
    grep '^sockwatch_bruteforce_session_waits_total [1-9]' >/dev/null ||
    fail "the slow session's waits were not counted and discounted: \
$(swc "$VNS" metrics | grep session_waits)"

# What the daemon saw of it all.
swc "$VNS" peers --json | jq -c --arg b "$BEN4" '.[] | select(.addr == $b) |
    {addr, packets_in, packets_out, bytes_in, bytes_out, syns, ports}'
swc "$VNS" status --json | jq -c '.capture | {received, dropped,
    if_dropped}'
other=$(jq -c '[.[] | [.kind, .peer, .local_port]]' "$T/alerts.json")
echo "other alerts: $other"
pid_gone "$SSHD_PID" && fail "sshd died"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
