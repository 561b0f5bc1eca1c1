/* The nftables backend: sockwatchd's own table, "inet sockwatch", built
 * with libnftnl and sent with libmnl. Every change is one batch
 * (NFNL_MSG_BATCH_BEGIN ... END) whose acknowledgements are all read and
 * matched by sequence number. Nothing else in the rule set is touched.
 *
 *   table inet sockwatch {
 *     set allow4   { type ipv4_addr; flags interval; }
 *     set allow6   { type ipv6_addr; flags interval; }
 *     set ban4     { type ipv4_addr; flags timeout; }     hosts
 *     set ban6     { type ipv6_addr; flags timeout; }
 *     set bannet4  { type ipv4_addr; flags interval,timeout; }  prefixes
 *     set bannet6  { type ipv6_addr; flags interval,timeout; }
 *     set deny4    { type ipv4_addr; flags interval; }    [deny] lists
 *     set deny6    { type ipv6_addr; flags interval; }
 *     set connect4 { type ipv4_addr; flags interval; }    [connect] deny
 *     set connect6 { type ipv6_addr; flags interval; }
 *     chain prerouting { type filter hook prerouting priority raw;
 *       ip saddr @allow4 accept; ip6 saddr @allow6 accept
 *       ip saddr @ban4 counter drop; ... @bannet4, @deny4, and the ip6 ones }
 *     chain output { type filter hook output priority raw;
 *       ip daddr @connect4 counter drop; ip6 daddr @connect6 counter drop }
 *   }
 *
 * No logging: functions return 0 or a negative errno, and nft_error()
 * then holds a one-line description with the kernel's error. */
#ifndef SW_NFT_H
#define SW_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

#define NFT_TABLE_NAME	"sockwatch"	/* family inet */

/* One element: a host (len 32 or 128) or a prefix, and its time left.
 * IPv4-mapped IPv6 addresses are stored as the IPv4 address they carry. */
struct nft_elem {
	struct cidr peer;
	uint64_t timeout_ms;		/* 0: permanent */
};

/* What the config puts in the interval sets. */
struct nft_lists {
	const struct cidr *allow;	/* accepted before any drop */
	size_t nallow;
	const struct cidr *deny;	/* dropped inbound ([deny] block) */
	size_t ndeny;
	const struct cidr *connect;	/* dropped outbound ([connect]) */
	size_t nconnect;
};

struct nft;

/* A NETLINK_NETFILTER socket (needs CAP_NET_ADMIN for changes). */
int nft_open(struct nft **ret_nft);
void nft_close(struct nft *n);
const char *nft_error(const struct nft *n);

/* Bring the table to its wanted shape atomically, in one batch: the old
 * table of ours (if any) is deleted and the table, sets, chains, rules,
 * the lists and the given bans are created. */
int nft_setup(struct nft *n, const struct nft_lists *l,
    const struct nft_elem *bans, size_t nbans);
/* Delete the table, if it is there (when enforcement is turned off). */
int nft_remove(struct nft *n);
/* Replace the contents of the allow, deny and connect sets (a reload),
 * in one batch. */
int nft_set_lists(struct nft *n, const struct nft_lists *l);

/* Add bans in one batch: hosts go to ban4/ban6, prefixes to
 * bannet4/bannet6. An element already present gets the new timeout (Linux
 * 6.12 and later), but a permanent one stays permanent. */
int nft_ban_add(struct nft *n, const struct nft_elem *e, size_t ne);
/* The same, replacing each element (add, delete, add in one batch): for
 * an element that may be there with another kind of timeout, and for
 * kernels before 6.12. Three times the kernel's work per element. */
int nft_ban_replace(struct nft *n, const struct nft_elem *e, size_t ne);
/* Remove bans in one batch; an element that is not there is no error. */
int nft_ban_del(struct nft *n, const struct cidr *c, size_t nc);

/* Read the ban sets back: every element with its time left. -ENOENT when
 * the table or one of its sets is missing. *ret is malloc'ed. */
int nft_ban_list(struct nft *n, struct nft_elem **ret, size_t *ret_n);
/* From another thread: a dump under way on n stops at its next message
 * with -ECANCELED (so does every later one). */
void nft_cancel(struct nft *n);
/* Does the table exist with every set, both chains and each of their
 * rules (once)? 1, 0 or -errno. */
int nft_check(struct nft *n);

/* Packets dropped by the rules since the table was made, for metrics. */
struct nft_counters {
	uint64_t ban_packets, deny_packets, connect_packets;
};
int nft_counters(struct nft *n, struct nft_counters *ret);

/* nf_tables change notifications (NFNLGRP_NFTABLES). */
struct nft_monitor;

int nft_monitor_open(struct nft_monitor **ret_mon);
void nft_monitor_close(struct nft_monitor *m);
int nft_monitor_fd(const struct nft_monitor *m);
/* Read what is waiting without blocking. *ret_changed is set when
 * someone other than this process deleted or flushed anything of table
 * inet sockwatch (or overflowed the socket: -ENOBUFS also sets it). */
int nft_monitor_read(struct nft_monitor *m, bool *ret_changed);
/*
 * Our own batches on n, unheard: the kernel builds a change event per
 * element only while someone listens, which costs a big batch about a
 * third of its time. pause notes the rule set's generation and leaves
 * the group; resume joins it again and sets *ret_changed when anyone
 * else committed meanwhile (the generation moved by more than n's own
 * commits), since what they did went unheard. Nested pauses are not
 * counted: pause on a paused monitor is -EALREADY. resume on a monitor
 * not paused does nothing; one whose join failed (-errno, *ret_changed
 * set) stays paused, for the next resume to try again.
 */
int nft_monitor_pause(struct nft_monitor *m, struct nft *n);
int nft_monitor_resume(struct nft_monitor *m, struct nft *n,
    bool *ret_changed);

/* For tests: build the batch nft_ban_replace would send, into buf. Returns
 * its length, or -ENOBUFS if buf is too small. */
int nft_build_ban_add(const struct nft_elem *e, size_t ne, uint32_t seq,
    void *buf, size_t len);
/* For tests: the batch nft_set_lists would send (flushes, then the
 * merged intervals), into buf. Same contract. */
int nft_build_set_lists(const struct nft_lists *l, uint32_t seq, void *buf,
    size_t len);

#endif
