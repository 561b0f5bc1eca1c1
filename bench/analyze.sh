#!/bin/bash
# Benchmark: offline analysis. Generates a capture of 1,000,000 small
# packets from about 10,000 sources (bench/mkpcap), then times, with
# hyperfine, on one core:
#   tcpdump -r FILE -w /dev/null               libpcap reading, no parsing
#   pcap_floor FILE                            the floor: pcap_loop, header
#                                              parsing, a count per source
#   sockwatch analyze FILE --json > /dev/null  the real thing
# and prints a markdown report: median ms, packets/s and the ratio to the
# floor, against issue 4's targets (>= 5 Mpps on one core, within 2x of the
# floor). The sockwatch row is skipped, with a note, while `sockwatch
# analyze -h` fails (the subcommand is not there yet).
#
# Usage: bench/analyze.sh [BUILD]   (BUILD is the build directory, default
# "build"; it must hold bench/mkpcap and bench/pcap_floor, and sockwatch
# for the last row). Report on stdout, progress on stderr.
# Environment: BENCH_RUNS (default 7, at least 5), BENCH_PACKETS (default
# 1000000), BENCH_SOURCES (default 10000), BENCH_CPU (the core to pin every
# command to; default the last one this script may run on; "none" to not
# pin).
set -euo pipefail

BUILD=${1:-build}
RUNS=${BENCH_RUNS:-7}
NPKTS=${BENCH_PACKETS:-1000000}
NSRC=${BENCH_SOURCES:-10000}

die() { echo "analyze.sh: $*" >&2; exit 1; }
note() { echo "analyze.sh: $*" >&2; }

if ! [[ $RUNS =~ ^[0-9]+$ ]] || [ "$RUNS" -lt 5 ]; then
	die "BENCH_RUNS=$RUNS: need a number >= 5 (the median of at least 5 runs)"
