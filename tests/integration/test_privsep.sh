#!/usr/bin/env bash
# Privilege separation, from /proc and the kernel: sockwatchd in a victim
# namespace with capture, its control socket and metrics listener, and
# [crowdsec] on (its url a name that does not resolve).
#
#  1. More than one process; every process that holds a packet socket,
#     the control socket or the metrics listener is a non-root user with
#     no capability, no_new_privs and a seccomp filter (Seccomp 2); no
#     process (or thread) has a capability outside the parent's set; the
#     database files are 0600. The CrowdSec client is confined the same
#     way, and its url's name failing to resolve is an error it reports
#     (libcurl's resolver thread refused), not its death.
#  2. SIGKILL of the inspector: reported (log and an "inspector" alert),
#     bans stay in the kernel, capture comes back, and a port scan
#     started afterwards is still banned.
#  3. Each step of the drop made to fail (SOCKWATCHD_FAIL_STEP), in each
#     child (the inspector, the exporter, the CrowdSec client): the
#     daemon refuses to run and names the step; [daemon] user = root or
#     a user that does not exist is refused too.
#  4. An inspector that dies again and again ends the daemon (exit 1)
#     instead of it running on without capture.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP
PORT=8080
# The parent's set: CAP_CHOWN 0, CAP_DAC_READ_SEARCH 2, CAP_KILL 5,
# CAP_SETGID 6, CAP_SETUID 7, CAP_NET_ADMIN 12, CAP_NET_RAW 13,
# CAP_SYS_PTRACE 19.
PARENT_CAPS=$(((1 << 0) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7) |
    (1 << 12) | (1 << 13) | (1 << 19)))

tr_net
tr_conf "$T/sockwatch.conf" "tcp/$PORT"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = 30s

[crowdsec]
url = http://sw-no-such-host.invalid:8080/
bouncer_key_file = $T/bouncer.key
poll_interval = 1s
EOF
echo swtest-key >"$T/bouncer.key"
chmod 600 "$T/bouncer.key"

# field PID NAME: a line of /proc/PID/status.
field() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# inspector_pid: the daemon's child that holds a packet socket.
inspector_pid() {
	local p
	for p in $(pgrep -P "$SWD_PID" -x sockwatchd); do
		holds "$p" $(packet_inodes) && echo "$p" && return 0
	done
	return 1
}

# packet_inodes: the inodes of every packet socket in the victim's
# namespace.
packet_inodes() {
	ip netns exec "$VNS" awk 'NR > 1 { print $NF }' /proc/net/packet
}

# control_inode: the listening control socket's.
control_inode() {
	ip netns exec "$VNS" awk -v p="$SOCK" '$NF == p && $6 == "01" {
	    print $7 }' /proc/net/unix
}

# metrics_inode: the metrics listener's (127.0.0.1:METRICS_PORT).
metrics_inode() {
	ip netns exec "$VNS" awk -v a="$(printf '0100007F:%04X' \
	    "$METRICS_PORT")" '$2 == a && $4 == "0A" { print $10 }' \
	    /proc/net/tcp
}

# holds PID INODE...: PID has one of the sockets open.
holds() {
	local pid=$1 ino
	shift
	for ino in "$@"; do
		find "/proc/$pid/fd" -lname "socket:\[$ino\]" 2>/dev/null |
		    grep -q . && return 0
	done
	return 1
}

holds_packet() {
	holds "$1" $(packet_inodes)
}

# ---- 1. who holds what, with which privileges ------------------------------
swd_start "$VNS" "$T/sockwatch.conf"
wait_for 5 inspector_pid || fail "no inspector process"
mapfile -t procs < <(echo "$SWD_PID"; pgrep -P "$SWD_PID" -x sockwatchd)
[ "${#procs[@]}" -eq 4 ] ||
    fail "expected three children: $(pgrep -P "$SWD_PID" -a)"
CTL_INO=$(control_inode)
MET_INO=$(metrics_inode)
[ -n "$CTL_INO" ] && [ -n "$MET_INO" ] ||
    fail "no control socket ($CTL_INO) or metrics listener ($MET_INO)"
