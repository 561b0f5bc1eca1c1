#include "../common/util.h"
#include "peers.h"

#include <errno.h>
#include <stddef.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

/* Entries are numbered from 1; 0 is "none" in every link. */
#define NIL		0
#define SKETCH		0xff	/* set mode: HyperLogLog, not exact */
#define HLL_M		128	/* registers per generation */
#define HLL_MAX		15	/* 4-bit registers */

/* Handshake counts for one local port. */
struct hs_slot {
	uint16_t port;
	uint16_t unanswered;		/* SYNs not yet answered */
	uint16_t pending;		/* SYN-ACKs not yet acknowledged */
	uint16_t used;
	uint32_t syns, completed, failed;
};

/* A windowed distinct set, 128 bytes either way: exact keys with their
 * ticks, or two generations of HLL_M four-bit registers. The exact keys
 * are in two blocks of one cache line, each with its keys' ticks, so a
 * set of up to half its size (a peer that is not scanning) is one line,
 * not two. */
#define PORT_BLK	(PEERS_EXACT_PORTS / 2)
#define HOST_BLK	(PEERS_EXACT_HOSTS / 2)

union port_set {
	struct {
		uint16_t key[PORT_BLK];
		uint16_t tick[PORT_BLK];
	} x[2];
	uint8_t reg[2][HLL_M / 2];
};

union host_set {
	struct {
		uint32_t key[HOST_BLK];		/* keyed hash of the address */
		uint16_t tick[HOST_BLK];
		uint8_t pad[64 - 6 * HOST_BLK];
	} x[2];
	uint8_t reg[2][HLL_M / 2];
};

_Static_assert(sizeof(union port_set) == 128 &&
    sizeof(union host_set) == 128 && sizeof(((union port_set *)0)->x[0]) ==
    64 && sizeof(((union host_set *)0)->x[0]) == 64, "one block a line");

/* One peer. Arrays of two are [in, out] or, for the windowed fields,
 * generation gen lives in [gen & 1] and gen - 1 in the other.
 * What every packet touches (the key, the links, the time, the packet
 * counts) is in the first 64 bytes; what a new entry must have zeroed is
 * in the first 256 (the sets behind it are read only up to their n). */
struct peer {
	uint8_t addr[16];		/* IPv4 in the first 4, rest zero */
	uint32_t hnext, prev, next;	/* hash chain; LRU list */
	uint8_t family, ports_n, hosts_n, nsample;
	uint32_t gen;			/* the latest generation */
	uint8_t hs_open;		/* a slot has a pending handshake */
	uint8_t hops;			/* a handshake's hop count + 1; 0: none */
	uint8_t hop_ok, hop_bad;	/* probes that agreed with it, or not */
	int64_t last_ms;
	uint64_t pkts[2];
	/* 64 */
	uint64_t bytes[2];
	uint64_t sent[2];		/* Bloom: local ports we sent from */
	int64_t first_ms;
	int64_t ports_last, hosts_last;	/* last insert into each set */
	uint32_t syns, synacks;
	/* 128 */
	uint32_t rsts, udp_closed, icmp_unreach;
	uint32_t syn_w[2], closed_w[2];
	uint16_t kinds[2];
	uint16_t sample[PEERS_SAMPLES];	/* newest first */
	struct hs_slot slot[PEERS_PORTS];
	/* 256 */
	union port_set ports;
	union host_set hosts;
};

_Static_assert(sizeof(struct peer) == PEERS_ENTRY_BYTES,
    "PEERS_ENTRY_BYTES documents the entry size");
_Static_assert(offsetof(struct peer, pkts) + 16 == 64 &&
    offsetof(struct peer, ports) == 256, "the hot line and the zeroed part");

/* An address as the table keys it: the 16 bytes of struct peer's addr
 * (IPv4 in the first 4, rest zero) as two words, and the family. Built in
 * registers, not through a byte buffer: the hash and the compare read it
 * as words. */
struct pkey {
	uint64_t lo, hi;
	uint8_t family;
};

struct peers {
	uint8_t *pool;			/* max entries, stride bytes apart */
	uint32_t *bucket;		/* chain heads */
	size_t stride, max, used, count, user_bytes, memory;
	uint32_t mask;			/* buckets - 1 */
	uint32_t head, tail;		/* LRU: head is the most recent */
	uint64_t evictions;
	int64_t window, now;
	int64_t gen_end;		/* now's generation ends here */
	uint32_t gen;			/* now's generation */
	int64_t tick_ms;
	int64_t tick_end;		/* now's tick ends here */
	uint16_t tick;			/* now's tick */
	uint16_t win_ticks;
	uint64_t k_addr, k_host, k_sketch, k_sent;
	/* The lines of an entry peers_prefetch loads (step 1). */
	uint8_t pf_line[(PEERS_ENTRY_BYTES + PEERS_MAX_USER_BYTES) / 64];
	unsigned int npf;
	/* The last local address's host-set key: nearly every packet has
	 * one of the host's few addresses. */
	struct pkey host_key;
	uint32_t host_hash;
};

/* A view of one distinct set, so ports and hosts share the code. */
struct dset {
	union port_set *ps;		/* one of these two */
	union host_set *hs;
	uint8_t (*reg)[HLL_M / 2];
	uint8_t *n;
	int64_t *last;
	unsigned int cap;
	bool wide;			/* uint32_t keys, else uint16_t */
};

static inline uint64_t
key_hash(uint64_t k, const struct pkey *key)
{
	return util_mix64(util_mix64(key->lo ^ k) ^ key->hi ^
	    ((uint64_t)key->family << 56) ^ (k >> 17));
}

