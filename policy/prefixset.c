/* Longest-prefix match over sorted disjoint intervals.
 *
 * CIDR prefixes are either nested or disjoint. Sorted by start address,
 * shorter first, one sweep with a stack of the open prefixes cuts the
 * address space into intervals whose longest match does not change: a
 * boundary where a prefix starts (it is the innermost there) and one
 * after each prefix ends (the enclosing one, or none, resumes). A lookup
 * is then the last boundary at or below the address. Each family is kept
 * as a 128-bit number (IPv4 in the low 32 bits) while building; IPv4
 * boundaries are stored as 32-bit numbers so that the search stays in
 * cache. */
#include "prefixset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct u128 {
	uint64_t hi, lo;
};

struct ps_pfx {
	struct u128 start;
	unsigned int len;
};

struct ps_family {
	unsigned int bits;		/* 32 or 128 */
	struct ps_pfx *pend;		/* everything added */
	size_t npend, cappend;
	/* The last build: the distinct prefixes, and the boundaries, each an
	 * interval start and the index into pfx of its longest match (-1:
	 * none). */
	struct cidr *pfx;
	size_t npfx;
	uint32_t *start4;		/* IPv4 */
	struct u128 *start6;		/* IPv6 */
	int32_t *idx;
	size_t nb, nbcap;		/* boundaries used, allocated */
};

struct prefixset {
	struct ps_family f[2];		/* [0] IPv4, [1] IPv6 */
};

/* ---- 128-bit helpers ---------------------------------------------------- */

static int
u128_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* The low n bits set, n in 0..128. */
static struct u128
u128_ones(unsigned int n)
{
	struct u128 r = { 0, 0 };

	if (n >= 128)
		return (struct u128){ UINT64_MAX, UINT64_MAX };
	if (n >= 64) {
		r.lo = UINT64_MAX;
		if (n > 64)
			r.hi = (UINT64_C(1) << (n - 64)) - 1;
	} else if (n > 0) {
		r.lo = (UINT64_C(1) << n) - 1;
	}
	return r;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool
is_v4mapped(const struct addr *a)
{
	return a->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->u.v6);
}

/* An address as a number of its family's width; mapped IPv6 as IPv4.
 * Returns the family index (0 or 1), or -1. */
static int
addr_key(const struct addr *a, struct u128 *ret)
{
	const uint8_t *b = a->u.bytes;

	if (a->family == AF_INET || is_v4mapped(a)) {
		if (a->family == AF_INET6)
			b += 12;
		ret->hi = 0;
		ret->lo = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		return 0;
	}
	if (a->family == AF_INET6) {
		ret->hi = be64(b);
		ret->lo = be64(b + 8);
		return 1;
	}
	return -1;
}

static void
key_to_cidr(int fam, struct u128 k, unsigned int len, struct cidr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->len = len;
	if (fam == 0) {
		ret->addr.family = AF_INET;
		ret->addr.u.bytes[0] = (uint8_t)(k.lo >> 24);
		ret->addr.u.bytes[1] = (uint8_t)(k.lo >> 16);
		ret->addr.u.bytes[2] = (uint8_t)(k.lo >> 8);
		ret->addr.u.bytes[3] = (uint8_t)k.lo;
	} else {
		ret->addr.family = AF_INET6;
		put_be64(ret->addr.u.bytes, k.hi);
		put_be64(ret->addr.u.bytes + 8, k.lo);
	}
}

/* ---- the set -------------------------------------------------------------- */

int
prefixset_new(struct prefixset **ret_set)
{
	struct prefixset *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->f[0].bits = 32;
	s->f[1].bits = 128;
	*ret_set = s;
	return 0;
}

static void
ps_drop_build(struct ps_family *f)
{
	free(f->pfx);
	free(f->start4);
	free(f->start6);
	free(f->idx);
	f->pfx = NULL;
	f->start4 = NULL;
	f->start6 = NULL;
	f->idx = NULL;
	f->npfx = f->nb = f->nbcap = 0;
}

void
prefixset_free(struct prefixset *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < 2; i++) {
		ps_drop_build(&s->f[i]);
		free(s->f[i].pend);
	}
	free(s);
}

