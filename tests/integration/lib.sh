# Shared helpers for the integration tests. Source it, then use ns_add to
# make network namespaces; everything made here is removed on exit, also
# when the test fails. Test addresses: 198.18.0.0/15 and 2001:db8::/32.
set -euo pipefail

SW="${BUILD:?BUILD must name the build directory}/sockwatch"
SW_TMP=$(mktemp -d /tmp/sw-test.XXXXXX)
# A daemon that happens to run on this host must not answer for the
# namespaces these tests make: point the CLI at a socket nobody serves.
# Tests that start sockwatchd set SOCKWATCH_SOCKET to its socket.
export SOCKWATCH_SOCKET="$SW_TMP/no-daemon.sock"
SW_NETNS=()
SW_PIDS=()

sw_cleanup() {
	local pid ns i alive
	# Clean up as much as possible, whatever fails, and do not let a
	# signal (the traps below) cut it short.
	trap '' INT TERM
	set +eu
	# Also what was registered in a subshell, e.g. ns=$(ns_add x).
	if [ -f "$SW_TMP/pids" ]; then
		mapfile -t -O "${#SW_PIDS[@]}" SW_PIDS <"$SW_TMP/pids"
	fi
	if [ -f "$SW_TMP/netns" ]; then
		mapfile -t -O "${#SW_NETNS[@]}" SW_NETNS <"$SW_TMP/netns"
	fi
	for pid in "${SW_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	# Processes that are not our children (sw_own): give them 2 s.
	for ((i = 0; i < 20; i++)); do
		alive=0
		for pid in "${SW_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for ns in "${SW_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	# Accounts made by sw_user_add and sw_group_add: users first, since
	# a group cannot go while it is some user's primary group.
	if [ -f "$SW_TMP/users" ]; then
		while read -r u; do
			userdel "$u" 2>/dev/null || true
		done <"$SW_TMP/users"
	fi
	if [ -f "$SW_TMP/groups" ]; then
		while read -r g; do
			groupdel "$g" 2>/dev/null || true
		done <"$SW_TMP/groups"
	fi
	# ncrack, when stopped, saves a restore file in the user's home
	# (~/.ncrack, whatever HOME says): ours name our temp dir.
	local home
	home=$(getent passwd "$(id -u)" | cut -d: -f6)
	grep -ls -- "$SW_TMP/" "$home"/.ncrack/restore.* 2>/dev/null |
	    xargs -r rm -f
	# What a test mounted in its temp dir (a tiny tmpfs), innermost
	# first.
	awk -v d="$SW_TMP/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	    sort -r | xargs -r -n 1 umount -l
	rm -rf "$SW_TMP"
}
trap sw_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# ns_add NAME: a namespace with loopback up; its name is unique per run.
# Prints the name, so ns=$(ns_add x) works: the name is also written to a
# file, because a subshell's SW_NETNS is lost.
ns_add() {
	local ns="sw-$1-$$"
	ip netns add "$ns"
	SW_NETNS+=("$ns")
	echo "$ns" >>"$SW_TMP/netns"
	ip -n "$ns" link set lo up
	echo "$ns"
}

# ns_link NS1 ADDR1 NS2 ADDR2 [ADDR6_1 ADDR6_2]: a veth pair between two
# namespaces with the given /24 (and /64) addresses.
# The ends are named v<pid>a<n> (in NS1) and v<pid>b<n>; ns_ifname finds
# them.
ns_link() {
	local a=$1 aa=$2 b=$3 ba=$4 a6=${5:-} b6=${6:-} n
	n=$(cat "$SW_TMP/links" 2>/dev/null || echo 0)
	echo $((n + 1)) >"$SW_TMP/links"
	local la="v$$a$n" lb="v$$b$n"
	la=${la:0:15}
	lb=${lb:0:15}
	ip link add "$la" netns "$a" type veth peer name "$lb" netns "$b"
	ip -n "$a" addr add "$aa/24" dev "$la"
	ip -n "$b" addr add "$ba/24" dev "$lb"
	if [ -n "$a6" ]; then
		ip -n "$a" addr add "$a6/64" dev "$la" nodad
		ip -n "$b" addr add "$b6/64" dev "$lb" nodad
	fi
	ip -n "$a" link set "$la" up
	ip -n "$b" link set "$lb" up
}

# ns_ifname NS: the name of the (first) veth end in NS.
ns_ifname() {
	ip -n "$1" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2);
	    print $2; exit }'
}

# bg CMD...: start a background process and remember it for cleanup.
bg() {
	"$@" &
	SW_PIDS+=("$!")
}

# sw_own PID: kill PID on exit too (a process a test process forked).
sw_own() {
	echo "$1" >>"$SW_TMP/pids"
}

# wait_file SECONDS FILE PID: wait until FILE is not empty; give up early
# if process PID has gone. Fails if the file did not appear.
wait_file() {
	local limit=$1 file=$2 pid=$3 i
	for ((i = 0; i < limit * 10; i++)); do
		[ -s "$file" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$file" ]
}

# wait_for SECONDS CMD...: retry CMD until it succeeds or time runs out.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# sw_group_add NAME: a system group, deleted on exit. NAME must start
# with swtest- (so that cleanup can never remove a real group).
sw_group_add() {
	case $1 in swtest-*) ;; *) fail "sw_group_add: $1: not swtest-*" ;; esac
	getent group "$1" >/dev/null && fail "group $1 exists already"
	echo "$1" >>"$SW_TMP/groups"
	groupadd --system "$1"
}

# py_with MODULE: print the python3 that can import MODULE (Debian's
# python3-MODULE; a python3 first in PATH may be another one); 1 if none.
py_with() {
	local p
	for p in python3 /usr/bin/python3; do
		if "$p" -c "import $1" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# sw_user_add NAME [GROUP]: a system user without a home or a login shell,
# in GROUP as a supplementary group if given; deleted on exit. NAME must
# start with swtest-.
sw_user_add() {
	case $1 in swtest-*) ;; *) fail "sw_user_add: $1: not swtest-*" ;; esac
	getent passwd "$1" >/dev/null && fail "user $1 exists already"
	echo "$1" >>"$SW_TMP/users"
	useradd --system --no-create-home --no-user-group --gid nogroup \
	    --shell /usr/sbin/nologin ${2:+--groups "$2"} "$1"
}
