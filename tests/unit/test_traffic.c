/* The traffic detectors, driven by synthetic decoded packets and an
 * injected clock. A small host simulator answers probes the way the Linux
 * kernel does (SYN-ACK or RST, ICMP port unreachable), so that the scans
 * look as nmap's do on the wire. Addresses: the host is 198.18.0.1, peers
 * are in 198.18.0.0/15 and 2001:db8::/32. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/addr.h"
#include "../../monitor/decode.h"
#include "../../monitor/peers.h"
#include "../../policy/alert.h"
#include "../../policy/config.h"
#include "../../policy/traffic.h"

#define HOST	"198.18.0.1"
#define T0	1000000		/* a clock that does not start at 0 */
#define MAXAL	64

#define F_FIN	PKT_TCP_FIN
#define F_SYN	PKT_TCP_SYN
#define F_RST	PKT_TCP_RST
#define F_PSH	PKT_TCP_PSH
#define F_ACK	PKT_TCP_ACK
#define F_URG	PKT_TCP_URG

struct sim {
	struct config *cfg;
	struct traffic *t;
	int64_t now;
	bool use_cb;			/* pass the listener table */
	bool dir_known;			/* set pkt.dir, as a cooked capture */
	uint8_t ttl;			/* of every packet; 0: unknown */
	uint32_t ifindex;		/* where every packet came in */
	uint8_t open[65536 / 8];	/* listening TCP and UDP ports */
	size_t nal;
	struct alert al[MAXAL];
	size_t overflow;
};

static void
collect(void *arg, struct alert *a)
{
	struct sim *s = arg;
	json_t *j;

	/* Every alert must render. */
	j = alert_to_json(a);
	assert_non_null(j);
	json_decref(j);
	assert_non_null(a->evidence);
	if (s->nal < MAXAL)
		s->al[s->nal++] = *a;
	else {
		s->overflow++;
		alert_clear(a);
	}
}

static bool
port_open(void *arg, uint8_t proto, uint16_t port)
{
	const struct sim *s = arg;

	(void)proto;
	return (s->open[port / 8] >> (port % 8)) & 1;
}

static void
set_open(struct sim *s, uint16_t port)
{
	s->open[port / 8] |= (uint8_t)(1u << (port % 8));
}

static struct addr
A(const char *str)
{
	struct addr a;

	if (addr_parse(str, &a) != 0)
		fail_msg("bad address %s", str);
	return a;
}

static void
sim_start(struct sim *s, const char *conf)
{
	struct config_error err;
	struct addr local[2];

	memset(s, 0, sizeof(*s));
	if (config_load_string(conf != NULL ? conf : "", "t.conf", &s->cfg,
	    &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(traffic_new(s->cfg, 0x5eed, &s->t), 0);
	local[0] = A(HOST);
	local[1] = A("2001:db8::1");
	assert_int_equal(traffic_set_local(s->t, local, 2), 0);
	s->now = T0;
	s->use_cb = true;
	set_open(s, 22);
	set_open(s, 80);
	set_open(s, 53);
}

static void
sim_clear_alerts(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->nal; i++)
		alert_clear(&s->al[i]);
	s->nal = 0;
}

static void
sim_stop(struct sim *s)
{
	sim_clear_alerts(s);
	traffic_free(s->t);
	config_free(s->cfg);
}

/* One packet from src:sport to dst:dport, with len bytes of payload. */
static void
sim_pkt_len(struct sim *s, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint8_t proto, uint8_t flags, uint32_t len)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.payload_len = len;
	p.src = A(src);
	p.dst = A(dst);
	p.family = (uint8_t)p.src.family;
	p.proto = proto;
	p.ip_len = 60;
	p.ttl = s->ttl;
	p.ifindex = s->ifindex;
	p.pkttype = PKT_TYPE_UNKNOWN;
	if (s->dir_known)
		p.dir = strcmp(dst, HOST) == 0 ? PKT_DIR_IN : PKT_DIR_OUT;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		p.flags = PKT_F_PORTS;
		p.sport = sport;
		p.dport = dport;
		p.tcp_flags = proto == IPPROTO_TCP ? flags : 0;
	} else {
		p.flags = PKT_F_ICMP;
		p.icmp_type = flags;		/* the type, for ICMP */
	}
	traffic_packet(s->t, &p, s->now, s->use_cb ? port_open : NULL, s,
	    collect, s);
}

static void
sim_pkt(struct sim *s, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint8_t proto, uint8_t flags)
{
	sim_pkt_len(s, src, sport, dst, dport, proto, flags, 0);
}

static bool
is_open(const struct sim *s, uint16_t port)
{
	return port_open((void *)(uintptr_t)s, IPPROTO_TCP, port);
}

enum scan { SYN, CONNECT, FIN, NUL, XMAS, ACK, WINDOW, MAIMON, UDP };

/* nmap's probes and the kernel's answers, one port per millisecond. */
static void
sim_scan(struct sim *s, const char *peer, enum scan kind, unsigned int first,
    unsigned int last)
{
	static const uint8_t probe[] = {
		[SYN] = F_SYN, [FIN] = F_FIN, [NUL] = 0,
		[XMAS] = F_FIN | F_PSH | F_URG, [ACK] = F_ACK,
		[WINDOW] = F_ACK, [MAIMON] = F_FIN | F_ACK,
	};
	unsigned int port;
	uint16_t sp;
	bool open;

	for (port = first; port <= last; port++) {
		open = is_open(s, (uint16_t)port);
		sp = kind == CONNECT ? (uint16_t)(40000 + port) : 61000;
		switch (kind) {
		case SYN:
		case CONNECT:
			sim_pkt(s, peer, sp, HOST, (uint16_t)port,
			    IPPROTO_TCP, F_SYN);
			if (!open) {
				sim_pkt(s, HOST, (uint16_t)port, peer, sp,
				    IPPROTO_TCP, F_RST | F_ACK);
				break;
			}
			sim_pkt(s, HOST, (uint16_t)port, peer, sp,
			    IPPROTO_TCP, F_SYN | F_ACK);
			if (kind == CONNECT)
				sim_pkt(s, peer, sp, HOST, (uint16_t)port,
				    IPPROTO_TCP, F_ACK);
			sim_pkt(s, peer, sp, HOST, (uint16_t)port,
			    IPPROTO_TCP, F_RST);
			break;
		case FIN:
		case NUL:
		case XMAS:
			sim_pkt(s, peer, sp, HOST, (uint16_t)port,
			    IPPROTO_TCP, probe[kind]);
			if (!open)
				sim_pkt(s, HOST, (uint16_t)port, peer, sp,
				    IPPROTO_TCP, F_RST | F_ACK);
			break;
		case ACK:
		case WINDOW:
		case MAIMON:
			sim_pkt(s, peer, sp, HOST, (uint16_t)port,
			    IPPROTO_TCP, probe[kind]);
			sim_pkt(s, HOST, (uint16_t)port, peer, sp,
			    IPPROTO_TCP, F_RST);
			break;
		case UDP:
			sim_pkt(s, peer, sp, HOST, (uint16_t)port,
			    IPPROTO_UDP, 0);
			if (!open)
				sim_pkt(s, HOST, 0, peer, 0, IPPROTO_ICMP, 3);
			break;
		}
		s->now += 1;
	}
}

static size_t
count_kind(const struct sim *s, const char *kind)
{
	size_t i, n = 0;

	for (i = 0; i < s->nal; i++)
		if (strcmp(s->al[i].kind, kind) == 0)
			n++;
	return n;
}

static json_int_t
ev_int(const struct alert *a, const char *key)
{
	json_t *v = json_object_get(a->evidence, key);

	if (!json_is_integer(v))
		fail_msg("evidence %s is not an integer in '%s'", key,
		    a->message);
	return json_integer_value(v);
}

static const char *
ev_str(const struct alert *a, const char *key)
{
	json_t *v = json_object_get(a->evidence, key);

	if (!json_is_string(v))
		fail_msg("evidence %s is not a string", key);
	return json_string_value(v);
}

static void
assert_peer(const struct alert *a, const char *peer)
{
	char buf[ADDR_STRLEN];

	assert_true(a->has_peer);
	assert_string_equal(addr_format(&a->peer, buf, sizeof(buf)), peer);
}

/* ---- port scans ------------------------------------------------------------ */

static const struct {
	enum scan kind;
	const char *label;		/* in the message */
	const char *name;		/* evidence "scan" */
} scans[] = {
	{ SYN, "SYN scan from 198.18.0.66", "syn" },
	{ CONNECT, "connect scan from 198.18.0.66", "connect" },
	{ FIN, "FIN scan from 198.18.0.66", "fin" },
	{ NUL, "NULL scan from 198.18.0.66", "null" },
	{ XMAS, "Xmas scan from 198.18.0.66", "xmas" },
	{ ACK, "ACK/window scan from 198.18.0.66", "ack" },
	{ WINDOW, "ACK/window scan from 198.18.0.66", "ack" },
	{ MAIMON, "Maimon scan from 198.18.0.66", "maimon" },
	{ UDP, "UDP scan from 198.18.0.66", "udp" },
};

/* Each nmap scan type, 1000 ports, gives exactly one portscan alert
 * naming it; with the listener table, and offline without it; with the
 * capture's direction and without. */
