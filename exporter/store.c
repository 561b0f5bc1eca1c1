#include "../common/util.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Start-up may wait for a lock (an admin's sqlite3 shell, say), up to
 * 10 s, before the daemon runs without a database; once the loop runs,
 * nothing waits: busy timeout 0. */
#define STORE_OPEN_BUSY_MS 10000

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert;
	sqlite3_stmt *ban_add, *ban_put, *hist_put, *ban_del;
	struct alert *queue;		/* pending batch, owned copies */
	size_t nqueue, capqueue;
	uint64_t max_id;		/* highest id committed */
	struct store_stats stats;
};

/*
 * Schema migrations, in order. Each step runs in its own transaction and
 * sets user_version to its version; a database at a higher version than
 * the last step was written by a newer sockwatchd and is left alone.
 * Never edit a step that has shipped: add one.
 *
 * alerts.peer is the peer as a 16-byte BLOB (IPv4 as ::ffff:a.b.c.d) so
 * that a CIDR is a range the index can answer; the exact match (and the
 * address family) is checked in C on the stored JSON.
 */
struct migration {
	int version;
	const char *sql;
};

static const struct migration migrations[] = {
	{ 1,
	  "CREATE TABLE alerts ("
	  " id INTEGER PRIMARY KEY,"
	  " time_ms INTEGER NOT NULL,"
	  " kind TEXT NOT NULL,"
	  " severity TEXT NOT NULL,"
	  " peer BLOB,"
	  " json TEXT NOT NULL);"
	  "CREATE INDEX alerts_time ON alerts(time_ms);"
	  "CREATE INDEX alerts_kind ON alerts(kind);"
	  "CREATE INDEX alerts_peer ON alerts(peer);" },
	/* Bans in force and each peer's last ban, keyed by the canonical
	 * text of the peer (bans_key, cidr_format: "198.18.0.1/32"). family
	 * is 4 or 6; expires_ms 0 is permanent; length 0 was permanent.
	 * ban_history has no time index: it is read whole once at start and
	 * pruned rarely, and an index costs every ban write a third insert. */
	{ 2,
	  "CREATE TABLE bans ("
	  " peer TEXT PRIMARY KEY,"
	  " family INTEGER NOT NULL,"
	  " prefix_len INTEGER NOT NULL,"
	  " reason TEXT NOT NULL,"
	  " source TEXT NOT NULL,"
	  " created_ms INTEGER NOT NULL,"
	  " expires_ms INTEGER NOT NULL,"
	  " count INTEGER NOT NULL,"
	  " sockets_closed INTEGER NOT NULL,"
	  " procs TEXT NOT NULL) WITHOUT ROWID;"
	  "CREATE TABLE ban_history ("
	  " peer TEXT PRIMARY KEY,"
	  " last_created_ms INTEGER NOT NULL,"
	  " last_length_ms INTEGER NOT NULL,"
	  " count INTEGER NOT NULL) WITHOUT ROWID;" },
};

#define STORE_SCHEMA_VERSION (migrations[nitems(migrations) - 1].version)

/* A negative errno for an SQLite result code. */
static int
sqlite_errno(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		sys = db != NULL ? sqlite3_system_errno(db) : 0;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

static int
get_user_version(sqlite3 *db, int *ret)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void
rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
}

static int
store_migrate(struct store *st, const char *path, int from, char *err,
    size_t errlen)
{
	char sql[64];
	size_t i;
	int rc, cur = 0;

	for (i = 0; i < nitems(migrations); i++) {
		if (migrations[i].version <= from)
			continue;
		rc = exec(st->db, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK)
			goto fail;
		/* Someone may have migrated since we looked. */
		rc = get_user_version(st->db, &cur);
		if (rc != SQLITE_OK)
			goto fail;
		if (cur < migrations[i].version) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			    migrations[i].version);
			rc = exec(st->db, migrations[i].sql);
			if (rc == SQLITE_OK)
				rc = exec(st->db, sql);
			if (rc != SQLITE_OK)
				goto fail;
		}
		rc = exec(st->db, "COMMIT");
		if (rc != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	util_errf(err, errlen, "%s: migrating the schema to version %d: %s", path,
	    migrations[i].version, sqlite3_errmsg(st->db));
	rollback(st->db);
	return sqlite_errno(st->db, rc);
}

