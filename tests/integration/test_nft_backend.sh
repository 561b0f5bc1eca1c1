#!/usr/bin/env bash
# The nftables backend (policy/nft.c) against the kernel, through
# tests/tools/nftdrive, in a namespace of its own: table, sets, chains and
# rules as nft sees them, merged list intervals, bans with timeouts (again
# with a new timeout, then removed, missing ones too), a refused overlap
# that leaves everything as it was, packets dropped and counted, the
# check, and the monitor: our own changes are not news, another
# process deleting the table is. The host's rule set is never touched.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
T=$SW_TMP
DRIVE="$BUILD/tools/nftdrive"
[ -x "$DRIVE" ] || fail "$DRIVE missing (make $DRIVE)"
NS=$(ns_add nft)

in_ns() {
	ip netns exec "$NS" "$@"
}
drive() {
	in_ns "$DRIVE" "$@"
}

# json_check PYTHON: run a check on `nft -j list table inet sockwatch`
# (as the variable t, a dict of set name -> {elem: (timeout, expires)}).
json_check() {
	in_ns nft -j list table inet sockwatch >"$T/table.json" ||
	    fail "nft cannot list the table"
	python3 - "$T/table.json" "$1" <<'EOF' || fail "nft -j check: $1"
import json, sys
doc = json.load(open(sys.argv[1]))["nftables"]
t, rules = {}, []
def key(v):
    if isinstance(v, dict) and "prefix" in v:
        return "%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"])
    return v
for o in doc:
    if "set" in o:
        s = o["set"]
        els = {}
        for e in s.get("elem", []):
            if isinstance(e, dict) and "elem" in e:
                e = e["elem"]
                els[key(e["val"])] = (e.get("timeout"), e.get("expires"))
            else:
                els[key(e)] = (None, None)
        t[s["name"]] = els
    if "rule" in o:
        rules.append(o["rule"]["chain"])
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("failed: %s\n%s" % (sys.argv[2], json.dumps(t, indent=1)))
sys.exit(0 if ok else 1)
EOF
}

# probe: a UDP datagram from 198.18.0.1 to itself over lo: recv, drop
# (prerouting dropped it) or eperm (output dropped it).
probe() {
	in_ns python3 - <<'EOF'
import socket
a = "198.18.0.1"
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind((a, 9999))
r.settimeout(0.5)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a, 0))
try:
    s.sendto(b"x", (a, 9999))
except PermissionError:
    print("eperm")
    raise SystemExit
try:
    r.recv(16)
    print("recv")
except socket.timeout:
    print("drop")
EOF
}

expect_probe() {
	local got
	got=$(probe)
	[ "$got" = "$1" ] || fail "probe: want $1, got $got ($2)"
}

[ "$(drive check)" = 0 ] || fail "check is not 0 before setup"
drive list 2>"$T/err" && fail "ban list without a table succeeded"
grep -q "No such file" "$T/err" || fail "ban list: $(cat "$T/err")"

# Overlapping and adjacent list prefixes are merged before they are sent.
drive setup 198.18.5.0/24,198.18.5.128/25,2001:db8:5::/48 \
    198.18.100.0/24,198.18.101.0/24,198.18.100.7,255.255.255.255/32,2001:db8:d::/48 \
    198.18.200.1,2001:db8:c::1 600 198.18.1.9 ||
    fail "setup"
[ "$(drive check)" = 1 ] || fail "check is not 1 after setup"
json_check 'set(t) == {"allow4", "allow6", "ban4", "ban6", "bannet4",
    "bannet6", "deny4", "deny6", "connect4", "connect6"}'
json_check 'rules.count("prerouting") == 8 and rules.count("output") == 2'
json_check 'set(t["deny4"]) == {"198.18.100.0/23", "255.255.255.255"}'
json_check 'set(t["allow4"]) == {"198.18.5.0/24"} and
    set(t["allow6"]) == {"2001:db8:5::/48"}'
json_check 'set(t["connect4"]) == {"198.18.200.1"} and
    set(t["connect6"]) == {"2001:db8:c::1"} and
    set(t["deny6"]) == {"2001:db8:d::/48"}'
json_check 't["ban4"]["198.18.1.9"][0] == 600'
echo "ok: setup"

drive ban 600 198.18.1.1 198.18.1.2 2001:db8::1 198.18.64.0/20 ||
    fail "ban"
json_check 'set(t["ban4"]) == {"198.18.1.1", "198.18.1.2", "198.18.1.9"}
    and set(t["ban6"]) == {"2001:db8::1"} and
    set(t["bannet4"]) == {"198.18.64.0/20"} and
    all(v[0] == 600 and 590 <= v[1] <= 600 for s in ("ban4", "ban6",
    "bannet4") for v in t[s].values())'
drive list >"$T/list" || fail "ban list"
python3 - "$T/list" <<'EOF' || fail "ban list: $(cat "$T/list")"
import sys
got = dict(l.split() for l in open(sys.argv[1]))
want = {"198.18.1.1/32", "198.18.1.2/32", "198.18.1.9/32",
        "2001:db8::1/128", "198.18.64.0/20"}
