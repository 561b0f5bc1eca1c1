#!/usr/bin/env bash
# What the host cannot do without is never banned automatically, and
# automatic bans come at a bounded rate. sockwatchd in a victim namespace
# with [portscan] action = block; its default route goes through the
# attacker's first address, its resolv.conf (ip netns exec's
# /etc/netns/NS/resolv.conf) names a second, [bans] protect_peers a
# third.
#
#  1. A scan from each of the three (nmap -S): alerted for, evidence
#     not_banned "protected: ...", not in ban4.
#  2. sockwatch block of the gateway is refused (use --force); --force
#     bans it. A prefix holding the resolver written IPv4-mapped
#     (::ffff:198.18.0.6/127) is refused as well.
#  3. [bans] rate = 2: twelve spoofed sources scanning at once get at most
#     a second's worth of bans and then one more per half second; the rest
#     are alerted for as held back, counted, and one "bans" alert says so.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nmap nft || exit 0
T=$SW_TMP
GW=$ATK4
DNS=198.18.0.7
PROT=198.18.0.8

tr_net
ATKIF=$(ns_ifname "$ANS")
ip -n "$ANS" addr add "$DNS/24" dev "$ATKIF"
ip -n "$ANS" addr add "$PROT/24" dev "$ATKIF"
ip -n "$VNS" route add default via "$GW"
NETNS_ETC=/etc/netns/$VNS
infra_exit() {
	local rc=$?
	rm -rf "$NETNS_ETC"
	rmdir /etc/netns 2>/dev/null
	(exit "$rc")
	swd_exit
}
trap infra_exit EXIT
mkdir -p "$NETNS_ETC"
printf 'search example.org\nnameserver %s\n' "$DNS" >"$NETNS_ETC/resolv.conf"

tr_conf "$T/sockwatch.conf" "tcp/8080"
cat >>"$T/sockwatch.conf" <<EOF
action = block
ban = 60s

[bans]
protect_peers = $PROT
rate = 2
EOF
swd_start "$VNS" "$T/sockwatch.conf"

# refused_for ADDR: its newest portscan alert says protected, not banned.
refused_for() {
	swc "$VNS" alerts --json --kind portscan --peer "$1" | jq -e \
	    '.[-1] | .action == "alert" and
	    (.evidence.not_banned | startswith("protected: "))'
}

# ---- 1. scans from the gateway, the resolver, a protect_peers address ------
for a in "$GW" "$DNS" "$PROT"; do
	timeout 60 ip netns exec "$ANS" nmap -n -Pn -sS -S "$a" -e "$ATKIF" \
	    -p 1-100 -T4 --max-retries 1 --host-timeout 20s "$VIC4" \
	    >"$T/nmap.out" 2>&1 || fail "nmap -S $a: $(cat "$T/nmap.out")"
	wait_for 5 refused_for "$a" || fail "$a: $(swc "$VNS" alerts --json \
--peer "$a" | jq -c '.[-1].evidence.not_banned')"
	in_set "$VNS" ban4 "$a" && fail "$a was banned"
	echo "ok: a scan from $a: $(swc "$VNS" alerts --json --peer "$a" |
	    jq -r '.[-1].evidence.not_banned')"
done

# ---- 2. by hand ----------------------------------------------------------------
swc "$VNS" block "$GW" >"$T/block.out" 2>&1 && fail "block $GW succeeded"
grep -q "a default gateway.*--force" "$T/block.out" ||
    fail "block $GW: $(cat "$T/block.out")"
swc "$VNS" block --force "$GW" >/dev/null || fail "block --force $GW failed"
in_set "$VNS" ban4 "$GW" || fail "block --force: $GW not in ban4"
swc "$VNS" unblock "$GW" >/dev/null || fail "unblock $GW failed"
echo "ok: block $GW refused ($(cut -c1-80 "$T/block.out")...), --force bans it"
# A prefix holding the resolver, IPv4-mapped (as a CrowdSec Range decision
# may write it), whose first address is not the resolver's.
swc "$VNS" block "::ffff:198.18.0.6/127" >"$T/block.out" 2>&1 &&
    fail "block ::ffff:198.18.0.6/127 succeeded"
grep -q "a resolver.*--force" "$T/block.out" ||
    fail "block ::ffff:198.18.0.6/127: $(cat "$T/block.out")"
in_set "$VNS" bannet4 198.18.0.6/31 &&
    fail "::ffff:198.18.0.6/127 banned: $(elems "$VNS" bannet4)"
echo "ok: block ::ffff:198.18.0.6/127 refused ($(cut -c1-70 \
    "$T/block.out")...)"

# ---- 3. the rate of automatic bans ----------------------------------------
srcs=()
for i in $(seq 20 31); do
	srcs+=("198.19.7.$i")
done
ip netns exec "$ANS" timeout 30 python3 "$TOOLS/spoofscan.py" "$VIC4" 1000 \
    30 "${srcs[@]}" || fail "spoofscan failed"
alerted() {
	[ "$(swc "$VNS" alerts --json --kind portscan | jq '[.[] |
	    select(.peer | startswith("198.19.7."))] | length')" -eq 12 ]
}
wait_for 5 alerted || fail "not all twelve spoofed scans alerted for"
# The span of the twelve alerts, from their own times.
span=$(swc "$VNS" alerts --json --kind portscan | jq '[.[] |
    select(.peer | startswith("198.19.7.")) | .time | sub("\\.[0-9]+Z$"; "Z") |
    fromdateiso8601] | max - min')
banned=$(elems "$VNS" ban4 | grep -c '^198\.19\.7\.' || true)
held=$(swc "$VNS" alerts --json --kind portscan | jq '[.[] |
    select(.peer | startswith("198.19.7.")) |
    select(.evidence.not_banned // "" | startswith("held back"))] | length')
# A second's worth (2) at once, then 2 a second over the alerts' span
# (whole seconds: one more for the rounding).
allowed=$((2 + 2 * (span + 1)))
[ "$banned" -le "$allowed" ] || fail "$banned banned within $span s at \
[bans] rate = 2"
[ "$allowed" -lt 12 ] || fail "the scans took $span s: too slow to test \
the rate"
[ "$banned" -ge 1 ] || fail "nobody banned"
[ $((banned + held)) -eq 12 ] || fail "$banned banned + $held held != 12"
swc "$VNS" metrics |
    grep -E "^sockwatch_bans_rate_limited_total $held\$" >/dev/null ||
    fail "held back bans not counted: $(swc "$VNS" metrics | grep rate_lim)"
wait_for 3 sh -c "ip netns exec '$VNS' '$SW' alerts --json --kind bans |
    jq -e 'length == 1 and (.[0].message | startswith(\"automatic bans held back\"))'" ||
    fail "no alert about the held back bans"
echo "ok: [bans] rate = 2: $banned banned, $held held back and counted, one \
alert says so"
