#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../common/addr.h"
#include "../../monitor/peers.h"

#define FIN	0x01
#define SYN	0x02
#define RST	0x04
#define PSH	0x08
#define ACK	0x10
#define URG	0x20

static struct peers *
table(size_t max, int64_t window_ms, uint64_t seed, size_t user_bytes)
{
	struct peers_conf c = { max, window_ms, seed, user_bytes };
	struct peers *t = NULL;

	assert_int_equal(peers_new(&c, &t), 0);
	assert_non_null(t);
	return t;
}

static struct addr
A(const char *s)
{
	struct addr a;

	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static struct peer_obs
pkt(const char *peer, const char *local, int64_t now, uint8_t proto,
    bool inbound, uint16_t lport, uint8_t flags, uint32_t bytes)
{
	struct peer_obs o;

	memset(&o, 0, sizeof(o));
	o.now_ms = now;
	o.peer = A(peer);
	o.local = A(local);
	o.proto = proto;
	o.inbound = inbound;
	o.lport = lport;
	o.tcp_flags = flags;
	o.bytes = bytes;
	return o;
}

static unsigned int
see(struct peers *t, const struct peer_obs *o)
{
	unsigned int ev = 0;

	assert_int_equal(peers_observe(t, o, NULL, &ev), 0);
	return ev;
}

/* One TCP segment to or from 198.18.0.1. */
static unsigned int
tcp(struct peers *t, const char *peer, int64_t now, bool in, uint16_t lport,
    uint8_t flags, bool open)
{
	struct peer_obs o = pkt(peer, "198.18.0.1", now, IPPROTO_TCP, in,
	    lport, flags, 60);

	o.lport_open = open;
	return see(t, &o);
}

static void
stats(struct peers *t, const char *peer, int64_t now, struct peer_stats *st)
{
	struct addr a = A(peer);
	const struct peer *p = peers_find(t, &a);

	assert_non_null(p);
	peers_stats(t, p, now, st);
}

static void
test_counters(void **state)
{
	struct peers *t = table(16, 10000, 1, 0);
	struct peer_stats st;
	struct peer_obs o;
	unsigned int ev;

	(void)state;
	ev = tcp(t, "198.18.0.10", 1000, true, 22, SYN, true);
	assert_int_equal(ev, PEER_EV_NEW | PEER_EV_SYN | PEER_EV_PROBE |
	    PEER_EV_NEW_PORT | PEER_EV_NEW_HOST);
	assert_int_equal(tcp(t, "198.18.0.10", 1001, false, 22, SYN | ACK,
	    true), PEER_EV_SYNACK);
	assert_int_equal(tcp(t, "198.18.0.10", 1002, true, 22, ACK, true),
	    PEER_EV_HS_DONE);
	o = pkt("198.18.0.10", "198.18.0.1", 1003, IPPROTO_TCP, true, 22,
	    PSH | ACK, 1000);
	assert_int_equal(see(t, &o), 0);
	o = pkt("198.18.0.10", "198.18.0.1", 1004, IPPROTO_TCP, false, 22,
	    PSH | ACK, 3000);
	assert_int_equal(see(t, &o), 0);
	/* Refused: SYN to a closed port, our RST. */
	assert_int_equal(tcp(t, "198.18.0.10", 1005, true, 23, SYN, false),
	    PEER_EV_SYN | PEER_EV_PROBE | PEER_EV_NEW_PORT);
	assert_int_equal(tcp(t, "198.18.0.10", 1006, false, 23, RST | ACK,
	    false), PEER_EV_RST | PEER_EV_HS_FAILED);
	/* A SYN scan of an open port: SYN, SYN-ACK, the peer's RST. */
	assert_int_equal(tcp(t, "198.18.0.10", 1007, true, 22, SYN, true),
	    PEER_EV_SYN | PEER_EV_PROBE);
	tcp(t, "198.18.0.10", 1008, false, 22, SYN | ACK, true);
	assert_int_equal(tcp(t, "198.18.0.10", 1009, true, 22, RST, true),
	    PEER_EV_HS_FAILED);
	/* UDP to a closed port, our ICMP port unreachable. */
	o = pkt("198.18.0.10", "198.18.0.1", 1010, IPPROTO_UDP, true, 161, 0,
	    40);
	assert_int_equal(see(t, &o), PEER_EV_PROBE | PEER_EV_NEW_PORT |
	    PEER_EV_UDP_CLOSED);
	o = pkt("198.18.0.10", "198.18.0.1", 1011, IPPROTO_ICMP, false, 0, 0,
	    68);
	o.icmp_type = 3;
	o.icmp_code = 3;
	assert_int_equal(see(t, &o), PEER_EV_UNREACH);

	stats(t, "198.18.0.10", 1011, &st);
	assert_int_equal(st.first_ms, 1000);
	assert_int_equal(st.last_ms, 1011);
	assert_int_equal(st.pkts_in, 7);
	assert_int_equal(st.pkts_out, 5);
	assert_int_equal(st.bytes_in, 60 * 5 + 1000 + 40);
	assert_int_equal(st.bytes_out, 60 * 3 + 3000 + 68);
	assert_int_equal(st.syns, 3);
	assert_int_equal(st.synacks, 2);
	assert_int_equal(st.rsts, 1);
	assert_int_equal(st.udp_closed, 1);
	assert_int_equal(st.icmp_unreach, 1);
	assert_int_equal(st.ports, 3);
	assert_true(st.ports_exact);
	assert_int_equal(st.hosts, 1);
	assert_int_equal(st.syns_window, 3);
	assert_int_equal(st.closed_window, 2);	/* 23/tcp, 161/udp */
	assert_int_equal(st.kinds, PEER_KIND_SYN | PEER_KIND_UDP);
	assert_int_equal(st.nports, 2);
	assert_int_equal(st.port[0].port, 22);
	assert_int_equal(st.port[0].syns, 2);
	assert_int_equal(st.port[0].completed, 1);
	assert_int_equal(st.port[0].failed, 1);
	assert_int_equal(st.port[1].port, 23);
	assert_int_equal(st.port[1].syns, 1);
	assert_int_equal(st.port[1].completed, 0);
	assert_int_equal(st.port[1].failed, 1);
	assert_int_equal(st.nsamples, 3);
	assert_int_equal(st.sample[0], 161);
	assert_int_equal(st.sample[1], 23);
	assert_int_equal(st.sample[2], 22);
	assert_int_equal(peers_count(t), 1);
	peers_free(t);
}

/* The host as a client: replies to its own connections and queries are
 * traffic, not probes, whatever local port they come back to. */
static void
test_replies_are_not_probes(void **state)
{
	struct peers *t = table(16, 10000, 2, 0);
	struct peer_stats st;
	struct peer_obs o;
	unsigned int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		tcp(t, "198.18.5.5", 1000 + i, false, (uint16_t)(40000 + i), SYN,
		    true);
		tcp(t, "198.18.5.5", 1000 + i, true, (uint16_t)(40000 + i),
		    SYN | ACK, true);
		tcp(t, "198.18.5.5", 1000 + i, false, (uint16_t)(40000 + i),
		    ACK, true);
		tcp(t, "198.18.5.5", 1000 + i, true, (uint16_t)(40000 + i),
		    PSH | ACK, false);
		o = pkt("198.18.5.6", "198.18.0.1", 1000 + i, IPPROTO_UDP,
		    false, (uint16_t)(50000 + i), 0, 60);
		see(t, &o);
		o.inbound = true;
		assert_int_equal(see(t, &o), 0);
	}
	stats(t, "198.18.5.5", 1100, &st);
	assert_int_equal(st.ports, 0);
	assert_int_equal(st.syns, 0);
	assert_int_equal(st.kinds, 0);
	stats(t, "198.18.5.6", 1100, &st);
	assert_int_equal(st.ports, 0);
	assert_int_equal(st.udp_closed, 0);
	peers_free(t);
}

