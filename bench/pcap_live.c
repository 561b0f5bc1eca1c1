/* The floor for live capture: a bare libpcap loop with the daemon's
 * settings (pcap_create on one interface, snap length 256, a 10 ms buffer
 * timeout, not immediate, the same 4 MiB ring, the filter "tcp or udp or
 * icmp or icmp6"), blocking pcap_dispatch, a count per source address in
 * an open-addressing hash table. Runs until SIGTERM/SIGINT or T seconds,
 * then prints the packets it handled, pcap_stats' recv and drop, and its
 * CPU time (getrusage, the whole process). Says "listening on IF" on
 * stderr once the handle is active.
 *
 * Usage: pcap_live [-t SECS] [-B KIB] IFACE
 *   -t SECS  at most this long (default 60, at most 3600)
 *   -B KIB   the kernel ring (default 4096, the daemon's) */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define SNAPLEN		256
#define TIMEOUT_MS	10
#define FILTER		"tcp or udp or icmp or icmp6"

struct slot {
	uint64_t hi, lo;
	uint64_t packets;	/* 0: an empty slot */
};

struct stats {
	struct slot *slots;
	size_t mask, used;
	int linktype;
	uint64_t packets, malformed, other, portsum;
};

static pcap_t *pc;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
	if (pc)
		pcap_breakloop(pc);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "pcap_live: out of memory\n");
		exit(1);
	}
	return p;
}

static size_t
hash(uint64_t hi, uint64_t lo)
{
	uint64_t h = (hi ^ (lo * UINT64_C(0x9e3779b97f4a7c15)));

	h ^= h >> 32;
	h *= UINT64_C(0xd6e8feb86659fd93);
	h ^= h >> 32;
	return (size_t)h;
}

static void
grow(struct stats *t)
{
	struct slot *old = t->slots;
	size_t oldsize = t->mask + 1, i, j;

	t->mask = oldsize * 2 - 1;
	t->slots = xcalloc(t->mask + 1, sizeof(*t->slots));
	for (i = 0; i < oldsize; i++) {
		if (!old[i].packets)
			continue;
		for (j = hash(old[i].hi, old[i].lo) & t->mask; t->slots[j].packets;
		    j = (j + 1) & t->mask)
			;
		t->slots[j] = old[i];
	}
	free(old);
}

static void
count(struct stats *t, uint64_t hi, uint64_t lo)
{
	size_t i;

	for (i = hash(hi, lo) & t->mask; t->slots[i].packets;
	    i = (i + 1) & t->mask) {
		if (t->slots[i].hi == hi && t->slots[i].lo == lo) {
			t->slots[i].packets++;
			return;
		}
	}
	t->slots[i].hi = hi;
	t->slots[i].lo = lo;
	t->slots[i].packets = 1;
	if (++t->used * 2 > t->mask + 1)
		grow(t);
}

