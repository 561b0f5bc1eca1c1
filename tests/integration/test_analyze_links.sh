#!/usr/bin/env bash
# `sockwatch analyze` on captures of every link type it reads besides
# Ethernet: BSD loopback (NULL in either byte order, LOOP), PPP (with and
# without address and control, in HDLC framing, with a direction byte),
# PPPoE (bare and in Ethernet) and Cisco HDLC. The same packets must give
# the same report as in Ethernet framing: the scans of tests/data/links/
# (made by tests/tools/mkframes.py) and the nmap scans of
# tests/data/scans.pcap rewritten in each framing. Broken link headers
# are skipped by reason. Needs no root and no network.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
T=$SW_TMP
DATA=$(cd "$here/../data" && pwd)
MKFRAMES=$(cd "$here/../tools" && pwd)/mkframes.py

# Framing, and the link type its file must say (a savefile's LINKTYPE_).
framings=(
	"null-le 0" "null-be 0" "loop 108" "ppp 9" "ppp-acfc 9"
	"ppp-serial 50" "pppoe 51" "ether-pppoe 1" "chdlc 104"
	"ppp-dir 204" "chdlc-dir 205"
)

# analyze FILE OUT [ARGS...]: the JSON report; alerts make it exit 1.
analyze() {
	local file=$1 out=$2 rc=0
	shift 2
	"$SW" analyze --json "$@" "$file" >"$out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "analyze $file exited $rc: $(cat "$T/err")"
}

# linktype FILE: the link type in a pcap file's header (little-endian).
linktype() {
	od -An -tu4 -j20 -N4 "$1" | tr -d ' '
}

