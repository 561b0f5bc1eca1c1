#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../common/util.h"
#include "../../exporter/store.h"

#define T0 1795793795000LL	/* 2026-11-27T15:36:35Z */

struct fixture {
	char dir[256];
	char db[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sw-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* A missing parent directory is created. */
	snprintf(f->db, sizeof(f->db), "%s/lib/sockwatch.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
make_alert(struct alert *a, uint64_t id, int64_t time_ms, const char *kind,
    const char *peer)
{
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->time_ms = time_ms;
	snprintf(a->kind, sizeof(a->kind), "%s", kind);
	a->severity = ALERT_WARNING;
	if (peer != NULL) {
		a->has_peer = true;
		assert_int_equal(addr_parse(peer, &a->peer), 0);
	}
	snprintf(a->message, sizeof(a->message), "alert %llu",
	    (unsigned long long)id);
	snprintf(a->action, sizeof(a->action), "alert");
	a->evidence = json_pack("{s:I}", "n", (json_int_t)id);
	assert_non_null(a->evidence);
}

static void
queue(struct store *st, uint64_t id, int64_t time_ms, const char *kind,
    const char *peer)
{
	struct alert a;

	make_alert(&a, id, time_ms, kind, peer);
	assert_int_equal(store_queue_alert(st, &a), 0);
	alert_clear(&a);
}

static struct store *
open_store(const char *path)
{
	struct store *st = NULL;
	char err[256] = "";
	int r;

	r = store_open(path, &st, err, sizeof(err));
	if (r != 0)
		fail_msg("store_open: %d: %s", r, err);
	return st;
}

/* Query and return the ids, as "1,2,3". */
static const char *
query_ids(struct store *st, const struct alert_filter *flt)
{
	static char buf[1024];
	json_t *arr = NULL, *v;
	size_t i, off = 0;

	assert_int_equal(store_query_alerts(st, flt, &arr), 0);
	assert_true(json_is_array(arr));
	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		struct alert a;

		/* What comes back parses as an alert. */
		assert_int_equal(alert_from_json(v, &a), 0);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%llu",
		    i ? "," : "", (unsigned long long)a.id);
		alert_clear(&a);
	}
	json_decref(arr);
	return buf;
}

static const char *
query_peer(struct store *st, const char *cidr)
{
	struct alert_filter flt = { .has_peer = true };

	assert_int_equal(cidr_parse(cidr, &flt.peer), 0);
	return query_ids(st, &flt);
}

/* One SQL value from a separate connection, as text. */
static char *
sql_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char *out = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

static void
assert_sql(const char *path, const char *sql, const char *want)
{
	char *got = sql_text(path, sql);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got %s, want %s", sql, got ? got : "(null)", want);
	free(got);
}

static void
test_open_creates_schema(void **state)
{
	struct fixture *f = *state;
	char parent[PATH_MAX + 8];
	struct store *st;
	struct stat sb;

	st = open_store(f->db);
	snprintf(parent, sizeof(parent), "%s/lib", f->dir);
	assert_int_equal(stat(parent, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(store_max_alert_id(st), 0);
	assert_sql(f->db, "PRAGMA journal_mode", "wal");
	assert_sql(f->db, "PRAGMA user_version", "2");
	assert_sql(f->db, "SELECT group_concat(name, ',') FROM (SELECT name "
	    "FROM sqlite_master WHERE tbl_name = 'alerts' ORDER BY name)",
	    "alerts,alerts_kind,alerts_peer,alerts_time");
	assert_sql(f->db, "SELECT group_concat(name, ',') FROM "
	    "pragma_table_info('bans')", "peer,family,prefix_len,reason,"
	    "source,created_ms,expires_ms,count,sockets_closed,procs");
	assert_sql(f->db, "SELECT group_concat(name, ',') FROM "
	    "pragma_table_info('ban_history')",
	    "peer,last_created_ms,last_length_ms,count");
	assert_sql(f->db, "SELECT group_concat(name, ',') FROM "
	    "pragma_table_info('alerts')",
	    "id,time_ms,kind,severity,peer,json");
	store_close(st);
	/* Opening again migrates nothing and changes nothing. */
	st = open_store(f->db);
	assert_sql(f->db, "PRAGMA user_version", "2");
	store_close(st);
}

/* A database of version 1 (alerts only) gets the ban tables; its alerts
 * stay. */
static void
test_migrate_from_1(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct ban *v = NULL;
	struct store *st;
	sqlite3 *db;
	size_t n = 1;

	assert_int_equal(util_mkdir_parents(f->db, 0750), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE alerts (id INTEGER PRIMARY KEY,"
	    " time_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
	    " severity TEXT NOT NULL, peer BLOB, json TEXT NOT NULL);"
	    "CREATE INDEX alerts_time ON alerts(time_ms);"
	    "CREATE INDEX alerts_kind ON alerts(kind);"
	    "CREATE INDEX alerts_peer ON alerts(peer);"
	    "INSERT INTO alerts VALUES (4, 1795793795000, 'listener',"
	    " 'warning', NULL, '{\"id\":4,\"time\":\"2026-11-27T15:36:35.000Z\","
	    "\"kind\":\"listener\",\"severity\":\"warning\","
	    "\"message\":\"m\",\"action\":\"alert\",\"evidence\":{}}');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_store(f->db);
	assert_sql(f->db, "PRAGMA user_version", "2");
	assert_int_equal(store_max_alert_id(st), 4);
	assert_string_equal(query_ids(st, &flt), "4");
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	store_close(st);
}

/* st_mode & 07777 of path, or -1 if it is not there. */
static int
file_mode(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* The database, -wal and -shm are 0600 after a write, whatever the umask;
 * files left 0644 by an older sockwatchd become 0600; a symlink in the
 * database's place is refused. */
static void
test_file_modes(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct fixture *f = *state;
	char name[PATH_MAX + 8], target[PATH_MAX + 8], err[256] = "";
	struct store *st;
	mode_t mask;
	size_t i;
	int fd;

	mask = umask(022);		/* SQLite alone would make them 0644 */
	st = open_store(f->db);
	queue(st, 1, T0, "listener", NULL);
	assert_int_equal(store_flush(st), 1);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", f->db, suffix[i]);
		assert_int_equal(file_mode(name), 0600);
	}
	store_close(st);

	/* As an older version left them (an empty -wal and -shm are valid:
	 * SQLite starts them afresh). */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", f->db, suffix[i]);
		fd = open(name, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		assert_int_equal(fchmod(fd, 0644), 0);
		close(fd);
	}
	st = open_store(f->db);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", f->db, suffix[i]);
		assert_int_equal(file_mode(name), 0600);
	}
	assert_string_equal(query_ids(st, &(struct alert_filter){ 0 }), "1");
	store_close(st);

	/* A symlink is not followed, and what it points at is untouched. */
	snprintf(target, sizeof(target), "%s/elsewhere.db", f->dir);
	assert_int_equal(rename(f->db, target), 0);
	assert_int_equal(chmod(target, 0644), 0);
	assert_int_equal(symlink(target, f->db), 0);
	st = NULL;
	assert_int_equal(store_open(f->db, &st, err, sizeof(err)), -ELOOP);
	assert_null(st);
	assert_non_null(strstr(err, f->db));
	assert_int_equal(file_mode(target), 0644);
	umask(mask);
}

static void
test_queue_flush_query(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt;
	struct store_stats ss;
	struct store *st;
	json_t *arr;

	st = open_store(f->db);
	assert_int_equal(store_flush(st), 0);		/* nothing queued */
	queue(st, 1, T0 + 1000, "listener", NULL);
	queue(st, 2, T0 + 2000, "portscan", "198.18.0.5");
	queue(st, 3, T0 + 3000, "portscan", "198.19.255.255");
	queue(st, 4, T0 + 4000, "synflood", "198.20.0.1");
	queue(st, 5, T0 + 5000, "portscan", "2001:db8::1");
	queue(st, 6, T0 + 6000, "portscan", "2001:db8:0:8000::1");
	queue(st, 7, T0 + 7000, "bruteforce", "::ffff:198.18.1.1");
	queue(st, 8, T0 + 8000, "portscan", "2001:db9::1");
	queue(st, 9, T0 + 9000, "listener", NULL);
	/* Nothing is visible before the flush. */
	memset(&flt, 0, sizeof(flt));
	assert_string_equal(query_ids(st, &flt), "");
	assert_int_equal(store_flush(st), 9);
	store_get_stats(st, &ss);
	assert_int_equal(ss.written, 9);
	assert_int_equal(ss.dropped, 0);
	assert_int_equal(ss.errors, 0);
	assert_int_equal(store_max_alert_id(st), 9);

	/* No filter: everything, oldest first. */
	assert_string_equal(query_ids(st, &flt), "1,2,3,4,5,6,7,8,9");
	/* since is inclusive. */
	flt.since_ms = T0 + 7000;
	assert_string_equal(query_ids(st, &flt), "7,8,9");
	flt.since_ms = T0 + 10000;
	assert_string_equal(query_ids(st, &flt), "");
	memset(&flt, 0, sizeof(flt));
	flt.kind = "portscan";
	assert_string_equal(query_ids(st, &flt), "2,3,5,6,8");
	flt.kind = "nosuchkind";
	assert_string_equal(query_ids(st, &flt), "");
	/* limit: the newest N, oldest first. */
	memset(&flt, 0, sizeof(flt));
	flt.limit = 3;
	assert_string_equal(query_ids(st, &flt), "7,8,9");
	flt.limit = 100;
	assert_string_equal(query_ids(st, &flt), "1,2,3,4,5,6,7,8,9");
	flt.limit = 2;
	flt.kind = "portscan";
	assert_string_equal(query_ids(st, &flt), "6,8");
	flt.since_ms = T0 + 6500;
	assert_string_equal(query_ids(st, &flt), "8");

	/* Peers: IPv4 prefixes also match IPv4-mapped IPv6 peers. */
	assert_string_equal(query_peer(st, "198.18.0.0/15"), "2,3,7");
	assert_string_equal(query_peer(st, "198.18.0.5"), "2");
	assert_string_equal(query_peer(st, "198.18.0.0/16"), "2,7");
	assert_string_equal(query_peer(st, "0.0.0.0/0"), "2,3,4,7");
	assert_string_equal(query_peer(st, "2001:db8::/32"), "5,6");
	assert_string_equal(query_peer(st, "2001:db8::/33"), "5,6");
	assert_string_equal(query_peer(st, "2001:db8::/49"), "5");
	assert_string_equal(query_peer(st, "2001:db8:0:8000::/49"), "6");
	assert_string_equal(query_peer(st, "2001:db8::1"), "5");
	assert_string_equal(query_peer(st, "2001:db8::2"), "");
	/* An IPv6 prefix does not match IPv4 peers. */
	assert_string_equal(query_peer(st, "::/0"), "5,6,7,8");
	assert_string_equal(query_peer(st, "::ffff:198.18.0.0/112"), "7");
	/* Peer with kind and limit. */
	memset(&flt, 0, sizeof(flt));
	flt.has_peer = true;
	assert_int_equal(cidr_parse("198.16.0.0/12", &flt.peer), 0);
	flt.kind = "portscan";
	flt.limit = 1;
	assert_string_equal(query_ids(st, &flt), "3");

	/* The full JSON comes back. */
	memset(&flt, 0, sizeof(flt));
	flt.limit = 1;
	flt.kind = "bruteforce";
	assert_int_equal(store_query_alerts(st, &flt, &arr), 0);
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 0), "peer")), "::ffff:198.18.1.1");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 0), "time")), "2026-11-27T15:36:42.000Z");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(arr, 0), "evidence"), "n")), 7);
	json_decref(arr);
	store_close(st);
}

