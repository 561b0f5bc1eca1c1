/*
 * The bans' way to the database. A block, an unblock or an expiry takes
 * effect in memory and in the kernel first; its database write is queued
 * here and tried at once, then again with a backoff that doubles up to
 * BANQ_DELAY_MAX_MS while the database refuses (an administrator's
 * sqlite3 holding a write lock, a full disk). Nothing here waits on a
 * lock: the loop goes on capturing and banning meanwhile. The writes go
 * in the order they were made, so an unblock queued after its block is
 * the last word, at most BANQ_CHUNK in a transaction on the loop's
 * thread (a big queue drains over a few ticks, and a nearly full disk
 * still takes it piece by piece).
 *
 * Nothing is dropped: when BANQ_MAX writes wait (or memory runs out),
 * the queue is replaced by a rewrite of the bans' table from the bans in
 * memory, which hold every change it had. The same rewrite follows a
 * step of the wall clock, since the rows keep wall time.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define BANQ_MAX		100000
#define BANQ_CHUNK		5000
#define BANQ_DELAY_MIN_MS	100
#define BANQ_DELAY_MAX_MS	2000
#define BANQ_KEEP		4096	/* entries kept when drained: a
					 * list blocked 2,000 at a time
					 * reuses them */

/* The queue's changes are all in the bans in memory: drop it, rewrite
 * the table from them. */
static void
overflow(struct sw *sw, const char *why)
{
	struct sw_banq *q = &sw->banq;

	if (!q->resync)
		log_warnx("database: %zu ban writes waiting (%s): the bans' "
		    "table will be written again whole", q->n, why);
	if (!q->resync)
		q->rewrites++;
	q->resync = true;
	q->n = 0;
	free(q->op);
	q->op = NULL;
	q->cap = 0;
}

