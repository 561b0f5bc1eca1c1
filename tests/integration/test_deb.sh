#!/usr/bin/env bash
# The Debian package: `make deb` builds it and lintian finds no error; it
# installs with dpkg -i into this host's real file system: the files make
# install installs (under /usr), the conffiles, the unit enabled but not
# started, the user sockwatch kept as it was, a configuration that checks,
# a logrotate file that parses. sockwatchd -f runs from the installed
# paths (in a network namespace) and answers; then dpkg -r deletes its
# nftables table and dpkg -P leaves nothing behind.
#
# sockwatchd never runs on the host, and the package's scripts never run
# in the host's network namespace: remove and purge run in the test's
# namespace (the postrm deletes table inet sockwatch where it runs), so
# the host's rule set is not touched. What a make install or make run
# left in /etc, /var and /run is moved aside and put back at the end.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
T=$SW_TMP
top=$(cd "$here/../.." && pwd)
OUT=$BUILD/deb
WANTS=/etc/systemd/system/multi-user.target.wants/sockwatchd.service
# What the package or its daemon create outside /usr, and what dpkg -P
# must remove.
STATE=(/etc/sockwatch /etc/logrotate.d/sockwatch /var/lib/sockwatch
    /var/log/sockwatch /run/sockwatch "$WANTS")
SAVED=
OURS=
DPID=
NS=

installed() {
	[ -n "$(dpkg-query -W -f='${Status}' sockwatch 2>/dev/null)" ]
}

# dpkg_do [--ns] ARG...: dpkg (with --ns, in_ns dpkg), waiting at most 2
# minutes while another dpkg or apt holds its lock.
dpkg_do() {
	local i rc run=()
	if [ "$1" = --ns ]; then
		run=(in_ns)
		shift
	fi
	for ((i = 0; i < 120; i++)); do
		rc=0
		"${run[@]}" dpkg "$@" >"$T/dpkg.out" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ] && grep -q 'lock' "$T/dpkg.out"; then
			sleep 1
			continue
		fi
		cat "$T/dpkg.out"
		return "$rc"
	done
	cat "$T/dpkg.out"
	return 1
}

# in_ns CMD...: CMD in the test's namespace, or in a new empty one when
# there is none (yet), never in the host's.
in_ns() {
	if [ -n "$NS" ]; then
		ip netns exec "$NS" "$@"
	else
		unshare --net "$@"
	fi
}

# On any exit: stop the daemon, purge the package, put back what was
# moved aside (only if all of it can go back is the copy deleted).
deb_exit() {
	local rc=$? p ok=1
	trap '' INT TERM
	set +eu
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	if [ -n "$OURS" ] && installed; then
		echo "cleanup: purging sockwatch" >&2
		dpkg_do --ns -P sockwatch >&2
	fi
	if [ -n "$SAVED" ]; then
		for p in "${STATE[@]}"; do
			[ -e "$SAVED$p" ] || [ -L "$SAVED$p" ] || continue
			rm -rf "$p"
			mv "$SAVED$p" "$p" || ok=0
		done
		if [ "$ok" -eq 1 ]; then
			rm -rf "$SAVED"
		else
			echo "cleanup: could not restore all of $SAVED" >&2
			rc=1
		fi
	fi
	sw_cleanup
	exit "$rc"
}
trap deb_exit EXIT

# 0. One test_deb at a time on this host (several checkouts may run their
# tests at once): two would move each other's files aside and purge the
# package under each other.
exec {lock}>/run/lock/sockwatch-test-deb
flock -w 600 "$lock" || fail "another test_deb held its lock for 10 min"
# No package sockwatch (the test would remove it), no daemon serving the
# default socket (its directories are moved aside).
installed && fail "a package sockwatch is known to dpkg here" \
    "($(dpkg-query -W -f='${Status}' sockwatch)); dpkg -P sockwatch first" \
    "(and put back what a killed run left in /var/tmp/sw-deb-saved.*)"
if SOCKWATCH_SOCKET=/run/sockwatch/sockwatch.sock \
    "$SW" status >/dev/null 2>&1; then
	fail "a sockwatchd serves /run/sockwatch/sockwatch.sock here"
