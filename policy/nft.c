/*
 * The nftables backend (see nft.h for the table). Messages are built with
 * libnftnl into one growing buffer, framed by NFNL_MSG_BATCH_BEGIN/END,
 * and sent with a single sendmsg: nf_tables applies a batch as one
 * transaction only if it arrives in one piece. Every message but the
 * framing asks for an acknowledgement; all of them are read back and
 * matched by sequence number before a call returns. Reading back, the
 * shape check, the counters and the change monitor are in nftread.c.
 */
#include "nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "../common/util.h"

#include "nft_int.h"

const struct nft_setdef nft_sets[S_MAX] = {
	[S_ALLOW4] = { "allow4", AF_INET, NFT_SET_INTERVAL, K_ALLOW },
	[S_ALLOW6] = { "allow6", AF_INET6, NFT_SET_INTERVAL, K_ALLOW },
	[S_BAN4] = { "ban4", AF_INET, NFT_SET_TIMEOUT, K_BAN },
	[S_BAN6] = { "ban6", AF_INET6, NFT_SET_TIMEOUT, K_BAN },
	[S_BANNET4] = { "bannet4", AF_INET,
	    NFT_SET_INTERVAL | NFT_SET_TIMEOUT, K_BAN },
	[S_BANNET6] = { "bannet6", AF_INET6,
	    NFT_SET_INTERVAL | NFT_SET_TIMEOUT, K_BAN },
	[S_DENY4] = { "deny4", AF_INET, NFT_SET_INTERVAL, K_DENY },
	[S_DENY6] = { "deny6", AF_INET6, NFT_SET_INTERVAL, K_DENY },
	[S_CONNECT4] = { "connect4", AF_INET, NFT_SET_INTERVAL, K_CONNECT },
	[S_CONNECT6] = { "connect6", AF_INET6, NFT_SET_INTERVAL, K_CONNECT },
};

const char *const nft_chains[] = { "prerouting", "output" };

/* Rules in order: the allow sets first, then every drop. */
const struct nft_ruledef nft_rules[] = {
	{ 0, S_ALLOW4, false, NF_ACCEPT }, { 0, S_ALLOW6, false, NF_ACCEPT },
	{ 0, S_BAN4, false, NF_DROP }, { 0, S_BANNET4, false, NF_DROP },
	{ 0, S_DENY4, false, NF_DROP }, { 0, S_BAN6, false, NF_DROP },
	{ 0, S_BANNET6, false, NF_DROP }, { 0, S_DENY6, false, NF_DROP },
	{ 1, S_CONNECT4, true, NF_DROP }, { 1, S_CONNECT6, true, NF_DROP },
};

/* A prefix or a merged range of one family, as set elements: start and
 * the address after the last one (end), unless it reaches the top. */
struct nft_range {
	uint8_t start[16], end[16];
	bool open;			/* no end element */
	uint64_t timeout_ms;
};

struct nft_plan {
	struct nft_range *v[S_MAX];
	size_t n[S_MAX];
};

/* --- addresses ------------------------------------------------------ */

size_t
nft_keylen(sa_family_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* A valid prefix, IPv4-mapped IPv6 as IPv4, host bits cleared. */
static int
cidr_norm(const struct cidr *in, struct cidr *out)
{
	unsigned int bits, i;

	*out = *in;
	if (in->addr.family == AF_INET6 && in->len >= 96 &&
	    IN6_IS_ADDR_V4MAPPED(&in->addr.u.v6)) {
		memset(&out->addr, 0, sizeof(out->addr));
		out->addr.family = AF_INET;
		memcpy(out->addr.u.bytes, in->addr.u.bytes + 12, 4);
		out->len = in->len - 96;
	}
	if (out->addr.family != AF_INET && out->addr.family != AF_INET6)
		return -EAFNOSUPPORT;
	bits = nft_keylen(out->addr.family) * 8;
	if (out->len > bits)
		return -EINVAL;
	for (i = out->len; i < bits; i++)
		out->addr.u.bytes[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

/* The address after the last of c; false if c reaches the top. */
static bool
cidr_after(const struct cidr *c, uint8_t *end)
{
	size_t n = nft_keylen(c->addr.family);
	unsigned int i;

	memcpy(end, c->addr.u.bytes, n);
	for (i = c->len; i < n * 8; i++)
		end[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	for (i = n; i-- > 0;)
		if (++end[i] != 0)
			return true;
	return false;
}

/* Prefix length of [start, last], or -1 if that is no prefix. */
int
nft_range_prefix(const uint8_t *start, const uint8_t *last, size_t n)
{
	unsigned int i, len;

	for (len = 0; len < n * 8; len++) {
		uint8_t m = (uint8_t)(0x80u >> (len % 8));

		if ((start[len / 8] & m) != (last[len / 8] & m))
			break;
	}
	for (i = len; i < n * 8; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));

		if ((start[i / 8] & m) || !(last[i / 8] & m))
			return -1;
	}
	return (int)len;
}

/* Does a contain all of b? */
static bool
cidr_covers(const struct cidr *a, const struct cidr *b)
{
	unsigned int i;

	if (a->addr.family != b->addr.family || a->len > b->len)
		return false;
	for (i = 0; i < a->len; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));

		if ((a->addr.u.bytes[i / 8] ^ b->addr.u.bytes[i / 8]) & m)
			return false;
	}
	return true;
}

