/* policy/nft.c without a kernel: build the batches nft_ban_add and
 * nft_set_lists would send, walk them and parse every message back with
 * libnftnl (framing, sequence numbers, flags, table and set names, keys,
 * interval ends, timeouts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

#include "../../common/addr.h"
#include "../../policy/nft_int.h"

#define BUFSZ	(4 * 1024 * 1024)
#define LINE	96

/* One line per element (or per flush) of a batch:
 * "NEW ban4 198.18.1.1 t=90000" or "DEL bannet4 198.18.80.0 end". */
struct walk {
	char (*lines)[LINE];
	size_t n, max;
	const char *op, *set;
	unsigned int msgs;		/* acknowledged messages */
	unsigned int setmsgs[2];	/* NEW, DEL */
};

static void
walk_add(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	assert_true(w->n < w->max);
	va_start(ap, fmt);
	vsnprintf(w->lines[w->n++], LINE, fmt, ap);
	va_end(ap);
}

static int
walk_elem(struct nftnl_set_elem *e, void *data)
{
	struct walk *w = data;
	char addr[INET6_ADDRSTRLEN], t[32] = "";
	uint32_t len = 0, flags = 0;
	const void *key;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_non_null(key);
	assert_true(len == 4 || len == 16);
	inet_ntop(len == 4 ? AF_INET : AF_INET6, key, addr, sizeof(addr));
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
		snprintf(t, sizeof(t), " t=%" PRIu64,
		    nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT));
	assert_true(flags == 0 || flags == NFT_SET_ELEM_INTERVAL_END);
	walk_add(w, "%s %s %s%s%s", w->op, w->set, addr,
	    flags ? " end" : "", t);
	return 0;
}

/* Check the framing and parse every message in between. */
static void
walk_batch(const char *buf, int len, uint32_t seq, struct walk *w)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct nfgenmsg *g;
	uint32_t want = seq;
	bool ended = false;

	assert_true(mnl_nlmsg_ok(nlh, len));
	assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(nlh->nlmsg_seq, want++);
	g = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
	/* First a no-op on the table asking for the echo of the
	 * generation (nft_commit counts them). */
	nlh = mnl_nlmsg_next(nlh, &len);
	assert_true(mnl_nlmsg_ok(nlh, len));
	assert_int_equal(nlh->nlmsg_seq, want++);
	assert_int_equal(nlh->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 |
	    NFT_MSG_NEWTABLE);
	assert_true(nlh->nlmsg_flags & NLM_F_ECHO);
	assert_false(nlh->nlmsg_flags & NLM_F_EXCL);
	for (nlh = mnl_nlmsg_next(nlh, &len); mnl_nlmsg_ok(nlh, len);
	    nlh = mnl_nlmsg_next(nlh, &len)) {
		struct nftnl_set *s;
		size_t before;
		uint16_t type;

		assert_false(ended);
		assert_int_equal(nlh->nlmsg_seq, want++);
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			ended = true;
			continue;
		}
		assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type),
		    NFNL_SUBSYS_NFTABLES);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		g = mnl_nlmsg_get_payload(nlh);
		assert_int_equal(g->nfgen_family, NFPROTO_INET);
		type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		assert_true(type == NFT_MSG_NEWSETELEM ||
		    type == NFT_MSG_DELSETELEM);
		/* No EXCL: an element that exists is no error. */
		assert_false(nlh->nlmsg_flags & NLM_F_EXCL);
		w->msgs++;
		w->setmsgs[type == NFT_MSG_DELSETELEM]++;
		w->op = type == NFT_MSG_NEWSETELEM ? "NEW" : "DEL";
		assert_non_null(s = nftnl_set_alloc());
		assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE),
		    "sockwatch");
		w->set = nftnl_set_get_str(s, NFTNL_SET_NAME);
		assert_non_null(w->set);
		before = w->n;
		assert_int_equal(nftnl_set_elem_foreach(s, walk_elem, w), 0);
		if (w->n == before)
			walk_add(w, "%s %s flush", w->op, w->set);
		nftnl_set_free(s);
	}
	assert_true(ended);
	assert_int_equal(len, 0);
}

static void
lines_equal(const struct walk *w, const char *const *want, size_t n)
{
	size_t i;

	for (i = 0; i < w->n && i < n; i++)
		assert_string_equal(w->lines[i], want[i]);
	assert_int_equal(w->n, n);
}

