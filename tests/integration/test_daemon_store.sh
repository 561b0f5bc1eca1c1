#!/usr/bin/env bash
# The database never stands between an administrator and the kernel, and
# a database that cannot be used does not stop the daemon:
#
#  1. An administrator's sqlite3 shell holds the database's write lock
#     (BEGIN IMMEDIATE): block and unblock take effect in the
#     kernel at once, the CLI warns that the database waits, `status` shows
#     the writes waiting; once the lock goes, the database has them within
#     3 s.
#  2. kill -9 while the lock still keeps a block and an unblock from the
#     database: after a restart the block is in force (adopted from the
#     kernel with its time left) and the unblocked peer stays free.
#     A ban the database has as over but the kernel holds is kept as it
#     was made, its row given the kernel's end.
#  3. A corrupt database at start: moved aside, a fresh one made, the
#     kernel's bans kept and written to it, a critical alert.
#  4. A database of a newer schema: left untouched, the daemon runs
#     without one (`status` says so), blocks still reach the kernel.
#  5. The disk under the database fills up (a 512 KiB tmpfs): 2,000 bans
#     of `block -f` are in the kernel all the same, the CLI warns; with
#     room again, the database has them within 3 s.
#  6. More writes wait than the queue holds (100,500 blocks and 500
#     unblocks under a lock): nothing is lost, the table is written again
#     whole once the lock goes, and equals the kernel's sets.
#  7. A peer's earlier bans are counted across an unblock and a restart
#     (a ban row is the peer's history until it goes).
#  8. `block -f` of 2,500 IPv6 addresses of full length, more than one
#     request line holds.
#  9. `block -f` of 9,000: flushed in steps, all in the kernel and the
#     database when the answer comes.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$here/lib.sh"
# shellcheck source=daemon.sh disable=SC1091
. "$here/daemon.sh"
# shellcheck source=traffic.sh disable=SC1091
. "$here/traffic.sh"
has_tools nft sqlite3 || exit 0
T=$SW_TMP
DB=$T/sockwatch.db
NS=$(ns_add db)
sw_conf "$T/sockwatch.conf" "tcp/1"
swd_start "$NS" "$T/sockwatch.conf"

# The peers with a ban row, one line.
db_bans() {
	sqlite3 "$DB" 'SELECT peer FROM bans ORDER BY peer' | tr '\n' ' '
}
db_is() {
	[ "$(db_bans)" = "$1" ]
}
pending() {
	swc "$NS" status --json | jq -r .database.pending
}
none_pending() {
	swc "$NS" status --json | jq -e '.database.pending == 0 and
	    (.database.rewrite | not)' >/dev/null
}

# lock_db: an administrator's sqlite3 shell in a transaction holds the
# database's write lock until unlock_db. (Read-write: opening the fifo
# does not wait for the other end.)
lock_db() {
	rm -f "$T/sq.in"
	mkfifo "$T/sq.in"
	exec 7<>"$T/sq.in"
	# (A background command's stdin is /dev/null unless redirected on
	# the command itself.)
	bg sh -c 'exec sqlite3 "$1" <"$2" >"$3" 2>&1' sh "$DB" "$T/sq.in" \
	    "$T/sq.out"
	LOCK_PID=$!
	printf 'BEGIN IMMEDIATE;\n' >&7
	wait_for 5 db_locked || fail "sqlite3 did not take the lock: \
$(cat "$T/sq.out")"
}
# db_locked: a writer that does not wait is refused.
db_locked() {
	local out
	out=$(sqlite3 "$DB" 'BEGIN IMMEDIATE; ROLLBACK;' 2>&1) && return 1
	[[ $out == *locked* ]]
}
unlock_db() {
	printf 'COMMIT;\n.quit\n' >&7
	exec 7>&-
	wait "$LOCK_PID" || fail "sqlite3: $(cat "$T/sq.out")"
}

# ---- 1. a locked database ------------------------------------------------
swc "$NS" block --for 1h 198.18.5.1 198.18.5.2 >/dev/null || fail "block"
db_is "198.18.5.1/32 198.18.5.2/32 " || fail "database: $(db_bans)"
lock_db
swc "$NS" block --for 1h 198.18.5.3 >/dev/null 2>"$T/err" ||
    fail "block with the database locked: $(cat "$T/err")"
grep -q 'not yet in the database' "$T/err" ||
    fail "block: no warning of the waiting database: $(cat "$T/err")"
