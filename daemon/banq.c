/*
 * The bans' way to the database. A block, an unblock or an expiry takes
 * effect in memory and in the kernel first; its database write is queued
 * here and tried at once, then again with a backoff that doubles up to
 * BANQ_DELAY_MAX_MS while the database refuses (an administrator's
 * sqlite3 holding a write lock, a full disk). Nothing here waits on a
 * lock: the loop goes on capturing and banning meanwhile. The writes go
 * in the order they were made, so an unblock queued after its block is
 * the last word. At BANQ_MAX writes the oldest tenth is dropped and
 * counted: the kernel still holds the truth, and the reconciliation at
 * the next start reads it (enforce.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define BANQ_MAX		200000
#define BANQ_DELAY_MIN_MS	100
#define BANQ_DELAY_MAX_MS	2000
#define BANQ_OPEN_TRIES		5

static struct store_ban_op *
push(struct sw *sw)
{
	struct sw_banq *q = &sw->banq;
	struct store_ban_op *v;
	size_t cap, drop;

	if (sw->store == NULL)
		return NULL;		/* running without a database */
	if (q->n == BANQ_MAX) {
		drop = BANQ_MAX / 10;
		memmove(q->op, q->op + drop, (q->n - drop) * sizeof(*q->op));
		q->n -= drop;
		q->dropped += drop;
		log_warnx("database: %zu ban writes waiting; the oldest %zu "
		    "dropped (the kernel keeps them in force)", (size_t)BANQ_MAX,
		    drop);
	}
	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 64;
		if (cap > BANQ_MAX)
			cap = BANQ_MAX;
		if ((v = realloc(q->op, cap * sizeof(*v))) == NULL) {
			q->dropped++;
			return NULL;
		}
		q->op = v;
		q->cap = cap;
	}
	v = &q->op[q->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* Bans run on steady time (timeutil.h); the database keeps wall time. */
void
banq_put(struct sw *sw, const struct ban *b, uint64_t length_ms)
{
	struct store_ban_op *op = push(sw);

	if (op == NULL)
		return;
	op->ban = *b;
	op->ban.created_ms = time_steady_to_wall(b->created_ms);
	if (b->expires_ms != 0)
		op->ban.expires_ms = time_steady_to_wall(b->expires_ms);
	op->length_ms = length_ms;
}

void
banq_del(struct sw *sw, const struct cidr *peer)
{
	struct store_ban_op *op = push(sw);

	if (op == NULL)
		return;
	op->ban.peer = *peer;
	op->del = true;
}

size_t
banq_pending(const struct sw *sw)
{
	return sw->banq.n;
}

/* The outcome of a write of the whole queue (r from store_ban_apply;
 * -EINVAL is a bad peer skipped, the rest committed). */
void
banq_done(struct sw *sw, int r, int64_t now_mono)
{
	struct sw_banq *q = &sw->banq;

	if (r == 0 || r == -EINVAL) {
		if (q->delay_ms != 0)
			log_info("database: the %zu ban writes waiting since "
			    "%lld s are in", q->n, (long long)((now_mono -
			    q->since_ms + 999) / 1000));
		q->writes += q->n;
		q->n = 0;
		q->delay_ms = 0;
		q->error = 0;
		if (q->cap > 1024) {
			free(q->op);
			q->op = NULL;
			q->cap = 0;
		}
		return;
	}
	if (q->delay_ms == 0) {
		q->since_ms = now_mono;
		log_warnx("database: cannot write %zu bans: %s (in force in "
		    "the kernel; retrying)", q->n, strerror(-r));
	}
	q->failures++;
	q->error = r;
	q->delay_ms = q->delay_ms == 0 ? BANQ_DELAY_MIN_MS :
	    q->delay_ms * 2 > BANQ_DELAY_MAX_MS ? BANQ_DELAY_MAX_MS :
	    q->delay_ms * 2;
	q->next_ms = now_mono + q->delay_ms;
}

int
banq_write(struct sw *sw)
{
	int r;

	if (sw->banq.n == 0)
		return 0;
	r = store_ban_apply(sw->store, sw->banq.op, sw->banq.n);
	banq_done(sw, r, time_mono_ms());
	return r == -EINVAL ? 0 : r;
}

void
banq_tick(struct sw *sw, int64_t now_mono)
{
	if (sw->banq.n > 0 && now_mono >= sw->banq.next_ms)
		(void)banq_write(sw);
}

/* The database at start: corrupt, it is moved aside and a fresh one
 * made (the kernel's bans are adopted into it, enforce.c); refused for
 * any other reason (a newer schema, a symbolic link, no room), the
 * daemon runs without one. Either way it goes on protecting the host,
 * and a critical alert says what happened (banq_alert). */
void
banq_open_store(struct sw *sw)
{
	const char *path = sw->cfg->daemon.database;
	char err[256], aside[PATH_MAX];
	int i, r;

	sw->store_note[0] = '\0';
	/* Another process's lock: each try waits 2 s for it (start-up,
	 * the loop does not run yet), for 10 s in all. */
	for (i = 0; i < BANQ_OPEN_TRIES; i++)
		if ((r = store_open(path, &sw->store, err, sizeof(err))) !=
		    -EBUSY)
			break;
	if (r == 0)
		return;
	log_warnx("%s", err);
	if (r == -EUCLEAN) {
		r = store_set_aside(path, time_now_ms(), aside, sizeof(aside));
		if (r < 0)
			util_errf(err, sizeof(err), "%s: cannot move the "
			    "corrupt database aside: %s", path, strerror(-r));
		else if (store_open(path, &sw->store, err, sizeof(err)) == 0) {
			util_errf(sw->store_note, sizeof(sw->store_note),
			    "%s was corrupt: moved aside to %s, a fresh one "
			    "made (the bans in the kernel were kept)", path,
			    aside);
			log_warnx("%s", sw->store_note);
			return;
		}
	}
	sw->store = NULL;
	snprintf(sw->store_note, sizeof(sw->store_note), "%s", err);
	log_warnx("running without a database: bans are kept in the kernel "
	    "only (and lost at a reboot), alerts go to syslog and the alerts "
	    "file");
}

void
banq_alert(struct sw *sw)
{
	struct alert a;

	if (sw->store_note[0] == '\0')
		return;
	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "database");
	a.severity = ALERT_CRITICAL;
	util_errf(a.message, sizeof(a.message), "%s%s", sw->store != NULL ?
	    "" : "running without a database: ", sw->store_note);
	snprintf(a.action, sizeof(a.action), "alert");
	a.evidence = json_pack("{s:b, s:s}", "open", sw->store != NULL,
	    "path", sw->cfg->daemon.database);
	if (a.evidence == NULL)
		a.evidence = json_object();
	alerts_raise(sw, &a);
}

/* At exit: one last try, and what is lost said. */
void
banq_close(struct sw *sw)
{
	if (banq_write(sw) < 0)
		log_warnx("database: %zu ban writes lost at exit: %s (the "
		    "kernel's table is read back at the next start)",
		    sw->banq.n, strerror(-sw->banq.error));
	free(sw->banq.op);
	memset(&sw->banq, 0, sizeof(sw->banq));
}

json_t *
banq_json(const struct sw *sw)
{
	const struct sw_banq *q = &sw->banq;

	return json_pack("{s:b, s:s?, s:I, s:I, s:I, s:I, s:s?}", "open",
	    sw->store != NULL, "note", sw->store_note[0] ? sw->store_note :
	    NULL, "pending", (json_int_t)q->n,
	    "written", (json_int_t)q->writes,
	    "failures", (json_int_t)q->failures,
	    "dropped", (json_int_t)q->dropped,
	    "error", q->error ? strerror(-q->error) : NULL);
}