fi
user_before=$(getent passwd sockwatch || true)
group_before=$(getent group sockwatch || true)
host_table() {
	nft list table inet sockwatch >/dev/null 2>&1 && echo yes || echo no
}
host_before=$(host_table)
SAVED=$(mktemp -d /var/tmp/sw-deb-saved.XXXXXX)
for p in "${STATE[@]}"; do
	[ -e "$p" ] || [ -L "$p" ] || continue
	mkdir -p "$SAVED$(dirname "$p")"
	mv "$p" "$SAVED$p"
	echo "moved aside: $p"
done

# 1. Build, with lintian (make deb fails on a lintian error), in a copy
# of the tree: nothing new in the tree, the developer's build/ kept.
git -C "$top" status --porcelain >"$T/git.before" 2>/dev/null || true
start=$(date +%s)
make -C "$top" --no-print-directory deb BUILD="$BUILD" >"$T/make.out" 2>&1 ||
    fail "make deb: $(tail -n 30 "$T/make.out")"
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
deb=$OUT/sockwatch_${ver}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
[ -f "$deb" ] || fail "make deb made no $deb: $(ls "$OUT")"
grep -E '^[WI]: ' "$T/make.out" || true
echo "ok: make deb: $(basename "$deb") in $(($(date +%s) - start)) s," \
    "no lintian error"
git -C "$top" status --porcelain >"$T/git.after" 2>/dev/null || true
diff -u "$T/git.before" "$T/git.after" >&2 ||
    fail "make deb changed the tree (git status)"
[ -x "$BUILD/sockwatchd" ] || fail "make deb removed $BUILD/sockwatchd"

# 2. Install.
OURS=1
dpkg_do -i "$deb" || fail "dpkg -i $deb failed"
[ "$(dpkg-query -W -f='${Status}' sockwatch)" = "install ok installed" ] ||
    fail "status after dpkg -i: $(dpkg-query -W -f='${Status}' sockwatch)"
echo "ok: dpkg -i"

# The package holds what make install installs for PREFIX=/usr (man
# pages compressed), and nothing else but its documentation and lintian
# overrides.
make -C "$top" --no-print-directory install BUILD="$BUILD" \
    DESTDIR="$T/stage" PREFIX=/usr UNITDIR=/lib/systemd/system \
    >"$T/install.out" 2>&1 || fail "make install: $(cat "$T/install.out")"
(cd "$T/stage" && find . ! -type d | sed -e 's/^\.//' \
    -e 's|^/usr/share/man/.*|&.gz|') | sort >"$T/want"
dpkg -L sockwatch | while read -r f; do
	[ -d "$f" ] || echo "$f"
done | grep -v -e '^/usr/share/doc/sockwatch/' \
    -e '^/usr/share/lintian/overrides/sockwatch$' | sort >"$T/have"
diff -u "$T/want" "$T/have" >&2 ||
    fail "the package's files differ from make install's (- make install)"
while read -r f; do
	[ -e "$f" ] || fail "$f: listed by dpkg -L, not on disk"
done <"$T/have"
for f in /usr/bin/sockwatch /usr/sbin/sockwatchd \
    /usr/share/man/man8/sockwatch.8.gz /usr/share/man/man8/sockwatchd.8.gz \
    /usr/share/man/man5/sockwatch.conf.5.gz \
    /lib/systemd/system/sockwatchd.service /etc/sockwatch/sockwatch.conf \
    /etc/logrotate.d/sockwatch /usr/share/doc/sockwatch/copyright; do
	grep -qx "$f" <(dpkg -L sockwatch) || fail "$f is not in the package"
done
echo "ok: the files: $(wc -l <"$T/have") as make install puts them, and" \
    "the copyright"
grep -qx 'ExecStart=/usr/sbin/sockwatchd -f' \
    /lib/systemd/system/sockwatchd.service ||
    fail "the unit does not start /usr/sbin/sockwatchd"
grep -q '/usr/bin/sockwatch status' /etc/logrotate.d/sockwatch ||
    fail "the logrotate file does not call /usr/bin/sockwatch"
