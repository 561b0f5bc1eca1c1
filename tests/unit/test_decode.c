/*
 * monitor/decode against hand-built packets of every kind, every prefix of
 * each valid one (as a snap-length cut and as a short frame), and the
 * inputs kept in tests/data/decode-regress/. Each packet is decoded from an
 * exact-size heap copy, so an over-read shows up under ASan.
 *
 * SW_DECODE_SEEDS=DIR build/tests/test_decode also writes every packet to
 * DIR in the fuzzer's format (tests/fuzz/fuzz_decode.c): a selector byte,
 * then the frame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../monitor/decode.h"

/* The fuzzer's link selector: links[byte & 0x0f]; wire length is the
 * captured length plus extras[(byte >> 4) & 3]. */
static const int links[16] = {
	DECODE_DLT_EN10MB, DECODE_DLT_LINUX_SLL, DECODE_DLT_LINUX_SLL2,
	DECODE_DLT_RAW, DECODE_DLT_IPV4, DECODE_DLT_IPV6, DECODE_DLT_RAW_FILE,
	DECODE_DLT_NULL, DECODE_DLT_LOOP, DECODE_DLT_PPP,
	DECODE_DLT_PPP_SERIAL, DECODE_DLT_PPP_ETHER, DECODE_DLT_C_HDLC,
	DECODE_DLT_PPP_WITH_DIR, DECODE_DLT_C_HDLC_WITH_DIR,
	147,				/* DLT_USER0: not read */
};
#define NLINKS (sizeof(links) / sizeof(links[0]))
static const size_t extras[] = { 0, 1, 1000, 70000 };

static const uint8_t A1[4] = { 198, 18, 0, 1 };
static const uint8_t A2[4] = { 198, 18, 0, 2 };
static const uint8_t B1[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B2[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* --- packet builder -------------------------------------------------- */

struct pb {
	uint8_t d[2048];
	size_t n;
};

static void
put8(struct pb *b, unsigned int v)
{
	assert_true(b->n < sizeof(b->d));
	b->d[b->n++] = (uint8_t)v;
}

static void
put16(struct pb *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void
put32(struct pb *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void
putmem(struct pb *b, const void *p, size_t n)
{
	assert_true(n <= sizeof(b->d) - b->n);
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void
putzero(struct pb *b, size_t n)
{
	while (n-- > 0)
		put8(b, 0);
}

static void
set16(struct pb *b, size_t off, unsigned int v)
{
	b->d[off] = (uint8_t)(v >> 8);
	b->d[off + 1] = (uint8_t)v;
}

/* Ethernet with the given tag protocol ids (VLAN 100, 200, ...) in front
 * of etype. */
static void
eth_tags(struct pb *b, const uint16_t *tpids, size_t ntags, uint16_t etype)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	size_t i;

	putmem(b, macs, sizeof(macs));
	for (i = 0; i < ntags; i++) {
		put16(b, tpids[i]);
		put16(b, 100 * (i + 1));
	}
	put16(b, etype);
}

static void
eth(struct pb *b, uint16_t etype)
{
	eth_tags(b, NULL, 0, etype);
}

static void
sll(struct pb *b, unsigned int pkttype, uint16_t etype)
{
	static const uint8_t mac[8] = { 2, 0, 0, 0, 0, 2 };

	put16(b, pkttype);
	put16(b, 1);			/* ARPHRD_ETHER */
	put16(b, 6);
	putmem(b, mac, sizeof(mac));
	put16(b, etype);
}

static void
sll2(struct pb *b, uint16_t etype, uint32_t ifindex, unsigned int pkttype)
{
	static const uint8_t mac[8] = { 2, 0, 0, 0, 0, 2 };

	put16(b, etype);
	put16(b, 0);
	put32(b, ifindex);
	put16(b, 1);
	put8(b, pkttype);
	put8(b, 6);
	putmem(b, mac, sizeof(mac));
}

/* IPv4 header with opts (a multiple of 4 bytes); the total length is
 * filled in by ip4_done(). Returns the header's offset. */
static size_t
ip4o(struct pb *b, unsigned int proto, const uint8_t *src, const uint8_t *dst,
    unsigned int frag, const uint8_t *opts, size_t optlen)
{
	size_t off = b->n;

	put8(b, 0x40 | (unsigned int)(5 + optlen / 4));
	put8(b, 0);
	put16(b, 0);
	put16(b, 0x1234);
	put16(b, frag);
	put8(b, 64);
	put8(b, proto);
	put16(b, 0);
	putmem(b, src, 4);
	putmem(b, dst, 4);
	if (optlen > 0)
		putmem(b, opts, optlen);
	return off;
}

static size_t
ip4(struct pb *b, unsigned int proto, const uint8_t *src, const uint8_t *dst)
{
	return ip4o(b, proto, src, dst, 0, NULL, 0);
}

static void
ip4_done(struct pb *b, size_t off)
{
	set16(b, off + 2, (unsigned int)(b->n - off));
}

static size_t
ip6(struct pb *b, unsigned int nh, const uint8_t *src, const uint8_t *dst)
{
	size_t off = b->n;

	put32(b, 0x60000000);
	put16(b, 0);
	put8(b, nh);
	put8(b, 255);
	putmem(b, src, 16);
	putmem(b, dst, 16);
	return off;
}

static void
ip6_done(struct pb *b, size_t off)
{
	set16(b, off + 4, (unsigned int)(b->n - off - 40));
}

/* An extension header of (len + 1) * 8 bytes with padding options. */
static void
ext6(struct pb *b, unsigned int nh, unsigned int len)
{
	put8(b, nh);
	put8(b, len);
	put8(b, 1);			/* PadN */
	put8(b, 4 + len * 8);
	putzero(b, 4 + len * 8);
}

static void
frag6(struct pb *b, unsigned int nh, unsigned int offset, int more)
{
	put8(b, nh);
	put8(b, 0);
	put16(b, offset << 3 | (more ? 1 : 0));
	put32(b, 0xabcdef01);
}

/* TCP with a 20-byte option block when opts (MSS, SACK-ok, timestamps,
 * NOP, window scale: what Linux puts in a SYN). */
static void
tcp(struct pb *b, unsigned int sport, unsigned int dport, unsigned int flags,
    int opts)
{
	static const uint8_t o[20] = {
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
		1, 3, 3, 7,
	};

	put16(b, sport);
	put16(b, dport);
	put32(b, 1000);
	put32(b, flags & 0x10 ? 2000 : 0);
	put8(b, (opts ? 10u : 5u) << 4);
	put8(b, flags);
	put16(b, 64240);
	put16(b, 0);
	put16(b, 0);
	if (opts)
		putmem(b, o, sizeof(o));
}

static void
udp(struct pb *b, unsigned int sport, unsigned int dport, size_t paylen)
{
	put16(b, sport);
	put16(b, dport);
	put16(b, (unsigned int)(8 + paylen));
	put16(b, 0);
	putzero(b, paylen);
}

static void
icmp(struct pb *b, unsigned int type, unsigned int code)
{
	put8(b, type);
	put8(b, code);
	put16(b, 0);
	put32(b, type == 2 ? 1280 : 0);	/* PTB: the MTU */
}

/* --- the packets ----------------------------------------------------- */

static void
b_eth_syn(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 40000, 22, 0x02, 1);
	ip4_done(b, o);
}

static void
b_vlan_udp(struct pb *b)
{
	static const uint16_t t[] = { 0x8100 };
	size_t o;

	eth_tags(b, t, 1, 0x0800);
	o = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 5353, 53, 12);
	ip4_done(b, o);
}

static void
b_qinq_tcp6(struct pb *b)
{
	static const uint16_t t[] = { 0x88a8, 0x8100 };
	size_t o;

	eth_tags(b, t, 2, 0x86dd);
	o = ip6(b, IPPROTO_TCP, B1, B2);
	tcp(b, 443, 50000, 0x12, 0);
	ip6_done(b, o);
}

static void
b_vlan4(struct pb *b)
{
	static const uint16_t t[] = { 0x88a8, 0x9100, 0x8100, 0x8100 };
	size_t o;

	eth_tags(b, t, 4, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	ip4_done(b, o);
}

static void
b_vlan5(struct pb *b)
{
	static const uint16_t t[] = { 0x8100, 0x8100, 0x8100, 0x8100, 0x8100 };
	size_t o;

	eth_tags(b, t, 5, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	ip4_done(b, o);
}

static void
b_sll_out(struct pb *b)
{
	size_t o;

	sll(b, 4, 0x0800);
	o = ip4(b, IPPROTO_TCP, A1, A2);
	tcp(b, 22, 40000, 0x14, 0);
	ip4_done(b, o);
}

static void
b_sll_host6(struct pb *b)
{
	size_t o;

	sll(b, 0, 0x86dd);
	o = ip6(b, IPPROTO_UDP, B2, B1);
	udp(b, 40000, 53, 20);
	ip6_done(b, o);
}

static void
b_sll_other(struct pb *b)
{
	size_t o;

	sll(b, 3, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	ip4_done(b, o);
}

static void
b_sll_vlan(struct pb *b)
{
	size_t o;

	sll(b, 2, 0x8100);
	put16(b, 100);
	put16(b, 0x0800);
	o = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 1, 2, 0);
	ip4_done(b, o);
}

static void
b_sll_arp(struct pb *b)
{
	sll(b, 1, 0x0806);
	putzero(b, 28);
}

static void
b_sll2_bcast(struct pb *b)
{
	size_t o;

	sll2(b, 0x0800, 7, 1);
	o = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 68, 67, 30);
	ip4_done(b, o);
}

static void
b_sll2_out6(struct pb *b)
{
	size_t o;

	sll2(b, 0x86dd, 3, 4);
	o = ip6(b, IPPROTO_TCP, B1, B2);
	tcp(b, 22, 40000, 0x18, 0);
	putzero(b, 100);
	ip6_done(b, o);
}

static void
b_raw4(struct pb *b)
{
	size_t o = ip4(b, IPPROTO_TCP, A2, A1);

	tcp(b, 40000, 80, 0x01, 0);
	ip4_done(b, o);
}

static void
b_raw6(struct pb *b)
{
	size_t o = ip6(b, IPPROTO_UDP, B2, B1);

	udp(b, 40000, 161, 0);
	ip6_done(b, o);
}

static void
b_raw_icmp(struct pb *b)
{
	size_t o = ip4(b, IPPROTO_ICMP, A2, A1);

	icmp(b, 8, 0);
	putzero(b, 56);
	ip4_done(b, o);
}

static void
b_raw_icmp6(struct pb *b)
{
	size_t o = ip6(b, IPPROTO_ICMPV6, B2, B1);

	icmp(b, 128, 0);
	putzero(b, 56);
	ip6_done(b, o);
}

static void
b_ip4_opts(struct pb *b)
{
	/* Router alert, three NOPs, EOL. */
	static const uint8_t opts[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_TCP, A2, A1, 0, opts, sizeof(opts));
	tcp(b, 40000, 25, 0x02, 0);
	ip4_done(b, o);
}

static void
b_ip4_badopt(struct pb *b)
{
	static const uint8_t opts[4] = { 7, 1, 0, 0 };	/* RR, length 1 */
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_TCP, A2, A1, 0, opts, sizeof(opts));
	tcp(b, 40000, 25, 0x02, 0);
	ip4_done(b, o);
}

static void
b_ip4_optover(struct pb *b)
{
	static const uint8_t opts[4] = { 1, 0x44, 12, 5 }; /* past the end */
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_TCP, A2, A1, 0, opts, sizeof(opts));
	tcp(b, 40000, 25, 0x02, 0);
	ip4_done(b, o);
}

static void
b_frag_first(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_UDP, A2, A1, 0x2000, NULL, 0);
	put16(b, 5000);
	put16(b, 53);
	put16(b, 1008);			/* the whole datagram */
	put16(b, 0);
	putzero(b, 96);
	ip4_done(b, o);
}