in_set "$NS" ban4 198.18.5.3 || fail "198.18.5.3 not in ban4"
swc "$NS" unblock 198.18.5.1 >/dev/null 2>"$T/err" ||
    fail "unblock with the database locked: $(cat "$T/err")"
grep -q 'not yet in the database' "$T/err" ||
    fail "unblock: no warning of the waiting database: $(cat "$T/err")"
in_set "$NS" ban4 198.18.5.1 && fail "198.18.5.1 still in ban4"
[ "$(pending)" -ge 2 ] || fail "status: $(swc "$NS" status --json |
    jq -c .database)"
swc "$NS" status | grep 'database.*waiting' >/dev/null ||
    fail "status does not show the waiting writes: $(swc "$NS" status)"
sleep 2.5
db_is "198.18.5.1/32 198.18.5.2/32 " ||
    fail "the database changed under another's lock: $(db_bans)"
t0=$(now_ms)
unlock_db
wait_for 3 db_is "198.18.5.2/32 198.18.5.3/32 " ||
    fail "the database has not caught up 3 s after the lock: $(db_bans)"
[ "$(pending)" -eq 0 ] || fail "writes still waiting: $(pending)"
echo "ok: locked database: block and unblock in the kernel at once, in \
the database $(($(now_ms) - t0)) ms after the lock went"

# ---- 2. kill -9 before the database had them -----------------------------
swc "$NS" block --for 1h 198.18.5.4 >/dev/null || fail "block 198.18.5.4"
lock_db
swc "$NS" block --for 1h 198.18.5.5 >/dev/null 2>&1 || fail "block .5"
swc "$NS" unblock 198.18.5.4 >/dev/null 2>&1 || fail "unblock .4"
swd_stop KILL
unlock_db
db_is "198.18.5.2/32 198.18.5.3/32 198.18.5.4/32 " ||
    fail "database after kill -9: $(db_bans)"
swd_start "$NS" "$T/sockwatch.conf"
in_set "$NS" ban4 198.18.5.5 || fail "198.18.5.5 lost by the restart"
in_set "$NS" ban4 198.18.5.4 && fail "198.18.5.4 brought back"
swc "$NS" bans --json >"$T/bans.json"
jq -e 'map(.addr) | sort == ["198.18.5.2", "198.18.5.3", "198.18.5.5"]' \
    "$T/bans.json" >/dev/null || fail "bans: $(cat "$T/bans.json")"
left=$(jq '.[] | select(.addr == "198.18.5.5") | .left_s' "$T/bans.json")
[ "$left" -gt 3500 ] && [ "$left" -le 3600 ] ||
    fail "198.18.5.5 adopted with $left s left"
wait_for 3 db_is "198.18.5.2/32 198.18.5.3/32 198.18.5.5/32 " ||
    fail "database after the restart: $(db_bans)"
echo "ok: kill -9 with the database behind: the kernel's ban adopted \
($left s left), the unblocked peer stays free"

# A ban the database thinks over (the wall clock stepped on while the
# daemon was down) but the kernel still holds: kept as it was made, with
# the kernel's time left.
swd_stop TERM
sqlite3 "$DB" "UPDATE bans SET expires_ms = expires_ms - 7200000 \
    WHERE peer = '198.18.5.2/32'"
swd_start "$NS" "$T/sockwatch.conf"
in_set "$NS" ban4 198.18.5.2 || fail "198.18.5.2 lifted"
swc "$NS" bans --json | jq -e '.[] | select(.addr == "198.18.5.2") |
    .source == "manual" and .left_s > 3000' >/dev/null ||
    fail "198.18.5.2: $(swc "$NS" bans --json | jq -c '.[] |
    select(.addr == "198.18.5.2")')"
ok_row() {
	[ "$(sqlite3 "$DB" "SELECT expires_ms / 1000 - strftime('%s') > 3000 \
	    FROM bans WHERE peer = '198.18.5.2/32'")" = 1 ]
}
wait_for 3 ok_row || fail "the database's row of 198.18.5.2 not mended"
echo "ok: a ban over by the database's clock but in the kernel: kept \
as made (source manual), its row given the kernel's end"

# ---- 3. a corrupt database -----------------------------------------------
swd_stop TERM
dd if=/dev/urandom of="$DB" bs=4096 count=4 conv=notrunc status=none
swd_start "$NS" "$T/sockwatch.conf"
swc "$NS" status --json | jq -e '.database.open and
    (.database.note | test("corrupt"))' >/dev/null ||
    fail "status: $(swc "$NS" status --json | jq -c .database)"
