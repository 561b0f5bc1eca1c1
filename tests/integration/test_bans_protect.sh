#!/usr/bin/env bash
# [bans] protect against a real sshd: a peer that holds a logged-in
# session to sshd, opened before its attack, is not banned automatically,
# and a manual block of it needs --force; a connection that has not
# logged in protects nobody.
#
# In the victim namespace: sshd with Debian's shipped configuration (only
# its address, host key and pid file in the test's temp dir) on the
# victim's address, port 22, and sockwatchd with [portscan] action =
# block, ban = 30s and scan_interval = 500ms.
# From the attacker namespace:
#
#  1. An ssh login (ssh -N, a test user's password) held open for
#     longer than the detector window plus one scan; then nmap -sS -p
#     1-100 from the same address. The attacker is not in ban4, the
#     portscan alert's action is "alert", its evidence.not_banned names
#     sshd, and the session is still open.
#  2. sockwatch block ATTACKER is refused (exit 1, pointing at --force);
#     sockwatch block --force ATTACKER bans it and the session is reset.
#  3. Control: a second attacker address without a session scans and is
#     banned.
#  4. A third attacker address opens a connection to sshd after the start
#     of the detector window (but more than one scan before the alert):
#     it does not protect; the peer is banned and the connection reset.
#  5. A user's process that calls itself sshd (prctl), connected out to a
#     fourth attacker address since before the window: it is no session
#     to sshd (not root's, not accepted on root's listener, not
#     /usr/sbin/sshd), so that attacker's scan is banned.
#  6. A connection to sshd held at the login (pre-auth: sshd waits its
#     default LoginGraceTime, 120 s) for longer than the window: it has
#     not logged in, so it protects nobody (else a guesser would wait out
#     the window before it starts); the peer is banned.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft ssh-keygen sshpass chpasswd || exit 0
[ -x /usr/sbin/sshd ] || { echo "skip: /usr/sbin/sshd is not installed"; exit 0; }
[ -r /etc/ssh/sshd_config ] || { echo "skip: no /etc/ssh/sshd_config"; exit 0; }
T=$SW_TMP
ATK2=198.18.0.4
ATK3=198.18.0.5
ATK5=198.18.0.6
ATK7=198.18.0.7
U=swtest-prot
PASS="Pw-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
# The portscan window: longer than traffic.sh's 2 s, so that case 4's
# session (opened 0.8 s before its scan) is well inside it.
WINDOW_MS=4000
BAN_S=30


tr_net
ATKIF=$(ns_ifname "$ANS")
ip -n "$ANS" addr add "$ATK2/24" dev "$ATKIF"
ip -n "$ANS" addr add "$ATK3/24" dev "$ATKIF"
ip -n "$ANS" addr add "$ATK7/24" dev "$ATKIF"
sw_user_add "$U"
echo "$U:$PASS" | chpasswd

# Debian's sshd as the package ships it (PAM, LoginGraceTime 120 by
# default): only the address, host key and pid file are ours.
sshd_start "Include /etc/ssh/sshd_config"

SCAN=500ms tr_conf "$T/sockwatch.conf" "tcp/22 sshd" "$WINDOW_MS"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = ${BAN_S}s
EOF
swd_start "$VNS" "$T/sockwatch.conf"

# session_open PEER: the victim has an established connection from PEER
# to port 22 (sshd's side of a held session).
session_open() {
	ip netns exec "$VNS" ss -Htn state established \
	    "( sport = :22 and dst $1 )" | grep . >/dev/null
}

# A pre-auth session from SRC: connect, say nothing, read sshd's banner
# and wait until the connection ends; then write how ("eof", "reset",
# ...).
cat >"$T/session.py" <<'EOF'
import errno, os, socket, sys
addr, port, ready, out, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4], sys.argv[5]
def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".tmp", path)
s = socket.create_connection((addr, port), timeout=5,
                             source_address=(src, 0))
s.settimeout(None)
banner = s.recv(256)
write(ready, "%d %s" % (os.getpid(), banner.split(b"\r\n")[0].decode()))
try:
    while s.recv(4096):
        pass
    what = "eof"
except ConnectionResetError:
    what = "reset"
except OSError as e:
    what = errno.errorcode.get(e.errno, str(e.errno))
write(out, what)
EOF