static void
b_frag_next(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_UDP, A2, A1, 13, NULL, 0);
	putzero(b, 200);
	ip4_done(b, o);
}

static void
b_frag_tiny(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4o(b, IPPROTO_TCP, A2, A1, 0x2000, NULL, 0);
	put16(b, 40000);
	put16(b, 22);
	put32(b, 1);
	ip4_done(b, o);
}

static void
b_ip6_chain(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 0, B2, B1);
	ext6(b, 43, 0);			/* hop-by-hop */
	put8(b, 44);			/* routing, type 4 (SRH), 0 left */
	put8(b, 2);
	put8(b, 4);
	put8(b, 0);
	putzero(b, 20);
	frag6(b, 60, 0, 1);		/* first fragment */
	ext6(b, IPPROTO_TCP, 1);	/* destination options */
	tcp(b, 40000, 443, 0x02, 1);
	putzero(b, 64);
	ip6_done(b, o);
}

static void
b_ip6_ah(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 51, B2, B1);
	put8(b, IPPROTO_UDP);		/* AH: (4 + 2) * 4 = 24 bytes */
	put8(b, 4);
	putzero(b, 22);
	udp(b, 500, 500, 10);
	ip6_done(b, o);
}

static void
b_ip6_fragnext(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 44, B2, B1);
	frag6(b, IPPROTO_TCP, 100, 0);
	putzero(b, 50);
	ip6_done(b, o);
}

static void
ip6_dstopts(struct pb *b, int n)
{
	size_t o;
	int i;

	eth(b, 0x86dd);
	o = ip6(b, 60, B2, B1);
	for (i = 0; i < n; i++)
		ext6(b, i == n - 1 ? IPPROTO_TCP : 60, 0);
	tcp(b, 40000, 22, 0x02, 0);
	ip6_done(b, o);
}

static void
b_ip6_8ext(struct pb *b)
{
	ip6_dstopts(b, 8);
}

static void
b_ip6_9ext(struct pb *b)
{
	ip6_dstopts(b, 9);
}

static void
b_ip6_hbh_late(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 60, B2, B1);
	ext6(b, 0, 0);
	ext6(b, IPPROTO_TCP, 0);
	tcp(b, 40000, 22, 0x02, 0);
	ip6_done(b, o);
}

static void
b_ip6_ext_over(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 60, B2, B1);
	put8(b, IPPROTO_TCP);
	put8(b, 10);			/* 88 bytes, 8 there */
	putzero(b, 6);
	ip6_done(b, o);
}

