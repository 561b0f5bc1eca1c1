#include "../common/util.h"
#include "bans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * Three tables, all keyed by a canonical struct cidr (bans_key): the bans
 * in force, the history (peer -> its last ban) and, for aggregation, the
 * number of host bans in force per aggregation prefix. Each is a dense
 * array of fixed-size entries (bans_at and the sweeps walk it) found
 * through an open-addressing index: linear probing, at most half full,
 * deletion by backward shift (no tombstones) and by moving the last entry
 * into the hole. 100,000 bans are about 32 MB of entries and 2 MB of
 * index; a history entry is 48 bytes.
 *
 * bans_covers masks the address to each prefix length that some ban in
 * force has (a bitmap per family) and looks each up: one probe for hosts,
 * one more per distinct prefix length, however many prefix bans there are.
 */

#define EMPTY		0
#define TABLE_MAX	(UINT32_MAX / 4)	/* entries; ids are uint32_t */

struct slot {
	uint32_t id;			/* entry index + 1; EMPTY: free */
	uint32_t h;			/* the key's hash: no rehash to move */
};

struct table {
	uint8_t *v;			/* n entries of size bytes */
	size_t n, cap, size, keyoff;	/* keyoff: the struct cidr key */
	struct slot *slot;
	size_t mask;			/* slots - 1 (slot NULL: none yet) */
	uint64_t seed;
};

struct hist {
	struct cidr key;
	int64_t created_ms;		/* of the last ban */
	uint64_t length_ms;		/* of the last ban; 0: permanent */
	uint32_t count;			/* bans known */
};

struct aggc {
	struct cidr key;		/* an aggregation prefix */
	uint32_t n;			/* host bans in force inside it */
};

struct bans {
	struct bans_policy p;		/* zeros replaced by the defaults */
	struct table bans;		/* struct ban */
	struct table hist;		/* struct hist */
	struct table agg;		/* struct aggc */
	uint32_t nlen[2][129];		/* bans in force per family, length */
	uint64_t lens[2][3];		/* bit L: nlen[f][L] != 0 */
	int64_t next_expiry;		/* nothing expires before */
	int64_t hist_newest;		/* latest created_ms in the history */
	uint64_t hist_evicted;
};

/* --- keys ---------------------------------------------------------------- */

static unsigned int
family_bits(sa_family_t family)
{
	return family == AF_INET ? 32 : 128;
}

static int
fam_index(sa_family_t family)
{
	return family == AF_INET ? 0 : 1;
}

/* Clear every bit at and after position len; bytes past the family's
 * size are left alone (bans_key zeroes them). */
static void
mask_bytes(uint8_t *b, unsigned int nbytes, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < nbytes; i++) {
		if (len >= (i + 1) * 8)
			continue;
		if (len <= i * 8)
			b[i] = 0;
		else
			b[i] &= (uint8_t)(0xff << (8 - (len - i * 8)));
	}
}

/* k (canonical) shortened to len. */
static struct cidr
key_prefix(const struct cidr *k, unsigned int len)
{
	struct cidr q = *k;

	q.len = len;
	mask_bytes(q.addr.u.bytes, family_bits(q.addr.family) / 8, len);
	return q;
}

int
bans_key(const struct cidr *peer, struct cidr *ret_key)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *src = peer->addr.u.bytes;
	struct cidr k;

	memset(&k, 0, sizeof(k));
	if (peer->addr.family == AF_INET) {
		if (peer->len > 32)
			return -EINVAL;
		k.addr.family = AF_INET;
		memcpy(k.addr.u.bytes, src, 4);
		k.len = peer->len;
	} else if (peer->addr.family == AF_INET6) {
		if (peer->len > 128)
			return -EINVAL;
		if (peer->len >= 96 && memcmp(src, mapped, 12) == 0) {
			k.addr.family = AF_INET;
			memcpy(k.addr.u.bytes, src + 12, 4);
			k.len = peer->len - 96;
		} else {
			k.addr.family = AF_INET6;
			memcpy(k.addr.u.bytes, src, 16);
			k.len = peer->len;
		}
	} else
		return -EINVAL;
	mask_bytes(k.addr.u.bytes, family_bits(k.addr.family) / 8, k.len);
	*ret_key = k;
	return 0;
}

