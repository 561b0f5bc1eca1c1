#!/usr/bin/env bash
# Known sockets in a namespace: `sockwatch sockets` must report what ss
# reports, field by field, and its filters and `sockwatch listeners` must
# select exactly the known sockets they should.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
tools="$here/../tools"
cmp="$tools/compare_ss.py"
T=$SW_TMP

A=$(ns_add socka)
B=$(ns_add sockb)
ns_link "$A" 198.18.0.1 "$B" 198.18.0.2 2001:db8::1 2001:db8::2
ifa=$(ns_ifname "$A")
[ -n "$ifa" ] || fail "no veth in $A"
# Neighbours that exist for the kernel but never answer: connects to them
# stay in SYN-SENT for longer than this test runs.
ip -n "$A" neigh add 198.18.0.99 lladdr 02:00:00:00:00:99 dev "$ifa" \
    nud permanent
ip -n "$A" -6 neigh add 2001:db8::99 lladdr 02:00:00:00:00:99 dev "$ifa" \
    nud permanent

mkdir "$T/a"
bg ip netns exec "$A" python3 "$tools/mksocks.py" server "$T/a" \
    --v4 198.18.0.1 --v6 2001:db8::1 --peer4 198.18.0.2 \
    --peer6 2001:db8::2 --dead4 198.18.0.99 --dead6 2001:db8::99 \
    --ifname "$ifa"
srv=$!
wait_file 20 "$T/a/listening" "$srv" || fail "mksocks server did not start"
read -r srvpid child <"$T/a/listening"
sw_own "$child"
[ "$srvpid" = "$srv" ] || fail "server pid $srvpid, started $srv"
bg ip netns exec "$B" python3 "$tools/mksocks.py" client "$T/b.ready" \
    198.18.0.1:7001 '[2001:db8::1]:7003'
cli=$!
wait_file 20 "$T/b.ready" "$cli" || fail "mksocks client did not connect"
wait_file 20 "$T/a/manifest.json" "$srv" ||
    fail "mksocks server did not accept the client's connections"
man="$T/a/manifest.json"
echo "known sockets: $(python3 -c 'import json,sys
print(len(json.load(open(sys.argv[1]))))' "$man") in $A"

failures=0
path=none
path_env=()
# check DESCRIPTION CMD...: run one comparison; count, don't stop.
check() {
	local what=$1
	shift
	if ! "$@"; then
		echo "FAILED ($path path): $what" >&2
		failures=$((failures + 1))
	fi
}

# sw NS OUT ARGS...: run sockwatch in NS, stdout to OUT; it must exit 0.
sw() {
	local ns=$1 out=$2 rc=0
	shift 2
	ip netns exec "$ns" env "${path_env[@]}" "$SW" "$@" >"$out" \
	    2>"$out.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "sockwatch $* exited $rc:" >&2
		cat "$out.err" >&2
		return 1
	fi
}

# path_select PATH: make sw() list the way PATH says, and check with -v
# that it does: bpf, the default for root (owners from the BPF task_file
# iterator, sockets from sock_diag); bpf-sockets (TCP and UDP from the BPF
# socket iterators too); fallback (sock_diag and /proc). Fails for the
# BPF paths when this sockwatch is built without BPF iterators.
path_select() {
	local want
	path=$1
	case $path in
	bpf)
		path_env=(-u SOCKWATCH_BPF)
		want="sockets from sock_diag, processes from the BPF"
		want+=" task_file iterator" ;;
	bpf-sockets)
		path_env=(SOCKWATCH_BPF=sockets)
		want="sockets from BPF iterators, processes from the BPF"
		want+=" task_file iterator" ;;
	*)
		path_env=(SOCKWATCH_BPF=0)
		want="sockets from sock_diag, processes from /proc" ;;
	esac
	sw "$A" "$T/path.out" sockets -a -p -v || fail "sockets -v failed"
	if [ "$path" != fallback ] &&
	    grep -q 'built without BPF' "$T/path.out.err"; then
		echo "no $path path: sockwatch is built without BPF iterators"
		return 1
	fi
	if ! grep -qF "sockwatch: $want" "$T/path.out.err"; then
		check "-v says so: $(cat "$T/path.out.err")" false
		return 1
	fi
	echo "--- the $path path"
}