static void
test_probe_kinds(void **state)
{
	static const struct {
		uint8_t flags;
		bool open;
		uint16_t kind;		/* 0: not a probe */
	} c[] = {
		{ 0, false, PEER_KIND_NULL },
		{ FIN, false, PEER_KIND_FIN },
		{ FIN | PSH | URG, false, PEER_KIND_XMAS },
		{ ACK, false, PEER_KIND_ACK },
		{ FIN | ACK, false, PEER_KIND_MAIMON },
		{ SYN, true, PEER_KIND_SYN },
		{ PSH | ACK, false, PEER_KIND_OTHER },
		{ ACK, true, 0 },	/* an open port's traffic */
		{ RST, false, 0 },
		{ SYN | ACK, false, 0 },	/* backscatter */
	};
	struct peer_stats st;
	struct peers *t;
	unsigned int i, ev;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		t = table(4, 10000, 3, 0);
		ev = tcp(t, "2001:db8::7", 5000, true, 1000, c[i].flags,
		    c[i].open);
		stats(t, "2001:db8::7", 5000, &st);
		assert_int_equal(st.kinds, c[i].kind);
		assert_int_equal(!!(ev & PEER_EV_PROBE), c[i].kind != 0);
		assert_int_equal(st.ports, c[i].kind != 0 ? 1 : 0);
		if (c[i].kind != 0)
			assert_string_not_equal(peers_kind_name(c[i].kind),
			    "?");
		peers_free(t);
	}
	assert_string_equal(peers_kind_name(PEER_KIND_XMAS), "xmas");
	assert_string_equal(peers_kind_name(3), "?");
}

