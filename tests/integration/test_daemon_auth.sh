#!/usr/bin/env bash
# Who may use the control socket (SO_PEERCRED): root everything, members
# of control_group read-only, everyone else nothing. The socket file is
# 0660 root:control_group. The users and the group are made here and
# removed on exit.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
T=$SW_TMP
NS=$(ns_add auth)
GRP="swtest-g$$"
MEMBER="swtest-m$$"
OTHER="swtest-o$$"

sw_group_add "$GRP"
sw_user_add "$MEMBER" "$GRP"
sw_user_add "$OTHER"
# The users must reach the socket: $SW_TMP is 0700.
chmod 0711 "$T"

SCAN=500ms sw_conf "$T/sockwatch.conf" "tcp/2222 $PYCOMM" \
    "control_group = $GRP"
swd_start "$NS" "$T/sockwatch.conf"
mode=$(stat -c '%a %U %G %F' "$SOCK")
[ "$mode" = "660 root $GRP socket" ] ||
    fail "control socket is '$mode', want '660 root $GRP socket'"
echo "ok: $SOCK is $mode"
listen_start "$NS" one tcp:0.0.0.0:7401
wait_alerts "$NS" 3 7401

# as USER ARGS...: the CLI as USER; sets rc, out and err files.
as() {
	local user=$1
	shift
	rc=0
	ip netns exec "$NS" runuser -u "$user" -- \
	    env SOCKWATCH_SOCKET="$SOCK" "$SW" "$@" >"$T/out" 2>"$T/err" ||
	    rc=$?
}
ok() {
	[ "$rc" -eq 0 ] || fail "$1: exit $rc: $(cat "$T/err")"
}
refused() {
	[ "$rc" -ne 0 ] || fail "$1: exit 0, want a refusal"
	[ "$rc" -ne 3 ] || fail "$1: exit 3 (no daemon?): $(cat "$T/err")"
	grep -qi "permission denied" "$T/err" ||
	    fail "$1: no 'permission denied' on stderr: $(cat "$T/err")"
	[ -s "$T/out" ] && fail "$1: printed on stdout: $(cat "$T/out")"
	echo "ok: $1 refused (exit $rc): $(head -n 1 "$T/err")"
}

# A member reads.
as "$MEMBER" status
ok "member: status"
grep -q "^sockwatchd .*pid $SWD_PID" "$T/out" ||
    fail "member: status: $(cat "$T/out")"
as "$MEMBER" alerts --json
ok "member: alerts --json"
jq -e 'any(.[]; .local_port == 7401)' "$T/out" >/dev/null ||
    fail "member: alerts does not show the alert: $(cat "$T/out")"
as "$MEMBER" metrics
ok "member: metrics"
as "$MEMBER" listeners
ok "member: listeners"
grep -q 7401 "$T/out" || fail "member: listeners: $(cat "$T/out")"
rc=0
timeout 1 ip netns exec "$NS" runuser -u "$MEMBER" -- \
    env SOCKWATCH_SOCKET="$SOCK" "$SW" alerts -f >"$T/out" 2>"$T/err" ||
    rc=$?
[ "$rc" -eq 124 ] || fail "member: alerts -f ended with $rc within 1 s," \
    "want it to keep following: $(cat "$T/err")"
echo "ok: a member reads status, alerts, metrics, listeners, alerts -f"

# ...but may not reload, and nothing was reloaded.
as "$MEMBER" reload
refused "member: reload"
# ...nor block or unblock anyone, but may list the bans.
as "$MEMBER" block 198.18.77.1
refused "member: block"
as "$MEMBER" unblock 198.18.77.1
refused "member: unblock"
as "$MEMBER" bans --json
ok "member: bans --json"
jq -e 'length == 0' "$T/out" >/dev/null ||
    fail "a member's refused block banned: $(cat "$T/out")"
swc "$NS" status --json | jq -e '.last_reload.time == null' >/dev/null ||
    fail "a member's refused reload reloaded"

# A non-member is refused everything: by the file's mode first...
as "$OTHER" status
refused "non-member: status"
as "$OTHER" alerts
refused "non-member: alerts"
# ...and by the daemon itself (SO_PEERCRED), should the mode be loosened.
chmod 0666 "$SOCK"
for cmd in status alerts reload "alerts -f"; do
	# shellcheck disable=SC2086
	as "$OTHER" $cmd
	refused "non-member, socket 0666: $cmd"
done
chmod 0660 "$SOCK"

# Root may do everything, reload included.
swc "$NS" reload >/dev/null || fail "root: reload failed"
swc "$NS" metrics >"$T/metrics"
refused_n=$(awk '$1 == "sockwatch_control_refused_total" { print $2 }' \
    "$T/metrics")
[ "${refused_n:-0}" -eq 4 ] ||
    fail "sockwatch_control_refused_total is '$refused_n', want 4"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