# ---- 1. a scan from a peer with an sshd session --------------------------
# Logged in; -N: no command (the test user's shell is nologin).
bg ip netns exec "$ANS" sshpass -p "$PASS" ssh -N -o BatchMode=no \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o PubkeyAuthentication=no -b "$ATK4" "$U@$VIC4"
HELD=$!
wait_for 10 session_open "$ATK4" || fail "no session to sshd"
wait_for 10 pgrep -x -f "sshd: $U" >/dev/null || fail "the login did not \
complete: $(grep -v '^debug' "$SW_TMP/sshd.log" | tail -3)"
# The session must be in the daemon's socket table (one scan, 0.5 s), and
# its sshd process must have started before the alert's detector window
# began.
sleep $((WINDOW_MS / 1000 + 1))
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-100 -T4 \
    --max-retries 1 --host-timeout 20s "$VIC4" >"$T/nmap.out" 2>&1 ||
    fail "nmap: $(cat "$T/nmap.out")"
wait_for 5 alerts_ge "$VNS" 1 --kind portscan --peer "$ATK4" ||
    fail "no portscan alert for $ATK4"
# A ban would be in the kernel at the next flush: give it time.
sleep 1
in_set "$VNS" ban4 "$ATK4" && fail "$ATK4, holding an sshd session, was \
banned"
swc "$VNS" alerts --json --kind portscan --peer "$ATK4" >"$T/ps.json"
echo "alert: $(jq -c '.[0] | {peer, action, evidence}' "$T/ps.json")"
jq -e '.[0] | .action == "alert" and
    (.evidence.not_banned | type == "string" and test("sshd\\[[0-9]+\\]")) and
    (has("banned_until") | not)' "$T/ps.json" >/dev/null ||
    fail "portscan alert: $(jq -c '.[0]' "$T/ps.json")"
jq -e '.[0].evidence.not_banned | test("port 22")' "$T/ps.json" \
    >/dev/null || fail "not_banned does not name port 22: \
$(jq -c '.[0].evidence.not_banned' "$T/ps.json")"
swc "$VNS" bans --json | jq -e 'length == 0' >/dev/null ||
    fail "bans: $(swc "$VNS" bans --json)"
swc "$VNS" metrics >"$T/metrics.txt" || fail "sockwatch metrics failed"
grep -q '^sockwatch_bans_refused_total [1-9]' "$T/metrics.txt" ||
    fail "refusal not counted: $(grep refused "$T/metrics.txt")"
pid_gone "$HELD" && fail "the session ended"
session_open "$ATK4" || fail "the session is gone"
echo "ok: a scan from $ATK4, holding an sshd session: alert, not banned" \
    "($(jq -r '.[0].evidence.not_banned' "$T/ps.json"))"

# ---- 2. manual block: refused, then --force --------------------------------
rc=0
swc "$VNS" block "$ATK4" >"$T/block.out" 2>"$T/block.err" || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q -- "--force" "$T/block.err" ||
    ! grep -q "sshd" "$T/block.err"; then
	fail "block $ATK4: exit $rc, '$(cat "$T/block.err")', want exit 1 and a \
pointer to --force"
fi
in_set "$VNS" ban4 "$ATK4" && fail "a refused block reached ban4"
session_open "$ATK4" || fail "a refused block ended the session"
echo "ok: block $ATK4 refused: $(cat "$T/block.err")"
swc "$VNS" block --force --reason "forced" "$ATK4" >"$T/block.out" \
    2>"$T/block.err" || fail "block --force $ATK4: $(cat "$T/block.err")"
in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 not in ban4 after block --force"
wait_for 3 pid_gone "$HELD" || fail "the session is still open after \
block --force"
wait_for 3 sh -c "! ip netns exec $VNS ss -Htn state established \
'( sport = :22 and dst $ATK4 )' | grep -q ." ||
    fail "sshd's side of the session is still established"
swc "$VNS" bans --json >"$T/bans.json"
jq -e --arg p "$ATK4" 'any(.[]; .addr == $p and .source == "manual" and
    .sockets_closed >= 1 and (.procs | test("sshd")))' "$T/bans.json" \
    >/dev/null || fail "bans: $(cat "$T/bans.json")"
echo "ok: block --force $ATK4: banned, the session reset"

