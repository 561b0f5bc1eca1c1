#!/usr/bin/env bash
# Benchmark: password guessers against Debian's sshd, and how many guesses
# reach sshd before each of four defenders bans the guesser
# (docs/benchmarks.md section 8, issue 11). The defenders:
#   sockwatch (log)      sockwatchd, [bruteforce] action = block, log = the
#                        sshd log: all three signals
#   sockwatch (packets)  the same without log: connections and attempts
#   fail2ban             fail2ban 1.0.2, the sshd jail at Debian's defaults
#                        (maxretry 5, findtime 10m, bantime 10m, backend
#                        auto), banaction nftables-multiport
#   sshguard             sshguard 2.4.2 at its defaults (threshold 30, 10
#                        points an attack), backend sshg-fw-nft-sets
# each inside the victim's network namespace (tests/integration/traffic.sh:
# victim 198.18.0.1, attacker 198.18.0.2), so their rules go to that
# namespace's ruleset only, each reading the sshd -E file. sshd is
# Debian's as shipped (PAM, MaxAuthTries 6): ours are only ListenAddress,
# HostKey and PidFile.
#
# The guessers, each with its defaults but the task count, 300 wrong
# passwords for one existing user: hydra -I -t 1, -t 4, -t 16 (hydra's
# default), medusa -t 4, ncrack -T5. Each (defender, guesser) pair gets a
# fresh defender and at most GUESSERS_SECS. Measured:
#   guesses  "Failed password" lines sshd logged for the attacker from the
#            guesser's start until 3 s after the ban (what was in flight
#            when the ban came reached sshd, and is counted);
#   time     from the guesser's start to the "add element" with the
#            attacker's address that `nft monitor` in the victim's
#            namespace prints (each line stamped as it is read).
# Between pairs: the guesser is killed, the defender stopped (its rules
# go), every TCP socket between the two ends destroyed (ss -K) and sshd's
# children waited for, so that no connection, and no log line, of one
# pair reaches the next.
#
# Needs: root, hydra, medusa, ncrack, Debian's sshd, BUILD's sockwatchd
# and sockwatch; fail2ban and sshguard for their columns (apt-get
# install fail2ban sshguard: their services must not run). Creates a system user swtest-guess for
# the run (deleted on exit).
#
# Usage: bash bench/guessers.sh [BUILD]   (default build)
# Environment: GUESSERS_RUNS (1; the docs' figures use 2), GUESSERS_SECS
# (45, the bound on each guesser), GUESSERS_DEFENDERS (all: "swlog swpkt
# fail2ban sshguard"), GUESSERS_TOOLS (all: "hydra-t1 hydra-t4 hydra-t16
# medusa-t4 ncrack-T5"); "none" as a defender measures the guessers'
# own pace, unbanned for GUESSERS_SECS.
# Prints markdown on stdout; progress on stderr.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$top/build}")
RUNS=${GUESSERS_RUNS:-1}
SECS=${GUESSERS_SECS:-45}
DEFENDERS=${GUESSERS_DEFENDERS:-swlog swpkt fail2ban sshguard}
TOOLS_RUN=${GUESSERS_TOOLS:-hydra-t1 hydra-t4 hydra-t16 medusa-t4 ncrack-T5}
SG=/usr/libexec/sshguard

die() { echo "guessers.sh: $*" >&2; exit 1; }
note() { echo "guessers.sh: $(date +%T) $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, users)"
for f in "$BUILD/sockwatchd" "$BUILD/sockwatch"; do
	[ -x "$f" ] || die "$f: not built"
done
for t in hydra medusa ncrack nft jq ss chpasswd stdbuf setsid timeout; do
	command -v "$t" >/dev/null || die "$t: not installed"
done
[ -x /usr/sbin/sshd ] || die "no Debian sshd"
[ -r /etc/ssh/sshd_config ] || die "no /etc/ssh/sshd_config"
# The anchors are not installed by scripts/install-deps.sh (their
# packages would be on every test machine for this alone): without them
# their columns are left out, and said so.
have=
for d in $DEFENDERS; do
	case $d in
	fail2ban)
		if ! command -v fail2ban-server >/dev/null ||
		    [ ! -r /etc/fail2ban/action.d/nftables-multiport.conf ]; then
			note "fail2ban left out: apt-get install fail2ban"
			continue
		fi ;;
	sshguard)
		if ! command -v sshguard >/dev/null ||
		    [ ! -x "$SG/sshg-fw-nft-sets" ]; then
			note "sshguard left out: apt-get install sshguard"
			continue
		fi ;;
	esac
	have="$have $d"