/* Normalize an address into a key; false if the family is unknown. */
static inline bool
addr_key(const struct addr *a, struct pkey *ret_key)
{
	uint32_t v4;

	ret_key->lo = ret_key->hi = 0;
	if (a->family == AF_INET) {
		/* The word the first 4 bytes make with 4 zero bytes after
		 * them, in a register: a 4-byte store into the word, then an
		 * 8-byte load of it, would stall store forwarding. */
		memcpy(&v4, a->u.bytes, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		ret_key->lo = (uint64_t)v4 << 32;
#else
		ret_key->lo = v4;
#endif
	} else if (a->family == AF_INET6) {
		memcpy(&ret_key->lo, a->u.bytes, 8);
		memcpy(&ret_key->hi, a->u.bytes + 8, 8);
	} else
		return false;
	ret_key->family = (uint8_t)a->family;
	return true;
}

static struct pkey
entry_key(const struct peer *p)
{
	struct pkey k;

	memcpy(&k.lo, p->addr, 8);
	memcpy(&k.hi, p->addr + 8, 8);
	k.family = p->family;
	return k;
}

static void
inc32(uint32_t *v)
{
	if (*v != UINT32_MAX)
		(*v)++;
}

static struct peer *
entry(const struct peers *t, uint32_t id)
{
	return (struct peer *)(t->pool + (size_t)(id - 1) * t->stride);
}

static int64_t
clamp_now(const struct peers *t, int64_t now_ms)
{
	return now_ms > t->now ? now_ms : t->now;
}

/* The generation and tick of a time; those of the table's now are kept,
 * so the packet path divides once per tick, not per packet. */
static uint32_t
gen_of(const struct peers *t, int64_t now)
{
	if (now == t->now)
		return t->gen;
	return (uint32_t)(now / t->window);
}

static uint16_t
tick_of(const struct peers *t, int64_t now)
{
	if (now == t->now)
		return t->tick;
	return (uint16_t)(now / t->tick_ms);
}

static void
clock_set(struct peers *t, int64_t now)
{
	t->now = now;
	if (now >= t->gen_end) {
		t->gen = (uint32_t)(now / t->window);
		t->gen_end = ((int64_t)t->gen + 1) * t->window;
	}
	if (now >= t->tick_end) {
		t->tick = (uint16_t)(now / t->tick_ms);
		t->tick_end = (now / t->tick_ms + 1) * t->tick_ms;
	}
}

/* --- the distinct sets ------------------------------------------------ */

static unsigned int
reg_get(const uint8_t *r, unsigned int j)
{
	return (r[j >> 1] >> ((j & 1) * 4)) & 0xf;
}

static void
reg_set(uint8_t *r, unsigned int j, unsigned int v)
{
	unsigned int sh = (j & 1) * 4;

	r[j >> 1] = (uint8_t)((r[j >> 1] & ~(0xf << sh)) | (v << sh));
}

/* Add hash h to generation cur; true if the union's estimate can have
 * grown (a register of the union went up). */
static bool
hll_add(uint8_t (*reg)[HLL_M / 2], unsigned int cur, uint32_t h)
{
	unsigned int j = h >> 25, rho, a, b;
	uint32_t w = h << 7;

	rho = w != 0 ? (unsigned int)__builtin_clz(w) + 1 : 26;
	if (rho > HLL_MAX)
		rho = HLL_MAX;
	a = reg_get(reg[cur], j);
	b = reg_get(reg[cur ^ 1], j);
	if (rho > a)
		reg_set(reg[cur], j, rho);
	return rho > a && rho > b;
}

/* The HyperLogLog estimate of the union of the valid generations, with
 * linear counting in the small range. */
static uint32_t
hll_count(const uint8_t (*reg)[HLL_M / 2], bool valid0, bool valid1)
{
	const double alpha = 0.7213 / (1.0 + 1.079 / HLL_M);
	unsigned int j, r, r1, zeros = 0;
	double sum = 0, e;

	for (j = 0; j < HLL_M; j++) {
		r = valid0 ? reg_get(reg[0], j) : 0;
		r1 = valid1 ? reg_get(reg[1], j) : 0;
		if (r1 > r)
			r = r1;
		sum += 1.0 / (double)(1U << r);
		if (r == 0)
			zeros++;
	}
	e = util_hll_estimate(HLL_M, alpha, sum, zeros);
	return (uint32_t)(e + 0.5);
}

static bool
hll_empty(const uint8_t (*reg)[HLL_M / 2])
{
	static const uint8_t zero[2][HLL_M / 2];

	return memcmp(reg, zero, sizeof(zero)) == 0;
}

/* The ports or the hosts set of p. Read-only users (the counts) pass a
 * const peer and never write through the view. */
static struct dset
set_of(const struct peer *cp, bool hosts)
{
	struct peer *p = (struct peer *)cp;
	struct dset s = {
		&p->ports, NULL, p->ports.reg, &p->ports_n,
		&p->ports_last, PEERS_EXACT_PORTS, false,
	}, h = {
		NULL, &p->hosts, p->hosts.reg, &p->hosts_n,
		&p->hosts_last, PEERS_EXACT_HOSTS, true,
	};

	return hosts ? h : s;
}

static uint32_t
dkey_get(const struct dset *s, unsigned int i)
{
	if (s->wide)
		return s->hs->x[i / HOST_BLK].key[i % HOST_BLK];
	return s->ps->x[i / PORT_BLK].key[i % PORT_BLK];
}

static void
dkey_set(const struct dset *s, unsigned int i, uint32_t k)
{
	if (s->wide)
		s->hs->x[i / HOST_BLK].key[i % HOST_BLK] = k;
	else
		s->ps->x[i / PORT_BLK].key[i % PORT_BLK] = (uint16_t)k;
}

static uint16_t *
dtick(const struct dset *s, unsigned int i)
{
	if (s->wide)
		return &s->hs->x[i / HOST_BLK].tick[i % HOST_BLK];
	return &s->ps->x[i / PORT_BLK].tick[i % PORT_BLK];
}

/* The sketch's hash of a set key (a port, or a host's keyed hash). */
static uint32_t
sketch_hash(const struct peers *t, uint32_t key)
{
	return (uint32_t)(util_mix64(key ^ t->k_sketch) >> 32);
}

/* Lanes of one block of a port set (the first m of PORT_BLK) as bit
 * masks: those holding key, and those older than the window. Eight lanes
 * at a time where SSE2 is there: a flood's probes pass here once or
 * twice each, and the loop's exit, at a varying n, was mispredicted. */
static void
pblk_scan(const struct peers *t, const uint16_t *keys, const uint16_t *ticks,
    unsigned int m, uint16_t key, uint16_t tk, uint32_t *ret_eq,
    uint32_t *ret_old)
{
	uint32_t eq = 0, old = 0, live;
	unsigned int i;
#ifdef __SSE2__
	const __m128i k = _mm_set1_epi16((short)key);
	const __m128i now = _mm_set1_epi16((short)tk);
	const __m128i lim = _mm_set1_epi16((short)(t->win_ticks - 1));
	const __m128i zero = _mm_setzero_si128();
	__m128i e, o;

	for (i = 0; i < PORT_BLK; i += 8) {
		e = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)
		    (keys + i)), k);
		/* age - (win_ticks - 1), saturated at 0: not 0 when age >=
		 * win_ticks, unsigned as the scalar compare is. */
		o = _mm_subs_epu16(_mm_sub_epi16(now, _mm_loadu_si128(
		    (const __m128i *)(ticks + i))), lim);
		o = _mm_cmpeq_epi16(o, zero);
		eq |= (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(e, zero)) <<
		    i;
		old |= ((uint32_t)_mm_movemask_epi8(_mm_packs_epi16(o, zero)) ^
		    0xff) << i;
	}