static void
test_distinct_exact(void **state)
{
	struct peers *t = table(4, 10000, 4, 0);
	const struct peer *p = NULL;
	struct peer_obs o;
	char local[32];
	bool exact;
	unsigned int i, ev;

	(void)state;
	for (i = 0; i < PEERS_EXACT_PORTS; i++) {
		ev = tcp(t, "198.18.0.20", 2000, true, (uint16_t)(100 + i),
		    SYN, false);
		assert_true(ev & PEER_EV_NEW_PORT);
		/* A repeat is not new. */
		ev = tcp(t, "198.18.0.20", 2000, true, (uint16_t)(100 + i),
		    SYN, false);
		assert_false(ev & PEER_EV_NEW_PORT);
	}
	p = peers_find(t, &(struct addr){ 0 });
	assert_null(p);
	o = pkt("198.18.0.20", "198.18.0.1", 2000, IPPROTO_TCP, true, 1, 0,
	    40);
	o.tcp_flags = SYN;
	o.lport = 100;
	assert_int_equal(peers_observe(t, &o, &p, NULL), 0);
	assert_int_equal(peers_distinct_ports(t, p, 2000, &exact),
	    PEERS_EXACT_PORTS);
	assert_true(exact);
	/* One more overflows into the sketch, still about right. */
	tcp(t, "198.18.0.20", 2000, true, 5000, SYN, false);
	i = peers_distinct_ports(t, p, 2000, &exact);
	assert_false(exact);
	assert_in_range(i, (PEERS_EXACT_PORTS + 1) * (1 - PEERS_SKETCH_ERROR),
	    (PEERS_EXACT_PORTS + 1) * (1 + PEERS_SKETCH_ERROR));

	/* Hosts: a sweep over 198.18.1.0/24, one port. */
	for (i = 0; i < PEERS_EXACT_HOSTS; i++) {
		snprintf(local, sizeof(local), "198.18.1.%u", i + 1);
		o = pkt("198.18.0.21", local, 2000, IPPROTO_TCP, true, 80, SYN,
		    40);
		assert_true(see(t, &o) & PEER_EV_NEW_HOST);
	}
	o = pkt("198.18.0.21", "198.18.1.1", 2000, IPPROTO_ICMP, true, 0, 0,
	    84);
	o.icmp_type = 8;
	assert_int_equal(see(t, &o), PEER_EV_PROBE);
	assert_int_equal(peers_observe(t, &o, &p, NULL), 0);
	assert_int_equal(peers_distinct_hosts(t, p, 2000, &exact),
	    PEERS_EXACT_HOSTS);
	assert_true(exact);
	assert_int_equal(peers_distinct_ports(t, p, 2000, &exact), 1);
	peers_free(t);
}

/* Feed n distinct ports (or hosts) from one peer; the relative error. */
static double
estimate_error(uint64_t seed, unsigned int n, bool hosts)
{
	struct peers *t = table(4, 10000, seed, 0);
	const struct peer *p = NULL;
	struct peer_obs o;
	unsigned int i;
	uint32_t got;
	bool exact = true;

	o = pkt("198.18.0.30", "198.18.0.1", 3000, IPPROTO_TCP, true, 0, SYN,
	    40);
	for (i = 0; i < n; i++) {
		if (hosts) {
			o.local.u.v4.s_addr = htonl(0xc6120000u + i);
			o.lport = 80;
		} else {
			o.lport = (uint16_t)(i + 1);
		}
		assert_int_equal(peers_observe(t, &o, &p, NULL), 0);
	}
	got = hosts ? peers_distinct_hosts(t, p, 3000, &exact) :
	    peers_distinct_ports(t, p, 3000, &exact);
	assert_false(exact);
	peers_free(t);
	return ((double)got - n) / n;
}

