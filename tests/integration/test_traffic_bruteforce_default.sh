#!/usr/bin/env bash
# Brute force as users meet it: Debian's sshd with the configuration the
# package ships (/etc/ssh/sshd_config: PAM, MaxAuthTries 6, password
# authentication; only the address, host key and pid file are ours) and
# hydra with its default options (16 tasks) guessing wrong passwords for
# an existing user. sockwatchd runs with the shipped [bruteforce] settings
# and action = block.
#
# Asserted: the attacker is alerted for and banned, and fewer than
# MAX_GUESSES guesses ("Failed password" lines in sshd's log) reached sshd
# in all. hydra's burst of 16 connections crosses the connection count at
# once, before PAM's failure delay lets its first guesses be answered.
# (A guesser with few connections, hydra -t 1 or -t 4, goes unnoticed by
# the connection count: issue 11.)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools hydra ssh-keygen chpasswd || exit 0
if [ ! -x /usr/sbin/sshd ] || [ ! -r /etc/ssh/sshd_config ]; then
	echo "skip: no Debian sshd"
	exit 0
fi
T=$SW_TMP
BF_USER=swtest-bfd
MAX_GUESSES=${MAX_GUESSES:-4}

tr_net
sw_user_add "$BF_USER"
echo "$BF_USER:$(head -c 18 /dev/urandom | base64)" | chpasswd
sshd_start "Include /etc/ssh/sshd_config"

tr_conf "$T/sockwatch.conf" "tcp/22" default
printf '\n[bruteforce]\naction = block\n' >>"$T/sockwatch.conf"
swd_start "$VNS" "$T/sockwatch.conf"

for i in $(seq 1 300); do
	echo "wrong-$i-$RANDOM"
done >"$T/words"
n_failed() {
	grep -c 'Failed password' "$SW_TMP/sshd.log" || true
}
[ "$(n_failed)" -eq 0 ] || fail "guesses before the attack"
# hydra as it comes (-I only skips a restore file of an earlier run).
(cd "$T" && timeout 40 ip netns exec "$ANS" hydra -I -l "$BF_USER" \
    -P "$T/words" "ssh://$VIC4" >"$T/hydra.out" 2>&1) || true
wait_for 5 in_set "$VNS" ban4 "$ATK4" || fail "$ATK4 not banned; hydra: \
$(tail -5 "$T/hydra.out"); $(n_failed) guesses reached sshd"
sleep 3		# what PAM still had to answer
conns=$(grep -c "Connection from $ATK4" "$SW_TMP/sshd.log" || true)
total=$(n_failed)
swc "$VNS" alerts --json --kind bruteforce >"$T/bf.json"
jq -e --arg p "$ATK4" '.[0] | .peer == $p and .local_port == 22 and
    .action == "block" and .evidence.connections > 10' "$T/bf.json" >/dev/null ||
    fail "alert: $(jq -c '.[0]' "$T/bf.json")"
echo "hydra: $(grep -c . "$T/hydra.out") lines, $(grep -Eo \
'[0-9]+ of [0-9]+ target' "$T/hydra.out" | tail -1)"
[ "$total" -lt "$MAX_GUESSES" ] || fail "$total guesses reached sshd, \
want fewer than $MAX_GUESSES"
echo "ok: hydra (defaults) against Debian's sshd: banned; $total guesses \
reached sshd (of $conns connections)"
pid_gone "$SSHD_PID" && fail "sshd died"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
