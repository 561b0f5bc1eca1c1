/*
 * The nftables backend's read side (see nft.h): the ban sets read back,
 * the table's shape checked, the drop counters, and the monitor of the
 * kernel's change events. Requests are single messages (or dumps) on the
 * handle's socket; nothing here changes the table.
 */
#include "nft_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "../common/util.h"

struct nft_monitor {
	struct mnl_socket *nl;
	char *rbuf;
	bool pending;			/* a deletion, its generation not seen */
	bool paused;			/* left the group (pause) */
	uint32_t gen, commits;		/* then: the rule set's, n's */
};

/* --- requests and dumps --------------------------------------------- */

/*
 * One request, its answers passed to cb until the final ack or DONE. A
 * dump that the kernel marks interrupted (the rule set changed under it)
 * comes back as -EINTR and is asked for again by the caller.
 */
static int
nft_request(struct nft *n, uint16_t type, uint16_t flags,
    void (*payload)(struct nlmsghdr *, const void *), const void *obj,
    mnl_cb_t cb, void *data)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t seq = n->seq++;
	ssize_t len;
	int r;

	nlh = nftnl_nlmsg_build_hdr(req, type, NFT_FAMILY, flags, seq);
	payload(nlh, obj);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		if ((len = nft_recv(n)) < 0) {
			if (len == -ENOBUFS)
				nft_drain(n);
			return (int)len;
		}
		if (atomic_load(&n->cancelled))
			return nft_fail(n, -ECANCELED, "reading", NULL);
		if (!nft_msgs_ok(n->rbuf, (size_t)len)) {
			nft_drain(n);
			return -EBADMSG;
		}
		errno = 0;
		r = mnl_cb_run(n->rbuf, (size_t)len, seq, n->portid, cb, data);
	} while (r > MNL_CB_STOP);
	if (r < 0) {
		r = errno ? -errno : -EPROTO;
		if (r == -EINTR)
			nft_drain(n);
	}
	return r;
}

void
nft_cancel(struct nft *n)
{
	atomic_store(&n->cancelled, true);
}

static void
table_payload(struct nlmsghdr *nlh, const void *obj)
{
	nftnl_table_nlmsg_build_payload(nlh, obj);
}

static void
set_payload(struct nlmsghdr *nlh, const void *obj)
{
	nftnl_set_nlmsg_build_payload(nlh, (struct nftnl_set *)obj);
}

static void
elems_payload(struct nlmsghdr *nlh, const void *obj)
{
	nftnl_set_elems_nlmsg_build_payload(nlh, (struct nftnl_set *)obj);
}

static void
chain_payload(struct nlmsghdr *nlh, const void *obj)
{
	nftnl_chain_nlmsg_build_payload(nlh, obj);
}

static void
rule_payload(struct nlmsghdr *nlh, const void *obj)
{
	nftnl_rule_nlmsg_build_payload(nlh, (struct nftnl_rule *)obj);
}

static void
no_payload(struct nlmsghdr *nlh, const void *obj)
{
	(void)nlh;
	(void)obj;
}

/* A dump of objects of our table, retried while interrupted. */
static int
nft_dump(struct nft *n, uint16_t type,
    void (*payload)(struct nlmsghdr *, const void *), const void *obj,
    mnl_cb_t cb, void *data, void (*reset)(void *))
{
	int r, i;

	for (i = 0; i < NFT_DUMP_TRIES; i++) {
		r = nft_request(n, type, NLM_F_DUMP, payload, obj, cb, data);
		if (r != -EINTR)
			break;
		if (reset != NULL)
			reset(data);
	}
	return r;
}

static int
noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/* --- parsing what the kernel sent ---------------------------------- */

/*
 * The read side takes the few attributes it needs itself, each validated
 * into a tb[] table before it is read, rather than through libnftnl's
 * parsers, which trust the message: libnftnl 1.2.4 reads the name of an
 * expression that has none (a NULL dereference, found by
 * tests/fuzz/fuzz_nftread) and strdup()s names that need not end in NUL.
 */