done
DEFENDERS=$have

export BUILD
# shellcheck source=../tests/integration/lib.sh disable=SC1091
. "$top/tests/integration/lib.sh"
# shellcheck source=../tests/integration/daemon.sh disable=SC1091
. "$top/tests/integration/daemon.sh"
# shellcheck source=../tests/integration/traffic.sh disable=SC1091
. "$top/tests/integration/traffic.sh"

T=$SW_TMP
U=swtest-guess
LOG=$T/sshd.log
F2B=$T/f2b
F2B_PID=
SG_PID=

# bench_exit: stop what this script started beyond the helpers' own
# (sshguard runs in a session of its own), then their EXIT trap.
bench_exit() {
	local rc=$?
	set +e
	[ -n "$SG_PID" ] && kill -TERM -- "-$SG_PID" 2>/dev/null
	[ -n "$F2B_PID" ] && kill -TERM "$F2B_PID" 2>/dev/null
	(exit "$rc")
	sshd_exit
}

# ---- the network, the account, sshd, nft monitor ---------------------------
tr_net
sw_user_add "$U"
echo "$U:Right-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" | chpasswd
sshd_start "Include /etc/ssh/sshd_config"
trap bench_exit EXIT
for i in $(seq 1 300); do
	echo "wrong-$i-$RANDOM"
done >"$T/words"

# Every nft change in the victim's namespace, stamped when read.
bg ip netns exec "$VNS" stdbuf -oL nft monitor > >(while IFS= read -r l; do
    echo "$EPOCHREALTIME $l"; done >"$T/monitor") 2>/dev/null
sleep 0.5

# ---- the defenders: NAME_start, NAME_stop --------------------------------------
sw_start_with() {	# sw_start_with LOG|"": sockwatchd, [bruteforce] block
	local n
	rm -f "$T/sockwatch.db" "$T/alerts.jsonl"
	ip netns exec "$VNS" nft delete table inet sockwatch 2>/dev/null || true
	tr_conf "$T/sockwatch.conf" "tcp/22" default
	printf '\n[bruteforce]\naction = block\n' >>"$T/sockwatch.conf"
	[ -n "$1" ] && echo "log = $1" >>"$T/sockwatch.conf"
	n=$(grep -c "following $LOG" "$SWD_LOG" || true)
	swd_start "$VNS" "$T/sockwatch.conf"
	if [ -n "$1" ]; then
		wait_for 5 sh -c "[ \$(grep -c 'following $LOG' '$SWD_LOG') -gt $n ]" ||
		    fail "sockwatchd does not follow $LOG"
	fi
}
sw_stop() {
	swd_stop
	ip netns exec "$VNS" nft delete table inet sockwatch 2>/dev/null || true
}
swlog_start() { sw_start_with "$LOG"; }
swlog_stop() { sw_stop; }
swpkt_start() { sw_start_with ""; }
swpkt_stop() { sw_stop; }