static void
test_reopen_keeps_history(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct store_stats ss;
	struct store *st;

	st = open_store(f->db);
	queue(st, 1, T0, "listener", NULL);
	queue(st, 2, T0 + 1, "listener", "2001:db8::9");
	assert_int_equal(store_flush(st), 2);
	queue(st, 3, T0 + 2, "listener", NULL);
	/* close flushes what is queued */
	store_close(st);

	st = open_store(f->db);
	assert_int_equal(store_max_alert_id(st), 3);
	assert_string_equal(query_ids(st, &flt), "1,2,3");
	/* The daemon continues from the highest id. */
	queue(st, store_max_alert_id(st) + 1, T0 + 3, "listener", NULL);
	/* id 0 lets the store pick the next one. */
	queue(st, 0, T0 + 4, "listener", NULL);
	assert_int_equal(store_flush(st), 2);
	assert_int_equal(store_max_alert_id(st), 5);
	assert_string_equal(query_ids(st, &flt), "1,2,3,4,5");
	/* A duplicate id loses that alert only. */
	queue(st, 6, T0 + 5, "listener", NULL);
	queue(st, 2, T0 + 6, "listener", NULL);
	queue(st, 7, T0 + 7, "listener", NULL);
	assert_int_equal(store_flush(st), 2);
	store_get_stats(st, &ss);
	assert_int_equal(ss.dropped, 1);
	assert_int_equal(ss.errors, 0);
	assert_string_equal(query_ids(st, &flt), "1,2,3,4,5,6,7");
	store_close(st);

	st = open_store(f->db);
	assert_int_equal(store_max_alert_id(st), 7);
	assert_string_equal(query_peer(st, "2001:db8::/32"), "2");
	store_close(st);
}