static void
b_ip6_nonext(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, 59, B2, B1);
	ip6_done(b, o);
}

static void
b_tcp_doff4(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 40000, 22, 0x02, 0);
	b->d[b->n - 8] = 4 << 4;
	ip4_done(b, o);
}

static void
b_tcp_doff15(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 40000, 22, 0x02, 1);
	b->d[b->n - 28] = 15 << 4;	/* 60 bytes, 40 there */
	ip4_done(b, o);
}

static void
b_udp_len7(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 1, 2, 4);
	set16(b, b->n - 8, 7);
	ip4_done(b, o);
}

static void
b_udp_len_big(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 1, 2, 4);
	set16(b, b->n - 8, 13);
	ip4_done(b, o);
}

static void
b_sctp(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_SCTP, A2, A1);
	put16(b, 40000);
	put16(b, 38412);
	put32(b, 0);
	put32(b, 0);
	put8(b, 1);			/* INIT */
	put8(b, 0);
	put16(b, 20);
	putzero(b, 16);
	ip4_done(b, o);
}

static void
b_icmp_echo(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_ICMP, A2, A1);
	icmp(b, 8, 0);
	putzero(b, 56);
	ip4_done(b, o);
}

/* Port unreachable from A1 for a UDP datagram A2:5353 -> A1:53. */
static void
b_icmp_unreach(struct pb *b)
{
	size_t o, i;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_ICMP, A1, A2);
	icmp(b, 3, 3);
	i = ip4(b, IPPROTO_UDP, A2, A1);
	udp(b, 5353, 53, 0);
	set16(b, i + 2, 28 + 30);	/* the quote is cut after 8 */
	set16(b, b->n - 4, 38);
	ip4_done(b, o);
}

static void
b_icmp_badinner(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_ICMP, A1, A2);
	icmp(b, 3, 1);
	put8(b, 0x45);
	putzero(b, 9);
	ip4_done(b, o);
}

static void
b_icmp_short(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_ICMP, A2, A1);
	put32(b, 0x08000000);
	ip4_done(b, o);
}

/* Port unreachable from B1 for TCP B2:40000 -> B1:22. */
static void
b_icmp6_unreach(struct pb *b)
{
	size_t o, i;

	eth(b, 0x86dd);
	o = ip6(b, IPPROTO_ICMPV6, B1, B2);
	icmp(b, 1, 4);
	i = ip6(b, IPPROTO_TCP, B2, B1);
	put16(b, 40000);
	put16(b, 22);
	put32(b, 1000);
	set16(b, i + 4, 20);
	ip6_done(b, o);
}

/* Packet too big for UDP B1:4433 -> B2:50000, first fragment. */
static void
b_icmp6_ptb(struct pb *b)
{
	size_t o, i;

	eth(b, 0x86dd);
	o = ip6(b, IPPROTO_ICMPV6, B2, B1);
	icmp(b, 2, 0);
	i = ip6(b, 44, B1, B2);
	frag6(b, IPPROTO_UDP, 0, 1);
	udp(b, 4433, 50000, 40);
	set16(b, i + 4, 1400);
	ip6_done(b, o);
}

static void
b_ip4_ihl4(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	b->d[o] = 0x44;
	ip4_done(b, o);
}

static void
b_ip4_totlong(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	set16(b, o + 2, 1500);
}

static void
b_ip4_totshort(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	set16(b, o + 2, 10);
}

static void
b_eth_padding(struct pb *b)
{
	size_t o;

	eth(b, 0x0800);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 40000, 22, 0x10, 0);
	ip4_done(b, o);
	putzero(b, 6);			/* to the 60-byte minimum */
}

static void
b_eth_arp(struct pb *b)
{
	eth(b, 0x0806);
	putzero(b, 28);
}

static void
b_eth_llc(struct pb *b)
{
	eth(b, 38);			/* 802.3 length */
	put8(b, 0x42);
	put8(b, 0x42);
	put8(b, 3);
	putzero(b, 35);
}

static void
b_ip6_badver(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip4(b, IPPROTO_TCP, A2, A1);
	tcp(b, 1, 2, 0x02, 0);
	ip4_done(b, o);
	putzero(b, 20);
}

static void
b_ip6_plen_long(struct pb *b)
{
	size_t o;

	eth(b, 0x86dd);
	o = ip6(b, IPPROTO_TCP, B2, B1);
	tcp(b, 1, 2, 0x02, 0);
	set16(b, o + 4, 21);
}

/* BSD loopback: the address family in little- or big-endian order. */
static void
null_hdr(struct pb *b, uint32_t af, int little)
{
	if (!little) {
		put32(b, af);
		return;
	}
	put8(b, af & 0xff);
	put8(b, (af >> 8) & 0xff);
	put8(b, (af >> 16) & 0xff);
	put8(b, af >> 24);
}

/* A PPPoE session header for a PPP frame of len bytes. */
static void
pppoe(struct pb *b, unsigned int vertype, unsigned int code, size_t len)
{
	put8(b, vertype);
	put8(b, code);
	put16(b, 0x1234);		/* session id */
	put16(b, len);
}

static void
b_null_le(struct pb *b)
{
	null_hdr(b, 2, 1);		/* x86: AF_INET */
	b_raw4(b);
}

static void
b_null_be6(struct pb *b)
{
	null_hdr(b, 30, 0);		/* big-endian macOS: AF_INET6 */
	b_raw6(b);
}

static void
b_null_fbsd6(struct pb *b)
{
	null_hdr(b, 28, 1);
	b_raw6(b);
}

static void
b_null_obsd6(struct pb *b)
{
	null_hdr(b, 24, 1);
	b_raw6(b);
}

static void
b_null_be4(struct pb *b)
{
	null_hdr(b, 2, 0);
	b_raw4(b);
}

static void
b_null_unknown(struct pb *b)
{
	null_hdr(b, 7, 1);		/* not IP (AF_ISO on the BSDs) */
	b_raw4(b);
}

static void
b_null_linux6(struct pb *b)
{
	null_hdr(b, 10, 1);		/* Linux's AF_INET6: no BSD's */
	b_raw6(b);
}

static void
b_null_garbage(struct pb *b)
{
	null_hdr(b, 0x00020002, 1);	/* high bits either way */
	b_raw4(b);
}

static void
b_null_mismatch(struct pb *b)
{
	null_hdr(b, 2, 1);		/* says IPv4, carries IPv6 */
	b_raw6(b);
}

static void
b_loop4(struct pb *b)
{
	null_hdr(b, 2, 0);
	b_raw4(b);
}

static void
b_loop6(struct pb *b)
{
	null_hdr(b, 24, 0);
	b_raw6(b);
}

static void
b_loop_le(struct pb *b)
{
	null_hdr(b, 2, 1);		/* LOOP is network order only */
	b_raw4(b);
}

static void
b_ppp4(struct pb *b)
{
	put16(b, 0xff03);
	put16(b, 0x0021);
	b_raw4(b);
}

static void
b_ppp_acfc6(struct pb *b)
{
	put16(b, 0x0057);		/* address and control compressed */
	b_raw6(b);
}