static void
test_distinct_estimate(void **state)
{
	static const unsigned int sizes[] = { 40, 100, 1000, 60000 };
	double e, sum;
	unsigned int i, s;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sum = 0;
		for (s = 1; s <= 20; s++) {
			e = estimate_error(s * 7919, sizes[i], false);
			/* Every estimate within the stated bound (3 sigma). */
			assert_true(e < PEERS_SKETCH_ERROR &&
			    e > -PEERS_SKETCH_ERROR);
			sum += e < 0 ? -e : e;
		}
		/* And on average within one standard error (9.2%). */
		assert_true(sum / 20 < 0.092);
	}
	e = estimate_error(99, 1000, true);
	assert_true(e < PEERS_SKETCH_ERROR && e > -PEERS_SKETCH_ERROR);
	e = estimate_error(99, 100000, true);
	assert_true(e < PEERS_SKETCH_ERROR && e > -PEERS_SKETCH_ERROR);
}

/* The exact port set against a plain model, over both of its blocks:
 * 30 ports (never a sketch), seen at random in a 1 s window with gaps
 * that let some expire. A port is new when the model has not seen it
 * within the window, and the count is the model's. */
static void
test_distinct_model(void **state)
{
	struct peers *t = table(4, 1000, 6, 0);
	int64_t last[30], now = 50000;
	const struct peer *p = NULL;
	struct peer_obs o;
	uint64_t r = 0x9e3779b97f4a7c15ULL;
	unsigned int i, k, live, ev;
	bool exact, fresh;

	(void)state;
	for (k = 0; k < 30; k++)
		last[k] = INT64_MIN / 2;
	o = pkt("198.18.0.35", "198.18.0.1", now, IPPROTO_TCP, true, 0, SYN,
	    40);
	for (i = 0; i < 20000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		k = (unsigned int)(r % 30);
		/* Mostly close together, now and then a long gap. */
		now += (r >> 40) % 97 == 0 ? 700 : (int64_t)((r >> 48) % 60);
		o.now_ms = now;
		o.lport = (uint16_t)(1000 + k * 37);
		fresh = now - last[k] >= 1000;
		last[k] = now;
		assert_int_equal(peers_observe(t, &o, &p, &ev), 0);
		assert_int_equal((ev & PEER_EV_NEW_PORT) != 0, fresh);
		for (k = 0, live = 0; k < 30; k++)
			live += now - last[k] < 1000;
		assert_int_equal(peers_distinct_ports(t, p, now, &exact),
		    live);
		assert_true(exact);
	}
	peers_free(t);
}

static void
test_window(void **state)
{
	struct peers *t = table(4, 10000, 5, 0);
	const struct peer *p;
	struct addr a = A("198.18.0.40");
	bool exact;
	unsigned int i, n;

	(void)state;
	/* Exact: an item counts while now - seen < window. */
	tcp(t, "198.18.0.40", 100000, true, 80, SYN, false);
	tcp(t, "198.18.0.40", 104000, true, 81, SYN, false);
	p = peers_find(t, &a);
	assert_int_equal(peers_distinct_ports(t, p, 109999, NULL), 2);
	assert_int_equal(peers_distinct_ports(t, p, 110000, NULL), 1);
	assert_int_equal(peers_distinct_ports(t, p, 113999, NULL), 1);
	assert_int_equal(peers_distinct_ports(t, p, 114000, NULL), 0);
	/* Seeing it again restarts its clock. */
	tcp(t, "198.18.0.40", 120000, true, 80, SYN, false);
	tcp(t, "198.18.0.40", 125000, true, 81, SYN, false);
	tcp(t, "198.18.0.40", 129000, true, 80, SYN, false);
	assert_int_equal(peers_distinct_ports(t, p, 134999, &exact), 2);
	assert_true(exact);
	assert_int_equal(peers_distinct_ports(t, p, 135000, NULL), 1);
	assert_int_equal(peers_distinct_ports(t, p, 138999, NULL), 1);
	assert_int_equal(peers_distinct_ports(t, p, 139000, NULL), 0);
	/* Much later, after the ticks have wrapped, still nothing stale. */
	tcp(t, "198.18.0.40", 139000 + 65536 * 3, true, 82, SYN, false);
	assert_int_equal(peers_distinct_ports(t, p, 139000 + 65536 * 3,
	    NULL), 1);

	/* The sketch: 200 ports at 403000 (generation 40) count through
	 * generation 41 and are gone at 420000 = (40 + 2) * window. */
	for (i = 0; i < 200; i++)
		tcp(t, "198.18.0.41", 403000, true, (uint16_t)(1000 + i), SYN,
		    false);
	a = A("198.18.0.41");
	p = peers_find(t, &a);
	n = peers_distinct_ports(t, p, 403000, &exact);
	assert_false(exact);
	assert_in_range(n, 200 * (1 - PEERS_SKETCH_ERROR),
	    200 * (1 + PEERS_SKETCH_ERROR));
	assert_int_equal(peers_distinct_ports(t, p, 419999, NULL), n);
	assert_int_equal(peers_distinct_ports(t, p, 420000, NULL), 0);
	/* The windowed counters age the same way. */
	{
		struct peer_stats st;

		peers_stats(t, p, 419999, &st);
		assert_int_equal(st.syns_window, 200);
		assert_int_equal(st.kinds, PEER_KIND_SYN);
		peers_stats(t, p, 420000, &st);
		assert_int_equal(st.syns_window, 0);
		assert_int_equal(st.kinds, 0);
		assert_int_equal(st.syns, 200);
	}
	/* Emptied, the set is exact again. */
	tcp(t, "198.18.0.41", 420000, true, 7, SYN, false);
	assert_int_equal(peers_distinct_ports(t, p, 420000, &exact), 1);
	assert_true(exact);
	peers_free(t);
}