static int
elem_cmp(const void *a, const void *b)
{
	return cidr_compare(&((const struct nft_elem *)a)->peer,
	    &((const struct nft_elem *)b)->peer);
}

static int
cidrp_cmp(const void *a, const void *b)
{
	return cidr_compare(a, b);
}

/* --- plans: what goes into which set -------------------------------- */

static void
plan_free(struct nft_plan *p)
{
	int i;

	for (i = 0; i < S_MAX; i++)
		free(p->v[i]);
	memset(p, 0, sizeof(*p));
}

static int
plan_reserve(struct nft_plan *p, int set, size_t n)
{
	struct nft_range *v;

	if (n == 0)
		return 0;
	if ((v = reallocarray(p->v[set], p->n[set] + n, sizeof(*v))) == NULL)
		return -ENOMEM;
	p->v[set] = v;
	return 0;
}

static void
plan_put(struct nft_plan *p, int set, const struct cidr *c, uint64_t ms)
{
	struct nft_range *r = &p->v[set][p->n[set]++];

	memset(r, 0, sizeof(*r));
	memcpy(r->start, c->addr.u.bytes, nft_keylen(c->addr.family));
	r->open = !cidr_after(c, r->end);
	r->timeout_ms = ms;
}

/* A later timeout wins over an earlier one; 0 (permanent) over all. */
static uint64_t
timeout_max(uint64_t a, uint64_t b)
{
	return a == 0 || b == 0 ? 0 : (a > b ? a : b);
}

/*
 * Bans: hosts into ban4/ban6, prefixes into bannet4/bannet6; a peer given
 * twice once, and a prefix inside another one given in the same call
 * folded into that one, with the longer timeout of the two (a DELSETELEM
 * of one element twice fails, and nf_tables refuses overlapping
 * intervals). The sort puts a covering prefix before what it covers.
 */