static void
b_ppp_pfc4(struct pb *b)
{
	put16(b, 0xff03);
	put8(b, 0x21);			/* protocol compressed */
	b_raw4(b);
}

static void
b_ppp_lcp(struct pb *b)
{
	put16(b, 0xff03);
	put16(b, 0xc021);
	putzero(b, 8);
}

static void
b_ppp_badctl(struct pb *b)
{
	put16(b, 0xff05);
	put16(b, 0x0021);
	b_raw4(b);
}

static void
b_pppser4(struct pb *b)
{
	b_ppp4(b);
}

static void
b_pppser_cisco6(struct pb *b)
{
	put16(b, 0x0f00);
	put16(b, 0x86dd);
	b_raw6(b);
}

static void
b_pppoe4(struct pb *b)
{
	pppoe(b, 0x11, 0, 62);
	put16(b, 0x0021);
	b_raw4(b);
}

static void
b_pppoe_disc(struct pb *b)
{
	pppoe(b, 0x11, 0x09, 0);	/* PADI */
}

static void
b_pppoe_badver(struct pb *b)
{
	pppoe(b, 0x21, 0, 62);
	put16(b, 0x0021);
	b_raw4(b);
}

static void
b_eth_pppoe6(struct pb *b)
{
	eth(b, 0x8864);
	pppoe(b, 0x11, 0, 50);
	put16(b, 0x0057);
	b_raw6(b);
}

static void
b_vlan_pppoe4(struct pb *b)
{
	static const uint16_t tpid[1] = { 0x8100 };

	eth_tags(b, tpid, 1, 0x8864);
	pppoe(b, 0x11, 0, 62);
	put16(b, 0x0021);
	b_raw4(b);
}

static void
b_chdlc4(struct pb *b)
{
	put16(b, 0x0f00);
	put16(b, 0x0800);
	b_raw4(b);
}

static void
b_chdlc6(struct pb *b)
{
	put16(b, 0x8f00);
	put16(b, 0x86dd);
	b_raw6(b);
}

static void
b_chdlc_slarp(struct pb *b)
{
	put16(b, 0x8f00);
	put16(b, 0x8035);
	putzero(b, 20);
}

static void
b_pppdir_out(struct pb *b)
{
	put8(b, 1);
	b_ppp4(b);
}

static void
b_chdlcdir_in(struct pb *b)
{
	put8(b, 0);
	b_chdlc6(b);
}

struct tcase {
	const char *name;
	int link;
	void (*build)(struct pb *b);
	int result;
};

#define C(name, link, res) { #name, DECODE_DLT_##link, b_##name, res }
static const struct tcase cases[] = {
	C(eth_syn, EN10MB, DECODE_OK),
	C(vlan_udp, EN10MB, DECODE_OK),
	C(qinq_tcp6, EN10MB, DECODE_OK),
	C(vlan4, EN10MB, DECODE_OK),
	C(vlan5, EN10MB, DECODE_BAD_VLAN),
	C(sll_out, LINUX_SLL, DECODE_OK),
	C(sll_host6, LINUX_SLL, DECODE_OK),
	C(sll_other, LINUX_SLL, DECODE_OK),
	C(sll_vlan, LINUX_SLL, DECODE_OK),
	C(sll_arp, LINUX_SLL, DECODE_NOT_IP),
	C(sll2_bcast, LINUX_SLL2, DECODE_OK),
	C(sll2_out6, LINUX_SLL2, DECODE_OK),
	C(raw4, RAW, DECODE_OK),
	C(raw6, RAW_FILE, DECODE_OK),
	C(raw_icmp, IPV4, DECODE_OK),
	C(raw_icmp6, IPV6, DECODE_OK),
	C(ip4_opts, EN10MB, DECODE_OK),
	C(ip4_badopt, EN10MB, DECODE_BAD_IPV4_OPT),
	C(ip4_optover, EN10MB, DECODE_BAD_IPV4_OPT),
	C(frag_first, EN10MB, DECODE_OK),
	C(frag_next, EN10MB, DECODE_OK),
	C(frag_tiny, EN10MB, DECODE_BAD_FRAGMENT),
	C(ip6_chain, EN10MB, DECODE_OK),
	C(ip6_ah, EN10MB, DECODE_OK),
	C(ip6_fragnext, EN10MB, DECODE_OK),
	C(ip6_8ext, EN10MB, DECODE_OK),
	C(ip6_9ext, EN10MB, DECODE_TOO_MANY_EXT),
	C(ip6_hbh_late, EN10MB, DECODE_BAD_IPV6_EXT),
	C(ip6_ext_over, EN10MB, DECODE_BAD_IPV6_EXT),
	C(ip6_nonext, EN10MB, DECODE_OK),
	C(tcp_doff4, EN10MB, DECODE_BAD_TCP_HDR),
	C(tcp_doff15, EN10MB, DECODE_BAD_TCP_HDR),
	C(udp_len7, EN10MB, DECODE_BAD_UDP_LEN),
	C(udp_len_big, EN10MB, DECODE_BAD_UDP_LEN),
	C(sctp, EN10MB, DECODE_OK),
	C(icmp_echo, EN10MB, DECODE_OK),
	C(icmp_unreach, EN10MB, DECODE_OK),
	C(icmp_badinner, EN10MB, DECODE_OK),
	C(icmp_short, EN10MB, DECODE_SHORT_ICMP),
	C(icmp6_unreach, EN10MB, DECODE_OK),
	C(icmp6_ptb, EN10MB, DECODE_OK),
	C(ip4_ihl4, EN10MB, DECODE_BAD_IPV4_HDR),
	C(ip4_totlong, EN10MB, DECODE_BAD_IPV4_LEN),
	C(ip4_totshort, EN10MB, DECODE_BAD_IPV4_LEN),
	C(eth_padding, EN10MB, DECODE_OK),
	C(eth_arp, EN10MB, DECODE_NOT_IP),
	C(eth_llc, EN10MB, DECODE_NOT_IP),
	C(ip6_badver, EN10MB, DECODE_BAD_IP_VERSION),
	C(ip6_plen_long, EN10MB, DECODE_BAD_IPV6_LEN),
	C(null_le, NULL, DECODE_OK),
	C(null_be6, NULL, DECODE_OK),
	C(null_fbsd6, NULL, DECODE_OK),
	C(null_obsd6, NULL, DECODE_OK),
	C(null_be4, NULL, DECODE_OK),
	C(null_unknown, NULL, DECODE_NOT_IP),
	C(null_linux6, NULL, DECODE_NOT_IP),
	C(null_garbage, NULL, DECODE_NOT_IP),
	C(null_mismatch, NULL, DECODE_BAD_IP_VERSION),
	C(loop4, LOOP, DECODE_OK),
	C(loop6, LOOP, DECODE_OK),
	C(loop_le, LOOP, DECODE_NOT_IP),
	C(ppp4, PPP, DECODE_OK),
	C(ppp_acfc6, PPP, DECODE_OK),
	C(ppp_pfc4, PPP, DECODE_OK),
	C(ppp_lcp, PPP, DECODE_NOT_IP),
	C(ppp_badctl, PPP, DECODE_BAD_L2),
	C(pppser4, PPP_SERIAL, DECODE_OK),
	C(pppser_cisco6, PPP_SERIAL, DECODE_OK),
	C(pppoe4, PPP_ETHER, DECODE_OK),
	C(pppoe_disc, PPP_ETHER, DECODE_NOT_IP),
	C(pppoe_badver, PPP_ETHER, DECODE_BAD_L2),
	C(eth_pppoe6, EN10MB, DECODE_OK),
	C(vlan_pppoe4, EN10MB, DECODE_OK),
	C(chdlc4, C_HDLC, DECODE_OK),
	C(chdlc6, C_HDLC, DECODE_OK),
	C(chdlc_slarp, C_HDLC, DECODE_NOT_IP),
	C(pppdir_out, PPP_WITH_DIR, DECODE_OK),
	C(chdlcdir_in, C_HDLC_WITH_DIR, DECODE_OK),
};
#undef C
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* --- helpers --------------------------------------------------------- */