static int
load_max_id(struct store *st)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT max(id) FROM alerts", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(stmt, 0);

		st->max_id = v > 0 ? (uint64_t)v : 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* The bans are what protects the host: their table is checked whole at
 * start (a few milliseconds at 100,000 rows), the alerts' only as far as
 * reading their newest id goes (the table may be gigabytes). */
static int
check_bans(struct store *st)
{
	sqlite3_stmt *stmt = NULL;
	const unsigned char *t;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(bans)", -1, &stmt,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(stmt, 0);
		rc = t != NULL && strcmp((const char *)t, "ok") == 0 ?
		    SQLITE_OK : SQLITE_CORRUPT;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Bans. A peer's history (its last ban's time and length, the most bans
 * counted) is the merge of its ban_history row and its bans row, if any:
 * a ban row counts as a history row of (created_ms, expires_ms -
 * created_ms or 0, count + 1). So a new ban is one insert; only a row
 * that goes (deleted, or replaced by another ban) is merged into
 * ban_history first, by hist_put, with the rules of bans_history_add:
 * the newer ban's time and length, the larger count.
 */
#define STORE_BAN_LENGTH						\
	"CASE WHEN expires_ms = 0 THEN 0 WHEN expires_ms > created_ms"	\
	" THEN expires_ms - created_ms ELSE 1 END"
#define STORE_ROW_TO_HISTORY						\
	"INSERT INTO ban_history (peer, last_created_ms, last_length_ms,"\
	" count) SELECT peer, created_ms, " STORE_BAN_LENGTH ","	\
	" count + 1 FROM bans WHERE "
#define STORE_HISTORY_MERGE						\
	" ON CONFLICT(peer) DO UPDATE SET"				\
	" last_length_ms = CASE WHEN excluded.last_created_ms >="	\
	"  last_created_ms THEN excluded.last_length_ms"		\
	"  ELSE last_length_ms END,"					\
	" last_created_ms = max(last_created_ms,"			\
	"  excluded.last_created_ms),"					\
	" count = max(count, excluded.count)"

