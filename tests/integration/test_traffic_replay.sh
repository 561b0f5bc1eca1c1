#!/usr/bin/env bash
# The traffic detectors offline, on tests/data/scans.pcap: the capture
# that test_traffic_scans.sh made of nmap scanning a victim (tcpdump on
# the victim's veth, Ethernet, snap length 256). `sockwatch analyze` and
# `sockwatchd --replay` must raise the alerts the live daemon raised
# then, one per scan, at the packets' times; files that are not
# captures, are cut short or have a link type the decoder does not read
# exit 2 with a message that says so. Needs neither nmap nor tcpdump.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
T=$SW_TMP
PCAP=$(cd "$here/../data" && pwd)/scans.pcap
[ -s "$PCAP" ] || fail "$PCAP is missing"

# The scans in the file, in order: the alert's peer, evidence.scan and
# message label.
expect=(
	"198.18.0.2 syn SYN scan"
	"198.18.0.2 connect connect scan"
	"198.18.0.2 fin FIN scan"
	"198.18.0.2 null NULL scan"
	"198.18.0.2 xmas Xmas scan"
	"198.18.0.2 ack ACK/window scan"
	"198.18.0.2 ack ACK/window scan"
	"198.18.0.2 maimon Maimon scan"
	"198.18.0.2 udp UDP scan"
	"2001:db8::2 syn SYN scan"
	"2001:db8::2 udp UDP scan"
)
want_list=$(for e in "${expect[@]}"; do
	read -r peer scan _ <<<"$e"
	printf '["portscan","%s","%s"]\n' "$peer" "$scan"
done | jq -s -c .)
want_set=$(jq -c sort <<<"$want_list")

# 1. sockwatch analyze, with the thresholds the live test used.
printf '[portscan]\nwindow = %sms\n' "$TR_WINDOW_MS" >"$T/analyze.conf"
rc=0
"$SW" analyze -c "$T/analyze.conf" --local "$VIC4" --local "$VIC6" --json \
    "$PCAP" >"$T/analyze.json" || rc=$?
[ "$rc" -eq 1 ] || fail "analyze exited $rc, want 1 (alerts raised)"
jq -e '.packets == 2053 and .decoded == 2033 and
    .skipped == {"not-ip": 20} and .peers_seen == 2' "$T/analyze.json" \
    >/dev/null || fail "analyze: counts $(jq -c '{packets, decoded,
    skipped, peers_seen}' "$T/analyze.json")"
got=$(jq -c '[.alerts[] | [.kind, .peer, .evidence.scan]]' "$T/analyze.json")
[ "$got" = "$want_list" ] || fail "analyze: alerts $got, want $want_list"
i=0
for e in "${expect[@]}"; do
	read -r peer scan label <<<"$e"
	jq -e --argjson i "$i" --arg p "$peer" --arg l "$label" '.alerts[$i] |
	    (.message | startswith($l + " from " + $p + ": ")) and
	    .severity == "warning" and .action == "alert" and
	    .evidence.ports > .evidence.ports_limit and
	    .evidence.hosts == 1 and
	    .local_addr == (if ($p | contains(":")) then "2001:db8::1"
	    else "198.18.0.1" end)' "$T/analyze.json" >/dev/null ||
	    fail "analyze: alert $i: $(jq -c --argjson i "$i" '.alerts[$i]' \
	    "$T/analyze.json")"
	i=$((i + 1))
done
# The alerts carry the packets' times: the scans were 4 s apart.
jq -e '[.alerts[].time] | . == sort and (unique | length) == 11 and
    .[0] == "2026-11-27T16:45:17.298Z"' "$T/analyze.json" >/dev/null ||
    fail "analyze: alert times $(jq -c '[.alerts[].time]' "$T/analyze.json")"
