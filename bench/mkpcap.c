/* Generate a benchmark capture: a classic pcap file (LINKTYPE_ETHERNET,
 * microsecond timestamps, little-endian) of N small packets from about S
 * sources in 198.18.0.0/15 (and a few in 2001:db8::/32) to the victim
 * 198.19.255.1 (2001:db8:ffff::1), timestamps increasing over 60 s.
 *
 * The mix, per packet (about):
 *   54%  SYN from a client to one of a few service ports (80, 443, 22, 25,
 *        8080, 3306), with a real SYN's options (MSS, SACK, TS, WS);
 *   14%  the victim's answer to a recent probe, each answered at most once
 *        (most SYNs of the flood never are): SYN-ACK from an open port
 *        (22, 25, 80, 443), RST-ACK from a closed one, and RSTs to the
 *        scanners' FIN/NULL/Xmas/ACK probes as RFC 793 says;
 *   18%  an answered connection: the client's handshake-completing ACK
 *        first, then ACKs and PSH-ACKs with 1-200 bytes, both directions;
 *    3%  FIN-ACK or RST from a client, closing its connection;
 *    3%  probes from a few scanners (one per 2,000 sources, at least 6),
 *        each walking the ports 1-65535 in its own order with one kind:
 *        SYN, FIN, NULL, Xmas, ACK, UDP;
 *    8%  UDP: DNS queries (53) and half their answers, NTP client requests
 *        (123), random bytes to random high ports.
 * One source in 32 is an IPv6 address (2001:db8::/32), so about 3% of the
 * sources and packets are IPv6. Sources are skewed (source i of S drawn
 * with density ~ (i/S)^(-2/3): a few heavy talkers, a long tail, every
 * source seen at the defaults). IPv4, TCP and UDP checksums are correct.
 * The same N and S give the same bytes (a fixed seed).
 *
 * Usage: mkpcap [-n N] [-s S] OUT.pcap   (OUT "-" writes to stdout). */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEED		UINT64_C(0x5eed50c3a7c4)
#define START_SEC	1700000000u	/* 2023-11-14 22:13:20 UTC */
#define DURATION_US	60000000ull	/* 60 s */
#define SNAPLEN		262144u
#define LINKTYPE_ETHERNET 1u

#define NET4		0xc6120000u	/* 198.18.0.0/15 */
#define VICTIM4		0xc613ff01u	/* 198.19.255.1 */
/* Source offsets inside the /15: [0x100, 0x100 + SPAN4), which keeps clear
 * of 198.18.0.0/24 and of 198.19.255.0/24 (the victim's). */
#define SPAN4		0x1fd00u
#define MULT4		40503u		/* odd and prime to 509: a permutation */
#define MAX_SOURCES	SPAN4

#define PENDING		64		/* probes waiting for an answer */
#define CONNS		4096		/* answered connections */
#define MAX_FRAME	320

struct flow {
	uint32_t src;		/* source index */
	uint16_t sport, dport;
	uint32_t cseq, sseq;	/* next client and server sequence numbers */
	uint8_t probe;		/* pending: TH_SYN, TH_FIN (FIN/NULL/Xmas), TH_ACK */
	uint8_t established;	/* conns: the client has ACKed the SYN-ACK */
};

static uint64_t rng_state = SEED;

/* splitmix64: small, fast, good enough, and the same everywhere. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the bias is negligible for our n). */
static uint32_t
below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	return x ^ (x >> 33);
}

static int
is_v6(uint32_t src)
{
	return src % 32 == 7;
}

static uint32_t
src_addr4(uint32_t src)
{
	return NET4 + 0x100u + (uint32_t)(((uint64_t)src * MULT4 + 12345u) % SPAN4);
}

