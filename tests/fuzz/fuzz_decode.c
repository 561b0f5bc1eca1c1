/*
 * libFuzzer target for decode_packet(). The first input byte selects the
 * link type, links[byte & 0x0f] (every one decode_packet reads, and one
 * it does not), and how much longer the frame was on the wire than
 * captured, extras[(byte >> 4) & 3] (0 is a whole frame; more is a
 * snap-length cut, and 70000 reaches the GSO paths). The rest is
 * the frame, copied to an exact-size heap buffer so ASan sees over-reads.
 * Seeds: SW_DECODE_SEEDS=DIR build/tests/test_decode writes the unit
 * tests' packets in this format. Keep the tables in step with
 * tests/unit/test_decode.c, which replays tests/data/decode-regress/.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../monitor/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[16] = {
	DECODE_DLT_EN10MB, DECODE_DLT_LINUX_SLL, DECODE_DLT_LINUX_SLL2,
	DECODE_DLT_RAW, DECODE_DLT_IPV4, DECODE_DLT_IPV6, DECODE_DLT_RAW_FILE,
	DECODE_DLT_NULL, DECODE_DLT_LOOP, DECODE_DLT_PPP,
	DECODE_DLT_PPP_SERIAL, DECODE_DLT_PPP_ETHER, DECODE_DLT_C_HDLC,
	DECODE_DLT_PPP_WITH_DIR, DECODE_DLT_C_HDLC_WITH_DIR,
	147,				/* DLT_USER0: not read */
};
static const size_t extras[] = { 0, 1, 1000, 70000 };

/* What every accepted record must satisfy. */
static void
check(const struct pkt *p, size_t wire)
{
	if (p->family != AF_INET && p->family != AF_INET6)
		abort();
	if (p->src.family != p->family || p->dst.family != p->family)
		abort();
	if (p->wire_len != wire || p->ip_len > wire ||
	    p->payload_len > p->ip_len)
		abort();
	if ((p->flags & PKT_F_NONFIRST) && (!(p->flags & PKT_F_FRAGMENT) ||
	    (p->flags & (PKT_F_PORTS | PKT_F_ICMP))))
		abort();
	if ((p->flags & PKT_F_PORTS) && p->proto != IPPROTO_TCP &&
	    p->proto != IPPROTO_UDP && p->proto != IPPROTO_SCTP)
		abort();
	if (p->tcp_flags != 0 && p->proto != IPPROTO_TCP)
		abort();
	if ((p->flags & PKT_F_ICMP) && p->proto != (p->family == AF_INET ?
	    IPPROTO_ICMP : IPPROTO_ICMPV6))
		abort();
	if ((p->flags & (PKT_F_INNER | PKT_F_INNER_PORTS)) &&
	    !(p->flags & PKT_F_ICMP))
		abort();
	if ((p->flags & PKT_F_INNER_PORTS) && !(p->flags & PKT_F_INNER))
		abort();
	if ((p->flags & PKT_F_INNER) && (p->inner.src.family != p->family ||
	    p->inner.dst.family != p->family))
		abort();
	if (p->dir != PKT_DIR_UNKNOWN && p->pkttype == PKT_TYPE_UNKNOWN)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t caplen, wire;
	struct pkt p;
	uint8_t *buf;
	int link, r;

	if (size < 1)
		return 0;
	link = links[data[0] & 0x0f];
	caplen = size - 1;
	wire = caplen + extras[(data[0] >> 4) & 3];
	buf = caplen > 0 ? malloc(caplen) : NULL;
	if (caplen > 0 && buf == NULL)
		return 0;
	if (caplen > 0)
		memcpy(buf, data + 1, caplen);
	r = decode_packet(link, buf, caplen, wire, 1, &p);
	if (r > 0 || r < DECODE_RESULT_MIN)
		abort();
	if (strcmp(decode_result_name(r), "unknown") == 0)
		abort();
	/* Only a snap-length cut can be DECODE_TRUNCATED. */
	if (r == DECODE_TRUNCATED && wire == caplen)
		abort();
	if ((r == DECODE_UNSUPPORTED_LINK) != !decode_link_supported(link))
		abort();
	if (r == DECODE_OK)
		check(&p, wire);
	free(buf);
	return 0;
}