# ---- 3. control: a scan from an address without a session ---------------
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$ATK2" -e "$ATKIF" \
    -p 1-100 -T4 --max-retries 1 --host-timeout 20s "$VIC4" \
    >"$T/nmap2.out" 2>&1 || fail "nmap: $(cat "$T/nmap2.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK2" || fail "$ATK2 not in ban4: \
$(elems "$VNS" ban4)"
swc "$VNS" alerts --json --kind portscan --peer "$ATK2" >"$T/ps2.json"
jq -e --argjson b "$BAN_S" '.[0] | .action == "block" and
    .evidence.ban == $b and (has("not_banned") | not) and
    (.evidence | has("not_banned") | not)' "$T/ps2.json" >/dev/null ||
    fail "portscan alert: $(jq -c '.[0]' "$T/ps2.json")"
echo "ok: a scan from $ATK2 (no session): banned for $BAN_S s"

# ---- 4. a session opened after the attack began -----------------------------
bg ip netns exec "$ANS" python3 "$T/session.py" "$VIC4" 22 "$T/young.ready" \
    "$T/young.out" "$ATK3"
wait_file 5 "$T/young.ready" "$!" || fail "no session to sshd from $ATK3"
wait_for 3 session_open "$ATK3" || fail "the victim does not see $ATK3's \
session"
# In the socket table (one scan), but younger than the window. The
# probes carry its stack's TTL (--ttl 64), as its session's packets do:
# nmap's default random TTL would make it spoof-suspect (test_spoof.sh).
sleep 0.8
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$ATK3" -e "$ATKIF" \
    -p 1-100 -T4 --max-retries 1 --host-timeout 20s --ttl 64 "$VIC4" \
    >"$T/nmap3.out" 2>&1 || fail "nmap: $(cat "$T/nmap3.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK3" || fail "$ATK3, whose session is \
younger than its attack, not in ban4: $(swc "$VNS" alerts --json --peer \
"$ATK3" | jq -c '.[0].evidence')"
swc "$VNS" alerts --json --kind portscan --peer "$ATK3" >"$T/ps3.json"
jq -e '.[0] | .action == "block" and (.evidence | has("not_banned") | not)' \
    "$T/ps3.json" >/dev/null ||
    fail "portscan alert: $(jq -c '.[0]' "$T/ps3.json")"
wait_file 3 "$T/young.out" 0 || fail "$ATK3's session is still open"
[ "$(cat "$T/young.out")" = reset ] ||
    fail "$ATK3's session ended with $(cat "$T/young.out"), want reset"
echo "ok: a scan from $ATK3, with a session younger than the attack:" \
    "banned, the session reset"
# ---- 5. a process that only calls itself sshd -------------------------------
ip -n "$ANS" addr add "$ATK5/24" dev "$ATKIF"
bg ip netns exec "$ANS" python3 "$TOOLS/holdconn.py" server "$ATK5" 9999 \
    "$T/fake-srv.ready"
wait_file 5 "$T/fake-srv.ready" "$!" || fail "no listener on $ATK5"
# A directory nobody may write its ready file into.
mkdir -m 0777 "$T/nobody"
chmod 0755 "$T"
bg ip netns exec "$VNS" setpriv --reuid=65534 --regid=65534 --clear-groups \
    /usr/bin/python3 -c 'import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, b"sshd", 0, 0, 0)
s = socket.create_connection((sys.argv[1], 9999), timeout=5)
open(sys.argv[2] + ".tmp", "w").write("ok\n")
__import__("os").rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(90)' "$ATK5" "$T/nobody/fake.ready"
FAKE=$!
wait_file 5 "$T/nobody/fake.ready" "$FAKE" ||
    fail "the fake sshd did not connect"
[ "$(cat "/proc/$FAKE/comm")" = sshd ] || fail "the fake is named \
$(cat "/proc/$FAKE/comm")"
# Older than the detector window, as a real admin session would be.
sleep $((WINDOW_MS / 1000 + 1))
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$ATK5" -e "$ATKIF" \
    -p 1-100 -T4 --max-retries 1 --host-timeout 20s "$VIC4" \
    >"$T/nmap5.out" 2>&1 || fail "nmap: $(cat "$T/nmap5.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK5" || fail "$ATK5, to which a process \
named sshd is connected, not in ban4: $(swc "$VNS" alerts --json --peer \
"$ATK5" | jq -c '.[0].evidence.not_banned')"
echo "ok: a user process named sshd connected out to $ATK5 does not keep \
it from a ban"

# ---- 6. a connection held at the login ---------------------------------
bg ip netns exec "$ANS" python3 "$T/session.py" "$VIC4" 22 "$T/pre.ready" \
    "$T/pre.out" "$ATK7"
wait_file 5 "$T/pre.ready" "$!" || fail "no connection to sshd from $ATK7"
wait_for 3 session_open "$ATK7" || fail "the victim does not see $ATK7's \
connection"
sleep $((WINDOW_MS / 1000 + 1))
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$ATK7" -e "$ATKIF" \
    -p 1-100 -T4 --max-retries 1 --host-timeout 20s --ttl 64 "$VIC4" \
    >"$T/nmap6.out" 2>&1 || fail "nmap: $(cat "$T/nmap6.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK7" || fail "$ATK7, holding a connection \
that never logged in, not in ban4: $(swc "$VNS" alerts --json --peer \
"$ATK7" | jq -c '.[0].evidence.not_banned')"
wait_file 3 "$T/pre.out" 0 || fail "$ATK7's connection is still open"
echo "ok: a connection held at sshd's login prompt does not protect $ATK7"
pid_gone "$SSHD_PID" && fail "sshd died"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