static void
test_lru_eviction(void **state)
{
	struct peers *t = table(3, 10000, 6, 0);
	struct addr a, b;
	const struct peer *p;
	unsigned int ev;

	(void)state;
	tcp(t, "198.18.0.1", 1, true, 80, SYN, true);
	tcp(t, "198.18.0.2", 2, true, 80, SYN, true);
	tcp(t, "198.18.0.3", 3, true, 80, SYN, true);
	tcp(t, "198.18.0.1", 4, true, 80, ACK, true);	/* A is fresh again */
	assert_int_equal(peers_count(t), 3);
	assert_int_equal(peers_evictions(t), 0);
	ev = tcp(t, "198.18.0.4", 5, true, 80, SYN, true);
	assert_true(ev & PEER_EV_NEW);
	assert_true(ev & PEER_EV_EVICTED);
	assert_int_equal(peers_count(t), 3);
	assert_int_equal(peers_evictions(t), 1);
	a = A("198.18.0.2");
	assert_null(peers_find(t, &a));
	/* Most recent first: .4, .1, .3 */
	p = peers_first(t);
	peers_addr(p, &b);
	a = A("198.18.0.4");
	assert_true(addr_equal(&a, &b));
	peers_addr(p = peers_next(t, p), &b);
	a = A("198.18.0.1");
	assert_true(addr_equal(&a, &b));
	peers_addr(p = peers_next(t, p), &b);
	a = A("198.18.0.3");
	assert_true(addr_equal(&a, &b));
	assert_null(peers_next(t, p));
	assert_int_equal(peers_last_seen(p), 3);
	/* The next newcomer evicts .3; peers_find does not refresh. */
	a = A("198.18.0.1");
	assert_non_null(peers_find(t, &a));
	tcp(t, "198.18.0.5", 6, true, 80, SYN, true);
	a = A("198.18.0.3");
	assert_null(peers_find(t, &a));
	tcp(t, "198.18.0.6", 7, true, 80, SYN, true);
	a = A("198.18.0.1");
	assert_null(peers_find(t, &a));
	assert_int_equal(peers_evictions(t), 3);
	peers_free(t);
}

static void
test_flood(void **state)
{
	struct peers_conf c = { 10000, 10000, 7, 0 };
	struct peers *t = table(10000, 10000, 7, 0);
	struct peer_obs o;
	struct addr a;
	uint32_t i, x;

	(void)state;
	o = pkt("198.18.0.1", "198.18.0.1", 0, IPPROTO_TCP, true, 80, SYN, 40);
	for (i = 0; i < 1000000; i++) {
		/* A bijection of i: a million distinct spoofed sources. */
		o.peer.u.v4.s_addr = i * 2654435761u + 12345;
		o.now_ms = i / 100;
		o.lport = (uint16_t)(i * 7);
		assert_int_equal(peers_observe(t, &o, NULL, NULL), 0);
		assert_true(peers_count(t) <= 10000);
	}
	assert_int_equal(peers_count(t), 10000);
	assert_int_equal(peers_evictions(t), 990000);
	/* 512 bytes an entry, 4 bytes a bucket (16384), a small header. */
	assert_int_equal(peers_memory_bytes(t), peers_memory_needed(&c));
	assert_true(peers_memory_bytes(t) >= 10000 * 512 + 16384 * 4);
	assert_true(peers_memory_bytes(t) < 10000 * 512 + 16384 * 4 + 512);
	/* The newest 10,000 are there, the one before them is not. */
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	for (i = 990000; i < 1000000; i++) {
		a.u.v4.s_addr = i * 2654435761u + 12345;
		assert_non_null(peers_find(t, &a));
	}
	x = 989999;
	a.u.v4.s_addr = x * 2654435761u + 12345;
	assert_null(peers_find(t, &a));
	peers_free(t);
}