# ss_same 'SOCKWATCH ARGS' SS ARGS...: the filters that ss has too must
# agree with it.
ss_same() {
	local args=$1
	shift
	ip netns exec "$A" ss "$@" >"$T/ss.f" 2>/dev/null ||
	    fail "ss $* failed"
	# shellcheck disable=SC2086
	if sw "$A" "$T/sw.f.json" $args -p --json; then
		check "sockwatch $args as ss $*" \
		    python3 "$cmp" ss "$T/ss.f" "$T/sw.f.json"
	else
		check "sockwatch $args" false
	fi
}

# sel LABEL 'SOCKWATCH ARGS' SELECT-OPTIONS...: sockwatch must select
# exactly the known sockets that pass (not on the bpf path: it selects
# with sock_diag, as the fallback).
sel() {
	local label=$1 args=$2 out
	[ "$path" = bpf ] && return
	shift 2
	out="$T/sel.$((++nsel)).json"
	# shellcheck disable=SC2086
	if ! sw "$A" "$out" $args --json; then
		echo "FAILED: $label: sockwatch $args" >&2
		failures=$((failures + 1))
		return
	fi
	check "$label (sockwatch $args)" \
	    python3 "$cmp" select "$label" "$man" "$out" "$@"
}

# textcheck LABEL 'SOCKWATCH ARGS': a header, one line per socket, IPv6
# as [addr]:port.
textcheck() {
	local label=$1 args=$2
	# shellcheck disable=SC2086
	if sw "$A" "$T/text.out" $args &&
	    sw "$A" "$T/text.json" $args --json; then
		check "$label" python3 "$cmp" text "$label" \
		    "$T/text.out" "$T/text.json"
	else
		echo "FAILED: $label" >&2
		failures=$((failures + 1))
	fi
}

