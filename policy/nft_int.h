/* Internals the nftables backend's two halves share: nft.c builds and
 * sends batches (every change), nftread.c reads back (ban sets, shape,
 * counters) and watches the kernel's change events. Not for other
 * modules: they use nft.h. */
#ifndef SW_NFT_INT_H
#define SW_NFT_INT_H

#include "nft.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

#define NFT_FAMILY	NFPROTO_INET
#define NFT_PRIO_RAW	(-300)
/* nft's key types (datatype.h), so that `nft list` prints addresses. */
#define NFT_TYPE_IPADDR		7
#define NFT_TYPE_IP6ADDR	8
/* Newer than our uapi headers; events may carry them (kernel >= 6.3). */
#define NFT_MSG_DESTROYTABLE_	26
#define NFT_MSG_DESTROYSETELEM_	30

/*
 * NFTA_SET_ELEM_LIST_ELEMENTS is one attribute, and an attribute's length
 * is 16 bits: a NEWSETELEM carries at most 64 KiB of elements (some 1,800
 * IPv4 or 1,100 IPv6 elements with timeouts). One element takes at most
 * NFT_ELEM_ROOM bytes, a message at most NFT_MSG_ROOM.
 */
#define NFT_NEST_MAX	(65535 - 2 * NFT_ELEM_ROOM)
#define NFT_ELEM_ROOM	96
#define NFT_MSG_ROOM	(68 * 1024)
#define NFT_RBUF_SIZE	(64 * 1024)
/* What one acknowledgement costs the receive buffer (skb truesize). */
#define NFT_ACK_COST	1024
#define NFT_RCVBUF_MIN	(256 * 1024)
#define NFT_TIMEOUT_S	10
#define NFT_DUMP_TRIES	4

enum {
	S_ALLOW4, S_ALLOW6, S_BAN4, S_BAN6, S_BANNET4, S_BANNET6,
	S_DENY4, S_DENY6, S_CONNECT4, S_CONNECT6, S_MAX
};

enum nft_kind { K_ALLOW, K_BAN, K_DENY, K_CONNECT };

struct nft_setdef {
	const char *name;
	sa_family_t family;
	uint32_t flags;
	enum nft_kind kind;
};
extern const struct nft_setdef nft_sets[S_MAX];

#define NFT_NCHAINS	2
extern const char *const nft_chains[NFT_NCHAINS];

/* Rules in order: the allow sets first, then every drop. */
struct nft_ruledef {
	int chain;			/* index into nft_chains */
	int set;
	bool daddr;
	uint32_t verdict;		/* NF_DROP rules also count */
};
#define NFT_NRULES	10
extern const struct nft_ruledef nft_rules[NFT_NRULES];

/* One acknowledged message of a batch: what to name when it fails. */
struct nft_op {
	uint16_t type;			/* NFT_MSG_* */
	int16_t set;			/* S_*, or -1 */
};

struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0;			/* BATCH_BEGIN's; messages follow */
	struct nft_op *ops;		/* message i has sequence seq0 + 1 + i */
	size_t nops, opcap;
};

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int sndbuf, rcvbuf;		/* what we last asked for */
	struct nft_batch b;		/* reused: big batches stay mapped */
	char *rbuf;			/* NFT_RBUF_SIZE */
	char err[256];
	atomic_bool cancelled;		/* nft_cancel(): stop reading */
	uint32_t commits;		/* generations our batches made */
};

/* What a dump of our rules says: per rule its chain, set and count. */
struct nft_ruleinfo {
	unsigned int found[NFT_NRULES];	/* by nft_rules index */
	struct nft_counters c;
};

/*
 * The read side's parsing of what the kernel sent, without a socket (for
 * the round-trip tests and tests/fuzz/fuzz_nftread.c). buf holds whole
 * netlink messages as recv() returned them; sequence numbers and port ids
 * are not checked. 0, or -EBADMSG (or the errno an NLMSG_ERROR carries)
 * for a message that does not parse, -ENOMEM.
 */
/* GETSETELEM dump answers for set (S_*): its prefixes, as nft_ban_list
 * reads them. *ret is malloc'ed (NULL when none). */
int nft_elems_parse(int set, const void *buf, size_t len,
    struct nft_elem **ret, size_t *ret_n);
/* GETRULE dump answers: which of our rules are there, their counters. */
int nft_rules_parse(const void *buf, size_t len, struct nft_ruleinfo *ri);
/* Monitor events: *pending carries a deletion of ours whose NEWGEN has
 * not come yet; *changed is set when another process made it. */
void nft_events_parse(const void *buf, size_t len, bool *pending,
    bool *changed);

/* Is buf whole netlink messages, each length inside it? libmnl 1.0.4's
 * mnl_nlmsg_ok compares nlmsg_len as an int, so one that claims 2 GiB
 * or more passes and mnl_nlmsg_next (and mnl_cb_run) jump out of the
 * buffer: every buffer read is checked here before libmnl walks it. */
bool nft_msgs_ok(const void *buf, size_t len);

size_t nft_keylen(sa_family_t family);
int nft_range_prefix(const uint8_t *start, const uint8_t *last, size_t n);
struct nftnl_set *nft_set_alloc(int set);
int nft_fail(struct nft *n, int r, const char *what, const char *name);
void nft_drain(struct nft *n);
int nft_sync(struct nft *n);
ssize_t nft_recv(struct nft *n);

#endif