static int
prepare_bans(struct store *st)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
		{ offsetof(struct store, ban_add),
		  "INSERT INTO bans (peer, family, prefix_len, reason, source,"
		  " created_ms, expires_ms, count, sockets_closed, procs)"
		  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		  " ON CONFLICT(peer) DO NOTHING" },
		{ offsetof(struct store, ban_put),
		  "UPDATE bans SET family = ?2, prefix_len = ?3, reason = ?4,"
		  " source = ?5, created_ms = ?6, expires_ms = ?7, count = ?8,"
		  " sockets_closed = ?9, procs = ?10 WHERE peer = ?1" },
		{ offsetof(struct store, hist_put),
		  STORE_ROW_TO_HISTORY "peer = ?1" STORE_HISTORY_MERGE },
		{ offsetof(struct store, ban_del),
		  "DELETE FROM bans WHERE peer = ?1" },
	};
	sqlite3_stmt **sp;
	size_t i;
	int rc;

	for (i = 0; i < nitems(stmts); i++) {
		sp = (sqlite3_stmt **)((char *)st + stmts[i].off);
		rc = sqlite3_prepare_v3(st->db, stmts[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, sp, NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static void
finalize_bans(struct store *st)
{
	sqlite3_finalize(st->ban_add);
	sqlite3_finalize(st->ban_put);
	sqlite3_finalize(st->hist_put);
	sqlite3_finalize(st->ban_del);
	st->ban_add = st->ban_put = st->hist_put = st->ban_del = NULL;
}

/*
 * The database holds every alert and ban: it and its -wal and -shm are
 * 0600, whatever the umask and whatever an older sockwatchd left (0644).
 * SQLite gives a new -wal and -shm the database's own mode, so fixing the
 * database and any -wal and -shm already there is enough. A new database
 * is made here, 0600 on the descriptor that created it. An existing file
 * is only chmod'ed, never opened to read or write: closing such a
 * descriptor would drop the POSIX locks another connection in this
 * process may hold on it (fchmodat's O_PATH descriptor leaves them). A
 * symbolic link is refused (-ELOOP); anything else that is not a regular
 * file is left for SQLite to reject.
 */
static int
store_protect_file(const char *path, bool create)
{
	struct stat sb;
	int fd, r = 0;

	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0) {
			if (fchmod(fd, 0600) < 0)
				r = -errno;
			close(fd);
			return r;
		}
		if (errno != EEXIST)
			return -errno;
	}
	if (fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT && !create ? 0 : -errno;
	if (S_ISLNK(sb.st_mode))
		return -ELOOP;
	if (S_ISREG(sb.st_mode) && (sb.st_mode & 07777) != 0600 &&
	    fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* The database's directory (0700 if made here), the database, its -wal
 * and -shm. */
static int
store_protect(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char name[PATH_MAX];
	size_t i;
	int r;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	if ((r = util_mkdir_parents(path, 0700)) < 0) {
		util_errf(err, errlen, "%s: creating its directory: %s", path,
		    strerror(-r));
		return r;
	}
	for (i = 0; i < nitems(suffix); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
		    suffix[i]) >= sizeof(name))
			r = -ENAMETOOLONG;
		else
			r = store_protect_file(name, i == 0);
		if (r < 0) {
			util_errf(err, errlen, "%s: making it 0600: %s", name,
			    strerror(-r));
			return r;
		}
	}
	return 0;
}

int
store_open(const char *path, struct store **ret_store, char *err,
    size_t errlen)
{
	struct store *st = NULL;
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int r, rc, version = 0;

	if ((r = store_protect(path, err, errlen)) < 0)
		goto out;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		r = -ENOMEM;
		util_errf(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_MS);

	/* Look before touching anything: journal_mode=WAL writes too. */
	rc = get_user_version(st->db, &version);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if (version > STORE_SCHEMA_VERSION) {
		util_errf(err, errlen, "%s: schema version %d is newer than this "
		    "sockwatchd knows (%d); refusing to use or modify it",
		    path, version, STORE_SCHEMA_VERSION);
		r = -ENOTSUP;
		goto out;
	}

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		goto sqlerr;
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		util_errf(err, errlen, "%s: cannot enable WAL mode (journal mode "
		    "is %s)", path, mode ? mode : "unknown");
		r = -EIO;
		goto out;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	rc = exec(st->db, "PRAGMA synchronous = NORMAL");
	if (rc != SQLITE_OK)
		goto sqlerr;

	if ((r = store_migrate(st, path, version, err, errlen)) < 0)
		goto out;

	rc = sqlite3_prepare_v3(st->db, "INSERT INTO alerts "
	    "(id, time_ms, kind, severity, peer, json) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, SQLITE_PREPARE_PERSISTENT,
	    &st->insert, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if ((rc = prepare_bans(st)) != SQLITE_OK)
		goto sqlerr;
	rc = load_max_id(st);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if ((rc = check_bans(st)) != SQLITE_OK) {
		util_errf(err, errlen, "%s: the bans' table fails its "
		    "integrity check (%s)", path, sqlite3_errstr(rc));
		r = sqlite_errno(st->db, rc);
		goto out;
	}
	sqlite3_busy_timeout(st->db, 0);
	*ret_store = st;
	st = NULL;
	r = 0;
	goto out;

sqlerr:
	util_errf(err, errlen, "%s: %s", path, st->db != NULL ?
	    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	r = sqlite_errno(st->db, rc);
out:
	sqlite3_finalize(stmt);
	if (st != NULL) {
		sqlite3_finalize(st->insert);
		finalize_bans(st);
		sqlite3_close(st->db);
		free(st);
	}
	return r;
}

int
store_set_aside(const char *path, int64_t now_ms, char *ret, size_t len)
{
	static const char *const suffix[] = { "-wal", "-shm", "" };
	char from[PATH_MAX], to[PATH_MAX], stamp[32];
	time_t secs = (time_t)(now_ms / 1000);
	bool moved[nitems(suffix)] = { false };
	struct tm tm;
	size_t i;
	int r = 0;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -EINVAL;
	if ((size_t)snprintf(ret, len, "%s.corrupt-%s", path, stamp) >= len)
		return -ENAMETOOLONG;
	/* The database last, and all or nothing: a database left without
	 * its -wal would lose what the -wal holds. */
	for (i = 0; i < nitems(suffix); i++) {
		if ((size_t)snprintf(from, sizeof(from), "%s%s", path,
		    suffix[i]) >= sizeof(from) ||
		    (size_t)snprintf(to, sizeof(to), "%s%s", ret,
		    suffix[i]) >= sizeof(to)) {
			r = -ENAMETOOLONG;
			break;
		}
		if (rename(from, to) == 0)
			moved[i] = true;
		else if (errno != ENOENT || i == 2) {
			r = -errno;
			break;
		}
	}
	while (r < 0 && i-- > 0) {
		if (!moved[i])
			continue;
		snprintf(from, sizeof(from), "%s%s", path, suffix[i]);
		snprintf(to, sizeof(to), "%s%s", ret, suffix[i]);
		(void)rename(to, from);
	}
	return r;
}

static void
queue_clear(struct store *st)
{
	size_t i;

	for (i = 0; i < st->nqueue; i++)
		alert_clear(&st->queue[i]);
	st->nqueue = 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_flush(st);
	queue_clear(st);
	free(st->queue);
	sqlite3_finalize(st->insert);
	finalize_bans(st);
	exec(st->db, "PRAGMA optimize");
	sqlite3_close(st->db);
	free(st);
}

int
store_queue_alert(struct store *st, const struct alert *a)
{
	struct alert *q;
	size_t cap;
	int r;

	if (st->nqueue >= STORE_QUEUE_MAX) {
		st->stats.dropped++;
		return -ENOBUFS;
	}
	if (st->nqueue == st->capqueue) {
		cap = st->capqueue ? st->capqueue * 2 : 64;
		if (cap > STORE_QUEUE_MAX)
			cap = STORE_QUEUE_MAX;
		q = reallocarray(st->queue, cap, sizeof(*q));
		if (q == NULL) {
			st->stats.dropped++;
			return -ENOMEM;
		}
		st->queue = q;
		st->capqueue = cap;
	}
	if ((r = alert_copy(&st->queue[st->nqueue], a)) < 0) {
		st->stats.dropped++;
		return r;
	}
	st->nqueue++;
	return 0;
}

/* The index key of an address: 16 bytes, IPv4 as ::ffff:a.b.c.d. */
static void
peer_key(const struct addr *a, uint8_t key[16])
{
	if (a->family == AF_INET) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, a->u.bytes, 4);
	} else
		memcpy(key, a->u.bytes, 16);
}

/* The keys [lo, hi] a prefix covers. */
static void
cidr_range(const struct cidr *c, uint8_t lo[16], uint8_t hi[16])
{
	unsigned int len = c->len + (c->addr.family == AF_INET ? 96 : 0), i;
	uint8_t host;

	peer_key(&c->addr, lo);
	memcpy(hi, lo, 16);
	for (i = 0; i < 16; i++) {
		if (len >= (i + 1) * 8)
			continue;
		host = len <= i * 8 ? 0xff : (uint8_t)(0xff >> (len - i * 8));
		lo[i] &= (uint8_t)~host;
		hi[i] |= host;
	}
}

/* Insert one alert: 0 written, 1 skipped (this alert is lost, the batch
 * goes on), or a negative SQLite result code that fails the batch. */
static int
insert_one(struct store *st, const struct alert *a)
{
	sqlite3_stmt *s = st->insert;
	uint8_t key[16];
	json_t *j;
	char *text;
	int rc;

	if (a->id > INT64_MAX)
		return 1;
	j = alert_to_json(a);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return 1;
	/* id 0: let SQLite pick the next one; queries report the column. */
	if (a->id != 0)
		sqlite3_bind_int64(s, 1, (sqlite3_int64)a->id);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_int64(s, 2, a->time_ms);
	sqlite3_bind_text(s, 3, a->kind, (int)strnlen(a->kind,
	    sizeof(a->kind)), SQLITE_STATIC);
	sqlite3_bind_text(s, 4, alert_severity_name(a->severity), -1,
	    SQLITE_STATIC);
	if (a->has_peer) {
		peer_key(&a->peer, key);
		sqlite3_bind_blob(s, 5, key, sizeof(key), SQLITE_TRANSIENT);
	} else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, text, -1, free);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE) {
		sqlite3_int64 id = sqlite3_last_insert_rowid(st->db);

		if (id > 0 && (uint64_t)id > st->max_id)
			st->max_id = (uint64_t)id;
		return 0;
	}
	/* A duplicate id is a bug upstream; lose that alert, not all. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return 1;
	return rc > 0 ? -rc : -SQLITE_ERROR;
}

int
store_flush(struct store *st)
{
	uint64_t old_max = st->max_id;
	size_t i, n = st->nqueue, skipped = 0;
	int rc, r;

	if (n == 0)
		return 0;
	rc = exec(st->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		r = insert_one(st, &st->queue[i]);
		if (r < 0) {
			rc = -r;
			goto fail;
		}
		skipped += (size_t)r;
	}
	rc = exec(st->db, "COMMIT");
	if (rc != SQLITE_OK)
		goto fail;
	st->stats.written += n - skipped;
	st->stats.dropped += skipped;
	queue_clear(st);
	return (int)(n - skipped);
fail:
	r = sqlite_errno(st->db, rc);
	rollback(st->db);
	st->max_id = old_max;
	st->stats.errors++;
	/* A lock passes: the batch waits (the queue's bound drops what
	 * comes beyond). A batch too big for the disk left would fail
	 * again, and so would anything else. */
	if (r != -EBUSY) {
		st->stats.dropped += n;
		queue_clear(st);
	}
	return r;
}