/* Decode len bytes of d from an exact-size heap copy (NULL when empty). */
static int
decode_exact(int link, const uint8_t *d, size_t len, size_t wire,
    struct pkt *p)
{
	uint8_t *copy = NULL;
	int r;

	if (len > 0) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, d, len);
	}
	r = decode_packet(link, copy, len, wire, 123456789, p);
	free(copy);
	return r;
}

static const struct tcase *
find_case(const char *name)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/* Build and decode case name as captured whole; check its result. */
static void
decode_case(const char *name, struct pkt *p)
{
	const struct tcase *c = find_case(name);
	struct pb b = { .n = 0 };
	int r;

	c->build(&b);
	r = decode_exact(c->link, b.d, b.n, b.n, p);
	if (r != c->result)
		fail_msg("%s: %s, expected %s", name, decode_result_name(r),
		    decode_result_name(c->result));
	assert_int_equal(p->time_us, 123456789);
	assert_int_equal(p->wire_len, b.n);
}

static void
assert_addr(const struct addr *a, int family, const uint8_t *raw)
{
	assert_int_equal(a->family, family);
	assert_memory_equal(a->u.bytes, raw, family == AF_INET ? 4 : 16);
}

static void
assert_tuple(const struct pkt *p, int family, const uint8_t *src,
    const uint8_t *dst, int proto, int sport, int dport)
{
	assert_int_equal(p->family, family);
	assert_addr(&p->src, family, src);
	assert_addr(&p->dst, family, dst);
	assert_int_equal(p->proto, proto);
	assert_int_equal(p->sport, sport);
	assert_int_equal(p->dport, dport);
	assert_int_equal(!!(p->flags & PKT_F_PORTS), sport != 0);
}

static void
assert_link(const struct pkt *p, uint32_t ifindex, int pkttype, int dir)
{
	assert_int_equal(p->ifindex, ifindex);
	assert_int_equal(p->pkttype, pkttype);
	assert_int_equal(p->dir, dir);
}

static int
addr_same(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == 0)
		return 1;
	return memcmp(a->u.bytes, b->u.bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

/* The record of a prefix must match the whole packet's. With cut_ok the
 * quote of an ICMP error may be missing, or lack its ports. */
static void
assert_consistent(const char *name, size_t k, const struct pkt *p,
    const struct pkt *full, int cut_ok)
{
	uint16_t inner = PKT_F_INNER | PKT_F_INNER_PORTS;
	int ok = 1;

	ok &= p->ifindex == full->ifindex && p->pkttype == full->pkttype &&
	    p->dir == full->dir && p->family == full->family &&
	    addr_same(&p->src, &full->src) && addr_same(&p->dst, &full->dst) &&
	    p->proto == full->proto && p->ttl == full->ttl &&
	    p->sport == full->sport && p->dport == full->dport &&
	    p->tcp_flags == full->tcp_flags && p->ip_len == full->ip_len &&
	    p->payload_len == full->payload_len &&
	    p->icmp_type == full->icmp_type &&
	    p->icmp_code == full->icmp_code;
	if (cut_ok) {
		ok &= (p->flags & ~inner) == (full->flags & ~inner);
		ok &= (p->flags & inner & ~full->flags) == 0;
		ok &= !(p->flags & PKT_F_INNER_PORTS) ||
		    (p->flags & PKT_F_INNER);
	} else {
		ok &= p->flags == full->flags;
	}
	if (p->flags & PKT_F_INNER)
		ok &= addr_same(&p->inner.src, &full->inner.src) &&
		    addr_same(&p->inner.dst, &full->inner.dst) &&
		    p->inner.proto == full->inner.proto;
	if (p->flags & PKT_F_INNER_PORTS)
		ok &= p->inner.sport == full->inner.sport &&
		    p->inner.dport == full->inner.dport;
	if (!ok)
		fail_msg("%s cut at %zu: record differs from the whole "
		    "packet's", name, k);
}

/* --- tests ----------------------------------------------------------- */

static void
test_eth_tcp_syn(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("eth_syn", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_TCP, 40000, 22);
	assert_link(&p, 0, PKT_TYPE_UNKNOWN, PKT_DIR_UNKNOWN);
	assert_int_equal(p.tcp_flags, PKT_TCP_SYN);
	assert_int_equal(p.ip_len, 60);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.flags, PKT_F_PORTS);

	decode_case("eth_padding", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_TCP, 40000, 22);
	assert_int_equal(p.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(p.ip_len, 40);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.wire_len, 60);
}

static void
test_vlan(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("vlan_udp", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_UDP, 5353, 53);
	assert_int_equal(p.payload_len, 12);
	decode_case("qinq_tcp6", &p);
	assert_tuple(&p, AF_INET6, B1, B2, IPPROTO_TCP, 443, 50000);
	assert_int_equal(p.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(p.ttl, 255);
	decode_case("vlan4", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_TCP, 1, 2);
	decode_case("vlan5", &p);
	assert_int_equal(p.family, 0);
}

static void
test_sll(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("sll_out", &p);
	assert_link(&p, 0, PKT_TYPE_OUTGOING, PKT_DIR_OUT);
	assert_tuple(&p, AF_INET, A1, A2, IPPROTO_TCP, 22, 40000);
	assert_int_equal(p.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	decode_case("sll_host6", &p);
	assert_link(&p, 0, PKT_TYPE_HOST, PKT_DIR_IN);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_UDP, 40000, 53);
	assert_int_equal(p.payload_len, 20);
	assert_int_equal(p.ip_len, 68);
	decode_case("sll_other", &p);
	assert_link(&p, 0, PKT_TYPE_OTHERHOST, PKT_DIR_UNKNOWN);
	decode_case("sll_vlan", &p);
	assert_link(&p, 0, PKT_TYPE_MULTICAST, PKT_DIR_IN);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_UDP, 1, 2);
	decode_case("sll_arp", &p);
	assert_link(&p, 0, PKT_TYPE_BROADCAST, PKT_DIR_IN);
	assert_int_equal(p.family, 0);

	decode_case("sll2_bcast", &p);
	assert_link(&p, 7, PKT_TYPE_BROADCAST, PKT_DIR_IN);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_UDP, 68, 67);
	assert_int_equal(p.payload_len, 30);
	decode_case("sll2_out6", &p);
	assert_link(&p, 3, PKT_TYPE_OUTGOING, PKT_DIR_OUT);
	assert_tuple(&p, AF_INET6, B1, B2, IPPROTO_TCP, 22, 40000);
	assert_int_equal(p.payload_len, 100);
	assert_int_equal(p.tcp_flags, PKT_TCP_PSH | PKT_TCP_ACK);
}

