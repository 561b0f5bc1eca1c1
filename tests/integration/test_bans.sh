#!/usr/bin/env bash
# Enforcement against the real kernel: sockwatchd in a victim namespace
# owns table inet sockwatch there (never the host's rule set), nmap and
# plain TCP clients in an attacker namespace.
#
#  1. block / unblock round trip; own, loopback and [allow] addresses are
#     refused.
#  2. nmap -sS with [portscan] action = block: the attacker's address is
#     in ban4 within 1 s of the alert's packet, the connection it held
#     beforehand is ended, new connections get no answer, and once the
#     ban expires it connects again. The same over IPv6 with ban6.
#  3. An attacker using an [allow] address is never banned.
#  4. Someone deletes our table, or flushes ban4: repaired within the
#     reconcile interval.
#  5. kill -9 and a lost table (as after a reboot): a new daemon restores
#     every ban with its remaining time.
#  6. A reload puts the new [deny] (action = block) and [connect] lists
#     into their sets; a reload that fails keeps the running lists.
#  7. [bans] enforce = no: the table goes, the bans stay recorded.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP
ALLOWED4=198.18.0.3
BAN_S=6
PORT=8080

tr_net
ATKIF=$(ip -n "$ANS" -o link show type veth | awk -F': ' '{ sub(/@.*/, "",
    $2); print $2; exit }')
ip -n "$ANS" addr add "$ALLOWED4/24" dev "$ATKIF"
tr_conf "$T/sockwatch.conf" "tcp/$PORT"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = ${BAN_S}s

[allow]
peers = $ALLOWED4

[bans]
reconcile_interval = 2s
EOF
bg ip netns exec "$VNS" python3 "$TOOLS/holdconn.py" server :: "$PORT" \
    "$T/server.ready"
wait_file 5 "$T/server.ready" "$!" || fail "holdconn server did not start"
swd_start "$VNS" "$T/sockwatch.conf"

# connect_from NS ADDR SRC: can SRC in NS open a connection to ADDR:PORT
# within 1 s? Prints ok, or the error.
connect_from() {
	ip netns exec "$1" python3 -c 'import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.settimeout(1)
s.bind((sys.argv[3], 0))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("ok")
except OSError as e:
    print(type(e).__name__)' "$2" "$PORT" "$3"
}

# ---- 1. block / unblock ---------------------------------------------------
ip netns exec "$VNS" nft list table inet sockwatch >"$T/table.txt" ||
    fail "no table inet sockwatch after start"
for s in ban4 ban6 bannet4 bannet6 deny4 deny6 allow4 allow6 connect4 \
    connect6; do
	grep -q "set $s " "$T/table.txt" || fail "table has no set $s"
done
in_set "$VNS" allow4 "$ALLOWED4" || fail "allow4 lacks $ALLOWED4"
swc "$VNS" block --for 1h --reason "test block" 198.18.5.5 2001:db8:5::5 \
    198.18.6.0/24 >"$T/block.out" || fail "block failed"
in_set "$VNS" ban4 198.18.5.5 || fail "ban4 lacks 198.18.5.5"
in_set "$VNS" ban6 2001:db8:5::5 || fail "ban6 lacks 2001:db8:5::5"
in_set "$VNS" bannet4 198.18.6.0/24 || fail "bannet4 lacks 198.18.6.0/24: \
$(elems "$VNS" bannet4)"
left=$(expires_of "$VNS" ban4 198.18.5.5)
[ "$left" -gt 3590 ] && [ "$left" -le 3600 ] ||
    fail "ban4 198.18.5.5 expires in $left s, want about 3600"
swc "$VNS" bans --json | jq -e 'map(select(.source == "manual" and
    .reason == "test block")) | length == 3' >/dev/null ||
    fail "bans: $(swc "$VNS" bans --json)"
swc "$VNS" bans | grep "^198.18.5.5 .* manual .* test block$" >/dev/null ||
    fail "bans table: $(swc "$VNS" bans)"
swc "$VNS" unblock 198.18.5.5 198.18.6.0/24 || fail "unblock failed"
in_set "$VNS" ban4 198.18.5.5 && fail "198.18.5.5 still in ban4"
in_set "$VNS" bannet4 198.18.6.0/24 && fail "198.18.6.0/24 still in bannet4"
rc=0
swc "$VNS" unblock 198.18.5.5 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "not banned" "$T/err" ||
    fail "unblock of a peer not banned: exit $rc, $(cat "$T/err")"
for refuse in "$VIC4 own" "127.0.0.1 loopback" "$ALLOWED4 allow" \
    "198.18.0.0/16 own"; do
	read -r a why <<<"$refuse"
	rc=0
	swc "$VNS" block "$a" 2>"$T/err" || rc=$?
	[ "$rc" -eq 1 ] && grep -qi "$why" "$T/err" ||
	    fail "block $a: exit $rc, '$(cat "$T/err")', want a refusal ($why)"