assert set(got) == want, got
assert all(590000 <= int(v) <= 600000 for v in got.values()), got
EOF
echo "ok: ban"

# Again, with a new timeout: no error, the new timeout in force; a mapped
# IPv6 address is banned as IPv4.
drive ban 1200 198.18.1.1 198.18.1.2 2001:db8::1 198.18.64.0/20 \
    ::ffff:198.18.1.3 || fail "ban again: $?"
json_check 'all(t["ban4"][a][0] == 1200 for a in ("198.18.1.1",
    "198.18.1.2", "198.18.1.3")) and t["ban6"]["2001:db8::1"][0] == 1200
    and t["bannet4"]["198.18.64.0/20"][0] == 1200 and
    t["ban4"]["198.18.1.9"][0] == 600'
echo "ok: ban again"

# A prefix inside a banned one is refused by the kernel: the whole batch
# fails, with a message that says why, and nothing changes.
cp "$T/table.json" "$T/before.json"
drive ban 60 198.18.1.4 198.18.64.0/24 2>"$T/err" &&
    fail "an overlapping prefix was accepted"
grep -q "bannet4.*overlaps" "$T/err" || fail "overlap: $(cat "$T/err")"
json_check '"198.18.1.4" not in t["ban4"] and
    set(t["bannet4"]) == {"198.18.64.0/20"}'
echo "ok: refused overlap, nothing changed: $(cat "$T/err")"

drive unban 198.18.1.1,198.18.9.9,198.18.64.0/20,2001:db8::1,2001:db8:77::/48 ||
    fail "unban"
json_check 'set(t["ban4"]) == {"198.18.1.2", "198.18.1.3", "198.18.1.9"}
    and not t["ban6"] and not t["bannet4"]'
echo "ok: unban (missing ones too)"

drive lists 198.18.6.0/24 - 198.18.201.0/24,198.18.201.0/25 ||
    fail "lists"
json_check 'set(t["allow4"]) == {"198.18.6.0/24"} and not t["allow6"] and
    not t["deny4"] and not t["deny6"] and
    set(t["connect4"]) == {"198.18.201.0/24"} and not t["connect6"]'
echo "ok: lists replaced"

# Packets: 198.18.0.1 on lo talks to itself.
in_ns ip addr add 198.18.0.1/32 dev lo
expect_probe recv "nothing banned"
drive ban 0 198.18.0.1 || fail "permanent ban"
drive list | grep -x "198.18.0.1/32 0" >/dev/null ||
    fail "permanent ban not listed"
expect_probe drop "banned"
drive lists 198.18.0.0/24 - - || fail "lists allow"
expect_probe recv "allowed despite the ban"
drive unban 198.18.0.1 || fail "unban 198.18.0.1"
drive lists - 198.18.0.0/16 - || fail "lists deny"
expect_probe drop "denied"
drive lists - - 198.18.0.1 || fail "lists connect"
expect_probe eperm "connect denied"
drive counters >"$T/ctr" || fail "counters"
read -r _ ban _ deny _ conn <"$T/ctr"
[ "$ban" -ge 1 ] && [ "$deny" -ge 1 ] && [ "$conn" -ge 1 ] ||
    fail "counters: $(cat "$T/ctr")"
echo "ok: packets dropped and counted: $(cat "$T/ctr")"

# Rules gone from a chain: not intact any more.
in_ns nft flush chain inet sockwatch output
[ "$(drive check)" = 0 ] || fail "check is not 0 with output flushed"
drive setup - - - || fail "setup again"
[ "$(drive check)" = 1 ] || fail "check is not 1 after setup again"

# The monitor: own changes (setup, bans, unbans, lists) and an element
# timing out are not reported; `nft delete table` by another process is.
# Paused (our big batches), own changes are not news and a commit on
# another handle meanwhile is, also after a batch of ours that changed
# nothing (and so made no generation).
bg ip netns exec "$NS" "$DRIVE" monitor "$T/ready" >"$T/mon" 2>&1
mon=$!
wait_file 30 "$T/ready" "$mon" || fail "monitor: $(cat "$T/mon")"
in_ns nft delete table inet sockwatch
rc=0
wait "$mon" || rc=$?
cat "$T/mon"
[ "$rc" -eq 0 ] || fail "monitor: exit $rc"
grep -qx "own: changed=0" "$T/mon" && grep -qx "expiry: changed=0" \
    "$T/mon" && grep -qx "foreign: changed=1" "$T/mon" &&
    grep -qx "paused own: changed=0" "$T/mon" &&
    grep -qx "paused foreign: changed=1" "$T/mon" &&
    grep -qx "paused no-op foreign: changed=1" "$T/mon" ||
    fail "monitor output"
[ "$(drive check)" = 0 ] || fail "check is not 0 after the table's deletion"
echo "all checks passed"
