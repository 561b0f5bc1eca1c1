#!/usr/bin/env bash
# Bad options and values: exit 2, nothing on stdout, one message on stderr
# that starts with "sockwatch: " and names what was wrong. Help and
# --version: exit 0.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
T=$SW_TMP
NS=$(ns_add cli)
failures=0

# run ARGS...: sockwatch in the namespace; sets rc, out and err files.
run() {
	rc=0
	ip netns exec "$NS" "$SW" "$@" >"$T/out" 2>"$T/err" || rc=$?
}

bad() {
	echo "FAILED: sockwatch $1: $2" >&2
	sed 's/^/    stdout: /' "$T/out" >&2
	sed 's/^/    stderr: /' "$T/err" >&2
	failures=$((failures + 1))
}

# usage_error NAMED ARGS...: must exit 2, print nothing on stdout, and
# start stderr with "sockwatch: " and name NAMED there.
usage_error() {
	local named=$1 args
	shift
	args="$*"
	run "$@"
	if [ "$rc" -ne 2 ]; then
		bad "$args" "exit status $rc, want 2"
	elif [ -s "$T/out" ]; then
		bad "$args" "wrote to stdout"
	elif [ "$(head -c 11 "$T/err")" != "sockwatch: " ]; then
		bad "$args" "stderr does not start with 'sockwatch: '"
	elif ! head -n 1 "$T/err" | grep -qF -- "$named"; then
		bad "$args" "the message does not name '$named'"
	else
		echo "ok: sockwatch $args: $(head -n 1 "$T/err")"
	fi
}

usage_error --bogus sockets --bogus
usage_error --bogus sockets -t --bogus=1
usage_error -Z sockets -Z
usage_error -Z sockets -tZ
usage_error -x listeners -x
usage_error --state listeners --state listen
usage_error 70000 sockets --port 70000
usage_error 65536 sockets --port 65536
usage_error abc sockets --port abc
usage_error -1 sockets --port -1
usage_error +80 sockets --port +80
usage_error 99999999999999999999 sockets --port 99999999999999999999
usage_error 70000 listeners --port 70000
usage_error --port sockets --port
usage_error --peer sockets --peer
usage_error 198.18.0.1/33 sockets --peer 198.18.0.1/33
usage_error 2001:db8::/129 sockets --peer 2001:db8::/129
usage_error 198.18.0.1/ sockets --peer 198.18.0.1/
usage_error 198.18.0.300 sockets --peer 198.18.0.300
usage_error 2001:db8::g sockets --peer 2001:db8::g
usage_error bogus sockets --state bogus
usage_error ESTABLISHED sockets --state ESTABLISHED
usage_error bogus sockets --state established --state bogus
usage_error frobnicate frobnicate
usage_error --bogus top --bogus
usage_error -n top --once -n 0
usage_error extra top extra
usage_error --filter top --filter "$(printf 'x%.0s' {1..64})"
usage_error extra sockets extra

# No command at all: a usage error too (the usage goes to stderr).
run
if [ "$rc" -ne 2 ] || [ -s "$T/out" ] || [ ! -s "$T/err" ]; then
	bad "(no arguments)" "want exit 2, usage on stderr only; got $rc"
fi

# good ARGS...: exit 0, something on stdout, nothing on stderr.
good() {
	local args="$*"
	run "$@"
	if [ "$rc" -ne 0 ]; then
		bad "$args" "exit status $rc, want 0"
	elif [ ! -s "$T/out" ] || [ -s "$T/err" ]; then
		bad "$args" "want output on stdout and none on stderr"
	else
		echo "ok: sockwatch $args"
	fi
}
good --version
grep -Eq '^sockwatch [0-9]+\.[0-9]+' "$T/out" ||
    bad --version "does not print 'sockwatch VERSION'"
for h in "-h" "--help" "sockets -h" "sockets --help" "listeners -h" \
    "top -h"; do
	# shellcheck disable=SC2086
	good $h
	grep -q '^usage: sockwatch' "$T/out" || bad "$h" "no usage line"
done

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
echo "all checks passed"
