#!/usr/bin/env bash
# Install every Debian package that the build, the tests and the benchmarks
# need. Quick and quiet when everything is already there.
set -euo pipefail

pkgs=(
	# build
	gcc make pkg-config
	libnl-3-dev libjansson-dev libinih-dev libsqlite3-dev libpcap-dev libcap-ng-dev
	libmicrohttpd-dev libsystemd-dev libnftnl-dev libmnl-dev libseccomp-dev
	libncurses-dev libcurl4-openssl-dev
	# unit tests and fuzzing
	libcmocka-dev clang libclang-rt-14-dev
	# the BPF iterators (built when the kernel has BTF): libbpf's headers,
	# bpftool, and clang above
	libbpf-dev bpftool
	# integration tests and benchmarks
	iproute2 python3 procps hyperfine curl jq sqlite3 prometheus nmap tcpdump
	openssh-server sshpass nftables hydra medusa ncrack hping3 iperf3 expect
	systemd logrotate faketime bash-completion python3-pyte crowdsec
	python3-paramiko
	# the Debian package: make deb, and its Depends that test_deb's
	# dpkg -i needs besides nftables
	debhelper lintian adduser
)

# sockwatchd's unprivileged processes run as this system user ([daemon]
# user); make install creates it too.
ensure_user() {
	getent passwd sockwatch >/dev/null && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: no user sockwatch; run as root to create it" >&2
		return 1
	fi
	echo "install-deps: creating the system user sockwatch"
	getent group sockwatch >/dev/null || groupadd --system sockwatch
	useradd --system --gid sockwatch --home-dir /nonexistent \
	    --no-create-home --shell /usr/sbin/nologin sockwatch
}

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	ensure_user
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
# crowdsec's postinst registers with the central API and fails offline
# unless online API credentials already exist; a non-empty placeholder is
# the package's documented way to stay local (the tests run only a LAPI).
if [[ " ${missing[*]} " == *" crowdsec "* ]]; then
	cred=/etc/crowdsec/online_api_credentials.yaml
	if [ ! -s "$cred" ]; then
		mkdir -p /etc/crowdsec
		echo '# offline: sockwatch tests run a local API only' >"$cred"
	fi
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ensure_user
