#!/usr/bin/env bash
# A guesser that sends its guesses together (tests/tools/sshpipe.py: six
# password requests back to back a connection, no waiting), against
# Debian's sshd as shipped (PAM, MaxAuthTries 6): sshd answers them in
# turn, each after PAM's failure delay, with no data from the client in
# between, so only the first starts a wait of its own. sockwatchd with
# the shipped [bruteforce] settings (attempts = 6) and action = block.
# Asserted: banned within three connections (18 guesses), with at most 8
# guesses ("Failed password" lines in sshd's log) through. Counting only
# the waits, it was 1 guess counted a connection: not banned.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools ssh chpasswd || exit 0
if [ ! -x /usr/sbin/sshd ] || [ ! -r /etc/ssh/sshd_config ]; then
	echo "skip: no Debian sshd"
	exit 0
fi
PY=$(py_with paramiko) || fail "no python3 with paramiko (python3-paramiko)"
T=$SW_TMP
U=swtest-bfp

tr_net
sw_user_add "$U"
echo "$U:Right-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" | chpasswd
sshd_start "Include /etc/ssh/sshd_config"
tr_conf "$T/sockwatch.conf" "tcp/22" default
printf '\n[bruteforce]\naction = block\n' >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"

n_failed() {
	grep -c 'Failed password' "$SW_TMP/sshd.log" || true
}
banned=0
for c in 1 2 3; do
	timeout 40 ip netns exec "$ANS" "$PY" "$here/../tools/sshpipe.py" \
	    "$VIC4" "$U" 6 >"$T/pipe$c.out" 2>&1 || true
	echo "connection $c: $(grep '^answers' "$T/pipe$c.out" || true);" \
	    "$(n_failed) guesses through so far"
	if in_set "$VNS" ban4 "$ATK4"; then
		banned=$c
		break
	fi
done
sleep 3		# what PAM still had to answer
[ "$banned" -gt 0 ] || fail "not banned after 3 connections of 6 guesses; \
alerts: $(swc "$VNS" alerts --json --kind bruteforce | jq -c .)"
[ "$(n_failed)" -le 8 ] || fail "$(n_failed) guesses reached sshd, want at \
most 8"
swc "$VNS" alerts --json --kind bruteforce | jq -e --arg p "$ATK4" \
    '.[0] | .peer == $p and .evidence.signal == "attempts" and
    .action == "block"' >/dev/null ||
    fail "alert: $(swc "$VNS" alerts --json --kind bruteforce | jq -c .)"
echo "ok: banned in connection $banned, $(n_failed) guesses through"
pid_gone "$SSHD_PID" && fail "sshd died"
echo "all checks passed"