static inline uint16_t
rd16(const u_char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t
rd64(const u_char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Link, IP and the L4 ports, every length checked; a count per source. */
static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *p)
{
	struct stats *st = (struct stats *)(void *)user;
	size_t len = h->caplen, off, l4;
	unsigned type, vlans = 0;
	int proto;

	st->packets++;
	switch (st->linktype) {
	case DLT_EN10MB:
		if (len < 14)
			goto bad;
		type = rd16(p + 12);
		off = 14;
		while ((type == 0x8100 || type == 0x88a8) && vlans++ < 2) {
			if (len < off + 4)
				goto bad;
			type = rd16(p + off + 2);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			goto bad;
		type = rd16(p + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			goto bad;
		type = rd16(p);
		off = 20;
		break;
	default:
		if (len < 1)
			goto bad;
		type = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
		off = 0;
		break;
	}
	if (type == 0x0800) {
		size_t ihl;
		uint32_t src;

		if (len < off + 20 || (p[off] >> 4) != 4 ||
		    (ihl = (size_t)(p[off] & 15) * 4) < 20 || len < off + ihl)
			goto bad;
		memcpy(&src, p + off + 12, 4);
		count(st, 0, UINT64_C(0xffff) << 32 | src);
		if (rd16(p + off + 6) & 0x1fff)
			return;
		proto = p[off + 9];
		l4 = off + ihl;
	} else if (type == 0x86dd) {
		if (len < off + 40 || (p[off] >> 4) != 6)
			goto bad;
		count(st, rd64(p + off + 8), rd64(p + off + 16));
		proto = p[off + 6];	/* no extension-header walk here */
		l4 = off + 40;
	} else {
		st->other++;
		return;
	}
	if (proto == 6 || proto == 17) {
		if (len < l4 + (proto == 6 ? 20 : 8))
			goto bad;
		st->portsum += rd16(p + l4) ^ rd16(p + l4 + 2);
		if (proto == 6)
			st->portsum += p[l4 + 13];
	}
	return;
bad:
	st->malformed++;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	unsigned long secs = 60, kib = 4096;
	struct bpf_program prog;
	struct pcap_stat ps;
	struct sigaction sa;
	struct rusage ru;
	struct stats st;
	double t0, deadline, cpu;
	const char *ifname;
	int c, r;

	while ((c = getopt(argc, argv, "t:B:")) != -1) {
		switch (c) {
		case 't':
			secs = strtoul(optarg, NULL, 10);
			if (secs < 1 || secs > 3600) {
				fprintf(stderr, "pcap_live: -t %s: want 1..3600\n", optarg);
				return 2;
			}
			break;
		case 'B':
			kib = strtoul(optarg, NULL, 10);
			if (kib < 64 || kib > 1048576) {
				fprintf(stderr, "pcap_live: -B %s: want 64..1048576\n", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1) {
usage:
		fprintf(stderr, "usage: pcap_live [-t SECS] [-B KIB] IFACE\n");
		return 2;
	}
	ifname = argv[optind];

	memset(&st, 0, sizeof(st));
	st.mask = 16384 - 1;
	st.slots = xcalloc(st.mask + 1, sizeof(*st.slots));

	if ((pc = pcap_create(ifname, err)) == NULL) {
		fprintf(stderr, "pcap_live: %s: %s\n", ifname, err);
		return 1;
	}
	pcap_set_snaplen(pc, SNAPLEN);
	pcap_set_promisc(pc, 0);
	pcap_set_timeout(pc, TIMEOUT_MS);
	pcap_set_immediate_mode(pc, 0);
	pcap_set_buffer_size(pc, (int)(kib * 1024));
	if ((r = pcap_activate(pc)) < 0) {
		fprintf(stderr, "pcap_live: %s: %s\n", ifname, pcap_geterr(pc));
		return 1;
	}
	if (pcap_datalink(pc) == DLT_LINUX_SLL)
		(void)pcap_set_datalink(pc, DLT_LINUX_SLL2);
	st.linktype = pcap_datalink(pc);
	if (pcap_compile(pc, &prog, FILTER, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
	    pcap_setfilter(pc, &prog) < 0) {
		fprintf(stderr, "pcap_live: %s: filter: %s\n", ifname, pcap_geterr(pc));
		return 1;
	}
	pcap_freecode(&prog);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fprintf(stderr, "pcap_live: listening on %s, link type %s\n", ifname,
	    pcap_datalink_val_to_name(st.linktype));
	t0 = now();
	deadline = t0 + (double)secs;
	while (!stop) {
		r = pcap_dispatch(pc, -1, on_packet, (u_char *)&st);
		if (r == PCAP_ERROR) {
			fprintf(stderr, "pcap_live: %s: %s\n", ifname, pcap_geterr(pc));
			return 1;
		}
		if (now() > deadline)
			break;
	}
	if (pcap_stats(pc, &ps) < 0) {
		fprintf(stderr, "pcap_live: pcap_stats: %s\n", pcap_geterr(pc));
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

	printf("received    %" PRIu64 "\n", st.packets);
	printf("sources     %zu\n", st.used);
	printf("malformed   %" PRIu64 "\n", st.malformed);
	printf("other       %" PRIu64 "\n", st.other);
	printf("checksum    %" PRIu64 "\n", st.portsum);
	printf("pcap_recv   %u\n", ps.ps_recv);
	printf("pcap_drop   %u\n", ps.ps_drop);
	printf("elapsed     %.3f s\n", now() - t0);
	printf("cpu_ms      %.1f (user %.1f, sys %.1f)\n", cpu * 1e3,
	    ((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6) * 1e3,
	    ((double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6) * 1e3);
	pcap_close(pc);
	free(st.slots);
	return 0;
}
