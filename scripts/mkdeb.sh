#!/usr/bin/env bash
# make deb: build the Debian package from debian/ into OUTDIR
# (sockwatch_VERSION_ARCH.deb, its -dbgsym package, the .buildinfo and the
# .changes), then check it with lintian, which must find no error.
#
# The build runs in a copy of the tree in a temporary directory:
# dpkg-buildpackage writes its results next to the source directory, and
# its clean step runs make clean, which would wipe the developer's build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: mkdeb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=$(sed -n 's/^#define[[:space:]]*SW_VERSION[[:space:]]*"\(.*\)"$/\1/p' \
    "$top/daemon/sockwatchd.h")
if [ "${ver%-*}" != "$upstream" ]; then
	echo "mkdeb: debian/changelog is at $ver, sockwatchd at $upstream:" \
	    "add a changelog entry (dch -v $upstream-1)" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

tmp=$(mktemp -d /tmp/sockwatch-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src="$tmp/sockwatch-$upstream"
mkdir "$src"
# The tree as it stands, without build output: in a checkout, the files
# git knows of or would add (changes not yet committed included).
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./.git --exclude='./build*' -cf - . |
	    tar -C "$src" -xf -
fi

log="$out/sockwatch_${ver}_$arch.build"
echo "mkdeb: building sockwatch $ver in $src (log: $log)"
# Not with the variables of a make that runs us (make deb BUILD=DIR puts
# BUILD in MAKEFLAGS; the integration tests export it): the package's
# make would find DIR's programs up to date and package those.
if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
    -u SAN -u LTO dpkg-buildpackage -us -uc -b -Jauto) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "mkdeb: dpkg-buildpackage failed; the whole log is $log" >&2
	exit 1
fi
if ! [ -x "$src/build/sockwatchd" ] || ! [ -x "$src/build/sockwatch" ]; then
	echo "mkdeb: the programs were not built in $src (see $log)" >&2
	exit 1
fi

# names: the package names in a list of dependencies on stdin.
names() {
	tr ',|' '\n' | sed 's/[(<[].*//; s/:.*//; s/[[:space:]]//g' |
	    grep . || true
}

# Every library that the programs link comes from a -dev package that
# Build-Depends names, or that one of those depends on: a clean builder
# (sbuild, pbuilder) installs nothing else. install-deps.sh installs them
# all here, so the build alone would not notice one missing.
awk '/^Build-Depends:/ { f = 1; sub(/^Build-Depends:/, ""); print; next }
    /^[^ \t]/ { f = 0 } f' "$top/debian/control" | names >"$tmp/bd"
while read -r p; do
	echo "$p"
	dpkg-query -W -f='${Depends}\n' "$p" 2>/dev/null | names
done <"$tmp/bd" | sort -u >"$tmp/have"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
missing=
for so in $(objdump -p "$src"/debian/sockwatch/usr/*bin/* |
    awk '$1 == "NEEDED" { print $2 }' | sort -u); do
	dev=
	for d in /usr/lib/$ma /lib/$ma; do
		[ -e "$d/${so%%.so*}.so" ] || continue
		dev=$(dpkg -S "$d/${so%%.so*}.so" 2>/dev/null | cut -d: -f1) ||
		    true
		if [ -n "$dev" ]; then
			break
		fi
	done
	case $dev in
	libc6-dev) ;;
	"") missing="$missing $so(no -dev package found)" ;;
	*) grep -qx "$dev" "$tmp/have" || missing="$missing $dev($so)" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "mkdeb: debian/control: Build-Depends lacks:$missing" >&2
	exit 1
fi

rm -f "$out"/sockwatch_*.deb "$out"/sockwatch-dbgsym_*.deb \
    "$out"/sockwatch_*.buildinfo "$out"/sockwatch_*.changes
mv "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/

changes="$out/sockwatch_${ver}_$arch.changes"
echo "mkdeb: lintian $changes"
# lintian unpacks what it checks: not as root when it can be helped.
as=()
if [ "$(id -u)" -eq 0 ] && runuser -u nobody -- test -r "$changes" \
    2>/dev/null; then
	as=(runuser -u nobody --)
fi
"${as[@]}" lintian --fail-on error --display-info --show-overrides \
    "$changes"
echo "mkdeb: $out/sockwatch_${ver}_$arch.deb"