struct attr_want {
	const uint8_t *types;		/* enum mnl_attr_data_type by type;
					 * MNL_TYPE_UNSPEC: not wanted */
	int max;
	const struct nlattr **tb;	/* max + 1 */
};

static int
attr_cb(const struct nlattr *a, void *data)
{
	const struct attr_want *w = data;
	int type = mnl_attr_get_type(a);

	if (type > w->max || w->types[type] == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, w->types[type]) < 0)
		return MNL_CB_ERROR;
	w->tb[type] = a;
	return MNL_CB_OK;
}

/* A nest's (or, nest NULL, a message's) attributes into tb. 0 or
 * -EBADMSG. */
static int
attrs_parse(const struct nlmsghdr *nlh, const struct nlattr *nest,
    const uint8_t *types, int max, const struct nlattr **tb)
{
	struct attr_want w = { types, max, tb };
	int r;

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	if (nest != NULL)
		r = mnl_attr_parse_nested(nest, attr_cb, &w);
	else if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		r = MNL_CB_ERROR;
	else
		r = mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &w);
	return r < 0 ? -EBADMSG : 0;
}

static uint64_t
attr_u64(const struct nlattr *a)
{
	return be64toh(mnl_attr_get_u64(a));
}

struct nft_key {
	uint8_t key[16];
	bool end;
	uint64_t left_ms;		/* 0: permanent */
};

struct nft_keys {
	struct nft_key *v;
	size_t n, cap;
	size_t kl;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct nft_key *x = a, *y = b;
	int r = memcmp(x->key, y->key, sizeof(x->key));

	/* At one address an interval's end sorts before the next start. */
	return r != 0 ? r : (int)y->end - (int)x->end;
}

/* One NFTA_LIST_ELEM of a set element message. */
static int
keys_add(struct nft_keys *k, const struct nlattr *elem)
{
	static const uint8_t etypes[NFTA_SET_ELEM_EXPIRATION + 1] = {
		[NFTA_SET_ELEM_KEY] = MNL_TYPE_NESTED,
		[NFTA_SET_ELEM_FLAGS] = MNL_TYPE_U32,
		[NFTA_SET_ELEM_TIMEOUT] = MNL_TYPE_U64,
		[NFTA_SET_ELEM_EXPIRATION] = MNL_TYPE_U64,
	};
	static const uint8_t dtypes[NFTA_DATA_VALUE + 1] = {
		[NFTA_DATA_VALUE] = MNL_TYPE_BINARY,
	};
	const struct nlattr *tb[NFTA_SET_ELEM_EXPIRATION + 1];
	const struct nlattr *key[NFTA_DATA_VALUE + 1];
	struct nft_key *v;

	if (attrs_parse(NULL, elem, etypes, NFTA_SET_ELEM_EXPIRATION, tb) < 0 ||
	    (tb[NFTA_SET_ELEM_KEY] != NULL && attrs_parse(NULL,
	    tb[NFTA_SET_ELEM_KEY], dtypes, NFTA_DATA_VALUE, key) < 0))
		return -EBADMSG;
	if (tb[NFTA_SET_ELEM_KEY] == NULL || key[NFTA_DATA_VALUE] == NULL ||
	    mnl_attr_get_payload_len(key[NFTA_DATA_VALUE]) != k->kl)
		return 0;		/* not one of ours */
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;

		if ((v = reallocarray(k->v, cap, sizeof(*v))) == NULL)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	v = &k->v[k->n++];
	memset(v, 0, sizeof(*v));
	memcpy(v->key, mnl_attr_get_payload(key[NFTA_DATA_VALUE]), k->kl);
	v->end = tb[NFTA_SET_ELEM_FLAGS] != NULL &&
	    (ntohl(mnl_attr_get_u32(tb[NFTA_SET_ELEM_FLAGS])) &
	    NFT_SET_ELEM_INTERVAL_END);
	if (tb[NFTA_SET_ELEM_EXPIRATION] != NULL)
		v->left_ms = attr_u64(tb[NFTA_SET_ELEM_EXPIRATION]);
	if (v->left_ms == 0 && tb[NFTA_SET_ELEM_TIMEOUT] != NULL &&
	    attr_u64(tb[NFTA_SET_ELEM_TIMEOUT]) > 0)
		v->left_ms = 1;		/* expiring now, not permanent */
	return 0;
}

