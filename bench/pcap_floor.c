/* The floor for offline analysis: read a capture with libpcap
 * (pcap_open_offline + pcap_loop), parse each packet's link, IPv4/IPv6 and
 * TCP/UDP headers with every length checked, and count packets per source
 * address in an open-addressing hash table. Prints the counts, the elapsed
 * time and the rate; nothing per packet.
 *
 * Usage: pcap_floor FILE   (a .pcap or .pcapng; Ethernet with up to two
 * VLAN tags, Linux cooked v1/v2, or raw IP). */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/* A source: its address as 16 bytes (IPv4 as ::ffff:a.b.c.d). */
struct slot {
	uint64_t hi, lo;
	uint64_t packets;	/* 0: an empty slot */
};

struct table {
	struct slot *slots;
	size_t mask;		/* size - 1, size a power of two */
	size_t used;
};

struct stats {
	struct table t;
	int linktype;
	uint64_t packets, ipv4, ipv6, tcp, udp, syn, fragments;
	uint64_t malformed, other;
	uint64_t portsum;	/* keeps the port and flag reads honest */
};

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "pcap_floor: out of memory\n");
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
grow(struct table *t)
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
count(struct table *t, uint64_t hi, uint64_t lo)
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
	if (++t->used * 2 > t->mask + 1)	/* at most half full */
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

/* The L4 header at p[off], len bytes captured in all. */
static void
transport(struct stats *st, int proto, const u_char *p, size_t off, size_t len)
{
	if (proto == IPPROTO_TCP) {
		size_t doff;

		if (len < off + 20 || (doff = (size_t)(p[off + 12] >> 4) * 4) < 20 ||
		    len < off + doff) {
			st->malformed++;
			return;
		}
		st->tcp++;
		st->syn += (p[off + 13] & 0x12) == 0x02;
		st->portsum += rd16(p + off) ^ rd16(p + off + 2) ^ p[off + 13];
	} else if (proto == IPPROTO_UDP) {
		if (len < off + 8) {
			st->malformed++;
			return;
		}
		st->udp++;
		st->portsum += rd16(p + off) ^ rd16(p + off + 2);
	}
}

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *p)
{
	struct stats *st = (struct stats *)(void *)user;
	size_t len = h->caplen, off;
	unsigned type, vlans = 0;

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
	default:		/* DLT_RAW, LINKTYPE_RAW */
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
		st->ipv4++;
		memcpy(&src, p + off + 12, 4);
		count(&st->t, 0, UINT64_C(0xffff) << 32 | src);
		if (rd16(p + off + 6) & 0x1fff) {	/* not the first fragment */
			st->fragments++;
			return;
		}
		transport(st, p[off + 9], p, off + ihl, len);
	} else if (type == 0x86dd) {
		int nh, hops;
		size_t l4;

		if (len < off + 40 || (p[off] >> 4) != 6)
			goto bad;
		st->ipv6++;
		count(&st->t, rd64(p + off + 8), rd64(p + off + 16));
		nh = p[off + 6];
		l4 = off + 40;
		/* Extension headers, at most 8. */
		for (hops = 0; hops < 8; hops++) {
			if (nh == 0 || nh == 43 || nh == 60) {
				if (len < l4 + 8)
					goto bad;
				nh = p[l4];
				l4 += ((size_t)p[l4 + 1] + 1) * 8;
			} else if (nh == 44) {		/* fragment */
				if (len < l4 + 8)
					goto bad;
				if (rd16(p + l4 + 2) & 0xfff8) {
					st->fragments++;
					return;
				}
				nh = p[l4];
				l4 += 8;
			} else {
				break;
			}
		}
		transport(st, nh, p, l4, len);
	} else {
		st->other++;
	}
	return;
bad:
	st->malformed++;
}

static double
seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct stats st;
	struct timespec t0, t1;
	struct rusage ru;
	pcap_t *pc;
	double wall, cpu;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap_floor FILE\n");
		return 2;
	}
	memset(&st, 0, sizeof(st));
	st.t.mask = 16384 - 1;
	st.t.slots = xcalloc(st.t.mask + 1, sizeof(*st.t.slots));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pc = pcap_open_offline(argv[1], err);
	if (!pc) {
		fprintf(stderr, "pcap_floor: %s\n", err);
		return 2;
	}
	st.linktype = pcap_datalink(pc);
	if (st.linktype != DLT_EN10MB && st.linktype != DLT_LINUX_SLL &&
	    st.linktype != DLT_LINUX_SLL2 && st.linktype != DLT_RAW &&
	    st.linktype != 101 /* LINKTYPE_RAW */) {
		fprintf(stderr, "pcap_floor: %s: unsupported link type %s\n",
		    argv[1], pcap_datalink_val_to_name(st.linktype));
		return 2;
	}
	if (pcap_loop(pc, -1, on_packet, (u_char *)&st) == PCAP_ERROR) {
		fprintf(stderr, "pcap_floor: %s: %s\n", argv[1], pcap_geterr(pc));
		return 2;
	}
	pcap_close(pc);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	wall = seconds(&t0, &t1);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

	printf("packets     %" PRIu64 "\n", st.packets);
	printf("sources     %zu\n", st.t.used);
	printf("ipv4        %" PRIu64 "\n", st.ipv4);
	printf("ipv6        %" PRIu64 "\n", st.ipv6);
	printf("tcp         %" PRIu64 " (%" PRIu64 " SYN without ACK)\n",
	    st.tcp, st.syn);
	printf("udp         %" PRIu64 "\n", st.udp);
	printf("fragments   %" PRIu64 "\n", st.fragments);
	printf("malformed   %" PRIu64 "\n", st.malformed);
	printf("other       %" PRIu64 "\n", st.other);
	printf("checksum    %" PRIu64 "\n", st.portsum);
	printf("elapsed     %.1f ms (CPU %.1f ms)\n", wall * 1e3, cpu * 1e3);
	printf("rate        %.0f packets/s\n",
	    wall > 0 ? (double)st.packets / wall : 0.0);
	free(st.t.slots);
	return 0;
}