static struct nft_elem
ban(const char *s, uint64_t ms)
{
	struct nft_elem e = { .timeout_ms = ms };

	assert_int_equal(cidr_parse(s, &e.peer), 0);
	return e;
}

static void
test_ban_batch(void **state)
{
	static char lines[64][LINE];
	struct walk w = { .lines = lines, .max = 64 };
	struct nft_elem e[] = {
		ban("198.18.1.1", 60000),
		ban("2001:db8::1", 120000),
		ban("198.18.64.0/20", 0),		/* permanent */
		ban("2001:db8:99::/48", 5000),
		ban("::ffff:198.18.1.2", 1000),		/* mapped: IPv4 */
		ban("198.18.1.1", 90000),		/* again: longer wins */
		ban("198.18.64.0/24", 7000),		/* inside the /20 */
		ban("255.255.255.0/24", 3000),		/* top: no end */
	};
	static const char *const want[] = {
		"NEW ban4 198.18.1.1", "NEW ban4 198.18.1.2",
		"DEL ban4 198.18.1.1", "DEL ban4 198.18.1.2",
		"NEW ban4 198.18.1.1 t=90000", "NEW ban4 198.18.1.2 t=1000",
		"NEW ban6 2001:db8::1", "DEL ban6 2001:db8::1",
		"NEW ban6 2001:db8::1 t=120000",
		"NEW bannet4 198.18.64.0", "NEW bannet4 198.18.80.0 end",
		"NEW bannet4 255.255.255.0",
		"DEL bannet4 198.18.64.0", "DEL bannet4 198.18.80.0 end",
		"DEL bannet4 255.255.255.0",
		"NEW bannet4 198.18.64.0", "NEW bannet4 198.18.80.0 end",
		"NEW bannet4 255.255.255.0 t=3000",
		"NEW bannet6 2001:db8:99::", "NEW bannet6 2001:db8:9a:: end",
		"DEL bannet6 2001:db8:99::", "DEL bannet6 2001:db8:9a:: end",
		"NEW bannet6 2001:db8:99:: t=5000",
		"NEW bannet6 2001:db8:9a:: end",
	};
	char *buf = malloc(BUFSZ);
	int len;

	(void)state;
	assert_non_null(buf);
	len = nft_build_ban_add(e, sizeof(e) / sizeof(e[0]), 1000, buf, BUFSZ);
	assert_true(len > 0);
	walk_batch(buf, len, 1000, &w);
	lines_equal(&w, want, sizeof(want) / sizeof(want[0]));
	/* Three messages for each of the four sets. */
	assert_int_equal(w.msgs, 12);
	assert_int_equal(w.setmsgs[1], 4);

	/* Too small a buffer; bad prefixes. */
	assert_int_equal(nft_build_ban_add(e, 8, 1, buf, (size_t)len - 1),
	    -ENOBUFS);
	e[0].peer.len = 33;
	assert_int_equal(nft_build_ban_add(e, 1, 1, buf, BUFSZ), -EINVAL);
	e[0].peer.addr.family = AF_UNIX;
	assert_int_equal(nft_build_ban_add(e, 1, 1, buf, BUFSZ),
	    -EAFNOSUPPORT);
	/* Nothing to do is still a well-formed batch (of the table's
	 * no-op only). */
	len = nft_build_ban_add(e, 0, 7, buf, BUFSZ);
	assert_true(len > 0);
	w = (struct walk){ .lines = lines, .max = 64 };
	walk_batch(buf, len, 7, &w);
	assert_int_equal(w.msgs, 0);
	free(buf);
}

/* 20,000 IPv6 hosts: many messages per step, each element attribute
 * within its 64 KiB, every host once per step. */
