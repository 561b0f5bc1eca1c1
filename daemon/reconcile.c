/* Reconciliation: the kernel's ban sets compared with the bans in force;
 * what is missing is put back, an element that ends at another time than
 * its ban gets the ban's end, what we never banned is removed.
 *
 * The sets are read on a thread of its own, with its own nftables
 * handle: at 100,000 bans the dump takes about 0.4 s, most of it the
 * kernel walking its hash table again for every 32 KiB message, and the
 * loop must go on capturing meanwhile. The comparison and the repairs are
 * made back on the loop's thread, against the bans as they are then, and
 * judge only what the dump can tell: bans made or replaced after it began
 * are left alone, as are elements of bans lifted meanwhile and elements
 * about to expire; and when our own changes reached the kernel during the
 * dump (which can then miss elements), what it did not show is put back
 * without being called a repair. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define RECONCILE_SLACK_MS	2000	/* kernel and ban ends may differ */

struct reconcile_job {
	pthread_t tid;
	int efd;			/* written when the thread is done */
	struct evsource *src;
	struct nft *nft;		/* the thread's own handle */
	struct nft_elem *have;		/* what the kernel holds */
	size_t nhave;
	int64_t t0, t1;			/* steady: dump started, ended */
	uint64_t changes;		/* sw->enf.changes at the start */
	int r;
	char err[256];
	char why[64];
};

static void *
job_run(void *arg)
{
	struct reconcile_job *j = arg;
	uint64_t one = 1;

	j->r = nft_ban_list(j->nft, &j->have, &j->nhave);
	j->t1 = time_steady_ms();
	if (j->r < 0)
		snprintf(j->err, sizeof(j->err), "%s", nft_error(j->nft));
	if (write(j->efd, &one, sizeof(one)) < 0)
		j->r = j->r < 0 ? j->r : -errno;	/* never: an eventfd */
	return NULL;
}

static void
job_free(struct sw *sw, struct reconcile_job *j)
{
	if (j->src != NULL)
		evloop_del(sw->loop, j->src);
	if (j->efd >= 0)
		close(j->efd);
	nft_close(j->nft);
	free(j->have);
	free(j);
}

static int
elem_cmp(const void *a, const void *b)
{
	return cidr_compare(&((const struct nft_elem *)a)->peer,
	    &((const struct nft_elem *)b)->peer);
}

static int
peer_cmp(const void *a, const void *b)
{
	return cidr_compare(a, b);
}

/* Does the kernel's element end when the ban does? Its time left was
 * read some time between t0 and t1, so it ends between t0 + left and
 * t1 + left; within RECONCILE_SLACK_MS of that (jiffies, clocks) is the
 * same end. */
static bool
end_differs(const struct ban *b, const struct nft_elem *k, int64_t t0,
    int64_t t1)
{
	if ((b->expires_ms == 0) != (k->timeout_ms == 0))
		return true;
	if (b->expires_ms == 0)
		return false;
	return b->expires_ms < t0 + (int64_t)k->timeout_ms -
	    RECONCILE_SLACK_MS || b->expires_ms > t1 +
	    (int64_t)k->timeout_ms + RECONCILE_SLACK_MS;
}

static void
elem_of(const struct ban *b, int64_t now, struct nft_elem *ret)
{
	ret->peer = b->peer;
	ret->timeout_ms = b->expires_ms == 0 ? 0 :
	    (uint64_t)(b->expires_ms - now);
}

/* The comparison, on the loop's thread, with the kernel's list as read
 * (have, sorted here). t0 and t1: when the list was read. */