#else
	for (i = 0; i < m; i++) {
		eq |= (uint32_t)(keys[i] == key) << i;
		old |= (uint32_t)((uint16_t)(tk - ticks[i]) >= t->win_ticks) <<
		    i;
	}
#endif
	live = (1U << m) - 1;		/* m <= PORT_BLK */
	*ret_eq = eq & live;
	*ret_old = old & live;
}

/* One pass over the n keys of s: the index of key (n if it is not
 * there), and whether any key has expired (*ret_old). */
static unsigned int
dset_find(const struct peers *t, const struct dset *s, unsigned int n,
    uint32_t key, uint16_t tk, bool *ret_old)
{
	uint32_t eq0, old0, eq1 = 0, old1 = 0;
	unsigned int i, at = n;
	bool old = false;

	if (!s->wide) {
		pblk_scan(t, s->ps->x[0].key, s->ps->x[0].tick,
		    n < PORT_BLK ? n : PORT_BLK, (uint16_t)key, tk, &eq0,
		    &old0);
		if (n > PORT_BLK)
			pblk_scan(t, s->ps->x[1].key, s->ps->x[1].tick,
			    n - PORT_BLK, (uint16_t)key, tk, &eq1, &old1);
		eq0 |= eq1 << PORT_BLK;
		*ret_old = (old0 | old1) != 0;
		/* Keys are distinct: at most one bit. */
		return eq0 != 0 ? 31 - (unsigned int)__builtin_clz(eq0) : n;
	}
	for (i = 0; i < n; i++) {
		old |= (uint16_t)(tk - *dtick(s, i)) >= t->win_ticks;
		at = dkey_get(s, i) == key ? i : at;
	}
	*ret_old = old;
	return at;
}

/* Insert key at now, generation g. Expired exact entries are dropped on
 * the way, so every entry left is younger than the window and a tick is
 * never old enough to wrap. True if the key is new (for a sketch: if the
 * estimate can have grown). */
static bool
dset_add(const struct peers *t, struct dset *s, uint32_t key, int64_t now,
    uint32_t g)
{
	uint32_t keys[PEERS_EXACT_PORTS];
	uint16_t tk = tick_of(t, now);
	unsigned int n = *s->n, i = 0, at;
	bool found = false, old = false;

	if (n == SKETCH) {
		*s->last = now;
		return hll_add(s->reg, g & 1, sketch_hash(t, key));
	}
	if (now - *s->last >= t->window)
		n = 0;
	*s->last = now;
	/* Usually nothing has expired: then one branch-free pass finds the
	 * key, and the loop below, which drops expired keys, is skipped. */
	at = dset_find(t, s, n, key, tk, &old);
	i = 0;
	if (!old && at < n) {
		*dtick(s, at) = tk;
		found = true;
	}
	while (old && i < n) {
		if ((uint16_t)(tk - *dtick(s, i)) >= t->win_ticks) {
			n--;
			dkey_set(s, i, dkey_get(s, n));
			*dtick(s, i) = *dtick(s, n);
			continue;
		}
		if (dkey_get(s, i) == key) {
			*dtick(s, i) = tk;
			found = true;
		}
		i++;
	}
	if (found) {
		*s->n = (uint8_t)n;
		return false;
	}
	if (n < s->cap) {
		dkey_set(s, n, key);
		*dtick(s, n) = tk;
		*s->n = (uint8_t)(n + 1);
		return true;
	}
	/* Full of live keys: become a sketch. The keys go into the current
	 * generation, which keeps them a little longer than exact would. */
	for (i = 0; i < n; i++)
		keys[i] = dkey_get(s, i);
	memset(s->reg, 0, 2 * (HLL_M / 2));
	*s->n = SKETCH;
	for (i = 0; i < n; i++)
		hll_add(s->reg, g & 1, sketch_hash(t, keys[i]));
	hll_add(s->reg, g & 1, sketch_hash(t, key));
	return true;
}