/* The host key of an address. */
static int
host_key(const struct addr *a, struct cidr *ret_key)
{
	struct cidr c;

	c.addr = *a;
	c.len = family_bits(a->family);
	return bans_key(&c, ret_key);
}

static bool
key_is_host(const struct cidr *k)
{
	return k->len == family_bits(k->addr.family);
}

static bool
key_equal(const struct cidr *a, const struct cidr *b)
{
	return a->addr.family == b->addr.family && a->len == b->len &&
	    memcmp(a->addr.u.bytes, b->addr.u.bytes, 16) == 0;
}

/* Does either prefix contain the other? Both canonical. */
static bool
key_overlaps(const struct cidr *a, const struct cidr *b)
{
	unsigned int len = a->len < b->len ? a->len : b->len;
	struct cidr x, y;

	if (a->addr.family != b->addr.family)
		return false;
	x = key_prefix(a, len);
	y = key_prefix(b, len);
	return memcmp(x.addr.u.bytes, y.addr.u.bytes, 16) == 0;
}

static uint32_t
key_hash(uint64_t seed, const struct cidr *k)
{
	uint64_t lo, hi;

	memcpy(&lo, k->addr.u.bytes, 8);
	memcpy(&hi, k->addr.u.bytes + 8, 8);
	return (uint32_t)(util_mix64(util_mix64(lo ^ seed) ^ hi ^
	    ((uint64_t)k->addr.family << 32 | k->len)) >> 32);
}

/* --- tables -------------------------------------------------------------- */

static void
tbl_init(struct table *t, size_t size, size_t keyoff, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->size = size;
	t->keyoff = keyoff;
	t->seed = seed;
}

static void
tbl_free(struct table *t)
{
	free(t->v);
	free(t->slot);
	t->v = NULL;
	t->slot = NULL;
	t->n = t->cap = t->mask = 0;
}

static void *
tbl_at(const struct table *t, size_t i)
{
	return t->v + i * t->size;
}

static const struct cidr *
tbl_key(const struct table *t, size_t i)
{
	return (const struct cidr *)(t->v + i * t->size + t->keyoff);
}

static void
slot_insert(struct slot *s, size_t mask, uint32_t id, uint32_t h)
{
	size_t i;

	for (i = h & mask; s[i].id != EMPTY; i = (i + 1) & mask)
		;
	s[i].id = id;
	s[i].h = h;
}

/* The slot holding k, or SIZE_MAX. */
static size_t
tbl_find(const struct table *t, const struct cidr *k, uint32_t h)
{
	size_t i;

	if (t->slot == NULL)
		return SIZE_MAX;
	for (i = h & t->mask; t->slot[i].id != EMPTY; i = (i + 1) & t->mask)
		if (t->slot[i].h == h &&
		    key_equal(tbl_key(t, t->slot[i].id - 1), k))
			return i;
	return SIZE_MAX;
}

static void *
tbl_get(const struct table *t, const struct cidr *k)
{
	size_t i = tbl_find(t, k, key_hash(t->seed, k));

	return i == SIZE_MAX ? NULL : tbl_at(t, t->slot[i].id - 1);
}

