# Shared helpers for the integration tests. Source it, then use ns_add to
# make network namespaces; everything made here is removed on exit, also
# when the test fails. Test addresses: 198.18.0.0/15 and 2001:db8::/32.
set -euo pipefail

SW="${BUILD:?BUILD must name the build directory}/sockwatch"
SW_TMP=$(mktemp -d /tmp/sw-test.XXXXXX)
SW_NETNS=()
SW_PIDS=()

sw_cleanup() {
	local pid ns
	for pid in "${SW_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${SW_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$SW_TMP"
}
trap sw_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# ns_add NAME: a namespace with loopback up; its name is unique per run.
ns_add() {
	local ns="sw-$1-$$"
	ip netns add "$ns"
	SW_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

# ns_link NS1 ADDR1 NS2 ADDR2 [ADDR6_1 ADDR6_2]: a veth pair between two
# namespaces with the given /24 (and /64) addresses.
ns_link() {
	local a=$1 aa=$2 b=$3 ba=$4 a6=${5:-} b6=${6:-}
	local la="v$$a${#SW_NETNS[@]}" lb="v$$b${#SW_NETNS[@]}"
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

# bg CMD...: start a background process and remember it for cleanup.
bg() {
	"$@" &
	SW_PIDS+=("$!")
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