done
[ "$(elems "$VNS" ban4 | wc -l)" -eq 0 ] ||
    fail "refused blocks reached ban4: $(elems "$VNS" ban4)"
echo "ok: block/unblock round trip; own, loopback, [allow] refused"
# A list: the refused one is reported, the others are blocked.
rc=0
swc "$VNS" block --for 1h 198.18.8.1 "$VIC4" 198.18.8.2 >/dev/null \
    2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "$VIC4.*own" "$T/err" ||
    fail "block of a list with an own address: exit $rc, $(cat "$T/err")"
in_set "$VNS" ban4 198.18.8.1 && in_set "$VNS" ban4 198.18.8.2 ||
    fail "the list's other peers were not blocked: $(elems "$VNS" ban4)"
# Prefixes may not overlap (the kernel's interval set refuses it).
swc "$VNS" block --for 1h 198.18.12.0/22 >/dev/null || fail "block /22"
rc=0
swc "$VNS" block --for 1h 198.18.13.0/24 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "overlaps the banned prefix 198.18.12.0/22" \
    "$T/err" || fail "overlapping prefix: exit $rc, $(cat "$T/err")"
rc=0
swc "$VNS" block --for 99999d 198.18.8.3 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a ban of 99999 days was taken"
# An IPv4-mapped address is the IPv4 peer.
swc "$VNS" block --for 1h ::ffff:198.18.8.4 >/dev/null ||
    fail "block ::ffff:198.18.8.4"
in_set "$VNS" ban4 198.18.8.4 || fail "::ffff:198.18.8.4 not in ban4"
swc "$VNS" unblock 198.18.8.1 198.18.8.2 198.18.12.0/22 198.18.8.4 ||
    fail "unblock of the list"
[ "$(elems "$VNS" ban4 | wc -l)" -eq 0 ] ||
    fail "ban4 not empty again: $(elems "$VNS" ban4)"
echo "ok: lists report each refusal; overlapping prefixes, absurd lengths refused"

# ---- 2. nmap -sS with action = block ---------------------------------------
bg ip netns exec "$ANS" python3 "$TOOLS/holdconn.py" client "$VIC4" "$PORT" \
    "$T/held.ready" "$T/held.out" 5
wait_file 5 "$T/held.ready" "$!" || fail "holdconn client did not connect"
grep -q connect-failed "$T/held.ready" && fail "held: $(cat "$T/held.ready")"
# The socket table must know the connection (scans every 2 s).
sleep 2.5
start=$(now_ms)
# Ports in order (-r) from PORT-20: the 21st, which crosses [portscan]
# ports = 20, is PORT, open, so the alert names its process. The probes
# carry the TTL of the attacker's own stack (--ttl 64): by default nmap
# gives each raw probe a random TTL, and a peer whose handshake (the held
# connection) and probes disagree on the hop count is spoof-suspect, never
# banned automatically (test_spoof.sh).
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -r -p "$((PORT - 20))-$((PORT \
    + 79))" -T4 --max-retries 1 --host-timeout 20s --ttl 64 "$VIC4" \
    >"$T/nmap.out" 2>&1 || fail "nmap: $(cat "$T/nmap.out")"
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 not in ban4: \
$(elems "$VNS" ban4); log: $(grep -i ban "$SWD_LOG" | tail -3)"
swc "$VNS" alerts --json --kind portscan >"$T/ps.json"
# The session it holds is not its scan: nmap -sS is a SYN scan.
jq -e --arg p "$ATK4" '.[0] | .peer == $p and .action == "block" and
    .evidence.scan == "syn" and .evidence.ban == '"$BAN_S" "$T/ps.json" \
    >/dev/null ||
    fail "portscan alert: $(jq -c '.[0]' "$T/ps.json")"
jq -e --argjson port "$PORT" --arg c "$PYCOMM" '.[0].evidence |
    any(.open_processes[]; .port == $port and .comm == $c and .pid > 0)' \
    "$T/ps.json" >/dev/null || fail "the scan alert does not name the \
process on port $PORT: $(jq -c '.[0].evidence' "$T/ps.json")"
wait_file 3 "$T/held.out" 0 || fail "the held connection is still open"
[ "$(cat "$T/held.out")" = reset ] ||
    fail "held connection ended with $(cat "$T/held.out"), want reset"
swc "$VNS" bans --json >"$T/bans.json"
jq -e --arg p "$ATK4" 'any(.[]; .addr == $p and .source == "portscan" and
    .sockets_closed >= 1 and (.procs | test("python")))' "$T/bans.json" \
    >/dev/null || fail "bans: $(cat "$T/bans.json")"