static void
compare(struct sw *sw, struct nft_elem *have, size_t nhave, int64_t t0,
    int64_t t1, bool quiet, const char *why)
{
	struct nft_elem *add = NULL, *fix = NULL, *k;
	struct cidr *del = NULL;
	size_t nadd = 0, ndel = 0, nfix = 0, i, n;
	const struct ban *b;
	int64_t now = time_steady_ms();
	int r;

	if (nhave > 1)
		qsort(have, nhave, sizeof(*have), elem_cmp);
	if (sw->enf.ngone > 1)
		qsort(sw->enf.gone, sw->enf.ngone, sizeof(*sw->enf.gone),
		    peer_cmp);
	n = bans_count(sw->enf.bans);
	add = calloc(n + 1, sizeof(*add));
	fix = calloc(n + 1, sizeof(*fix));
	del = calloc(nhave + 1, sizeof(*del));
	if (add == NULL || fix == NULL || del == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		if ((b->expires_ms != 0 && b->expires_ms <= now) ||
		    b->created_ms >= t0)
			continue;	/* gone, or newer than the dump */
		k = nhave == 0 ? NULL : bsearch(&b->peer, have, nhave,
		    sizeof(*have), elem_cmp);
		if (k == NULL)
			elem_of(b, now, &add[nadd++]);
		else if (end_differs(b, k, t0, t1))
			elem_of(b, now, &fix[nfix++]);
	}
	for (i = 0; i < nhave; i++) {
		if (bans_get(sw->enf.bans, &have[i].peer) != NULL)
			continue;
		if (have[i].timeout_ms != 0 && t1 +
		    (int64_t)have[i].timeout_ms <= now + RECONCILE_SLACK_MS)
			continue;	/* expires by itself, as ours did */
		if (sw->enf.ngone > 0 && bsearch(&have[i].peer, sw->enf.gone,
		    sw->enf.ngone, sizeof(*sw->enf.gone), peer_cmp) != NULL)
			continue;	/* lifted during the dump */
		del[ndel++] = have[i].peer;
	}
	if (nfix > 0 || ndel > 0 || (nadd > 0 && !quiet)) {
		sw->enf.n.repairs++;
		log_warnx("nftables: reconcile (%s): %zu bans missing from "
		    "the kernel put back, %zu with another end given theirs "
		    "back, %zu unknown elements removed", why, nadd, nfix,
		    ndel);
	} else if (nadd > 0) {
		log_info("nftables: reconcile (%s): %zu bans the dump did not "
		    "show put in again (our own changes reached the kernel "
		    "while it was read)", why, nadd);
	}
	r = 0;
	if (nadd > 0)
		r = nft_ban_add(sw->enf.nft, add, nadd);
	/* Replaced, not added: a permanent element stays permanent under a
	 * plain add, and kernels before 6.12 keep the old timeout. */
	if (r == 0 && nfix > 0)
		r = nft_ban_replace(sw->enf.nft, fix, nfix);
	if (r == 0 && ndel > 0)
		r = nft_ban_del(sw->enf.nft, del, ndel);
	if (nadd + nfix + ndel > 0)
		sw->enf.changes++;
	if (r < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;	/* set, never cleared here */
		log_warnx("nftables: %s", nft_error(sw->enf.nft));
	}
out:
	free(add);
	free(fix);
	free(del);
}

static void
on_job_done(void *arg, uint32_t events)
{
	struct sw *sw = arg;
	struct reconcile_job *j = sw->enf.job;
	uint64_t v;

	(void)events;
	if (read(j->efd, &v, sizeof(v)) < 0)
		return;		/* EAGAIN: not yet */
	pthread_join(j->tid, NULL);
	sw->enf.job = NULL;
	if (j->r < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;
		log_warnx("nftables: reconcile: %s", j->err);
	} else if (enforce_active(sw)) {
		compare(sw, j->have, j->nhave, j->t0, j->t1,
		    sw->enf.changes != j->changes, j->why);
	}
	sw->enf.ngone = 0;
	job_free(sw, j);
	/* The interval counts from the end of a check: a dump longer than
	 * it does not run back to back. */
	sw->enf.next_reconcile_ms = time_mono_ms() +
	    (int64_t)sw->cfg->bans.reconcile_interval_ms;
	if (sw->enf.reconcile_again && enforce_active(sw)) {
		sw->enf.reconcile_again = false;
		enforce_reconcile(sw, "changed during the last check");
	}
}

/* Start reading the ban sets on a thread; false if it could not start
 * (then the caller reads them here). */
static bool
job_start(struct sw *sw, const char *why)
{
	struct reconcile_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return false;
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(j->why, sizeof(j->why), "%s", why);
	j->t0 = time_steady_ms();
	j->changes = sw->enf.changes;
	sw->enf.ngone = 0;
	if (j->efd < 0 || nft_open(&j->nft) < 0 ||
	    evloop_add(sw->loop, j->efd, EPOLLIN, on_job_done, sw,
	    &j->src) < 0 || pthread_create(&j->tid, NULL, job_run, j) != 0) {
		job_free(sw, j);
		return false;
	}
	sw->enf.job = j;
	/* What this check finds is what to retry; a failure while it runs
	 * sets the flag again. */
	sw->enf.retry = false;
	return true;
}

void
enforce_reconcile(struct sw *sw, const char *why)
{
	struct nft_elem *have = NULL;
	size_t nhave = 0;
	int64_t t0;
	int r;

	if (sw->enf.job != NULL) {	/* one at a time: again after it */
		sw->enf.reconcile_again = true;
		return;
	}
	sw->enf.n.reconciles++;
	r = nft_check(sw->enf.nft);
	if (r == 0) {
		log_warnx("nftables: table inet %s is missing or incomplete "
		    "(%s): recreating it with %zu bans", NFT_TABLE_NAME, why,
		    bans_count(sw->enf.bans));
		sw->enf.n.repairs++;
		sw->enf.retry = enforce_nft_setup(sw) < 0;
		return;
	}
	if (r > 0 && job_start(sw, why))
		return;
	t0 = time_steady_ms();
	if (r < 0 || (r = nft_ban_list(sw->enf.nft, &have, &nhave)) < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;
		log_warnx("nftables: reconcile: %s", nft_error(sw->enf.nft));
		return;
	}
	sw->enf.retry = false;
	sw->enf.ngone = 0;
	compare(sw, have, nhave, t0, time_steady_ms(), false, why);
	free(have);
}