static char *
read_all(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;

	assert_non_null(fp);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	*ret_len = len;
	return buf;
}

static void
test_future_version_refused(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16], err[256] = "", *before, *after;
	struct store *st = NULL;
	size_t lb, la;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/future.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE alerts (x);"
	    "CREATE TABLE other (y); PRAGMA user_version = 99;", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	before = read_all(path, &lb);

	assert_int_equal(store_open(path, &st, err, sizeof(err)), -ENOTSUP);
	assert_null(st);
	assert_non_null(strstr(err, "schema version 99 is newer"));
	assert_non_null(strstr(err, path));

	/* Not modified: same bytes, still in rollback-journal mode. */
	after = read_all(path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, la);
	assert_sql(path, "PRAGMA journal_mode", "delete");
	assert_sql(path, "PRAGMA user_version", "99");
	free(before);
	free(after);
}

static void
test_not_a_database(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16], err[256] = "";
	struct store *st = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 1000; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), -EUCLEAN);
	assert_null(st);
	assert_non_null(strstr(err, "not a database"));
}

static void
test_queue_bound(void **state)
{
	struct fixture *f = *state;
	struct store_stats ss;
	struct store *st;
	struct alert a;
	unsigned int i;

	st = open_store(f->db);
	make_alert(&a, 0, T0, "portscan", "198.18.0.1");
	for (i = 0; i < STORE_QUEUE_MAX; i++) {
		a.id = i + 1;
		assert_int_equal(store_queue_alert(st, &a), 0);
	}
	a.id = STORE_QUEUE_MAX + 1;
	assert_int_equal(store_queue_alert(st, &a), -ENOBUFS);
	assert_int_equal(store_queue_alert(st, &a), -ENOBUFS);
	store_get_stats(st, &ss);
	assert_int_equal(ss.dropped, 2);
	assert_int_equal(store_flush(st), STORE_QUEUE_MAX);
	store_get_stats(st, &ss);
	assert_int_equal(ss.written, STORE_QUEUE_MAX);
	assert_int_equal(ss.dropped, 2);
	assert_int_equal(store_max_alert_id(st), STORE_QUEUE_MAX);
	/* Room again after the flush. */
	assert_int_equal(store_queue_alert(st, &a), 0);
	assert_int_equal(store_flush(st), 1);
	alert_clear(&a);
	store_close(st);
}

static void
test_flush_busy(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct store_stats ss;
	struct store *st;
	sqlite3 *other;
	int r;

	st = open_store(f->db);
	queue(st, 1, T0, "listener", NULL);
	assert_int_equal(store_flush(st), 1);

	/* Another writer holds the write lock. */
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	queue(st, 2, T0 + 1, "listener", NULL);
	queue(st, 3, T0 + 2, "listener", NULL);
	r = store_flush(st);
	assert_int_equal(r, -EBUSY);
	store_get_stats(st, &ss);
	assert_int_equal(ss.written, 1);
	assert_int_equal(ss.dropped, 0);
	assert_int_equal(ss.errors, 1);
	assert_int_equal(store_max_alert_id(st), 1);
	/* Reads still work while the other writer holds the lock. */
	assert_string_equal(query_ids(st, &flt), "1");
	/* The batch waits for the lock: still refused. */
	assert_int_equal(store_flush(st), -EBUSY);

	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	queue(st, 4, T0 + 3, "listener", NULL);
	assert_int_equal(store_flush(st), 3);
	assert_string_equal(query_ids(st, &flt), "1,2,3,4");
	store_get_stats(st, &ss);
	assert_int_equal(ss.written, 4);
	assert_int_equal(ss.dropped, 0);
	assert_int_equal(ss.errors, 2);
	store_close(st);
}

