#!/usr/bin/env bash
# etc/sockwatch.bash-completion under bash-completion's own framework:
# what TAB offers in a few cases (commands, options, option values, file
# arguments), and, so that it cannot fall behind the programs, that it
# offers every command and long option that `sockwatch -h`, `sockwatch
# COMMAND -h` and `sockwatchd -h` list, the socket states `sockwatch
# sockets -h` lists and the sort keys of `sockwatch peers -h`.
# Usage: test_completion.sh BUILD
set -uo pipefail
build=$(cd "${1:?usage: test_completion.sh BUILD}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
framework=/usr/share/bash-completion/bash_completion

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -r "$framework" ] || fail "$framework missing (make deps)"
# shellcheck source=/dev/null
. "$framework"
# shellcheck source=../../etc/sockwatch.bash-completion disable=SC1091
. "$top/etc/sockwatch.bash-completion"
sw="$build/sockwatch"
swd="$build/sockwatchd"

# oneline TEXT: TEXT's words on one line, for messages.
oneline() {
	tr -s ' \n' '  ' <<<"$1"
}

# offered LINE: what TAB offers at the end of LINE, sorted, one a line.
offered() {
	local COMP_LINE=$1 COMP_POINT=${#1} COMP_WORDS COMP_CWORD
	local -a COMPREPLY=()
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	"$(complete -p "${COMP_WORDS[0]}" | awk '{ print $(NF - 1) }')" \
	    "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WORD...: TAB at the end of LINE offers exactly the WORDs.
n=0
expect() {
	local line=$1 got want
	shift
	got=$(offered "$line")
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] ||
	    fail "'$line<TAB>' offers [$(oneline "$got")]," \
	    "want [$(oneline "$want")]"
	n=$((n + 1))
}

# has LINE WORD...: TAB at the end of LINE offers (at least) the WORDs.
has() {
	local line=$1 got w
	shift
	got=$(offered "$line")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" ||
		    fail "'$line<TAB>' does not offer $w: [$(oneline "$got")]"
	done
	n=$((n + 1))
}

expect "sockwatch s" sockets status
expect "sockwatch -S /tmp/x.sock b" bans block
expect "sockwatch --socket=/tmp/x.sock li" listeners
expect "sockwatch sockets --state fin" fin-wait-1 fin-wait-2
expect "sockwatch sockets --state=time" time-wait
expect "sockwatch alerts --kind port" portscan
# The children's deaths (sockwatchd(8)): alerts of their own kinds.
expect "sockwatch alerts --kind " listener portscan synflood bruteforce \
    denylist connect database bans inspector exporter
expect "sockwatch peers --sort " packets bytes ports syn
expect "sockwatch alerts --f" --follow
expect "sockwatch bans --" --json --help
expect "sockwatch block --for " 
expect "sockwatchd --re" --replay

# File arguments, in a directory of our own.
tmp=$(mktemp -d /tmp/sw-compl.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dir"
touch "$tmp/a.pcap" "$tmp/b.pcapng" "$tmp/notes.txt" "$tmp/x.conf"
cd "$tmp" || fail "cd $tmp"
expect "sockwatch analyze " a.pcap b.pcapng dir
expect "sockwatch analyze -c " dir x.conf
expect "sockwatch check-config " a.pcap b.pcapng dir notes.txt x.conf
expect "sockwatch block -f n" notes.txt
expect "sockwatch -S x" x.conf
expect "sockwatch --socket=n" notes.txt
expect "sockwatchd --replay " a.pcap b.pcapng dir
cd / || fail "cd /"

# The programs' own usage texts.
cmds=$("$sw" -h | awk '/^commands:/ { on = 1; next } on && !NF { exit }
    on { print $1 }')
[ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "sockwatch -h lists: $cmds"
# shellcheck disable=SC2086
has "sockwatch " $cmds
for c in $cmds; do
	longs=$("$sw" "$c" -h | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	# shellcheck disable=SC2086
	has "sockwatch $c -" $longs --help
done
# Nothing offered that the usage does not list (a removed command).
# shellcheck disable=SC2086
expect "sockwatch " $cmds
longs=$("$swd" -h 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u)
# shellcheck disable=SC2086
has "sockwatchd -" $longs
states=$("$sw" sockets -h | awk '/--state/ { on = 1; sub(/.*\):/, "") }
    /--port/ { on = 0 } on' | tr -s ', \n' '\n' | sed '/^$/d')
[ "$(wc -w <<<"$states")" -ge 12 ] || fail "sockets -h states: $states"
# shellcheck disable=SC2086
expect "sockwatch sockets --state " $states
sorts=$("$sw" peers -h | grep -oE -- '--sort [a-z|]+' | cut -d' ' -f2 |
    tr '|' ' ')
# shellcheck disable=SC2086
expect "sockwatch peers --sort " $sorts
echo "completion: $n cases ok ($(wc -w <<<"$cmds") commands checked" \
    "against sockwatch -h)"