/* One message of a set element dump, its elements into the nft_keys. */
static int
elems_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint8_t types[NFTA_SET_ELEM_LIST_ELEMENTS + 1] = {
		[NFTA_SET_ELEM_LIST_ELEMENTS] = MNL_TYPE_NESTED,
	};
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_ELEMENTS + 1], *e;
	int r;

	if (attrs_parse(nlh, NULL, types, NFTA_SET_ELEM_LIST_ELEMENTS,
	    tb) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (tb[NFTA_SET_ELEM_LIST_ELEMENTS] == NULL)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(e, tb[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		if (mnl_attr_get_type(e) != NFTA_LIST_ELEM)
			continue;
		if ((r = keys_add(data, e)) < 0) {
			errno = -r;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
}

struct nft_out {
	struct nft_elem *v;
	size_t n, cap;
};

static int
out_push(struct nft_out *o, sa_family_t family, const uint8_t *key,
    unsigned int len, uint64_t left_ms)
{
	struct nft_elem *v;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;

		if ((v = reallocarray(o->v, cap, sizeof(*v))) == NULL)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	v = &o->v[o->n++];
	memset(v, 0, sizeof(*v));
	addr_from_raw(&v->peer.addr, family, key);
	v->peer.len = len;
	v->timeout_ms = left_ms;
	return 0;
}

/* Pair each interval start with the end after it (if any: open to the
 * top of the address space otherwise) and turn the pair into a prefix. */
static int
keys_to_elems(struct nft_keys *k, sa_family_t family, bool interval,
    struct nft_out *o)
{
	uint8_t last[16];
	size_t i, j;
	int r, len;

	if (k->n > 1)
		qsort(k->v, k->n, sizeof(*k->v), key_cmp);
	for (i = 0; i < k->n; i++) {
		if (k->v[i].end)
			continue;
		if (!interval) {
			len = (int)k->kl * 8;
		} else {
			if (i + 1 < k->n && k->v[i + 1].end) {
				memcpy(last, k->v[i + 1].key, k->kl);
				for (j = k->kl; j-- > 0;)
					if (last[j]-- != 0)
						break;
			} else
				memset(last, 0xff, k->kl);
			if ((len = nft_range_prefix(k->v[i].key, last, k->kl)) < 0)
				continue;	/* a range, not ours */
		}
		if ((r = out_push(o, family, k->v[i].key, (unsigned int)len,
		    k->v[i].left_ms)) < 0)
			return r;
	}
	return 0;
}

static int
list_set(struct nft *n, int set, struct nft_out *o)
{
	struct nft_keys k = { .kl = nft_keylen(nft_sets[set].family) };
	struct nftnl_set *s;
	int r, i;

	if ((s = nft_set_alloc(set)) == NULL)
		return -ENOMEM;
	for (i = 0; i < NFT_DUMP_TRIES; i++) {
		k.n = 0;
		r = nft_request(n, NFT_MSG_GETSETELEM, NLM_F_DUMP, elems_payload,
		    s, elems_cb, &k);
		if (r != -EINTR)
			break;
	}
	nftnl_set_free(s);
	if (r == 0)
		r = keys_to_elems(&k, nft_sets[set].family,
		    nft_sets[set].flags & NFT_SET_INTERVAL, o);
	free(k.v);
	return r;
}

/* What nft_request does with the answers, minus the socket. */
static int
nft_parse(const void *buf, size_t len, mnl_cb_t cb, void *data)
{
	int r;

	if (!nft_msgs_ok(buf, len))
		return -EBADMSG;
	errno = 0;
	r = mnl_cb_run(buf, len, 0, 0, cb, data);
	if (r < 0)
		return errno ? -errno : -EPROTO;
	return 0;
}

int
nft_elems_parse(int set, const void *buf, size_t len, struct nft_elem **ret,
    size_t *ret_n)
{
	struct nft_keys k = { 0 };
	struct nft_out o = { 0 };
	int r;

	if (set < 0 || set >= S_MAX)
		return -EINVAL;
	k.kl = nft_keylen(nft_sets[set].family);
	if ((r = nft_parse(buf, len, elems_cb, &k)) == 0)
		r = keys_to_elems(&k, nft_sets[set].family,
		    nft_sets[set].flags & NFT_SET_INTERVAL, &o);
	free(k.v);
	if (r < 0) {
		free(o.v);
		return r;
	}
	*ret = o.v;
	*ret_n = o.n;
	return 0;
}

int
nft_ban_list(struct nft *n, struct nft_elem **ret, size_t *ret_n)
{
	struct nft_out o = { 0 };
	int r = 0, s;

	for (s = S_BAN4; s <= S_BANNET6 && r == 0; s++)
		if ((r = list_set(n, s, &o)) < 0)
			nft_fail(n, r, "list set", nft_sets[s].name);
	if (r < 0) {
		free(o.v);
		return r;
	}
	*ret = o.v;
	*ret_n = o.n;
	return 0;
}

/* One expression of a rule: the set a lookup names, a counter's packets.
 * Expressions of other kinds are skipped. */
static int
rule_expr(const struct nlattr *e, const char **set, uint64_t *packets)
{
	static const uint8_t types[NFTA_EXPR_DATA + 1] = {
		[NFTA_EXPR_NAME] = MNL_TYPE_NUL_STRING,
		[NFTA_EXPR_DATA] = MNL_TYPE_NESTED,
	};
	static const uint8_t ltypes[NFTA_LOOKUP_SET + 1] = {
		[NFTA_LOOKUP_SET] = MNL_TYPE_NUL_STRING,
	};
	static const uint8_t ctypes[NFTA_COUNTER_PACKETS + 1] = {
		[NFTA_COUNTER_PACKETS] = MNL_TYPE_U64,
	};
	const struct nlattr *tb[NFTA_EXPR_DATA + 1];
	const struct nlattr *lk[NFTA_LOOKUP_SET + 1];
	const struct nlattr *ct[NFTA_COUNTER_PACKETS + 1];
	const char *name;

	if (attrs_parse(NULL, e, types, NFTA_EXPR_DATA, tb) < 0)
		return -EBADMSG;
	if (tb[NFTA_EXPR_NAME] == NULL || tb[NFTA_EXPR_DATA] == NULL)
		return 0;
	name = mnl_attr_get_str(tb[NFTA_EXPR_NAME]);
	if (strcmp(name, "lookup") == 0) {
		if (attrs_parse(NULL, tb[NFTA_EXPR_DATA], ltypes,
		    NFTA_LOOKUP_SET, lk) < 0)
			return -EBADMSG;
		if (lk[NFTA_LOOKUP_SET] != NULL)
			*set = mnl_attr_get_str(lk[NFTA_LOOKUP_SET]);
	} else if (strcmp(name, "counter") == 0) {
		if (attrs_parse(NULL, tb[NFTA_EXPR_DATA], ctypes,
		    NFTA_COUNTER_PACKETS, ct) < 0)
			return -EBADMSG;
		if (ct[NFTA_COUNTER_PACKETS] != NULL)
			*packets += attr_u64(ct[NFTA_COUNTER_PACKETS]);
	}
	return 0;
}

/* Count the rule if it is one of ours: chain and the set it looks up. */
static void
rule_count(struct nft_ruleinfo *ri, const char *chain, const char *set,
    uint64_t packets)
{
	size_t i;

	for (i = 0; i < NFT_NRULES; i++) {
		const struct nft_ruledef *d = &nft_rules[i];

		if (strcmp(chain, nft_chains[d->chain]) != 0 ||
		    strcmp(set, nft_sets[d->set].name) != 0)
			continue;
		ri->found[i]++;
		switch (nft_sets[d->set].kind) {
		case K_BAN:
			ri->c.ban_packets += packets;
			break;
		case K_DENY:
			ri->c.deny_packets += packets;
			break;
		case K_CONNECT:
			ri->c.connect_packets += packets;
			break;
		case K_ALLOW:
			break;
		}
		return;
	}
}

static int
rules_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint8_t types[NFTA_RULE_EXPRESSIONS + 1] = {
		[NFTA_RULE_CHAIN] = MNL_TYPE_NUL_STRING,
		[NFTA_RULE_EXPRESSIONS] = MNL_TYPE_NESTED,
	};
	const struct nlattr *tb[NFTA_RULE_EXPRESSIONS + 1], *e;
	const char *set = NULL;
	uint64_t packets = 0;

	if (attrs_parse(nlh, NULL, types, NFTA_RULE_EXPRESSIONS, tb) < 0)
		goto bad;
	if (tb[NFTA_RULE_CHAIN] == NULL || tb[NFTA_RULE_EXPRESSIONS] == NULL)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(e, tb[NFTA_RULE_EXPRESSIONS]) {
		if (mnl_attr_get_type(e) == NFTA_LIST_ELEM &&
		    rule_expr(e, &set, &packets) < 0)
			goto bad;
	}
	if (set != NULL)
		rule_count(data, mnl_attr_get_str(tb[NFTA_RULE_CHAIN]), set,
		    packets);
	return MNL_CB_OK;
bad:
	errno = EBADMSG;
	return MNL_CB_ERROR;
}

static void
ruleinfo_reset(void *data)
{
	memset(data, 0, sizeof(struct nft_ruleinfo));
}

int
nft_rules_parse(const void *buf, size_t len, struct nft_ruleinfo *ri)
{
	memset(ri, 0, sizeof(*ri));
	return nft_parse(buf, len, rules_cb, ri);
}

static int
nft_rules_read(struct nft *n, struct nft_ruleinfo *ri)
{
	struct nftnl_rule *rule;
	int r;

	memset(ri, 0, sizeof(*ri));
	if ((rule = nftnl_rule_alloc()) == NULL)
		return -ENOMEM;
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, NFT_FAMILY);
	r = nft_dump(n, NFT_MSG_GETRULE, rule_payload, rule, rules_cb, ri,
	    ruleinfo_reset);
	nftnl_rule_free(rule);
	return r;
}

int
nft_counters(struct nft *n, struct nft_counters *ret)
{
	struct nft_ruleinfo ri;
	int r;

	if ((r = nft_rules_read(n, &ri)) < 0)
		return nft_fail(n, r, "list rules of table inet",
		    NFT_TABLE_NAME);
	*ret = ri.c;
	return 0;
}

/* Does the object exist? 1, 0 or -errno. */
static int
nft_exists(struct nft *n, uint16_t type,
    void (*payload)(struct nlmsghdr *, const void *), const void *obj)
{
	int r = nft_request(n, type, NLM_F_ACK, payload, obj, noop_cb, NULL);

	return r == -ENOENT ? 0 : (r < 0 ? r : 1);
}

static int
check_objects(struct nft *n)
{
	struct nftnl_table *t = NULL;
	struct nftnl_chain *c = NULL;
	struct nftnl_set *s;
	int r = -ENOMEM, i;

	if ((t = nftnl_table_alloc()) == NULL)
		goto out;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	if ((r = nft_exists(n, NFT_MSG_GETTABLE, table_payload, t)) != 1)
		goto out;
	for (i = 0; i < S_MAX && r == 1; i++) {
		if ((s = nft_set_alloc(i)) == NULL) {
			r = -ENOMEM;
			goto out;
		}
		r = nft_exists(n, NFT_MSG_GETSET, set_payload, s);
		nftnl_set_free(s);
	}
	if (r != 1 || (c = nftnl_chain_alloc()) == NULL)
		goto out;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	for (i = 0; i < 2 && r == 1; i++) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, nft_chains[i]);
		r = nft_exists(n, NFT_MSG_GETCHAIN, chain_payload, c);
	}