# 1. The committed captures are what the generator makes.
mkdir "$T/links"
python3 "$MKFRAMES" synth "$T/links"
for f in "$DATA"/links/*.pcap; do
	cmp -s "$f" "$T/links/$(basename "$f")" ||
	    fail "$f differs from what mkframes.py makes"
done
echo "ok: tests/data/links/ is what mkframes.py makes"

# 2. The Ethernet one: a SYN scan of 100 ports over IPv4 and of 50 over
# IPv6, each one portscan alert; two ARP frames skipped.
analyze "$DATA/links/ether.pcap" "$T/ether.json"
jq -e '.packets == 158 and .decoded == 156 and .skipped == {"not-ip": 2}
    and .host == ["198.18.0.1", "2001:db8::1"] and .not_analysed == 0 and
    ([.alerts[] | [.kind, .peer, .evidence.scan]] ==
    [["portscan", "198.18.0.2", "syn"], ["portscan", "2001:db8::2", "syn"]])
    and .peers[0].syns == 100' "$T/ether.json" >/dev/null ||
    fail "ether.pcap: $(jq -c '{packets, decoded, skipped, host,
    alerts: [.alerts[] | [.kind, .peer]]}' "$T/ether.json")"
jq 'del(.file)' "$T/ether.json" >"$T/want.json"

# 3. Every other framing: the same report, field for field.
for e in "${framings[@]}"; do
	read -r name lt <<<"$e"
	f=$DATA/links/$name.pcap
	[ "$(linktype "$f")" = "$lt" ] ||
	    fail "$name.pcap says link type $(linktype "$f"), want $lt"
	analyze "$f" "$T/$name.json"
	jq 'del(.file)' "$T/$name.json" >"$T/got.json"
	diff -u "$T/want.json" "$T/got.json" >"$T/diff" ||
	    fail "$name.pcap: report differs from Ethernet's: $(head -40 \
	    "$T/diff")"
	echo "ok: $name.pcap (link type $lt): the Ethernet report"
done

# 4. nmap's scans (tests/data/scans.pcap, 11 scans) in each framing: the
# same report, except that with a direction byte no packet is left
# unanalysed (the 2 with neither end the host are taken as received).
conf=$T/analyze.conf
printf '[portscan]\nwindow = 2s\n' >"$conf"
analyze "$DATA/scans.pcap" "$T/scans-ether.json" -c "$conf"
jq -e '(.alerts | length) == 11 and .not_analysed == 2' \
    "$T/scans-ether.json" >/dev/null || fail "scans.pcap: $(jq -c \
    '{alerts: (.alerts | length), not_analysed}' "$T/scans-ether.json")"
for e in "${framings[@]}"; do
	read -r name lt <<<"$e"
	python3 "$MKFRAMES" reframe "$name" "$DATA/scans.pcap" \
	    "$T/scans-$name.pcap" 198.18.0.1 2001:db8::1
	analyze "$T/scans-$name.pcap" "$T/scans-$name.json" -c "$conf"
	case $name in
	*-dir)
		filter='{packets, decoded, skipped, host, alerts}'
		jq -e '.not_analysed == 0' "$T/scans-$name.json" >/dev/null ||
		    fail "scans in $name: the direction byte was not used"
		;;
	*)
		filter='del(.file)'
		;;
	esac
	jq "$filter" "$T/scans-ether.json" >"$T/want.json"
	jq "$filter" "$T/scans-$name.json" >"$T/got.json"
	diff -u "$T/want.json" "$T/got.json" >"$T/diff" ||
	    fail "scans in $name: report differs from Ethernet's: $(head \
	    -40 "$T/diff")"
done
echo "ok: scans.pcap in ${#framings[@]} framings: the Ethernet alerts"

# 5. Broken link headers, skipped by reason; the good frame after them
# is still read. Each case: link type, then frames.
python3 - "$T" "$(dirname "$MKFRAMES")" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[2])
from mkframes import tcp_ip
tmp = sys.argv[1]
ip4 = tcp_ip("198.18.0.2", "198.18.0.1", 40000, 80, 0x02, 1)[1]
ip6 = tcp_ip("2001:db8::2", "2001:db8::1", 40000, 80, 0x02, 1)[1]
cases = {
    # 3 bytes of header; AF 7 (not IP); AF_INET over IPv6; high bits
    # both ways; then a good one.
    "null": (0, [b"\x02\0\0", b"\x07\0\0\0" + ip4, b"\x02\0\0\0" + ip6,
                 b"\x02\0\x02\0" + ip4, b"\x02\0\0\0" + ip4]),
    # Address without control; a wrong control byte; LCP; half a
    # protocol; good.
    "ppp": (9, [b"\xff", b"\xff\x05\x00\x21" + ip4, b"\xc0\x21" + bytes(8),
                b"\xff\x03\x00", b"\x00\x21" + ip4]),
    # PPPoE version 2; discovery; 5 bytes; good.
    "pppoe": (51, [b"\x21\0\x12\x34\0\x2a\0\x21" + ip4,
                   b"\x11\x09\0\0\0\0", b"\x11\0\x12\x34\0",
                   b"\x11\0\x12\x34\0\x2a\0\x21" + ip4]),
    # 3 bytes; SLARP; good.
    "chdlc": (104, [b"\x0f\0\x08", b"\x8f\0\x80\x35" + bytes(20),
                    b"\x0f\0\x08\0" + ip4]),
}
for name, (lt, frames) in cases.items():
    with open("%s/bad-%s.pcap" % (tmp, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, lt))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)))
            f.write(fr)
EOF
bad_want=(
	'null {"short-l2":1,"not-ip":2,"bad-ip-version":1}'
	'ppp {"short-l2":2,"bad-l2":1,"not-ip":1}'
	'pppoe {"short-l2":1,"bad-l2":1,"not-ip":1}'
	'chdlc {"short-l2":1,"not-ip":1}'
)
for e in "${bad_want[@]}"; do
	read -r name want <<<"$e"
	rc=0
	"$SW" analyze --json --local 198.18.0.1 "$T/bad-$name.pcap" \
	    >"$T/bad.json" 2>"$T/err" || rc=$?
	[ "$rc" -eq 0 ] || fail "bad-$name.pcap: exit $rc: $(cat "$T/err")"
	jq -e --argjson w "$want" '.skipped == $w and .decoded == 1 and
	    .peers[0].addr == "198.18.0.2"' "$T/bad.json" >/dev/null ||
	    fail "bad-$name.pcap: $(jq -c '{decoded, skipped}' "$T/bad.json")"
	echo "ok: broken $name headers: skipped $want"
done
echo "all checks passed"