/*
 * A full disk: a 256 KiB tmpfs in a private mount namespace. Needs
 * CAP_SYS_ADMIN; skipped without it.
 */
static void
test_flush_full(void **state)
{
	struct fixture *f = *state;
	char mnt[PATH_MAX + 8], path[PATH_MAX + 32], big[2048];
	struct alert_filter flt = { 0 };
	struct store_stats ss;
	struct store *st;
	struct alert a;
	int i, r;

	snprintf(mnt, sizeof(mnt), "%s/full", f->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0) {
		print_message("no tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	snprintf(path, sizeof(path), "%s/sockwatch.db", mnt);
	st = open_store(path);
	queue(st, 1, T0, "listener", NULL);
	assert_int_equal(store_flush(st), 1);

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 400; i++) {
		make_alert(&a, (uint64_t)i + 2, T0 + i, "portscan",
		    "198.18.0.1");
		json_object_set_new(a.evidence, "pad", json_string(big));
		assert_int_equal(store_queue_alert(st, &a), 0);
		alert_clear(&a);
	}
	r = store_flush(st);
	assert_int_equal(r, -ENOSPC);
	store_get_stats(st, &ss);
	assert_int_equal(ss.written, 1);
	assert_int_equal(ss.dropped, 400);
	assert_int_equal(ss.errors, 1);
	assert_int_equal(store_max_alert_id(st), 1);

	/* The store keeps running: a small batch still fits. */
	queue(st, 2, T0 + 1000, "listener", NULL);
	assert_int_equal(store_flush(st), 1);
	assert_string_equal(query_ids(st, &flt), "1,2");
	store_close(st);
	st = open_store(path);
	assert_string_equal(query_ids(st, &flt), "1,2");
	store_close(st);
	assert_int_equal(umount(mnt), 0);
}

static struct ban
mkban(const char *peer, int64_t created, uint64_t length, uint32_t count)
{
	struct ban b;

	memset(&b, 0, sizeof(b));
	assert_int_equal(cidr_parse(peer, &b.peer), 0);
	snprintf(b.reason, sizeof(b.reason), "portscan: 120 ports in 10 s");
	snprintf(b.source, sizeof(b.source), "portscan");
	b.created_ms = created;
	b.expires_ms = length ? created + (int64_t)length : 0;
	b.count = count;
	b.sockets_closed = 2;
	snprintf(b.procs, sizeof(b.procs), "sshd[812],nginx[90]");
	return b;
}

static const struct ban *
find_ban(const struct ban *v, size_t n, const char *peer)
{
	char buf[ADDR_STRLEN];
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cidr_format(&v[i].peer, buf, sizeof(buf)), peer) == 0)
			return &v[i];
	return NULL;
}

struct hrow {
	char text[1024];
	size_t n;
	int stop_after;
};

static int
hist_cb(const struct cidr *peer, int64_t created_ms, uint64_t length_ms,
    uint32_t count, void *arg)
{
	struct hrow *h = arg;
	char buf[ADDR_STRLEN];
	size_t len = strlen(h->text);

	snprintf(h->text + len, sizeof(h->text) - len, "%s%s@%lld+%llu#%u",
	    len ? " " : "", cidr_format(peer, buf, sizeof(buf)),
	    (long long)(created_ms - T0), (unsigned long long)length_ms,
	    count);
	h->n++;
	if (h->stop_after != 0 && h->n >= (size_t)h->stop_after)
		return -ECANCELED;
	return 0;
}

/* History rows in peer order, as "peer@created-T0+length#count". */
static const char *
history(struct store *st, int64_t since)
{
	static struct hrow h;
	char *words[16], *p, tmp[1024];
	size_t n = 0, i, j;

	memset(&h, 0, sizeof(h));
	assert_int_equal(store_history_load(st, since, hist_cb, &h), 0);
	snprintf(tmp, sizeof(tmp), "%s", h.text);
	for (p = strtok(tmp, " "); p != NULL && n < 16; p = strtok(NULL, " "))
		words[n++] = p;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(words[j - 1], words[j]) > 0; j--) {
			p = words[j];
			words[j] = words[j - 1];
			words[j - 1] = p;
		}
	h.text[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t len = strlen(h.text);

		snprintf(h.text + len, sizeof(h.text) - len, "%s%s",
		    i ? " " : "", words[i]);
	}
	return h.text;
}