static int
plan_bans(struct nft_plan *p, const struct nft_elem *e, size_t ne)
{
	struct nft_elem *v;
	size_t i, n = 0, net = SIZE_MAX;	/* the last prefix kept */
	int r = 0;

	if (ne == 0)
		return 0;
	if ((v = calloc(ne, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < ne; i++) {
		v[i].timeout_ms = e[i].timeout_ms;
		if ((r = cidr_norm(&e[i].peer, &v[i].peer)) < 0)
			goto out;
	}
	qsort(v, ne, sizeof(*v), elem_cmp);
	for (i = 0; i < ne; i++) {
		bool host = v[i].peer.len == nft_keylen(v[i].peer.addr.family) * 8;
		struct nft_elem *into = NULL;

		if (n > 0 && cidr_compare(&v[n - 1].peer, &v[i].peer) == 0)
			into = &v[n - 1];
		else if (!host && net < n && cidr_covers(&v[net].peer,
		    &v[i].peer))
			into = &v[net];
		if (into != NULL) {
			into->timeout_ms = timeout_max(into->timeout_ms,
			    v[i].timeout_ms);
			continue;
		}
		if (!host)
			net = n;
		v[n++] = v[i];
	}
	for (i = S_BAN4; i <= S_BANNET6 && r == 0; i++)
		r = plan_reserve(p, (int)i, n);
	for (i = 0; i < n && r == 0; i++) {
		bool v4 = v[i].peer.addr.family == AF_INET;
		bool host = v[i].peer.len == nft_keylen(v[i].peer.addr.family) * 8;
		int set = host ? (v4 ? S_BAN4 : S_BAN6) :
		    (v4 ? S_BANNET4 : S_BANNET6);

		plan_put(p, set, &v[i].peer, v[i].timeout_ms);
	}
out:
	free(v);
	return r;
}

/*
 * A list into an interval set of each family: sorted, covered prefixes
 * dropped and overlapping or adjacent ones merged into one range, since
 * nf_tables refuses overlapping intervals.
 */
static int
plan_list(struct nft_plan *p, const struct cidr *c, size_t nc, int set4,
    int set6)
{
	struct cidr *v;
	size_t i;
	int r = 0;

	if (nc == 0)
		return 0;
	if ((v = calloc(nc, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nc && r == 0; i++)
		r = cidr_norm(&c[i], &v[i]);
	if (r == 0)
		r = plan_reserve(p, set4, nc);
	if (r == 0)
		r = plan_reserve(p, set6, nc);
	if (r < 0)
		goto out;
	qsort(v, nc, sizeof(*v), cidrp_cmp);
	for (i = 0; i < nc; i++) {
		int set = v[i].addr.family == AF_INET ? set4 : set6;
		size_t kl = nft_keylen(v[i].addr.family);
		struct nft_range *last = p->n[set] ?
		    &p->v[set][p->n[set] - 1] : NULL;
		struct nft_range cur;

		memcpy(cur.start, v[i].addr.u.bytes, kl);
		cur.open = !cidr_after(&v[i], cur.end);
		if (last != NULL && (last->open ||
		    memcmp(cur.start, last->end, kl) <= 0)) {
			if (cur.open || (!last->open &&
			    memcmp(cur.end, last->end, kl) > 0)) {
				memcpy(last->end, cur.end, kl);
				last->open = cur.open;
			}
			continue;
		}
		plan_put(p, set, &v[i], 0);
	}
out:
	free(v);
	return r;
}

static int
plan_lists(struct nft_plan *p, const struct nft_lists *l)
{
	int r;

	if ((r = plan_list(p, l->allow, l->nallow, S_ALLOW4, S_ALLOW6)) < 0 ||
	    (r = plan_list(p, l->deny, l->ndeny, S_DENY4, S_DENY6)) < 0 ||
	    (r = plan_list(p, l->connect, l->nconnect, S_CONNECT4,
	    S_CONNECT6)) < 0)
		return r;
	return 0;
}

/* --- batches -------------------------------------------------------- */

static void
batch_free(struct nft_batch *b)
{
	util_bigfree(b->buf, b->cap);
	free(b->ops);
	memset(b, 0, sizeof(*b));
}

static int
batch_reserve(struct nft_batch *b, size_t room)
{
	size_t cap = b->cap ? b->cap : 256 * 1024;
	char *buf;

	if (b->cap - b->len >= room)
		return 0;
	while (cap - b->len < room)
		cap *= 2;
	if ((buf = util_bigrealloc(b->buf, b->cap, cap)) == NULL)
		return -ENOMEM;
	b->buf = buf;
	b->cap = cap;
	return 0;
}

static void
batch_put(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int batch_table(struct nft_batch *b, uint16_t type);

static int
batch_begin(struct nft_batch *b, uint32_t seq)
{
	struct nlmsghdr *nlh;
	size_t first;
	int r;

	b->len = 0;
	b->nops = 0;
	b->seq0 = seq;
	if ((r = batch_reserve(b, NFT_MSG_ROOM)) < 0)
		return r;
	batch_put(b, nftnl_batch_begin(b->buf, seq));
	/* The kernel tells the committer the generation its commit made
	 * when the batch's first message asks for an echo. A batch that
	 * changes nothing (elements there already) makes none, so
	 * nft_commit counts what it is told (nft_monitor_resume). That
	 * first message is a no-op on our table, so that the echo costs
	 * no per-element events. */
	first = b->len;
	if ((r = batch_table(b, NFT_MSG_NEWTABLE)) < 0)
		return r;
	nlh = (struct nlmsghdr *)(b->buf + first);
	nlh->nlmsg_flags |= NLM_F_ECHO;
	return 0;
}

static int
batch_end(struct nft_batch *b)
{
	int r;

	if ((r = batch_reserve(b, NFT_MSG_ROOM)) < 0)
		return r;
	batch_put(b, nftnl_batch_end(b->buf + b->len,
	    b->seq0 + 1 + (uint32_t)b->nops));
	return 0;
}

/* Room for one more message of up to NFT_MSG_ROOM bytes; its header. */
static struct nlmsghdr *
batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags, int set)
{
	struct nft_op *ops;

	if (batch_reserve(b, NFT_MSG_ROOM) < 0)
		return NULL;
	if (b->nops == b->opcap) {
		size_t cap = b->opcap ? b->opcap * 2 : 64;

		if ((ops = reallocarray(b->ops, cap, sizeof(*ops))) == NULL)
			return NULL;
		b->ops = ops;
		b->opcap = cap;
	}
	b->ops[b->nops] = (struct nft_op){ .type = type, .set = (int16_t)set };
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFT_FAMILY,
	    flags | NLM_F_ACK, b->seq0 + 1 + (uint32_t)b->nops++);
}

struct nftnl_set *
nft_set_alloc(int set)
{
	struct nftnl_set *s;

	if ((s = nftnl_set_alloc()) == NULL)
		return NULL;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, nft_sets[set].name) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFT_FAMILY);
	return s;
}

/* Each element is an NFTA_LIST_ELEM, as in the kernel's dumps (libnftnl
 * numbers them 1, 2, ..., which the kernel ignores but its parser
 * refuses). */
static void
elem_put(struct nlmsghdr *nlh, struct nftnl_set_elem *e,
    const uint8_t *key, size_t kl, uint32_t flags, uint64_t timeout_ms)
{
	struct nlattr *nest;

	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)kl);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	else
		nftnl_set_elem_unset(e, NFTNL_SET_ELEM_FLAGS);
	if (timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	else
		nftnl_set_elem_unset(e, NFTNL_SET_ELEM_TIMEOUT);
	nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	nftnl_set_elem_nlmsg_build_payload(nlh, e);
	mnl_attr_nest_end(nlh, nest);
}

