/* The floor for adding bans to nftables: one bare libnftnl batch that adds
 * N IPv4 elements with timeouts to a hash set (flags timeout) in a scratch
 * table, timed from the first message built to the last acknowledgement
 * read; then policy/nft.c's nft_ban_add of the same N hosts into an empty
 * ban4 (and once more, when they all exist: the refresh case). Prints
 * elements/s for each and our ratio to the floor. For comparison it also
 * times the bare batch once more over the existing elements, which
 * kernels >= 6.12 treat as a timeout update.
 *
 * It unshares a network namespace of its own first, so the host's rule
 * set is never touched and nothing is left behind. Needs root.
 *
 * Usage: nft_floor [-n N] [-r RUNS] [-t TIMEOUT_S]   (100000, 3, 3600) */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "../policy/nft.h"

#define TABLE	"swbench"
#define SET	"h"
#define NEST_MAX (65535 - 256)

struct bare {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *buf;
	size_t cap;
	char rbuf[65536];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "nft_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t
elem_addr(size_t i)
{
	return htonl(0xc6120000u + (uint32_t)i);	/* 198.18.0.0 + i */
}

/* Send len bytes as one batch; read acks until every one of nmsgs came. */
static void
bare_talk(struct bare *b, size_t len, uint32_t seq0, size_t nmsgs)
{
	int sz = (int)len + 4096, rsz = (int)(nmsgs * 1024 + 262144);
	size_t got = 0;

	if (setsockopt(mnl_socket_get_fd(b->nl), SOL_SOCKET, SO_SNDBUFFORCE,
	    &sz, sizeof(sz)) < 0 || setsockopt(mnl_socket_get_fd(b->nl),
	    SOL_SOCKET, SO_RCVBUFFORCE, &rsz, sizeof(rsz)) < 0)
		die("socket buffers");
	if (mnl_socket_sendto(b->nl, b->buf, len) < 0)
		die("sendto");
	while (got < nmsgs) {
		int n = (int)mnl_socket_recvfrom(b->nl, b->rbuf,
		    sizeof(b->rbuf));
		const struct nlmsghdr *nlh = (const void *)b->rbuf;

		if (n < 0)
			die("recv");
		for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_seq - seq0 > nmsgs)
				continue;
			if (e->error) {
				errno = -e->error;
				die("batch");
			}
			got++;
		}
	}
}

/* The scratch table and an empty set: table, delete, table, set. */
static void
bare_reset(struct bare *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t seq0 = b->seq;
	size_t len = 0;
	int i;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, SET);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 7);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
	len += NLMSG_ALIGN(nftnl_batch_begin(b->buf, b->seq++)->nlmsg_len);
	for (i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(b->buf + len,
		    i == 1 ? NFT_MSG_DELTABLE : NFT_MSG_NEWTABLE, NFPROTO_INET,
		    (i == 1 ? 0 : NLM_F_CREATE) | NLM_F_ACK, b->seq++);

		nftnl_table_nlmsg_build_payload(nlh, t);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	{
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(b->buf + len,
		    NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
		    b->seq++);

		nftnl_set_nlmsg_build_payload(nlh, s);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	len += NLMSG_ALIGN(nftnl_batch_end(b->buf + len, b->seq++)->nlmsg_len);
	bare_talk(b, len, seq0, 4);
	nftnl_set_free(s);
	nftnl_table_free(t);
}

/* The timed part: build, send, read every ack. */
static double
bare_add(struct bare *b, size_t n, uint64_t timeout_ms)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint32_t seq0 = b->seq;
	size_t len = 0, i = 0, nmsgs = 0;
	double t0 = now();

	nftnl_set_set_str(s, NFTNL_SET_TABLE, TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, SET);
	len += NLMSG_ALIGN(nftnl_batch_begin(b->buf, b->seq++)->nlmsg_len);
	while (i < n) {
		struct nlmsghdr *nlh;
		struct nlattr *nest;

		if (b->cap - len < 70000) {
			fprintf(stderr, "nft_floor: buffer too small\n");
			exit(1);
		}
		nlh = nftnl_nlmsg_build_hdr(b->buf + len, NFT_MSG_NEWSETELEM,
		    NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, b->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (; i < n && (char *)mnl_nlmsg_get_payload_tail(nlh) -
		    (char *)nest < NEST_MAX; i++) {
			uint32_t key = elem_addr(i);
			struct nlattr *el;

			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, 4);
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT,
			    timeout_ms);
			el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			nftnl_set_elem_nlmsg_build_payload(nlh, e);
			mnl_attr_nest_end(nlh, el);
		}
		mnl_attr_nest_end(nlh, nest);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
		nmsgs++;
	}
	len += NLMSG_ALIGN(nftnl_batch_end(b->buf + len, b->seq++)->nlmsg_len);
	bare_talk(b, len, seq0, nmsgs);
	nftnl_set_elem_free(e);
	nftnl_set_free(s);
	return now() - t0;
}

