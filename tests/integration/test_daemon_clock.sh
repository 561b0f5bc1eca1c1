#!/usr/bin/env bash
# A step of the wall clock changes no ban and bans nobody. sockwatchd runs
# under libfaketime (Debian's faketime), whose offset the test changes
# while it runs: a day forward, then a day back, with bans in force and
# the reconciliation checking the kernel's table every second.
#
#  - Each ban's time left (sockwatch bans, and the kernel's element) goes
#    on as if nothing happened: no early expiry, no lengthening.
#  - Reconciliation neither deletes nor re-times a kernel element.
#  - The database's rows (wall time) are written again in the new time.
#  - Nobody else is banned, no alert is raised; a port scan after the
#    steps is still banned, for its configured length.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
has_tools nmap nft || exit 0
[ -e "$FT" ] || { echo "skip: no libfaketime ($FT)"; exit 0; }
T=$SW_TMP
BAN_S=600

tr_net
tr_conf "$T/sockwatch.conf" "tcp/1"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = ${BAN_S}s

[bans]
reconcile_interval = 1s
EOF
echo "+0" >"$T/faketime"
chmod 0755 "$T"
chmod 0644 "$T/faketime"
# Under make asan the preloaded library comes before ASan's runtime:
# harmless here (it only wraps clock calls), so ASan is told not to mind.
LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    swd_start "$VNS" "$T/sockwatch.conf"
dpid=$(pgrep -x -n sockwatchd -P "$SWD_PID" || echo "$SWD_PID")
grep -q faketime "/proc/$dpid/maps" || fail "libfaketime not loaded"

swc "$VNS" block --for 1h 198.18.6.1 >/dev/null || fail "block 198.18.6.1"
swc "$VNS" block --for 2m 198.18.6.2 >/dev/null || fail "block 198.18.6.2"
t0=$(now_ms)

# left ADDR: the ban's time left as sockwatch says and as the kernel has
# it, in seconds: "daemon kernel".
left() {
	echo "$(swc "$VNS" bans --json | jq --arg a "$1" \
	    '.[] | select(.addr == $a) | .left_s') $(expires_of "$VNS" ban4 \
	    "$1")"
}
# check ADDR LENGTH STEP: both within 3 s of LENGTH less the time since
# t0.
check() {
	local want l d k
	want=$(($2 - ($(now_ms) - t0) / 1000))
	l=$(left "$1")
	d=${l% *}
	k=${l#* }
	[ -n "$d" ] && [ -n "$k" ] || fail "$1: no longer banned after $3 ($l)"
	[ "$d" -ge $((want - 3)) ] && [ "$d" -le $((want + 3)) ] &&
	    [ "$k" -ge $((want - 3)) ] && [ "$k" -le $((want + 3)) ] ||
	    fail "$1 after $3: $d s left by sockwatch, $k s by the kernel," \
	    "want $want"
}
for step in +1d -1d; do
	echo "$step" >"$T/faketime"
	sleep 3
	swc "$VNS" status --json | jq -e '.started' >/dev/null ||
	    fail "the daemon does not answer after $step"
	check 198.18.6.1 3600 "$step"
	check 198.18.6.2 120 "$step"
	echo "ok: wall clock $step: time left unchanged ($(left 198.18.6.1) \
and $(left 198.18.6.2) s)"
done
# The database keeps wall time: its rows were written again with the
# wall clock as the daemon now sees it (a day back).
want=$(($(date +%s) - 86400 + $(left 198.18.6.1 | cut -d' ' -f1)))
got=$(sqlite3 "$T/sockwatch.db" \
    "SELECT expires_ms / 1000 FROM bans WHERE peer = '198.18.6.1/32'")
[ -n "$got" ] && [ $((got - want)) -ge -3 ] && [ $((got - want)) -le 3 ] ||
    fail "the database's end of 198.18.6.1: $got, want $want"
echo "ok: the database's rows written again in the wall clock's new time"
grep -q 'reconcile' "$SWD_LOG" &&
    fail "reconciliation changed the table: $(grep reconcile "$SWD_LOG")"
[ "$(elems "$VNS" ban4 | sort | tr '\n' ' ')" = "198.18.6.1 198.18.6.2 " ] ||
    fail "ban4: $(elems "$VNS" ban4)"
[ "$(swc "$VNS" alerts --json | jq 'map(select(.kind != "listener")) |
    length')" -eq 0 ] || fail "alerts: $(swc "$VNS" alerts --json)"
echo "ok: nobody else banned, no alert, no reconcile repair"

# A port scan a day back: alerted and banned, for BAN_S.
timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -p 1-200 -T4 \
    --max-retries 1 "$VIC4" >"$T/nmap.out" 2>&1 ||
    fail "nmap: $(cat "$T/nmap.out")"
wait_for 3 in_set "$VNS" ban4 "$ATK4" || fail "the scanner was not banned"
k=$(expires_of "$VNS" ban4 "$ATK4")
[ "$k" -ge $((BAN_S - 10)) ] && [ "$k" -le "$BAN_S" ] ||
    fail "the scanner banned for $k s, want $BAN_S"
echo "ok: a scan with the wall clock a day back: banned for $k s"