static void
test_ipv6(void **state)
{
	struct peers *t = table(8, 10000, 8, 0);
	struct peer_stats st;
	struct peer_obs o;
	char local[64];
	unsigned int i;
	struct addr a;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(local, sizeof(local), "2001:db8:1::%u", i + 1);
		o = pkt("2001:db8:ff::1", local, 100, IPPROTO_TCP, true,
		    (uint16_t)(22 + i), SYN, 80);
		see(t, &o);
	}
	o = pkt("2001:db8:ff::1", "2001:db8:1::1", 101, IPPROTO_ICMPV6, false,
	    0, 0, 120);
	o.icmp_type = 1;
	assert_int_equal(see(t, &o), PEER_EV_UNREACH);
	o = pkt("2001:db8:ff::1", "2001:db8:1::1", 102, IPPROTO_ICMPV6, true,
	    0, 0, 104);
	o.icmp_type = 128;
	assert_int_equal(see(t, &o), PEER_EV_PROBE);
	/* Same low bytes, other families: three different peers. */
	tcp(t, "198.18.0.1", 103, true, 80, SYN, true);
	tcp(t, "::ffff:198.18.0.1", 103, true, 80, SYN, true);
	tcp(t, "::c612:1", 103, true, 80, SYN, true);
	assert_int_equal(peers_count(t), 4);
	stats(t, "2001:db8:ff::1", 102, &st);
	assert_int_equal(st.ports, 5);
	assert_int_equal(st.hosts, 5);
	assert_int_equal(st.icmp_unreach, 1);
	assert_int_equal(st.kinds, PEER_KIND_SYN | PEER_KIND_PING);
	assert_int_equal(st.bytes_in, 5 * 80 + 104);
	a = A("2001:db8:ff::1");
	assert_true(addr_equal(&st.addr, &a));
	stats(t, "::ffff:198.18.0.1", 103, &st);
	assert_int_equal(st.ports, 1);
	/* A family the table cannot key. */
	o.peer.family = AF_UNIX;
	assert_int_equal(peers_observe(t, &o, NULL, NULL), -EINVAL);
	peers_free(t);
}

static unsigned int
octet(const struct peer *p)
{
	struct addr a;

	peers_addr(p, &a);
	return ntohl(a.u.v4.s_addr) & 0xff;
}

