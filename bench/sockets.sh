#!/bin/bash
# Benchmark: `sockwatch sockets` against `ss`, and against the bare netlink
# dump (bench/nldump), at 10,000 and 50,000 established loopback TCP
# connections (20,000 and 100,000 sockets), in a private network namespace.
#
# Usage: bench/sockets.sh [BUILD]   (BUILD is the build directory, default
# "build"; it must hold sockwatch and bench/nldump). Run as root. Prints a
# markdown report on stdout; progress goes to stderr.
set -euo pipefail

BUILD=${1:-build}
# Established connections (twice as many sockets); override for a quick try.
read -ra SIZES <<< "${BENCH_SIZES:-10000 50000}"
PER_PROC=8000		# connections per mkconns.py (20,000 open files each)
RUNS=${BENCH_RUNS:-7}

here=$(cd "$(dirname "$0")/.." && pwd)
MKCONNS=$here/tests/tools/mkconns.py

die() { echo "sockets.sh: $*" >&2; exit 1; }
note() { echo "sockets.sh: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "$BUILD/sockwatch" ] || die "$BUILD/sockwatch: not built"
[ -x "$BUILD/bench/nldump" ] || die "$BUILD/bench/nldump: not built"
SW=$(realpath "$BUILD/sockwatch")
NLDUMP=$(realpath "$BUILD/bench/nldump")
for t in ip ss hyperfine python3; do
	command -v "$t" >/dev/null || die "$t: not installed"
done

NS=swbench-$$
WORK=$(mktemp -d /tmp/sockwatch-bench.XXXXXX)
PIDS=()
NS_MADE=0

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$NS_MADE" -eq 1 ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up
# Keep the listening ports (5000 and up) out of the ephemeral range.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nconns=0	# established connections held so far
nprocs=0	# mkconns.py processes, one listener each

# grow TARGET: start mkconns.py processes, in parallel, until TARGET
# connections are held; wait until every one of them is ready.
grow() {
	local target=$1 n ready waiting=() deadline f pid
	while [ "$nconns" -lt "$target" ]; do
		n=$((target - nconns))
		[ "$n" -gt "$PER_PROC" ] && n=$PER_PROC
		ready=$WORK/ready.$nprocs
		ip netns exec "$NS" python3 "$MKCONNS" "$((5000 + nprocs))" \
		    "$n" "$ready" &
		PIDS+=("$!")
		waiting+=("$ready")
		nprocs=$((nprocs + 1))
		nconns=$((nconns + n))
	done
	deadline=$((SECONDS + 180))
	for f in "${waiting[@]}"; do
		while [ ! -e "$f" ]; do
			[ "$SECONDS" -lt "$deadline" ] ||
			    die "timed out waiting for $f"
			for pid in "${PIDS[@]}"; do
				kill -0 "$pid" 2>/dev/null ||
				    die "mkconns.py (pid $pid) died"
			done
			sleep 0.2
		done
	done
}

# bench SIZE: time the five commands in one hyperfine run, in the namespace.
# --direct: ask the kernel, never a sockwatchd that may run on the host (it
# would answer for the host's namespace, not this one).
bench() {
	local size=$1 d=$WORK/$1
	mkdir -p "$d"
	note "timing $size connections ($((2 * size)) sockets), $RUNS runs each"
	ip netns exec "$NS" hyperfine --style basic --runs "$RUNS" --warmup 1 \
	    --export-json "$d/hyperfine.json" \
	    -n "sockwatch sockets -t -a --direct" \
	    "'$SW' sockets -t -a --direct > '$d/sw'" \
	    -n "ss -tan" "ss -tan > '$d/ss'" \
	    -n "sockwatch sockets -t -a -p --direct" \
	    "'$SW' sockets -t -a -p --direct > '$d/swp'" \
	    -n "ss -tanp" "ss -tanp > '$d/ssp'" \
	    -n "nldump" "'$NLDUMP' > '$d/nl'" >&2
	# Sanity: the files the last timed runs wrote. One header line each.
	wc -l < "$d/sw" > "$d/lines.sw"
	wc -l < "$d/ss" > "$d/lines.ss"
	wc -l < "$d/swp" > "$d/lines.swp"
	wc -l < "$d/ssp" > "$d/lines.ssp"
	awk '{print $1}' "$d/nl" > "$d/count.nl"
	echo $((2 * size + nprocs)) > "$d/expect"
}

for size in "${SIZES[@]}"; do
	note "creating $size established connections"
	t0=$SECONDS
	grow "$size"
	note "ready after $((SECONDS - t0))s ($nprocs processes)"
	bench "$size"
done

rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$rev" != unknown ] && [ -n "$(git -C "$here" status --porcelain \
    -- cli common monitor 2>/dev/null)" ]; then
	rev="$rev (with uncommitted changes)"
fi

cat <<EOF
- Command: \`bench/sockets.sh $BUILD\` (\`make bench\` runs \`bench/sockets.sh build\`)
- Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); host load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after
- sockwatch $rev; $(ss -V); $(hyperfine --version); median of $RUNS runs after 1 warm-up, each command run inside the namespace with its output redirected to a file

EOF

python3 - "$WORK" "${SIZES[@]}" <<'EOF'
import json, sys

work, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
SW, SWP = "sockwatch sockets -t -a --direct", "sockwatch sockets -t -a -p --direct"
targets = {SW: ("ss -tan", 0.5), SWP: ("ss -tanp", 0.1)}
pairs = {SW: "sw", "ss -tan": "ss", SWP: "swp", "ss -tanp": "ssp"}
ok = True

def read(path):
    with open(path) as f:
        return f.read().strip()

print("| sockets | command | median ms | sockwatch / ss | x nldump | CPU ms (user+sys, mean) |")
print("|--:|:--|--:|--:|--:|--:|")
verdicts, sanity = [], []
for size in sizes:
    d = "%s/%d" % (work, size)
    with open(d + "/hyperfine.json") as f:
        res = {r["command"]: r for r in json.load(f)["results"]}
    med = {k: v["median"] * 1000 for k, v in res.items()}
    floor = med["nldump"]
    for name in [SW, "ss -tan", SWP, "ss -tanp", "nldump"]:
        ratio = ""
        if name in targets:
            ratio = "%.2f" % (med[name] / med[targets[name][0]])
        cpu = (res[name]["user"] + res[name]["system"]) * 1000
        print("| %d | `%s` | %.1f | %s | %.1f | %.0f |"
              % (2 * size, name, med[name], ratio, med[name] / floor, cpu))
    for name, (ref, limit) in targets.items():
        r = med[name] / med[ref]
        verdicts.append("- %d sockets: `%s` / `%s` = %.2f, target <= %.1f: **%s**"
                        % (2 * size, name, ref, r, limit,
                           "met" if r <= limit else "NOT met"))
    expect = int(read(d + "/expect"))
    nl = int(read(d + "/count.nl"))
    lines = {k: int(read(d + "/lines." + v)) - 1 for k, v in pairs.items()}
    good = nl == expect and all(n == nl for n in lines.values())
    ok = ok and good
    sanity.append("- %d sockets: expected %d TCP sockets; nldump %d; "
                  "lines without header: %s: **%s**"
                  % (2 * size, expect, nl,
                     ", ".join("`%s` %d" % kv for kv in lines.items()),
                     "same" if good else "MISMATCH"))
print()
print("Targets (from issue 2):")
print()
print("\n".join(verdicts))
print()
print("Sanity check (the files written by the last timed run of each command):")
print()
print("\n".join(sanity))
sys.exit(0 if ok else 1)
EOF