uint64_t
store_max_alert_id(struct store *st)
{
	return st->max_id;
}

/* Does the stored alert's peer lie in c? Exact, family-aware. */
static bool
peer_matches(const json_t *obj, const struct cidr *c)
{
	const json_t *v = json_object_get(obj, "peer");
	struct addr a;

	return json_is_string(v) &&
	    addr_parse(json_string_value(v), &a) == 0 && cidr_contains(c, &a);
}

/* A new array with a's elements in reverse order; steals a. */
static json_t *
json_array_reversed(json_t *a)
{
	json_t *out = json_array();
	size_t i = json_array_size(a);

	while (out != NULL && i-- > 0) {
		if (json_array_append(out, json_array_get(a, i)) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	json_decref(a);
	return out;
}

int
store_query_alerts(struct store *st, const struct alert_filter *f,
    json_t **ret_array)
{
	static const struct alert_filter none;
	char sql[256] = "SELECT id, json FROM alerts WHERE 1";
	uint8_t lo[16], hi[16];
	sqlite3_stmt *stmt = NULL;
	json_t *arr = NULL, *obj;
	unsigned int count = 0;
	int rc, r;

	if (f == NULL)
		f = &none;
	if (f->since_ms != 0)
		strcat(sql, " AND time_ms >= :since");
	if (f->kind != NULL)
		strcat(sql, " AND kind = :kind");
	if (f->has_peer)
		strcat(sql, " AND peer BETWEEN :lo AND :hi");
	strcat(sql, " ORDER BY id DESC");

	rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if (f->since_ms != 0)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":since"), f->since_ms);
	if (f->kind != NULL)
		sqlite3_bind_text(stmt, sqlite3_bind_parameter_index(stmt,
		    ":kind"), f->kind, -1, SQLITE_STATIC);
	if (f->has_peer) {
		cidr_range(&f->peer, lo, hi);
		sqlite3_bind_blob(stmt, sqlite3_bind_parameter_index(stmt,
		    ":lo"), lo, sizeof(lo), SQLITE_STATIC);
		sqlite3_bind_blob(stmt, sqlite3_bind_parameter_index(stmt,
		    ":hi"), hi, sizeof(hi), SQLITE_STATIC);
	}

	arr = json_array();
	if (arr == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* Newest first, so a limit keeps the newest; reversed at the end. */
	while (f->limit == 0 || count < f->limit) {
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_ROW)
			break;
		obj = json_loadb((const char *)sqlite3_column_text(stmt, 1),
		    (size_t)sqlite3_column_bytes(stmt, 1), 0, NULL);
		/* A row we cannot read is skipped, not fatal. */
		if (!json_is_object(obj) ||
		    (f->has_peer && !peer_matches(obj, &f->peer))) {
			json_decref(obj);
			continue;
		}
		if (json_object_set_new(obj, "id",
		    json_integer(sqlite3_column_int64(stmt, 0))) != 0 ||
		    json_array_append_new(arr, obj) != 0) {
			r = -ENOMEM;
			goto out;
		}
		count++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto sqlerr;
	*ret_array = json_array_reversed(arr);
	arr = NULL;
	r = *ret_array != NULL ? 0 : -ENOMEM;
	goto out;
sqlerr:
	r = sqlite_errno(st->db, rc);
out:
	json_decref(arr);
	sqlite3_finalize(stmt);
	return r;
}

void
store_get_stats(const struct store *st, struct store_stats *ret)
{
	if (st == NULL) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = st->stats;
}

/* --- bans ---------------------------------------------------------------- */

/* The canonical text of a peer, the key of both ban tables. */
static int
ban_peer_text(const struct cidr *peer, struct cidr *ret_key, char *buf,
    size_t len)
{
	int r;

	if ((r = bans_key(peer, ret_key)) < 0)
		return r;
	cidr_format(ret_key, buf, len);
	return 0;
}

static int
step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The ban's columns, ?1 to ?10 of ban_add and ban_put. */
static void
bind_ban(sqlite3_stmt *s, const char *peer, const struct cidr *k,
    const struct ban *b)
{
	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, k->addr.family == AF_INET ? 4 : 6);
	sqlite3_bind_int(s, 3, (int)k->len);
	sqlite3_bind_text(s, 4, b->reason, (int)strnlen(b->reason,
	    sizeof(b->reason)), SQLITE_STATIC);
	sqlite3_bind_text(s, 5, b->source, (int)strnlen(b->source,
	    sizeof(b->source)), SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, b->created_ms);
	sqlite3_bind_int64(s, 7, b->expires_ms);
	sqlite3_bind_int64(s, 8, b->count);
	sqlite3_bind_int64(s, 9, b->sockets_closed);
	sqlite3_bind_text(s, 10, b->procs, (int)strnlen(b->procs,
	    sizeof(b->procs)), SQLITE_STATIC);
}