/*
 * NEWSETELEM or DELSETELEM of v[0..n) into set, as many messages as the
 * 64 KiB attribute limit needs; an interval's start and end elements stay
 * in one message. n == 0 with DELSETELEM flushes the set.
 */
static int
batch_elems(struct nft_batch *b, uint16_t type, int set,
    const struct nft_range *v, size_t n, bool timeouts)
{
	size_t kl = nft_keylen(nft_sets[set].family), i = 0;
	bool interval = nft_sets[set].flags & NFT_SET_INTERVAL;
	uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0;
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *s;
	int r = -ENOMEM;

	if ((s = nft_set_alloc(set)) == NULL || (e = nftnl_set_elem_alloc()) ==
	    NULL)
		goto out;
	do {
		struct nlmsghdr *nlh;
		struct nlattr *nest;

		if ((nlh = batch_msg(b, type, flags, set)) == NULL)
			goto out;
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		if (n == 0) {
			batch_put(b, nlh);
			break;
		}
		nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (; i < n && (size_t)((char *)mnl_nlmsg_get_payload_tail(nlh) -
		    (char *)nest) < NFT_NEST_MAX; i++) {
			elem_put(nlh, e, v[i].start, kl, 0,
			    timeouts ? v[i].timeout_ms : 0);
			if (interval && !v[i].open)
				elem_put(nlh, e, v[i].end, kl,
				    NFT_SET_ELEM_INTERVAL_END, 0);
		}
		mnl_attr_nest_end(nlh, nest);
		batch_put(b, nlh);
	} while (i < n);
	r = 0;
out:
	/* libnftnl's free functions do not take NULL. */
	if (e != NULL)
		nftnl_set_elem_free(e);
	if (s != NULL)
		nftnl_set_free(s);
	return r;
}

/*
 * NEWSETELEM with the timeouts. Since Linux 6.12 adding an element that
 * is there already gives it the new timeout, so this is enough for new
 * bans and longer ones (one kernel operation per element). With replace:
 * NEWSETELEM, DELSETELEM, NEWSETELEM, which also turns a permanent
 * element into a timed one and back, and works on older kernels (three
 * operations per element).
 */
static int
batch_ban_add(struct nft_batch *b, const struct nft_plan *p, bool replace)
{
	static const int sets[] = { S_BAN4, S_BAN6, S_BANNET4, S_BANNET6 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		int s = sets[i];

		if (p->n[s] == 0)
			continue;
		if (!replace) {
			if ((r = batch_elems(b, NFT_MSG_NEWSETELEM, s, p->v[s],
			    p->n[s], true)) < 0)
				return r;
			continue;
		}
		if ((r = batch_elems(b, NFT_MSG_NEWSETELEM, s, p->v[s], p->n[s],
		    false)) < 0 ||
		    (r = batch_elems(b, NFT_MSG_DELSETELEM, s, p->v[s], p->n[s],
		    false)) < 0 ||
		    (r = batch_elems(b, NFT_MSG_NEWSETELEM, s, p->v[s], p->n[s],
		    true)) < 0)
			return r;
	}
	return 0;
}