# Without --local, analyze takes the top SYN destination of each family
# as the host's: the same alerts. With its fixed seed, the same output
# on every run.
rc=0
"$SW" analyze -c "$T/analyze.conf" --json "$PCAP" >"$T/guess.json" || rc=$?
[ "$rc" -eq 1 ] || fail "analyze (host guessed) exited $rc, want 1"
got=$(jq -c '[.alerts[] | [.kind, .peer, .evidence.scan]]' "$T/guess.json")
[ "$got" = "$want_list" ] ||
    fail "analyze (host guessed): alerts $got, want $want_list"
"$SW" analyze -c "$T/analyze.conf" --json "$PCAP" >"$T/guess2.json" || :
cmp -s "$T/guess.json" "$T/guess2.json" ||
    fail "analyze gave another answer the second time"
# The text form says the same.
rc=0
"$SW" analyze -c "$T/analyze.conf" --local "$VIC4" --local "$VIC6" \
    "$PCAP" >"$T/analyze.txt" || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "^11 alerts$" "$T/analyze.txt" ||
    [ "$(grep -c "portscan" "$T/analyze.txt")" -ne 11 ]; then
	fail "analyze (text) exited $rc: $(cat "$T/analyze.txt")"
fi
# The host named in the summary; the 2 packets with neither end the host
# (IPv6 link-local neighbour discovery) are counted, not analysed.
jq -e --arg a "$VIC4" --arg b "$VIC6" '.host == [$a, $b] and
    .not_analysed == 2' "$T/analyze.json" >/dev/null ||
    fail "analyze: $(jq -c '{host, not_analysed}' "$T/analyze.json")"
jq -e --arg a "$VIC4" --arg b "$VIC6" '.host == [$a, $b]' "$T/guess.json" \
    >/dev/null || fail "analyze (guessed): host $(jq -c .host "$T/guess.json")"
# Without SYNs to go by (only the UDP scans kept), the host is the
# address that received at the most ports among those on most packets:
# the victim, not its one prober, though both are on every packet.
tcpdump -r "$PCAP" -w "$T/udp.pcap" udp 2>/dev/null ||
    fail "tcpdump could not cut the UDP packets out"
rc=0
"$SW" analyze -c "$T/analyze.conf" --json "$T/udp.pcap" >"$T/udp.json" || rc=$?
[ "$rc" -eq 1 ] || fail "analyze udp.pcap exited $rc, want 1"
jq -e --arg a "$VIC4" --arg b "$VIC6" '.host == [$a, $b] and
    [.alerts[] | [.peer, .evidence.scan]] ==
    [["198.18.0.2", "udp"], ["2001:db8::2", "udp"]]' "$T/udp.json" \
    >/dev/null || fail "analyze udp.pcap (host guessed): $(jq -c \
    '{host, alerts: [.alerts[] | [.peer, .evidence.scan]]}' "$T/udp.json")"
# From a pipe the host is not guessed: nothing is analysed, and analyze
# says so and how to tell it, instead of reporting a quiet capture.
rc=0
"$SW" analyze -c "$T/analyze.conf" --json - <"$PCAP" >"$T/pipe.json" \
    2>"$T/pipe.err" || rc=$?
[ "$rc" -eq 0 ] || fail "analyze - exited $rc, want 0 (no alert)"
jq -e '.host == [] and .not_analysed > 2000 and (.alerts | length) == 0' \
    "$T/pipe.json" >/dev/null ||
    fail "analyze -: $(jq -c '{host, not_analysed}' "$T/pipe.json")"
grep -q "^sockwatch: analyze: -: which address is the host is unknown.*--local ADDR$" \
    "$T/pipe.err" || fail "analyze -: stderr $(cat "$T/pipe.err")"
# A wrong --local: most packets unanalysed, and said.
"$SW" analyze -c "$T/analyze.conf" --local 198.18.99.99 "$PCAP" \
    >/dev/null 2>"$T/wrong.err" || :
grep -q "were not analysed; is --local right?$" "$T/wrong.err" ||
    fail "analyze --local (wrong): stderr $(cat "$T/wrong.err")"
echo "ok: sockwatch analyze: the 11 scans, one alert each; the host named, guessed from SYNs or (UDP only) from ports; an unknown or wrong host said"