# fail2ban: Debian's configuration copied, its jails dropped but sshd; ours
# put the socket, pid file, database and log under $F2B and name the
# sshd log. Two settings the -E file needs: sshd -E writes bare messages
# (no time stamp, no "sshd[pid]:"), so the jail takes the time of reading
# (datepattern = {NONE}), and the filter's optional syslog prefix is
# emptied (filter.d/sshd.local): otherwise its optional host name eats
# "Failed " and no line matches (fail2ban-regex: 0 matched). "tail":
# start at the end of the file, as the other defenders do.
f2b_conf() {
	rm -rf "$F2B"
	mkdir -p "$F2B"
	cp -r /etc/fail2ban/. "$F2B/conf"
	rm -f "$F2B"/conf/jail.d/* "$F2B"/conf/fail2ban.d/* "$F2B"/conf/*.local
	cat >"$F2B/conf/fail2ban.local" <<EOF
[Definition]
logtarget = $F2B/fail2ban.log
socket = $F2B/fail2ban.sock
pidfile = $F2B/fail2ban.pid
dbfile = $F2B/fail2ban.sqlite3
EOF
	cat >"$F2B/conf/jail.local" <<EOF
[DEFAULT]
banaction = nftables-multiport
banaction_allports = nftables-allports

[sshd]
enabled = true
logpath = $LOG tail
datepattern = {NONE}
EOF
	printf '[Definition]\n__prefix_line =\n' >"$F2B/conf/filter.d/sshd.local"
}
f2bc() {
	fail2ban-client -c "$F2B/conf" -s "$F2B/fail2ban.sock" "$@"
}
fail2ban_start() {
	f2b_conf
	bg ip netns exec "$VNS" fail2ban-server -f -x -c "$F2B/conf" \
	    -s "$F2B/fail2ban.sock" -p "$F2B/fail2ban.pid" >"$F2B/server.out" 2>&1
	F2B_PID=$!
	wait_for 20 sh -c "fail2ban-client -c '$F2B/conf' -s '$F2B/fail2ban.sock' \
	    status sshd | grep -q '$LOG'" ||
	    fail "fail2ban did not start: $(tail -5 "$F2B/server.out" "$F2B/fail2ban.log" 2>&1)"
}
fail2ban_stop() {
	kill -TERM "$F2B_PID"
	reap "$F2B_PID" 20
	F2B_PID=
	ip netns exec "$VNS" nft delete table inet f2b-table 2>/dev/null || true
}

# sshguard: the packaged wrapper (it reads /etc/sshguard/sshguard.conf:
# BACKEND sshg-fw-nft-sets, THRESHOLD 30, BLOCK_TIME 120, DETECTION_TIME
# 1800), given the file as an argument so that it tails that alone (its
# journalctl LOGREADER is not started). Its EXIT trap is `kill 0`: it runs
# in a session of its own, which is how it is stopped too.
sshguard_start() {
	bg setsid ip netns exec "$VNS" sshguard -i "$T/sshguard.pid" "$LOG" \
	    >"$T/sshguard.out" 2>&1
	SG_PID=$!
	wait_for 10 ip netns exec "$VNS" nft list table ip sshguard ||
	    fail "sshguard did not start: $(cat "$T/sshguard.out")"
	wait_for 5 pgrep -s "$SG_PID" -x tail || fail "sshguard: no tail"
	sleep 0.3	# tail -F -n 0 opening the file
}
sshguard_stop() {
	kill -TERM -- "-$SG_PID" 2>/dev/null || true
	reap "$SG_PID" 10
	wait_for 5 sh -c "! pgrep -s $SG_PID >/dev/null" ||
	    note "sshguard: processes left in session $SG_PID"
	SG_PID=
	rm -f "$T/sshguard.pid"
	ip netns exec "$VNS" nft delete table ip sshguard 2>/dev/null || true
	ip netns exec "$VNS" nft delete table ip6 sshguard 2>/dev/null || true
}

# none: no defender, for the guessers' own pace (GUESSERS_DEFENDERS=none).
none_start() { :; }
none_stop() { :; }

# ---- the guessers ----------------------------------------------------------------
tool_cmd() {
	case $1 in
	hydra-t1) echo hydra -I -t 1 -l "$U" -P "$T/words" "ssh://$VIC4" ;;
	hydra-t4) echo hydra -I -t 4 -l "$U" -P "$T/words" "ssh://$VIC4" ;;
	hydra-t16) echo hydra -I -t 16 -l "$U" -P "$T/words" "ssh://$VIC4" ;;
	medusa-t4) echo medusa -h "$VIC4" -u "$U" -P "$T/words" -M ssh -t 4 ;;
	ncrack-T5) echo ncrack -T5 --user "$U" -P "$T/words" "ssh://$VIC4" ;;
	*) die "unknown guesser $1" ;;
	esac
}
tool_label() {
	case $1 in
	hydra-t1) echo "hydra -I -t 1" ;;
	hydra-t4) echo "hydra -I -t 4" ;;
	hydra-t16) echo "hydra -I -t 16 (default)" ;;
	medusa-t4) echo "medusa -t 4" ;;
	ncrack-T5) echo "ncrack -T5" ;;
	esac
}
def_label() {
	case $1 in
	swlog) echo "sockwatch (log)" ;;
	swpkt) echo "sockwatch (packets only)" ;;
	fail2ban) echo "fail2ban 1.0.2" ;;
	sshguard) echo "sshguard 2.4.2" ;;
	none) echo "no defender" ;;
	*) die "unknown defender $1" ;;
	esac
}

failed_since() {	# failed_since OFFSET: Failed password lines for ATK4
	tail -c "+$(($1 + 1))" "$LOG" |
	    grep -c "Failed password .* from $ATK4 port " || true
}
ban_stamp() {	# ban_stamp LINE: the stamp of the first ban of ATK4 after LINE
	tail -n "+$(($1 + 1))" "$T/monitor" | grep -F "add element" |
	    grep -F " $ATK4" | head -1 | cut -d' ' -f1 || true
}
# clear_conns: nothing of the last pair left: every socket between the
# two ends destroyed, sshd's children gone (those still there after 10 s
# are ended: they are ours).
clear_conns() {
	local kids
	ip netns exec "$VNS" ss -K -tn dst "$ATK4" >/dev/null 2>&1 || true
	ip netns exec "$ANS" ss -K -tn dst "$VIC4" >/dev/null 2>&1 || true
	if ! wait_for 10 sh -c "! pgrep -P $SSHD_PID >/dev/null"; then
		kids=$(pgrep -P "$SSHD_PID" | tr '\n' ' ') || true
		note "ending sshd children left: $kids"
		# shellcheck disable=SC2086
		[ -n "$kids" ] && kill $kids 2>/dev/null
		sleep 1
	fi
}

# ncrack_forget: ncrack, killed, saves its session in ~/.ncrack (the
# home of its user, whatever HOME says); remove ours (they name $T).
ncrack_forget() {
	local d f
	d=$(getent passwd "$(id -u)" | cut -d: -f6)/.ncrack
	[ -d "$d" ] || return 0
	for f in "$d"/restore.*; do
		[ -f "$f" ] && grep -qaF "$T/words" "$f" && rm -f "$f"
	done
	return 0
}

# pair DEF TOOL RUN: one measurement; appends "DEF TOOL RUN guesses secs
# signal" to $T/results (secs "-" when not banned).
pair() {
	local def=$1 tool=$2 run=$3 off mon t0 tb gpid n secs sig=- end i
	"${def}_start"
	off=$(stat -c %s "$LOG")
	mon=$(wc -l <"$T/monitor")
	echo "--- $def $tool $run" >>"$T/tools.out"
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2046
	(cd "$T" && exec timeout "$SECS" ip netns exec "$ANS" \
	    $(tool_cmd "$tool") >>"$T/tools.out" 2>&1) &
	gpid=$!
	# Until the ban, the bound, or 3 s after the guesser gave up.
	end=$((SECONDS + SECS + 1))
	tb=
	while [ "$SECONDS" -le "$end" ]; do
		tb=$(ban_stamp "$mon")
		[ -n "$tb" ] && break
		if pid_gone "$gpid" && [ "$end" -gt $((SECONDS + 3)) ]; then
			end=$((SECONDS + 3))
		fi
		sleep 0.05
	done
	[ -n "$tb" ] && sleep 3
	n=$(failed_since "$off")
	kill "$gpid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_gone "$gpid" && break
		sleep 0.1
	done
	pid_gone "$gpid" || kill -KILL "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	ncrack_forget
	if [ -n "$tb" ]; then
		secs=$(awk -v a="$t0" -v b="$tb" 'BEGIN { printf "%.2f", b - a }')
		# (grep reads everything: grep -q could end nft with SIGPIPE)
		ip netns exec "$VNS" nft list ruleset | grep -F "$ATK4" >/dev/null ||
		    note "$def: banned in nft monitor, not in the ruleset"
	else
		secs=-
	fi
	case $def in
	sw*) sig=$(swc "$VNS" alerts --json --kind bruteforce | jq -r \
	    --arg p "$ATK4" '[.[] | select(.peer == $p)][0].evidence.signal //
	    "-"') || sig="?" ;;
	esac
	"${def}_stop"
	clear_conns
	echo "$def $tool $run $n $secs $sig" >>"$T/results"
	note "run $run $def $tool: $n guesses, ban after ${secs} s (signal $sig)"
	if [ "$secs" = - ]; then
		note "not banned; the guesser said: $(tail -2 "$T/tools.out" | tr '\n' ' ')"
	fi
	sleep 1
}

: >"$T/results"
for ((r = 1; r <= RUNS; r++)); do
	for def in $DEFENDERS; do
		def_label "$def" >/dev/null
		for tool in $TOOLS_RUN; do
			pair "$def" "$tool" "$r"
		done
	done
done

# ---- the report ---------------------------------------------------------------------
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
	    else if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cell() {	# cell DEF TOOL: "guesses / secs s", medians; "no ban" if any run had none
	local g s nb
	g=$(awk -v d="$1" -v t="$2" '$1 == d && $2 == t { print $4 }' \
	    "$T/results" | median)
	nb=$(awk -v d="$1" -v t="$2" '$1 == d && $2 == t && $5 == "-"' \
	    "$T/results" | wc -l)
	s=$(awk -v d="$1" -v t="$2" '$1 == d && $2 == t && $5 != "-" { print $5 }' \
	    "$T/results" | median | awk '{ printf "%.2f", $1 }')
	if [ "$nb" -gt 0 ]; then
		echo "$g / no ban in $SECS s ($nb of $RUNS)"
	else
		echo "$g / $s s"
	fi
}
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat <<EOF
- Command: \`bash bench/guessers.sh $BUILD\` (GUESSERS_RUNS=$RUNS, GUESSERS_SECS=$SECS)
- Machine: $(nproc) CPUs, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); $(/usr/sbin/sshd -V 2>&1 | head -1); $(hydra -h 2>&1 | head -1 | cut -d' ' -f1-2), $(medusa -V 2>&1 | head -1 | cut -d' ' -f1-2), $(ncrack -V 2>&1 | grep -o 'Ncrack version [0-9.A-Za-z]*'); fail2ban $(fail2ban-server -V 2>&1), sshguard $(sshguard -v 2>&1 | awk '{ print $2 }'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); checkout $rev

Guesses that reached sshd ("Failed password" lines, until 3 s after the ban) / seconds from the guesser's start to the ban; median of $RUNS run(s):

EOF
hdr="| guesser |"
sep="|:--|"
for def in $DEFENDERS; do
	hdr="$hdr $(def_label "$def") |"
	sep="$sep--:|"
done
echo "$hdr"
echo "$sep"
for tool in $TOOLS_RUN; do
	row="| \`$(tool_label "$tool")\` |"
	for def in $DEFENDERS; do
		row="$row $(cell "$def" "$tool") |"
	done
	echo "$row"
done
echo
echo "Every run (guesses, seconds to the ban, the sockwatch signal that banned):"
echo
echo "| run | defender | guesser | guesses | s to ban | signal |"
echo "|--:|:--|:--|--:|--:|:--|"
while read -r def tool run n secs sig; do
	echo "| $run | $(def_label "$def") | $(tool_label "$tool") | $n | $secs | $sig |"
done <"$T/results"
exit 0