static bool
gen_valid(const struct peer *p, unsigned int half, uint32_t g)
{
	uint32_t tag = half == (p->gen & 1) ? p->gen : p->gen - 1;

	return tag == g || tag == g - 1;
}

static uint32_t
dset_count(const struct peers *t, const struct peer *p, const struct dset *s,
    int64_t now, bool *ret_exact)
{
	unsigned int n = *s->n, i, live = 0;
	uint32_t g = gen_of(t, now);
	uint16_t tk;

	if (n == SKETCH) {
		if (ret_exact != NULL)
			*ret_exact = false;
		return hll_count((const uint8_t (*)[HLL_M / 2])s->reg,
		    gen_valid(p, 0, g), gen_valid(p, 1, g));
	}
	if (ret_exact != NULL)
		*ret_exact = true;
	if (now - *s->last >= t->window)
		return 0;
	if (now == *s->last)
		return n;		/* all were live at that insert */
	tk = tick_of(t, now);
	for (i = 0; i < n; i++)
		if ((uint16_t)(tk - *dtick(s, i)) < t->win_ticks)
			live++;
	return live;
}

/* --- generations ------------------------------------------------------ */

static void
half_clear(struct peer *p, unsigned int h)
{
	p->syn_w[h] = 0;
	p->closed_w[h] = 0;
	p->kinds[h] = 0;
	p->sent[h] = 0;
	if (p->ports_n == SKETCH)
		memset(p->ports.reg[h], 0, HLL_M / 2);
	if (p->hosts_n == SKETCH)
		memset(p->hosts.reg[h], 0, HLL_M / 2);
}

/* Move on to generation g (>= p->gen), clearing what is older than g - 1;
 * a sketch with nothing left becomes an empty exact set again. A new
 * entry is all zero: generations 0 and -1, both empty. */
static void
gen_rotate(struct peer *p, uint32_t g)
{
	if (p->gen == g)
		return;
	half_clear(p, g & 1);
	if (p->gen + 1 != g)
		half_clear(p, (g & 1) ^ 1);
	/* The hop counts judge the probes of about the last two windows:
	 * halved each window, gone after two. A busy peer's agreeing SYNs
	 * of an hour ago cannot outvote the spoofed probes of now. */
	if (p->gen + 1 == g) {
		p->hop_ok >>= 1;
		p->hop_bad >>= 1;
	} else {
		p->hop_ok = p->hop_bad = 0;
	}
	p->gen = g;
	if (p->ports_n == SKETCH && hll_empty(p->ports.reg))
		p->ports_n = 0;
	if (p->hosts_n == SKETCH && hll_empty(p->hosts.reg))
		p->hosts_n = 0;
}

/* --- per-port handshakes, samples, the sent-from filter ---------------- */

static struct hs_slot *
slot_find(struct peer *p, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < PEERS_PORTS; i++)
		if (p->slot[i].used && p->slot[i].port == port)
			return &p->slot[i];
	return NULL;
}

