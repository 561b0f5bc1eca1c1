/* A bounded SYN flood for the live capture benchmark: raw IPv4 packets
 * (IPPROTO_RAW, so IP_HDRINCL) sent with sendmmsg in batches, each a TCP
 * SYN to DST:PORT from a source address spoofed from 198.18.0.0/16
 * (198.18.1.0 upwards, so never the benchmark's own 198.18.0.0/24), a
 * random source port and sequence number. Stops after N packets or T
 * seconds, whichever comes first; both are always bounded. Prints the
 * packets sent, the elapsed time and the rate.
 *
 * Usage: synblast [-n N] [-t SECS] [-s SOURCES] [-b BATCH] DST PORT
 *   -n N        packets to send (default 2000000, at most 10^10)
 *   -t SECS     at most this long (default 30, at most 600)
 *   -s SOURCES  distinct spoofed sources (default 10000, 1..65280)
 *   -b BATCH    packets per sendmmsg (default 64, 1..1024)
 * Needs CAP_NET_RAW. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN		44	/* IPv4 20 + TCP 20 + MSS option 4 */
#define MAX_BATCH	1024

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static inline uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Fill pkt with a SYN from src (host order) to dst:port (network order). */
static void
build(uint8_t *pkt, uint32_t src, uint32_t dst_n, uint16_t port_n)
{
	struct iphdr *ip = (struct iphdr *)(void *)pkt;
	struct tcphdr *th = (struct tcphdr *)(void *)(pkt + 20);
	uint8_t pseudo[12];
	uint32_t src_n = htonl(src), r = (uint32_t)next_rand(), sum;

	memset(pkt, 0, PKT_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(PKT_LEN);	/* the kernel fills it in too */
	ip->id = htons((uint16_t)r);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = src_n;
	ip->daddr = dst_n;		/* the IP checksum: the kernel's */
	th->source = htons((uint16_t)(1024 + (r >> 16) % 64000));
	th->dest = port_n;
	th->seq = htonl((uint32_t)(next_rand() >> 32));
	th->doff = 6;
	th->syn = 1;
	th->window = htons(64240);
	pkt[40] = 2;			/* MSS 1460 */
	pkt[41] = 4;
	pkt[42] = 1460 >> 8;
	pkt[43] = 1460 & 0xff;
	memcpy(pseudo, &src_n, 4);
	memcpy(pseudo + 4, &dst_n, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = PKT_LEN - 20;
	sum = sum16(pseudo, sizeof(pseudo), 0);
	sum = sum16(pkt + 20, PKT_LEN - 20, sum);
	th->check = htons(fold(sum));
}

static int
num(const char *s, const char *what, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi || s[0] == '-') {
		fprintf(stderr, "synblast: %s %s: want %" PRIu64 "..%" PRIu64 "\n",
		    what, s, lo, hi);
		return -1;
	}
	*ret = v;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: synblast [-n N] [-t SECS] [-s SOURCES] "
	    "[-b BATCH] DST PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static uint8_t pkts[MAX_BATCH][PKT_LEN];
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iovs[MAX_BATCH];
	uint64_t n = 2000000, secs = 30, nsrc = 10000, batch = 64, port, v;
	uint64_t sent = 0, enobufs = 0;
	struct sockaddr_in dst;
	struct sigaction sa;
	double t0, t1, deadline;
	int fd, c, i, k;

	while ((c = getopt(argc, argv, "n:t:s:b:")) != -1) {
		switch (c) {
		case 'n':
			if (num(optarg, "-n", 1, 10000000000ULL, &n) < 0)
				return 2;
			break;
		case 't':
			if (num(optarg, "-t", 1, 600, &secs) < 0)
				return 2;
			break;
		case 's':
			if (num(optarg, "-s", 1, 65280, &nsrc) < 0)
				return 2;
			break;
		case 'b':
			if (num(optarg, "-b", 1, MAX_BATCH, &batch) < 0)
				return 2;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1) {
		fprintf(stderr, "synblast: %s: not an IPv4 address\n", argv[optind]);
		return 2;
	}
	if (num(argv[optind + 1], "PORT", 1, 65535, &port) < 0)
		return 2;

	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) < 0) {
		perror("synblast: socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
		return 1;
	}
	v = 4 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){(int)v}, sizeof(int));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (i = 0; i < (int)batch; i++) {
		iovs[i].iov_base = pkts[i];
		iovs[i].iov_len = PKT_LEN;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}

	t0 = now();
	deadline = t0 + (double)secs;
	while (sent < n && !stop) {
		int want = (int)(n - sent < batch ? n - sent : batch);

		for (i = 0; i < want; i++) {
			/* 198.18.1.0 + k: sources 198.18.1.0 .. 198.18.255.255 */
			uint32_t src = (198u << 24 | 18u << 16 | 1u << 8) +
			    (uint32_t)(next_rand() % nsrc);

			build(pkts[i], src, dst.sin_addr.s_addr,
			    htons((uint16_t)port));
		}
		for (i = 0; i < want; i += k) {
			k = sendmmsg(fd, msgs + i, (unsigned)(want - i), 0);
			if (k < 0) {
				if (errno == EINTR && stop)
					break;
				if (errno == ENOBUFS || errno == EAGAIN) {
					/* A full queue: count, and retry. */
					enobufs++;
					k = 0;
					if (now() > deadline)
						break;
					continue;
				}
				perror("synblast: sendmmsg");
				return 1;
			}
			sent += (uint64_t)k;
		}
		/* The clock, once per batch: cheap enough. */
		if (now() > deadline)
			break;
	}
	t1 = now();
	close(fd);

	printf("sent        %" PRIu64 "\n", sent);
	printf("sources     %" PRIu64 " (198.18.1.0 upwards)\n", nsrc);
	printf("elapsed     %.3f s\n", t1 - t0);
	printf("rate        %.0f packets/s\n",
	    t1 > t0 ? (double)sent / (t1 - t0) : 0.0);
	printf("enobufs     %" PRIu64 "\n", enobufs);
	return 0;
}