static void
test_bans_persist(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct ban b, *v = NULL;
	const struct ban *g;
	struct hrow h;
	struct store *st;
	struct cidr c;
	size_t n = 0;

	st = open_store(f->db);
	/* An alert batch pending across ban writes is neither committed
	 * nor lost by them. */
	queue(st, 1, T0, "portscan", "198.18.0.1");
	b = mkban("198.18.0.1", T0, 3600000, 0);
	assert_int_equal(store_ban_put(st, &b, 3600000), 0);
	assert_string_equal(query_ids(st, &flt), "");
	b = mkban("::ffff:198.18.0.2", T0 + 1, 0, 3);	/* permanent */
	assert_int_equal(store_ban_put(st, &b, 0), 0);
	b = mkban("2001:db8::/48", T0 + 2, 60000, 0);
	assert_int_equal(store_ban_put(st, &b, 60000), 0);
	/* Visible at once to another connection: committed. */
	assert_sql(f->db, "SELECT group_concat(peer, ',') FROM (SELECT peer "
	    "FROM bans ORDER BY peer)",
	    "198.18.0.1/32,198.18.0.2/32,2001:db8::/48");
	assert_sql(f->db, "SELECT family || ' ' || prefix_len FROM bans "
	    "WHERE peer = '2001:db8::/48'", "6 48");
	assert_int_equal(store_flush(st), 1);
	assert_string_equal(query_ids(st, &flt), "1");
	/* A bad peer is refused. */
	b = mkban("198.18.0.1", T0, 1, 0);
	b.peer.len = 99;
	assert_int_equal(store_ban_put(st, &b, 1), -EINVAL);
	store_close(st);

	st = open_store(f->db);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 3);
	g = find_ban(v, n, "198.18.0.1/32");
	assert_non_null(g);
	assert_int_equal(g->created_ms, T0);
	assert_int_equal(g->expires_ms, T0 + 3600000);
	assert_int_equal(g->count, 0);
	assert_int_equal(g->sockets_closed, 2);
	assert_string_equal(g->reason, "portscan: 120 ports in 10 s");
	assert_string_equal(g->source, "portscan");
	assert_string_equal(g->procs, "sshd[812],nginx[90]");
	g = find_ban(v, n, "198.18.0.2/32");
	assert_non_null(g);
	assert_int_equal(g->peer.addr.family, AF_INET);
	assert_int_equal(g->expires_ms, 0);
	assert_int_equal(g->count, 3);
	assert_non_null(find_ban(v, n, "2001:db8::/48"));
	free(v);
	v = NULL;

	assert_string_equal(history(st, 0), "198.18.0.1/32@0+3600000#1 "
	    "198.18.0.2/32@1+0#4 2001:db8::/48@2+60000#1");
	assert_string_equal(history(st, T0 + 1), "198.18.0.2/32@1+0#4 "
	    "2001:db8::/48@2+60000#1");
	/* fn stops the walk. */
	memset(&h, 0, sizeof(h));
	h.stop_after = 1;
	assert_int_equal(store_history_load(st, 0, hist_cb, &h), -ECANCELED);
	assert_int_equal(h.n, 1);

	/* A newer ban: the row is replaced, the history moves on. An older
	 * one (a late write) does not move the history back. */
	b = mkban("198.18.0.1", T0 + 100, 7200000, 1);
	assert_int_equal(store_ban_put(st, &b, 7200000), 0);
	b = mkban("198.18.0.2", T0 - 100, 60000, 0);
	assert_int_equal(store_ban_put(st, &b, 60000), 0);
	assert_string_equal(history(st, 0), "198.18.0.1/32@100+7200000#2 "
	    "198.18.0.2/32@1+0#4 2001:db8::/48@2+60000#1");

	/* del: exact and canonical; absent is fine; history is kept. */
	assert_int_equal(cidr_parse("::ffff:198.18.0.1", &c), 0);
	assert_int_equal(store_ban_del(st, &c), 0);
	assert_int_equal(store_ban_del(st, &c), 0);
	assert_int_equal(cidr_parse("2001:db8::/47", &c), 0);
	assert_int_equal(store_ban_del(st, &c), 0);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_null(find_ban(v, n, "198.18.0.1/32"));
	free(v);
	v = NULL;
	assert_string_equal(history(st, 0), "198.18.0.1/32@100+7200000#2 "
	    "198.18.0.2/32@1+0#4 2001:db8::/48@2+60000#1");

	/* Pruning keeps peers with a ban in force. */
	assert_int_equal(store_history_prune(st, T0 + 1000), 1);
	assert_string_equal(history(st, 0), "198.18.0.2/32@1+0#4 "
	    "2001:db8::/48@2+60000#1");
	store_close(st);
}

static void
test_bans_busy(void **state)
{
	struct fixture *f = *state;
	struct ban b, *v = NULL;
	struct store *st;
	sqlite3 *other;
	size_t n;

	st = open_store(f->db);
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	b = mkban("198.18.0.1", T0, 1000, 0);
	assert_int_equal(store_ban_put(st, &b, 1000), -EBUSY);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	/* No transaction was left open: the next write and flush work. */
	assert_int_equal(store_ban_put(st, &b, 1000), 0);
	queue(st, 1, T0, "listener", NULL);
	assert_int_equal(store_flush(st), 1);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 1);
	free(v);
	store_close(st);
}

/* A database damaged inside the bans' table (the header and schema
 * intact) is found at open; set aside, a fresh one opens in its place. */
static void
test_corrupt_set_aside(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", aside[PATH_MAX + 64], name[PATH_MAX + 80];
	struct store *st = NULL;
	struct ban b, *v = NULL;
	sqlite3 *db;
	sqlite3_stmt *s;
	struct stat sb;
	size_t n;
	int fd, page, i;
	char junk[4096];

	st = open_store(f->db);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "198.18.%d.%d", i / 250, i % 250);
		b = mkban(name, T0, 1000, 0);
		assert_int_equal(store_ban_put(st, &b, 1000), 0);
	}
	store_close(st);
	/* The bans table's root page, overwritten. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM "
	    "sqlite_schema WHERE name = 'bans'", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	page = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	memset(junk, 0x5a, sizeof(junk));
	assert_true((fd = open(f->db, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)(page - 1) *
	    4096), (ssize_t)sizeof(junk));
	close(fd);

	st = NULL;
	assert_int_equal(store_open(f->db, &st, err, sizeof(err)), -EUCLEAN);
	assert_null(st);
	assert_int_equal(store_set_aside(f->db, 1764000000000LL, aside,
	    sizeof(aside)), 0);
	assert_non_null(strstr(aside, ".corrupt-20251124T160000Z"));
	assert_int_equal(stat(aside, &sb), 0);
	assert_int_equal(stat(f->db, &sb), -1);
	st = open_store(f->db);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	store_close(st);
}

/* All or nothing: when the database itself cannot be moved, a -wal
 * already moved goes back beside it. */
