/* SQLite state: alert history, bans in force and each peer's last ban.
 * WAL mode, schema versioned with PRAGMA user_version and applied
 * migrations. Alert writes are queued and committed in one transaction
 * per tick; ban writes are committed at once, each call its own
 * transaction. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../policy/alert.h"
#include "../policy/bans.h"

#define STORE_QUEUE_MAX 10000		/* alerts waiting for a flush */

struct store;

struct store_stats {
	uint64_t written;		/* alerts committed */
	uint64_t dropped;		/* lost: queue full or failed commit */
	uint64_t errors;		/* failed commits */
	uint64_t pruned;		/* store_prune_alerts deleted */
};

struct alert_filter {
	int64_t since_ms;		/* 0: no lower bound */
	const char *kind;		/* NULL: any */
	bool has_peer;
	struct cidr peer;
	unsigned int limit;		/* 0: no limit; newest N */
};

/* Open or create the database (and its directory, 0700 if missing),
 * migrate the schema. The database, -wal and -shm are made 0600, whatever
 * they were; a symbolic link there is refused (-ELOOP). On error returns
 * -errno/-EIO and a message in err: -EUCLEAN when the file is corrupt,
 * -ENOTSUP when its schema is newer than this sockwatchd's. */
int store_open(const char *path, struct store **ret_store, char *err,
    size_t errlen);
void store_close(struct store *st);	/* flushes first */
/* A database store_open found corrupt (-EUCLEAN: not a database, a
 * damaged page, the bans' table failing its check) is renamed, with its
 * -wal and -shm, to PATH.corrupt-YYYYmmddTHHMMSSZ (UTC, now_ms), kept for
 * a post-mortem; the name given is put in ret. 0 or -errno. */
int store_set_aside(const char *path, int64_t now_ms, char *ret,
    size_t len);

/* Copy an alert into the pending batch. -ENOBUFS (counted as dropped)
 * when STORE_QUEUE_MAX alerts are already waiting. */
int store_queue_alert(struct store *st, const struct alert *a);
/* Commit the pending batch in one transaction. Returns the number
 * written, or a negative error (the caller logs): -EBUSY (locked)
 * keeps the batch for the next call, any other error counts it as
 * dropped. Never waits on a lock (busy timeout 0). */
int store_flush(struct store *st);

/* The highest alert id stored (0 if none): ids continue from it. */
uint64_t store_max_alert_id(struct store *st);

/* Alerts matching f, oldest first (the newest f->limit ones when a limit
 * is set), as a JSON array of alert objects (see alert_to_json). */
int store_query_alerts(struct store *st, const struct alert_filter *f,
    json_t **ret_array);

void store_get_stats(const struct store *st, struct store_stats *ret);

/* Delete at most batch alerts, oldest first, in one transaction: those
 * older than before_ms (0: none), then those below the newest max_ids
 * ids (0: no limit). Returns how many (fewer than batch: nothing is left
 * to delete), or -errno; never waits on a lock (-EBUSY). */
int store_prune_alerts(struct store *st, int64_t before_ms,
    uint64_t max_ids, unsigned int batch);
/* The database's size in bytes (page_count * page_size): pages freed by
 * deletions stay in the file, for new rows. */
int store_size(struct store *st, uint64_t *ret_bytes);

/*
 * Bans. Rows are keyed by the peer's canonical text (bans_key, then
 * cidr_format), so "::ffff:198.18.0.1" and "198.18.0.1/32" are one row.
 * Each write is its own transaction, committed before returning (WAL,
 * synchronous=NORMAL: durable across a crash of the daemon, the last
 * commits may be lost with the power); none waits on a lock, so another
 * writer makes them fail with -EBUSY. The alert queue is not touched.
 */

/* Insert the ban, or replace the peer's ban (the old one goes to the
 * history). A peer's history is its last ban's time and length and the
 * most bans counted, a ban in force counting as (created, its length,
 * count + 1): see store_history_load. length_ms is not stored (the row's
 * expires_ms - created_ms is the length). 0, -EINVAL (bad peer) or
 * -errno. */
int store_ban_put(struct store *st, const struct ban *b, uint64_t length_ms);
/* The same for n bans in one transaction (100,000 in well under a
 * second). A bad peer is skipped and reported as -EINVAL once the rest
 * is committed. */
int store_ban_put_many(struct store *st, const struct ban *b,
    const uint64_t *length_ms, size_t n);
/* Delete the ban of exactly this peer, into its history. 0 even if
 * absent. */
int store_ban_del(struct store *st, const struct cidr *peer);
int store_ban_del_many(struct store *st, const struct cidr *peer, size_t n);
/* Puts and deletes in order, in one transaction (the daemon's queue of
 * writes the database did not take at once). */
struct store_ban_op {
	struct ban ban;			/* a delete uses ban.peer only */
	uint64_t length_ms;
	bool del;
	bool clear;			/* every ban row into the history,
					 * then deleted: a rewrite follows */
};
int store_ban_apply(struct store *st, const struct store_ban_op *op,
    size_t n);
/* Every ban row, expired or not (the caller drops those); *ret is
 * malloc'ed (NULL when none). Unreadable rows are skipped. */
int store_bans_load(struct store *st, struct ban **ret, size_t *ret_n);
/* Call fn for each peer whose last ban (in force or not) began at or
 * after since_ms, with its history merged from its ban_history and bans
 * rows; a nonzero return from fn stops the walk and is returned. */
int store_history_load(struct store *st, int64_t since_ms,
    int (*fn)(const struct cidr *peer, int64_t created_ms,
    uint64_t length_ms, uint32_t count, void *arg), void *arg);
/* Forget the history rows older than before_ms (except peers with a ban
 * row). Returns how many, or -errno. */
int store_history_prune(struct store *st, int64_t before_ms);

#endif