/* The slot for port, taking a free one or the one with the fewest SYNs. */
static struct hs_slot *
slot_take(struct peer *p, uint16_t port)
{
	struct hs_slot *s = slot_find(p, port), *victim = NULL;
	unsigned int i;

	if (s != NULL)
		return s;
	for (i = 0; i < PEERS_PORTS; i++) {
		s = &p->slot[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (victim == NULL || s->syns < victim->syns)
			victim = s;
	}
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->port = port;
	return victim;
}

static void
hs_recount(struct peer *p)
{
	unsigned int i;

	p->hs_open = 0;
	for (i = 0; i < PEERS_PORTS; i++)
		if (p->slot[i].pending > 0)
			p->hs_open = 1;
}

static void
sample_push(struct peer *p, uint16_t port)
{
	unsigned int i, n = p->nsample;

	for (i = 0; i < n; i++)
		if (p->sample[i] == port)
			break;
	if (i == n) {
		if (n < PEERS_SAMPLES)
			p->nsample = (uint8_t)++n;
		i = n - 1;
	}
	memmove(&p->sample[1], &p->sample[0], i * sizeof(p->sample[0]));
	p->sample[0] = port;
}

/* The host-set key of a local address. */
static uint32_t
host_hash(struct peers *t, const struct pkey *lkey)
{
	if (t->host_key.family == 0 || t->host_key.lo != lkey->lo ||
	    t->host_key.hi != lkey->hi || t->host_key.family != lkey->family) {
		t->host_key = *lkey;
		t->host_hash = (uint32_t)key_hash(t->k_host, lkey);
	}
	return t->host_hash;
}

static uint64_t
sent_bit(const struct peers *t, uint16_t port)
{
	return 1ULL << (util_mix64(port ^ t->k_sent) & 63);
}

/* --- hash and LRU ------------------------------------------------------ */

/* The key compare in two 8-byte words: no call to memcmp per chain link. */
static bool
key_equal(const struct peer *p, const struct pkey *key)
{
	uint64_t lo, hi;

	memcpy(&lo, p->addr, 8);
	memcpy(&hi, p->addr + 8, 8);
	return ((lo ^ key->lo) | (hi ^ key->hi)) == 0 &&
	    p->family == key->family;
}

static uint32_t
lookup(const struct peers *t, const struct pkey *key, uint64_t h)
{
	const struct peer *p;
	uint32_t id;

	for (id = t->bucket[h & t->mask]; id != NIL; id = p->hnext) {
		p = entry(t, id);
		if (key_equal(p, key))
			return id;
	}
	return NIL;
}

static void
hash_unlink(struct peers *t, struct peer *p, uint32_t id)
{
	struct pkey k = entry_key(p);
	uint32_t *link;

	link = &t->bucket[key_hash(t->k_addr, &k) & t->mask];
	while (*link != NIL && *link != id)
		link = &entry(t, *link)->hnext;
	if (*link == id)
		*link = p->hnext;
}

static void
lru_unlink(struct peers *t, struct peer *p)
{
	if (p->prev != NIL)
		entry(t, p->prev)->next = p->next;
	else
		t->head = p->next;
	if (p->next != NIL)
		entry(t, p->next)->prev = p->prev;
	else
		t->tail = p->prev;
	p->prev = p->next = NIL;
}

static void
lru_push(struct peers *t, struct peer *p, uint32_t id)
{
	p->prev = NIL;
	p->next = t->head;
	if (t->head != NIL)
		entry(t, t->head)->prev = id;
	else
		t->tail = id;
	t->head = id;
}

/* A zeroed entry for a new peer: a never used one, or the least recently
 * seen peer's, evicted. */
static struct peer *
entry_make(struct peers *t, const struct pkey *key,
    uint64_t h, int64_t now, unsigned int *ev)
{
	struct peer *p;
	uint32_t id;

	if (t->used < t->max) {
		id = (uint32_t)++t->used;
	} else {
		id = t->tail;
		p = entry(t, id);
		lru_unlink(t, p);
		hash_unlink(t, p, id);
		t->count--;
		t->evictions++;
		*ev |= PEER_EV_EVICTED;
	}
	p = entry(t, id);
	memset(p, 0, offsetof(struct peer, ports));
	memset((uint8_t *)p + PEERS_ENTRY_BYTES, 0, t->stride -
	    PEERS_ENTRY_BYTES);
	p->family = key->family;
	memcpy(p->addr, &key->lo, 8);
	memcpy(p->addr + 8, &key->hi, 8);
	p->first_ms = now;
	p->hnext = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = id;
	lru_push(t, p, id);
	t->count++;
	*ev |= PEER_EV_NEW;
	return p;
}

/* --- the table --------------------------------------------------------- */

static size_t
stride_for(size_t user_bytes)
{
	return PEERS_ENTRY_BYTES + (user_bytes + 63) / 64 * 64;
}

static size_t
buckets_for(size_t max)
{
	size_t nb = 1;

	while (nb < max)
		nb <<= 1;
	return nb;
}

size_t
peers_memory_needed(const struct peers_conf *c)
{
	if (c == NULL || c->max_peers == 0 || c->max_peers > PEERS_MAX_LIMIT ||
	    c->window_ms < 1 || c->window_ms > PEERS_MAX_WINDOW_MS ||
	    c->user_bytes > PEERS_MAX_USER_BYTES)
		return 0;
	return sizeof(struct peers) + stride_for(c->user_bytes) * c->max_peers +
	    buckets_for(c->max_peers) * sizeof(uint32_t);
}

int
peers_new(const struct peers_conf *c, struct peers **ret_table)
{
	struct peers *t = NULL;
	size_t nb, off;
	int r;

	*ret_table = NULL;
	if (peers_memory_needed(c) == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->stride = stride_for(c->user_bytes);
	t->max = c->max_peers;
	t->user_bytes = c->user_bytes;
	t->memory = peers_memory_needed(c);
	nb = buckets_for(c->max_peers);
	t->mask = (uint32_t)(nb - 1);
	/* Untouched pages cost nothing until peers arrive. On huge pages
	 * where the kernel allows (entries are used in order, so at most
	 * one is partly used): a 10,000-peer working set then needs a few
	 * TLB entries, not 2,000, and 4 page faults, not 2,000. Zeroed, and
	 * page-aligned, so entries are cache-line aligned. */
	t->pool = util_bigrealloc(NULL, 0, t->stride * t->max);
	if (t->pool == NULL) {
		r = -ENOMEM;
		goto out;
	}
	t->bucket = util_bigrealloc(NULL, 0, nb * sizeof(*t->bucket));
	if (t->bucket == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* A packet touches the key, links and counts, the handshake
	 * slots, the sets if it is a probe, and the caller's area: all of
	 * it but the sets' second blocks, which only a peer with many ports
	 * or hosts uses. Measured: loading fewer lines is slower (4 of 11
	 * lines: 25% slower offline; without the sets' first blocks: 10%). */
	for (off = 0; off < t->stride; off += 64)
		if (off != offsetof(struct peer, ports) + 64 &&
		    off != offsetof(struct peer, hosts) + 64)
			t->pf_line[t->npf++] = (uint8_t)(off / 64);
	t->window = c->window_ms;
	t->tick_ms = c->window_ms / 16384 + 1;
	t->win_ticks = (uint16_t)(c->window_ms / t->tick_ms);
	t->k_addr = util_mix64(c->seed ^ 0x243f6a8885a308d3ULL);
	t->k_host = util_mix64(c->seed ^ 0x13198a2e03707344ULL);
	t->k_sketch = util_mix64(c->seed ^ 0xa4093822299f31d0ULL);
	t->k_sent = util_mix64(c->seed ^ 0x082efa98ec4e6c89ULL);
	*ret_table = t;
	t = NULL;
	r = 0;
out:
	peers_free(t);
	return r;
}

void
peers_free(struct peers *t)
{
	if (t == NULL)
		return;
	util_bigfree(t->pool, t->stride * t->max);
	util_bigfree(t->bucket, (size_t)(t->mask + 1) * sizeof(*t->bucket));
	free(t);
}

static uint16_t
tcp_kind(uint8_t f)
{
	f &= TH_FIN | TH_SYN | TH_RST | TH_PUSH | TH_ACK | TH_URG;
	if ((f & (TH_SYN | TH_ACK)) == TH_SYN)
		return PEER_KIND_SYN;
	switch (f) {
	case 0:
		return PEER_KIND_NULL;
	case TH_FIN:
		return PEER_KIND_FIN;
	case TH_FIN | TH_PUSH | TH_URG:
		return PEER_KIND_XMAS;
	case TH_ACK:
		return PEER_KIND_ACK;
	case TH_FIN | TH_ACK:
		return PEER_KIND_MAIMON;
	default:
		return PEER_KIND_OTHER;
	}
}

/* An inbound TCP segment: handshake bookkeeping; true if it is a probe. */
static bool
tcp_inbound(const struct peers *t, struct peer *p, const struct peer_obs *o,
    unsigned int cur, unsigned int *ev)
{
	uint8_t f = o->tcp_flags;
	struct hs_slot *s;

	if ((f & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		inc32(&p->syns);
		inc32(&p->syn_w[cur]);
		*ev |= PEER_EV_SYN;
		s = slot_take(p, o->lport);
		inc32(&s->syns);
		if (s->unanswered < UINT16_MAX)
			s->unanswered++;
	} else if (p->hs_open && ((f & TH_RST) ||
	    (f & (TH_SYN | TH_FIN | TH_ACK)) == TH_ACK)) {
		/* The peer's answer to our SYN-ACK: a reset or the ACK. */
		s = slot_find(p, o->lport);
		if (s != NULL && s->pending > 0) {
			s->pending--;
			inc32(f & TH_RST ? &s->failed : &s->completed);
			*ev |= f & TH_RST ? PEER_EV_HS_FAILED : PEER_EV_HS_DONE;
			hs_recount(p);
		}
	}
	if (f & TH_RST)
		return false;
	if ((f & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
		return false;		/* a reply, or backscatter */
	if (!(f & TH_ACK))
		return true;
	return !o->lport_open &&
	    ((p->sent[0] | p->sent[1]) & sent_bit(t, o->lport)) == 0;
}

static void
tcp_outbound(const struct peers *t, struct peer *p, const struct peer_obs *o,
    unsigned int cur, unsigned int *ev)
{
	uint8_t f = o->tcp_flags;
	struct hs_slot *s;

	if ((f & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		inc32(&p->synacks);
		*ev |= PEER_EV_SYNACK;
		if ((s = slot_find(p, o->lport)) != NULL) {
			if (s->unanswered > 0)
				s->unanswered--;
			if (s->pending < UINT16_MAX)
				s->pending++;
			p->hs_open = 1;
		}
	}
	if (f & TH_RST) {
		inc32(&p->rsts);
		*ev |= PEER_EV_RST;
		s = slot_find(p, o->lport);
		if (s != NULL && (s->unanswered > 0 || s->pending > 0)) {
			if (s->unanswered > 0)
				s->unanswered--;
			else
				s->pending--;
			inc32(&s->failed);
			*ev |= PEER_EV_HS_FAILED;
			hs_recount(p);
		}
		return;
	}
	p->sent[cur] |= sent_bit(t, o->lport);
}

/* Hops from a TTL: the nearest initial value at or above it (32, 64,
 * 128, 255; what stacks start with) minus the TTL. */
static unsigned int
ttl_hops(uint8_t ttl)
{
	unsigned int init = ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ?
	    128 : 255;

	return init - ttl;
}

/*
 * Return-path evidence (Hop-Count Filtering, Jin, Wang and Shin, CCS
 * 2003): a completed handshake proves the peer saw our SYN-ACK, so its
 * hop count is the peer's own. A probe or SYN from it later that arrives
 * over a different number of hops was likely made by someone else.
 */
static void
hops_observe(struct peer *p, uint8_t ttl, unsigned int ev)
{
	unsigned int h = ttl_hops(ttl), v;

	if (ev & PEER_EV_HS_DONE) {
		p->hops = (uint8_t)(h + 1 > 255 ? 255 : h + 1);
		return;
	}
	if (p->hops == 0 || !(ev & (PEER_EV_PROBE | PEER_EV_SYN)))
		return;
	v = p->hops - 1U;
	if (h + PEERS_HOP_SLACK >= v && h <= v + PEERS_HOP_SLACK) {
		if (p->hop_ok < UINT8_MAX)
			p->hop_ok++;
	} else if (p->hop_bad < UINT8_MAX) {
		p->hop_bad++;
	}
}

void
peers_hops(const struct peer *p, struct peer_hops *ret)
{
	ret->verified = p->hops == 0 ? -1 : (int)p->hops - 1;
	ret->ok = p->hop_ok;
	ret->bad = p->hop_bad;
}

int
peers_observe(struct peers *t, const struct peer_obs *o,
    const struct peer **ret_peer, unsigned int *ret_events)
{
	struct pkey key, lkey;
	unsigned int ev = 0, cur, dir;
	struct peer *p;
	struct dset s;
	bool probe = false, has_port = false;
	uint16_t kind = 0;
	uint32_t id, g;
	uint64_t h;
	int64_t now;

	if (!addr_key(&o->peer, &key))
		return -EINVAL;
	if (o->now_ms > t->now)
		clock_set(t, o->now_ms);
	now = t->now;
	h = o->hash != 0 ? o->hash : key_hash(t->k_addr, &key);
	id = lookup(t, &key, h);
	if (id == NIL) {
		p = entry_make(t, &key, h, now, &ev);
	} else {
		p = entry(t, id);
		/* The list is ordered by last_ms, newest first. A peer
		 * already seen at now is behind only peers seen at now too,
		 * so it need not move: the order, and eviction, stay exact to
		 * the millisecond, without touching the neighbours' lines
		 * for every packet of a busy peer. */
		if (t->head != id && p->last_ms != now) {
			lru_unlink(t, p);
			lru_push(t, p, id);
		}
	}
	p->last_ms = now;
	g = t->gen;
	gen_rotate(p, g);
	cur = g & 1;
	dir = o->inbound ? 0 : 1;
	p->pkts[dir]++;
	p->bytes[dir] += o->bytes;

	switch (o->proto) {
	case IPPROTO_TCP:
		if (o->inbound) {
			probe = tcp_inbound(t, p, o, cur, &ev);
			kind = tcp_kind(o->tcp_flags);
			has_port = true;
		} else {
			tcp_outbound(t, p, o, cur, &ev);
		}
		break;
	case IPPROTO_UDP:
		if (o->inbound) {
			probe = ((p->sent[0] | p->sent[1]) &
			    sent_bit(t, o->lport)) == 0;
			kind = PEER_KIND_UDP;
			has_port = true;
			if (probe && !o->lport_open) {
				inc32(&p->udp_closed);
				ev |= PEER_EV_UDP_CLOSED;
			}
		} else {
			p->sent[cur] |= sent_bit(t, o->lport);
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (o->inbound) {
			probe = o->icmp_type == (o->proto == IPPROTO_ICMP ?
			    ICMP_ECHO : ICMP6_ECHO_REQUEST);
			kind = PEER_KIND_PING;
		} else if (o->icmp_type == (o->proto == IPPROTO_ICMP ?
		    ICMP_UNREACH : ICMP6_DST_UNREACH)) {
			inc32(&p->icmp_unreach);
			ev |= PEER_EV_UNREACH;
		}
		break;
	default:
		break;
	}

	if (probe) {
		ev |= PEER_EV_PROBE;
		p->kinds[cur] |= kind;
		if (has_port) {
			if (!o->lport_open)
				inc32(&p->closed_w[cur]);
			s = set_of(p, false);
			if (dset_add(t, &s, o->lport, now, g)) {
				ev |= PEER_EV_NEW_PORT;
				sample_push(p, o->lport);
			}
		}
		if (addr_key(&o->local, &lkey)) {
			s = set_of(p, true);
			if (dset_add(t, &s, host_hash(t, &lkey), now, g))
				ev |= PEER_EV_NEW_HOST;
		}
	}
	if (o->inbound && o->ttl != 0)
		hops_observe(p, o->ttl, ev);
	if (ret_peer != NULL)
		*ret_peer = p;
	if (ret_events != NULL)
		*ret_events = ev;
	return 0;
}

const struct peer *
peers_find(const struct peers *t, const struct addr *a)
{
	struct pkey key;
	uint32_t id;

	if (!addr_key(a, &key))
		return NULL;
	id = lookup(t, &key, key_hash(t->k_addr, &key));
	return id == NIL ? NULL : entry(t, id);
}

uint64_t
peers_prefetch(const struct peers *t, const struct addr *a, uint64_t hint,
    int step)
{
	const struct peer *p;
	struct pkey key;
	unsigned int i;
	uint32_t id;

	if (step == 0) {
		if (!addr_key(a, &key))
			return 0;
		hint = key_hash(t->k_addr, &key);
		__builtin_prefetch(&t->bucket[hint & t->mask], 0, 3);
		return hint;
	}
	/* Only the head of the chain: chains are short (at most one entry
	 * per bucket on average), and walking would wait on memory. */
	if ((id = t->bucket[hint & t->mask]) == NIL)
		return hint;
	p = entry(t, id);
	if (step == 1) {
		for (i = 0; i < t->npf; i++)
			__builtin_prefetch((const uint8_t *)p +
			    t->pf_line[i] * 64, 1, 3);
		return hint;
	}
	/* The LRU neighbours that moving p to the head will touch (if p is
	 * a's entry: not checked, a wrong guess only costs a load). */
	if (t->head == id || p->last_ms == t->now)
		return hint;
	if (p->prev != NIL)
		__builtin_prefetch(entry(t, p->prev), 1, 3);
	if (p->next != NIL)
		__builtin_prefetch(entry(t, p->next), 1, 3);
	return hint;
}

uint32_t
peers_distinct_ports(const struct peers *t, const struct peer *p,
    int64_t now_ms, bool *ret_exact)
{
	struct dset s = set_of(p, false);

	return dset_count(t, p, &s, clamp_now(t, now_ms), ret_exact);
}

size_t
peers_ports(const struct peers *t, const struct peer *p, int64_t now_ms,
    uint16_t *ret_ports, size_t max)
{
	struct dset s = set_of(p, false);
	int64_t now = clamp_now(t, now_ms);
	unsigned int i, n = *s.n;
	uint16_t tk;
	size_t k = 0;

	if (n == SKETCH || now - *s.last >= t->window)
		return 0;
	tk = tick_of(t, now);
	for (i = 0; i < n && k < max; i++)
		if ((uint16_t)(tk - *dtick(&s, i)) < t->win_ticks)
			ret_ports[k++] = (uint16_t)dkey_get(&s, i);
	return k;
}

uint32_t
peers_distinct_hosts(const struct peers *t, const struct peer *p,
    int64_t now_ms, bool *ret_exact)
{
	struct dset s = set_of(p, true);

	return dset_count(t, p, &s, clamp_now(t, now_ms), ret_exact);
}

void
peers_addr(const struct peer *p, struct addr *ret_addr)
{
	memset(ret_addr, 0, sizeof(*ret_addr));
	ret_addr->family = p->family;
	memcpy(ret_addr->u.bytes, p->addr, 16);
}

int64_t
peers_last_seen(const struct peer *p)
{
	return p->last_ms;
}

void
peers_stats(const struct peers *t, const struct peer *p, int64_t now_ms,
    struct peer_stats *ret)
{
	int64_t now = clamp_now(t, now_ms);
	uint32_t g = gen_of(t, now);
	struct peer_port tmp;
	unsigned int h, i, j;

	memset(ret, 0, sizeof(*ret));
	peers_addr(p, &ret->addr);
	ret->first_ms = p->first_ms;
	ret->last_ms = p->last_ms;
	ret->pkts_in = p->pkts[0];
	ret->pkts_out = p->pkts[1];
	ret->bytes_in = p->bytes[0];
	ret->bytes_out = p->bytes[1];
	ret->syns = p->syns;
	ret->synacks = p->synacks;
	ret->rsts = p->rsts;
	ret->udp_closed = p->udp_closed;
	ret->icmp_unreach = p->icmp_unreach;
	ret->ports = peers_distinct_ports(t, p, now, &ret->ports_exact);
	ret->hosts = peers_distinct_hosts(t, p, now, &ret->hosts_exact);
	for (h = 0; h < 2; h++) {
		if (!gen_valid(p, h, g))
			continue;
		ret->syns_window += p->syn_w[h];
		ret->closed_window += p->closed_w[h];
		ret->kinds |= p->kinds[h];
	}
	for (i = 0; i < PEERS_PORTS; i++) {
		if (!p->slot[i].used)
			continue;
		tmp.port = p->slot[i].port;
		tmp.syns = p->slot[i].syns;
		tmp.completed = p->slot[i].completed;
		tmp.failed = p->slot[i].failed;
		/* Insertion sort, most SYNs first. */
		for (j = ret->nports; j > 0 && ret->port[j - 1].syns < tmp.syns;
		    j--)
			ret->port[j] = ret->port[j - 1];
		ret->port[j] = tmp;
		ret->nports++;
	}
	ret->nsamples = p->nsample;
	memcpy(ret->sample, p->sample, sizeof(ret->sample));
}

void *
peers_user(struct peers *t, const struct peer *p)
{
	if (t->user_bytes == 0)
		return NULL;
	return (uint8_t *)(uintptr_t)p + PEERS_ENTRY_BYTES;
}

const struct peer *
peers_first(const struct peers *t)
{
	return t->head == NIL ? NULL : entry(t, t->head);
}

const struct peer *
peers_next(const struct peers *t, const struct peer *p)
{
	return p->next == NIL ? NULL : entry(t, p->next);
}

/* --- top-N ------------------------------------------------------------- */

struct rank {
	const struct peers *t;
	int64_t now;
	enum peers_sort by;
};

static uint64_t
rank_value(const struct rank *c, const struct peer *p)
{
	switch (c->by) {
	case PEERS_SORT_BYTES:
		return p->bytes[0] + p->bytes[1];
	case PEERS_SORT_PORTS:
		return peers_distinct_ports(c->t, p, c->now, NULL);
	case PEERS_SORT_SYN:
		return p->syns;
	default:
		return p->pkts[0] + p->pkts[1];
	}
}

/* Strictly lower rank: a smaller value, or the same and a higher address. */
static bool
rank_below(const struct rank *c, const struct peer *a, const struct peer *b)
{
	uint64_t va = rank_value(c, a), vb = rank_value(c, b);

	if (va != vb)
		return va < vb;
	if (a->family != b->family)
		return a->family > b->family;
	return memcmp(a->addr, b->addr, 16) > 0;
}

/* Min-heap on rank in h[0..n-1]: the lowest ranked at the root. */
static void
heap_down(const struct rank *c, const struct peer **h, size_t i, size_t n)
{
	const struct peer *tmp;
	size_t m, l;

	for (;;) {
		m = i;
		for (l = 2 * i + 1; l <= 2 * i + 2 && l < n; l++)
			if (rank_below(c, h[l], h[m]))
				m = l;
		if (m == i)
			return;
		tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

size_t
peers_top(const struct peers *t, int64_t now_ms, enum peers_sort by,
    const struct peer **ret, size_t n)
{
	struct rank c = { t, clamp_now(t, now_ms), by };
	const struct peer *p, *tmp;
	size_t k = 0, i;

	/* The first n make a heap; each later peer replaces its root (the
	 * lowest of the best n so far) if it ranks above it. */
	for (p = peers_first(t); p != NULL && k < n; p = peers_next(t, p))
		ret[k++] = p;
	for (i = k / 2; i > 0; i--)
		heap_down(&c, ret, i - 1, k);
	for (; p != NULL; p = peers_next(t, p)) {
		if (rank_below(&c, ret[0], p)) {
			ret[0] = p;
			heap_down(&c, ret, 0, k);
		}
	}
	/* Heap sort: moving each root to the end leaves it best first. */
	for (i = k; i > 1; i--) {
		tmp = ret[0];
		ret[0] = ret[i - 1];
		ret[i - 1] = tmp;
		heap_down(&c, ret, 0, i - 1);
	}
	return k;
}

static const char *const sort_names[] = { "packets", "bytes", "ports", "syn" };
static const char *const kind_names[PEER_KIND_COUNT] = {
	"syn", "null", "fin", "xmas", "ack", "maimon", "other", "udp", "ping",
};

int
peers_sort_parse(const char *name, enum peers_sort *ret_sort)
{
	int i = util_name_index(sort_names, 4, name);

	if (i < 0)
		return i;
	*ret_sort = (enum peers_sort)i;
	return 0;
}

const char *
peers_sort_name(enum peers_sort by)
{
	return (unsigned int)by < 4 ? sort_names[by] : "?";
}

const char *
peers_kind_name(unsigned int kind)
{
	unsigned int i;

	for (i = 0; i < PEER_KIND_COUNT; i++)
		if (kind == 1U << i)
			return kind_names[i];
	return "?";
}

size_t
peers_count(const struct peers *t)
{
	return t->count;
}

size_t
peers_max(const struct peers *t)
{
	return t->max;
}

uint64_t
peers_evictions(const struct peers *t)
{
	return t->evictions;
}

size_t
peers_memory_bytes(const struct peers *t)
{
	return t->memory;
}