static void
src_addr6(uint32_t src, uint8_t a[16])
{
	uint64_t h = mix64(src);

	memset(a, 0, 16);
	a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
	a[4] = (uint8_t)(h >> 8); a[5] = (uint8_t)h;	/* a /48 per source */
	if (a[4] == 0xff && a[5] == 0xff)
		a[5] = 0xfe;		/* never the victim's /48 */
	a[14] = (uint8_t)(src >> 8); a[15] = (uint8_t)src;
	a[13] = (uint8_t)(src >> 16);
	a[8] = (uint8_t)(h >> 24);
	if (!(a[13] | a[14] | a[15]))
		a[15] = 1;
}

static const uint8_t victim6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
};
static const uint8_t mac_victim[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
static const uint8_t mac_router[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe };

/* Each source's operating system, by its initial TTL: Linux, Windows, or
 * a router-ish 255; minus a few hops. */
static uint8_t
src_ttl(uint32_t src)
{
	static const uint8_t base[4] = { 64, 64, 128, 255 };
	uint64_t h = mix64((uint64_t)src ^ 0x77);

	return (uint8_t)(base[h & 3] - 3 - (h >> 8) % 20);
}

/* Skewed source choice: index = S * u^3. The rarest source still gets
 * N / (3 S) of the packets on average. */
static uint32_t
pick_source(uint32_t nsrc)
{
	double u = (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
	uint32_t i = (uint32_t)(u * u * u * nsrc);

	return i < nsrc ? i : nsrc - 1;
}

static uint16_t
ephemeral(void)
{
	return (uint16_t)(32768 + below(28232));	/* Linux's range */
}

/* --- output -------------------------------------------------------- */

static FILE *out;
static const char *out_name;

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

static void
be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void
write_all(const void *p, size_t n)
{
	if (fwrite(p, 1, n, out) != n) {
		fprintf(stderr, "mkpcap: %s: %s\n", out_name, strerror(errno));
		exit(1);
	}
}

static void
write_global_header(void)
{
	uint8_t h[24];

	put32(h, 0xa1b2c3d4u);		/* microsecond timestamps */
	put16(h + 4, 2);
	put16(h + 6, 4);
	put32(h + 8, 0);		/* thiszone */
	put32(h + 12, 0);		/* sigfigs */
	put32(h + 16, SNAPLEN);
	put32(h + 20, LINKTYPE_ETHERNET);
	write_all(h, sizeof(h));
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* --- packets ------------------------------------------------------- */

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10
#define TH_URG	0x20

enum { PROTO_TCP = 6, PROTO_UDP = 17 };

struct pkt {
	uint32_t src;		/* source index of the remote peer */
	int inbound;		/* remote -> victim */
	uint8_t proto;
	uint16_t sport, dport;	/* on the wire, in the packet's direction */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	int syn_opts;		/* SYN options (20 bytes) instead of TS (12) */
	int no_opts;		/* bare 20-byte header (scanners) */
	uint16_t payload;
	const uint8_t *data;	/* payload bytes, or NULL for printable filler */
};

static uint64_t npkts = 1000000, nwritten;
static uint16_t ip_id;
static uint32_t tsval = 100000;

static void
emit(const struct pkt *p)
{
	uint8_t f[MAX_FRAME], rec[16];
	uint8_t *ip = f + 14, *l4;
	uint8_t saddr[16], daddr[16];
	size_t iplen, l4len, hlen, i;
	int v6 = is_v6(p->src);
	uint64_t ts, step = DURATION_US / npkts;
	uint32_t s;

	if (nwritten >= npkts)
		return;		/* exactly N, even mid-exchange */
	/* Evenly spread with jitter; strictly increasing while N <= 60 M. */
	ts = nwritten * DURATION_US / npkts + (step > 1 ? below((uint32_t)step) : 0);
	tsval = 100000 + (uint32_t)(ts / 1000);
	nwritten++;
	memset(f, 0, sizeof(f));
	memcpy(f, p->inbound ? mac_victim : mac_router, 6);
	memcpy(f + 6, p->inbound ? mac_router : mac_victim, 6);
	be16(f + 12, v6 ? 0x86dd : 0x0800);

	if (v6) {
		src_addr6(p->src, p->inbound ? saddr : daddr);
		memcpy(p->inbound ? daddr : saddr, victim6, 16);
	} else {
		be32(p->inbound ? saddr : daddr, src_addr4(p->src));
		be32(p->inbound ? daddr : saddr, VICTIM4);
	}
	iplen = v6 ? 40 : 20;
	l4 = ip + iplen;

	if (p->proto == PROTO_TCP) {
		uint8_t *o = l4 + 20;

		if (p->no_opts) {
			hlen = 20;
		} else if (p->syn_opts) {
			hlen = 40;	/* MSS, SACK_PERM, TS, NOP, WS */
			o[0] = 2; o[1] = 4; be16(o + 2, v6 ? 1440 : 1460);
			o[4] = 4; o[5] = 2;
			o[6] = 8; o[7] = 10; be32(o + 8, tsval);
			be32(o + 12, (p->flags & TH_ACK) ? tsval - 7 : 0);
			o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
		} else {
			hlen = 32;	/* NOP, NOP, TS */
			o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
			be32(o + 4, tsval); be32(o + 8, tsval - 11);
		}
		be16(l4, p->sport);
		be16(l4 + 2, p->dport);
		be32(l4 + 4, p->seq);
		be32(l4 + 8, p->ack);
		l4[12] = (uint8_t)(hlen / 4 << 4);
		l4[13] = p->flags;
		be16(l4 + 14, p->win);
		/* checksum at 16, urgent pointer at 18 */
	} else {
		hlen = 8;
		be16(l4, p->sport);
		be16(l4 + 2, p->dport);
	}
	l4len = hlen + p->payload;
	if (p->data)
		memcpy(l4 + hlen, p->data, p->payload);
	else if (p->payload) {
		/* Printable text, one line (ending in CRLF when it can). */
		for (i = 0; i < p->payload; i++)
			l4[hlen + i] = (uint8_t)(0x20 + (i * 7 + p->seq) % 95);
		if (p->payload >= 2)
			memcpy(l4 + hlen + p->payload - 2, "\r\n", 2);
	}
	if (p->proto == PROTO_UDP)
		be16(l4 + 4, (uint32_t)l4len);

	if (v6) {
		be32(ip, 0x60000000u | (uint32_t)(mix64(p->sport) & 0xfffff));
		be16(ip + 4, (uint32_t)l4len);
		ip[6] = p->proto;
		ip[7] = p->inbound ? src_ttl(p->src) : 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		s = sum16(saddr, 16, 0);
		s = sum16(daddr, 16, s);
	} else {
		ip[0] = 0x45;
		be16(ip + 2, (uint32_t)(20 + l4len));
		be16(ip + 4, ip_id++);
		be16(ip + 6, 0x4000);		/* DF */
		ip[8] = p->inbound ? src_ttl(p->src) : 64;
		ip[9] = p->proto;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		be16(ip + 10, fold(sum16(ip, 20, 0)));
		s = sum16(saddr, 4, 0);
		s = sum16(daddr, 4, s);
	}
	s += p->proto;
	s += (uint32_t)l4len;
	s = sum16(l4, l4len, s);
	{
		uint16_t c = fold(s);

		if (p->proto == PROTO_UDP && c == 0)
			c = 0xffff;
		be16(l4 + (p->proto == PROTO_TCP ? 16 : 6), c);
	}

	{
		size_t len = 14 + iplen + l4len;

		put32(rec, START_SEC + (uint32_t)(ts / 1000000));
		put32(rec + 4, (uint32_t)(ts % 1000000));
		put32(rec + 8, (uint32_t)len);
		put32(rec + 12, (uint32_t)len);
		write_all(rec, sizeof(rec));
		write_all(f, len);
	}
}

/* --- the traffic model --------------------------------------------- */

static const uint16_t svc_ports[] = { 80, 443, 443, 443, 80, 22, 25, 8080, 3306 };
#define NSVC (sizeof(svc_ports) / sizeof(svc_ports[0]))

/* Open on the victim: everything else answers RST. */
static int
port_open(uint16_t port)
{
	return port == 22 || port == 25 || port == 80 || port == 443;
}

/* Probes waiting for the victim's answer, oldest first; when SYNs come
 * faster than answers (they do: a flood), the oldest go unanswered. */
static struct flow pending[PENDING];
static uint32_t pend_head, pend_len;
/* Answered connections: handshake pending or established. */
static struct flow conns[CONNS];
static uint32_t nconns;

enum scan_kind { SCAN_SYN, SCAN_FIN, SCAN_NULL, SCAN_XMAS, SCAN_ACK, SCAN_UDP };
#define NKINDS 6

struct scanner {
	uint32_t src;
	enum scan_kind kind;
	uint32_t next;		/* probes sent */
	uint32_t start, step;	/* port = (start + next * step) % 65535 + 1 */
	uint16_t sport;
};

static struct scanner *scanners;
static uint32_t nscanners;

static void
expect_reply(const struct flow *f)
{
	if (pend_len == PENDING) {
		pend_head = (pend_head + 1) % PENDING;
		pend_len--;
	}
	pending[(pend_head + pend_len++) % PENDING] = *f;
}

static void
syn(uint32_t src, uint16_t dport, uint16_t sport, int scan)
{
	struct pkt p = { 0 };
	struct flow f = { 0 };

	p.src = src;
	p.inbound = 1;
	p.proto = PROTO_TCP;
	p.sport = sport;
	p.dport = dport;
	p.flags = TH_SYN;
	p.seq = (uint32_t)rnd();
	p.win = scan ? 1024 : 64240;
	p.syn_opts = !scan;
	p.no_opts = scan;
	emit(&p);
	f.src = src;
	f.sport = sport;
	f.dport = dport;
	f.cseq = p.seq + 1;
	f.probe = TH_SYN;
	expect_reply(&f);
}

/* The victim answers the oldest pending probe: SYN-ACK from an open port,
 * RST otherwise (RFC 793: FIN, NULL and Xmas probes get a RST only from a
 * closed port, an ACK probe always does). */
static void
reply(void)
{
	struct pkt p = { 0 };
	struct flow f;

	if (pend_len == 0)
		return;
	f = pending[pend_head];
	pend_head = (pend_head + 1) % PENDING;
	pend_len--;
	p.src = f.src;
	p.inbound = 0;
	p.proto = PROTO_TCP;
	p.sport = f.dport;
	p.dport = f.sport;
	p.no_opts = 1;
	if (f.probe == TH_ACK) {
		p.flags = TH_RST;
		p.seq = f.sseq;
	} else if (f.probe != TH_SYN && port_open(f.dport)) {
		return;
	} else if (f.probe != TH_SYN || !port_open(f.dport)) {
		p.flags = TH_RST | TH_ACK;
		p.ack = f.cseq;
	} else {
		struct flow *c = &conns[nconns < CONNS ? nconns++ : below(CONNS)];

		p.flags = TH_SYN | TH_ACK;
		p.seq = (uint32_t)rnd();
		p.ack = f.cseq;
		p.win = 65160;
		p.no_opts = 0;
		p.syn_opts = 1;
		*c = f;
		c->sseq = p.seq + 1;
		c->established = 0;
	}
	emit(&p);
}

/* A packet on an answered connection: the client's ACK completing the
 * handshake first, then data and ACKs both ways, or the client's close. */
static void
established(int closing)
{
	struct pkt p = { 0 };
	uint32_t ci;
	struct flow *c;
	int from_client;

	if (nconns == 0)
		return;
	ci = below(nconns);
	c = &conns[ci];
	from_client = closing || !c->established || below(2) == 0;
	p.src = c->src;
	p.inbound = from_client;
	p.proto = PROTO_TCP;
	p.sport = from_client ? c->sport : c->dport;
	p.dport = from_client ? c->dport : c->sport;
	p.seq = from_client ? c->cseq : c->sseq;
	p.ack = from_client ? c->sseq : c->cseq;
	p.win = 501;
	if (!c->established) {
		p.flags = TH_ACK;
		c->established = 1;
	} else if (closing) {
		p.flags = below(3) ? TH_FIN | TH_ACK : TH_RST | TH_ACK;
		*c = conns[--nconns];
	} else if (below(5) < 2) {
		p.flags = TH_ACK;
	} else {
		p.flags = TH_PSH | TH_ACK;
		p.payload = (uint16_t)(1 + below(200));
		if (from_client)
			c->cseq += p.payload;
		else
			c->sseq += p.payload;
	}
	emit(&p);
}

static void
scan_probe(void)
{
	struct scanner *sc = &scanners[below(nscanners)];
	uint16_t port = (uint16_t)((sc->start + (uint64_t)sc->next * sc->step)
	    % 65535 + 1);
	struct pkt p = { 0 };
	struct flow f = { 0 };

	sc->next++;
	if (sc->kind == SCAN_SYN) {
		/* nmap -sS: one source port per scan, no options. */
		syn(sc->src, port, sc->sport, 1);
		return;
	}
	p.src = sc->src;
	p.inbound = 1;
	p.sport = sc->sport;
	p.dport = port;
	if (sc->kind == SCAN_UDP) {
		p.proto = PROTO_UDP;
		emit(&p);
		return;
	}
	p.proto = PROTO_TCP;
	p.no_opts = 1;
	p.win = 1024;
	switch (sc->kind) {
	case SCAN_FIN: p.flags = TH_FIN; break;
	case SCAN_NULL: p.flags = 0; break;
	case SCAN_XMAS: p.flags = TH_FIN | TH_PSH | TH_URG; break;
	default: p.flags = TH_ACK; p.ack = (uint32_t)rnd(); break;
	}
	if (p.flags != TH_ACK)
		p.seq = (uint32_t)rnd();
	emit(&p);
	f.src = sc->src;
	f.sport = p.sport;
	f.dport = p.dport;
	f.cseq = p.seq + (p.flags & TH_FIN ? 1 : 0);
	f.sseq = p.ack;
	f.probe = p.flags == TH_ACK ? TH_ACK : TH_FIN;
	expect_reply(&f);
}

/* A DNS query for one of a few names, type A, recursion desired; and the
 * answer (one A record) when `answer`. Returns its length. */
static uint16_t
dns(uint8_t *d, uint16_t id, uint32_t name, int answer)
{
	static const char *const names[] = {
		"\3www\7example\3com", "\4mail\7example\3org",
		"\3api\7example\3net", "\2ns\4test",
	};
	const char *q = names[name % 4];
	size_t ql = strlen(q) + 1, n;

	be16(d, id);
	be16(d + 2, answer ? 0x8180 : 0x0100);
	be16(d + 4, 1);
	be16(d + 6, answer ? 1 : 0);
	be16(d + 8, 0);
	be16(d + 10, 0);
	memcpy(d + 12, q, ql);
	n = 12 + ql;
	be16(d + n, 1);			/* A */
	be16(d + n + 2, 1);		/* IN */
	n += 4;
	if (answer) {
		be16(d + n, 0xc00c);	/* the name above */
		be16(d + n + 2, 1);
		be16(d + n + 4, 1);
		be32(d + n + 6, 300);
		be16(d + n + 10, 4);
		be32(d + n + 12, 0xc0000200u + 10 + name);	/* 192.0.2.x */
		n += 16;
	}
	return (uint16_t)n;
}

static void
udp(uint32_t src)
{
	struct pkt p = { 0 };
	uint8_t d[64];
	uint32_t r = below(10), name = below(4);
	uint16_t id = (uint16_t)rnd();

	p.src = src;
	p.proto = PROTO_UDP;
	p.inbound = 1;
	p.sport = ephemeral();
	p.data = d;
	if (r < 5) {			/* DNS, and half the time its answer */
		p.dport = 53;
		p.payload = dns(d, id, name, 0);
	} else if (r < 7) {		/* an NTPv4 client request */
		memset(d, 0, 48);
		d[0] = 0x23;
		be32(d + 40, (uint32_t)rnd());
		p.sport = 123;
		p.dport = 123;
		p.payload = 48;
	} else {			/* something else, somewhere high */
		uint32_t i;

		p.dport = (uint16_t)(1024 + below(64512));
		p.payload = (uint16_t)below(64);
		for (i = 0; i < p.payload; i++)
			d[i] = (uint8_t)rnd();
	}
	emit(&p);
	if (r < 5 && below(2)) {
		uint16_t t = p.sport;

		p.inbound = 0;
		p.sport = p.dport;
		p.dport = t;
		p.payload = dns(d, id, name, 1);
		emit(&p);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: mkpcap [-n PACKETS] [-s SOURCES] OUT.pcap\n"
	    "  -n  packets to write (default 1000000)\n"
	    "  -s  about how many distinct sources (default 10000, at most %u)\n",
	    (unsigned)MAX_SOURCES);
	exit(2);
}

static unsigned long
number(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "mkpcap: %s: not a number in [%lu, %lu]\n",
		    s, lo, hi);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static char buf[1 << 20];
	uint32_t nsrc = 10000, i;
	int c;

	while ((c = getopt(argc, argv, "n:s:h")) != -1) {
		switch (c) {
		case 'n':
			npkts = number(optarg, 1, 4000000000ul);
			break;
		case 's':
			nsrc = (uint32_t)number(optarg, 16, MAX_SOURCES);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	out_name = argv[optind];
	if (strcmp(out_name, "-") == 0) {
		out = stdout;
		out_name = "stdout";
	} else if (!(out = fopen(out_name, "wb"))) {
		fprintf(stderr, "mkpcap: %s: %s\n", out_name, strerror(errno));
		return 1;
	}
	setvbuf(out, buf, _IOFBF, sizeof(buf));

	/* A few scanners, one per 2,000 sources but at least one of each
	 * kind; spread over the index range, IPv4 only. */
	nscanners = nsrc / 2000 < NKINDS ? NKINDS : nsrc / 2000;
	if (nscanners > 64)
		nscanners = 64;
	scanners = calloc(nscanners, sizeof(*scanners));
	if (!scanners) {
		perror("mkpcap");
		return 1;
	}
	for (i = 0; i < nscanners; i++) {
		struct scanner *sc = &scanners[i];

		sc->src = (uint32_t)((uint64_t)nsrc * (2 * i + 1) / (2 * nscanners));
		if (is_v6(sc->src))
			sc->src++;
		sc->kind = (enum scan_kind)(i % NKINDS);
		sc->start = below(65535);
		/* Coprime with 65535 = 3 * 5 * 17 * 257: a permutation. */
		do
			sc->step = 1 + below(65534);
		while (sc->step % 3 == 0 || sc->step % 5 == 0 ||
		    sc->step % 17 == 0 || sc->step % 257 == 0);
		sc->sport = ephemeral();
	}

	write_global_header();
	while (nwritten < npkts) {
		uint32_t r = below(100);

		if (r >= 54 && r < 68 && pend_len)
			reply();
		else if (r >= 68 && r < 86 && nconns)
			established(0);
		else if (r >= 86 && r < 89 && nconns)
			established(1);
		else if (r >= 89 && r < 92)
			scan_probe();
		else if (r >= 92)
			udp(pick_source(nsrc));
		else	/* a SYN, or nothing to answer yet */
			syn(pick_source(nsrc), svc_ports[below(NSVC)],
			    ephemeral(), 0);
	}
	if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
		fprintf(stderr, "mkpcap: %s: %s\n", out_name, strerror(errno));
		return 1;
	}
	return 0;
}