aside=$(find "$T" -maxdepth 1 -name 'sockwatch.db.corrupt-*' | head -1)
[ -n "$aside" ] || fail "the corrupt database was not moved aside"
swc "$NS" alerts --json --kind database | jq -e 'length == 1 and
    .[0].severity == "critical"' >/dev/null ||
    fail "no critical alert: $(swc "$NS" alerts --json --kind database)"
for p in 198.18.5.2 198.18.5.3 198.18.5.5; do
	in_set "$NS" ban4 "$p" || fail "$p lost with the corrupt database"
done
wait_for 3 db_is "198.18.5.2/32 198.18.5.3/32 198.18.5.5/32 " ||
    fail "the fresh database: $(db_bans)"
echo "ok: corrupt database moved aside to ${aside##*/}, the kernel's 3 \
bans kept, a critical alert"

# ---- 4. a newer schema ---------------------------------------------------
swd_stop TERM
sqlite3 "$DB" 'PRAGMA user_version = 99'
sum=$(sha256sum <"$DB")
swd_start "$NS" "$T/sockwatch.conf"
swc "$NS" status --json | jq -e '(.database.open | not) and
    (.database.note | test("newer"))' >/dev/null ||
    fail "status: $(swc "$NS" status --json | jq -c .database)"
swc "$NS" block --for 1h 198.18.5.6 >/dev/null 2>"$T/err" ||
    fail "block without a database: $(cat "$T/err")"
grep -q 'no database' "$T/err" || fail "block: $(cat "$T/err")"
in_set "$NS" ban4 198.18.5.6 || fail "198.18.5.6 not in ban4"
rc=0
swc "$NS" alerts >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'without a database' "$T/err" ||
    fail "alerts without a database: exit $rc, $(cat "$T/err")"
swd_stop TERM
[ "$(sha256sum <"$DB")" = "$sum" ] || fail "the newer database was changed"
echo "ok: newer schema left untouched; the daemon ran without a database"

# ---- 5. a full disk -------------------------------------------------------
mkdir "$T/small"
mount -t tmpfs -o size=512k tmpfs "$T/small"
DB=$T/small/sockwatch.db
sed -i "s|^database = .*|database = $DB|" "$T/sockwatch.conf"
swd_start "$NS" "$T/sockwatch.conf"
wait_for 3 db_is "198.18.5.2/32 198.18.5.3/32 198.18.5.5/32 198.18.5.6/32 " ||
    fail "the new database: $(db_bans)"
dd if=/dev/zero of="$T/small/fill" bs=4k status=none 2>/dev/null || true
for ((i = 0; i < 2000; i++)); do
	echo "198.18.$((100 + i / 250)).$((i % 250 + 1))"
done >"$T/list"
swc "$NS" block --for 1h -f "$T/list" >/dev/null 2>"$T/err" ||
    fail "block -f on a full disk: $(cat "$T/err")"
grep -q 'not yet in the database' "$T/err" ||
    fail "block -f: no warning on a full disk: $(cat "$T/err")"
n=$(elems "$NS" ban4 | wc -l)
[ "$n" -eq 2004 ] || fail "$n elements in ban4, want 2004"
rm -f "$T/small/fill"
wait_for 3 none_pending || fail "writes waiting: $(pending)"
n=$(sqlite3 "$DB" 'SELECT count(*) FROM bans')
[ "$n" -eq 2004 ] || fail "$n bans in the database, want 2004"
echo "ok: full disk: 2,000 bans in force at once, in the database once \
there was room"

# ---- 6. more than the queue holds -------------------------------------------
swd_stop TERM
DB=$T/big.db
sed -i "s|^database = .*|database = $DB|" "$T/sockwatch.conf"
swd_start "$NS" "$T/sockwatch.conf"
wait_for 3 none_pending || fail "writes waiting: $(pending)"
lock_db
for ((i = 0; i < 100500; i++)); do
	printf '2001:db8:6:%x::%x\n' $((i / 4096)) $((i % 4096 + 1))
done >"$T/list6"
head -n 500 "$T/list6" >"$T/unlist6"
swc "$NS" block --for 1h -f "$T/list6" >/dev/null 2>&1 ||
    fail "block -f of 100,500 under a lock"
swc "$NS" unblock -f "$T/unlist6" >/dev/null 2>&1 || fail "unblock -f"
swc "$NS" status --json | jq -e '.database.rewrite' >/dev/null ||
    fail "no rewrite planned: $(swc "$NS" status --json | jq -c .database)"
