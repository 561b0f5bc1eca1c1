#!/bin/bash
# Benchmark: `sockwatch sockets` against `ss`, and against the bare netlink
# dump (bench/nldump), at 1,000, 20,000 and 50,000 established loopback TCP
# connections (2,000, 40,000 and 100,000 sockets), in a private network
# namespace; each sockwatch command on each of its paths: the default (as
# root: owners from the BPF task_file iterator, sockets from sock_diag),
# SOCKWATCH_BPF=sockets (TCP from the BPF iterator too) and the fallback,
# SOCKWATCH_BPF=0 (sock_diag and /proc).
#
# Usage: bench/sockets.sh [BUILD]   (BUILD is the build directory, default
# "build"; it must hold sockwatch and bench/nldump). Run as root. Prints a
# markdown report on stdout; progress goes to stderr.
set -euo pipefail

BUILD=${1:-build}
# Established connections (twice as many sockets); override for a quick try.
read -ra SIZES <<< "${BENCH_SIZES:-1000 20000 50000}"
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

# The commands: name|output file|command line. --direct: ask the kernel,
# never a sockwatchd that may run on the host (it would answer for the
# host's namespace, not this one).
CMDS=(
	"sockets -t -a|sw|'$SW' sockets -t -a --direct"
	"sockets -t -a, BPF iter/tcp|swb|SOCKWATCH_BPF=sockets '$SW' sockets -t -a --direct"
	"ss -tan|ss|ss -tan"
	"sockets -t -a -p|swp|'$SW' sockets -t -a -p --direct"
	"sockets -t -a -p, BPF iter/tcp|swbp|SOCKWATCH_BPF=sockets '$SW' sockets -t -a -p --direct"
	"sockets -t -a -p, fallback|swfp|SOCKWATCH_BPF=0 '$SW' sockets -t -a -p --direct"
	"ss -tanp|ssp|ss -tanp"
	"nldump|nl|'$NLDUMP'"
)

# bench SIZE: time the commands in one hyperfine run, in the namespace.
bench() {
	local size=$1 d=$WORK/$1 c name file cmd args=()
	mkdir -p "$d"
	note "timing $size connections ($((2 * size)) sockets), $RUNS runs each"
	for c in "${CMDS[@]}"; do
		IFS='|' read -r name file cmd <<<"$c"
		args+=(-n "$name" "$cmd > '$d/$file'")
	done
	ip netns exec "$NS" hyperfine --style basic --runs "$RUNS" --warmup 1 \
	    --export-json "$d/hyperfine.json" "${args[@]}" >&2
	# Sanity: the files the last timed runs wrote. One header line each.
	for c in "${CMDS[@]}"; do
		IFS='|' read -r name file cmd <<<"$c"
		[ "$file" = nl ] && continue
		wc -l < "$d/$file" > "$d/lines.$file"
	done
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
- sockwatch $rev; $(ss -V); $(hyperfine --version); median of $RUNS runs after 1 warm-up, each command run inside the namespace with its output redirected to a file; every sockwatch command with \`--direct\`

EOF

python3 - "$WORK" "${SIZES[@]}" <<'EOF'
import json, sys

work, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
# name, file, the ss command it is measured against, target, path
ROWS = [
    ("sockets -t -a", "sw", "ss -tan", 0.4, "sock_diag (default; fallback)"),
    ("sockets -t -a, BPF iter/tcp", "swb", "ss -tan", 0.4,
     "BPF iter/tcp (SOCKWATCH_BPF=sockets)"),
    ("ss -tan", "ss", None, None, ""),
    ("sockets -t -a -p", "swp", "ss -tanp", 0.05,
     "sock_diag + BPF task_file (default)"),
    ("sockets -t -a -p, BPF iter/tcp", "swbp", "ss -tanp", 0.05,
     "BPF iter/tcp + task_file (SOCKWATCH_BPF=sockets)"),
    ("sockets -t -a -p, fallback", "swfp", "ss -tanp", 0.05,
     "sock_diag + /proc (SOCKWATCH_BPF=0)"),
    ("ss -tanp", "ssp", None, None, ""),
    ("nldump", "nl", None, None, "the bare sock_diag dump"),
]
ok = True

def read(path):
    with open(path) as f:
        return f.read().strip()

print("| sockets | command | path | median ms | x ss (same run) | target | x nldump | CPU ms (user+sys, mean) |")
print("|--:|:--|:--|--:|--:|:--|--:|--:|")
sanity = []
for size in sizes:
    d = "%s/%d" % (work, size)
    with open(d + "/hyperfine.json") as f:
        res = {r["command"]: r for r in json.load(f)["results"]}
    med = {k: v["median"] * 1000 for k, v in res.items()}
    floor = med["nldump"]
    for name, _, ref, limit, path in ROWS:
        ratio = target = ""
        if ref is not None:
            r = med[name] / med[ref]
            ratio = "%.3f" % r
            target = "<= %g: %s" % (limit, "met" if r <= limit else
                                    "**missed, %.1fx**" % (r / limit))
        cpu = (res[name]["user"] + res[name]["system"]) * 1000
        print("| %d | `%s` | %s | %.1f | %s | %s | %.1f | %.0f |"
              % (2 * size, name, path, med[name], ratio, target,
                 med[name] / floor, cpu))
    expect = int(read(d + "/expect"))
    nl = int(read(d + "/count.nl"))
    lines = {name: int(read(d + "/lines." + f)) - 1
             for name, f, _, _, _ in ROWS if f != "nl"}
    good = nl == expect and all(n == nl for n in lines.values())
    ok = ok and good
    sanity.append("- %d sockets: expected %d TCP sockets; nldump %d; "
                  "lines without header: %s: **%s**"
                  % (2 * size, expect, nl,
                     ", ".join("`%s` %d" % kv for kv in lines.items()),
                     "same" if good else "MISMATCH"))
print()
print("Sanity check (the files written by the last timed run of each command):")
print()
print("\n".join(sanity))
sys.exit(0 if ok else 1)
EOF
