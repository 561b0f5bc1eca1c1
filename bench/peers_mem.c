/* The peer table under load, two measurements:
 *
 *   peers_mem flood [N [MAX]]  N spoofed random IPv4 sources (1,000,000)
 *                              through a MAX-entry table (100,000): peak
 *                              RSS against the table's documented bytes.
 *   peers_mem mix [PKTS]       a realistic mix from 10,000 sources: ns per
 *                              peers_observe.
 *
 * The bench link rule links no library, so the table is compiled in. */
#include "../monitor/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SOURCES	10000

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static struct peers *
table(size_t max)
{
	struct peers_conf c = { max, PEERS_DEFAULT_WINDOW_MS,
	    0x5eed5eed5eedULL, 0 };
	struct peers *t;

	if (peers_new(&c, &t) != 0) {
		fprintf(stderr, "peers_new failed\n");
		exit(1);
	}
	return t;
}

static int
flood(unsigned long n, size_t max)
{
	struct peer_obs o;
	struct peers *t;
	uint64_t s = 42;
	long rss0, rss1;
	double t0, t1;
	unsigned long i;

	rss0 = maxrss_kb();
	t = table(max);
	memset(&o, 0, sizeof(o));
	o.peer.family = AF_INET;
	o.local.family = AF_INET;
	o.local.u.v4.s_addr = htonl(0xc6120001);	/* 198.18.0.1 */
	o.proto = IPPROTO_TCP;
	o.inbound = true;
	o.tcp_flags = TH_SYN;
	o.bytes = 40;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		o.now_ms = (int64_t)(i / 300);	/* 300,000 pps */
		o.peer.u.v4.s_addr = (uint32_t)rnd(&s);
		o.lport = (uint16_t)(rnd(&s) % 1024);
		peers_observe(t, &o, NULL, NULL);
	}
	t1 = now_ns();
	rss1 = maxrss_kb();
	printf("flood: %lu spoofed sources, max_peers %zu\n", n, max);
	printf("  entries %zu, evictions %llu\n", peers_count(t),
	    (unsigned long long)peers_evictions(t));
	printf("  table bytes (peers_memory_bytes) %zu = %.1f MiB\n",
	    peers_memory_bytes(t), peers_memory_bytes(t) / 1048576.0);
	printf("  peak RSS before table %ld KiB, after flood %ld KiB, "
	    "growth %.1f MiB\n", rss0, rss1, (rss1 - rss0) / 1024.0);
	printf("  %.1f ns per packet (new peer or eviction each time)\n",
	    (t1 - t0) / n);
	peers_free(t);
	return 0;
}

/* One packet of the mix, from source index src. */
static void
mix_packet(struct peer_obs *o, uint64_t *s, unsigned int src, int64_t now)
{
	unsigned int r = (unsigned int)(rnd(s) % 1000);

	memset(o, 0, sizeof(*o));
	o->now_ms = now;
	o->peer.family = AF_INET;
	o->peer.u.v4.s_addr = htonl(0xc6130000u + src);	/* 198.19/16 */
	o->local.family = AF_INET;
	o->local.u.v4.s_addr = htonl(0xc6120001);
	o->proto = IPPROTO_TCP;
	o->lport = (uint16_t)(r & 1 ? 443 : 80);
	o->lport_open = true;
	o->bytes = 1500;
	if (src < 20 && r < 600) {
		/* 20 scanners: SYNs to random ports, RSTs back. */
		o->lport = (uint16_t)rnd(s);
		o->lport_open = false;
		o->inbound = r & 1;
		o->tcp_flags = o->inbound ? TH_SYN : TH_RST | TH_ACK;
		o->bytes = 40;
	} else if (r < 430) {			/* data in */
		o->inbound = true;
		o->tcp_flags = TH_ACK | TH_PUSH;
	} else if (r < 860) {			/* data or ACKs out */
		o->tcp_flags = TH_ACK;
		o->bytes = r < 700 ? 1500 : 52;
	} else if (r < 900) {			/* handshakes */
		o->inbound = r < 880;
		o->tcp_flags = r < 870 ? TH_SYN : r < 880 ? TH_ACK :
		    TH_SYN | TH_ACK;
		o->bytes = 60;
	} else if (r < 940) {			/* DNS to 53 and back */
		o->proto = IPPROTO_UDP;
		o->lport = 53;
		o->inbound = r < 920;
		o->bytes = 80;
	} else if (r < 950) {			/* pings and unreachables */
		o->proto = IPPROTO_ICMP;
		o->inbound = r < 945;
		o->icmp_type = o->inbound ? 8 : 3;
		o->bytes = 84;
	} else {				/* closing */
		o->inbound = r & 1;
		o->tcp_flags = TH_FIN | TH_ACK;
		o->bytes = 52;
	}
}

static int
mix(unsigned long n)
{
	static double cdf[SOURCES];
	struct peer_obs *v;
	struct peers *t;
	double sum = 0, u, t0, t1, best = 0;
	unsigned long i;
	unsigned int lo, hi, mid, k;
	uint64_t s = 7;

	/* Zipf (s = 1) popularity over the sources. */
	for (i = 0; i < SOURCES; i++)
		cdf[i] = sum += 1.0 / (i + 1);
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		u = (rnd(&s) >> 11) * (1.0 / 9007199254740992.0) * sum;
		for (lo = 0, hi = SOURCES - 1; lo < hi;) {
			mid = (lo + hi) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		mix_packet(&v[i], &s, lo, (int64_t)(i / 300));
	}
	t = table(PEERS_DEFAULT_MAX);
	/* Five passes, time moving on; the best pass is reported. */
	for (k = 0; k < 5; k++) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			v[i].now_ms += (int64_t)k * (int64_t)(n / 300 + 1);
			peers_observe(t, &v[i], NULL, NULL);
		}
		t1 = now_ns();
		if (k == 0 || (t1 - t0) / n < best)
			best = (t1 - t0) / n;
	}
	printf("mix: %lu packets from %u sources (Zipf), %zu peers\n", n,
	    SOURCES, peers_count(t));
	printf("  %.1f ns per peers_observe (best of 5 passes)\n", best);
	peers_free(t);
	free(v);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "flood") == 0)
		return flood(argc >= 3 ? strtoul(argv[2], NULL, 10) : 1000000,
		    argc >= 4 ? strtoul(argv[3], NULL, 10) : PEERS_DEFAULT_MAX);
	if (argc >= 2 && strcmp(argv[1], "mix") == 0)
		return mix(argc >= 3 ? strtoul(argv[2], NULL, 10) : 1000000);
	fprintf(stderr, "usage: peers_mem flood [N [MAX]] | mix [PKTS]\n");
	return 2;
}
