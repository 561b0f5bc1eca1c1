#!/usr/bin/env bash
# [bruteforce] log = journal: sshd as Debian runs it on a host without
# rsyslog, logging through syslog(3) to systemd-journald, and sockwatchd
# reading the journal. journald, sshd and sockwatchd run in a mount
# namespace of their own inside the victim's network namespace, with
# tmpfs on /run/systemd, /run/log, /var/log/journal and /dev (the nodes
# sshd needs bound in, /dev/log pointing at journald): the host's journal
# and /dev are never touched.
#
# Asserted: entries that are not sshd's by journald's trusted fields
# (logger -t sshd; a root process that names itself sshd) are never read
# as sshd's; hydra -t 4 (a probe, then four connections guessing) is
# banned with at most MAX_GUESSES guesses through, by the "log" signal.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools hydra nsenter unshare logger chpasswd ssh-keygen || exit 0
JOURNALD=/lib/systemd/systemd-journald
if [ ! -x /usr/sbin/sshd ] || [ ! -r /etc/ssh/sshd_config ] ||
    [ ! -x "$JOURNALD" ]; then
	echo "skip: no Debian sshd or systemd-journald"
	exit 0
fi
T=$SW_TMP
U=swtest-bfj
# Journal entries are read up to a tick (200 ms) late, and by then a
# parallel guesser's next round can be in PAM: 4 in 11 runs of 12, 8 in
# one (the file source keeps to 4: test_traffic_bruteforce_log).
MAX_GUESSES=${MAX_GUESSES:-8}

tr_net
sw_user_add "$U"
echo "$U:$(head -c 18 /dev/urandom | base64)" | chpasswd

# The mount namespace: a process that waits in it, entered with nsenter.
bg ip netns exec "$VNS" unshare -m --propagation private sleep 600
MNT=$!
other_mnt() {
	[ "$(readlink "/proc/$MNT/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
	    [ "$(cat "/proc/$MNT/comm")" = sleep ]
}
wait_for 3 other_mnt || fail "no mount namespace"
in_mnt() {
	nsenter -t "$MNT" -m -n "$@"
}
mkdir "$T/dev"
in_mnt sh -ec "
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mount -t tmpfs -o mode=0755 tmpfs /run/log
mount -t tmpfs -o mode=2755 tmpfs /var/log/journal
mount --rbind /dev $T/dev
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero full random urandom tty ptmx; do
	touch /dev/\$n
	mount --bind $T/dev/\$n /dev/\$n
done
mkdir /dev/pts /dev/shm
mount --rbind $T/dev/pts /dev/pts
ln -s /run/systemd/journal/dev-log /dev/log
mount -t cgroup2 none /sys/fs/cgroup"
bg nsenter -t "$MNT" -m -n "$JOURNALD"
wait_for 5 in_mnt test -S /run/systemd/journal/dev-log ||
    fail "journald did not start"
journal_sshd() {
	in_mnt journalctl -q -o cat _COMM=sshd 2>/dev/null || true
}

# sshd as shipped, logging to syslog (no -E).
mkdir -m 0700 "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -C sockwatch-test -f "$T/ssh/host_ed25519"
cat >"$T/ssh/sshd_config" <<EOF
Port 22
ListenAddress $VIC4
HostKey $T/ssh/host_ed25519
PidFile $T/ssh/sshd.pid
Include /etc/ssh/sshd_config
EOF
[ -d /run/sshd ] || fail "no /run/sshd (the openssh-server package makes it)"
bg nsenter -t "$MNT" -m -n /usr/sbin/sshd -D -f "$T/ssh/sshd_config"
SSHD=$!
wait_for 10 sh -c "nsenter -t $MNT -m -n journalctl -q -o cat _COMM=sshd |
    grep -q 'Server listening on $VIC4 port 22'" || fail "sshd did not start"

tr_conf "$T/sockwatch.conf" "tcp/22" default
printf '\n[bruteforce]\naction = block\nlog = journal\n' >>"$T/sockwatch.conf"
echo "--- sockwatchd start $(date +%T.%N)" >>"$SWD_LOG"
bg nsenter -t "$MNT" -m -n "$SWD" -f -c "$T/sockwatch.conf" >>"$SWD_LOG" 2>&1
SWD_PID=$!
reading() {
	swc "$VNS" status --json 2>/dev/null | jq -e '.authlog.file ==
	    "journal" and .authlog.open' >/dev/null
}
wait_for 5 reading || fail "sockwatchd is not reading the journal"

events() {
	swc "$VNS" status --json | jq .authlog.events
}

# Entries that only say they are sshd's.
for i in 1 2 3 4; do
	in_mnt logger -t sshd "Failed password for root from $ATK4 port 2$i ssh2"
done
in_mnt /usr/bin/python3 -c 'import ctypes, syslog
ctypes.CDLL(None).prctl(15, b"sshd", 0, 0, 0)
syslog.openlog("sshd")
for i in range(4):
    syslog.syslog("Failed password for root from '"$ATK4"' port 3%d ssh2" % i)'
wait_for 3 sh -c "nsenter -t $MNT -m -n journalctl -q -o cat |
    grep -c 'port 3[0-3] ssh2' | grep -qx 4" || fail "the fakes are not in \
the journal"
sleep 1
[ "$(events)" -eq 0 ] || fail "$(events) fake entries were read as sshd's"
in_set "$VNS" ban4 "$ATK4" && fail "fake entries banned $ATK4"
echo "ok: logger -t sshd and a process named sshd are not sshd to us"

for i in $(seq 1 300); do
	echo "wrong-$i-$RANDOM"
done >"$T/words"
t0=$(now_ms)
(cd "$T" && exec timeout 45 ip netns exec "$ANS" hydra -I -t 4 -l "$U" \
    -P "$T/words" "ssh://$VIC4" >"$T/hydra.out" 2>&1) &
HYDRA=$!
wait_for 45 in_set "$VNS" ban4 "$ATK4" || fail "not banned: \
$(journal_sshd | grep -c 'Failed password for') guesses; \
$(swc "$VNS" status --json | jq -c .authlog)"
t1=$(now_ms)
sleep 3
kill "$HYDRA" 2>/dev/null || true
n=$(journal_sshd | grep -c "Failed password for $U from $ATK4" || true)
swc "$VNS" alerts --json --kind bruteforce --peer "$ATK4" >"$T/bf.json"
jq -e '.[0].evidence | .signal == "log" and .log == "journal"' \
    "$T/bf.json" >/dev/null || fail "alert: $(jq -c '.[0]' "$T/bf.json")"
echo "hydra -t 4: banned after $((t1 - t0)) ms, $n guesses reached sshd"
[ "$n" -le "$MAX_GUESSES" ] || fail "$n guesses, want at most $MAX_GUESSES; \
alerts: $(jq -c '[.[] | [.time, .evidence.attempts]]' "$T/bf.json"); \
$(in_mnt journalctl -q -o short-precise _COMM=sshd | grep "$ATK4 port")"
pid_gone "$SSHD" && fail "sshd died"
pid_gone "$SWD_PID" && fail "sockwatchd died"
echo "all checks passed"