static void
test_top(void **state)
{
	static const unsigned int bytes_order[] = { 4, 3, 5, 6, 2, 1 };
	struct peers *t = table(100, 10000, 9, 0);
	const struct peer *top[8];
	struct peer_obs o;
	enum peers_sort by;
	char peer[32];
	unsigned int i, j;
	size_t n;

	(void)state;
	/* Peer .i: i packets of 1000 - 100 * i bytes; .3 scans 30 ports;
	 * .4 sends 40 SYNs to one port. */
	for (i = 1; i <= 6; i++) {
		snprintf(peer, sizeof(peer), "198.18.0.%u", i);
		for (j = 0; j < i; j++) {
			o = pkt(peer, "198.18.0.100", 50, IPPROTO_TCP, true,
			    443, ACK, 1000 - 100 * i);
			o.lport_open = true;
			see(t, &o);
		}
	}
	for (j = 0; j < 30; j++)
		tcp(t, "198.18.0.3", 60, true, (uint16_t)(j + 1), FIN, false);
	for (j = 0; j < 40; j++)
		tcp(t, "198.18.0.4", 60, true, 22, SYN, true);

	/* Packets: .4 44, .3 33, .6 6. */
	n = peers_top(t, 60, PEERS_SORT_PACKETS, top, 3);
	assert_int_equal(n, 3);
	assert_int_equal(octet(top[0]), 4);
	assert_int_equal(octet(top[1]), 3);
	assert_int_equal(octet(top[2]), 6);
	/* Ports: .3 30, .4 1; the ACKs to open 443 are not probes. */
	n = peers_top(t, 60, PEERS_SORT_PORTS, top, 2);
	assert_int_equal(n, 2);
	assert_int_equal(octet(top[0]), 3);
	assert_int_equal(octet(top[1]), 4);
	/* SYNs: .4 40, then all at 0: ties go to the lower address. */
	n = peers_top(t, 60, PEERS_SORT_SYN, top, 3);
	assert_int_equal(n, 3);
	assert_int_equal(octet(top[0]), 4);
	assert_int_equal(octet(top[1]), 1);
	assert_int_equal(octet(top[2]), 2);
	/* Bytes: .1 900, .2 1600, .3 3*700 + 30*60 = 3900, .4 2400 +
	 * 40*60 = 4800, .5 2500, .6 2400. Asking for more than there are
	 * gives them all. */
	n = peers_top(t, 60, PEERS_SORT_BYTES, top, 8);
	assert_int_equal(n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(octet(top[i]), bytes_order[i]);
	assert_int_equal(peers_top(t, 60, PEERS_SORT_BYTES, top, 0), 0);

	assert_int_equal(peers_sort_parse("ports", &by), 0);
	assert_int_equal(by, PEERS_SORT_PORTS);
	assert_string_equal(peers_sort_name(PEERS_SORT_SYN), "syn");
	assert_int_equal(peers_sort_parse("rate", &by), -EINVAL);
	peers_free(t);
}

/* The caller's area: aligned, zeroed for every new peer, also when the
 * entry is an evicted peer's. */
static void
test_user_area(void **state)
{
	struct peers *t = table(1, 10000, 10, 24);
	const struct peer *p, *q;
	struct peer_obs o;
	uint64_t *u;

	(void)state;
	o = pkt("198.18.0.1", "198.18.0.100", 1000, IPPROTO_UDP, true, 53, 0,
	    60);
	assert_int_equal(peers_observe(t, &o, &p, NULL), 0);
	u = peers_user(t, p);
	assert_non_null(u);
	assert_int_equal((uintptr_t)u % 8, 0);
	assert_int_equal(u[0] | u[1] | u[2], 0);
	u[0] = u[1] = u[2] = ~0ULL;
	assert_true(peers_user(t, p) == u);
	o.peer = A("198.18.0.2");
	assert_int_equal(peers_observe(t, &o, &q, NULL), 0);
	assert_true(q == p);		/* the same entry, recycled */
	assert_int_equal(u[0] | u[1] | u[2], 0);
	assert_int_equal(peers_evictions(t), 1);
	assert_int_equal(peers_memory_bytes(t), peers_memory_needed(
	    &(struct peers_conf){ 1, 10000, 10, 24 }));
	peers_free(t);

	t = table(2, 10000, 10, 0);
	see(t, &o);
	assert_null(peers_user(t, peers_first(t)));
	peers_free(t);
}

/* One TCP segment with a TTL. */
static unsigned int
tcp_ttl(struct peers *t, const char *peer, int64_t now, bool in,
    uint16_t lport, uint8_t flags, uint8_t ttl)
{
	struct peer_obs o = pkt(peer, "198.18.0.1", now, IPPROTO_TCP, in,
	    lport, flags, 60);

	o.lport_open = true;
	o.ttl = ttl;
	return see(t, &o);
}

static struct peer_hops
hops(struct peers *t, const char *peer)
{
	struct addr a = A(peer);
	const struct peer *p = peers_find(t, &a);
	struct peer_hops h;

	assert_non_null(p);
	peers_hops(p, &h);
	return h;
}

/* Return-path evidence: the hop count of a completed handshake, then
 * probes over the same count (within one hop) or another; table-driven
 * over the initial TTLs stacks use. */
static void
test_hops(void **state)
{
	static const struct {
		uint8_t hs_ttl;		/* the handshake's ACK */
		uint8_t probe_ttl;
		int verified;
		bool agree;
	} cases[] = {
		{ 64, 64, 0, true },	/* Linux next door */
		{ 64, 63, 0, true },	/* a route one hop longer */
		{ 64, 50, 0, false },	/* nmap's random TTL (37-59) */
		{ 64, 128, 0, true },	/* Windows next door: 0 hops too */
		{ 120, 120, 8, true },	/* Windows 8 hops away */
		{ 120, 64, 8, false },
		{ 250, 250, 5, true },	/* a router's 255 */
		{ 30, 28, 2, false },	/* 32 minus 2 vs 4: one hop slack */
	};
	char peer[32];
	size_t i;
	struct peer_hops h;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peers *t = table(16, 10000, 1, 0);

		snprintf(peer, sizeof(peer), "198.18.0.%zu", 10 + i);
		/* No handshake yet: nothing to compare with. */
		tcp_ttl(t, peer, 1000, true, 22, SYN, cases[i].hs_ttl);
		h = hops(t, peer);
		assert_int_equal(h.verified, -1);
		assert_int_equal(h.ok + h.bad, 0);
		tcp_ttl(t, peer, 1001, false, 22, SYN | ACK, 64);
		assert_int_equal(tcp_ttl(t, peer, 1002, true, 22, ACK,
		    cases[i].hs_ttl), PEER_EV_HS_DONE);
		tcp_ttl(t, peer, 1003, true, 23, SYN, cases[i].probe_ttl);
		h = hops(t, peer);
		assert_int_equal(h.verified, cases[i].verified);
		assert_int_equal(h.ok, cases[i].agree ? 1 : 0);
		assert_int_equal(h.bad, cases[i].agree ? 0 : 1);
		/* The session's own segments are not probes: not counted. */
		tcp_ttl(t, peer, 1004, true, 22, ACK, 17);
		h = hops(t, peer);
		assert_int_equal(h.ok + h.bad, 1);
		peers_free(t);
	}
}