# Sections 1 to 3 once per path: each must give what ss gives.
for p in bpf bpf-sockets fallback; do
	path_select "$p" || continue
	# 1. Everything, against ss, in both namespaces; and against the
	# manifest.
	for ns in "$A" "$B"; do
		# (ss -e complains on stderr when it finds no cgroup2 mount.)
		ip netns exec "$ns" ss -tuaxnpe >"$T/ss.$ns" \
		    2>"$T/ss.$ns.err" ||
		    fail "ss failed in $ns: $(cat "$T/ss.$ns.err")"
		sw "$ns" "$T/all.$ns.json" sockets -a -t -u -x -p --json ||
		    fail "sockwatch sockets -a -t -u -x -p --json failed in $ns"
		check "ss vs sockwatch in $ns" \
		    python3 "$cmp" ss "$T/ss.$ns" "$T/all.$ns.json"
	done
	check "known sockets" python3 "$cmp" manifest "$man" "$T/all.$A.json"

	# The filters that ss has too must agree with it.
	ss_same "sockets -t -u -x" -tuxnpe
	ss_same "sockets -l -t -u -x" -ltuxnpe
	# (Two states: with one, ss leaves out its State column.)
	ss_same "sockets -t -u -x --state established --state syn-sent" \
	    -tuxnpe state established state syn-sent
	ss_same "sockets -a --port 7002" -tuanpe \
	    '( sport = :7002 or dport = :7002 )'
	ss_same "sockets -a --peer 198.18.0.0/15" -tuanpe dst 198.18.0.0/15
	ss_same "sockets -a -6 --peer 2001:db8::/32" -tuanpe6 dst 2001:db8::/32

	# 2. Filters: sockwatch must select exactly the known sockets that pass.
	nsel=0
	# shellcheck disable=SC2054
	connected=(--not-state listen,unconn,close,time-wait,syn-recv)
	sel "default: connected TCP and UDP" "sockets" \
	    --proto tcp,udp "${connected[@]}"
	sel "default with -x" "sockets -t -u -x" "${connected[@]}"
	sel "-t only" "sockets -t" --proto tcp "${connected[@]}"
	sel "-u only" "sockets -u" --proto udp "${connected[@]}"
	sel "-x only" "sockets -x" --proto unix "${connected[@]}"
	sel "-a" "sockets -a" --proto tcp,udp
	sel "-l" "sockets -l" --proto tcp,udp --state listen,unconn
	sel "-l with -x" "sockets -l -t -u -x" --state listen,unconn
	sel "--state established" "sockets --state established -t -u -x" \
	    --state established
	sel "--state twice" "sockets -t --state fin-wait-2 --state close-wait" \
	    --proto tcp --state fin-wait-2,close-wait
	sel "--state syn-sent" "sockets --state syn-sent" \
	    --proto tcp,udp --state syn-sent
	sel "--state listen -x" "sockets -x --state listen" \
	    --proto unix --state listen
	sel "--state unconn" "sockets -u -x --state unconn" \
	    --proto udp,unix --state unconn
	sel "--port on the local end" "sockets -a --port 7002" \
	    --proto tcp,udp --port 7002
	sel "--port, connected only" "sockets --port 7002" \
	    --proto tcp,udp --port 7002 "${connected[@]}"
	sel "--port on the remote end (UDP)" "sockets -a -u --port 7201" \
	    --proto udp --port 7201
	sel "--port leaves out UNIX" "sockets -a -t -x --port 7004" \
	    --proto tcp --port 7004
	sel "--peer IPv4 host" "sockets -a --peer 198.18.0.2" \
	    --proto tcp,udp --peer 198.18.0.2/32
	sel "--peer IPv4 CIDR" "sockets -a --peer 198.18.0.0/15" \
	    --proto tcp,udp --peer 198.18.0.0/15
	sel "--peer IPv6 host" "sockets -a --peer 2001:db8::2/128" \
	    --proto tcp,udp --peer 2001:db8::2/128
	sel "--peer IPv6 CIDR" "sockets -a --peer 2001:db8::/32" \
	    --proto tcp,udp --peer 2001:db8::/32
	sel "--peer IPv4 matches IPv4-mapped IPv6" \
	    "sockets -a -t --peer 127.0.0.1" \
	    --proto tcp --peer 127.0.0.1/32
	sel "--peer ::1" "sockets -a --peer ::1" --proto tcp,udp --peer ::1/128
	sel "--port and --peer" "sockets -a -t --port 7002 --peer 127.0.0.0/8" \
	    --proto tcp --port 7002 --peer 127.0.0.0/8
	sel "-4" "sockets -a -4" --proto tcp,udp --family inet
	sel "-6" "sockets -a -6" --proto tcp,udp --family inet6
	sel "-4 -l" "sockets -4 -l" --proto tcp,udp --family inet \
	    --state listen,unconn
	sel "-6 connected" "sockets -6" --proto tcp,udp --family inet6 \
	    "${connected[@]}"
	sel "listeners" "listeners" --listeners
	sel "listeners -t" "listeners -t" --listeners --proto tcp
	sel "listeners -u -6" "listeners -u -6" --listeners --proto udp \
	    --family inet6
	sel "listeners --port" "listeners --port 7001" --listeners --port 7001

	# 3. Text output: a header, one line per socket, IPv6 as [addr]:port.
	textcheck "text, extended, with processes" "sockets -a -t -u -x -e -p"
	textcheck "text, plain" "sockets -a -t -u -x"
	textcheck "text, connected only" "sockets"
	textcheck "text, listeners" "listeners"
	grep -q '\[2001:db8::1\]:7003 ' "$T/text.out" ||
	    check "listeners text shows [2001:db8::1]:7003" false
	if grep -Eq '(^| )2001:db8::1:7003' "$T/text.out"; then
		check "listeners text has an unbracketed IPv6 endpoint" false
	fi
done
path=fallback
path_env=()

# 4. Without the privilege to read root's descriptors (nor to load BPF):
# the fallback path, every socket still listed, none attributed (root
# holds them all), and stderr says that attribution is partial.
rc=0
ip netns exec "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$SW" sockets -a -t -u -x -p -v --json >"$T/nobody.json" \
    2>"$T/nobody.err" || rc=$?
if [ "$rc" -ne 0 ]; then
	check "sockets -p as nobody exits 0 (got $rc: $(cat "$T/nobody.err"))" \
	    false
