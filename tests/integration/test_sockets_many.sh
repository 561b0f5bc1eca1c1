#!/usr/bin/env bash
# 20,000 established loopback TCP connections (40,000 sockets) held by four
# processes (a process may have at most 20,000 open files): sockwatch must
# list every one, as many lines as ss, each with the right process.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
tools="$here/../tools"
cmp="$tools/compare_ss.py"
T=$SW_TMP
PER=5000
NS=$(ns_add many)

# Two IPv4 and two IPv6 listeners, PER connections each.
declare -A started
for port in 7001 7002 7003 7004; do
	fam=()
	[ "$port" -ge 7003 ] && fam=(-6)
	bg ip netns exec "$NS" python3 "$tools/mkconns.py" "${fam[@]}" \
	    "$port" "$PER" "$T/ready.$port"
	started[$port]=$!
done
pairs=()
for port in 7001 7002 7003 7004; do
	wait_file 90 "$T/ready.$port" "${started[$port]}" ||
	    fail "mkconns on port $port did not get ready in 90 s"
	read -r _ pid <"$T/ready.$port"
	[ "$pid" = "${started[$port]}" ] ||
	    fail "port $port: mkconns says pid $pid, started ${started[$port]}"
	pairs+=("$port=$pid")
done
total=$((4 * PER))
echo "$total connections up after ${SECONDS}s"

failures=0
check() {
	local what=$1
	shift
	if ! "$@"; then
		echo "FAILED: $what" >&2
		failures=$((failures + 1))
	fi
}

# timed NAME CMD...: run CMD in the namespace, stdout to $T/NAME; exit 0.
timed() {
	local name=$1 start rc=0 shown
	shift
	shown="$*"
	start=$(date +%s%N)
	ip netns exec "$NS" "$@" >"$T/$name" 2>"$T/$name.err" || rc=$?
	echo "${shown/#"$SW"/sockwatch}: $((($(date +%s%N) - start) / 1000000)) ms"
	if [ "$rc" -ne 0 ]; then
		echo "$* exited $rc:" >&2
		cat "$T/$name.err" >&2
		return 1
	fi
}

# Default (connected only): every established socket, nothing else.
timed est.json "$SW" sockets -t --json ||
    fail "sockwatch sockets -t --json failed"
check "sockets -t --json lists all $((2 * total)) established sockets" \
    python3 "$cmp" many "$T/est.json" --no-processes \
    --established=$((2 * total)) "${pairs[@]}"

# Text, everything: as many lines as ss -tan, from sock_diag and from
# the BPF TCP iterator.
timed ss.txt ss -tan || fail "ss -tan failed"
n_ss=$(wc -l <"$T/ss.txt")
[ "$n_ss" -eq $((2 * total + 4 + 1)) ] ||
    check "ss -tan shows $((2 * total + 4)) sockets and a header" false
for path in 0 sockets; do
	timed "all.$path.txt" env SOCKWATCH_BPF=$path "$SW" sockets -t -a ||
	    fail "SOCKWATCH_BPF=$path sockwatch sockets -t -a failed"
	n_sw=$(wc -l <"$T/all.$path.txt")
	echo "lines: sockwatch (SOCKWATCH_BPF=$path) $n_sw, ss $n_ss"
	[ "$n_sw" -eq "$n_ss" ] || check "SOCKWATCH_BPF=$path sockets -t -a:\
 $n_sw lines, ss -tan: $n_ss" false
done

# With processes: each socket held by exactly the process of its port,
# whoever finds the owners: the BPF task_file iterator (the default for
# root), with the BPF socket iterators too, or /proc.
for path in "" sockets 0; do
	timed "procs.$path.json" env SOCKWATCH_BPF=$path "$SW" sockets \
	    -t -a -p -v --json ||
	    fail "SOCKWATCH_BPF=$path sockwatch sockets -t -a -p failed"
	want="the BPF task_file iterator"
	if [ "$path" = 0 ] ||
	    grep -q 'built without BPF' "$T/procs.$path.json.err"; then
		want=/proc
	fi
	grep -q "processes from $want" "$T/procs.$path.json.err" ||
	    check "-v says processes from $want: $(head -1 \
	    "$T/procs.$path.json.err")" false
	check "SOCKWATCH_BPF=$path sockets -t -a -p: every socket, its pid" \
	    python3 "$cmp" many "$T/procs.$path.json" --listeners \
	    --established=$((2 * total)) "${pairs[@]}"
done

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
echo "all checks passed in ${SECONDS}s"