static void
test_set_aside_undone(void **state)
{
	struct fixture *f = *state;
	char db[PATH_MAX + 16], wal[PATH_MAX + 24], aside[PATH_MAX + 64],
	    moved[PATH_MAX + 80];
	struct stat sb;
	FILE *fp;

	snprintf(db, sizeof(db), "%s/gone.db", f->dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	assert_non_null(fp = fopen(wal, "w"));
	fputs("frames", fp);
	fclose(fp);
	/* No database: its rename fails with ENOENT. */
	assert_int_equal(store_set_aside(db, 1764000000000LL, aside,
	    sizeof(aside)), -ENOENT);
	assert_int_equal(stat(wal, &sb), 0);
	snprintf(moved, sizeof(moved), "%s-wal", aside);
	assert_int_equal(stat(moved, &sb), -1);
}

/* The daemon's queue in one transaction, in order: the last word for a
 * peer wins; a lock refuses all of it. */
static void
test_bans_apply(void **state)
{
	struct fixture *f = *state;
	struct store_ban_op op[4];
	struct ban *v = NULL;
	struct store *st;
	sqlite3 *other;
	size_t n;

	memset(op, 0, sizeof(op));
	op[0].ban = mkban("198.18.0.1", T0, 1000, 0);
	op[0].length_ms = 1000;
	op[1].ban = mkban("198.18.0.2", T0, 2000, 0);
	op[1].length_ms = 2000;
	op[2].ban.peer = op[0].ban.peer;
	op[2].del = true;
	op[3].ban = mkban("198.18.0.2", T0 + 5, 3000, 1);
	op[3].length_ms = 3000;
	st = open_store(f->db);
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(store_ban_apply(st, op, 4), -EBUSY);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_ban_apply(st, op, 4), 0);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_null(find_ban(v, n, "198.18.0.1/32"));
	assert_non_null(find_ban(v, n, "198.18.0.2/32"));
	assert_int_equal(find_ban(v, n, "198.18.0.2/32")->expires_ms,
	    T0 + 5 + 3000);
	free(v);
	/* The deleted and the replaced bans are history; so is a ban in
	 * force. A clear moves every row there (history_row in the
	 * daemon merges them the same way). */
	assert_string_equal(history(st, 0), "198.18.0.1/32@0+1000#1 "
	    "198.18.0.2/32@5+3000#2");
	assert_sql(f->db, "SELECT count(*) FROM ban_history", "2");
	memset(op, 0, sizeof(op));
	op[0].clear = true;
	op[1].ban = mkban("198.18.0.3", T0 + 9, 0, 6);
	assert_int_equal(store_ban_apply(st, op, 2), 0);
	assert_sql(f->db, "SELECT group_concat(peer, ',') FROM bans",
	    "198.18.0.3/32");
	assert_sql(f->db, "SELECT group_concat(peer || '#' || count, ',') "
	    "FROM (SELECT * FROM ban_history ORDER BY peer)",
	    "198.18.0.1/32#1,198.18.0.2/32#2");
	assert_string_equal(history(st, T0 + 1), "198.18.0.2/32@5+3000#2 "
	    "198.18.0.3/32@9+0#7");
	store_close(st);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
count_cb(const struct cidr *peer, int64_t created_ms, uint64_t length_ms,
    uint32_t count, void *arg)
{
	(void)peer;
	(void)created_ms;
	(void)length_ms;
	(void)count;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_bans_many(void **state)
{
	enum { N = 100000 };
	struct fixture *f = *state;
	struct ban *b, *v = NULL;
	struct cidr *dels;
	struct timespec t0;
	uint64_t *len;
	struct store *st;
	size_t n = 0, i, nh = 0;
	double put_ms, load_ms, hist_ms, del_ms;

	b = calloc(N, sizeof(*b));
	len = calloc(N, sizeof(*len));
	dels = calloc(N / 2, sizeof(*dels));
	assert_non_null(b);
	assert_non_null(len);
	assert_non_null(dels);
	for (i = 0; i < N; i++) {
		b[i] = mkban(i % 2 ? "198.18.0.0" : "2001:db8::", T0 +
		    (int64_t)i, 3600000, 0);
		if (i % 2) {
			b[i].peer.addr.u.bytes[1] = (uint8_t)(18 + (i >> 16));
			b[i].peer.addr.u.bytes[2] = (uint8_t)(i >> 8);
			b[i].peer.addr.u.bytes[3] = (uint8_t)i;
		} else {
			b[i].peer.addr.u.bytes[13] = (uint8_t)(i >> 16);
			b[i].peer.addr.u.bytes[14] = (uint8_t)(i >> 8);
			b[i].peer.addr.u.bytes[15] = (uint8_t)i;
		}
		len[i] = 3600000;
	}
	st = open_store(f->db);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_ban_put_many(st, b, len, N), 0);
	put_ms = ms_since(&t0);
	store_close(st);

	st = open_store(f->db);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	load_ms = ms_since(&t0);
	assert_int_equal(n, N);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_history_load(st, 0, count_cb, &nh), 0);
	hist_ms = ms_since(&t0);
	assert_int_equal(nh, N);
	nh = 0;
	assert_int_equal(store_history_load(st, T0 + N / 2, count_cb, &nh),
	    0);
	assert_int_equal(nh, N / 2);

	for (i = 0; i < N / 2; i++)
		dels[i] = b[i * 2].peer;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_ban_del_many(st, dels, N / 2), 0);
	del_ms = ms_since(&t0);
	free(v);
	v = NULL;
	assert_int_equal(store_bans_load(st, &v, &n), 0);
	assert_int_equal(n, N / 2);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i].peer.addr.family, AF_INET);
	print_message("store: put_many %d bans in %.0f ms, load %.0f ms, "
	    "history load %.0f ms, del_many %d in %.0f ms\n", N, put_ms,
	    load_ms, hist_ms, N / 2, del_ms);
	free(v);
	free(b);
	free(len);
	free(dels);
	store_close(st);
}