static void
test_traffic_scans(void **state)
{
	struct traffic_counters n;
	struct sim s;
	size_t i;
	int mode;

	(void)state;
	for (mode = 0; mode < 3; mode++) {
		for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
			sim_start(&s, NULL);
			s.use_cb = mode != 1;
			s.dir_known = mode == 2;
			sim_scan(&s, "198.18.0.66", scans[i].kind, 1, 1000);
			if (s.nal != 1 || count_kind(&s, "portscan") != 1)
				fail_msg("mode %d scan %zu: %zu alerts, first "
				    "'%s'", mode, i, s.nal,
				    s.nal ? s.al[0].message : "");
			if (strstr(s.al[0].message, scans[i].label) == NULL)
				fail_msg("mode %d: '%s' lacks '%s'", mode,
				    s.al[0].message, scans[i].label);
			assert_string_equal(ev_str(&s.al[0], "scan"),
			    scans[i].name);
			assert_peer(&s.al[0], "198.18.0.66");
			assert_int_equal(s.al[0].severity, ALERT_WARNING);
			assert_string_equal(s.al[0].action, "alert");
			/* It crossed at 21 ports; the rest are repeats. */
			assert_int_equal(ev_int(&s.al[0], "ports"), 21);
			assert_int_equal(ev_int(&s.al[0], "ports_limit"), 20);
			assert_int_equal(ev_int(&s.al[0], "window"), 10);
			assert_int_equal(ev_int(&s.al[0], "ban"), 3600);
			assert_int_equal(ev_int(&s.al[0], "repeats"), 0);
			traffic_counters(s.t, &n);
			/* (exact to 32 ports, then a sketch that tells
			 * only when its estimate may have grown) */
			assert_true(n.repeats[TRAFFIC_PORTSCAN] >= 11);
			assert_int_equal(n.alerts[TRAFFIC_PORTSCAN], 1);
			sim_stop(&s);
		}
	}
}

/* A peer that holds a session (one completed handshake to 22) and then
 * runs nmap -sS is named by its probes' single source port: a SYN scan,
 * not a connect scan. */
static void
test_traffic_scan_held_session(void **state)
{
	struct sim s;
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		sim_start(&s, NULL);
		s.use_cb = mode == 0;
		sim_pkt(&s, "198.18.0.66", 50000, HOST, 22, IPPROTO_TCP, F_SYN);
		sim_pkt(&s, HOST, 22, "198.18.0.66", 50000, IPPROTO_TCP,
		    F_SYN | F_ACK);
		sim_pkt(&s, "198.18.0.66", 50000, HOST, 22, IPPROTO_TCP, F_ACK);
		s.now += 100;
		sim_scan(&s, "198.18.0.66", SYN, 1, 100);
		assert_int_equal(s.nal, 1);
		assert_string_equal(ev_str(&s.al[0], "scan"), "syn");
		assert_int_equal(ev_int(&s.al[0], "handshakes"), 1);
		sim_stop(&s);
	}
}

/* The evidence of a SYN scan with the listener table. */
static void
test_traffic_scan_evidence(void **state)
{
	struct sim s;
	json_t *kinds, *open;
	const struct alert *a;

	(void)state;
	sim_start(&s, "[portscan]\naction = block\nban = 2h\n");
	sim_scan(&s, "198.18.0.66", SYN, 15, 30);
	assert_int_equal(s.nal, 0);
	sim_scan(&s, "198.18.0.66", SYN, 76, 85);
	assert_int_equal(s.nal, 1);
	a = &s.al[0];
	assert_string_equal(a->kind, "portscan");
	assert_string_equal(a->action, "block");
	assert_int_equal(ev_int(a, "ban"), 7200);
	assert_true(a->has_local);
	assert_true(addr_equal(&a->local_addr, &(struct addr){
	    .family = AF_INET, .u.bytes = { 198, 18, 0, 1 } }));
	assert_string_equal(a->message, "SYN scan from 198.18.0.66: 21 ports "
	    "on 1 host within 10s");
	kinds = json_object_get(a->evidence, "kinds");
	assert_int_equal(json_integer_value(json_object_get(kinds, "syn")),
	    21);
	/* 22 and 80 (the 21st, the one that crossed) were hit: open; 19
	 * closed. The host had answered all but the last. */
	assert_int_equal(ev_int(a, "open_probes"), 2);
	assert_int_equal(ev_int(a, "closed_probes"), 19);
	open = json_object_get(a->evidence, "open_ports");
	assert_true(json_is_array(open));
	/* Both, though 22 is no longer among the 8 samples: the window's
	 * 21 ports are all known. */
	assert_int_equal(json_array_size(open), 2);
	assert_int_equal(json_integer_value(json_array_get(open, 0)), 22);
	assert_int_equal(json_integer_value(json_array_get(open, 1)), 80);
	assert_int_equal(ev_int(a, "synacks"), 1);
	assert_int_equal(ev_int(a, "rsts"), 19);
	assert_int_equal(json_array_size(json_object_get(a->evidence,
	    "sample_ports")), PEERS_SAMPLES);
	assert_true(json_is_true(json_object_get(a->evidence,
	    "listeners_known")));
	sim_stop(&s);
}

/* At, just under and just over the thresholds, in ports, hosts and time. */
static void
test_traffic_scan_thresholds(void **state)
{
	char host[32];
	struct sim s;
	int i;

	(void)state;
	/* 20 distinct ports: at the threshold, nothing. */
	sim_start(&s, NULL);
	sim_scan(&s, "198.18.0.66", FIN, 100, 119);
	assert_int_equal(s.nal, 0);
	/* Probing the same ports again adds nothing. */
	sim_scan(&s, "198.18.0.66", FIN, 100, 119);
	assert_int_equal(s.nal, 0);
	/* The 21st: over. */
	sim_scan(&s, "198.18.0.66", FIN, 120, 120);
	assert_int_equal(s.nal, 1);
	sim_stop(&s);

	/* 21 ports, but the first left the window (10s) before the last:
	 * 20 in any window, nothing. */
	sim_start(&s, NULL);
	for (i = 0; i < 21; i++) {
		s.now = T0 + i * 500;		/* 0 .. 10000 ms */
		sim_scan(&s, "198.18.0.66", NUL, 100 + (unsigned int)i,
		    100 + (unsigned int)i);
	}
	assert_int_equal(s.nal, 0);
	sim_stop(&s);
	/* ... and 1 ms tighter, all 21 are inside: an alert. */
	sim_start(&s, NULL);
	for (i = 0; i < 21; i++) {
		s.now = T0 + i * 500 - (i == 20);	/* last at 9999 ms */
		sim_scan(&s, "198.18.0.66", NUL, 100 + (unsigned int)i,
		    100 + (unsigned int)i);
	}
	assert_int_equal(s.nal, 1);
	sim_stop(&s);

	/* Hosts: a SYN to port 80 of 16 local addresses is nothing, of 17
	 * a scan (the host owns 198.18.1.0/27 here). */
	sim_start(&s, NULL);
	{
		struct addr local[32];

		for (i = 0; i < 32; i++) {
			snprintf(host, sizeof(host), "198.18.1.%d", i);
			local[i] = A(host);
		}
		assert_int_equal(traffic_set_local(s.t, local, 32), 0);
	}
	for (i = 0; i < 17; i++) {
		snprintf(host, sizeof(host), "198.18.1.%d", i);
		sim_pkt(&s, "198.18.0.67", 50000, host, 80, IPPROTO_TCP,
		    F_SYN);
		sim_pkt(&s, host, 80, "198.18.0.67", 50000, IPPROTO_TCP,
		    F_SYN | F_ACK);
		sim_pkt(&s, "198.18.0.67", 50000, host, 80, IPPROTO_TCP,
		    F_RST);
		s.now += 10;
		assert_int_equal(s.nal, i < 16 ? 0 : 1);
	}
	assert_int_equal(ev_int(&s.al[0], "hosts"), 17);
	assert_int_equal(ev_int(&s.al[0], "hosts_limit"), 16);
	assert_int_equal(ev_int(&s.al[0], "ports"), 1);
	assert_non_null(strstr(s.al[0].message, "1 port on 17 hosts"));
	sim_stop(&s);

	/* A ping sweep is a host scan too. */
	sim_start(&s, "[portscan]\nhosts = 3\n");
	{
		struct addr local[4] = {
			A("198.18.1.1"), A("198.18.1.2"), A("198.18.1.3"),
			A("198.18.1.4"),
		};

		assert_int_equal(traffic_set_local(s.t, local, 4), 0);
	}
	sim_pkt(&s, "198.18.0.68", 0, "198.18.1.1", 0, IPPROTO_ICMP, 8);
	sim_pkt(&s, "198.18.0.68", 0, "198.18.1.2", 0, IPPROTO_ICMP, 8);
	sim_pkt(&s, "198.18.0.68", 0, "198.18.1.3", 0, IPPROTO_ICMP, 8);
	assert_int_equal(s.nal, 0);
	sim_pkt(&s, "198.18.0.68", 0, "198.18.1.4", 0, IPPROTO_ICMP, 8);
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].message, "ping sweep from 198.18.0.68: "
	    "4 hosts within 10s");
	assert_string_equal(ev_str(&s.al[0], "scan"), "ping");
	sim_stop(&s);
}

/* The first crossing alerts; the rest of the window only counts; the
 * next alert after the window carries the count. */
