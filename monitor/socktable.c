#include "socktable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing over indexes into the socket array; cookies are never
 * 0 for a real socket, and a slot holds index + 1 (0 = empty). */
struct cookie_index {
	uint32_t *slot;
	unsigned int bits;
};

struct socktable {
	struct socklist socks;
	struct cookie_index idx;
};

static uint32_t
cookie_hash(uint64_t c, unsigned int bits)
{
	return (uint32_t)((c * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

static int
index_build(struct cookie_index *ix, const struct socklist *l)
{
	unsigned int bits = 4;
	uint32_t h, mask;
	size_t i;

	while ((1UL << bits) < l->n * 2)
		bits++;
	ix->slot = calloc(1UL << bits, sizeof(*ix->slot));
	if (ix->slot == NULL)
		return -ENOMEM;
	ix->bits = bits;
	mask = (1U << bits) - 1;
	for (i = 0; i < l->n; i++) {
		h = cookie_hash(l->v[i].cookie, bits);
		while (ix->slot[h] != 0)
			h = (h + 1) & mask;
		ix->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

static const struct sock_info *
index_find(const struct cookie_index *ix, const struct socklist *l,
    uint64_t cookie)
{
	uint32_t h, mask;

	if (ix->slot == NULL)
		return NULL;
	mask = (1U << ix->bits) - 1;
	for (h = cookie_hash(cookie, ix->bits); ix->slot[h] != 0;
	    h = (h + 1) & mask)
		if (l->v[ix->slot[h] - 1].cookie == cookie)
			return &l->v[ix->slot[h] - 1];
	return NULL;
}

int
socktable_new(struct socktable **ret_table)
{
	struct socktable *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	*ret_table = t;
	return 0;
}

void
socktable_free(struct socktable *t)
{
	if (t == NULL)
		return;
	socklist_free(&t->socks);
	free(t->idx.slot);
	free(t);
}

/* Same socket, changed: a new state, or new ends. A socket keeps its
 * cookie when it leaves LISTEN and listens again on another port (an
 * unbound one after connect(AF_UNSPEC)), or a UDP socket connects
 * elsewhere; that is a new listener to audit, not the old one. */
static bool
socktable_changed(const struct sock_info *a, const struct sock_info *b)
{
	return a->state != b->state || a->lport != b->lport ||
	    a->rport != b->rport || !addr_equal(&a->laddr, &b->laddr) ||
	    !addr_equal(&a->raddr, &b->raddr);
}

int
socktable_sync(struct socktable *t, struct socklist *dump, socktable_cb cb,
    void *arg)
{
	struct cookie_index nix = { 0 };
	const struct sock_info *o;
	size_t i;
	int r;

	/* Without churn the kernel lists the same sockets in the same order
	 * as last time: then only states and ends can differ, and the index (slot ->
	 * position) fits the new array as it is. */
	if (dump->n == t->socks.n && t->idx.slot != NULL) {
		for (i = 0; i < dump->n &&
		    dump->v[i].cookie == t->socks.v[i].cookie; i++)
			continue;
		if (i == dump->n) {
			for (i = 0; cb != NULL && i < dump->n; i++)
				if (socktable_changed(&dump->v[i],
				    &t->socks.v[i]))
					cb(arg, SOCKTABLE_STATE, &dump->v[i],
					    &t->socks.v[i]);
			socklist_free(&t->socks);
			t->socks = *dump;
			memset(dump, 0, sizeof(*dump));
			return 0;
		}
	}
	if ((r = index_build(&nix, dump)) < 0)
		return r;
	for (i = 0; cb != NULL && i < dump->n; i++) {
		o = index_find(&t->idx, &t->socks, dump->v[i].cookie);
		if (o == NULL)
			cb(arg, SOCKTABLE_OPEN, &dump->v[i], NULL);
		else if (socktable_changed(o, &dump->v[i]))
			cb(arg, SOCKTABLE_STATE, &dump->v[i], o);
	}
	for (i = 0; cb != NULL && i < t->socks.n; i++)
		if (index_find(&nix, dump, t->socks.v[i].cookie) == NULL)
			cb(arg, SOCKTABLE_CLOSE, &t->socks.v[i], NULL);
	socklist_free(&t->socks);
	free(t->idx.slot);
	t->socks = *dump;
	t->idx = nix;
	memset(dump, 0, sizeof(*dump));
	return 0;
}

/* The slot that holds cookie, or -1. */
static long
index_slot(const struct cookie_index *ix, const struct socklist *l,
    uint64_t cookie)
{
	uint32_t h, mask;

	if (ix->slot == NULL)
		return -1;
	mask = (1U << ix->bits) - 1;
	for (h = cookie_hash(cookie, ix->bits); ix->slot[h] != 0;
	    h = (h + 1) & mask)
		if (l->v[ix->slot[h] - 1].cookie == cookie)
			return (long)h;
	return -1;
}

/* Linear-probing deletion: shift later members of the run back so that
 * every lookup still finds them. */
static void
index_delete(struct cookie_index *ix, const struct socklist *l, uint32_t h)
{
	uint32_t mask = (1U << ix->bits) - 1, j = h, home;

	ix->slot[h] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (ix->slot[j] == 0)
			return;
		home = cookie_hash(l->v[ix->slot[j] - 1].cookie, ix->bits);
		/* Move j to h unless its home lies cyclically in (h, j]. */
		if ((j > h && (home <= h || home > j)) ||
		    (j < h && (home <= h && home > j))) {
			ix->slot[h] = ix->slot[j];
			ix->slot[j] = 0;
			h = j;
		}
	}
}

void
socktable_remove(struct socktable *t, uint64_t cookie, socktable_cb cb,
    void *arg)
{
	size_t i, last;
	long h;

	if ((h = index_slot(&t->idx, &t->socks, cookie)) < 0)
		return;
	i = t->idx.slot[h] - 1;
	if (cb != NULL)
		cb(arg, SOCKTABLE_CLOSE, &t->socks.v[i], NULL);
	index_delete(&t->idx, &t->socks, (uint32_t)h);
	/* Keep the array dense: the last socket moves into the hole. */
	last = t->socks.n - 1;
	if (i != last) {
		h = index_slot(&t->idx, &t->socks, t->socks.v[last].cookie);
		t->socks.v[i] = t->socks.v[last];
		if (h >= 0)
			t->idx.slot[h] = (uint32_t)i + 1;
	}
	t->socks.n--;
}

size_t
socktable_count(const struct socktable *t)
{
	return t->socks.n;
}

const struct sock_info *
socktable_at(const struct socktable *t, size_t i)
{
	return i < t->socks.n ? &t->socks.v[i] : NULL;
}