/* Flush the list sets and fill them again. */
static int
batch_lists(struct nft_batch *b, const struct nft_plan *p, bool flush)
{
	static const int sets[] = { S_ALLOW4, S_ALLOW6, S_DENY4, S_DENY6,
	    S_CONNECT4, S_CONNECT6 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		int s = sets[i];

		if (flush && (r = batch_elems(b, NFT_MSG_DELSETELEM, s, NULL, 0,
		    false)) < 0)
			return r;
		if (p->n[s] > 0 && (r = batch_elems(b, NFT_MSG_NEWSETELEM, s,
		    p->v[s], p->n[s], false)) < 0)
			return r;
	}
	return 0;
}

static int
batch_table(struct nft_batch *b, uint16_t type)
{
	struct nftnl_table *t;
	struct nlmsghdr *nlh;

	if ((t = nftnl_table_alloc()) == NULL)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFT_FAMILY);
	nlh = batch_msg(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
	    -1);
	if (nlh != NULL) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_put(b, nlh);
	}
	nftnl_table_free(t);
	return nlh != NULL ? 0 : -ENOMEM;
}

static int
batch_set(struct nft_batch *b, int set)
{
	const struct nft_setdef *d = &nft_sets[set];
	struct nlmsghdr *nlh = NULL;
	struct nftnl_set *s;

	if ((s = nft_set_alloc(set)) == NULL)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->family == AF_INET ?
	    NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, (uint32_t)nft_keylen(d->family));
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)set + 1);
	if ((nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, set)) != NULL) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		batch_put(b, nlh);
	}
	nftnl_set_free(s);
	return nlh != NULL ? 0 : -ENOMEM;
}

static int
batch_chain(struct nft_batch *b, int chain)
{
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;

	if ((c = nftnl_chain_alloc()) == NULL)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, nft_chains[chain]);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFT_FAMILY);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, chain == 0 ?
	    NF_INET_PRE_ROUTING : NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_PRIO_RAW);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	if ((nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, -1)) != NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_put(b, nlh);
	}
	nftnl_chain_free(c);
	return nlh != NULL ? 0 : -ENOMEM;
}

static int
rule_expr(struct nftnl_rule *rule, const char *name, struct nftnl_expr **ret)
{
	if ((*ret = nftnl_expr_alloc(name)) == NULL)
		return -ENOMEM;
	nftnl_rule_add_expr(rule, *ret);
	return 0;
}

/* As nft generates `ip saddr @set counter drop` in an inet table: match
 * the protocol first, then load the address and look it up. */
static int
rule_fill(struct nftnl_rule *rule, const struct nft_ruledef *d)
{
	bool v4 = nft_sets[d->set].family == AF_INET;
	uint8_t proto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	struct nftnl_expr *e;

	if (rule_expr(rule, "meta", &e) < 0)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	if (rule_expr(rule, "cmp", &e) < 0)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &proto, sizeof(proto));
	if (rule_expr(rule, "payload", &e) < 0)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
	    NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, v4 ?
	    (d->daddr ? 16 : 12) : (d->daddr ? 24 : 8));
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, v4 ? 4 : 16);
	if (rule_expr(rule, "lookup", &e) < 0)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_sets[d->set].name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)d->set + 1);
	if (d->verdict == NF_DROP) {
		if (rule_expr(rule, "counter", &e) < 0)
			return -ENOMEM;
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	}
	if (rule_expr(rule, "immediate", &e) < 0)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, d->verdict);
	return 0;
}

static int
batch_rule(struct nft_batch *b, const struct nft_ruledef *d)
{
	struct nlmsghdr *nlh;
	struct nftnl_rule *rule;
	int r;

	if ((rule = nftnl_rule_alloc()) == NULL)
		return -ENOMEM;
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, nft_chains[d->chain]);
	nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, NFT_FAMILY);
	if ((r = rule_fill(rule, d)) == 0) {
		nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
		    d->set);
		if (nlh != NULL) {
			nftnl_rule_nlmsg_build_payload(nlh, rule);
			batch_put(b, nlh);
		} else
			r = -ENOMEM;
	}
	nftnl_rule_free(rule);
	return r;
}

/* Create, delete (with all its contents) and create the table again;
 * then everything in it. */