static void
test_traffic_rate_limit(void **state)
{
	struct traffic_counters n;
	struct sim s;

	(void)state;
	sim_start(&s, NULL);
	sim_scan(&s, "198.18.0.66", SYN, 1, 30);	/* 21st crosses */
	assert_int_equal(s.nal, 1);
	traffic_counters(s.t, &n);
	assert_int_equal(n.repeats[TRAFFIC_PORTSCAN], 9);
	/* 5 s later, 2 more ports: still the same alert. */
	s.now += 5000;
	sim_scan(&s, "198.18.0.66", SYN, 101, 102);
	assert_int_equal(s.nal, 1);
	traffic_counters(s.t, &n);
	assert_int_equal(n.repeats[TRAFFIC_PORTSCAN], 11);
	/* After the window (from the alert, at T0 + 20) a new alert, with
	 * the crossings in between. */
	s.now = T0 + 10100;
	sim_scan(&s, "198.18.0.66", SYN, 301, 400);
	assert_int_equal(s.nal, 2);
	assert_int_equal(ev_int(&s.al[1], "repeats"), 11);
	/* A different peer is a different rate limit. */
	sim_scan(&s, "198.18.0.67", SYN, 1, 21);
	assert_int_equal(s.nal, 3);
	assert_peer(&s.al[2], "198.18.0.67");
	assert_int_equal(ev_int(&s.al[2], "repeats"), 0);
	traffic_counters(s.t, &n);
	assert_int_equal(n.alerts[TRAFFIC_PORTSCAN], 3);
	sim_stop(&s);
}

/* ---- benign traffic ---------------------------------------------------------- */

/* 200 HTTP connections to our port 80, each downloading (many ACKs),
 * and the host itself downloading from a web server: nothing. */
static void
test_traffic_benign(void **state)
{
	const char *client = "198.18.0.3", *server = "198.18.0.4";
	struct traffic_counters n;
	struct sim s;
	int mode, i, k;
	uint16_t sp;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		sim_start(&s, NULL);
		s.use_cb = mode == 0;
		for (i = 0; i < 200; i++) {
			sp = (uint16_t)(33000 + i);
			sim_pkt(&s, client, sp, HOST, 80, IPPROTO_TCP, F_SYN);
			sim_pkt(&s, HOST, 80, client, sp, IPPROTO_TCP,
			    F_SYN | F_ACK);
			sim_pkt(&s, client, sp, HOST, 80, IPPROTO_TCP, F_ACK);
			sim_pkt(&s, client, sp, HOST, 80, IPPROTO_TCP,
			    F_PSH | F_ACK);
			for (k = 0; k < 40; k++) {
				sim_pkt(&s, HOST, 80, client, sp, IPPROTO_TCP,
				    F_ACK);
				if (k % 2)
					sim_pkt(&s, client, sp, HOST, 80,
					    IPPROTO_TCP, F_ACK);
			}
			sim_pkt(&s, HOST, 80, client, sp, IPPROTO_TCP,
			    F_FIN | F_ACK);
			sim_pkt(&s, client, sp, HOST, 80, IPPROTO_TCP,
			    F_FIN | F_ACK);
			sim_pkt(&s, HOST, 80, client, sp, IPPROTO_TCP, F_ACK);
			s.now += 20;	/* 50 connections a second */

			/* The host as a client: a large download. */
			sp = (uint16_t)(50000 + i);
			sim_pkt(&s, HOST, sp, server, 80, IPPROTO_TCP, F_SYN);
			sim_pkt(&s, server, 80, HOST, sp, IPPROTO_TCP,
			    F_SYN | F_ACK);
			sim_pkt(&s, HOST, sp, server, 80, IPPROTO_TCP, F_ACK);
			sim_pkt(&s, HOST, sp, server, 80, IPPROTO_TCP,
			    F_PSH | F_ACK);
			for (k = 0; k < 60; k++) {
				sim_pkt(&s, server, 80, HOST, sp, IPPROTO_TCP,
				    k % 7 ? F_ACK : F_PSH | F_ACK);
				if (k % 2)
					sim_pkt(&s, HOST, sp, server, 80,
					    IPPROTO_TCP, F_ACK);
			}
			sim_pkt(&s, server, 80, HOST, sp, IPPROTO_TCP,
			    F_FIN | F_ACK);
			sim_pkt(&s, HOST, sp, server, 80, IPPROTO_TCP,
			    F_FIN | F_ACK);
			sim_pkt(&s, server, 80, HOST, sp, IPPROTO_TCP, F_ACK);
			/* and a DNS lookup now and then */
			if (i % 10 == 0) {
				sim_pkt(&s, HOST, (uint16_t)(40000 + i),
				    "198.18.0.53", 53, IPPROTO_UDP, 0);
				sim_pkt(&s, "198.18.0.53", 53, HOST,
				    (uint16_t)(40000 + i), IPPROTO_UDP, 0);
			}
		}
		traffic_tick(s.t, s.now + 2000, collect, &s);
		if (s.nal != 0)
			fail_msg("mode %d: '%s'", mode, s.al[0].message);
		traffic_counters(s.t, &n);
		assert_true(n.inbound > 10000 && n.outbound > 10000);
		assert_int_equal(n.unknown, 0);
		assert_int_equal(n.peers, 3);
		sim_stop(&s);
	}
}

/* ---- SYN floods ------------------------------------------------------------- */

/* A flood from 10,000 random (spoofed) sources within a second: one
 * listener alert, not 10,000; it goes on: counted, not repeated. */
/* The estimate of the sources is never more than the SYNs (it was:
 * "652 SYNs from about 896 sources"). Floods of 501 to 1,000 SYNs,
 * each from a source of its own. */
static void
test_traffic_synflood_sources(void **state)
{
	uint32_t x = 2463534242u;
	char src[32];
	struct sim s;
	int n, i;

	(void)state;
	for (n = 501; n <= 1000; n += 7) {
		sim_start(&s, NULL);
		s.now = 3000000;
		for (i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			snprintf(src, sizeof(src), "198.%u.%u.%u",
			    18 + (x >> 31), (x >> 8) & 255, 1 + (x & 127));
			sim_pkt(&s, src, 1024, HOST, 80, IPPROTO_TCP, F_SYN);
		}
		traffic_tick(s.t, s.now + 1000, collect, &s);
		assert_int_equal(s.nal, 1);
		assert_in_range(ev_int(&s.al[0], "sources"), n / 2, n);
		sim_stop(&s);
	}
}

static void
test_traffic_synflood_spoofed(void **state)
{
	struct traffic_counters n;
	char src[32];
	struct sim s;
	uint32_t x = 12345;
	int mode, sec, i;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		sim_start(&s, NULL);
		s.use_cb = mode == 0;
		if (!s.use_cb) {
			/* Offline, the port is known to listen once the
			 * host has answered a SYN on it. */
			s.now = 2000000 - 500;
			sim_pkt(&s, "198.18.0.3", 1000, HOST, 80, IPPROTO_TCP,
			    F_SYN);
			sim_pkt(&s, HOST, 80, "198.18.0.3", 1000, IPPROTO_TCP,
			    F_SYN | F_ACK);
		}
		s.now = 2000000;		/* a second starts */
		for (sec = 0; sec < 4; sec++) {
			for (i = 0; i < 10000; i++) {
				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				snprintf(src, sizeof(src), "198.%u.%u.%u",
				    18 + (x >> 31), (x >> 8) & 255,
				    2 + (x & 127));
				s.now = 2000000 + sec * 1000 + i / 10;
				sim_pkt(&s, src, (uint16_t)(1024 + i % 60000),
				    HOST, 80, IPPROTO_TCP, F_SYN);
				/* SYN cookies: every SYN is answered. */
				sim_pkt(&s, HOST, 80, src,
				    (uint16_t)(1024 + i % 60000), IPPROTO_TCP,
				    F_SYN | F_ACK);
			}
		}
		traffic_tick(s.t, s.now + 1000, collect, &s);
		if (s.nal != 1)
			fail_msg("mode %d: %zu alerts, first '%s'", mode, s.nal,
			    s.nal ? s.al[0].message : "");
		assert_string_equal(s.al[0].kind, "synflood");
		assert_false(s.al[0].has_peer);
		assert_true(s.al[0].has_local);
		assert_int_equal(s.al[0].local_port, 80);
		assert_int_equal(s.al[0].severity, ALERT_CRITICAL);
		if (ev_int(&s.al[0], "syns") != 10000)
			fail_msg("mode %d: %s", mode, s.al[0].message);
		assert_int_equal(ev_int(&s.al[0], "rate_limit"), 500);
		assert_int_equal(ev_int(&s.al[0], "completed"), 0);
		/* about 9,000 distinct of 10,000 random draws from 2^16
		 * (HyperLogLog, 64 registers: 13% standard error) */
		assert_in_range(ev_int(&s.al[0], "sources"), 5000, 10000);
		assert_non_null(strstr(s.al[0].message,
		    "SYN flood on port 80: 10000 SYNs in one second from "
		    "about "));
		traffic_counters(s.t, &n);
		assert_int_equal(n.alerts[TRAFFIC_SYNFLOOD], 1);
		assert_int_equal(n.repeats[TRAFFIC_SYNFLOOD], 3);
		assert_int_equal(n.alerts[TRAFFIC_PORTSCAN], 0);
		/* After the window, a second flood alert with the count. */
		/* (the first alert was raised as second 0 ended) */
		s.now = 2000000 + 11000;
		for (i = 0; i < 600; i++) {
			snprintf(src, sizeof(src), "198.19.%u.%u", i / 200,
			    i % 200 + 1);
			sim_pkt(&s, src, 2000, HOST, 80, IPPROTO_TCP, F_SYN);
		}
		traffic_tick(s.t, s.now + 1000, collect, &s);
		assert_int_equal(s.nal, 2);
		assert_int_equal(ev_int(&s.al[1], "repeats"), 3);
		assert_int_equal(ev_int(&s.al[1], "syns"), 600);
		sim_stop(&s);
	}
}