# 2. sockwatchd --replay, in a namespace that has the victim's addresses
# (the daemon takes the host's own addresses from the host), puts the
# same alerts into its history.
NS=$(ns_add rep)
ip -n "$NS" addr add "$VIC4/32" dev lo
ip -n "$NS" addr add "$VIC6/128" dev lo
tr_conf "$T/sockwatch.conf" "tcp/22"
swd_start "$NS" "$T/sockwatch.conf" --replay "$PCAP"
alerts_json "$NS" "$T/replay.json"
got=$(traffic_alerts "$T/replay.json")
[ "$got" = "$want_set" ] || fail "sockwatchd --replay: alerts $got, want" \
    "$want_set"
# ...at the packets' times.
[ "$(jq -c '[.[] | select(.kind == "portscan") | .time] | sort' \
    "$T/replay.json")" = "$(jq -c '[.alerts[].time] | sort' \
    "$T/analyze.json")" ] || fail "sockwatchd --replay: alert times" \
    "$(jq -c '[.[].time]' "$T/replay.json")"
grep -q "replayed $PCAP: 2053 packets" "$SWD_LOG" ||
    fail "sockwatchd did not log the replay"
swd_stop
[ "$SWD_RC" -eq 0 ] || fail "sockwatchd exited $SWD_RC"
echo "ok: sockwatchd --replay: the same alerts in sockwatch alerts"

# 3. Files that are not captures, or are cut short: exit 2, and say so.
# bad FILE PATTERN: analyze FILE exits 2, printing nothing on stdout and
# a line on stderr that names FILE and matches PATTERN (extended
# regular expression).
bad() {
	local f=$1 pat=$2 rc=0
	"$SW" analyze --json "$f" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	[ "$rc" -eq 2 ] || fail "analyze $f exited $rc, want 2"
	[ ! -s "$T/bad.out" ] || fail "analyze $f printed $(cat "$T/bad.out")"
	grep -Eq "^sockwatch: analyze: $f: .*($pat)" "$T/bad.err" ||
	    fail "analyze $f said '$(cat "$T/bad.err")', want $pat"
	echo "ok: analyze $(basename "$f"): exit 2: $(cat "$T/bad.err")"
}
seq 1 2000 >"$T/numbers.txt"
bad "$T/numbers.txt" "unknown file format"
# (Under 4 bytes here, when the magic number cannot even be read.)
bad /etc/hostname "truncated|unknown file format"
: >"$T/empty.pcap"
bad "$T/empty.pcap" "truncated"
head -c 20 "$PCAP" >"$T/short-header.pcap"
bad "$T/short-header.pcap" "truncated"
# Cut in the middle of a packet, and in the second record header (the
# first packet is a 42-byte ARP request).
head -c 50000 "$PCAP" >"$T/cut.pcap"
bad "$T/cut.pcap" "truncated dump file; tried to read [0-9]* captured bytes"
head -c $((24 + 16 + 42 + 8)) "$PCAP" >"$T/cut-header.pcap"
bad "$T/cut-header.pcap" "truncated dump file; tried to read 16 header bytes"
bad "$T/missing.pcap" "No such file"
# A capture of a link type the decoder does not read (147, DLT_USER0).
python3 -c 'import struct, sys
rec = struct.pack("<IIII", 1, 0, 60, 60) + bytes(60)
sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0,
    256, 147) + 3 * rec)' >"$T/user0.pcap"
bad "$T/user0.pcap" "unsupported link type 147"
# The daemon refuses to start on a file that is not a capture.
rc=0
ip netns exec "$NS" timeout 10 "$SWD" -f -c "$T/sockwatch.conf" \
    --replay "$T/numbers.txt" >"$T/swd-bad.out" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "unknown file format" "$T/swd-bad.out"; then
	fail "sockwatchd --replay numbers.txt exited $rc: $(cat \
	    "$T/swd-bad.out")"
fi
echo "ok: sockwatchd --replay of a text file: exit 1"
echo "all checks passed"