static void
test_raw(void **state)
{
	struct pb b = { .n = 0 };
	struct pkt p;

	(void)state;
	decode_case("raw4", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_TCP, 40000, 80);
	assert_int_equal(p.tcp_flags, PKT_TCP_FIN);
	assert_link(&p, 0, PKT_TYPE_UNKNOWN, PKT_DIR_UNKNOWN);
	decode_case("raw6", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_UDP, 40000, 161);
	decode_case("raw_icmp", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_ICMP, 0, 0);
	decode_case("raw_icmp6", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_ICMPV6, 0, 0);
	assert_int_equal(p.icmp_type, 128);

	/* Each raw link type against the other family; an empty packet. */
	b_raw6(&b);
	assert_int_equal(decode_exact(DECODE_DLT_IPV4, b.d, b.n, b.n, &p),
	    DECODE_BAD_IP_VERSION);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_OK);
	b.n = 0;
	b_raw4(&b);
	assert_int_equal(decode_exact(DECODE_DLT_IPV6, b.d, b.n, b.n, &p),
	    DECODE_BAD_IP_VERSION);
	b.d[0] = 0x55;
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_BAD_IP_VERSION);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, 0, 0, &p),
	    DECODE_BAD_IP_VERSION);
	assert_int_equal(decode_exact(105, b.d, b.n, b.n, &p),
	    DECODE_UNSUPPORTED_LINK);
	assert_int_equal(decode_exact(-1, b.d, b.n, b.n, &p),
	    DECODE_UNSUPPORTED_LINK);
}

/* The same IPv4 TCP FIN (b_raw4) or IPv6 UDP (b_raw6) as raw IP. */
static void
assert_raw4(const struct pkt *p)
{
	assert_tuple(p, AF_INET, A2, A1, IPPROTO_TCP, 40000, 80);
	assert_int_equal(p->tcp_flags, PKT_TCP_FIN);
	assert_int_equal(p->ip_len, 40);
}

static void
assert_raw6(const struct pkt *p)
{
	assert_tuple(p, AF_INET6, B2, B1, IPPROTO_UDP, 40000, 161);
	assert_int_equal(p->ip_len, 48);
}

/* Decode a header of n bytes (all of the frame) as link. */
static int
decode_hdr(int link, const uint8_t *d, size_t n)
{
	struct pkt p;

	return decode_exact(link, d, n, n, &p);
}

static void
test_null_loop(void **state)
{
	static const uint8_t le2[3] = { 2, 0, 0 };
	struct pkt p;

	(void)state;
	/* Either byte order for NULL, each BSD's AF_INET6. */
	decode_case("null_le", &p);
	assert_raw4(&p);
	assert_link(&p, 0, PKT_TYPE_UNKNOWN, PKT_DIR_UNKNOWN);
	decode_case("null_be4", &p);
	assert_raw4(&p);
	decode_case("null_be6", &p);
	assert_raw6(&p);
	decode_case("null_fbsd6", &p);
	assert_raw6(&p);
	decode_case("null_obsd6", &p);
	assert_raw6(&p);
	decode_case("null_unknown", &p);
	assert_int_equal(p.family, 0);
	decode_case("null_linux6", &p);
	decode_case("null_garbage", &p);
	decode_case("null_mismatch", &p);
	decode_case("loop4", &p);
	assert_raw4(&p);
	decode_case("loop6", &p);
	assert_raw6(&p);
	decode_case("loop_le", &p);
	assert_int_equal(p.family, 0);

	/* A header of 3 bytes: short on the wire, truncated by a snap
	 * length; nothing at all. */
	assert_int_equal(decode_hdr(DECODE_DLT_NULL, le2, 3), DECODE_SHORT_L2);
	assert_int_equal(decode_exact(DECODE_DLT_LOOP, le2, 3, 60, &p),
	    DECODE_TRUNCATED);
	assert_int_equal(decode_hdr(DECODE_DLT_NULL, le2, 0), DECODE_SHORT_L2);
}

static void
test_ppp(void **state)
{
	static const uint8_t ff[1] = { 0xff }, ff03[3] = { 0xff, 0x03, 0 };
	static const uint8_t pppoe5[5] = { 0x11, 0, 0x12, 0x34, 0 };
	struct pkt p;

	(void)state;
	decode_case("ppp4", &p);
	assert_raw4(&p);
	assert_link(&p, 0, PKT_TYPE_UNKNOWN, PKT_DIR_UNKNOWN);
	decode_case("ppp_acfc6", &p);
	assert_raw6(&p);
	decode_case("ppp_pfc4", &p);
	assert_raw4(&p);
	decode_case("ppp_lcp", &p);
	assert_int_equal(p.family, 0);
	decode_case("ppp_badctl", &p);
	assert_int_equal(p.family, 0);
	decode_case("pppser4", &p);
	assert_raw4(&p);
	decode_case("pppser_cisco6", &p);
	assert_raw6(&p);
	decode_case("pppoe4", &p);
	assert_raw4(&p);
	decode_case("pppoe_disc", &p);
	decode_case("pppoe_badver", &p);
	decode_case("eth_pppoe6", &p);
	assert_raw6(&p);
	decode_case("vlan_pppoe4", &p);
	assert_raw4(&p);

	/* The direction byte. */
	decode_case("pppdir_out", &p);
	assert_raw4(&p);
	assert_link(&p, 0, PKT_TYPE_OUTGOING, PKT_DIR_OUT);

	/* Headers cut short: address without control, a protocol's first
	 * byte (even, so not compressed), a PPPoE header of 5 bytes. */
	assert_int_equal(decode_hdr(DECODE_DLT_PPP, ff, 1), DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_PPP, ff03, 3),
	    DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_PPP_SERIAL, ff03, 2),
	    DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_PPP_ETHER, pppoe5, 5),
	    DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_PPP_WITH_DIR, ff, 0),
	    DECODE_SHORT_L2);
}

static void
test_chdlc(void **state)
{
	static const uint8_t hdr3[3] = { 0x0f, 0, 0x08 };
	struct pkt p;

	(void)state;
	decode_case("chdlc4", &p);
	assert_raw4(&p);
	decode_case("chdlc6", &p);
	assert_raw6(&p);
	decode_case("chdlc_slarp", &p);
	assert_int_equal(p.family, 0);
	decode_case("chdlcdir_in", &p);
	assert_raw6(&p);
	assert_link(&p, 0, PKT_TYPE_HOST, PKT_DIR_IN);

	assert_int_equal(decode_hdr(DECODE_DLT_C_HDLC, hdr3, 3),
	    DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_C_HDLC_WITH_DIR, hdr3, 3),
	    DECODE_SHORT_L2);
	assert_int_equal(decode_hdr(DECODE_DLT_PPP_SERIAL, hdr3, 3),
	    DECODE_SHORT_L2);
}