fi
[[ $NPKTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PACKETS=$NPKTS: not a number"
[ -x "$BUILD/bench/mkpcap" ] || die "$BUILD/bench/mkpcap: not built (make BUILD=$BUILD $BUILD/bench/mkpcap)"
[ -x "$BUILD/bench/pcap_floor" ] || die "$BUILD/bench/pcap_floor: not built (make BUILD=$BUILD $BUILD/bench/pcap_floor)"
MKPCAP=$(realpath "$BUILD/bench/mkpcap")
FLOOR=$(realpath "$BUILD/bench/pcap_floor")
SW=
[ -x "$BUILD/sockwatch" ] && SW=$(realpath "$BUILD/sockwatch")
for t in tcpdump hyperfine jq taskset; do
	command -v "$t" >/dev/null || die "$t: not installed"
done
TCPDUMP=$(command -v tcpdump)

# One core: hyperfine and everything it runs share one CPU's affinity.
if [ -z "${BENCH_CPU:-}" ]; then
	list=$(taskset -pc $$ | sed 's/.*: *//')
	BENCH_CPU=${list##*[,-]}
fi
PIN=()
if [ "$BENCH_CPU" != none ]; then
	[[ $BENCH_CPU =~ ^[0-9]+$ ]] || die "BENCH_CPU=$BENCH_CPU: not a CPU number"
	PIN=(taskset -c "$BENCH_CPU")
fi

WORK=$(mktemp -d /tmp/sockwatch-analyze.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# tcpdump, run as root, reads the file as root but then runs as the
# tcpdump user; let it in.
chmod 0755 "$WORK"
FILE=$WORK/bench.pcap

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

note "generating $NPKTS packets from about $NSRC sources"
"$MKPCAP" -n "$NPKTS" -s "$NSRC" "$FILE"
chmod 0644 "$FILE"
size=$(stat -c %s "$FILE")

# Sanity: tcpdump reads the whole file without complaint, and the floor
# sees every packet.
"$TCPDUMP" -r "$FILE" -w /dev/null 2>"$WORK/tcpdump.err" ||
    die "tcpdump -r failed: $(cat "$WORK/tcpdump.err")"
if grep -v '^reading from file' "$WORK/tcpdump.err" | grep -q .; then
	die "tcpdump complained: $(cat "$WORK/tcpdump.err")"
fi
"$FLOOR" "$FILE" > "$WORK/floor.out"
floor_pkts=$(awk '$1 == "packets" { print $2 }' "$WORK/floor.out")
floor_srcs=$(awk '$1 == "sources" { print $2 }' "$WORK/floor.out")
[ "$floor_pkts" = "$NPKTS" ] ||
    die "pcap_floor counted $floor_pkts packets, not $NPKTS"

# sockwatch analyze: exit 0 (no alert) or 1 (alerts) is a success; the
# generated traffic has scanners, so 1 is expected.
sw_note=
sw_rc=
if [ -z "$SW" ]; then
	sw_note="$BUILD/sockwatch is not built"
elif ! "$SW" analyze -h >/dev/null 2>&1; then
	sw_note="\`sockwatch analyze -h\` fails: the subcommand is not there yet"
else
	sw_rc=0
	"$SW" analyze "$FILE" --json > "$WORK/analyze.json" 2>"$WORK/analyze.err" ||
	    sw_rc=$?
	if [ "$sw_rc" -gt 1 ]; then
		sw_note="\`sockwatch analyze\` exited $sw_rc: $(head -c 300 "$WORK/analyze.err")"
		sw_rc=
	fi
fi
[ -z "$sw_note" ] || note "skipping sockwatch analyze: $sw_note"

# bench NAME IGNORE_EXIT COMMAND...: one hyperfine run, without a shell,
# output to /dev/null (hyperfine's default), results in $WORK/NAME.json.
bench() {
	local name=$1 ignore=$2 opts=()
	shift 2
	[ "$ignore" = 1 ] && opts=(--ignore-failure)
	note "timing $name ($RUNS runs)"
	"${PIN[@]}" hyperfine --style basic -N --runs "$RUNS" --warmup 1 \
	    "${opts[@]}" --export-json "$WORK/$name.json" -n "$name" "$*" >&2
}

bench tcpdump 0 "$TCPDUMP" -r "$FILE" -w /dev/null
bench floor 0 "$FLOOR" "$FILE"
[ -n "$sw_rc" ] && bench sockwatch 1 "$SW" analyze "$FILE" --json

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median_ms() { jq -r '.results[0].median * 1000' "$WORK/$1.json"; }
cpu_ms() { jq -r '(.results[0].user + .results[0].system) * 1000' "$WORK/$1.json"; }

floor_ms=$(median_ms floor)

# row NAME LABEL: a table row for the hyperfine result NAME.
row() {
	local ms cpu
	ms=$(median_ms "$1")
	cpu=$(cpu_ms "$1")
	awk -v label="$2" -v ms="$ms" -v cpu="$cpu" -v n="$NPKTS" \
	    -v floor="$floor_ms" 'BEGIN {
		printf "| %s | %.1f | %.2f M | %.2fx | %.1f |\n",
		    label, ms, n / ms / 1000, ms / floor, cpu
	}'
}

if [ ${#PIN[@]} -gt 0 ]; then
	pinned="every command pinned to CPU $BENCH_CPU (\`taskset -c $BENCH_CPU\`)"
else
	pinned="commands not pinned to a CPU (BENCH_CPU=none)"
fi
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rev=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)

cat <<EOF
### Offline analysis: $NPKTS packets

- sockwatch $rev; $(uname -sr); ${cpu_model:-unknown CPU}, $(nproc --all) CPUs; $pinned
- The capture: \`bench/mkpcap -n $NPKTS -s $NSRC\`, $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), classic pcap, Ethernet; $floor_pkts packets from $floor_srcs source addresses (pcap_floor's count, the victim's two included); in the page cache
- $("$TCPDUMP" --version 2>&1 | head -2 | paste -sd ';' | sed 's/;/; /'); $(hyperfine --version); median of $RUNS runs after 1 warm-up, \`hyperfine -N\` (no shell), each command's output to /dev/null
- Load average before: $load_before; after: $load_after

| command | median ms | packets/s | x floor | CPU ms (user+sys, mean) |
|---|---:|---:|---:|---:|
EOF
row tcpdump "\`tcpdump -r FILE -w /dev/null\`"
row floor "\`bench/pcap_floor FILE\` (the floor)"
if [ -n "$sw_rc" ]; then
	row sockwatch "\`sockwatch analyze FILE --json > /dev/null\`"
else
	echo "| \`sockwatch analyze FILE --json > /dev/null\` | skipped | | | |"
fi
echo

if [ -n "$sw_rc" ]; then
	sw_ms=$(median_ms sockwatch)
	awk -v ms="$sw_ms" -v n="$NPKTS" -v floor="$floor_ms" -v rc="$sw_rc" 'BEGIN {
		pps = n / ms * 1000; r = ms / floor
		printf "Targets (issue 4): >= 5 M packets/s on one core: %s (%.2f M); within 2x of the floor: %s (%.2fx). `sockwatch analyze` exited %d (%s).\n",
		    (pps >= 5e6 ? "met" : "NOT met"), pps / 1e6,
		    (r <= 2 ? "met" : "NOT met"), r, rc,
		    (rc == 1 ? "alerts raised" : "no alert")
	}'
else
	echo "Targets (issue 4): >= 5 M packets/s on one core, within 2x of the floor: not measured, $sw_note."
fi
