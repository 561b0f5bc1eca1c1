#!/usr/bin/env bash
# sockwatch top against a large ban table: in a private network namespace,
# sockwatchd is given N bans (default 100,000) with `sockwatch block -f`;
# then `top --once` is timed three times, and a live top on an 80x24
# pseudo-terminal (tests/tools/ptyterm.py, python3-pyte) is shown the
# bans pane: the time from a key (2, then j) to the screen that answers
# it, and the CPU that top and the daemon use in the next 20 s. Prints a
# markdown line.
#
# Usage: bench/top.sh [BUILD] [N]   (as root)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-100000}
BENCH=top
# shellcheck source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
[ "$N" -ge 1 ] && [ "$N" -le 130000 ] || die "N: 1 to 130000"
TOOLS=$(cd "$(dirname "$0")/../tests/tools" && pwd)
/usr/bin/python3 -c 'import pyte' 2>/dev/null || die "needs python3-pyte"

ban_list "$N"
daemon_conf
swd_start
swc block --for 1h -f "$WORK/list" >/dev/null ||
    die "block -f failed: $(tail -3 "$WORK/log")"

# secs_since NS: seconds from date +%s%N's NS to now, 3 decimals.
secs_since() {
	echo "scale=3; ($(date +%s%N) - $1) / 1000000000" | bc
}
once=
for _ in 1 2 3; do
	s=$(date +%s%N)
	swc top --once >"$WORK/once" || die "top --once failed"
	once="$once${once:+ / }$(secs_since "$s")"
done

# cpu PID: its user and system clock ticks; dcpu: the daemon's processes.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
dcpu() {
	local t=0 p
	for p in $PID $(pgrep -P "$PID"); do
		t=$((t + $(cpu "$p")))
	done
	echo $t
}
# until_screen SECS CMD...: CMD (a grep on the screen) within SECS.
until_screen() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 100; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.01
	done
	kill "$py" 2>/dev/null
	wait "$py" 2>/dev/null || true
	die "not on the screen: $*: $(cat "$WORK/pty/screen")"
}
mkdir "$WORK/pty"
ip netns exec "$NS" env LC_ALL=C.UTF-8 SOCKWATCH_SOCKET="$WORK/sw.sock" \
    /usr/bin/python3 "$TOOLS/ptyterm.py" "$WORK/pty" 80 24 -- "$SW" top \
    </dev/null >/dev/null 2>&1 &
py=$!
until_screen 30 grep -q '^sockwatchd ' "$WORK/pty/screen"
sleep 2
top=$(pgrep -P "$py")
s=$(date +%s%N)
printf 2 >"$WORK/pty/keys"
until_screen 30 grep -q '^Address ' "$WORK/pty/screen"
key2=$(secs_since "$s")
sleep 1
# j: the second row of the bans table in reverse video.
row=$(grep -n -m 1 '^Address ' "$WORK/pty/screen" | cut -d: -f1)
s=$(date +%s%N)
printf j >"$WORK/pty/keys"
until_screen 120 grep -qx "$((row + 1))" "$WORK/pty/reverse"
keyj=$(secs_since "$s")
t0=$(cpu "$top")
d0=$(dcpu)
sleep 20
hz=$(getconf CLK_TCK)
tcpu=$(echo "scale=2; ($(cpu "$top") - $t0) / $hz" | bc)
scpu=$(echo "scale=2; ($(dcpu) - $d0) / $hz" | bc)
printf q >"$WORK/pty/keys"
wait "$py" || true
echo "| $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null ||
    echo unknown) | $N | $once | $key2 / $keyj | $tcpu | $scpu |"