static int
batch_setup(struct nft_batch *b, const struct nft_plan *p)
{
	size_t i;
	int r;

	if ((r = batch_table(b, NFT_MSG_NEWTABLE)) < 0 ||
	    (r = batch_table(b, NFT_MSG_DELTABLE)) < 0 ||
	    (r = batch_table(b, NFT_MSG_NEWTABLE)) < 0)
		return r;
	for (i = 0; i < S_MAX; i++)
		if ((r = batch_set(b, (int)i)) < 0)
			return r;
	for (i = 0; i < 2; i++)
		if ((r = batch_chain(b, (int)i)) < 0)
			return r;
	for (i = 0; i < NFT_NRULES; i++)
		if ((r = batch_rule(b, &nft_rules[i])) < 0)
			return r;
	if ((r = batch_lists(b, p, false)) < 0)
		return r;
	for (i = S_BAN4; i <= S_BANNET6; i++)
		if (p->n[i] > 0 && (r = batch_elems(b, NFT_MSG_NEWSETELEM,
		    (int)i, p->v[i], p->n[i], true)) < 0)
			return r;
	return 0;
}

static int
batch_copy(const struct nft_batch *b, void *buf, size_t len)
{
	if (b->len > len || b->len > INT32_MAX)
		return -ENOBUFS;
	memcpy(buf, b->buf, b->len);
	return (int)b->len;
}

int
nft_build_ban_add(const struct nft_elem *e, size_t ne, uint32_t seq,
    void *buf, size_t len)
{
	struct nft_batch b = { 0 };
	struct nft_plan p = { 0 };
	int r;

	if ((r = plan_bans(&p, e, ne)) == 0 && (r = batch_begin(&b, seq)) == 0 &&
	    (r = batch_ban_add(&b, &p, true)) == 0 &&
	    (r = batch_end(&b)) == 0)
		r = batch_copy(&b, buf, len);
	plan_free(&p);
	batch_free(&b);
	return r;
}

int
nft_build_set_lists(const struct nft_lists *l, uint32_t seq, void *buf,
    size_t len)
{
	struct nft_batch b = { 0 };
	struct nft_plan p = { 0 };
	int r;

	if ((r = plan_lists(&p, l)) == 0 && (r = batch_begin(&b, seq)) == 0 &&
	    (r = batch_lists(&b, &p, true)) == 0 && (r = batch_end(&b)) == 0)
		r = batch_copy(&b, buf, len);
	plan_free(&p);
	batch_free(&b);
	return r;
}

/* --- the socket ----------------------------------------------------- */

int
nft_fail(struct nft *n, int r, const char *what, const char *name)
{
	snprintf(n->err, sizeof(n->err), "%s%s%s: %s", what,
	    name ? " " : "", name ? name : "", strerror(-r));
	return r;
}

static const char *
op_verb(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return "create table inet " NFT_TABLE_NAME;
	case NFT_MSG_DELTABLE:
		return "delete table inet " NFT_TABLE_NAME;
	case NFT_MSG_NEWSET:
		return "create set";
	case NFT_MSG_NEWCHAIN:
		return "create chain";
	case NFT_MSG_NEWRULE:
		return "add rule for set";
	case NFT_MSG_NEWSETELEM:
		return "add elements to set";
	case NFT_MSG_DELSETELEM:
		return "delete elements from set";
	default:
		return "nf_tables request";
	}
}

/* SO_*BUFFORCE needs CAP_NET_ADMIN; without it, ask for what the
 * sysctl maximum allows. */
static int
sock_buf(struct nft *n, int force, int plain, int want, int *cur)
{
	int fd = mnl_socket_get_fd(n->nl);

	if (want <= *cur)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof(want)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, plain, &want, sizeof(want)) < 0)
		return -errno;
	*cur = want;
	return 0;
}

/* The kernel takes a batch only whole, in one sendmsg no longer than the
 * send buffer; the acknowledgements all queue before it returns. */
static int
nft_sizes(struct nft *n, size_t len, size_t nacks)
{
	size_t rcv = nacks * NFT_ACK_COST + NFT_RCVBUF_MIN;
	int r;

	if (len > INT32_MAX / 2 || rcv > INT32_MAX / 2)
		return -EMSGSIZE;
	if ((r = sock_buf(n, SO_SNDBUFFORCE, SO_SNDBUF, (int)len + 4096,
	    &n->sndbuf)) < 0)
		return r;
	return sock_buf(n, SO_RCVBUFFORCE, SO_RCVBUF, (int)rcv, &n->rcvbuf);
}

/* After a lost acknowledgement: throw away whatever is still queued, so
 * that the next request starts clean (stale sequence numbers would be
 * ignored anyway). */
