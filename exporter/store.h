/* SQLite state: alert history (later: bans). WAL mode, schema versioned
 * with PRAGMA user_version and applied migrations. Writes are queued and
 * committed in one transaction per tick. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../policy/alert.h"

#define STORE_QUEUE_MAX 10000		/* alerts waiting for a flush */

struct store;

struct store_stats {
	uint64_t written;		/* alerts committed */
	uint64_t dropped;		/* lost: queue full or failed commit */
	uint64_t errors;		/* failed commits */
};

struct alert_filter {
	int64_t since_ms;		/* 0: no lower bound */
	const char *kind;		/* NULL: any */
	bool has_peer;
	struct cidr peer;
	unsigned int limit;		/* 0: no limit; newest N */
};

/* Open or create the database (and its directory's file), migrate the
 * schema. On error returns -errno/-EIO and a message in err. */
int store_open(const char *path, struct store **ret_store, char *err,
    size_t errlen);
void store_close(struct store *st);	/* flushes first */

/* Copy an alert into the pending batch. -ENOBUFS (counted as dropped)
 * when STORE_QUEUE_MAX alerts are already waiting. */
int store_queue_alert(struct store *st, const struct alert *a);
/* Commit the pending batch in one transaction. Returns the number
 * written, or a negative error after counting the batch as dropped (the
 * caller logs). Never waits on a lock (busy timeout 0). */
int store_flush(struct store *st);

/* The highest alert id stored (0 if none): ids continue from it. */
uint64_t store_max_alert_id(struct store *st);

/* Alerts matching f, oldest first (the newest f->limit ones when a limit
 * is set), as a JSON array of alert objects (see alert_to_json). */
int store_query_alerts(struct store *st, const struct alert_filter *f,
    json_t **ret_array);

void store_get_stats(const struct store *st, struct store_stats *ret);

#endif