/* Few sources: an alert per source, at the rate and not below it. */
static void
test_traffic_synflood_few(void **state)
{
	struct sim s;
	int i;

	(void)state;
	/* 500 SYNs in a second from one peer: at the rate, nothing. */
	sim_start(&s, NULL);
	s.now = 3000000;
	for (i = 0; i < 500; i++) {
		s.now = 3000000 + i;
		sim_pkt(&s, "198.18.0.70", (uint16_t)(2000 + i), HOST, 80,
		    IPPROTO_TCP, F_SYN);
		sim_pkt(&s, HOST, 80, "198.18.0.70", (uint16_t)(2000 + i),
		    IPPROTO_TCP, F_SYN | F_ACK);
	}
	traffic_tick(s.t, s.now + 1000, collect, &s);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* 501: over, raised at once, for that peer. */
	sim_start(&s, NULL);
	for (i = 0; i < 501; i++) {
		s.now = 3000000 + i;
		sim_pkt(&s, "198.18.0.70", (uint16_t)(2000 + i), HOST, 80,
		    IPPROTO_TCP, F_SYN);
		assert_int_equal(s.nal, i < 500 ? 0 : 1);
	}
	assert_string_equal(s.al[0].kind, "synflood");
	assert_peer(&s.al[0], "198.18.0.70");
	assert_int_equal(s.al[0].local_port, 80);
	assert_int_equal(ev_int(&s.al[0], "syns"), 501);
	assert_int_equal(ev_int(&s.al[0], "sources"), 1);
	assert_string_equal(s.al[0].message, "SYN flood from 198.18.0.70 to "
	    "port 80: 501 SYNs within a second (limit 500/s for the port), 0 "
	    "handshakes completed");
	sim_stop(&s);

	/* Two flooding peers and a normal client: the two, not the client. */
	sim_start(&s, "[synflood]\nrate = 100\n");
	for (i = 0; i < 120; i++) {
		s.now = 3000000 + i * 5;
		sim_pkt(&s, "198.18.0.71", (uint16_t)(2000 + i), HOST, 80,
		    IPPROTO_TCP, F_SYN);
		sim_pkt(&s, "2001:db8::72", (uint16_t)(2000 + i),
		    "2001:db8::1", 80, IPPROTO_TCP, F_SYN);
		if (i % 20 == 0) {
			sim_pkt(&s, "198.18.0.73", (uint16_t)(9000 + i), HOST,
			    80, IPPROTO_TCP, F_SYN);
			sim_pkt(&s, HOST, 80, "198.18.0.73",
			    (uint16_t)(9000 + i), IPPROTO_TCP, F_SYN | F_ACK);
			sim_pkt(&s, "198.18.0.73", (uint16_t)(9000 + i), HOST,
			    80, IPPROTO_TCP, F_ACK);
		}
	}
	assert_int_equal(s.nal, 2);
	assert_int_equal(count_kind(&s, "synflood"), 2);
	assert_peer(&s.al[0], "198.18.0.71");
	assert_peer(&s.al[1], "2001:db8::72");
	assert_int_equal(ev_int(&s.al[0], "sources"), 3);
	sim_stop(&s);

	/* One flooding peer among 20 ordinary clients of a busy server:
	 * that peer, and no alert for the port. */
	sim_start(&s, NULL);
	for (i = 0; i < 1000; i++) {
		char src[32];
		uint16_t sp = (uint16_t)(2000 + i);

		s.now = 3000000 + i;
		sim_pkt(&s, "198.18.0.76", sp, HOST, 80, IPPROTO_TCP, F_SYN);
		if (i % 5 == 0) {
			snprintf(src, sizeof(src), "198.18.5.%d", i % 100 / 5);
			sim_pkt(&s, src, sp, HOST, 80, IPPROTO_TCP, F_SYN);
			sim_pkt(&s, HOST, 80, src, sp, IPPROTO_TCP,
			    F_SYN | F_ACK);
			sim_pkt(&s, src, sp, HOST, 80, IPPROTO_TCP, F_ACK);
		}
	}
	traffic_tick(s.t, s.now + 1000, collect, &s);
	assert_int_equal(s.nal, 1);
	assert_peer(&s.al[0], "198.18.0.76");
	assert_in_range(ev_int(&s.al[0], "sources"), 18, 24);
	sim_stop(&s);

	/* A spoofed flood with one real flooder in it (a quarter of the
	 * SYNs): that one by itself as the rate is passed, and the rest as
	 * one alert for the port when the second ends. */
	sim_start(&s, NULL);
	for (i = 0; i < 3000; i++) {
		char src[32];

		s.now = 3000000 + i / 3;
		snprintf(src, sizeof(src), "198.19.%d.%d", i / 250,
		    i % 250 + 1);
		sim_pkt(&s, src, 7, HOST, 80, IPPROTO_TCP, F_SYN);
		if (i % 3 == 0)
			sim_pkt(&s, "198.18.0.77", (uint16_t)(2000 + i), HOST,
			    80, IPPROTO_TCP, F_SYN);
		if (i == 374)		/* 499 SYNs */
			assert_int_equal(s.nal, 0);
		if (i == 376)		/* 502 */
			assert_int_equal(s.nal, 1);
	}
	traffic_tick(s.t, s.now + 1000, collect, &s);
	assert_int_equal(s.nal, 2);
	assert_peer(&s.al[0], "198.18.0.77");
	assert_int_equal(ev_int(&s.al[0], "syns"), 125);
	assert_int_equal(ev_int(&s.al[0], "listener_syns"), 501);
	assert_false(s.al[1].has_peer);
	assert_int_equal(ev_int(&s.al[1], "syns"), 4000);
	sim_stop(&s);

	/* A busy server: 600 connections a second, all completing. */
	sim_start(&s, NULL);
	for (i = 0; i < 600; i++) {
		s.now = 3000000 + i;
		sim_pkt(&s, "198.18.0.74", (uint16_t)(2000 + i), HOST, 80,
		    IPPROTO_TCP, F_SYN);
		sim_pkt(&s, HOST, 80, "198.18.0.74", (uint16_t)(2000 + i),
		    IPPROTO_TCP, F_SYN | F_ACK);
		sim_pkt(&s, "198.18.0.74", (uint16_t)(2000 + i), HOST, 80,
		    IPPROTO_TCP, F_ACK);
	}
	traffic_tick(s.t, s.now + 1000, collect, &s);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* SYNs to a port nobody listens on are not a flood of a listener. */
	sim_start(&s, NULL);
	for (i = 0; i < 1000; i++) {
		s.now = 3000000 + i / 2;
		sim_pkt(&s, "198.18.0.75", (uint16_t)(2000 + i), HOST, 8080,
		    IPPROTO_TCP, F_SYN);
	}
	traffic_tick(s.t, s.now + 1000, collect, &s);
	assert_int_equal(count_kind(&s, "synflood"), 0);
	sim_stop(&s);
}

/* ---- brute force ------------------------------------------------------------ */

/* One short-lived connection (a password guess) from peer:sport to 22. */
static void
ssh_conn(struct sim *s, const char *peer, uint16_t sport, uint16_t port)
{
	sim_pkt(s, peer, sport, HOST, port, IPPROTO_TCP, F_SYN);
	sim_pkt(s, HOST, port, peer, sport, IPPROTO_TCP, F_SYN | F_ACK);
	sim_pkt(s, peer, sport, HOST, port, IPPROTO_TCP, F_ACK);
	sim_pkt(s, peer, sport, HOST, port, IPPROTO_TCP, F_PSH | F_ACK);
	sim_pkt(s, HOST, port, peer, sport, IPPROTO_TCP, F_PSH | F_ACK);
	sim_pkt(s, peer, sport, HOST, port, IPPROTO_TCP, F_FIN | F_ACK);
	sim_pkt(s, HOST, port, peer, sport, IPPROTO_TCP, F_FIN | F_ACK);
	sim_pkt(s, peer, sport, HOST, port, IPPROTO_TCP, F_ACK);
}

/* Return-path evidence: a peer whose handshake came over 0 hops, then a
 * scan in its name over 14 (nmap -D): spoof_suspected, with the hops.
 * A brute-forcer's own completed connections prove it, whatever junk
 * SYNs with another TTL it adds. */