/* The counts judge about the last two windows (10 s here). */
static void
test_hops_decay(void **state)
{
	struct peers *t = table(16, 10000, 1, 0);
	struct peer_hops h;
	int i;

	(void)state;
	tcp_ttl(t, "198.18.0.9", 1000, true, 22, SYN, 64);
	tcp_ttl(t, "198.18.0.9", 1001, false, 22, SYN | ACK, 64);
	tcp_ttl(t, "198.18.0.9", 1002, true, 22, ACK, 64);
	for (i = 0; i < 4; i++)
		tcp_ttl(t, "198.18.0.9", 1003, true, (uint16_t)(100 + i), SYN,
		    45);
	h = hops(t, "198.18.0.9");
	assert_int_equal(h.bad, 4);
	tcp_ttl(t, "198.18.0.9", 10500, true, 200, SYN, 45);	/* next */
	h = hops(t, "198.18.0.9");
	assert_int_equal(h.bad, 2 + 1);
	tcp_ttl(t, "198.18.0.9", 40000, true, 201, SYN, 64);	/* later */
	h = hops(t, "198.18.0.9");
	assert_int_equal(h.verified, 0);
	assert_int_equal(h.bad, 0);
	assert_int_equal(h.ok, 1);
	peers_free(t);
}

static void
test_bad_input(void **state)
{
	static const struct peers_conf bad[] = {
		{ 0, 10000, 0, 0 },
		{ 10, 0, 0, 0 },
		{ 10, PEERS_MAX_WINDOW_MS + 1, 0, 0 },
		{ 10, 10000, 0, PEERS_MAX_USER_BYTES + 1 },
		{ PEERS_MAX_LIMIT + 1, 10000, 0, 0 },
	};
	struct peers_conf good = { PEERS_DEFAULT_MAX, PEERS_DEFAULT_WINDOW_MS,
	    0, 0 };
	struct peers *t = NULL;
	struct peer_stats st;
	struct peer_obs o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(peers_memory_needed(&bad[i]), 0);
		assert_int_equal(peers_new(&bad[i], &t), -EINVAL);
		assert_null(t);
	}
	/* The default: 100,000 x 512 + 131,072 x 4 + header. */
	assert_in_range(peers_memory_needed(&good), 51724288,
	    51724288 + 512);
	peers_free(NULL);

	/* A clock that steps back is held at the latest time seen. */
	t = table(4, 10000, 11, 0);
	o = pkt("198.18.0.9", "198.18.0.1", 5000, IPPROTO_TCP, true, 80, SYN,
	    40);
	see(t, &o);
	o.now_ms = 1000;
	o.lport = 81;
	see(t, &o);
	stats(t, "198.18.0.9", 0, &st);
	assert_int_equal(st.first_ms, 5000);
	assert_int_equal(st.last_ms, 5000);
	assert_int_equal(st.ports, 2);
	peers_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_replies_are_not_probes),
		cmocka_unit_test(test_probe_kinds),
		cmocka_unit_test(test_distinct_exact),
		cmocka_unit_test(test_distinct_estimate),
		cmocka_unit_test(test_distinct_model),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_user_area),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_hops_decay),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