npacket=0
nserve=0
for p in "${procs[@]}"; do
	for task in /proc/"$p"/task/*; do
		tid=${task##*/}
		for set in CapEff CapPrm CapInh CapAmb CapBnd; do
			v=$((16#$(awk -v k="$set:" '$1 == k { print $2 }' \
			    "$task/status")))
			[ $((v & ~PARENT_CAPS)) -eq 0 ] ||
			    fail "pid $p task $tid: $set $(printf %x "$v") is \
outside the parent's set $(printf %x "$PARENT_CAPS")"
		done
		[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$task/status")" = 1 ] ||
		    fail "pid $p task $tid: no_new_privs is not set"
	done
	holds_packet "$p" && npacket=$((npacket + 1))
	holds "$p" "$CTL_INO" "$MET_INO" && nserve=$((nserve + 1))
	if holds "$p" $(packet_inodes) "$CTL_INO" "$MET_INO"; then
		[ "$(field "$p" Uid)" != 0 ] || fail "pid $p reads hostile \
input as root"
		[ "$(field "$p" CapEff)" = 0000000000000000 ] &&
		    [ "$(field "$p" CapPrm)" = 0000000000000000 ] ||
		    fail "pid $p reads hostile input with capabilities"
		[ "$(field "$p" Seccomp)" = 2 ] || fail "pid $p reads hostile \
input without a seccomp filter"
		# It holds nothing else of the parent's: no database, no
		# netlink socket.
		ls -l "/proc/$p/fd" | grep -q 'sockwatch\.db' &&
		    fail "pid $p holds the database: $(ls -l "/proc/$p/fd")"
		[ "$(ip netns exec "$VNS" awk 'NR > 1 { print $NF }' \
		    /proc/net/netlink | while read -r ino; do
			find "/proc/$p/fd" -lname "socket:\[$ino\]"; done |
		    wc -l)" -eq 0 ] || fail "pid $p holds a netlink socket"
	fi
done
[ "$npacket" -ge 1 ] || fail "no process holds a packet socket"
[ "$nserve" -ge 1 ] || fail "no process holds the control socket"
holds "$SWD_PID" $(packet_inodes) "$CTL_INO" "$MET_INO" &&
    fail "the parent holds a packet socket, the control socket or the \
metrics listener"
for f in "$T/sockwatch.db" "$T/sockwatch.db-wal" "$T/sockwatch.db-shm"; do
	[ -e "$f" ] || continue
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f")"
done
echo "ok: $npacket confined packet reader(s), $nserve confined server(s); \
capabilities within the parent's set; database 0600"

# The CrowdSec client reads the network too.
client_pid() {
	swc "$VNS" status --json | jq -e '.crowdsec.client.pid | select(. > 0)'
}
cs=$(client_pid) || fail "no CrowdSec client in the status"
[ "$(field "$cs" PPid)" = "$SWD_PID" ] || fail "pid $cs is not our child"
[ "$(field "$cs" Uid)" != 0 ] || fail "the CrowdSec client is root"
[ "$(field "$cs" CapEff)" = 0000000000000000 ] &&
    [ "$(field "$cs" CapPrm)" = 0000000000000000 ] ||
    fail "the CrowdSec client has capabilities"
[ "$(field "$cs" Seccomp)" = 2 ] ||
    fail "the CrowdSec client has no seccomp filter"
unresolved() {
	swc "$VNS" status --json | jq -e '.crowdsec.decisions.errors > 0 and
	    (.crowdsec.decisions.error | test("resolve"; "i"))' >/dev/null
}
wait_for 10 unresolved || fail "the unresolvable url is not reported: \
$(swc "$VNS" status --json | jq -c .crowdsec)"
swc "$VNS" status --json | jq -e '.crowdsec.client.deaths == 0' >/dev/null ||
    fail "the CrowdSec client died: $(grep -i client "$SWD_LOG" | tail -n 3)"
echo "ok: the CrowdSec client (pid $cs) confined; an unresolvable url \
reported, not fatal"

# ---- 2. kill -9 the inspector ----------------------------------------------
swc "$VNS" block --for 1h 198.18.5.5 >/dev/null || fail "block failed"
old=$(inspector_pid)
kill -9 "$old"
inspector_alerted() {
	swc "$VNS" alerts --json --kind inspector | jq -e 'length > 0'
}
wait_for 5 inspector_alerted || fail "no inspector alert after kill -9"
grep -q "packet inspector (pid $old) killed by signal 9" "$SWD_LOG" ||
    fail "the death is not in the log"