/* The peer's ban row, if any, merged into its history row. */
static int
row_to_history(struct store *st, const char *peer)
{
	sqlite3_bind_text(st->hist_put, 1, peer, -1, SQLITE_STATIC);
	return step_done(st->hist_put);
}

/* Write one ban: an insert, or for a peer banned already its old row
 * into the history and the new one in its place. 0, -EINVAL (bad peer,
 * the batch goes on without it) or a positive SQLite result code. */
static int
ban_write(struct store *st, const struct ban *b, uint64_t length_ms)
{
	char peer[ADDR_STRLEN];
	struct cidr k;
	int rc;

	if (ban_peer_text(&b->peer, &k, peer, sizeof(peer)) < 0 ||
	    length_ms > INT64_MAX)
		return -EINVAL;
	bind_ban(st->ban_add, peer, &k, b);
	if ((rc = step_done(st->ban_add)) != SQLITE_OK ||
	    sqlite3_changes(st->db) > 0)
		return rc;
	if ((rc = row_to_history(st, peer)) != SQLITE_OK)
		return rc;
	bind_ban(st->ban_put, peer, &k, b);
	return step_done(st->ban_put);
}

static int
ban_delete(struct store *st, const struct cidr *peer)
{
	char text[ADDR_STRLEN];
	struct cidr k;
	int rc;

	if (ban_peer_text(peer, &k, text, sizeof(text)) < 0)
		return SQLITE_OK;		/* never stored */
	if ((rc = row_to_history(st, text)) != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st->ban_del, 1, text, -1, SQLITE_STATIC);
	return step_done(st->ban_del);
}

