# shellcheck shell=bash disable=SC2034
# Helpers for the traffic-detector tests (test_traffic_*.sh). Source it
# after lib.sh and daemon.sh.
#
# The network: a victim namespace (sockwatchd runs there) with two veth
# pairs, one to an attacker and one to a benign client:
#
#   attacker  198.18.0.2/24, 2001:db8::2/64  <->  198.18.0.1, 2001:db8::1
#   benign    198.18.1.2/24                  <->  198.18.1.1    (victim)
#
# The portscan window is 2 s instead of the shipped 10 s, so that scans a
# few seconds apart each make their own alert (a detector raises one
# alert per peer per window and counts the crossings in between).

ATK4=198.18.0.2
ATK6=2001:db8::2
VIC4=198.18.0.1
VIC6=2001:db8::1
BEN4=198.18.1.2
VICB4=198.18.1.1
TR_WINDOW_MS=2000

# tr_net: make the three namespaces and links; sets VNS, ANS, BNS and
# VIF (the victim's end of the attacker link).
tr_net() {
	VNS=$(ns_add vic)
	ANS=$(ns_add atk)
	BNS=$(ns_add ben)
	ns_link "$VNS" "$VIC4" "$ANS" "$ATK4" "$VIC6" "$ATK6"
	ns_link "$VNS" "$VICB4" "$BNS" "$BEN4"
	VIF=$(ns_ifname "$VNS")
	# The victim answers every UDP probe to a closed port at once, so
	# that nmap -sU takes a second instead of a minute (the kernel's
	# default is one ICMP error per second per peer, after a burst).
	ip netns exec "$VNS" sysctl -qw net.ipv4.icmp_ratelimit=0 \
	    net.ipv6.icmp.ratelimit=0
}

# tr_conf FILE ALLOW [WINDOW]: sw_conf for the victim: capture on every
# interface, [listen] allow = ALLOW, the portscan window WINDOW (default
# TR_WINDOW_MS; "default" leaves the shipped one).
tr_conf() {
	local file=$1 allow=$2 w=${3:-$TR_WINDOW_MS}
	sw_conf "$file" "$allow" "interfaces = any"
	if [ "$w" != default ]; then
		printf '\n[portscan]\nwindow = %sms\n' "$w" >>"$file"
	fi
}

# now_ms: the wall clock in milliseconds (what the packets' time stamps,
# and so the detectors, use).
now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

# tr_quiet END_MS: sleep until everything a peer did before END_MS has
# left the portscan window: the detector counts in generations of one
# window (time / window) and looks at the current one and the one
# before, so that is the start of the second generation after END_MS's.
tr_quiet() {
	local target now
	target=$(((${1} / TR_WINDOW_MS + 2) * TR_WINDOW_MS + 50))
	now=$(now_ms)
	[ "$now" -lt "$target" ] || return 0
	sleep "$(awk -v d=$((target - now)) 'BEGIN { printf "%.3f", d / 1000 }')"
}

# traffic_alerts FILE: the (kind, peer, scan) of every alert in the
# alerts array in FILE other than listener alerts, sorted, as JSON.
traffic_alerts() {
	jq -c '[.[] | select(.kind != "listener") |
	    [.kind, .peer, .evidence.scan]] | sort' "$1"
}

# n_alerts NS [ARGS...]: how many alerts `sockwatch alerts --json ARGS`
# lists.
n_alerts() {
	local ns=$1
	shift
	swc "$ns" alerts --json "$@" | jq length
}

# alerts_ge NS N [ARGS...]: `sockwatch alerts --json ARGS` lists at
# least N alerts (for wait_for).
alerts_ge() {
	local ns=$1 n=$2
	shift 2
	[ "$(n_alerts "$ns" "$@")" -ge "$n" ]
}

# has_tools TOOL...: all are installed; else say which is not (the
# caller skips).
has_tools() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			echo "skip: $t is not installed"
			return 1
		fi
	done
}

# elems NS SET: the elements of SET in table inet sockwatch of NS, one a
# line (a prefix as ADDR/LEN).
elems() {
	ip netns exec "$1" nft -j list set inet sockwatch "$2" | jq -r \
	    '.nftables[].set? | select(. != null) | .elem[]? |
	    if type == "object" and has("elem") then .elem.val else . end |
	    if type == "object" then "\(.prefix.addr)/\(.prefix.len)"
	    else . end'
}

# expires_of NS SET ADDR: the element's time left in seconds.
expires_of() {
	ip netns exec "$1" nft -j list set inet sockwatch "$2" | jq -r \
	    --arg a "$3" '.nftables[].set? | select(. != null) | .elem[]? |
	    select(type == "object" and has("elem") and .elem.val == $a) |
	    .elem.expires'
}

# in_set NS SET ELEM: ELEM is in SET. (grep reads everything: with
# pipefail, grep -q could end the pipeline with SIGPIPE upstream.)
in_set() {
	elems "$1" "$2" | grep -x -- "$3" >/dev/null
}

# A real sshd in the victim namespace, started by hand (services do not
# start by themselves here): its own host key, config, pid file and log
# ($SW_TMP/sshd.log), on $VIC4 port 22. sshd's privilege separation
# directory is made only if missing, and then removed on exit.
SSHD_PRIVSEP=/run/sshd
SSHD_MADE_PRIVSEP=
SSHD_PID=

# sshd_exit: the EXIT trap of a test that runs sshd: sshd's log on
# failure, the privsep directory, then swd_exit (which reads $?).
sshd_exit() {
	local rc=$?
	set +e
	if [ "$rc" -ne 0 ] && [ -s "$SW_TMP/sshd.log" ]; then
		echo "--- sshd log (last 20 lines):" >&2
		tail -n 20 "$SW_TMP/sshd.log" >&2
	fi
	[ -n "$SSHD_MADE_PRIVSEP" ] && rmdir "$SSHD_PRIVSEP" 2>/dev/null
	(exit "$rc")
	swd_exit
}

# sshd_start LINE...: start sshd with the common settings and the
# config LINEs (authentication, log level, ...); sets SSHD_PID and
# returns once sshd listens (at most 10 s).
sshd_start() {
	local d="$SW_TMP/ssh"
	if [ ! -d "$SSHD_PRIVSEP" ]; then
		mkdir -m 0755 "$SSHD_PRIVSEP"
		SSHD_MADE_PRIVSEP=1
	fi
	trap sshd_exit EXIT
	mkdir -m 0700 "$d"
	ssh-keygen -q -t ed25519 -N '' -C sockwatch-test -f "$d/host_ed25519"
	{
		echo "Port 22"
		echo "ListenAddress $VIC4"
		echo "HostKey $d/host_ed25519"
		echo "PidFile $d/sshd.pid"
		printf '%s\n' "$@"
	} >"$d/sshd_config"
	/usr/sbin/sshd -t -f "$d/sshd_config" 2>"$d/sshd-t.err" ||
	    fail "sshd -t: $(cat "$d/sshd-t.err")"
	: >"$SW_TMP/sshd.log"
	bg ip netns exec "$VNS" /usr/sbin/sshd -D -f "$d/sshd_config" \
	    -E "$SW_TMP/sshd.log"
	SSHD_PID=$!
	wait_for 10 grep -q "Server listening on $VIC4 port 22" \
	    "$SW_TMP/sshd.log" || fail "sshd did not start"
	pid_gone "$SSHD_PID" && fail "sshd exited"
	return 0
}
