/* Reconciliation: the kernel's ban sets compared with the bans in force;
 * what is missing is put back, an element that ends at another time than
 * its ban gets the ban's end, what we never banned is removed.
 *
 * The sets are read on a thread of its own, with its own nftables
 * handle: at 100,000 bans the dump takes about 0.4 s, most of it the
 * kernel walking its hash table again for every 32 KiB message, and the
 * loop must go on capturing meanwhile. The comparison and the repairs are
 * made back on the loop's thread, against the bans as they are then: a ban
 * made or lifted during the dump only costs a redundant add or delete. */
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

/* Does the kernel's element (k: its expiry as now + time left, 0 for
 * none) end when the ban does? Within RECONCILE_SLACK_MS: the kernel
 * counts in jiffies, and our clock was read before its list. */
static bool
timeout_differs(const struct ban *b, const struct ban *k)
{
	if ((b->expires_ms == 0) != (k->expires_ms == 0))
		return true;
	return llabs(b->expires_ms - k->expires_ms) > RECONCILE_SLACK_MS;
}

/* The comparison, on the loop's thread, with the kernel's list as read. */
static void
compare(struct sw *sw, const struct nft_elem *have, size_t nhave,
    const char *why)
{
	struct nft_elem *add = NULL, *fix = NULL;
	struct cidr *del = NULL;
	struct bans *seen = NULL;
	struct bans_policy bp = { 0 };
	struct ban tmp;
	size_t nadd = 0, ndel = 0, nfix = 0, i, n;
	const struct ban *b, *k;
	int64_t now = time_now_ms();
	int r;

	/* What the kernel has, as a lookup table. */
	if (bans_new(&bp, &seen) < 0)
		goto out;
	memset(&tmp, 0, sizeof(tmp));
	tmp.created_ms = now;
	for (i = 0; i < nhave; i++) {
		tmp.peer = have[i].peer;
		tmp.expires_ms = have[i].timeout_ms == 0 ? 0 :
		    now + (int64_t)have[i].timeout_ms;
		if (bans_put(seen, &tmp) < 0)
			goto out;
	}
	n = bans_count(sw->enf.bans);
	add = calloc(n + 1, sizeof(*add));
	fix = calloc(n + 1, sizeof(*fix));
	del = calloc(nhave + 1, sizeof(*del));
	if (add == NULL || fix == NULL || del == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		if (b->expires_ms != 0 && b->expires_ms <= now)
			continue;
		if ((k = bans_get(seen, &b->peer)) != NULL &&
		    !timeout_differs(b, k))
			continue;
		if (k != NULL) {
			fix[nfix].peer = b->peer;
			fix[nfix++].timeout_ms = b->expires_ms == 0 ? 0 :
			    (uint64_t)(b->expires_ms - now);
			continue;
		}
		add[nadd].peer = b->peer;
		add[nadd++].timeout_ms = b->expires_ms == 0 ? 0 :
		    (uint64_t)(b->expires_ms - now);
	}
	for (i = 0; i < nhave; i++)
		if (bans_get(sw->enf.bans, &have[i].peer) == NULL)
			del[ndel++] = have[i].peer;
	if (nadd > 0 || nfix > 0 || ndel > 0) {
		sw->enf.n.repairs++;
		log_warnx("nftables: reconcile (%s): %zu bans missing from "
		    "the kernel put back, %zu with another end given theirs "
		    "back, %zu unknown elements removed", why, nadd, nfix,
		    ndel);
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
	if (r < 0) {
		sw->enf.n.nft_errors++;
		log_warnx("nftables: %s", nft_error(sw->enf.nft));
	}
	sw->enf.retry = r < 0;
out:
	bans_free(seen);
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
		compare(sw, j->have, j->nhave, j->why);
	}
	job_free(sw, j);
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
	if (j->efd < 0 || nft_open(&j->nft) < 0 ||
	    evloop_add(sw->loop, j->efd, EPOLLIN, on_job_done, sw,
	    &j->src) < 0 || pthread_create(&j->tid, NULL, job_run, j) != 0) {
		job_free(sw, j);
		return false;
	}
	sw->enf.job = j;
	return true;
}

void
enforce_reconcile(struct sw *sw, const char *why)
{
	struct nft_elem *have = NULL;
	size_t nhave = 0;
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
	if (r < 0 || (r = nft_ban_list(sw->enf.nft, &have, &nhave)) < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;
		log_warnx("nftables: reconcile: %s", nft_error(sw->enf.nft));
		return;
	}
	compare(sw, have, nhave, why);
	free(have);
}

/* At exit: wait for a dump in flight, drop its result. */
void
enforce_reconcile_stop(struct sw *sw)
{
	struct reconcile_job *j = sw->enf.job;

	if (j == NULL)
		return;
	pthread_join(j->tid, NULL);
	sw->enf.job = NULL;
	job_free(sw, j);
}