/* Every ban row into the history, then gone. */
static int
clear_bans(struct store *st)
{
	int rc;

	rc = exec(st->db, STORE_ROW_TO_HISTORY "true" STORE_HISTORY_MERGE);
	return rc != SQLITE_OK ? rc : exec(st->db, "DELETE FROM bans");
}

/* The i-th write of a transaction: 0, -EINVAL (skipped) or an SQLite
 * result code. */
typedef int ban_step_fn(struct store *st, const void *v, const uint64_t *len,
    size_t i);

static int
step_put(struct store *st, const void *v, const uint64_t *len, size_t i)
{
	return ban_write(st, &((const struct ban *)v)[i], len[i]);
}

static int
step_del(struct store *st, const void *v, const uint64_t *len, size_t i)
{
	(void)len;
	return ban_delete(st, &((const struct cidr *)v)[i]);
}

static int
step_op(struct store *st, const void *v, const uint64_t *len, size_t i)
{
	const struct store_ban_op *op = &((const struct store_ban_op *)v)[i];

	(void)len;
	if (op->clear)
		return clear_bans(st);
	return op->del ? ban_delete(st, &op->ban.peer) :
	    ban_write(st, &op->ban, op->length_ms);
}

/*
 * One transaction of n ban writes. It must not wait (busy timeout 0)
 * nor leave a transaction open: the alert batch of the next store_flush
 * begins its own.
 */