static void
test_ban_batch_large(void **state)
{
	enum { N = 20000 };
	static char lines[3 * N][LINE];
	struct walk w = { .lines = lines, .max = 3 * N };
	struct nft_elem *e = calloc(N, sizeof(*e));
	char *buf = malloc(BUFSZ), want[LINE];
	const struct nlmsghdr *nlh;
	size_t i;
	int len, left;

	(void)state;
	assert_non_null(e);
	assert_non_null(buf);
	for (i = 0; i < N; i++) {
		e[i] = ban("2001:db8::", 600000);
		e[i].peer.addr.u.bytes[14] = (uint8_t)(i >> 8);
		e[i].peer.addr.u.bytes[15] = (uint8_t)i;
	}
	len = nft_build_ban_add(e, N, 0xfffffff0u, buf, BUFSZ);
	assert_true(len > 0);
	/* Sequence numbers wrap around. */
	walk_batch(buf, len, 0xfffffff0u, &w);
	assert_int_equal(w.n, 3 * N);
	assert_true(w.msgs >= 3 * 10);
	left = len;
	for (nlh = (const void *)buf; mnl_nlmsg_ok(nlh, left);
	    nlh = mnl_nlmsg_next(nlh, &left))
		assert_true(nlh->nlmsg_len < 65536 + 256);
	snprintf(want, sizeof(want), "NEW ban6 2001:db8::4e1f t=600000");
	assert_string_equal(w.lines[3 * N - 1], want);
	free(buf);
	free(e);
}

static void
test_lists_batch(void **state)
{
	static char lines[64][LINE];
	struct walk w = { .lines = lines, .max = 64 };
	struct cidr allow[4], deny[3], connect[4];
	struct nft_lists l = { allow, 4, deny, 3, connect, 4 };
	static const char *const want[] = {
		"DEL allow4 flush",
		/* covered, overlapping and adjacent: one range */
		"NEW allow4 198.18.5.0", "NEW allow4 198.18.7.0 end",
		"NEW allow4 198.18.9.0", "NEW allow4 198.18.10.0 end",
		"DEL allow6 flush",
		"DEL deny4 flush",
		"NEW deny4 0.0.0.0",			/* /0: no end */
		"DEL deny6 flush",
		"NEW deny6 2001:db8::", "NEW deny6 2001:db9:: end",
		"DEL connect4 flush",
		"NEW connect4 255.255.255.255",		/* top: no end */
		"DEL connect6 flush",
		"NEW connect6 ::",
	};
	char *buf = malloc(BUFSZ);
	int len;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(cidr_parse("198.18.6.0/24", &allow[0]), 0);
	assert_int_equal(cidr_parse("198.18.5.0/24", &allow[1]), 0);
	assert_int_equal(cidr_parse("198.18.5.128/25", &allow[2]), 0);
	assert_int_equal(cidr_parse("198.18.9.0/24", &allow[3]), 0);
	assert_int_equal(cidr_parse("198.18.0.0/15", &deny[0]), 0);
	assert_int_equal(cidr_parse("0.0.0.0/0", &deny[1]), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &deny[2]), 0);
	assert_int_equal(cidr_parse("255.255.255.255", &connect[0]), 0);
	assert_int_equal(cidr_parse("2001:db8:1::/48", &connect[1]), 0);
	assert_int_equal(cidr_parse("::/0", &connect[2]), 0);
	assert_int_equal(cidr_parse("::ffff:255.255.255.255", &connect[3]),
	    0);
	len = nft_build_set_lists(&l, 5, buf, BUFSZ);
	assert_true(len > 0);
	walk_batch(buf, len, 5, &w);
	lines_equal(&w, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(w.setmsgs[1], 6);
	free(buf);
}

/* A file of tests/data (see its README), whole. */
static size_t
read_data(const char *name, char *buf, size_t len)
{
	const char *d = getenv("SW_TESTDATA");
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d != NULL ? d : "tests/data",
	    name);
	assert_non_null(f = fopen(path, "rb"));
	n = fread(buf, 1, len, f);
	assert_true(n > 0 && n < len);
	fclose(f);
	return n;
}

/* The read side on the kernel's own answers (Linux 6.18): the ban sets
 * with their time left (0: permanent), and the rule dump of a fresh
 * table, every rule of ours once. */
