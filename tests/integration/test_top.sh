#!/usr/bin/env bash
# sockwatch top on a pseudo-terminal of 80x24 (TERM=xterm), read back
# through a terminal emulator (tests/tools/ptyterm.py, pyte), against a
# daemon in a victim namespace: an nmap scan from the attacker shows as a
# portscan alert and a ban; a listener opened shows within 5 s; j moves
# the selection, s and < the sort key; / filters the peers by address;
# b + y blocks the benign peer (in the kernel's ban4), u + n does not
# unblock it, u + y does; a member of control_group
# sees the same and may not block; the daemon stopped shows "daemon not
# running — reconnecting", started again its new pid and the bans; a
# selected ban that goes leaves no row selected; q
# exits 0. Then --once with stdout not a terminal: one snapshot no wider
# than 80 columns; with 41 bans, -n 5 shows "5 of 41" (the daemon sends
# the first 5 that pass the filter, as the bans request's limit, sort and
# filter say); exit 3 with the daemon stopped.
#
# SW_SAVE_SCREEN=FILE also copies the screen after the scan to FILE: the
# one in the README.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap || exit 0
T=$SW_TMP
D=$T/pty
PY=$(py_with pyte) || fail "no python3 with pyte (python3-pyte)"

# screen_has ERE: a row of the screen matches.
screen_has() {
	grep -Eq -- "$1" "$D/screen"
}
# wait_screen ERE WHAT: within 10 s, or fail showing the screen.
wait_screen() {
	wait_for 10 screen_has "$1" ||
	    fail "$2: not on the screen:$(printf '\n'; cat "$D/screen")"
}
# selected ADDR: the row of ADDR is the one in reverse video.
selected() {
	local n
	n=$(grep -n -m 1 "^$1 " "$D/screen" | cut -d: -f1) || return 1
	grep -qx "$((n - 1))" "$D/reverse"
}
# keys TEXT: type TEXT (printf %b escapes) into top's terminal.
keys() {
	printf '%b' "$1" >"$D/keys"
}

# A member of control_group may watch, not block.
GRP="swtest-g$$"
MEMBER="swtest-m$$"
sw_group_add "$GRP"
sw_user_add "$MEMBER" "$GRP"
chmod 0711 "$T"

tr_net
tr_conf "$T/sockwatch.conf" "tcp/80"
sed -i "/^\[daemon\]/a control_group = $GRP" "$T/sockwatch.conf"
printf 'action = block\n' >>"$T/sockwatch.conf"	# in [portscan]
listen_start "$VNS" svc 'tcp:[::]:80' 'tcp:0.0.0.0:25'
swd_start "$VNS" "$T/sockwatch.conf"
mkdir "$D"
bg ip netns exec "$VNS" env LC_ALL=C.UTF-8 "$PY" "$TOOLS/ptyterm.py" \
    "$D" 80 24 -- "$SW" top
top=$!
wait_screen "^sockwatchd [0-9.]+ pid $SWD_PID up " "the daemon's header"

# A scan: its alert (newest first) and the ban. Each line whole where it
# should be: nothing wrapped onto the next row.
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-100 -T4 \
    --max-retries 1 --host-timeout 30s "$VIC4" >"$T/nmap.out" 2>&1 ||
    fail "nmap: $(cat "$T/nmap.out")"
T3='[0-9]{2}:[0-9]{2}:[0-9]{2}'
wait_screen "^$T3 warn portscan +$ATK4 +block +SYN scan" "the portscan alert"
lst="listener +- +alert +unexpected tcp listener on 0\.0\.0\.0:25"
wait_screen "^$T3 warn $lst" "the listener alert"
bar='^1 Alerts\([0-9]+\) 2 Bans\(1\) 3 Peers\([0-9]+\) 4 Listeners\([0-9]+\)'
wait_screen "$bar  sort:time$" "the pane bar"
help="q quit  Tab/1-4 pane  arrows select  s/</> sort  / filter  b block"
[ "$(sed -n 24p "$D/screen")" = "$help  u unblock" ] ||
    fail "key line: $(sed -n 24p "$D/screen")"
if [ -n "${SW_SAVE_SCREEN:-}" ]; then
	# Once the capture counters have caught up with the scan.
	wait_screen "^capture [1-9]" "the capture counters"
	wait_screen "  peers [1-9][0-9]*/" "the peer table's size"
	cp "$D/screen" "$SW_SAVE_SCREEN"