static void
test_traffic_spoof(void **state)
{
	const json_t *h;
	struct sim s;
	int i;

	(void)state;
	sim_start(&s, NULL);
	s.ttl = 64;
	ssh_conn(&s, "198.18.0.70", 40000, 22);
	s.ttl = 50;
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.0.70", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].kind, "portscan");
	assert_non_null(json_object_get(s.al[0].evidence, "spoof_suspected"));
	h = json_object_get(s.al[0].evidence, "hops");
	assert_int_equal(json_integer_value(json_object_get(h, "verified")), 0);
	assert_true(json_integer_value(json_object_get(h, "differ")) >= 20);
	/* A scanner that never completed a handshake: nothing to compare. */
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.0.71", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 2);
	assert_null(json_object_get(s.al[1].evidence, "spoof_suspected"));
	assert_null(json_object_get(s.al[1].evidence, "hops"));
	sim_stop(&s);

	/* The brute-forcer: once its own completed connections reach the
	 * limit, junk SYNs with another TTL do not make it spoof-suspect. */
	sim_start(&s, NULL);
	s.ttl = 64;
	for (i = 0; i < 10; i++) {
		ssh_conn(&s, "198.18.0.72", (uint16_t)(40000 + i), 22);
		s.now += 100;
	}
	assert_int_equal(s.nal, 0);
	/* More junk than real SYNs (as retransmissions: not connections,
	 * but SYNs over another hop count all the same)... */
	s.ttl = 200;
	for (i = 0; i < 15; i++)
		sim_pkt(&s, "198.18.0.72", 40009, HOST, 22, IPPROTO_TCP,
		    F_SYN);
	assert_int_equal(s.nal, 0);
	/* ... then the 11th connection, its own. */
	s.ttl = 64;
	sim_pkt(&s, "198.18.0.72", 40010, HOST, 22, IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].kind, "bruteforce");
	assert_null(json_object_get(s.al[0].evidence, "spoof_suspected"));
	sim_stop(&s);
}

/* The ingress check: a scan in the name of an address whose route
 * leaves by another interface than the one it came in on. */
static void
test_traffic_ingress(void **state)
{
	struct traffic_route r[4];
	const json_t *in;
	struct sim s;
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(cidr_parse("198.18.0.0/24", &r[0].net), 0);
	r[0].ifindex = 2;
	assert_int_equal(cidr_parse("198.18.1.0/24", &r[1].net), 0);
	r[1].ifindex = 3;
	/* A prefix over two interfaces checks nothing. */
	assert_int_equal(cidr_parse("198.18.2.0/24", &r[2].net), 0);
	r[2].ifindex = 2;
	r[3].net = r[2].net;
	r[3].ifindex = 3;
	sim_start(&s, NULL);
	assert_int_equal(traffic_set_routes(s.t, r, 4), 0);
	s.ttl = 64;
	s.ifindex = 2;
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.1.9", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 1);
	assert_non_null(json_object_get(s.al[0].evidence, "spoof_suspected"));
	in = json_object_get(s.al[0].evidence, "ingress");
	assert_int_equal(json_integer_value(json_object_get(in, "interface")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(in,
	    "route_back")), 3);
	/* Where its route leaves: taken as it is. */
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.0.9", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	/* Several interfaces; no route at all; no interface known. */
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.2.9", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.19.0.9", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	s.ifindex = 0;
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.1.10", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 5);
	for (i = 1; i < 5; i++)
		assert_null(json_object_get(s.al[i].evidence,
		    "spoof_suspected"));
	/* Routes over one interface only: no check. */
	assert_int_equal(traffic_set_routes(s.t, r, 1), 0);
	s.ifindex = 3;
	for (i = 0; i < 25; i++)
		sim_pkt(&s, "198.18.0.11", 50000, HOST, (uint16_t)(1000 + i),
		    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 6);
	assert_null(json_object_get(s.al[5].evidence, "spoof_suspected"));
	sim_stop(&s);
}

static void
test_traffic_bruteforce(void **state)
{
	struct traffic_counters n;
	struct sim s;
	int i;

	(void)state;
	/* 10 connections in a minute: at the limit, nothing; the 11th is
	 * over; more in the window only count. */
	sim_start(&s, NULL);
	for (i = 0; i < 13; i++) {
		s.now = T0 + i * 1000;
		ssh_conn(&s, "198.18.0.80", (uint16_t)(40000 + i), 22);
		assert_int_equal(s.nal, i < 10 ? 0 : 1);
	}
	assert_string_equal(s.al[0].kind, "bruteforce");
	assert_peer(&s.al[0], "198.18.0.80");
	assert_int_equal(s.al[0].local_port, 22);
	assert_int_equal(s.al[0].severity, ALERT_CRITICAL);
	assert_string_equal(s.al[0].message, "brute force from 198.18.0.80 "
	    "on port 22: 11 connections within 1m (limit 10)");
	assert_int_equal(ev_int(&s.al[0], "connections"), 11);
	assert_int_equal(ev_int(&s.al[0], "connections_limit"), 10);
	assert_int_equal(ev_int(&s.al[0], "window"), 60);
	/* The alert came with the 11th SYN, before its handshake. */
	assert_int_equal(ev_int(&s.al[0], "handshakes_completed"), 10);
	traffic_counters(s.t, &n);
	assert_int_equal(n.repeats[TRAFFIC_BRUTEFORCE], 2);
	assert_int_equal(count_kind(&s, "portscan"), 0);
	sim_stop(&s);

	/* Four in parallel, as a guessing tool makes them: the alert comes
	 * with the 11th SYN, before its handshake. */
	sim_start(&s, NULL);
	for (i = 0; i < 11; i++) {
		sim_pkt(&s, "198.18.0.81", (uint16_t)(41000 + i), HOST, 22,
		    IPPROTO_TCP, F_SYN);
		s.now += 30;
	}
	assert_int_equal(s.nal, 1);
	sim_stop(&s);

	/* Retransmitted SYNs are not new connections. */
	sim_start(&s, NULL);
	for (i = 0; i < 10; i++) {
		sim_pkt(&s, "198.18.0.82", (uint16_t)(42000 + i), HOST, 22,
		    IPPROTO_TCP, F_SYN);
		sim_pkt(&s, "198.18.0.82", (uint16_t)(42000 + i), HOST, 22,
		    IPPROTO_TCP, F_SYN);
		s.now += 1000;
	}
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* Ports not watched are not counted; watched ones all are. */
	sim_start(&s, "[bruteforce]\nports = 22, 2222\n");
	for (i = 0; i < 20; i++)
		ssh_conn(&s, "198.18.0.83", (uint16_t)(43000 + i), 443);
	assert_int_equal(s.nal, 0);
	for (i = 0; i < 11; i++)
		ssh_conn(&s, "198.18.0.83", (uint16_t)(44000 + i),
		    i % 2 ? 22 : 2222);
	assert_int_equal(s.nal, 1);
	assert_int_equal(json_array_size(json_object_get(s.al[0].evidence,
	    "ports")), 2);
	sim_stop(&s);

	/* Time: the window is counted in sixteenths (3.75 s of 60 s). */
	sim_start(&s, NULL);
	ssh_conn(&s, "198.18.0.84", 45000, 22);		/* at T0 */
	s.now = T0 + 57000;				/* 57 s later */
	for (i = 1; i < 11; i++)
		ssh_conn(&s, "198.18.0.84", (uint16_t)(45000 + i), 22);
	assert_int_equal(s.nal, 1);			/* all 11 count */
	sim_stop(&s);
	sim_start(&s, NULL);
	ssh_conn(&s, "198.18.0.84", 45000, 22);
	s.now = T0 + 60000;				/* a window later */
	for (i = 1; i < 11; i++)
		ssh_conn(&s, "198.18.0.84", (uint16_t)(45000 + i), 22);
	assert_int_equal(s.nal, 0);			/* 10 in the window */
	s.now = T0 + 60001;
	ssh_conn(&s, "198.18.0.84", 45020, 22);
	assert_int_equal(s.nal, 1);
	sim_stop(&s);
	/* (58 s: inside the window, but in the sixteenth that has just
	 * gone: counted out. Never longer than the window, at least
	 * 15/16 of it.) */
	sim_start(&s, NULL);
	ssh_conn(&s, "198.18.0.84", 45000, 22);
	s.now = T0 + 58000;
	for (i = 1; i < 11; i++)
		ssh_conn(&s, "198.18.0.84", (uint16_t)(45000 + i), 22);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* Off. */
	sim_start(&s, "[bruteforce]\nenabled = no\n");
	for (i = 0; i < 30; i++)
		ssh_conn(&s, "198.18.0.85", (uint16_t)(46000 + i), 22);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);
}

/* An ssh connection as hydra makes it against Debian's sshd (payload
 * sizes as captured): the handshake, then banners, key exchange and the
 * "none" method, each answered at once, 1 ms apart. */
static void
ssh_open(struct sim *s, const char *peer, uint16_t sport)
{
	static const struct {
		bool client;
		uint32_t len;
	} pre[] = {
		{ true, 32 }, { false, 32 }, { true, 904 }, { false, 1088 },
		{ true, 48 }, { false, 524 }, { true, 16 }, { true, 44 },
		{ false, 44 }, { true, 68 }, { false, 52 },
	};
	size_t i;

	sim_pkt(s, peer, sport, HOST, 22, IPPROTO_TCP, F_SYN);
	sim_pkt(s, HOST, 22, peer, sport, IPPROTO_TCP, F_SYN | F_ACK);
	sim_pkt(s, peer, sport, HOST, 22, IPPROTO_TCP, F_ACK);
	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		s->now += 1;
		if (pre[i].client)
			sim_pkt_len(s, peer, sport, HOST, 22, IPPROTO_TCP,
			    F_PSH | F_ACK, pre[i].len);
		else
			sim_pkt_len(s, HOST, 22, peer, sport, IPPROTO_TCP,
			    F_PSH | F_ACK, pre[i].len);
	}
}

/* The client's data (a password), ACKed at once. */
static void
ssh_ask(struct sim *s, const char *peer, uint16_t sport, uint32_t len)
{
	sim_pkt_len(s, peer, sport, HOST, 22, IPPROTO_TCP, F_PSH | F_ACK, len);
	s->now += 1;
	sim_pkt(s, HOST, 22, peer, sport, IPPROTO_TCP, F_ACK);
}