echo "ok: nmap -sS: $ATK4 banned, $(jq -r --arg p "$ATK4" '.[] |
    select(.addr == $p) | "\(.sockets_closed) socket(s) of \(.procs)"' \
    "$T/bans.json") closed"
# From the packet that crossed the threshold (the alert's time) to the ban.
lag=$(jq -r --arg p "$ATK4" --slurpfile a "$T/ps.json" '
    def ms: capture("^(?<s>[^.]+)\\.(?<f>[0-9]{3})") |
        ((.s + "Z" | fromdate) * 1000 + (.f | tonumber));
    .[] | select(.addr == $p) | (.created | ms) - ($a[0][0].time | ms)' \
    "$T/bans.json")
[ "$lag" -ge 0 ] && [ "$lag" -lt 1000 ] ||
    fail "ban made $lag ms after the alert's packet, want < 1000"
echo "ok: banned $lag ms after the packet that crossed the threshold"
got=$(connect_from "$ANS" "$VIC4" "$ATK4")
[ "$got" = TimeoutError ] || [ "$got" = timeout ] ||
    fail "a banned peer's connect: $got, want a timeout"
echo "ok: a new connection from the banned peer gets no answer"
# Expiry: the kernel's timeout, and the daemon forgets it too.
wait_for $((BAN_S + 4)) sh -c "! ip netns exec $VNS nft list set inet \
sockwatch ban4 | grep '$ATK4 ' >/dev/null" || fail "ban of $ATK4 did not expire"
wait_for 3 sh -c "$SW bans --json | jq -e 'all(.[]; .addr != \"$ATK4\")'" ||
    fail "the daemon still lists $ATK4"
tr_quiet "$(now_ms)"
got=$(connect_from "$ANS" "$VIC4" "$ATK4")
[ "$got" = ok ] || fail "after the ban: connect $got, want ok"
echo "ok: the ban expired and the peer connects again"

# IPv6.
timeout 60 ip netns exec "$ANS" nmap -6 -n -Pn -sS -p 1-100 -T4 \
    --max-retries 1 --host-timeout 20s "$VIC6" >"$T/nmap6.out" 2>&1 ||
    fail "nmap -6: $(cat "$T/nmap6.out")"
wait_for 5 in_set "$VNS" ban6 "$ATK6" || fail "$ATK6 not in ban6"
got=$(connect_from "$ANS" "$VIC6" "$ATK6")
[ "$got" = TimeoutError ] || fail "a banned IPv6 peer's connect: $got"
echo "ok: nmap -6 -sS: $ATK6 banned, no answer"

# ---- 3. an allowed attacker ---------------------------------------------------
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$ALLOWED4" -e "$ATKIF" \
    -p 1-100 -T4 --max-retries 1 --host-timeout 20s "$VIC4" \
    >"$T/nmap-allowed.out" 2>&1 || fail "nmap: $(cat "$T/nmap-allowed.out")"
sleep 1
in_set "$VNS" ban4 "$ALLOWED4" && fail "the allowed $ALLOWED4 was banned"
[ "$(swc "$VNS" alerts --json --peer "$ALLOWED4" | jq length)" -eq 0 ] ||
    fail "alerts about the allowed peer"
echo "ok: a scan from an [allow] address: no alert, no ban"

# ---- 4. someone else changes our table --------------------------------------
swc "$VNS" block --for 1h 198.18.7.7 >/dev/null || fail "block 198.18.7.7"
ip netns exec "$VNS" nft delete table inet sockwatch
wait_for 3 in_set "$VNS" ban4 198.18.7.7 ||
    fail "table not repaired within 3 s of its deletion"
ip netns exec "$VNS" nft flush set inet sockwatch ban4
wait_for 3 in_set "$VNS" ban4 198.18.7.7 ||
    fail "ban4 not repaired within 3 s of a flush"
swc "$VNS" metrics | grep '^sockwatch_nft_repairs_total [1-9]' >/dev/null ||
    fail "repairs not counted: $(swc "$VNS" metrics | grep repairs)"
# An element whose end someone changed gets the ban's end back: the 1 h
# ban cut to 5 s (a plain add updates the timeout), a permanent one given
# 10 s (delete and add in one transaction).
swc "$VNS" block --permanent 198.18.7.8 >/dev/null || fail "block 198.18.7.8"
ip netns exec "$VNS" nft add element inet sockwatch ban4 \
    '{ 198.18.7.7 timeout 5s }'
printf '%s\n' 'delete element inet sockwatch ban4 { 198.18.7.8 }' \
    'add element inet sockwatch ban4 { 198.18.7.8 timeout 10s }' |
    ip netns exec "$VNS" nft -f -
long_again() {
	local e
	e=$(expires_of "$VNS" ban4 198.18.7.7)
	[ -n "$e" ] && [ "$e" -gt 3000 ]
}
permanent_again() {
	in_set "$VNS" ban4 198.18.7.8 &&
	    [ -z "$(expires_of "$VNS" ban4 198.18.7.8)" ]
}
wait_for 3 long_again || fail "198.18.7.7 expires in \
$(expires_of "$VNS" ban4 198.18.7.7) s, not within the hour, 3 s after a cut"
wait_for 3 permanent_again || fail "198.18.7.8 not permanent again: \
expires in $(expires_of "$VNS" ban4 198.18.7.8) s"
grep -q "[12] with another end given theirs back" "$SWD_LOG" ||
    fail "the corrected ends are not logged: $(grep reconcile "$SWD_LOG" |
    tail -3)"