void
nft_drain(struct nft *n)
{
	int fd = mnl_socket_get_fd(n->nl);

	while (recv(fd, n->rbuf, NFT_RBUF_SIZE, MSG_DONTWAIT) > 0 ||
	    errno == ENOBUFS || errno == EINTR)
		;
}

bool
nft_msgs_ok(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh;
	size_t off = 0, step;

	while (len - off >= sizeof(*nlh)) {
		nlh = (const void *)((const char *)buf + off);
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			return false;
		step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len - off)
			break;
		off += step;
	}
	return true;
}

ssize_t
nft_recv(struct nft *n)
{
	ssize_t len;

	do
		len = recv(mnl_socket_get_fd(n->nl), n->rbuf, NFT_RBUF_SIZE, 0);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return len;
}

/*
 * Send the batch and read one acknowledgement per message. nfnetlink
 * answers every message even when an earlier one failed (and then
 * rejects the whole batch), so the first error in sequence order is the
 * one to report; an error for the BATCH_BEGIN sequence (e.g. EPERM,
 * ENOMEM) means the batch as a whole was refused and nothing else comes.
 */
static int
nft_commit(struct nft *n)
{
	struct nft_batch *b = &n->b;
	size_t got = 0, bad = 0;
	uint32_t gens = 0;
	int r, err = 0;

	if ((r = batch_end(b)) < 0)
		return nft_fail(n, r, "build batch", NULL);
	n->seq = b->seq0 + (uint32_t)b->nops + 2;
	if ((r = nft_sizes(n, b->len, b->nops)) < 0)
		return nft_fail(n, r, "socket buffers", NULL);
	if (mnl_socket_sendto(n->nl, b->buf, b->len) < 0)
		return nft_fail(n, -errno, "send batch", NULL);
	while (got < b->nops) {
		ssize_t len = nft_recv(n);
		const struct nlmsghdr *nlh = (const void *)n->rbuf;
		int left = (int)len;

		if (len < 0) {
			if (len == -ENOBUFS)
				nft_drain(n);
			return nft_fail(n, (int)len, "read acknowledgements",
			    NULL);
		}
		if (!nft_msgs_ok(n->rbuf, (size_t)len))
			return nft_fail(n, -EBADMSG, "read acknowledgements",
			    NULL);
		for (; mnl_nlmsg_ok(nlh, left);
		    nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			uint32_t i = nlh->nlmsg_seq - b->seq0;

			/* Echoed (batch_begin) before the acknowledgements,
			 * as the commit sends it. */
			if (nlh->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 |
			    NFT_MSG_NEWGEN))
				gens++;
			if (nlh->nlmsg_type != NLMSG_ERROR || i > b->nops)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				return nft_fail(n, -EBADMSG,
				    "read acknowledgements", NULL);
			if (i == 0)
				return nft_fail(n, e->error < 0 ? e->error :
				    -EPROTO, "nf_tables batch", NULL);
			got++;
			if (e->error < 0 && (err == 0 || i - 1 < bad)) {
				err = e->error;
				bad = i - 1;
			}
		}
	}
	if (err < 0) {
		const struct nft_op *op = &b->ops[bad];

		nft_fail(n, err, op_verb(op->type), op->set >= 0 ?
		    nft_sets[op->set].name : NULL);
		/* The usual reason, which strerror does not tell. */
		if (err == -EEXIST && op->type == NFT_MSG_NEWSETELEM &&
		    (nft_sets[op->set].flags & NFT_SET_INTERVAL))
			strncat(n->err, " (overlaps a prefix in the set)",
			    sizeof(n->err) - strlen(n->err) - 1);
		return err;
	}
	n->commits += gens;
	return 0;
}