/* Queue and flush alerts ids from..to, alert i at time T0 + i s. */
static void
fill(struct store *st, uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i <= to; i++)
		queue(st, i, T0 + (int64_t)i * 1000, "listener", NULL);
	assert_int_equal(store_flush(st), (int)(to - from + 1));
}

/* Prune until a call deletes fewer than batch; each call deletes at most
 * batch. Returns the total. */
static int
prune_all(struct store *st, int64_t before_ms, uint64_t max_ids,
    unsigned int batch)
{
	int r, total = 0, calls = 0;

	do {
		r = store_prune_alerts(st, before_ms, max_ids, batch);
		assert_in_range(r, 0, batch);
		total += r;
		assert_true(++calls < 10000);
	} while ((unsigned int)r == batch);
	return total;
}

/* alerts_max: the newest ids stay, the rest go oldest first, a batch at
 * a time. */
static void
test_prune_max(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct store_stats ss;
	struct store *st;

	st = open_store(f->db);
	/* Nothing to do: no limits, or an empty table. */
	assert_int_equal(store_prune_alerts(st, 0, 0, 10), 0);
	assert_int_equal(store_prune_alerts(st, 0, 5, 10), 0);
	assert_int_equal(store_prune_alerts(st, 0, 5, 0), -EINVAL);
	fill(st, 1, 250);
	/* Under the limit: nothing. */
	assert_int_equal(store_prune_alerts(st, 0, 250, 40), 0);
	/* 150 beyond 100: three full batches of 40, then 30. */
	assert_int_equal(store_prune_alerts(st, 0, 100, 40), 40);
	assert_sql(f->db, "SELECT min(id) || '-' || max(id) || ':' || "
	    "count(*) FROM alerts", "41-250:210");
	assert_int_equal(store_prune_alerts(st, 0, 100, 40), 40);
	assert_int_equal(store_prune_alerts(st, 0, 100, 40), 40);
	assert_int_equal(store_prune_alerts(st, 0, 100, 40), 30);
	assert_int_equal(store_prune_alerts(st, 0, 100, 40), 0);
	assert_sql(f->db, "SELECT min(id) || '-' || max(id) || ':' || "
	    "count(*) FROM alerts", "151-250:100");
	store_get_stats(st, &ss);
	assert_int_equal(ss.pruned, 150);
	assert_int_equal(ss.written, 250);
	/* New alerts push the oldest out; ids continue. */
	fill(st, 251, 260);
	assert_int_equal(prune_all(st, 0, 100, 3), 10);
	/* The query sees the same: 160 and before are gone. */
	flt.since_ms = T0 + 150 * 1000;
	assert_int_equal(strncmp(query_ids(st, &flt), "161,162,", 8), 0);
	assert_sql(f->db, "SELECT max(id) FROM alerts", "260");
	assert_sql(f->db, "SELECT min(id) || ':' || count(*) FROM alerts",
	    "161:100");
	/* A limit of one keeps the newest alert only. */
	assert_int_equal(prune_all(st, 0, 1, 1000), 99);
	flt.since_ms = 0;
	assert_string_equal(query_ids(st, &flt), "260");
	store_get_stats(st, &ss);
	assert_int_equal(ss.pruned, 259);
	assert_int_equal(ss.errors, 0);
	store_close(st);
}

/* alerts_keep: by the alerts' own times (not their ids), oldest first;
 * with both limits, one batch covers both. */
static void
test_prune_age(void **state)
{
	struct fixture *f = *state;
	struct alert_filter flt = { 0 };
	struct store_stats ss;
	struct store *st;

	st = open_store(f->db);
	fill(st, 1, 100);
	/* Late arrivals: ids after 100, times among the oldest. */
	queue(st, 101, T0 + 500, "portscan", "198.18.0.1");
	queue(st, 102, T0 + 10500, "portscan", "198.18.0.2");
	assert_int_equal(store_flush(st), 2);
	/* Older than alert 21: 1..20 and 101, 102; 7 at a time, by time. */
	assert_int_equal(store_prune_alerts(st, T0 + 21000, 0, 7), 7);
	assert_sql(f->db, "SELECT group_concat(id) FROM (SELECT id FROM "
	    "alerts WHERE id <= 12 OR id > 100 ORDER BY id)",
	    "7,8,9,10,11,12,102");
	assert_int_equal(prune_all(st, T0 + 21000, 0, 7), 15);
	assert_sql(f->db, "SELECT min(id) || '-' || max(id) || ':' || "
	    "count(*) FROM alerts", "21-100:80");
	/* Both: age takes 21..30, then the limit 50 takes 31..50, all in a
	 * batch of 40 (10 + 20, fewer than 40: done). */
	assert_int_equal(store_prune_alerts(st, T0 + 31000, 50, 40), 30);
	assert_sql(f->db, "SELECT min(id) || '-' || max(id) || ':' || "
	    "count(*) FROM alerts", "51-100:50");
	/* A batch smaller than the age's share: the limit waits. */
	assert_int_equal(store_prune_alerts(st, T0 + 61000, 45, 8), 8);
	assert_sql(f->db, "SELECT min(id) || ':' || count(*) FROM alerts",
	    "59:42");
	assert_int_equal(prune_all(st, T0 + 61000, 45, 8), 2);
	flt.since_ms = T0 + 95000;
	assert_string_equal(query_ids(st, &flt), "95,96,97,98,99,100");
	store_get_stats(st, &ss);
	assert_int_equal(ss.pruned, 102 - 40);
	store_close(st);
}