/* The server's answer, ACKed at once. */
static void
ssh_answer(struct sim *s, const char *peer, uint16_t sport)
{
	sim_pkt_len(s, HOST, 22, peer, sport, IPPROTO_TCP, F_PSH | F_ACK, 52);
	sim_pkt(s, peer, sport, HOST, 22, IPPROTO_TCP, F_ACK);
}

/* A password, answered wait_ms after it. */
static void
ssh_guess(struct sim *s, const char *peer, uint16_t sport, int64_t wait_ms)
{
	int64_t t = s->now;

	ssh_ask(s, peer, sport, 84);
	s->now = t + wait_ms;
	ssh_answer(s, peer, sport);
	s->now += 1;
}

static void
ssh_close(struct sim *s, const char *peer, uint16_t sport)
{
	sim_pkt(s, peer, sport, HOST, 22, IPPROTO_TCP, F_FIN | F_ACK);
	sim_pkt(s, HOST, 22, peer, sport, IPPROTO_TCP, F_FIN | F_ACK);
	sim_pkt(s, peer, sport, HOST, 22, IPPROTO_TCP, F_ACK);
}

/* Failed logins, timed from the packets: the server answers a wrong
 * password after PAM's failure delay (2.72 s measured), everything else
 * at once. */
static void
test_traffic_bruteforce_attempts(void **state)
{
	const char *P = "198.18.0.90";
	struct traffic_counters n;
	struct sim s;
	int i;

	(void)state;
	/* One connection, 7 guesses: the 7th is over the limit of 6. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40000);
	for (i = 0; i < 7; i++) {
		assert_int_equal(s.nal, 0);
		ssh_guess(&s, P, 40000, 2720);
	}
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].kind, "bruteforce");
	assert_peer(&s.al[0], P);
	assert_int_equal(s.al[0].local_port, 22);
	assert_string_equal(s.al[0].message, "brute force from 198.18.0.90 "
	    "on port 22: 7 failed logins within 1m (limit 6)");
	assert_string_equal(ev_str(&s.al[0], "signal"), "attempts");
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	assert_int_equal(ev_int(&s.al[0], "attempts_limit"), 6);
	assert_int_equal(ev_int(&s.al[0], "syns_total"), 1);
	assert_int_equal(ev_int(&s.al[0], "handshakes_completed"), 1);
	assert_int_equal(ev_int(&s.al[0], "window"), 60);
	assert_int_equal(json_array_size(json_object_get(s.al[0].evidence,
	    "ports")), 1);
	assert_null(json_object_get(s.al[0].evidence, "connections"));
	/* More in the window: repeats, whichever signal (the 8th guess;
	 * the 11th and 12th connection). */
	ssh_guess(&s, P, 40000, 2720);
	ssh_close(&s, P, 40000);
	for (i = 0; i < 11; i++)
		ssh_conn(&s, P, (uint16_t)(40100 + i), 22);
	assert_int_equal(s.nal, 1);
	traffic_counters(s.t, &n);
	assert_int_equal(n.repeats[TRAFFIC_BRUTEFORCE], 3);
	sim_stop(&s);

	/* Answered at once (a correct password, an interactive session,
	 * keystrokes and their echo): never counted. */
	sim_start(&s, NULL);
	for (i = 0; i < 8; i++) {
		int k;

		ssh_open(&s, P, (uint16_t)(40200 + i));
		for (k = 0; k < 40; k++)
			ssh_guess(&s, P, (uint16_t)(40200 + i), 5);
		/* Idle, then a keystroke and its echo. */
		s.now += 20000;
		ssh_guess(&s, P, (uint16_t)(40200 + i), 30);
	}
	/* A correct password's hash takes its time, more on a loaded host:
	 * still not a failure. */
	ssh_open(&s, P, 40250);
	for (i = 0; i < 10; i++)
		ssh_guess(&s, P, 40250, 800);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* An administrator mistypes twice and logs in, three times: the
	 * password after a typo is counted as it is sent and taken back
	 * when it is answered at once; six in all, not over 6. A seventh
	 * typo is. */
	sim_start(&s, NULL);
	for (i = 0; i < 3; i++) {
		ssh_open(&s, P, (uint16_t)(40260 + i));
		ssh_guess(&s, P, (uint16_t)(40260 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40260 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40260 + i), 80);
		/* The session's first requests, answered at once. */
		ssh_guess(&s, P, (uint16_t)(40260 + i), 5);
		ssh_close(&s, P, (uint16_t)(40260 + i));
	}
	assert_int_equal(s.nal, 0);
	ssh_open(&s, P, 40270);
	ssh_guess(&s, P, 40270, 2720);
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* A typo, then the client's last words, unanswered, and its FIN:
	 * what was counted ahead is taken back. */
	sim_start(&s, NULL);
	for (i = 0; i < 6; i++) {
		ssh_open(&s, P, (uint16_t)(40290 + i));
		ssh_guess(&s, P, (uint16_t)(40290 + i), 2720);
		ssh_ask(&s, P, (uint16_t)(40290 + i), 36);
		ssh_close(&s, P, (uint16_t)(40290 + i));
	}
	assert_int_equal(s.nal, 0);
	ssh_open(&s, P, 40299);
	ssh_guess(&s, P, 40299, 2720);
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* The administrator's three logins again, each ending as ssh may:
	 * its disconnect unanswered, then its RST (the server's last data
	 * unread) and no FIN from the server, ticks for seconds after: no
	 * failed login (seen in 1 run of 3 of the integration test). */
	sim_start(&s, NULL);
	for (i = 0; i < 3; i++) {
		int k;

		ssh_open(&s, P, (uint16_t)(40310 + i));
		ssh_guess(&s, P, (uint16_t)(40310 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40310 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40310 + i), 80);
		ssh_ask(&s, P, (uint16_t)(40310 + i), 60);
		sim_pkt(&s, P, (uint16_t)(40310 + i), HOST, 22, IPPROTO_TCP,
		    F_RST | F_ACK);
		for (k = 0; k < 3; k++) {
			s.now += 1000;
			traffic_tick(s.t, s.now, collect, &s);
		}
	}
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* A guesser that sends a RST or FIN after each guess (dropped by
	 * the kernel when out of its window) is counted when the answer
	 * comes instead. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40320);
	for (i = 0; i < 7; i++) {
		int64_t t = s.now;

		ssh_ask(&s, P, 40320, 84);
		sim_pkt(&s, P, 40320, HOST, 22, IPPROTO_TCP,
		    i % 2 ? F_RST : F_FIN | F_ACK);
		s.now = t + 1500;
		traffic_tick(s.t, s.now, collect, &s);
		s.now = t + 2720;
		ssh_answer(&s, P, 40320);
		s.now += 1;
	}
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* A guesser that sees no quick answer (a correct password's) and
	 * then resets the connection, a guess per connection: each wait is
	 * counted by the tick, the RST coming too late to be last words. */
	sim_start(&s, NULL);
	for (i = 0; i < 7; i++) {
		int64_t t;

		ssh_open(&s, P, (uint16_t)(40330 + i));
		t = s.now;
		ssh_ask(&s, P, (uint16_t)(40330 + i), 84);
		s.now = t + 500;
		sim_pkt(&s, P, (uint16_t)(40330 + i), HOST, 22, IPPROTO_TCP,
		    F_RST | F_ACK);
		s.now = t + 1500;
		traffic_tick(s.t, s.now, collect, &s);
	}
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* A guesser that sends a RST out of the window right after each
	 * guess (the kernel drops it) and keeps its window shut past the
	 * late bound: its answers, 40 s later, count each guess. */
	sim_start(&s, NULL);
	for (i = 0; i < 7; i++) {
		ssh_open(&s, P, (uint16_t)(40340 + i));
		ssh_ask(&s, P, (uint16_t)(40340 + i), 84);
		sim_pkt(&s, P, (uint16_t)(40340 + i), HOST, 22, IPPROTO_TCP,
		    F_RST);
	}
	for (i = 0; i < 40; i++) {
		s.now += 1000;
		traffic_tick(s.t, s.now, collect, &s);
	}
	assert_int_equal(s.nal, 0);
	for (i = 0; i < 7; i++)
		ssh_answer(&s, P, (uint16_t)(40340 + i));
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* Guesses sent together (sshd answers them in turn, each after its
	 * failure delay, with no data from the client between): each
	 * answer a failure delay after the one before counts. Two
	 * connections of six. */
	sim_start(&s, NULL);
	for (i = 0; i < 2; i++) {
		int k;

		ssh_open(&s, P, (uint16_t)(40330 + i));
		ssh_ask(&s, P, (uint16_t)(40330 + i), 6 * 84);
		for (k = 0; k < 6; k++) {
			s.now += 2720;
			ssh_answer(&s, P, (uint16_t)(40330 + i));
			if (k == 0)
				traffic_tick(s.t, s.now, collect, &s);
		}
	}
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* After typos and a login, the session's output without the
	 * client's data (a command's, seconds apart) counts nothing. */
	sim_start(&s, NULL);
	for (i = 0; i < 3; i++) {
		int k;

		ssh_open(&s, P, (uint16_t)(40340 + i));
		ssh_guess(&s, P, (uint16_t)(40340 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40340 + i), 2720);
		ssh_guess(&s, P, (uint16_t)(40340 + i), 80);
		for (k = 0; k < 5; k++) {
			s.now += 2000;
			ssh_answer(&s, P, (uint16_t)(40340 + i));
		}
		ssh_close(&s, P, (uint16_t)(40340 + i));
	}
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* The 7th guess is alerted for a second into its wait, by the
	 * tick, before its answer comes. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40280);
	for (i = 0; i < 6; i++)
		ssh_guess(&s, P, 40280, 2720);
	assert_int_equal(s.nal, 0);
	ssh_ask(&s, P, 40280, 84);
	s.now += 900;
	traffic_tick(s.t, s.now, collect, &s);
	assert_int_equal(s.nal, 0);
	s.now += 200;
	traffic_tick(s.t, s.now, collect, &s);
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	/* Its answer adds nothing. */
	ssh_answer(&s, P, 40280);
	ssh_guess(&s, P, 40280, 2720);
	traffic_counters(s.t, &n);
	assert_int_equal(n.repeats[TRAFFIC_BRUTEFORCE], 1);
	sim_stop(&s);

	/* A retransmitted password does not restart the clock: 1 s from
	 * the first, 0.4 s from the retransmission, counted. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40300);
	for (i = 0; i < 7; i++) {
		int64_t t = s.now;

		sim_pkt_len(&s, P, 40300, HOST, 22, IPPROTO_TCP,
		    F_PSH | F_ACK, 84);
		s.now = t + 600;
		sim_pkt_len(&s, P, 40300, HOST, 22, IPPROTO_TCP,
		    F_PSH | F_ACK, 84);
		s.now = t + 1000;
		ssh_answer(&s, P, 40300);
		s.now += 1;
	}
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 7);
	sim_stop(&s);

	/* Two connections at once (hydra -t 2) add up. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40400);
	ssh_open(&s, P, 40401);
	for (i = 0; i < 4; i++) {
		int64_t t = s.now;

		ssh_ask(&s, P, 40400, 84);
		ssh_ask(&s, P, 40401, 84);
		s.now = t + 2720;
		ssh_answer(&s, P, 40400);
		if (i < 3)
			assert_int_equal(s.nal, 0);
		ssh_answer(&s, P, 40401);
		s.now += 1;
	}
	/* At the first failure of the fourth round: both its guesses, the
	 * other one still waiting, counted as they were sent. */
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts"), 8);
	sim_stop(&s);

	/* The server's FIN forgets the connection: what the same ports
	 * carry after it (without a SYN) is not followed... */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40500);
	for (i = 0; i < 3; i++)
		ssh_guess(&s, P, 40500, 2720);
	sim_pkt(&s, HOST, 22, P, 40500, IPPROTO_TCP, F_FIN | F_ACK);
	for (i = 0; i < 10; i++)
		ssh_guess(&s, P, 40500, 2720);
	/* ... and so does its RST. */
	ssh_open(&s, P, 40501);
	for (i = 0; i < 3; i++)
		ssh_guess(&s, P, 40501, 2720);
	sim_pkt(&s, HOST, 22, P, 40501, IPPROTO_TCP, F_RST);
	for (i = 0; i < 10; i++)
		ssh_guess(&s, P, 40501, 2720);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* What the client alone sends ends nothing (the kernel drops what
	 * is out of its window, and the guessing goes on): a RST or FIN
	 * of its own, a SYN on the same ports (answered with a challenge
	 * ACK), a hundred small segments between the guesses. */
	for (i = 0; i < 3; i++) {
		int k, j;

		sim_start(&s, NULL);
		ssh_open(&s, P, 40550);
		for (k = 0; k < 7; k++) {
			if (i == 0)
				sim_pkt(&s, P, 40550, HOST, 22, IPPROTO_TCP,
				    k % 2 ? F_RST : F_FIN | F_ACK);
			else if (i == 1)
				sim_pkt(&s, P, 40550, HOST, 22, IPPROTO_TCP,
				    F_SYN);
			else
				for (j = 0; j < 15; j++)
					ssh_guess(&s, P, 40550, 1);
			ssh_guess(&s, P, 40550, 2720);
		}
		if (s.nal != 1)
			fail_msg("evasion %d: %zu alerts", i, s.nal);
		sim_stop(&s);
	}

	/* Answers more than 30 s late are not a failure delay; up to 30 s
	 * they are (7 connections at once, each waiting the same). */
	sim_start(&s, NULL);
	for (i = 0; i < 7; i++)
		ssh_open(&s, P, (uint16_t)(40600 + i));
	for (i = 0; i < 7; i++)
		ssh_ask(&s, P, (uint16_t)(40600 + i), 84);
	s.now += 30002;
	for (i = 0; i < 7; i++)
		ssh_answer(&s, P, (uint16_t)(40600 + i));
	assert_int_equal(s.nal, 0);
	for (i = 0; i < 7; i++)
		ssh_ask(&s, P, (uint16_t)(40600 + i), 84);
	s.now += 29990;
	for (i = 0; i < 7; i++)
		ssh_answer(&s, P, (uint16_t)(40600 + i));
	assert_int_equal(s.nal, 1);
	sim_stop(&s);

	/* Nor after sshd's LoginGraceTime, 120 s from the SYN. */
	sim_start(&s, NULL);
	ssh_open(&s, P, 40800);
	s.now += 120000;
	for (i = 0; i < 7; i++)
		ssh_guess(&s, P, 40800, 2720);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);

	/* Limits: attempts = 2 alerts at the 3rd; a port not watched is
	 * not followed. */
	sim_start(&s, "[bruteforce]\nattempts = 2\n");
	ssh_open(&s, P, 40900);
	for (i = 0; i < 3; i++)
		ssh_guess(&s, P, 40900, 2720);
	assert_int_equal(s.nal, 1);
	assert_int_equal(ev_int(&s.al[0], "attempts_limit"), 2);
	sim_stop(&s);
	sim_start(&s, "[bruteforce]\nports = 2222\n");
	ssh_open(&s, P, 41000);
	for (i = 0; i < 7; i++)
		ssh_guess(&s, P, 41000, 2720);
	assert_int_equal(s.nal, 0);
	sim_stop(&s);
}