fi
keys 2
wait_screen "^$ATK4 +portscan +[0-9]+m[0-9]+s +[0-9]+ SYN scan" "the ban"
echo "ok: the scan's alert and ban on the screen"

# A listener opened now shows without waiting for the 10 s refresh.
keys 4
wait_screen "^tcp +0\.0\.0\.0:25 +listen " "the listeners"
listen_start "$VNS" late 'tcp:0.0.0.0:8025'
wait_for 5 screen_has "^tcp +0\.0\.0\.0:8025 +listen +0 $PYCOMM\($LPID\)" ||
    fail "the new listener not within 5 s:$(printf '\n'; cat "$D/screen")"
echo "ok: a new listener within 5 s"

# A second peer: the benign client connects a few times.
for _ in 1 2 3; do
	ip netns exec "$BNS" timeout 2 bash -c \
	    "exec 3<>/dev/tcp/$VICB4/80" 2>/dev/null || true
done
keys 3
wait_screen "^$BEN4 " "the benign peer"
screen_has "^$ATK4 " || fail "the attacker is not among the peers"
# The scanner sent more packets: first. j selects the next row.
wait_for 5 selected "$ATK4" || fail "the first peer is not selected"
keys j
wait_for 5 selected "$BEN4" || fail "j: $BEN4 not selected"
keys s
wait_screen "sort:bytes$" "s: the next sort key"
keys '<'
wait_screen "sort:packets$" "<: the sort key before"
echo "ok: j selects, s and < change the sort key"
keys '/198.18.1\r'
wait_screen "sort:packets filter:198\\.18\\.1$" "the filter"
wait_for 5 bash -c "! grep -q '^$ATK4 ' '$D/screen'" ||
    fail "the filter left $ATK4 on the screen"
screen_has "^$BEN4 " || fail "the filter hid $BEN4"
echo "ok: / filters by address"

keys b
wait_screen "^block $BEN4\? \[y/n\]" "the confirmation"
keys y
wait_screen "^blocked $BEN4" "the answer to block"
in_set "$VNS" ban4 "$BEN4" || fail "b + y: $BEN4 not in ban4"
keys u
wait_screen "^unblock $BEN4\? \[y/n\]" "the unblock confirmation"
keys n
wait_screen "^cancelled" "the refusal"
in_set "$VNS" ban4 "$BEN4" || fail "u + n unblocked $BEN4"
keys uy
wait_screen "^unblocked $BEN4" "the answer to unblock"
in_set "$VNS" ban4 "$BEN4" && fail "u + y: $BEN4 still in ban4"
echo "ok: b/u with y/n block and unblock in the kernel"

# The member's top: the same view, and b is refused before any question.
D=$T/pty-member
mkdir "$D"
bg ip netns exec "$VNS" env LC_ALL=C.UTF-8 "$PY" "$TOOLS/ptyterm.py" \
    "$D" 80 24 -- runuser -u "$MEMBER" -- \
    env SOCKWATCH_SOCKET="$SOCK" "$SW" top
member=$!
wait_screen "^sockwatchd [0-9.]+ pid $SWD_PID up " "the member's header"
keys 2
wait_screen "^$ATK4 +portscan " "the member's bans"
keys b
wait_screen "^only root may block or unblock" "the member's b"
keys q
wait_file 5 "$D/exit" "$member" || fail "q: the member's top did not exit"
[ "$(cat "$D/exit")" = 0 ] || fail "the member's top exited $(cat "$D/exit")"
D=$T/pty
echo "ok: a member of control_group watches, may not block"

# The daemon goes and comes back: top says so, then shows the new one.
old=$SWD_PID
swd_stop TERM
wait_screen "^daemon not running — reconnecting" "the reconnect state"
swd_start "$VNS" "$T/sockwatch.conf"
[ "$SWD_PID" != "$old" ] || fail "the same pid after a restart?"
wait_screen "^sockwatchd [0-9.]+ pid $SWD_PID up " "the new daemon"
keys '/\b\b\b\b\b\b\b\b\r2'
wait_screen "^$ATK4 +portscan " "the ban after the restart"
screen_has reconnecting && fail "still reconnecting"
echo "ok: the daemon's restart shown, then its data"