static double
ours_add(struct nft *n, const struct nft_elem *e, size_t ne)
{
	double t0 = now();
	int r;

	if ((r = nft_ban_add(n, e, ne)) < 0) {
		fprintf(stderr, "nft_floor: nft_ban_add: %s\n", nft_error(n));
		exit(1);
	}
	return now() - t0;
}

int
main(int argc, char **argv)
{
	struct nft_lists none = { 0 };
	struct bare b = { 0 };
	struct nft_elem *e;
	struct nft *n;
	size_t count = 100000, i;
	uint64_t timeout_ms = 3600 * 1000;
	double best_bare = 1e9, best_ours = 1e9, best_again = 1e9, t;
	double best_bare_again = 1e9;
	int runs = 3, c, run;

	while ((c = getopt(argc, argv, "n:r:t:")) != -1) {
		switch (c) {
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 't':
			timeout_ms = strtoull(optarg, NULL, 10) * 1000;
			break;
		default:
			fprintf(stderr, "usage: nft_floor [-n N] [-r RUNS] "
			    "[-t TIMEOUT_S]\n");
			return 2;
		}
	}
	/* The test range 198.18.0.0/15 holds 131,072 addresses. */
	if (count == 0 || count > 131072 || runs < 1) {
		fprintf(stderr, "nft_floor: -n must be 1-131072\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (needs root)");
	b.cap = count * 64 + 1024 * 1024;
	if ((b.buf = malloc(b.cap)) == NULL ||
	    (e = calloc(count, sizeof(*e))) == NULL)
		die("malloc");
	if ((b.nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(b.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket");
	b.portid = mnl_socket_get_portid(b.nl);
	b.seq = (uint32_t)time(NULL);
	for (i = 0; i < count; i++) {
		uint32_t a = elem_addr(i);

		e[i].peer.addr.family = AF_INET;
		memcpy(&e[i].peer.addr.u.v4, &a, 4);
		e[i].peer.len = 32;
		e[i].timeout_ms = timeout_ms;
	}
	if (nft_open(&n) < 0)
		die("nft_open");
	printf("%zu IPv4 elements with timeouts, best of %d runs\n", count,
	    runs);
	for (run = 0; run < runs; run++) {
		bare_reset(&b);
		t = bare_add(&b, count, timeout_ms);
		best_bare = t < best_bare ? t : best_bare;
		t = bare_add(&b, count, timeout_ms + 1000);
		best_bare_again = t < best_bare_again ? t : best_bare_again;
		if (nft_setup(n, &none, NULL, 0) < 0) {
			fprintf(stderr, "nft_floor: nft_setup: %s\n",
			    nft_error(n));
			return 1;
		}
		t = ours_add(n, e, count);
		best_ours = t < best_ours ? t : best_ours;
		t = ours_add(n, e, count);
		best_again = t < best_again ? t : best_again;
		printf("run %d done\n", run + 1);
	}
	/* Read back, and the whole table set up again with every ban. */
	{
		struct nft_elem *got;
		size_t ngot;

		t = now();
		if (nft_ban_list(n, &got, &ngot) < 0 || ngot != count) {
			fprintf(stderr, "nft_floor: ban list: %s (%zu)\n",
			    nft_error(n), ngot);
			return 1;
		}
		printf("nft_ban_list:         %8.1f ms  %zu elements\n",
		    (now() - t) * 1e3, ngot);
		free(got);
		t = now();
		if (nft_setup(n, &none, e, count) < 0) {
			fprintf(stderr, "nft_floor: nft_setup: %s\n",
			    nft_error(n));
			return 1;
		}
		printf("nft_setup with bans:  %8.1f ms\n", (now() - t) * 1e3);
	}
	printf("bare batch:           %8.1f ms  %9.0f elements/s\n",
	    best_bare * 1e3, (double)count / best_bare);
	printf("bare batch (exists):  %8.1f ms  %9.0f elements/s\n",
	    best_bare_again * 1e3, (double)count / best_bare_again);
	printf("nft_ban_add (new):    %8.1f ms  %9.0f elements/s  %.2fx\n",
	    best_ours * 1e3, (double)count / best_ours, best_bare / best_ours);
	printf("nft_ban_add (exists): %8.1f ms  %9.0f elements/s  %.2fx\n",
	    best_again * 1e3, (double)count / best_again,
	    best_bare / best_again);
	nft_close(n);
	mnl_socket_close(b.nl);
	free(e);
	free(b.buf);
	return 0;
}