out:
	if (c != NULL)
		nftnl_chain_free(c);
	if (t != NULL)
		nftnl_table_free(t);
	return r;
}

int
nft_check(struct nft *n)
{
	struct nft_ruleinfo ri;
	size_t i;
	int r;

	if ((r = check_objects(n)) != 1) {
		if (r < 0)
			nft_fail(n, r, "check table inet", NFT_TABLE_NAME);
		return r;
	}
	if ((r = nft_rules_read(n, &ri)) < 0)
		return r == -ENOENT ? 0 : nft_fail(n, r,
		    "list rules of table inet", NFT_TABLE_NAME);
	for (i = 0; i < NFT_NRULES; i++)
		if (ri.found[i] != 1)
			return 0;
	return 1;
}

/* --- the monitor ---------------------------------------------------- */

int
nft_monitor_open(struct nft_monitor **ret_mon)
{
	struct nft_monitor *m;
	int grp = NFNLGRP_NFTABLES, sz = 8 * 1024 * 1024, fd, r;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	if ((m->rbuf = malloc(NFT_RBUF_SIZE)) == NULL) {
		free(m);
		return -ENOMEM;
	}
	if ((m->nl = mnl_socket_open2(NETLINK_NETFILTER,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &grp,
	    sizeof(grp)) < 0) {
		r = -errno;
		nft_monitor_close(m);
		return r;
	}
	/* Room for a burst of events (one ban batch of ours makes three per
	 * element); overflowing is reported as a change. */
	fd = mnl_socket_get_fd(m->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	*ret_mon = m;
	return 0;
}

void
nft_monitor_close(struct nft_monitor *m)
{
	if (m == NULL)
		return;
	if (m->nl != NULL)
		mnl_socket_close(m->nl);
	free(m->rbuf);
	free(m);
}

int
nft_monitor_fd(const struct nft_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* Attribute 1 of every object is its table's name. */
static bool
event_ours(const struct nlmsghdr *nlh)
{
	static const char name[] = NFT_TABLE_NAME;
	const struct nfgenmsg *g;
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)))
		return false;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != NFT_FAMILY)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		const char *s;
		size_t len;

		if (mnl_attr_get_type(a) != NFTA_TABLE_NAME)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
			return false;
		s = mnl_attr_get_payload(a);
		len = mnl_attr_get_payload_len(a);
		while (len > 0 && s[len - 1] == '\0')
			len--;
		return len == sizeof(name) - 1 && memcmp(s, name, len) == 0;
	}
	return false;
}