static int
bans_txn(struct store *st, ban_step_fn *step, const void *v,
    const uint64_t *len, size_t n)
{
	size_t i, bad = 0;
	int rc, r;

	if (n == 0)
		return 0;
	rc = exec(st->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		r = step(st, v, len, i);
		if (r == -EINVAL) {
			bad++;
			continue;
		}
		if ((rc = r) != SQLITE_OK)
			goto fail;
	}
	rc = exec(st->db, "COMMIT");
	if (rc != SQLITE_OK)
		goto fail;
	return bad > 0 ? -EINVAL : 0;
fail:
	r = sqlite_errno(st->db, rc);
	rollback(st->db);
	return r;
}

int
store_ban_put(struct store *st, const struct ban *b, uint64_t length_ms)
{
	return bans_txn(st, step_put, b, &length_ms, 1);
}

int
store_ban_put_many(struct store *st, const struct ban *b,
    const uint64_t *length_ms, size_t n)
{
	return bans_txn(st, step_put, b, length_ms, n);
}

int
store_ban_del(struct store *st, const struct cidr *peer)
{
	return bans_txn(st, step_del, peer, NULL, 1);
}

int
store_ban_del_many(struct store *st, const struct cidr *peer, size_t n)
{
	return bans_txn(st, step_del, peer, NULL, n);
}

int
store_ban_apply(struct store *st, const struct store_ban_op *op, size_t n)
{
	return bans_txn(st, step_op, op, NULL, n);
}