in_set "$VNS" ban4 198.18.5.5 || fail "the ban went with the inspector"
new_inspector() {
	local p
	p=$(inspector_pid) && [ "$p" != "$old" ]
}
wait_for 5 new_inspector || fail "no new inspector within 5 s"
new=$(inspector_pid)
[ "$(field "$new" Seccomp)" = 2 ] || fail "the new inspector is not confined"
sleep 1
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
    --max-retries 1 --host-timeout 20s "$VIC4" >"$T/nmap.out" 2>&1 ||
    fail "nmap: $(cat "$T/nmap.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 not banned after the \
restart: $(elems "$VNS" ban4)"
echo "ok: kill -9 of the inspector reported, bans kept, capture back, \
a later scan banned"

# The exporter too: the control socket and the metrics come back, and its
# death is in the history.
exp=$(pgrep -P "$SWD_PID" -x sockwatchd | grep -vx "$(inspector_pid)" |
    grep -vx "$(client_pid)")
kill -9 "$exp"
status_back() {
	swc "$VNS" status --json | jq -e '.pid' >/dev/null
}
wait_for 5 status_back || fail "no control socket after the exporter died"
swc "$VNS" alerts --json --kind exporter | jq -e 'length == 1' >/dev/null ||
    fail "no exporter alert"
ip netns exec "$VNS" curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" \
    >"$T/metrics.txt" || fail "metrics not back after the exporter died"
grep -q '^sockwatch_exporter_deaths_total 1$' "$T/metrics.txt" ||
    fail "the exporter's death is not counted"
echo "ok: kill -9 of the exporter: control socket and metrics back, reported"
swd_stop
[ "$SWD_RC" -eq 0 ] || fail "sockwatchd exited with $SWD_RC"

# ---- 3. every step fails closed --------------------------------------------
# start_fails WHAT: the daemon must exit non-zero within 10 s, and its
# log say WHAT.
start_fails() {
	local what=$1
	shift
	: >"$T/fail.log"
	bg env "$@" ip netns exec "$VNS" "$SWD" -f -c "$T/fail.conf" \
	    >"$T/fail.log" 2>&1
	reap $! 10
	[ "$RC" -ne 0 ] || fail "sockwatchd exited 0 ($what)"
	grep -qF -- "$what" "$T/fail.log" ||
	    fail "the log does not name '$what': $(cat "$T/fail.log")"
}
cp "$T/sockwatch.conf" "$T/fail.conf"
# Each child's steps, and the parent's own drop, one process at a time.
for who in inspector exporter crowdsec; do
	case $who in
	inspector) name="packet inspector" ;;
	exporter) name=exporter ;;
	crowdsec) name="CrowdSec client" ;;
	esac
	for step in "bounding set" setgroups setresgid setresuid capng_apply \
	    verify PR_SET_NO_NEW_PRIVS seccomp_init seccomp_load; do
		start_fails "the $name could not start: $step" \
		    SOCKWATCHD_FAIL_STEP="$who:$step"
	done
done
for step in capng_apply PR_SET_NO_NEW_PRIVS; do
	start_fails "cannot drop privileges: $step" \
	    SOCKWATCHD_FAIL_STEP="parent:$step"
done
ip netns exec "$VNS" nft list table inet sockwatch >/dev/null 2>&1 &&
    ip netns exec "$VNS" nft delete table inet sockwatch
sed 's/^\[daemon\]$/[daemon]\nuser = root/' "$T/sockwatch.conf" >"$T/fail.conf"
start_fails "must not be root"
sed 's/^\[daemon\]$/[daemon]\nuser = no-such-sw-user/' "$T/sockwatch.conf" \
    >"$T/fail.conf"
start_fails "no such user"
echo "ok: each failed drop step, a root or missing user: refused, named"

# ---- 4. an inspector that keeps dying ends the daemon -----------------------
swd_start "$VNS" "$T/sockwatch.conf"
end=$((SECONDS + 30))
while ! pid_gone "$SWD_PID" && [ "$SECONDS" -lt "$end" ]; do
	p=$(inspector_pid || true)
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	sleep 0.05
done
pid_gone "$SWD_PID" || fail "sockwatchd ran on with its inspector dying"
reap "$SWD_PID" 1
[ "$RC" -eq 1 ] || fail "sockwatchd exited with $RC, not 1"
grep -q "failed 5 times in a row" "$SWD_LOG" || fail "no reason in the log"
echo "ok: five quick deaths in a row: sockwatchd stops with status 1"