/* The process that made a generation, or 0 if the kernel did not say. */
static uint32_t
event_pid(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_GEN_PROC_PID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			return ntohl(mnl_attr_get_u32(a));
	}
	return 0;
}

/*
 * The events of one transaction arrive together, followed by its NEWGEN,
 * which names the process (the thread, strictly) that committed it: a
 * deletion is remembered until then and counts only if that was not us.
 */
static void
monitor_event(bool *pending, const struct nlmsghdr *nlh, bool *changed)
{
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return;
	switch (type) {
	case NFT_MSG_DELTABLE:
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_DELRULE:
	case NFT_MSG_DELSET:
	case NFT_MSG_DELSETELEM:
		if (event_ours(nlh))
			*pending = true;
		break;
	case NFT_MSG_NEWGEN:
		if (*pending && event_pid(nlh) != (uint32_t)getpid())
			*changed = true;
		*pending = false;
		break;
	default:
		if (type >= NFT_MSG_DESTROYTABLE_ &&
		    type <= NFT_MSG_DESTROYSETELEM_ && event_ours(nlh))
			*pending = true;
		break;
	}
}

void
nft_events_parse(const void *buf, size_t len, bool *pending, bool *changed)
{
	const struct nlmsghdr *nlh = buf;
	int left;

	if (!nft_msgs_ok(buf, len)) {
		/* Not from the kernel we know: assume the worst. */
		*changed = true;
		*pending = false;
		return;
	}
	for (left = (int)len; mnl_nlmsg_ok(nlh, left);
	    nlh = mnl_nlmsg_next(nlh, &left))
		monitor_event(pending, nlh, changed);
}

