#!/usr/bin/env bash
# Hostile input on the control socket: 100 garbage lines each get an
# {"ok": false} answer, a line over 64 KiB closes that connection, and
# neither stops the daemon nor disturbs a second client connected all
# along (tests/tools/swctl.py garbage). At most max_clients clients are
# served at once.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add ctl)

SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/2222 $PYCOMM" "max_clients = 8"
swd_start "$NS" "$T/sockwatch.conf"

timeout 30 ip netns exec "$NS" python3 "$TOOLS/swctl.py" garbage "$SOCK" ||
    fail "swctl.py garbage"

# At most max_clients at once, plus 2 kept for root (this test is root);
# the one too many is told so.
timeout 30 ip netns exec "$NS" python3 "$TOOLS/swctl.py" maxclients \
    "$SOCK" 10 || fail "swctl.py maxclients"

pid_gone "$SWD_PID" && fail "sockwatchd died"
swc "$NS" metrics >"$T/metrics" || fail "metrics after the garbage"
# The closed clients were released, and the daemon still works end to
# end.
clients=$(awk '$1 == "sockwatch_control_clients" { print $2 }' "$T/metrics")
[ "$clients" = 1 ] || fail "sockwatch_control_clients is $clients, want 1" \
    "(just this one): a closed client was not released"
listen_start "$NS" after tcp:0.0.0.0:7501
wait_alerts "$NS" 3 7501
echo "all checks passed"