/* What analyze asks before reading a file. */
static void
test_link_supported(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NLINKS - 1; i++)
		assert_true(decode_link_supported(links[i]));
	assert_false(decode_link_supported(links[NLINKS - 1]));
	assert_false(decode_link_supported(-1));
	assert_false(decode_link_supported(105));	/* 802.11 */
}

static void
test_ipv4(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("ip4_opts", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_TCP, 40000, 25);
	assert_int_equal(p.flags, PKT_F_PORTS | PKT_F_IP_OPTIONS);
	assert_int_equal(p.ip_len, 48);
	decode_case("ip4_badopt", &p);
	/* The addresses were read: the fault can be charged to a peer. */
	assert_addr(&p.src, AF_INET, A2);
	decode_case("ip4_optover", &p);
	decode_case("ip4_ihl4", &p);
	decode_case("ip4_totlong", &p);
	decode_case("ip4_totshort", &p);
	decode_case("eth_arp", &p);
	decode_case("eth_llc", &p);
	decode_case("ip6_badver", &p);
	decode_case("sctp", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_SCTP, 40000, 38412);
	assert_int_equal(p.payload_len, 20);
}

static void
test_fragments(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("frag_first", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_UDP, 5000, 53);
	assert_int_equal(p.flags, PKT_F_FRAGMENT | PKT_F_PORTS);
	assert_int_equal(p.payload_len, 96);
	decode_case("frag_next", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_UDP, 0, 0);
	assert_int_equal(p.flags, PKT_F_FRAGMENT | PKT_F_NONFIRST);
	assert_int_equal(p.payload_len, 200);
	assert_int_equal(p.ip_len, 220);
	decode_case("frag_tiny", &p);
	assert_addr(&p.dst, AF_INET, A1);
}

static void
test_ipv6_ext(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("ip6_chain", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_TCP, 40000, 443);
	assert_int_equal(p.flags,
	    PKT_F_IPV6_EXT | PKT_F_FRAGMENT | PKT_F_PORTS);
	assert_int_equal(p.tcp_flags, PKT_TCP_SYN);
	assert_int_equal(p.payload_len, 64);
	assert_int_equal(p.ip_len, 40 + 8 + 24 + 8 + 16 + 40 + 64);
	decode_case("ip6_ah", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_UDP, 500, 500);
	assert_int_equal(p.payload_len, 10);
	decode_case("ip6_fragnext", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_TCP, 0, 0);
	assert_int_equal(p.flags,
	    PKT_F_IPV6_EXT | PKT_F_FRAGMENT | PKT_F_NONFIRST);
	assert_int_equal(p.payload_len, 50);
	decode_case("ip6_8ext", &p);
	assert_tuple(&p, AF_INET6, B2, B1, IPPROTO_TCP, 40000, 22);
	decode_case("ip6_9ext", &p);
	assert_addr(&p.src, AF_INET6, B2);
	decode_case("ip6_hbh_late", &p);
	decode_case("ip6_ext_over", &p);
	decode_case("ip6_nonext", &p);
	assert_tuple(&p, AF_INET6, B2, B1, 59, 0, 0);
	assert_int_equal(p.payload_len, 0);
	decode_case("ip6_plen_long", &p);
}

static void
test_tcp_udp_bad(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("tcp_doff4", &p);
	assert_addr(&p.src, AF_INET, A2);
	decode_case("tcp_doff15", &p);
	decode_case("udp_len7", &p);
	decode_case("udp_len_big", &p);
}

static void
test_icmp(void **state)
{
	struct pkt p;

	(void)state;
	decode_case("icmp_echo", &p);
	assert_tuple(&p, AF_INET, A2, A1, IPPROTO_ICMP, 0, 0);
	assert_int_equal(p.flags, PKT_F_ICMP);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.icmp_code, 0);
	assert_int_equal(p.payload_len, 56);

	decode_case("icmp_unreach", &p);
	assert_tuple(&p, AF_INET, A1, A2, IPPROTO_ICMP, 0, 0);
	assert_int_equal(p.flags,
	    PKT_F_ICMP | PKT_F_INNER | PKT_F_INNER_PORTS);
	assert_int_equal(p.icmp_type, 3);
	assert_int_equal(p.icmp_code, 3);
	assert_addr(&p.inner.src, AF_INET, A2);
	assert_addr(&p.inner.dst, AF_INET, A1);
	assert_int_equal(p.inner.proto, IPPROTO_UDP);
	assert_int_equal(p.inner.sport, 5353);
	assert_int_equal(p.inner.dport, 53);

	decode_case("icmp_badinner", &p);
	assert_int_equal(p.flags, PKT_F_ICMP);
	decode_case("icmp_short", &p);

	decode_case("icmp6_unreach", &p);
	assert_tuple(&p, AF_INET6, B1, B2, IPPROTO_ICMPV6, 0, 0);
	assert_int_equal(p.flags,
	    PKT_F_ICMP | PKT_F_INNER | PKT_F_INNER_PORTS);
	assert_int_equal(p.icmp_type, 1);
	assert_int_equal(p.icmp_code, 4);
	assert_addr(&p.inner.src, AF_INET6, B2);
	assert_addr(&p.inner.dst, AF_INET6, B1);
	assert_int_equal(p.inner.proto, IPPROTO_TCP);
	assert_int_equal(p.inner.sport, 40000);
	assert_int_equal(p.inner.dport, 22);

	decode_case("icmp6_ptb", &p);
	assert_int_equal(p.icmp_type, 2);
	assert_int_equal(p.flags,
	    PKT_F_ICMP | PKT_F_INNER | PKT_F_INNER_PORTS);
	assert_addr(&p.inner.src, AF_INET6, B1);
	assert_int_equal(p.inner.proto, IPPROTO_UDP);
	assert_int_equal(p.inner.sport, 4433);
	assert_int_equal(p.inner.dport, 50000);
}

/* A snap length shorter than the frame: headers cut short are
 * DECODE_TRUNCATED, not malformed; bytes never read may be missing. */
static void
test_snaplen(void **state)
{
	struct pb b = { .n = 0 };
	struct pkt p;

	(void)state;
	b_eth_syn(&b);
	/* TCP options past the snap length are not needed. */
	assert_int_equal(decode_exact(DECODE_DLT_EN10MB, b.d, 54, b.n, &p),
	    DECODE_OK);
	assert_int_equal(p.dport, 22);
	assert_int_equal(p.wire_len, b.n);
	assert_int_equal(decode_exact(DECODE_DLT_EN10MB, b.d, 40, b.n, &p),
	    DECODE_TRUNCATED);
	assert_addr(&p.src, AF_INET, A2);
	/* wirelen below caplen is taken as caplen. */
	assert_int_equal(decode_exact(DECODE_DLT_EN10MB, b.d, b.n, 10, &p),
	    DECODE_OK);
	assert_int_equal(p.wire_len, b.n);

	/* A GSO super-packet (BIG TCP) with an IPv4 total length of 0. */
	b.n = 0;
	eth(&b, 0x0800);
	ip4(&b, IPPROTO_TCP, A2, A1);
	tcp(&b, 40000, 22, 0x10, 0);
	assert_int_equal(decode_exact(DECODE_DLT_EN10MB, b.d, b.n, 70014,
	    &p), DECODE_OK);
	assert_int_equal(p.ip_len, 70000);
	assert_int_equal(p.payload_len, 70000 - 40);
	assert_int_equal(decode_exact(DECODE_DLT_EN10MB, b.d, b.n, b.n, &p),
	    DECODE_BAD_IPV4_LEN);
}