swc "$VNS" unblock 198.18.7.8 >/dev/null || fail "unblock 198.18.7.8"
echo "ok: deleted table and flushed set repaired, changed ends corrected; \
$(grep -c "reconcile\|recreating" "$SWD_LOG") repair(s) logged"

# ---- 5. kill -9, a lost table, a restart ---------------------------------------
swc "$VNS" block --permanent 2001:db8:7::7 >/dev/null || fail "block v6"
swc "$VNS" bans --json | jq -S 'map({addr, expires, source}) |
    sort_by(.addr)' >"$T/before.json"
swd_stop KILL
ip netns exec "$VNS" nft delete table inet sockwatch
swd_start "$VNS" "$T/sockwatch.conf"
in_set "$VNS" ban4 198.18.7.7 || fail "198.18.7.7 not restored"
in_set "$VNS" ban6 2001:db8:7::7 || fail "2001:db8:7::7 not restored"
left=$(expires_of "$VNS" ban4 198.18.7.7)
[ "$left" -gt 3500 ] && [ "$left" -lt 3600 ] ||
    fail "restored ban expires in $left s, want its remaining time"
swc "$VNS" bans --json | jq -S 'map({addr, expires, source}) |
    sort_by(.addr)' >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" ||
    fail "bans before $(cat "$T/before.json"), after $(cat "$T/after.json")"
echo "ok: after kill -9 and a lost table every ban is back ($(jq length \
    "$T/after.json")), with its time left"
# ---- 6. lists follow reloads ---------------------------------------------------
cp "$T/sockwatch.conf" "$T/good.conf"
cat >>"$T/sockwatch.conf" <<EOF

[deny]
peers = 198.18.9.0/24, 2001:db8:9::/48
action = block

[connect]
deny = 198.18.10.10
EOF
swc "$VNS" reload || fail "reload with [deny] and [connect] failed"
in_set "$VNS" deny4 198.18.9.0/24 || fail "deny4: $(elems "$VNS" deny4)"
in_set "$VNS" deny6 2001:db8:9::/48 || fail "deny6: $(elems "$VNS" deny6)"
in_set "$VNS" connect4 198.18.10.10 ||
    fail "connect4: $(elems "$VNS" connect4)"
printf '\n[connect]\ndeny = 198.18.0.0/33\n' >>"$T/sockwatch.conf"
rc=0
swc "$VNS" reload 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "sockwatch.conf:[0-9]*: \[connect\] deny" \
    "$T/err" || fail "bad reload: exit $rc, $(cat "$T/err")"
in_set "$VNS" connect4 198.18.10.10 ||
    fail "a failed reload changed connect4: $(elems "$VNS" connect4)"
cp "$T/good.conf" "$T/sockwatch.conf"
swc "$VNS" reload || fail "reload back failed"
[ -z "$(elems "$VNS" deny4)$(elems "$VNS" connect4)" ] ||
    fail "lists not emptied by the reload: $(elems "$VNS" deny4)" \
    "$(elems "$VNS" connect4)"
in_set "$VNS" ban4 198.18.7.7 || fail "a reload lost the bans"
echo "ok: reloads fill and empty deny4/deny6/connect4; a failed one keeps them"
# ---- 7. enforce = no ------------------------------------------------------------
swd_stop
printf '\n[bans]\nenforce = no\n' >>"$T/sockwatch.conf"
sed -i 's/^reconcile_interval = 2s$//' "$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"
ip netns exec "$VNS" nft list table inet sockwatch >/dev/null 2>&1 &&
    fail "enforce = no left table inet sockwatch in place"
swc "$VNS" bans --json | jq -e 'any(.[]; .addr == "198.18.7.7")' \
    >/dev/null || fail "enforce = no lost the recorded bans"
echo "ok: enforce = no removes the table and keeps the bans recorded"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