/* ---- deny and allow --------------------------------------------------------- */

static void
test_traffic_deny(void **state)
{
	char conf[256], path[] = "/tmp/sockwatch-deny-XXXXXX";
	struct traffic_counters n;
	struct sim s;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# list\n198.19.0.0/16 ; SBL1\n", 28), 28);
	close(fd);
	snprintf(conf, sizeof(conf), "[deny]\npeers = 203.0.113.0/24, "
	    "2001:db8:bad::/48\nfile = %s\naction = block\n", path);
	sim_start(&s, conf);
	/* One packet from a denied peer: an alert. */
	sim_pkt(&s, "203.0.113.7", 5555, HOST, 443, IPPROTO_TCP, F_ACK);
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].kind, "denylist");
	assert_peer(&s.al[0], "203.0.113.7");
	assert_string_equal(s.al[0].action, "block");
	assert_string_equal(s.al[0].message, "traffic from denied peer "
	    "203.0.113.7 (deny peers entry 203.0.113.0/24)");
	assert_string_equal(ev_str(&s.al[0], "entry"), "203.0.113.0/24");
	assert_string_equal(ev_str(&s.al[0], "direction"), "inbound");
	assert_int_equal(ev_int(&s.al[0], "window"), 60);
	assert_int_equal(ev_int(&s.al[0], "ban"), 3600);
	/* More within the window: counted. */
	for (i = 0; i < 100; i++) {
		s.now += 100;
		sim_pkt(&s, "203.0.113.7", 5555, HOST, 443, IPPROTO_TCP,
		    F_ACK);
	}
	assert_int_equal(s.nal, 1);
	/* A window after the alert: the next one, with the count. */
	s.now = T0 + 60000;
	sim_pkt(&s, "203.0.113.7", 5555, HOST, 443, IPPROTO_TCP, F_ACK);
	assert_int_equal(s.nal, 2);
	assert_int_equal(ev_int(&s.al[1], "repeats"), 100);
	/* To a denied peer (the host calling out): an alert too. */
	sim_pkt(&s, "2001:db8::1", 40000, "2001:db8:bad::9", 443,
	    IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 3);
	assert_string_equal(s.al[2].message, "traffic to denied peer "
	    "2001:db8:bad::9 (deny peers entry 2001:db8:bad::/48)");
	assert_string_equal(ev_str(&s.al[2], "direction"), "outbound");
	/* From the file. */
	sim_pkt(&s, "198.19.4.4", 53, HOST, 53, IPPROTO_UDP, 0);
	assert_int_equal(s.nal, 4);
	assert_string_equal(ev_str(&s.al[3], "list"), "file");
	assert_string_equal(ev_str(&s.al[3], "entry"), "198.19.0.0/16");
	/* Not denied. */
	sim_pkt(&s, "198.18.4.4", 53, HOST, 53, IPPROTO_UDP, 0);
	assert_int_equal(s.nal, 4);
	traffic_counters(s.t, &n);
	assert_int_equal(n.alerts[TRAFFIC_DENYLIST], 4);
	assert_int_equal(n.repeats[TRAFFIC_DENYLIST], 100);
	sim_stop(&s);
	unlink(path);
}