unlock_db
wait_for 10 none_pending || fail "writes waiting: $(pending)"
k=$(($(elems "$NS" ban4 | wc -l) + $(elems "$NS" ban6 | wc -l)))
d=$(sqlite3 "$DB" 'SELECT count(*) FROM bans')
[ "$k" -eq 102004 ] && [ "$d" -eq "$k" ] ||
    fail "$k bans in the kernel, $d in the database, want 102004"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM bans WHERE peer IN \
    ('2001:db8:6::1/128', '2001:db8:6:18::894/128')")" -eq 1 ] ||
    fail "the unblocked 2001:db8:6::1 or the last block is wrong"
echo "ok: 100,500 blocks and 500 unblocks under a lock: the table written \
again whole, $d rows, as the kernel's sets"

# ---- 7. earlier bans across a restart ---------------------------------------
# A peer's ban row is its history until it goes: an unblock moves it to
# ban_history, and a restart counts the bans in force as history too.
count_of() {
	swc "$NS" bans --json | jq -r --arg a "$1" \
	    '.[] | select(.addr == $a) | .count'
}
swc "$NS" block --for 1h 198.18.30.1 198.18.30.2 >/dev/null ||
    fail "block 198.18.30.1-2"
swc "$NS" unblock 198.18.30.1 >/dev/null || fail "unblock 198.18.30.1"
swc "$NS" block --for 1h 198.18.30.1 >/dev/null || fail "block again"
[ "$(count_of 198.18.30.1)" = 1 ] ||
    fail "198.18.30.1: count $(count_of 198.18.30.1), want 1"
[ "$(sqlite3 "$DB" "SELECT count FROM ban_history WHERE \
    peer = '198.18.30.1/32'")" = 1 ] || fail "no history row of the unblock"
swd_stop TERM
swd_start "$NS" "$T/sockwatch.conf"
for a in 198.18.30.1 198.18.30.2; do
	swc "$NS" unblock "$a" >/dev/null || fail "unblock $a after restart"
	swc "$NS" block --for 1h "$a" >/dev/null || fail "block $a again"
done
[ "$(count_of 198.18.30.1)" = 2 ] && [ "$(count_of 198.18.30.2)" = 1 ] ||
    fail "counts after a restart: $(count_of 198.18.30.1)," \
    "$(count_of 198.18.30.2), want 2, 1"
echo "ok: earlier bans counted across an unblock and a restart"

# ---- 8. a list of long IPv6 addresses ----------------------------------------
# 2,500 of 39 characters do not fit one request line: the CLI sends as
# many as fit.
for ((i = 0; i < 2500; i++)); do
	printf '2001:db8:7:5678:9abc:def0:%x:%x\n' $((i + 4096)) $((i + 4096))
done >"$T/long6"
swc "$NS" block --for 1h -f "$T/long6" >"$T/out" 2>"$T/err" ||
    fail "block -f of long IPv6 addresses: $(cat "$T/err")"
grep -qx "2500 of 2500 peers blocked" "$T/out" || fail "$(cat "$T/out")"
n=$(elems "$NS" ban6 | grep -c '^2001:db8:7:')
[ "$n" -eq 2500 ] || fail "$n of the long addresses in ban6, want 2500"
echo "ok: 2,500 long IPv6 addresses blocked in requests that fit a line"

# ---- 9. a long list written while the next peers are checked ------------
# Requests of about 4,000 IPv4 addresses are flushed in steps, each
# step's database write running beside the next step's checks: every
# ban is in the kernel and in the database when the answer comes.
for ((i = 0; i < 9000; i++)); do
	echo "198.19.$((40 + i / 250)).$((i % 250 + 1))"
done >"$T/list9"
before=$(sqlite3 "$DB" 'SELECT count(*) FROM bans')
swc "$NS" block --for 1h -f "$T/list9" >"$T/out" 2>"$T/err" ||
    fail "block -f of 9,000: $(cat "$T/err")"
d=$(sqlite3 "$DB" "SELECT count(*) FROM bans WHERE peer LIKE '198.19.%'")
k=$(elems "$NS" ban4 | grep -c '^198\.19\.')
[ "$d" -eq 9000 ] && [ "$k" -eq 9000 ] ||
    fail "9,000 blocked: $d in the database, $k in the kernel"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM bans')" -eq $((before + 9000)) ] ||
    fail "the database lost other bans"
none_pending || fail "writes waiting after block -f: $(pending)"
echo "ok: 9,000 blocks in steps: all in the kernel and the database at once"