/* Corners: GSO sizes, first fragments, a protocol in the wrong family. */
static void
test_edges(void **state)
{
	static const uint8_t opt3[4] = { 1, 1, 1, 0x44 }; /* no length byte */
	struct pb b = { .n = 0 };
	struct pkt p;
	size_t o;

	(void)state;
	/* IPv6 BIG TCP: payload length 0, UDP length 0, on a huge frame. */
	ip6(&b, IPPROTO_UDP, B2, B1);
	udp(&b, 1, 2, 0);
	set16(&b, b.n - 4, 0);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, 100040, &p),
	    DECODE_OK);
	assert_int_equal(p.ip_len, 100040);
	assert_int_equal(p.payload_len, 100000 - 8);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_BAD_UDP_LEN);

	/* A first UDP fragment whose length is less than the fragment. */
	b.n = 0;
	ip4o(&b, IPPROTO_UDP, A2, A1, 0x2000, NULL, 0);
	udp(&b, 1, 2, 16);
	set16(&b, 24, 20);
	ip4_done(&b, 0);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_BAD_UDP_LEN);

	/* A first TCP fragment whose options go on in the next one. */
	b.n = 0;
	ip4o(&b, IPPROTO_TCP, A2, A1, 0x2000, NULL, 0);
	tcp(&b, 1, 2, 0x02, 0);
	b.d[20 + 12] = 6 << 4;
	ip4_done(&b, 0);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_BAD_FRAGMENT);

	/* ICMPv6 over IPv4 is just another protocol. */
	b.n = 0;
	o = ip4(&b, IPPROTO_ICMPV6, A2, A1);
	icmp(&b, 1, 4);
	ip4_done(&b, o);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_OK);
	assert_int_equal(p.flags, 0);
	assert_int_equal(p.payload_len, 8);

	/* An option type in the header's last byte, without its length. */
	b.n = 0;
	o = ip4o(&b, IPPROTO_TCP, A2, A1, 0, opt3, sizeof(opt3));
	tcp(&b, 1, 2, 0x02, 0);
	ip4_done(&b, o);
	assert_int_equal(decode_exact(DECODE_DLT_RAW, b.d, b.n, b.n, &p),
	    DECODE_BAD_IPV4_OPT);
}

static void
test_result_names(void **state)
{
	const char *a, *b;
	int i, j;

	(void)state;
	assert_string_equal(decode_result_name(DECODE_OK), "ok");
	assert_string_equal(decode_result_name(DECODE_NOT_IP), "not-ip");
	assert_string_equal(decode_result_name(DECODE_BAD_TCP_HDR),
	    "bad-tcp-hdr");
	assert_string_equal(decode_result_name(1), "unknown");
	assert_string_equal(decode_result_name(DECODE_RESULT_MIN - 1),
	    "unknown");
	for (i = DECODE_RESULT_MIN; i <= 0; i++) {
		a = decode_result_name(i);
		assert_string_not_equal(a, "unknown");
		for (j = i + 1; j <= 0; j++) {
			b = decode_result_name(j);
			assert_string_not_equal(a, b);
		}
	}
}

/* Every prefix of every packet that decodes: cut by the snap length
 * (wire length whole) it is DECODE_TRUNCATED or the same record, perhaps
 * without the ICMP quote; cut on the wire it is malformed or the same
 * record. */
static void
test_truncation(void **state)
{
	struct pkt full, p;
	struct pb b;
	size_t i, k, n = 0;
	int r;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		if (cases[i].result != DECODE_OK)
			continue;
		b.n = 0;
		cases[i].build(&b);
		assert_int_equal(decode_exact(cases[i].link, b.d, b.n, b.n,
		    &full), DECODE_OK);
		for (k = 0; k <= b.n; k++, n++) {
			r = decode_exact(cases[i].link, b.d, k, b.n, &p);
			if (r != DECODE_OK && r != DECODE_TRUNCATED)
				fail_msg("%s snapped at %zu: %s", cases[i].name,
				    k, decode_result_name(r));
			if (r == DECODE_OK)
				assert_consistent(cases[i].name, k, &p, &full,
				    1);
			else if (p.family != 0)
				assert_true(addr_same(&p.src, &full.src));

			r = decode_exact(cases[i].link, b.d, k, k, &p);
			if (r == DECODE_TRUNCATED || r > 0 ||
			    r < DECODE_RESULT_MIN)
				fail_msg("%s cut at %zu: %d", cases[i].name, k,
				    r);
			if (r == DECODE_OK)
				assert_consistent(cases[i].name, k, &p, &full,
				    0);
		}
	}
	print_message("decoded %zu prefixes\n", 2 * n);
}

static const char *
data_dir(void)
{
	const char *d = getenv("SW_TESTDATA");

	return d != NULL ? d : "tests/data";
}

/* Decode one regression input every way it may have crashed: as the
 * fuzzer reads it (with each wire length extra), and whole as Ethernet
 * and as SLL2. */
static void
regress_one(const uint8_t *d, size_t len)
{
	struct pkt p;
	int r, j;

	if (len > 0) {
		for (j = 0; j < 4; j++) {
			r = decode_exact(links[d[0] & 0x0f], d + 1,
			    len - 1, len - 1 + extras[j], &p);
			assert_true(r <= 0 && r >= DECODE_RESULT_MIN);
		}
	}
	r = decode_exact(DECODE_DLT_EN10MB, d, len, len, &p);
	assert_true(r <= 0 && r >= DECODE_RESULT_MIN);
	r = decode_exact(DECODE_DLT_LINUX_SLL2, d, len, len, &p);
	assert_true(r <= 0 && r >= DECODE_RESULT_MIN);
}

static void
test_regress(void **state)
{
	static uint8_t buf[1 << 16];
	char path[1024];
	struct dirent *de;
	size_t n = 0, len;
	FILE *f;
	DIR *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/decode-regress", data_dir());
	if ((d = opendir(path)) == NULL)
		return;		/* none yet */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/decode-regress/%s",
		    data_dir(), de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		regress_one(buf, len);
		n++;
	}
	closedir(d);
	print_message("replayed %zu decode regression inputs\n", n);
}

/* SW_DECODE_SEEDS=DIR: the packets as a fuzzing corpus. */
static void
write_seeds(const char *dir)
{
	char path[1024];
	struct pb b;
	size_t i, l;
	FILE *f;

	for (i = 0; i < NCASES; i++) {
		b.n = 0;
		cases[i].build(&b);
		for (l = 0; l < NLINKS && links[l] != cases[i].link; l++)
			;
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
		if ((f = fopen(path, "wb")) == NULL) {
			perror(path);
			exit(1);
		}
		fputc((int)l, f);
		fwrite(b.d, 1, b.n, f);
		fclose(f);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_tcp_syn),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_ppp),
		cmocka_unit_test(test_chdlc),
		cmocka_unit_test(test_link_supported),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_tcp_udp_bad),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_regress),
	};
	const char *seeds = getenv("SW_DECODE_SEEDS");

	if (seeds != NULL)
		write_seeds(seeds);
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