int
prefixset_add(struct prefixset *s, const struct cidr *c)
{
	struct ps_family *f;
	struct ps_pfx p, *grown;
	unsigned int len = c->len;
	struct u128 host;
	int fam;

	if (c->addr.family == AF_INET ? len > 32 :
	    c->addr.family == AF_INET6 ? len > 128 : true)
		return -EINVAL;
	fam = addr_key(&c->addr, &p.start);
	if (fam == 0 && c->addr.family == AF_INET6) {
		/* Inside ::ffff:0:0/96: the IPv4 prefix it means. */
		if (len < 96) {
			fam = 1;
			p.start.hi = be64(c->addr.u.bytes);
			p.start.lo = be64(c->addr.u.bytes + 8);
		} else {
			len -= 96;
		}
	}
	f = &s->f[fam];
	host = u128_ones(f->bits - len);
	p.start.hi &= ~host.hi;
	p.start.lo &= ~host.lo;
	p.len = len;
	if (f->npend == f->cappend) {
		size_t cap = f->cappend ? f->cappend * 2 : 64;

		grown = reallocarray(f->pend, cap, sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		f->pend = grown;
		f->cappend = cap;
	}
	f->pend[f->npend++] = p;
	return 0;
}

int
prefixset_add_many(struct prefixset *s, const struct cidr *c, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = prefixset_add(s, &c[i])) < 0)
			return r;
	return 0;
}