/* Pruning never waits for another writer, and loses nothing then. */
static void
test_prune_busy(void **state)
{
	struct fixture *f = *state;
	struct store_stats ss;
	struct store *st;
	uint64_t size;
	sqlite3 *other;

	st = open_store(f->db);
	fill(st, 1, 20);
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(store_prune_alerts(st, 0, 5, 100), -EBUSY);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	store_get_stats(st, &ss);
	assert_int_equal(ss.pruned, 0);
	assert_int_equal(ss.errors, 1);
	/* The size is the file's pages, readable while pruning failed. */
	assert_int_equal(store_size(st, &size), 0);
	assert_true(size > 0 && size % 512 == 0);
	assert_int_equal(store_prune_alerts(st, 0, 5, 100), 15);
	assert_sql(f->db, "SELECT min(id) || ':' || count(*) FROM alerts",
	    "16:5");
	store_close(st);
}

/*
 * The size follows the data, and a batch costs about the same on a big
 * table as on a small one. N rows go in with SQL, each with the JSON of
 * a real port scan alert (586 bytes) and a peer of its own, the worst
 * case for the peer index; then batches of 100 to 1,000 are timed, by the
 * limit and by age. SW_PRUNE_ROWS sets N for the figures in
 * docs/benchmarks.md (9).
 */
static void
test_prune_big(void **state)
{
	static const char json[] = "{\"id\":1,"
	    "\"time\":\"2026-11-27T16:45:17.298Z\",\"kind\":\"portscan\","
	    "\"severity\":\"warning\",\"peer\":\"198.18.0.2\","
	    "\"local_addr\":\"198.18.0.1\",\"local_port\":0,\"process\":null,"
	    "\"message\":\"SYN scan from 198.18.0.2: 21 ports on 1 host "
	    "within 10s\",\"evidence\":{\"scan\":\"syn\",\"ports\":21,"
	    "\"ports_exact\":true,\"ports_limit\":20,\"hosts\":1,"
	    "\"hosts_exact\":true,\"hosts_limit\":16,\"sample_ports\":[28,76,"
	    "13,66,37,47,33,8],\"kinds\":{\"syn\":21},\"open_ports\":null,"
	    "\"listeners_known\":false,\"open_probes\":0,"
	    "\"closed_probes\":21,\"handshakes\":0,\"synacks\":2,\"rsts\":18,"
	    "\"icmp_unreach\":0,\"window\":10,\"ban\":3600,\"repeats\":0},"
	    "\"action\":\"alert\"}";
	static const unsigned int sizes[] = { 100, 200, 500, 1000 };
	struct fixture *f = *state;
	const char *env = getenv("SW_PRUNE_ROWS");
	long n = env != NULL && atol(env) >= 100000 ? atol(env) : 100000;
	uint64_t before, after, deleted = 0;
	double fill_ms, ms, mean[4], max[4] = { 0 };
	struct timespec t0;
	struct store *st;
	char want[32];
	sqlite3_stmt *s;
	sqlite3 *db;
	size_t k;
	int i;

	st = open_store(f->db);
	assert_int_equal(store_size(st, &before), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sqlite3_prepare_v2(db, "WITH RECURSIVE n(i) AS "
	    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) INSERT INTO "
	    "alerts (id, time_ms, kind, severity, peer, json) SELECT i, ?2 + "
	    "i * 1000, 'portscan', 'warning', randomblob(16), ?3 FROM n", -1,
	    &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, T0);
	sqlite3_bind_text(s, 3, json, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	fill_ms = ms_since(&t0);
	assert_int_equal(store_size(st, &after), 0);
	assert_true(after > before + (uint64_t)n * (sizeof(json) - 1));

	/* Per size: 5 batches by the limit, 5 by age, from the oldest. */
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		mean[k] = 0;
		for (i = 0; i < 10; i++) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (i < 5)
				assert_int_equal(store_prune_alerts(st, 0,
				    (uint64_t)n / 2, sizes[k]), (int)sizes[k]);
			else
				assert_int_equal(store_prune_alerts(st,
				    T0 + n / 2 * 1000LL, 0, sizes[k]),
				    (int)sizes[k]);
			ms = ms_since(&t0);
			mean[k] += ms / 10;
			if (ms > max[k])
				max[k] = ms;
			deleted += sizes[k];
		}
	}
	snprintf(want, sizeof(want), "%ld", n - (long)deleted);
	assert_sql(f->db, "SELECT count(*) FROM alerts", want);
	/* The freed pages stay in the file, for new rows. */
	assert_int_equal(store_size(st, &before), 0);
	assert_true(before == after);
	print_message("store: %ld alerts put in %.0f ms, %.0f MiB (%.0f "
	    "bytes each); prune batches of %u/%u/%u/%u: mean %.1f/%.1f/%.1f/"
	    "%.1f ms, max %.1f/%.1f/%.1f/%.1f ms\n", n, fill_ms,
	    (double)after / 1048576, (double)after / (double)n, sizes[0],
	    sizes[1], sizes[2], sizes[3], mean[0], mean[1], mean[2], mean[3],
	    max[0], max[1], max[2], max[3]);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_modes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_flush_query,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_history,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_version_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_set_aside,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_aside_undone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_busy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_full,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_1,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans_persist,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans_busy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans_apply,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans_many,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_max,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_age,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_busy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_big,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