for m in man8/sockwatch.8 man8/sockwatchd.8 man5/sockwatch.conf.5; do
	zcat "/usr/share/man/$m.gz" >"$T/page"
	n=${m#*/}
	grep -qix "\.Dt ${n%.*} ${n##*.}" "$T/page" ||
	    fail "/usr/share/man/$m.gz is not the man page $n"
done
logrotate -d /etc/logrotate.d/sockwatch >"$T/logrotate" 2>&1 ||
    fail "logrotate -d: $(cat "$T/logrotate")"
grep -q '/var/log/sockwatch/alerts.jsonl' "$T/logrotate" ||
    fail "logrotate does not see the alerts file: $(cat "$T/logrotate")"
echo "ok: the unit and logrotate name the installed paths; logrotate -d"

dpkg-query -W -f='${Conffiles}\n' sockwatch >"$T/conffiles"
for f in /etc/sockwatch/sockwatch.conf /etc/logrotate.d/sockwatch; do
	grep -q "^ $f [0-9a-f]\{32\}$" "$T/conffiles" ||
	    fail "$f is not a conffile: $(cat "$T/conffiles")"
done
echo "ok: conffiles: $(awk '{ print $1 }' "$T/conffiles" | tr '\n' ' ')"

# Enabled (what deb-systemd-helper does without systemd running), not
# started: no process runs the installed daemon.
[ "$(readlink "$WANTS")" = /lib/systemd/system/sockwatchd.service ] ||
    fail "the unit is not enabled: $WANTS -> $(readlink "$WANTS")"
for e in /proc/[0-9]*/exe; do
	[ "$(readlink "$e" 2>/dev/null)" = /usr/sbin/sockwatchd ] &&
	    fail "sockwatchd runs after dpkg -i: ${e%/exe}"
done
echo "ok: the unit is enabled, nothing started"

# The user and group: there before (install-deps made them) and kept as
# they were, or made by the postinst as system accounts.
user=$(getent passwd sockwatch) || fail "no user sockwatch after dpkg -i"
getent group sockwatch >/dev/null || fail "no group sockwatch after dpkg -i"
if [ -n "$user_before" ]; then
	[ "$user" = "$user_before" ] ||
	    fail "the user sockwatch changed: $user_before -> $user"
	[ "$(getent group sockwatch)" = "$group_before" ] ||
	    fail "the group sockwatch changed"
	echo "ok: the user sockwatch is kept as it was: $user"
else
	uid=$(id -u sockwatch)
	[ "$uid" -lt 1000 ] || fail "sockwatch is not a system user: $user"
	[ "$(id -gn sockwatch)" = sockwatch ] ||
	    fail "sockwatch's group is $(id -gn sockwatch)"
	echo "ok: the postinst made the system user sockwatch: $user"
fi

# The postinst on a host without the accounts: in a mount namespace whose
# /etc is a copy without them (the host's own stay as they are).
cp -a /etc "$T/etc"
sed -i '/^sockwatch:/d' "$T/etc/passwd" "$T/etc/shadow" "$T/etc/group" \
    "$T/etc/gshadow"
# shellcheck disable=SC2016
unshare --mount sh -c 'mount --bind "$1" /etc &&
    ! getent passwd sockwatch && ! getent group sockwatch &&
    /var/lib/dpkg/info/sockwatch.postinst configure >&2 &&
    getent passwd sockwatch && id -gn sockwatch' sh "$T/etc" \
    >"$T/newuser" 2>"$T/newuser.err" ||
    fail "postinst without the user: $(cat "$T/newuser.err")"
IFS=: read -r _ _ uid gid _ home shell <"$T/newuser"
if ! [ "${uid:-1000}" -lt 1000 ] || [ "$home" != /nonexistent ] ||
    [ "$shell" != /usr/sbin/nologin ] ||
    [ "$(sed -n 2p "$T/newuser")" != sockwatch ]; then
	fail "postinst made: $(cat "$T/newuser")"
fi
grep -q "^sockwatch:x:$gid:" "$T/etc/group" ||
    fail "postinst made no group sockwatch ($gid)"
[ "$(getent passwd sockwatch || true)" = "$user_before" ] ||
    fail "postinst in the copy changed the host's user"
echo "ok: without the accounts, the postinst makes them:" \
    "$(head -n 1 "$T/newuser")"

# The installed configuration checks, with both programs.
/usr/bin/sockwatch check-config /etc/sockwatch/sockwatch.conf \
    >"$T/check" 2>&1 || fail "sockwatch check-config: $(cat "$T/check")"
/usr/sbin/sockwatchd -n >"$T/check" 2>&1 ||
    fail "sockwatchd -n: $(cat "$T/check")"
grep -q '^/etc/sockwatch/sockwatch.conf: configuration ok' "$T/check" ||
    fail "sockwatchd -n did not read the installed file: $(cat "$T/check")"
echo "ok: check-config and sockwatchd -n on /etc/sockwatch/sockwatch.conf"

# 3. The installed daemon on its installed configuration and default
# paths, in a namespace; the installed CLI on the default socket.
NS=$(ns_add deb)
unset SOCKWATCH_SOCKET
ip netns exec "$NS" /usr/sbin/sockwatchd -f >"$T/swd.log" 2>&1 &
DPID=$!
swd_pid() {
	ip netns exec "$NS" /usr/bin/sockwatch status --json 2>/dev/null |
	    jq -e --argjson p "$DPID" '.pid == $p' >/dev/null
}
wait_for 10 swd_pid ||
    fail "the installed sockwatchd did not answer: $(tail "$T/swd.log")"
ip netns exec "$NS" /usr/bin/sockwatch status >"$T/status"
sleep 2
kill -0 "$DPID" 2>/dev/null || fail "sockwatchd exited: $(tail "$T/swd.log")"
ip netns exec "$NS" nft list table inet sockwatch >/dev/null ||
    fail "no table inet sockwatch in the namespace"
for f in /run/sockwatch/sockwatch.sock /var/lib/sockwatch/sockwatch.db; do
	[ -e "$f" ] || fail "sockwatchd made no $f"
done
kill "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
[ "$rc" -eq 0 ] || fail "sockwatchd exited $rc on SIGTERM"
# The daemon leaves its table (bans outlive a restart): the package's
# removal is what must delete it.
ip netns exec "$NS" nft list table inet sockwatch >/dev/null ||
    fail "test assumption: sockwatchd deleted its table at exit"
echo "ok: /usr/sbin/sockwatchd -f ran and answered status:" \
    "$(head -n 1 "$T/status")"

# 4. Remove: the programs and the table go, the conffiles stay.
dpkg_do --ns -r sockwatch || fail "dpkg -r failed"
[ "$(dpkg-query -W -f='${Status}' sockwatch)" = \
    "deinstall ok config-files" ] ||
    fail "status after dpkg -r: $(dpkg-query -W -f='${Status}' sockwatch)"
for f in /usr/bin/sockwatch /usr/sbin/sockwatchd \
    /lib/systemd/system/sockwatchd.service; do
	[ -e "$f" ] && fail "$f is left after dpkg -r"
done
[ -f /etc/sockwatch/sockwatch.conf ] ||
    fail "dpkg -r removed the conffile /etc/sockwatch/sockwatch.conf"
ip netns exec "$NS" nft list table inet sockwatch >/dev/null 2>&1 &&
    fail "table inet sockwatch is left after dpkg -r"
echo "ok: dpkg -r: programs and the nftables table gone, conffiles kept"

# 5. Purge: nothing is left.
dpkg_do --ns -P sockwatch || fail "dpkg -P failed"
installed && fail "dpkg still knows sockwatch after dpkg -P"
dpkg -L sockwatch >/dev/null 2>&1 && fail "dpkg -L sockwatch still answers"
while read -r f; do
	[ -e "$f" ] || [ -L "$f" ] && fail "$f is left after dpkg -P"
done <"$T/have"
for p in "${STATE[@]}" /usr/share/doc/sockwatch; do
	[ -e "$p" ] || [ -L "$p" ] && fail "$p is left after dpkg -P"
done
left=$(find /var/lib/systemd/deb-systemd-helper-enabled \
    -name 'sockwatchd.service*' 2>/dev/null)
[ -z "$left" ] || fail "deb-systemd-helper state left: $left"
echo "ok: dpkg -P: no file, directory, conffile or enablement left"

if [ -n "$user_before" ]; then
	[ "$(getent passwd sockwatch)" = "$user_before" ] ||
	    fail "the user sockwatch changed or went with the purge"
fi
[ "$(host_table)" = "$host_before" ] ||
    fail "the host's table inet sockwatch: $host_before before, now" \
    "$(host_table)"
echo "ok: the user sockwatch stays; the host's rule set untouched" \
    "(table inet sockwatch: $host_before)"
echo "all checks passed"