int
nft_open(struct nft **ret_nft)
{
	struct timeval tv = { .tv_sec = NFT_TIMEOUT_S };
	struct nft *n;
	socklen_t sl = sizeof(int);
	int one = 1, r, fd;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	if ((n->rbuf = malloc(NFT_RBUF_SIZE)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if ((n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	fd = mnl_socket_get_fd(n->nl);
	n->portid = mnl_socket_get_portid(n->nl);
	/* Errors need not echo our (up to 64 KiB) message back. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
	    sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n->sndbuf, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n->rcvbuf, &sl) < 0) {
		r = -errno;
		goto fail;
	}
	/* The kernel reports twice what it was asked for. */
	n->sndbuf /= 2;
	n->rcvbuf /= 2;
	n->seq = (uint32_t)time(NULL);
	*ret_nft = n;
	return 0;
fail:
	nft_close(n);
	return r;
}

void
nft_close(struct nft *n)
{
	if (n == NULL)
		return;
	if (n->nl != NULL)
		mnl_socket_close(n->nl);
	batch_free(&n->b);
	free(n->rbuf);
	free(n);
}

const char *
nft_error(const struct nft *n)
{
	return n->err[0] ? n->err : "no error";
}

/* Keep a huge batch's buffer only while it is in use. */
static void
nft_trim(struct nft *n)
{
	if (n->b.cap > 4 * 1024 * 1024)
		batch_free(&n->b);
}

int
nft_setup(struct nft *n, const struct nft_lists *l,
    const struct nft_elem *bans, size_t nbans)
{
	struct nft_plan p = { 0 };
	int r;

	if ((r = plan_lists(&p, l)) < 0 || (r = plan_bans(&p, bans,
	    nbans)) < 0 || (r = batch_begin(&n->b, n->seq)) < 0 ||
	    (r = batch_setup(&n->b, &p)) < 0)
		r = nft_fail(n, r, "build table", NULL);
	else
		r = nft_commit(n);
	plan_free(&p);
	nft_trim(n);
	return r;
}

int
nft_set_lists(struct nft *n, const struct nft_lists *l)
{
	struct nft_plan p = { 0 };
	int r;

	if ((r = plan_lists(&p, l)) < 0 || (r = batch_begin(&n->b,
	    n->seq)) < 0 || (r = batch_lists(&n->b, &p, true)) < 0)
		r = nft_fail(n, r, "build lists", NULL);
	else
		r = nft_commit(n);
	plan_free(&p);
	nft_trim(n);
	return r;
}

/* A batch that changes nothing but the kernel runs under the lock a
 * commit holds until its events are sent: once it is answered, every
 * commit before it has been heard. */
int
nft_sync(struct nft *n)
{
	int r;

	if ((r = batch_begin(&n->b, n->seq)) < 0)
		return nft_fail(n, r, "build sync", NULL);
	return nft_commit(n);
}

int
nft_remove(struct nft *n)
{
	int r;

	/* Create (a no-op if it is there) then delete: never ENOENT. */
	if ((r = batch_begin(&n->b, n->seq)) < 0 ||
	    (r = batch_table(&n->b, NFT_MSG_NEWTABLE)) < 0 ||
	    (r = batch_table(&n->b, NFT_MSG_DELTABLE)) < 0)
		r = nft_fail(n, r, "build table removal", NULL);
	else
		r = nft_commit(n);
	nft_trim(n);
	return r;
}

static int
ban_add(struct nft *n, const struct nft_elem *e, size_t ne, bool replace)
{
	struct nft_plan p = { 0 };
	int r;

	if (ne == 0)
		return 0;
	if ((r = plan_bans(&p, e, ne)) < 0 || (r = batch_begin(&n->b,
	    n->seq)) < 0 || (r = batch_ban_add(&n->b, &p, replace)) < 0)
		r = nft_fail(n, r, "build bans", NULL);
	else
		r = nft_commit(n);
	plan_free(&p);
	nft_trim(n);
	return r;
}

int
nft_ban_add(struct nft *n, const struct nft_elem *e, size_t ne)
{
	return ban_add(n, e, ne, false);
}

int
nft_ban_replace(struct nft *n, const struct nft_elem *e, size_t ne)
{
	return ban_add(n, e, ne, true);
}

/* NEWSETELEM (so that it exists) then DELSETELEM. */
int
nft_ban_del(struct nft *n, const struct cidr *c, size_t nc)
{
	struct nft_plan p = { 0 };
	struct nft_elem *e;
	size_t i;
	int r, s;

	if (nc == 0)
		return 0;
	if ((e = calloc(nc, sizeof(*e))) == NULL)
		return nft_fail(n, -ENOMEM, "build unbans", NULL);
	for (i = 0; i < nc; i++)
		e[i].peer = c[i];
	r = plan_bans(&p, e, nc);
	free(e);
	if (r == 0)
		r = batch_begin(&n->b, n->seq);
	for (s = S_BAN4; s <= S_BANNET6 && r == 0; s++)
		if (p.n[s] > 0 && (r = batch_elems(&n->b, NFT_MSG_NEWSETELEM, s,
		    p.v[s], p.n[s], false)) == 0)
			r = batch_elems(&n->b, NFT_MSG_DELSETELEM, s, p.v[s],
			    p.n[s], false);
	r = r < 0 ? nft_fail(n, r, "build unbans", NULL) : nft_commit(n);
	plan_free(&p);
	nft_trim(n);
	return r;
}