static struct store_ban_op *
push(struct sw *sw)
{
	struct sw_banq *q = &sw->banq;
	struct store_ban_op *v;
	size_t cap;

	if (sw->store == NULL || q->resync)
		return NULL;	/* no database, or a rewrite covers it */
	if (q->n == BANQ_MAX) {
		overflow(sw, "the queue is full");
		return NULL;
	}
	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 64;
		if (cap > BANQ_MAX)
			cap = BANQ_MAX;
		if ((v = realloc(q->op, cap * sizeof(*v))) == NULL) {
			overflow(sw, "out of memory");
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
static void
to_wall(struct store_ban_op *op, const struct ban *b, uint64_t length_ms)
{
	op->ban = *b;
	op->ban.created_ms = time_steady_to_wall(b->created_ms);
	if (b->expires_ms != 0)
		op->ban.expires_ms = time_steady_to_wall(b->expires_ms);
	op->length_ms = length_ms;
}

void
banq_put(struct sw *sw, const struct ban *b, uint64_t length_ms)
{
	struct store_ban_op *op = push(sw);

	if (op != NULL)
		to_wall(op, b, length_ms);
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
	return sw->banq.n + (sw->banq.resync ? 1 : 0);
}

/* The outcome of writing the first n of the queue (r from
 * store_ban_apply; -EINVAL is a bad peer skipped, the rest committed). */
void
banq_done(struct sw *sw, int r, size_t n, int64_t now_mono)
{
	struct sw_banq *q = &sw->banq;

	if (r == 0 || r == -EINVAL) {
		if (q->delay_ms != 0)
			log_info("database: the ban writes waiting since %lld "
			    "s are in", (long long)((now_mono - q->since_ms +
			    999) / 1000));
		q->writes += n;
		if (n > 0 && n < q->n)
			memmove(q->op, q->op + n, (q->n - n) * sizeof(*q->op));
		q->n -= n;
		q->delay_ms = 0;
		q->error = 0;
		q->next_ms = now_mono;	/* the rest at the next tick */
		if (q->n == 0 && q->cap > BANQ_KEEP) {
			free(q->op);
			q->op = NULL;
			q->cap = 0;
		}
		return;
	}
	if (q->delay_ms == 0) {
		q->since_ms = now_mono;
		log_warnx("database: cannot write %zu bans: %s (in force in "
		    "the kernel; retrying)", banq_pending(sw), strerror(-r));
	}
	q->failures++;
	q->error = r;
	q->delay_ms = q->delay_ms == 0 ? BANQ_DELAY_MIN_MS :
	    q->delay_ms * 2 > BANQ_DELAY_MAX_MS ? BANQ_DELAY_MAX_MS :
	    q->delay_ms * 2;
	q->next_ms = now_mono + q->delay_ms;
}

/* The bans' table written again whole, from the bans in force: one
 * transaction that empties it first. */
static int
rewrite(struct sw *sw)
{
	struct sw_banq *q = &sw->banq;
	struct store_ban_op *op;
	const struct ban *b;
	size_t n = sw->enf.bans != NULL ? bans_count(sw->enf.bans) : 0, i;
	int r;

	if ((op = calloc(n + 1, sizeof(*op))) == NULL)
		return -ENOMEM;
	op[0].clear = true;
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		to_wall(&op[i + 1], b, b->expires_ms == 0 ? 0 :
		    (uint64_t)(b->expires_ms - b->created_ms));
	}
	r = store_ban_apply(sw->store, op, n + 1);
	free(op);
	if (r == 0 || r == -EINVAL) {
		q->resync = false;
		log_info("database: the bans' table written again (%zu bans)",
		    n);
	}
	return r;
}

int
banq_write(struct sw *sw)
{
	struct sw_banq *q = &sw->banq;
	size_t n = q->n < BANQ_CHUNK ? q->n : BANQ_CHUNK;
	int r;

	if (sw->store == NULL || (n == 0 && !q->resync))
		return 0;
	if (q->resync) {
		r = rewrite(sw);
		n = 0;
	} else
		r = store_ban_apply(sw->store, q->op, n);
	banq_done(sw, r, n, time_mono_ms());
	return r == -EINVAL ? 0 : r;
}

void
banq_tick(struct sw *sw, int64_t now_mono)
{
	struct sw_banq *q = &sw->banq;
	int64_t step = time_step_ms();

	/* The rows' wall times are off by the step: all written again. */
	if (sw->store != NULL && step != q->step_ms) {
		log_warnx("the wall clock stepped by %+lld ms: bans keep their "
		    "time left; the database's times are written again",
		    (long long)(step - q->step_ms));
		q->step_ms = step;
		overflow(sw, "the wall clock stepped");
	}
	if (banq_pending(sw) > 0 && now_mono >= q->next_ms)
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
	int r;

	sw->store_note[0] = '\0';
	/* Another process's lock is waited for (up to 10 s: start-up, the
	 * loop does not run yet). */
	if ((r = store_open(path, &sw->store, err, sizeof(err))) == 0)
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

/* At exit: what is left, and what is lost said. */
void
banq_close(struct sw *sw)
{
	int r = 0;

	while (banq_pending(sw) > 0 && (r = banq_write(sw)) == 0)
		;
	if (r < 0)
		log_warnx("database: %zu ban writes lost at exit: %s (the "
		    "kernel's table is read back at the next start)",
		    banq_pending(sw), strerror(-r));
	free(sw->banq.op);
	memset(&sw->banq, 0, sizeof(sw->banq));
}

json_t *
banq_json(const struct sw *sw)
{
	const struct sw_banq *q = &sw->banq;

	return json_pack("{s:b, s:s?, s:I, s:b, s:I, s:I, s:I, s:s?}", "open",
	    sw->store != NULL, "note", sw->store_note[0] ? sw->store_note :
	    NULL, "pending", (json_int_t)q->n, "rewrite", q->resync,
	    "written", (json_int_t)q->writes,
	    "failures", (json_int_t)q->failures,
	    "rewrites", (json_int_t)q->rewrites,
	    "error", q->error ? strerror(-q->error) : NULL);
}