else
	grep -q '^sockwatch: .*partial' "$T/nobody.err" ||
	    check "sockets -p as nobody says attribution is partial" false
	grep -q '^sockwatch: sockets from sock_diag, processes from /proc' \
	    "$T/nobody.err" ||
	    check "sockets -p -v as nobody says sock_diag and /proc" false
	check "sockets -p as nobody lists every socket, without processes" \
	    python3 - "$man" "$T/nobody.json" <<'EOF'
import json, sys
man = {m["inode"] for m in json.load(open(sys.argv[1]))}
got = json.load(open(sys.argv[2]))
bad = [s for s in got if s["processes"]]
if {s["inode"] for s in got} != man or bad:
    print("inodes: want %d, got %d; with processes: %r"
          % (len(man), len(got), bad[:3]))
    sys.exit(1)
print("ok: as nobody: %d sockets, none attributed" % len(got))
EOF
fi

# With CAP_BPF and CAP_PERFMON but no other privilege, the BPF path: the
# same owners as root sees (section 1's last run, from /proc).
rc=0
ip netns exec "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon \
    "$SW" sockets -a -t -u -x -p -v --json >"$T/capbpf.json" \
    2>"$T/capbpf.err" || rc=$?
if grep -q 'built without BPF' "$T/capbpf.err"; then
	echo "no BPF check with capabilities: built without BPF iterators"
elif [ "$rc" -ne 0 ] || ! grep -q 'processes from the BPF task_file' \
    "$T/capbpf.err"; then
	check "sockets -p with CAP_BPF, CAP_PERFMON: rc $rc, $(cat \
	    "$T/capbpf.err")" false
else
	check "sockets -p with CAP_BPF and CAP_PERFMON: root's owners" \
	    python3 - "$T/all.$A.json" "$T/capbpf.json" <<'EOF'
import json, sys
def owners(path):
    return {s["inode"]: sorted((p["pid"], p["comm"]) for p in s["processes"])
            for s in json.load(open(path))}
root, caps = owners(sys.argv[1]), owners(sys.argv[2])
if root != caps:
    bad = [i for i in set(root) | set(caps) if root.get(i) != caps.get(i)]
    print("differ on %d sockets, e.g. %r: root %r, with caps %r"
          % (len(bad), bad[0], root.get(bad[0]), caps.get(bad[0])))
    sys.exit(1)
print("ok: with CAP_BPF and CAP_PERFMON: %d sockets, owners as root's"
      % len(caps))
EOF
fi

# 5. In a pid namespace of its own (a container's), every path names a
# process by the pid that namespace's /proc shows, not the host's.
# shellcheck disable=SC2016
ip netns exec "$A" unshare -p -f --mount-proc bash -c '
	sw=$1 t=$2
	python3 -c "import socket, time
s = socket.socket()
s.bind((\"127.0.0.1\", 7400))
s.listen()
time.sleep(30)" &
	py=$!
	for _ in $(seq 50); do
		ss -Hltn sport = :7400 | grep -q . && break
		sleep 0.1
	done
	echo "$py" >"$t/pidns.pid"
	"$sw" listeners -t --port 7400 -v --json >"$t/pidns.bpf.json" \
	    2>"$t/pidns.bpf.err"
	SOCKWATCH_BPF=0 "$sw" listeners -t --port 7400 --json \
	    >"$t/pidns.proc.json" 2>/dev/null
	kill "$py"' _ "$SW" "$T" || check "listeners in a pid namespace" false
check "listeners in a pid namespace: the pid there, on both paths" \
    python3 - "$T/pidns.pid" "$T/pidns.bpf.json" "$T/pidns.proc.json" \
    "$T/pidns.bpf.err" <<'EOF'
import json, sys
pid = int(open(sys.argv[1]).read())
want = [{"pid": pid, "comm": "python3"}]
for path in sys.argv[2:4]:
    got = [[{"pid": p["pid"], "comm": p["comm"]} for p in s["processes"]]
           for s in json.load(open(path))]
    if got != [want]:
        print("%s: want %r, got %r" % (path, [want], got))
        sys.exit(1)
print("ok: pid %d in its namespace (%s)"
      % (pid, open(sys.argv[4]).read().strip()))
EOF

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
echo "all checks passed"
