#!/usr/bin/env bash
# The systemd unit stays hardened: `systemd-analyze security --offline=true`
# scores etc/sockwatchd.service at MAX_EXPOSURE or lower, `systemd-analyze
# verify` has nothing to say about it, it runs as User=sockwatch
# Group=sockwatch, and it grants no capability outside the parent's four.
# Needs no namespace and no running systemd.
#
# Issue 10 asked for 2.0. On systemd 252 the floor is 2.1: the four
# capabilities, their ambient grant, five socket families, no
# PrivateNetwork=, no PrivateUsers=, the host's root directory and the
# rtc read access that ProtectClock= adds to the device list (without
# ProtectClock= it costs twice that) are 11,425 of the 56,460 weighted
# points, 2.02, and the tool rounds up. On top of that the unit allows
# capset(2) (0.11: sockdiag and the children's drops need it) and keeps
# ProcSubset=all (0.002): shown as 2.2. See the unit's comments.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
T=$SW_TMP
UNIT=$here/../../etc/sockwatchd.service
MAX_EXPOSURE=${SW_UNIT_MAX_EXPOSURE:-2.2}
CAPS="CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"

command -v systemd-analyze >/dev/null || {
	echo "skip: systemd-analyze is not installed"
	exit 0
}

# 1. The exposure: "→ Overall exposure level for sockwatchd.service: 2.2 OK".
SYSTEMD_COLORS=0 systemd-analyze security --offline=true "$UNIT" \
    >"$T/security" 2>&1 || fail "systemd-analyze security: $(cat "$T/security")"
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9]*\.[0-9]\).*/\1/p' \
    "$T/security")
[ -n "$score" ] || fail "no overall exposure in: $(tail -n 3 "$T/security")"
# Compare in tenths: the tool prints one decimal.
if [ "${score/./}" -gt "${MAX_EXPOSURE/./}" ]; then
	grep '✗' "$T/security" >&2
	fail "exposure $score, want $MAX_EXPOSURE or lower"
fi
echo "ok: systemd-analyze security: exposure $score (at most $MAX_EXPOSURE)"

# 2. verify, with ExecStart on the binary just built (the installed path
# need not exist here) and without looking for installed man pages.
sed "s|^ExecStart=[^ ]*sockwatchd|ExecStart=$BUILD/sockwatchd|" "$UNIT" \
    >"$T/sockwatchd.service"
if ! systemd-analyze verify --man=no "$T/sockwatchd.service" \
    >"$T/verify" 2>&1 || [ -s "$T/verify" ]; then
	fail "systemd-analyze verify: $(cat "$T/verify")"
fi
echo "ok: systemd-analyze verify: nothing to say"

# 3. Who it runs as, and how.
# value KEY: the last value of KEY= in the unit ("" if none).
value() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}
for kv in User=sockwatch Group=sockwatch Type=notify Restart=on-failure \
    NoNewPrivileges=yes; do
	[ "$(value "${kv%%=*}")" = "${kv#*=}" ] ||
	    fail "the unit lacks $kv (has '$(value "${kv%%=*}")')"
done
echo "ok: User=sockwatch Group=sockwatch, Type=notify, Restart=on-failure"

# 4. Capabilities: every one named is in CAPS; no "~" (all but) list; an
# empty assignment resets the list, as in systemd. The bounding set must
# be given, or it is every capability.
for key in AmbientCapabilities CapabilityBoundingSet; do
	have=""
	while IFS= read -r line; do
		[ -z "$line" ] && { have=""; continue; }
		case $line in
		"~"*) fail "$key=$line: a deny list leaves every other capability" ;;
		esac
		have="$have $line"
	done < <(sed -n "s/^$key=//p" "$UNIT")
	for cap in $have; do
		case " $CAPS " in
		*" $cap "*) ;;
		*) fail "$key has $cap, outside $CAPS" ;;
		esac
	done
	if [ "$key" = CapabilityBoundingSet ] && [ -z "${have// /}" ]; then
		fail "no CapabilityBoundingSet=: the bounding set is everything"
	fi
	echo "ok: $key:$have"
done