# The selected ban goes: no row is selected (not the one in its place,
# which b would block) until a key selects one.
swc "$VNS" block --for 1h 198.19.1.1 198.19.1.2 >/dev/null || fail block
wait_screen '^198\.19\.1\.2 ' "the new bans"
wait_for 5 selected 198.19.1.1 || fail "the first ban is not selected"
keys j
wait_for 5 selected 198.19.1.2 || fail "j: 198.19.1.2 not selected"
swc "$VNS" unblock 198.19.1.2 >/dev/null || fail unblock
wait_for 5 bash -c "! grep -q '^198\.19\.1\.2 ' '$D/screen'" ||
    fail "198.19.1.2 still on the screen"
if selected 198.19.1.1 || selected "$ATK4"; then
	fail "a ban selected after the selected one went"
fi
keys b
wait_screen "^no row selected" "b with none selected"
keys j
wait_for 5 selected 198.19.1.1 || fail "j after: 198.19.1.1 not selected"
swc "$VNS" unblock 198.19.1.1 >/dev/null || fail unblock
echo "ok: the selected row gone, none is selected"

keys q
wait_file 5 "$D/exit" "$top" || fail "q: top did not exit"
[ "$(cat "$D/exit")" = 0 ] || fail "q: top exited $(cat "$D/exit")"
echo "ok: q exits 0"

# Not a terminal: one snapshot, as plain text, 80 columns at most.
rc=0
swc "$VNS" top >"$T/once.txt" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "top, stdout a file: exit $rc: $(cat "$T/once.txt")"
for want in "^sockwatchd [0-9.]+ pid $SWD_PID " '^Alerts \([0-9]+, by time\)$' \
    "^$ATK4 +portscan " '^Peers \(' '^Listeners \(' '^tcp +\[::\]:80 ' \
    '^tcp +0\.0\.0\.0:25 '; do
	grep -Eq -- "$want" "$T/once.txt" ||
	    fail "--once: no $want in:$(printf '\n'; cat "$T/once.txt")"
done
awk 'length($0) > 80 { exit 1 }' "$T/once.txt" ||
    fail "--once: a line over 80 columns"
swc "$VNS" top --once --filter 198.18.0.0/24 >"$T/once.txt" ||
    fail "top --once --filter"
if ! grep -Eq "^$ATK4 +portscan " "$T/once.txt" ||
    ! grep -q '^Listeners (0, by port)$' "$T/once.txt"; then
	fail "--once --filter 198.18.0.0/24:$(printf '\n'; cat "$T/once.txt")"
fi

# 40 bans more: top asks the daemon for the first -n by its sort key that
# pass the filter, and says how many there are.
seq 1 40 | sed 's/^/198.19.0./' >"$T/more"
swc "$VNS" block --for 1h -f "$T/more" >/dev/null || fail "block -f"
swc "$VNS" top --once -n 5 >"$T/once.txt" || fail "top --once -n 5"
once_bans() {
	sed -n '/^Bans /,/^$/p' "$T/once.txt" | grep -c '^198\.1[89]\.'
}
if ! grep -q '^Bans (5 of 41, by left)$' "$T/once.txt" ||
    [ "$(once_bans)" != 5 ]; then
	fail "--once -n 5 with 41 bans:$(printf '\n'; cat "$T/once.txt")"
fi
swc "$VNS" top --once -n 5 --filter 0.3 >"$T/once.txt" ||
    fail "top --once --filter 0.3"
if ! grep -q '^Bans (5 of 11, by left)$' "$T/once.txt" ||
    [ "$(once_bans)" != 5 ]; then
	fail "--once --filter 0.3:$(printf '\n'; cat "$T/once.txt")"
fi
# The request itself, as a member of control_group may send it.
bans_req() {
	ip netns exec "$VNS" runuser -u "$MEMBER" -- python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
r = json.loads(s.makefile().readline())
print(r.get("error") or " ".join([b["addr"] for b in r["bans"]] +
    [str(r["matched"]), str(r["total"])]))' "$SOCK" "$1"
}
q='{"cmd": "bans", "limit": 3, "sort": "address", "filter": "198.19.0.0/24"}'
got=$(bans_req "$q")
[ "$got" = "198.19.0.1 198.19.0.2 198.19.0.3 40 41" ] ||
    fail "bans limit 3 by address in 198.19.0.0/24: $got"
got=$(bans_req '{"cmd": "bans", "limit": 0}')
[ "$got" = "limit must be an integer 1-1000000" ] || fail "limit 0: $got"
echo "ok: the first -n bans of the daemon's, N of TOTAL"
swd_stop TERM
rc=0
swc "$VNS" top --once >"$T/once.txt" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "--once without a daemon: exit $rc, want 3"
echo "ok: --once"