static void
test_readback_kernel(void **state)
{
	static char buf[8192];
	struct nft_ruleinfo ri;
	struct nft_elem *v;
	char a[ADDR_STRLEN];
	size_t n, i, len;

	(void)state;
	len = read_data("nft-ban4.nl", buf, sizeof(buf));
	assert_int_equal(nft_elems_parse(S_BAN4, buf, len, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cidr_format(&v[0].peer, a, sizeof(a)),
	    "198.18.0.7/32");
	assert_true(v[0].timeout_ms > 590000 && v[0].timeout_ms <= 600000);
	assert_string_equal(cidr_format(&v[1].peer, a, sizeof(a)),
	    "198.18.0.9/32");
	assert_int_equal(v[1].timeout_ms, 0);
	free(v);

	len = read_data("nft-bannet6.nl", buf, sizeof(buf));
	assert_int_equal(nft_elems_parse(S_BANNET6, buf, len, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cidr_format(&v[0].peer, a, sizeof(a)),
	    "2001:db8::/120");
	assert_int_equal(v[0].timeout_ms, 0);
	assert_string_equal(cidr_format(&v[1].peer, a, sizeof(a)),
	    "2001:db8:1::/64");
	assert_true(v[1].timeout_ms > 590000 && v[1].timeout_ms <= 600000);
	free(v);

	len = read_data("nft-rules.nl", buf, sizeof(buf));
	assert_int_equal(nft_rules_parse(buf, len, &ri), 0);
	for (i = 0; i < NFT_NRULES; i++)
		assert_int_equal(ri.found[i], 1);
	assert_int_equal(ri.c.ban_packets + ri.c.deny_packets +
	    ri.c.connect_packets, 0);
}

/* A message whose length claims 2 GiB or more: libmnl 1.0.4 took it as
 * negative, passed it and jumped out of the buffer (found by
 * tests/fuzz/fuzz_nftread). Now refused before libmnl walks it; the
 * monitor assumes the worst. */
static void
test_readback_bad_length(void **state)
{
	static char buf[8192];
	struct nlmsghdr *nlh;
	struct nft_elem *v;
	bool pending = true, changed = false;
	size_t n, len;

	(void)state;
	len = read_data("nft-ban4.nl", buf, sizeof(buf));
	assert_true(nft_msgs_ok(buf, len));
	nlh = (struct nlmsghdr *)(void *)buf;
	nlh->nlmsg_len = 0xe0e0e0e0u;
	assert_false(nft_msgs_ok(buf, len));
	assert_int_equal(nft_elems_parse(S_BAN4, buf, len, &v, &n),
	    -EBADMSG);
	nft_events_parse(buf, len, &pending, &changed);
	assert_true(changed);
	assert_false(pending);
	nlh->nlmsg_len = (uint32_t)len + 4;	/* past the end */
	assert_false(nft_msgs_ok(buf, len));
	nlh->nlmsg_len = 8;			/* shorter than a header */
	assert_false(nft_msgs_ok(buf, len));
	/* Bytes after the last whole message are not a message. */
	assert_true(nft_msgs_ok(buf, 4));
}

/* A rule message made by hand: chain, and one expression with a name
 * (NULL: none) looking up set. */
static size_t
rule_msg(char *buf, const char *chain, size_t chainlen, const char *name,
    const char *set)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *list, *elem, *data;

	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put(nlh, NFTA_RULE_CHAIN, chainlen, chain);
	list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	if (name != NULL)
		mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, name);
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_LOOKUP_SET, set);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

/* Rules the kernel would not send: an expression without a name (which
 * crashed libnftnl 1.2.4's parser, found by tests/fuzz/fuzz_nftread) is
 * no rule of ours; a chain name without its NUL is a bad message. */
static void
test_readback_bad_rule(void **state)
{
	static char buf[1024];
	struct nft_ruleinfo ri;
	size_t len;

	(void)state;
	len = rule_msg(buf, "prerouting", 11, "lookup", "ban4");
	assert_int_equal(nft_rules_parse(buf, len, &ri), 0);
	assert_int_equal(ri.found[2], 1);	/* ip saddr @ban4 */
	len = rule_msg(buf, "prerouting", 11, NULL, "ban4");
	assert_int_equal(nft_rules_parse(buf, len, &ri), 0);
	assert_int_equal(ri.found[2], 0);
	len = rule_msg(buf, "prerouting", 10, "lookup", "ban4");
	assert_int_equal(nft_rules_parse(buf, len, &ri), -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_batch),
		cmocka_unit_test(test_ban_batch_large),
		cmocka_unit_test(test_lists_batch),
		cmocka_unit_test(test_readback_kernel),
		cmocka_unit_test(test_readback_bad_length),
		cmocka_unit_test(test_readback_bad_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