static void
column_string(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

static uint32_t
column_u32(sqlite3_stmt *s, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(s, col);

	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int
store_bans_load(struct store *st, struct ban **ret, size_t *ret_n)
{
	struct ban *v = NULL, *nv, *b;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	struct cidr c;
	int rc, r;

	rc = sqlite3_prepare_v2(st->db, "SELECT peer, reason, source,"
	    " created_ms, expires_ms, count, sockets_closed, procs FROM bans",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* A row we cannot read is skipped, not fatal. */
		if (sqlite3_column_text(s, 0) == NULL ||
		    cidr_parse((const char *)sqlite3_column_text(s, 0),
		    &c) < 0 || bans_key(&c, &c) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		b = &v[n++];
		memset(b, 0, sizeof(*b));
		b->peer = c;
		column_string(s, 1, b->reason, sizeof(b->reason));
		column_string(s, 2, b->source, sizeof(b->source));
		b->created_ms = sqlite3_column_int64(s, 3);
		b->expires_ms = sqlite3_column_int64(s, 4);
		b->count = column_u32(s, 5);
		b->sockets_closed = column_u32(s, 6);
		column_string(s, 7, b->procs, sizeof(b->procs));
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	*ret = v;
	*ret_n = n;
	v = NULL;
	r = 0;
	goto out;
sqlerr:
	r = sqlite_errno(st->db, rc);
out:
	free(v);
	sqlite3_finalize(s);
	return r;
}

int
store_history_load(struct store *st, int64_t since_ms,
    int (*fn)(const struct cidr *peer, int64_t created_ms,
    uint64_t length_ms, uint32_t count, void *arg), void *arg)
{
	sqlite3_stmt *s = NULL;
	sqlite3_int64 len;
	struct cidr c;
	int rc, r = 0;

	/* Each peer's history row merged with its ban row (prepare_bans);
	 * on a tie the ban row, the later write. */
	rc = sqlite3_prepare_v2(st->db, "SELECT peer, created, length, count"
	    " FROM (SELECT coalesce(b.peer, h.peer) AS peer,"
	    " CASE WHEN h.last_created_ms > b.created_ms OR b.peer IS NULL"
	    " THEN h.last_created_ms ELSE b.created_ms END AS created,"
	    " CASE WHEN h.last_created_ms > b.created_ms OR b.peer IS NULL"
	    " THEN h.last_length_ms ELSE " STORE_BAN_LENGTH " END AS length,"
	    " max(coalesce(h.count, 0), coalesce(b.count + 1, 0)) AS count"
	    " FROM ban_history AS h FULL JOIN bans AS b ON b.peer = h.peer)"
	    " WHERE created >= ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	sqlite3_bind_int64(s, 1, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_text(s, 0) == NULL ||
		    cidr_parse((const char *)sqlite3_column_text(s, 0),
		    &c) < 0 || bans_key(&c, &c) < 0)
			continue;
		len = sqlite3_column_int64(s, 2);
		if ((r = fn(&c, sqlite3_column_int64(s, 1),
		    len < 0 ? 0 : (uint64_t)len, column_u32(s, 3), arg)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	goto out;
sqlerr:
	r = sqlite_errno(st->db, rc);
out:
	sqlite3_finalize(s);
	return r;
}

int
store_history_prune(struct store *st, int64_t before_ms)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "DELETE FROM ban_history WHERE"
	    " last_created_ms < ?1 AND peer NOT IN (SELECT peer FROM bans)",
	    -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, before_ms);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sqlite_errno(st->db, rc);
	return sqlite3_changes(st->db);
}

/* --- pruning ------------------------------------------------------------- */

/*
 * The alerts to delete, oldest first, at most ?2 of them: older than ?1
 * by the time index, or with an id at most ?1 below the newest (ids grow
 * with time, so a range of the table's own key). Both are index range
 * scans: a batch costs the same whatever the table's size
 * (docs/benchmarks.md).
 */
static const char *const prune_sql[] = {
	"DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
	" WHERE time_ms < ?1 ORDER BY time_ms LIMIT ?2)",
	"DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
	" WHERE id <= (SELECT max(id) FROM alerts) - ?1 ORDER BY id"
	" LIMIT ?2)",
};

/* Run prune_sql[i]: the number of rows deleted, or a negative SQLite
 * result code. */
static int
prune_step(struct store *st, size_t i, int64_t arg, unsigned int limit)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, prune_sql[i], -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, arg);
		sqlite3_bind_int64(s, 2, limit);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return rc > 0 ? -rc : -SQLITE_ERROR;
	return sqlite3_changes(st->db);
}

int
store_prune_alerts(struct store *st, int64_t before_ms, uint64_t max_ids,
    unsigned int batch)
{
	unsigned int n = 0;
	int rc, r;

	if (batch == 0 || batch > INT_MAX || max_ids > INT64_MAX)
		return -EINVAL;
	if (before_ms == 0 && max_ids == 0)
		return 0;
	rc = exec(st->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	if (before_ms != 0) {
		if ((r = prune_step(st, 0, before_ms, batch)) < 0)
			goto fail_step;
		n += (unsigned int)r;
	}
	if (max_ids != 0 && n < batch) {
		if ((r = prune_step(st, 1, (int64_t)max_ids, batch - n)) < 0)
			goto fail_step;
		n += (unsigned int)r;
	}
	rc = exec(st->db, "COMMIT");
	if (rc != SQLITE_OK)
		goto fail;
	st->stats.pruned += n;
	return (int)n;
fail_step:
	rc = -r;
fail:
	r = sqlite_errno(st->db, rc);
	rollback(st->db);
	st->stats.errors++;
	return r;
}

/* One PRAGMA's integer. */
static int
pragma_int(struct store *st, const char *sql, sqlite3_int64 *ret)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*ret = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : sqlite_errno(st->db, rc);
}

int
store_size(struct store *st, uint64_t *ret_bytes)
{
	sqlite3_int64 pages, size;
	int r;

	if ((r = pragma_int(st, "PRAGMA page_count", &pages)) < 0 ||
	    (r = pragma_int(st, "PRAGMA page_size", &size)) < 0)
		return r;
	*ret_bytes = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size :
	    0;
	return 0;
}