struct gen_reply {
	uint32_t id;
	bool seen;
};

static int
gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gen_reply *g = data;
	const struct nlattr *a;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_GEN_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			g->id = ntohl(mnl_attr_get_u32(a));
			g->seen = true;
		}
	}
	return MNL_CB_OK;
}

/* The rule set's generation, which every commit moves by one. */
static int
nft_gen(struct nft *n, uint32_t *ret_gen)
{
	struct gen_reply g = { 0, false };
	int r;

	if ((r = nft_request(n, NFT_MSG_GETGEN, NLM_F_ACK, no_payload, NULL,
	    gen_cb, &g)) < 0)
		return r;
	if (!g.seen)
		return -EBADMSG;
	*ret_gen = g.id;
	return 0;
}

static int
membership(struct nft_monitor *m, int opt)
{
	int grp = NFNLGRP_NFTABLES;

	return mnl_socket_setsockopt(m->nl, opt, &grp, sizeof(grp)) < 0 ?
	    -errno : 0;
}

int
nft_monitor_pause(struct nft_monitor *m, struct nft *n)
{
	int r;

	if (m->paused)
		return -EALREADY;
	/* The generation first, while in the group: a commit after it
	 * moves it. One before it is heard, but only once its events are
	 * sent, which the kernel does after moving the generation (and the
	 * generation is read without its lock): nft_sync waits for that
	 * before the group is left. */
	if ((r = nft_gen(n, &m->gen)) < 0 || (r = nft_sync(n)) < 0 ||
	    (r = membership(m, NETLINK_DROP_MEMBERSHIP)) < 0)
		return r;
	m->commits = n->commits;
	m->paused = true;
	return 0;
}

int
nft_monitor_resume(struct nft_monitor *m, struct nft *n, bool *ret_changed)
{
	uint32_t gen;
	int r;

	*ret_changed = false;
	if (!m->paused)
		return 0;
	if ((r = membership(m, NETLINK_ADD_MEMBERSHIP)) < 0) {
		*ret_changed = true;
		return r;
	}
	m->paused = false;
	if ((r = nft_gen(n, &gen)) < 0 || gen - m->gen != n->commits -
	    m->commits)
		*ret_changed = true;
	return r;
}

int
nft_monitor_read(struct nft_monitor *m, bool *ret_changed)
{
	int fd = mnl_socket_get_fd(m->nl);
	bool changed = false;
	ssize_t len;

	for (;;) {
		len = recv(fd, m->rbuf, NFT_RBUF_SIZE, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Events were lost: assume the worst. */
				changed = true;
				m->pending = false;
				continue;
			}
			if (errno == EAGAIN)
				break;
			*ret_changed = changed;
			return -errno;
		}
		nft_events_parse(m->rbuf, (size_t)len, &m->pending, &changed);
	}
	*ret_changed = changed;
	return 0;
}