static void
adopt(struct sw *sw, const struct nft_elem *k, int64_t now)
{
	struct ban b;

	memset(&b, 0, sizeof(b));
	b.peer = k->peer;
	snprintf(b.source, sizeof(b.source), "kernel");
	snprintf(b.reason, sizeof(b.reason), "in the kernel's table at "
	    "start, unknown to the database");
	b.created_ms = now;
	b.expires_ms = k->timeout_ms ? now + (int64_t)k->timeout_ms : 0;
	if (bans_put(sw->enf.bans, &b) == 0)
		banq_put(sw, &b, k->timeout_ms);
}

/*
 * At start, before the table is built again. If the kernel still holds
 * our table (the daemon restarted, the host did not), its ban sets are
 * what is in force: the database may have missed writes (a lock, a full
 * disk, a kill between the kernel's change and the database's), the
 * kernel cannot have. So a ban it holds that the database never saw is
 * adopted with its time left, a ban the database has that the kernel
 * does not was lifted (or expired) and is not brought back, and every
 * ban takes the kernel's time left (which no wall-clock step touched).
 * Without the table (a reboot, the table deleted) the database's bans
 * come back as they are.
 */
int
enforce_reconcile_start(struct sw *sw)
{
	struct nft_elem *have = NULL, *k;
	struct cidr *lift = NULL;
	size_t nhave = 0, nlift = 0, nadopt = 0, nend = 0, i, n;
	int64_t now = time_steady_ms();
	const struct ban *b;
	char buf[ADDR_STRLEN];
	struct ban upd;
	int r;

	if ((r = nft_ban_list(sw->enf.nft, &have, &nhave)) == -ENOENT)
		return 0;
	if (r < 0) {
		log_warnx("nftables: reading the bans left in the kernel: %s",
		    nft_error(sw->enf.nft));
		return r;
	}
	if (nhave > 1)
		qsort(have, nhave, sizeof(*have), elem_cmp);
	n = bans_count(sw->enf.bans);
	if ((lift = calloc(n + 1, sizeof(*lift))) == NULL) {
		free(have);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		k = nhave == 0 ? NULL : bsearch(&b->peer, have, nhave,
		    sizeof(*have), elem_cmp);
		if (k == NULL) {
			lift[nlift++] = b->peer;
		} else if (end_differs(b, k, now, now)) {
			upd = *b;
			upd.expires_ms = k->timeout_ms ? now +
			    (int64_t)k->timeout_ms : 0;
			if (bans_put(sw->enf.bans, &upd) == 0) {
				banq_put(sw, &upd, upd.expires_ms ? (uint64_t)
				    (upd.expires_ms - upd.created_ms) : 0);
				nend++;
			}
			n = bans_count(sw->enf.bans);
		}
	}
	for (i = 0; i < nlift; i++) {
		if (nlift <= 10)
			log_info("ban of %s not in the kernel's table: lifted "
			    "or expired while the database could not say so; "
			    "not restored", cidr_format(&lift[i], buf,
			    sizeof(buf)));
		(void)bans_del(sw->enf.bans, &lift[i], NULL);
		banq_del(sw, &lift[i]);
	}
	for (i = 0; i < nhave; i++) {
		if (bans_get(sw->enf.bans, &have[i].peer) != NULL)
			continue;
		if (nadopt++ < 10)
			log_info("ban of %s in the kernel's table, unknown to "
			    "the database: kept for its %llu s left",
			    cidr_format(&have[i].peer, buf, sizeof(buf)),
			    (unsigned long long)(have[i].timeout_ms + 999) /
			    1000);
		adopt(sw, &have[i], now);
	}
	if (nlift + nadopt + nend > 0)
		log_warnx("nftables: the kernel's table at start: %zu bans "
		    "adopted, %zu the database still had not restored, %zu "
		    "given the kernel's time left", nadopt, nlift, nend);
	free(lift);
	free(have);
	return 0;
}

/* At exit: stop a dump in flight (it ends at its next message), drop
 * its result. */
void
enforce_reconcile_stop(struct sw *sw)
{
	struct reconcile_job *j = sw->enf.job;

	if (j == NULL)
		return;
	nft_cancel(j->nft);
	pthread_join(j->tid, NULL);
	sw->enf.job = NULL;
	job_free(sw, j);
}

/* A ban lifted now: while a dump runs, its element may still be in what
 * the dump returns, and must not be taken for someone else's. */
void
enforce_reconcile_lifted(struct sw *sw, const struct cidr *peer)
{
	struct cidr *v;
	size_t cap;

	if (sw->enf.job == NULL)
		return;
	if (sw->enf.ngone == sw->enf.capgone) {
		cap = sw->enf.capgone ? sw->enf.capgone * 2 : 64;
		if ((v = reallocarray(sw->enf.gone, cap, sizeof(*v))) == NULL)
			return;	/* at worst, a redundant delete */
		sw->enf.gone = v;
		sw->enf.capgone = cap;
	}
	sw->enf.gone[sw->enf.ngone++] = *peer;
}