static void
test_traffic_allow(void **state)
{
	struct traffic_counters n;
	const struct peer *p;
	struct addr a;
	struct sim s;
	int i;

	(void)state;
	sim_start(&s, "[deny]\npeers = 198.18.0.0/24\n"
	    "[allow]\npeers = 198.18.0.66, 2001:db8:1::/48\n");
	/* Allowed: a scan, a flood, brute force, a denied range: nothing. */
	sim_scan(&s, "198.18.0.66", SYN, 1, 1000);
	for (i = 0; i < 20; i++)
		ssh_conn(&s, "198.18.0.66", (uint16_t)(40000 + i), 22);
	for (i = 0; i < 1000; i++)
		sim_pkt(&s, "198.18.0.66", (uint16_t)(1000 + i), HOST, 80,
		    IPPROTO_TCP, F_SYN);
	sim_scan(&s, "2001:db8:1::5", SYN, 1, 0);
	assert_int_equal(s.nal, 0);
	/* The host's own addresses and loopback: nothing either. */
	sim_scan(&s, "2001:db8::1", SYN, 1, 0);
	for (i = 1; i < 100; i++) {
		sim_pkt(&s, "127.0.0.1", 50000, "127.0.0.1", (uint16_t)i,
		    IPPROTO_TCP, F_SYN);
		sim_pkt(&s, "::1", 50000, "::1", (uint16_t)i, IPPROTO_TCP,
		    F_SYN);
		sim_pkt(&s, HOST, 50000, HOST, (uint16_t)i, IPPROTO_TCP,
		    F_SYN);
	}
	traffic_tick(s.t, s.now + 2000, collect, &s);
	assert_int_equal(s.nal, 0);
	/* ... but counted, and the peer table has them. */
	traffic_counters(s.t, &n);
	assert_true(n.exempt > 3000);
	a = A("198.18.0.66");
	p = peers_find(traffic_peers(s.t), &a);
	assert_non_null(p);
	assert_int_equal(traffic_peer_flags(s.t, p),
	    TRAFFIC_PEER_DENIED | TRAFFIC_PEER_ALLOWED);
	a = A("127.0.0.1");
	p = peers_find(traffic_peers(s.t), &a);
	assert_non_null(p);
	assert_int_equal(traffic_peer_flags(s.t, p), TRAFFIC_PEER_LOCAL);
	/* The rest of the denied range is alerted. */
	sim_pkt(&s, "198.18.0.99", 1, HOST, 1, IPPROTO_TCP, F_SYN);
	assert_int_equal(s.nal, 1);
	assert_string_equal(s.al[0].kind, "denylist");
	sim_stop(&s);
}

/* ---- plumbing ---------------------------------------------------------------- */

static void
test_traffic_direction(void **state)
{
	struct traffic_counters n;
	struct sim s;

	(void)state;
	sim_start(&s, NULL);
	/* Neither end is this host (a capture on a bridge): ignored. */
	sim_pkt(&s, "198.18.0.5", 1, "198.18.0.6", 2, IPPROTO_TCP, F_SYN);
	/* Broadcast and multicast: counted, skipped. */
	sim_pkt(&s, "198.18.0.5", 68, "255.255.255.255", 67, IPPROTO_UDP, 0);
	sim_pkt(&s, HOST, 5353, "224.0.0.251", 5353, IPPROTO_UDP, 0);
	sim_pkt(&s, "0.0.0.0", 68, HOST, 67, IPPROTO_UDP, 0);
	traffic_counters(s.t, &n);
	assert_int_equal(n.packets, 4);
	assert_int_equal(n.unknown, 1);
	assert_int_equal(n.skipped, 3);
	assert_int_equal(n.peers, 0);
	sim_stop(&s);

	/* With the capture's direction, no local addresses are needed. */
	sim_start(&s, NULL);
	assert_int_equal(traffic_set_local(s.t, NULL, 0), 0);
	s.dir_known = true;
	sim_scan(&s, "198.18.0.66", XMAS, 1, 100);
	assert_int_equal(s.nal, 1);
	s.dir_known = false;
	sim_scan(&s, "198.18.0.67", XMAS, 1, 100);
	assert_int_equal(s.nal, 1);	/* unknown direction: ignored */
	traffic_counters(s.t, &n);
	assert_int_equal(n.unknown, 197);	/* 100 probes, 97 RSTs */
	sim_stop(&s);
}

static void
test_traffic_reconfigure(void **state)
{
	struct config_error err;
	struct config *cfg;
	struct traffic_counters n;
	struct sim s;

	(void)state;
	sim_start(&s, NULL);
	sim_scan(&s, "198.18.0.66", SYN, 1, 15);
	assert_int_equal(s.nal, 0);
	/* A lower threshold and a deny list: same table, new rules. */
	assert_int_equal(config_load_string("[portscan]\nports = 15\n"
	    "[deny]\npeers = 198.18.0.66\n", "t.conf", &cfg, &err), 0);
	assert_int_equal(traffic_reconfigure(s.t, cfg), 0);
	config_free(cfg);
	sim_scan(&s, "198.18.0.66", SYN, 16, 16);
	assert_int_equal(count_kind(&s, "portscan"), 1);
	assert_int_equal(count_kind(&s, "denylist"), 1);
	traffic_counters(s.t, &n);
	assert_int_equal(n.peers, 1);
	/* A new size: a new, empty table. */
	assert_int_equal(config_load_string("[daemon]\nmax_peers = 10\n",
	    "t.conf", &cfg, &err), 0);
	assert_int_equal(traffic_reconfigure(s.t, cfg), 1);
	config_free(cfg);
	traffic_counters(s.t, &n);
	assert_int_equal(n.peers, 0);
	assert_int_equal(n.max_peers, 10);
	sim_stop(&s);
	assert_string_equal(traffic_kind_name(TRAFFIC_BRUTEFORCE),
	    "bruteforce");
	assert_string_equal(traffic_kind_name(TRAFFIC_NKINDS), "?");
}

/* A flood of spoofed sources stays within max_peers. */
static void
test_traffic_bounded(void **state)
{
	struct traffic_counters n;
	char src[32];
	struct sim s;
	uint32_t x = 777;
	int i;

	(void)state;
	sim_start(&s, "[daemon]\nmax_peers = 1000\n");
	for (i = 0; i < 50000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		snprintf(src, sizeof(src), "198.18.%u.%u", (x >> 8) & 255,
		    2 + (x & 127));
		s.now = T0 + i / 20;
		sim_pkt(&s, src, 1234, HOST, (uint16_t)(1 + x % 1000),
		    IPPROTO_TCP, F_SYN);
	}
	traffic_counters(s.t, &n);
	assert_int_equal(n.peers, 1000);
	assert_true(n.peer_evictions > 20000);
	{
		size_t small = traffic_memory(s.t);

		sim_stop(&s);
		sim_start(&s, "[daemon]\nmax_peers = 2000\n");
		print_message("[ MEASURE  ] traffic: %zu bytes for 1000 peers, "
		    "%zu per peer more\n", small,
		    (traffic_memory(s.t) - small) / 1000);
	}
	sim_stop(&s);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Packets per second through traffic_packet (benign mix). */
static void
test_traffic_speed(void **state)
{
	enum { N = 2000000 };
	struct pkt *pk;
	struct sim s;
	double t0, t1;
	int i;

	(void)state;
	sim_start(&s, NULL);
	pk = calloc(1024, sizeof(*pk));
	assert_non_null(pk);
	for (i = 0; i < 1024; i++) {
		char src[32];

		snprintf(src, sizeof(src), "198.18.%d.%d", i / 100, i % 100 + 2);
		pk[i].family = AF_INET;
		pk[i].src = A(src);
		pk[i].dst = A(HOST);
		pk[i].proto = IPPROTO_TCP;
		pk[i].flags = PKT_F_PORTS;
		pk[i].sport = (uint16_t)(30000 + i);
		pk[i].dport = 80;
		pk[i].tcp_flags = F_ACK;
		pk[i].ip_len = 52;
		pk[i].dir = PKT_DIR_IN;
	}
	t0 = now_seconds();
	for (i = 0; i < N; i++)
		traffic_packet(s.t, &pk[i & 1023], T0 + i / 1000, port_open,
		    &s, collect, &s);
	t1 = now_seconds();
	print_message("[ MEASURE  ] traffic_packet: %.1f M packets/s "
	    "(%.0f ns each, 1024 peers)\n", N / (t1 - t0) / 1e6,
	    (t1 - t0) / N * 1e9);
	free(pk);
	sim_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic_scans),
		cmocka_unit_test(test_traffic_scan_held_session),
		cmocka_unit_test(test_traffic_scan_evidence),
		cmocka_unit_test(test_traffic_scan_thresholds),
		cmocka_unit_test(test_traffic_rate_limit),
		cmocka_unit_test(test_traffic_benign),
		cmocka_unit_test(test_traffic_synflood_spoofed),
		cmocka_unit_test(test_traffic_synflood_few),
		cmocka_unit_test(test_traffic_synflood_sources),
		cmocka_unit_test(test_traffic_spoof),
		cmocka_unit_test(test_traffic_ingress),
		cmocka_unit_test(test_traffic_bruteforce),
		cmocka_unit_test(test_traffic_bruteforce_attempts),
		cmocka_unit_test(test_traffic_deny),
		cmocka_unit_test(test_traffic_allow),
		cmocka_unit_test(test_traffic_direction),
		cmocka_unit_test(test_traffic_reconfigure),
		cmocka_unit_test(test_traffic_bounded),
		cmocka_unit_test(test_traffic_speed),
	};

	return cmocka_run_group_tests_name("traffic", tests, NULL, NULL);
}