static int
ps_pfx_cmp(const void *a, const void *b)
{
	const struct ps_pfx *x = a, *y = b;
	int c = u128_cmp(x->start, y->start);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

struct ps_out {
	struct u128 *start;
	int32_t *idx;
	size_t n;
};

/* A boundary: from start on, the longest match is idx. One at the same
 * start as the last replaces it; one that changes nothing is left out. */
static void
ps_emit(struct ps_out *o, struct u128 start, int32_t idx)
{
	if (o->n > 0 && u128_cmp(o->start[o->n - 1], start) == 0) {
		o->idx[o->n - 1] = idx;
		if (o->n > 1 && o->idx[o->n - 2] == idx)
			o->n--;
		return;
	}
	if (o->n > 0 && o->idx[o->n - 1] == idx)
		return;
	if (o->n == 0 && idx < 0)
		return;
	o->start[o->n] = start;
	o->idx[o->n] = idx;
	o->n++;
}

/* The end of prefix p (its last address) plus one; false when that is
 * past the end of the address space. */
static bool
ps_after(const struct ps_family *f, const struct ps_pfx *p,
    struct u128 *ret)
{
	struct u128 host = u128_ones(f->bits - p->len), end, max;

	end.hi = p->start.hi | host.hi;
	end.lo = p->start.lo | host.lo;
	max = u128_ones(f->bits);
	if (u128_cmp(end, max) == 0)
		return false;
	ret->lo = end.lo + 1;
	ret->hi = end.hi + (ret->lo == 0);
	return true;
}

/* Build f's pending prefixes into ret (its build fields only). */
static int
ps_build_family(struct ps_family *f, int fam, struct ps_family *ret)
{
	int32_t stack[129], top = -1;
	struct ps_out o = { NULL, NULL, 0 };
	struct cidr *pfx = NULL;
	uint32_t *start4 = NULL;
	struct u128 next;
	size_t i, n = 0, nb;
	int r = -ENOMEM;

	if (f->npend > INT32_MAX / 2)
		return -ENOMEM;
	if (f->npend > 1)
		qsort(f->pend, f->npend, sizeof(*f->pend), ps_pfx_cmp);
	for (i = 0; i < f->npend; i++)
		if (n == 0 || ps_pfx_cmp(&f->pend[n - 1], &f->pend[i]) != 0)
			f->pend[n++] = f->pend[i];
	f->npend = n;
	nb = 2 * n + 1;
	pfx = calloc(n ? n : 1, sizeof(*pfx));
	o.start = calloc(nb, sizeof(*o.start));
	o.idx = calloc(nb, sizeof(*o.idx));
	if (fam == 0)
		start4 = calloc(nb, sizeof(*start4));
	if (pfx == NULL || o.start == NULL || o.idx == NULL ||
	    (fam == 0 && start4 == NULL))
		goto out;
	for (i = 0; i < n; i++) {
		const struct ps_pfx *p = &f->pend[i];

		key_to_cidr(fam, p->start, p->len, &pfx[i]);
		/* Close the prefixes that end before this one starts. */
		while (top >= 0) {
			if (!ps_after(f, &f->pend[stack[top]], &next) ||
			    u128_cmp(next, p->start) > 0)
				break;
			top--;
			ps_emit(&o, next, top >= 0 ? stack[top] : -1);
		}
		ps_emit(&o, p->start, (int32_t)i);
		stack[++top] = (int32_t)i;
	}
	while (top >= 0) {
		if (!ps_after(f, &f->pend[stack[top]], &next))
			break;
		top--;
		ps_emit(&o, next, top >= 0 ? stack[top] : -1);
	}
	memset(ret, 0, sizeof(*ret));
	if (fam == 0) {
		for (i = 0; i < o.n; i++)
			start4[i] = (uint32_t)o.start[i].lo;
		ret->start4 = start4;
		start4 = NULL;
	} else {
		ret->start6 = o.start;
		o.start = NULL;
	}
	ret->idx = o.idx;
	o.idx = NULL;
	ret->nb = o.n;
	ret->nbcap = nb;
	ret->pfx = pfx;
	ret->npfx = n;
	pfx = NULL;
	r = 0;
out:
	free(pfx);
	free(start4);
	free(o.start);
	free(o.idx);
	return r;
}

int
prefixset_build(struct prefixset *s)
{
	struct ps_family built[2];
	int i, r;

	if ((r = ps_build_family(&s->f[0], 0, &built[0])) < 0)
		return r;
	if ((r = ps_build_family(&s->f[1], 1, &built[1])) < 0) {
		ps_drop_build(&built[0]);
		return r;
	}
	for (i = 0; i < 2; i++) {
		ps_drop_build(&s->f[i]);
		s->f[i].pfx = built[i].pfx;
		s->f[i].npfx = built[i].npfx;
		s->f[i].start4 = built[i].start4;
		s->f[i].start6 = built[i].start6;
		s->f[i].idx = built[i].idx;
		s->f[i].nb = built[i].nb;
		s->f[i].nbcap = built[i].nbcap;
	}
	return 0;
}

/* The index of the last boundary at or below k, or -1. */
static ssize_t
ps_search4(const struct ps_family *f, uint32_t k)
{
	size_t lo = 0, hi = f->nb, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f->start4[mid] <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

static ssize_t
ps_search6(const struct ps_family *f, struct u128 k)
{
	size_t lo = 0, hi = f->nb, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u128_cmp(f->start6[mid], k) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

static int32_t
ps_lookup(const struct ps_family *f, int fam, struct u128 k)
{
	ssize_t b;

	if (f->nb == 0)
		return -1;
	b = fam == 0 ? ps_search4(f, (uint32_t)k.lo) : ps_search6(f, k);
	return b < 0 ? -1 : f->idx[b];
}

bool
prefixset_contains(const struct prefixset *s, const struct addr *a,
    struct cidr *ret_match)
{
	struct u128 k;
	int32_t i;
	int fam;

	fam = addr_key(a, &k);
	if (fam < 0)
		return false;
	i = ps_lookup(&s->f[fam], fam, k);
	if (i < 0 && fam == 0 && a->family == AF_INET6) {
		/* A mapped address not in an IPv4 prefix: a short IPv6 prefix
		 * such as ::/0 may still cover it. */
		fam = 1;
		k.hi = be64(a->u.bytes);
		k.lo = be64(a->u.bytes + 8);
		i = ps_lookup(&s->f[fam], fam, k);
	}
	if (i < 0)
		return false;
	if (ret_match != NULL)
		*ret_match = s->f[fam].pfx[i];
	return true;
}

size_t
prefixset_count(const struct prefixset *s)
{
	return s->f[0].npfx + s->f[1].npfx;
}

size_t
prefixset_memory(const struct prefixset *s)
{
	size_t bytes = sizeof(*s);
	int i;

	for (i = 0; i < 2; i++) {
		const struct ps_family *f = &s->f[i];

		bytes += f->cappend * sizeof(*f->pend);
		bytes += f->npfx * sizeof(*f->pfx);
		bytes += f->nbcap * (sizeof(*f->idx) +
		    (i == 0 ? sizeof(*f->start4) : sizeof(*f->start6)));
	}
	return bytes;
}
