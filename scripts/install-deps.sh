#!/usr/bin/env bash
# Install every Debian package that the build, the tests and the benchmarks
# need. Quick and quiet when everything is already there.
set -euo pipefail

pkgs=(
	# build
	gcc make pkg-config
	libnl-3-dev libjansson-dev libinih-dev libsqlite3-dev libpcap-dev libcap-ng-dev
	libmicrohttpd-dev libsystemd-dev libnftnl-dev libmnl-dev
	# unit tests and fuzzing
	libcmocka-dev clang libclang-rt-14-dev
	# integration tests and benchmarks
	iproute2 python3 procps hyperfine curl jq sqlite3 prometheus nmap tcpdump
	openssh-server sshpass nftables
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