/* Room for one more entry, so that tbl_add cannot fail. */
static int
tbl_reserve(struct table *t)
{
	struct slot *s;
	size_t nslots, cap, i;
	uint8_t *v;

	if (t->n >= TABLE_MAX)
		return -ENOMEM;
	if (t->n + 1 > t->cap) {
		cap = t->cap ? t->cap * 2 : 8;
		v = reallocarray(t->v, cap, t->size);
		if (v == NULL)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (t->slot == NULL || (t->n + 1) * 2 > t->mask + 1) {
		nslots = t->slot ? (t->mask + 1) * 2 : 16;
		s = calloc(nslots, sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		for (i = 0; t->slot != NULL && i <= t->mask; i++)
			if (t->slot[i].id != EMPTY)
				slot_insert(s, nslots - 1, t->slot[i].id,
				    t->slot[i].h);
		free(t->slot);
		t->slot = s;
		t->mask = nslots - 1;
	}
	return 0;
}

/* A zeroed entry with key k (absent, hash h), after tbl_reserve. */
static void *
tbl_add(struct table *t, const struct cidr *k, uint32_t h)
{
	uint8_t *e = tbl_at(t, t->n);

	memset(e, 0, t->size);
	memcpy(e + t->keyoff, k, sizeof(*k));
	t->n++;
	slot_insert(t->slot, t->mask, (uint32_t)t->n, h);
	return e;
}

/* Empty slot i, moving later entries of the run back (backward shift). */
static void
slot_delete(struct slot *s, size_t mask, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (s[j].id == EMPTY)
			break;
		/* It may fill the hole if its home is not after the hole. */
		if (((j - (s[j].h & mask)) & mask) >= ((j - i) & mask)) {
			s[i] = s[j];
			i = j;
		}
	}
	s[i].id = EMPTY;
}

/* Remove the entry of slot pos; the last entry moves into its place. */
static void
tbl_delete_at(struct table *t, size_t pos)
{
	size_t e = t->slot[pos].id - 1, last = t->n - 1, i;
	uint32_t h;

	slot_delete(t->slot, t->mask, pos);
	if (e != last) {
		h = key_hash(t->seed, tbl_key(t, last));
		for (i = h & t->mask; t->slot[i].id != last + 1;
		    i = (i + 1) & t->mask)
			;
		t->slot[i].id = (uint32_t)e + 1;
		memcpy(tbl_at(t, e), tbl_at(t, last), t->size);
	}
	t->n--;
}

static bool
tbl_delete(struct table *t, const struct cidr *k)
{
	size_t pos = tbl_find(t, k, key_hash(t->seed, k));

	if (pos == SIZE_MAX)
		return false;
	tbl_delete_at(t, pos);
	return true;
}

/* Keep the entries keep() accepts; rebuild the index. Returns how many
 * were dropped. */
static size_t
tbl_filter(struct table *t, bool (*keep)(const void *e, void *arg),
    void *arg)
{
	size_t i, j, dropped;

	for (i = j = 0; i < t->n; i++) {
		if (!keep(tbl_at(t, i), arg))
			continue;
		if (i != j)
			memcpy(tbl_at(t, j), tbl_at(t, i), t->size);
		j++;
	}
	dropped = t->n - j;
	t->n = j;
	if (dropped > 0 && t->slot != NULL) {
		memset(t->slot, 0, (t->mask + 1) * sizeof(*t->slot));
		for (i = 0; i < t->n; i++)
			slot_insert(t->slot, t->mask, (uint32_t)i + 1,
			    key_hash(t->seed, tbl_key(t, i)));
	}
	return dropped;
}

/* --- policy -------------------------------------------------------------- */

static struct bans_policy
policy_fix(const struct bans_policy *in)
{
	struct bans_policy p = *in;

	if (p.default_ms == 0)
		p.default_ms = BANS_DEFAULT_MS;
	if (p.max_ms == 0)
		p.max_ms = BANS_MAX_MS;
	if (!(p.escalate >= 1.0))	/* and NaN */
		p.escalate = 1.0;
	if (p.aggregate_v4 >= 32)
		p.aggregate_v4 = 0;
	if (p.aggregate_v6 >= 128)
		p.aggregate_v6 = 0;
	if (p.aggregate_threshold == 0)
		p.aggregate_v4 = p.aggregate_v6 = 0;
	if (p.history_max == 0 || p.history_max > TABLE_MAX)
		p.history_max = BANS_HISTORY_MAX;
	return p;
}

static unsigned int
agg_len(const struct bans_policy *p, sa_family_t family)
{
	return family == AF_INET ? p->aggregate_v4 : p->aggregate_v6;
}

/* --- aggregation counts ---------------------------------------------------- */

/* Count host ban k in agg under policy p; room reserved when needed. */
static int
agg_inc(struct table *agg, const struct bans_policy *p,
    const struct cidr *k)
{
	unsigned int len = agg_len(p, k->addr.family);
	struct aggc *e;
	struct cidr q;
	uint32_t h;
	int r;

	if (len == 0 || !key_is_host(k))
		return 0;
	q = key_prefix(k, len);
	h = key_hash(agg->seed, &q);
	if (tbl_find(agg, &q, h) == SIZE_MAX) {
		if ((r = tbl_reserve(agg)) < 0)
			return r;
		e = tbl_add(agg, &q, h);
	} else
		e = tbl_get(agg, &q);
	e->n++;
	return 0;
}

static void
agg_dec(struct bans *b, const struct cidr *k)
{
	unsigned int len = agg_len(&b->p, k->addr.family);
	struct aggc *e;
	struct cidr q;

	if (len == 0 || !key_is_host(k))
		return;
	q = key_prefix(k, len);
	if ((e = tbl_get(&b->agg, &q)) != NULL && --e->n == 0)
		tbl_delete(&b->agg, &q);
}

/* A new agg table for policy p from the bans in force. */
static int
agg_build(const struct bans *b, const struct bans_policy *p,
    struct table *ret)
{
	struct table agg;
	size_t i;
	int r;

	tbl_init(&agg, sizeof(struct aggc), offsetof(struct aggc, key),
	    b->bans.seed ^ 0x243f6a8885a308d3ULL);
	for (i = 0; i < b->bans.n; i++) {
		if ((r = agg_inc(&agg, p, tbl_key(&b->bans, i))) < 0) {
			tbl_free(&agg);
			return r;
		}
	}
	*ret = agg;
	return 0;
}

/* --- history ------------------------------------------------------------- */

static bool
hist_newer_than(const void *e, void *arg)
{
	return ((const struct hist *)e)->created_ms >= *(int64_t *)arg;
}

struct oldest {
	int64_t t;			/* drop created_ms < t ... */
	size_t ties;			/* ... and this many == t */
};

static bool
hist_not_oldest(const void *e, void *arg)
{
	const struct hist *h = e;
	struct oldest *o = arg;

	if (h->created_ms < o->t)
		return false;
	if (h->created_ms == o->t && o->ties > 0) {
		o->ties--;
		return false;
	}
	return true;
}

/* The k-th smallest (from 0) of v[0..n), reordering v: quickselect with
 * a three-way partition, so that many equal times cost nothing extra. */
static int64_t
select_kth(int64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n, lt, i, gt;
	int64_t pivot, tmp;

	while (hi - lo > 1) {
		pivot = v[lo + (hi - lo) / 2];
		/* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
		lt = i = lo;
		gt = hi;
		while (i < gt) {
			if (v[i] < pivot) {
				tmp = v[lt];
				v[lt++] = v[i];
				v[i++] = tmp;
			} else if (v[i] > pivot) {
				tmp = v[--gt];
				v[gt] = v[i];
				v[i] = tmp;
			} else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[k];
}

/* The history is full: forget the peers whose last ban is older than the
 * recidive window (they cannot escalate), then if need be the oldest,
 * down to three quarters of the cap, so that sweeps stay rare. */
static int
hist_prune(struct bans *b)
{
	size_t max = b->p.history_max, target = max - max / 4, k, i, less;
	struct oldest o;
	int64_t horizon, *v;

	if (target >= max)
		target = max - 1;
	if (b->p.recidive_window_ms != 0 && b->p.recidive_window_ms <
	    (uint64_t)INT64_MAX &&
	    !__builtin_sub_overflow(b->hist_newest,
	    (int64_t)b->p.recidive_window_ms, &horizon))
		b->hist_evicted += tbl_filter(&b->hist, hist_newer_than,
		    &horizon);
	if (b->hist.n <= target)
		return 0;
	k = b->hist.n - target;
	v = malloc(b->hist.n * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < b->hist.n; i++)
		v[i] = ((const struct hist *)tbl_at(&b->hist, i))->created_ms;
	o.t = select_kth(v, b->hist.n, k - 1);
	for (i = less = 0; i < b->hist.n; i++)
		if (v[i] < o.t)
			less++;
	free(v);
	o.ties = k - less;
	b->hist_evicted += tbl_filter(&b->hist, hist_not_oldest, &o);
	return 0;
}

/* Merge one ban into the history. bump: a ban newer than the last known
 * is one more ban. */
static int
hist_merge(struct bans *b, const struct cidr *k, int64_t created_ms,
    uint64_t length_ms, uint32_t count, bool bump)
{
	struct hist *h;
	uint32_t hv;
	int r;

	if ((h = tbl_get(&b->hist, k)) == NULL) {
		if (b->hist.n >= b->p.history_max &&
		    (r = hist_prune(b)) < 0)
			return r;
		if ((r = tbl_reserve(&b->hist)) < 0)
			return r;
		hv = key_hash(b->hist.seed, k);
		h = tbl_add(&b->hist, k, hv);
		h->created_ms = created_ms;
		h->length_ms = length_ms;
		h->count = count;
	} else if (created_ms > h->created_ms) {
		if (bump && h->count < UINT32_MAX)
			h->count++;
		if (count > h->count)
			h->count = count;
		h->created_ms = created_ms;
		h->length_ms = length_ms;
	} else {
		if (created_ms == h->created_ms)
			h->length_ms = length_ms;
		if (count > h->count)
			h->count = count;
	}
	if (created_ms > b->hist_newest)
		b->hist_newest = created_ms;
	return 0;
}

int
bans_history_add(struct bans *b, const struct cidr *peer,
    int64_t created_ms, uint64_t length_ms, uint32_t count)
{
	struct cidr k;
	int r;

	if ((r = bans_key(peer, &k)) < 0)
		return r;
	return hist_merge(b, &k, created_ms, length_ms, count, false);
}

size_t
bans_history_count(const struct bans *b)
{
	return b->hist.n;
}

uint64_t
bans_history_evicted(const struct bans *b)
{
	return b->hist_evicted;
}

/* --- the manager ----------------------------------------------------------- */

int
bans_new(const struct bans_policy *p, struct bans **ret_bans)
{
	struct bans *b;
	uint64_t seed;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)b ^ 0x9e3779b97f4a7c15ULL;
	b->p = policy_fix(p);
	tbl_init(&b->bans, sizeof(struct ban), offsetof(struct ban, peer),
	    util_mix64(seed));
	tbl_init(&b->hist, sizeof(struct hist), offsetof(struct hist, key),
	    util_mix64(seed ^ 0x13198a2e03707344ULL));
	tbl_init(&b->agg, sizeof(struct aggc), offsetof(struct aggc, key),
	    b->bans.seed ^ 0x243f6a8885a308d3ULL);
	b->next_expiry = INT64_MAX;
	b->hist_newest = INT64_MIN;
	*ret_bans = b;
	return 0;
}

void
bans_free(struct bans *b)
{
	if (b == NULL)
		return;
	tbl_free(&b->bans);
	tbl_free(&b->hist);
	tbl_free(&b->agg);
	free(b);
}

int
bans_set_policy(struct bans *b, const struct bans_policy *p)
{
	struct bans_policy np = policy_fix(p);
	struct table agg;
	int r;

	if (np.aggregate_v4 != b->p.aggregate_v4 ||
	    np.aggregate_v6 != b->p.aggregate_v6) {
		if ((r = agg_build(b, &np, &agg)) < 0)
			return r;
		tbl_free(&b->agg);
		b->agg = agg;
	}
	b->p = np;
	return 0;
}

uint64_t
bans_length(const struct bans *b, const struct cidr *peer,
    uint64_t base_ms, int64_t now_ms, uint32_t *ret_count)
{
	const struct hist *h = NULL;
	uint64_t base, esc, max = b->p.max_ms;
	int64_t age;
	struct cidr k;
	double d;

	base = base_ms != 0 ? base_ms : b->p.default_ms;
	if (bans_key(peer, &k) == 0)
		h = tbl_get(&b->hist, &k);
	if (ret_count != NULL)
		*ret_count = h != NULL ? h->count : 0;
	if (h == NULL || b->p.recidive_window_ms == 0)
		return base;
	/* A last ban in the future (the clock stepped back) is recent. */
	if (!__builtin_sub_overflow(now_ms, h->created_ms, &age) && age > 0 &&
	    (uint64_t)age >= b->p.recidive_window_ms)
		return base;
	if (h->length_ms == 0) {
		esc = max;
	} else {
		d = (double)h->length_ms * b->p.escalate;
		esc = d >= (double)max ? max : (uint64_t)d;
	}
	return esc > base ? esc : base;
}

static void
len_add(struct bans *b, const struct cidr *k)
{
	int f = fam_index(k->addr.family);

	if (b->nlen[f][k->len]++ == 0)
		b->lens[f][k->len / 64] |= 1ULL << (k->len % 64);
}

static void
len_sub(struct bans *b, const struct cidr *k)
{
	int f = fam_index(k->addr.family);

	if (--b->nlen[f][k->len] == 0)
		b->lens[f][k->len / 64] &= ~(1ULL << (k->len % 64));
}

int
bans_put(struct bans *b, const struct ban *ban)
{
	struct ban *e;
	struct cidr k, q;
	uint64_t length;
	unsigned int alen;
	uint32_t h;
	int r;

	if ((r = bans_key(&ban->peer, &k)) < 0)
		return r;
	h = key_hash(b->bans.seed, &k);
	/* Make room first: once the history is changed nothing fails. */
	if ((e = tbl_get(&b->bans, &k)) == NULL) {
		if ((r = tbl_reserve(&b->bans)) < 0)
			return r;
		alen = agg_len(&b->p, k.addr.family);
		if (alen != 0 && key_is_host(&k)) {
			q = key_prefix(&k, alen);
			if (tbl_get(&b->agg, &q) == NULL &&
			    (r = tbl_reserve(&b->agg)) < 0)
				return r;
		}
	}
	if (ban->expires_ms == 0)
		length = 0;
	else if (ban->expires_ms > ban->created_ms)
		length = (uint64_t)ban->expires_ms - (uint64_t)ban->created_ms;
	else
		length = 1;
	if ((r = hist_merge(b, &k, ban->created_ms, length,
	    ban->count < UINT32_MAX ? ban->count + 1 : UINT32_MAX, true)) < 0)
		return r;
	if (e == NULL) {
		e = tbl_add(&b->bans, &k, h);
		len_add(b, &k);
		agg_inc(&b->agg, &b->p, &k);	/* room reserved */
	}
	*e = *ban;
	e->peer = k;
	e->reason[sizeof(e->reason) - 1] = '\0';
	e->source[sizeof(e->source) - 1] = '\0';
	e->procs[sizeof(e->procs) - 1] = '\0';
	if (e->expires_ms != 0 && e->expires_ms < b->next_expiry)
		b->next_expiry = e->expires_ms;
	return 0;
}

/* Remove the ban in slot pos from every count, then from the table. */
static void
ban_remove_at(struct bans *b, size_t pos)
{
	const struct cidr *k = tbl_key(&b->bans, b->bans.slot[pos].id - 1);

	len_sub(b, k);
	agg_dec(b, k);
	tbl_delete_at(&b->bans, pos);
}

int
bans_del(struct bans *b, const struct cidr *peer, struct ban *ret)
{
	struct cidr k;
	size_t pos;

	if (bans_key(peer, &k) < 0)
		return -ENOENT;
	pos = tbl_find(&b->bans, &k, key_hash(b->bans.seed, &k));
	if (pos == SIZE_MAX)
		return -ENOENT;
	if (ret != NULL)
		*ret = *(const struct ban *)tbl_at(&b->bans,
		    b->bans.slot[pos].id - 1);
	ban_remove_at(b, pos);
	return 0;
}

const struct ban *
bans_get(const struct bans *b, const struct cidr *peer)
{
	struct cidr k;

	if (bans_key(peer, &k) < 0)
		return NULL;
	return tbl_get(&b->bans, &k);
}

/* Is k (canonical) inside a ban in force of length at most maxlen? */
static bool
covered(const struct bans *b, const struct cidr *k, unsigned int maxlen)
{
	int f = fam_index(k->addr.family);
	unsigned int w, len;
	struct cidr q;
	uint64_t m;

	for (w = 0; w < 3; w++) {
		for (m = b->lens[f][w]; m != 0; m &= m - 1) {
			len = w * 64 + (unsigned int)__builtin_ctzll(m);
			if (len > maxlen)
				return false;
			q = key_prefix(k, len);
			if (tbl_get(&b->bans, &q) != NULL)
				return true;
		}
	}
	return false;
}

bool
bans_covers(const struct bans *b, const struct addr *a)
{
	struct cidr k;

	if (b->bans.n == 0 || host_key(a, &k) < 0)
		return false;
	return covered(b, &k, k.len);
}

size_t
bans_expire(struct bans *b, int64_t now_ms,
    void (*fn)(const struct ban *ban, void *arg), void *arg)
{
	int64_t next = INT64_MAX;
	const struct ban *e;
	size_t i = 0, n = 0;

	if (now_ms < b->next_expiry)
		return 0;
	while (i < b->bans.n) {
		e = tbl_at(&b->bans, i);
		if (e->expires_ms != 0 && e->expires_ms <= now_ms) {
			if (fn != NULL)
				fn(e, arg);
			/* The last entry moves to i: look at i again. */
			ban_remove_at(b, tbl_find(&b->bans, &e->peer,
			    key_hash(b->bans.seed, &e->peer)));
			n++;
			continue;
		}
		if (e->expires_ms != 0 && e->expires_ms < next)
			next = e->expires_ms;
		i++;
	}
	b->next_expiry = next;
	return n;
}

size_t
bans_count(const struct bans *b)
{
	return b->bans.n;
}

const struct ban *
bans_at(const struct bans *b, size_t i)
{
	return i < b->bans.n ? tbl_at(&b->bans, i) : NULL;
}

/* --- the first n in an order --------------------------------------------- */

static const char *const sort_names[] = { "left", "created", "address",
    "count" };

int
bans_sort_parse(const char *name, enum bans_sort *ret_sort)
{
	int i = util_name_index(sort_names, 4, name);

	if (i < 0)
		return i;
	*ret_sort = (enum bans_sort)i;
	return 0;
}

static int
desc64(int64_t x, int64_t y)
{
	return x > y ? -1 : x < y;
}

/* < 0 if x comes before y in order by: ties go to the lower address. */
static int
order_cmp(enum bans_sort by, const struct ban *x, const struct ban *y)
{
	int c = 0;

	if (by == BANS_SORT_LEFT) {
		/* Permanent bans first, then the latest to expire. */
		if ((x->expires_ms == 0) != (y->expires_ms == 0))
			return x->expires_ms == 0 ? -1 : 1;
		c = desc64(x->expires_ms, y->expires_ms);
	} else if (by == BANS_SORT_CREATED)
		c = desc64(x->created_ms, y->created_ms);
	else if (by == BANS_SORT_COUNT)
		c = desc64(x->count, y->count);
	return c != 0 ? c : cidr_compare(&x->peer, &y->peer);
}

/* A heap with the last in order at its root. */
static void
top_down(enum bans_sort by, const struct ban **h, size_t i, size_t n)
{
	const struct ban *tmp;
	size_t m, l;

	for (;;) {
		m = i;
		l = 2 * i + 1;
		if (l < n && order_cmp(by, h[l], h[m]) > 0)
			m = l;
		if (l + 1 < n && order_cmp(by, h[l + 1], h[m]) > 0)
			m = l + 1;
		if (m == i)
			return;
		tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static void
top_heapify(enum bans_sort by, const struct ban **h, size_t n)
{
	size_t i;

	for (i = n / 2; i > 0; i--)
		top_down(by, h, i - 1, n);
}

size_t
bans_top(const struct bans *b, enum bans_sort by,
    bool (*match)(const struct ban *ban, void *arg), void *arg,
    const struct ban **ret, size_t n, size_t *ret_matched)
{
	const struct ban *e, *tmp;
	size_t i, k = 0, matched = 0;

	/* The first n that match make a heap; each later one replaces its
	 * root (the last of the first n so far) if it comes before it. */
	for (i = 0; i < b->bans.n; i++) {
		e = tbl_at(&b->bans, i);
		if (match != NULL && !match(e, arg))
			continue;
		matched++;
		if (k < n) {
			ret[k++] = e;
			if (k == n)
				top_heapify(by, ret, n);
		} else if (n > 0 && order_cmp(by, e, ret[0]) < 0) {
			ret[0] = e;
			top_down(by, ret, 0, n);
		}
	}
	if (k < n)
		top_heapify(by, ret, k);
	/* Heap sort: each root moved to the end leaves them in order. */
	for (i = k; i > 1; i--) {
		tmp = ret[0];
		ret[0] = ret[i - 1];
		ret[i - 1] = tmp;
		top_down(by, ret, 0, i - 1);
	}
	*ret_matched = matched;
	return k;
}

bool
bans_aggregate(const struct bans *b, const struct addr *a,
    struct cidr *ret_prefix)
{
	const struct aggc *e;
	unsigned int len;
	struct cidr k, q;

	if (host_key(a, &k) < 0)
		return false;
	len = agg_len(&b->p, k.addr.family);
	if (len == 0)
		return false;
	q = key_prefix(&k, len);
	e = tbl_get(&b->agg, &q);
	if (e == NULL || e->n < b->p.aggregate_threshold)
		return false;
	if (covered(b, &q, len))
		return false;
	*ret_prefix = q;
	return true;
}

/* --- anti-lockout ---------------------------------------------------------- */

const char *
ban_refusal_reason(enum ban_refusal r)
{
	switch (r) {
	case BAN_OK:
		return "not refused";
	case BAN_LOOPBACK:
		return "loopback";
	case BAN_OWN:
		return "one of this host's own addresses";
	case BAN_ALLOWED:
		return "in [allow] peers";
	case BAN_PROTECTED:
		return "holds a session to a protected process";
	}
	return "unknown";
}

enum ban_refusal
bans_check(const struct cidr *peer, const struct addr *own, size_t nown,
    const struct cidr *allow, size_t nallow, bool protected_session)
{
	static const struct cidr lo4 = {
		.addr = { .family = AF_INET, .u.bytes = { 127 } }, .len = 8 };
	static const struct cidr lo6 = {
		.addr = { .family = AF_INET6, .u.bytes = { [15] = 1 } },
		.len = 128 };
	struct cidr k, o;
	size_t i;

	/* Not a peer bans_put would take: nothing to refuse. */
	if (bans_key(peer, &k) < 0)
		return BAN_OK;
	if (key_overlaps(&k, &lo4) || key_overlaps(&k, &lo6))
		return BAN_LOOPBACK;
	for (i = 0; i < nown; i++)
		if (host_key(&own[i], &o) == 0 && key_overlaps(&k, &o))
			return BAN_OWN;
	for (i = 0; i < nallow; i++)
		if (bans_key(&allow[i], &o) == 0 && key_overlaps(&k, &o))
			return BAN_ALLOWED;
	return protected_session ? BAN_PROTECTED : BAN_OK;
}
