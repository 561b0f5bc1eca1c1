/* Packet decoding: link layer (Ethernet with VLAN tags and PPPoE, Linux
 * cooked v1 and v2, raw IP, BSD loopback, PPP, Cisco HDLC) -> IPv4/IPv6 -> TCP/UDP/SCTP/ICMP/ICMPv6 -> one flat record.
 * No globals, no allocation, no logging, no I/O: safe to run in a confined,
 * unprivileged child. Every header is length-checked before it is read. */
#ifndef SW_DECODE_H
#define SW_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

/* Link types, as pcap_datalink() returns them on Linux (the numbers of
 * libpcap's <pcap/dlt.h>; LINKTYPE_RAW, 101, is what a savefile says for
 * DLT_RAW). */
#define DECODE_DLT_NULL		0	/* BSD loopback, host byte order */
#define DECODE_DLT_EN10MB	1	/* Ethernet, 802.1Q/802.1ad tags */
#define DECODE_DLT_PPP		9	/* PPP, 0xff03 optional */
#define DECODE_DLT_RAW		12	/* raw IPv4 or IPv6 */
#define DECODE_DLT_PPP_SERIAL	50	/* PPP in HDLC framing, or Cisco */
#define DECODE_DLT_PPP_ETHER	51	/* PPPoE session header, PPP */
#define DECODE_DLT_RAW_FILE	101	/* LINKTYPE_RAW */
#define DECODE_DLT_C_HDLC	104	/* Cisco HDLC */
#define DECODE_DLT_LOOP		108	/* OpenBSD loopback, network order */
#define DECODE_DLT_LINUX_SLL	113	/* Linux cooked v1 ("any") */
#define DECODE_DLT_PPP_WITH_DIR	204	/* direction byte, then PPP */
#define DECODE_DLT_C_HDLC_WITH_DIR 205	/* direction byte, then C_HDLC */
#define DECODE_DLT_IPV4		228	/* raw IPv4 only */
#define DECODE_DLT_IPV6		229	/* raw IPv6 only */
#define DECODE_DLT_LINUX_SLL2	276	/* Linux cooked v2 ("any") */

/* Stacked VLAN tags accepted (QinQ is 2); more is DECODE_BAD_VLAN. */
#define DECODE_MAX_VLAN		4
/* IPv6 extension headers walked before giving up (DECODE_TOO_MANY_EXT). */
#define DECODE_MAX_EXT		8

/* Results. 0 is a complete record. DECODE_NOT_IP is a skip (ARP, LLDP,
 * PPP's LCP, a loopback family other than IP, ...), not an error; DECODE_TRUNCATED means the snap length cut a header
 * short (captured < wire length), a capture setting rather than a hostile
 * packet; every other negative value is a malformed packet. */
enum decode_result {
	DECODE_OK = 0,
	DECODE_NOT_IP = -1,
	DECODE_UNSUPPORTED_LINK = -2,
	DECODE_TRUNCATED = -3,
	DECODE_SHORT_L2 = -4,		/* link header incomplete */
	DECODE_BAD_VLAN = -5,		/* tag cut short or too many tags */
	DECODE_BAD_IP_VERSION = -6,	/* version nibble vs link type */
	DECODE_BAD_IPV4_HDR = -7,	/* IHL < 5 or header incomplete */
	DECODE_BAD_IPV4_OPT = -8,	/* option length wrong */
	DECODE_BAD_IPV4_LEN = -9,	/* total length < IHL or > wire */
	DECODE_BAD_IPV6_HDR = -10,	/* fixed header incomplete */
	DECODE_BAD_IPV6_LEN = -11,	/* payload length > wire */
	DECODE_BAD_IPV6_EXT = -12,	/* extension header cut or misplaced */
	DECODE_TOO_MANY_EXT = -13,
	DECODE_BAD_FRAGMENT = -14,	/* first fragment without a full
					 * transport header (tiny fragment) */
	DECODE_BAD_TCP_HDR = -15,	/* data offset < 5 or past the end */
	DECODE_BAD_UDP_LEN = -16,	/* length < 8 or > IP payload */
	DECODE_BAD_SCTP_HDR = -17,
	DECODE_SHORT_ICMP = -18,	/* fewer than 8 bytes */
	DECODE_BAD_L2 = -19,		/* PPP control, PPPoE version wrong */
	DECODE_RESULT_MIN = -19		/* lowest value, for counter arrays */
};

/* Does decode_packet know this link type? */
int decode_link_supported(int linktype);

/* Stable short name of a result ("ok", "not-ip", "bad-tcp-hdr", ...) for
 * counters and metrics labels; "unknown" for values out of range. */
const char *decode_result_name(int result);

/* Linux packet types (linux/if_packet.h), from a cooked header. */
#define PKT_TYPE_HOST		0
#define PKT_TYPE_BROADCAST	1
#define PKT_TYPE_MULTICAST	2
#define PKT_TYPE_OTHERHOST	3
#define PKT_TYPE_OUTGOING	4
#define PKT_TYPE_UNKNOWN	0xff	/* not a cooked capture */

enum pkt_dir {
	PKT_DIR_UNKNOWN = 0,		/* classify by the host's addresses */
	PKT_DIR_IN,
	PKT_DIR_OUT,
};

/* TCP flags as in the header's flags byte. */
#define PKT_TCP_FIN	0x01
#define PKT_TCP_SYN	0x02
#define PKT_TCP_RST	0x04
#define PKT_TCP_PSH	0x08
#define PKT_TCP_ACK	0x10
#define PKT_TCP_URG	0x20
#define PKT_TCP_ECE	0x40
#define PKT_TCP_CWR	0x80

/* pkt.flags */
#define PKT_F_FRAGMENT	0x01	/* an IPv4/IPv6 fragment (first or not) */
#define PKT_F_NONFIRST	0x02	/* fragment offset != 0: no ports */
#define PKT_F_PORTS	0x04	/* sport/dport valid (TCP, UDP, SCTP) */
#define PKT_F_ICMP	0x08	/* icmp_type/icmp_code valid */
#define PKT_F_INNER	0x10	/* ICMP error: inner addresses and proto */
#define PKT_F_INNER_PORTS 0x20	/* ICMP error: inner ports too */
#define PKT_F_IP_OPTIONS 0x40	/* IPv4 options present */
#define PKT_F_IPV6_EXT	0x80	/* IPv6 extension headers present */

/* The header of the datagram an ICMP error quotes: the packet the host
 * (or a router) is complaining about, as that packet was sent. */
struct pkt_inner {
	struct addr src, dst;
	uint16_t sport, dport;		/* valid with PKT_F_INNER_PORTS */
	uint8_t proto;
};

/* One decoded packet. Ports and addresses are in host byte order where
 * numeric; everything not set by the packet is zero. */
struct pkt {
	uint64_t time_us;		/* as given to decode_packet() */
	uint32_t ifindex;		/* SLL2 only; 0 when unknown */
	uint32_t ip_len;		/* IP header + payload as declared */
	uint32_t payload_len;		/* bytes after the transport header
					 * (or after IP for other protos) */
	uint32_t wire_len;		/* frame length on the wire */
	uint16_t sport, dport;		/* valid with PKT_F_PORTS */
	uint16_t flags;			/* PKT_F_* */
	uint8_t family;			/* AF_INET, AF_INET6 */
	uint8_t proto;			/* IPPROTO_* after extension headers */
	uint8_t ttl;			/* TTL or hop limit */
	uint8_t tcp_flags;		/* PKT_TCP_* */
	uint8_t icmp_type, icmp_code;	/* valid with PKT_F_ICMP */
	uint8_t pkttype;		/* PKT_TYPE_* */
	uint8_t dir;			/* enum pkt_dir */
	struct addr src, dst;
	struct pkt_inner inner;		/* valid with PKT_F_INNER */
	uint64_t peer_hash;		/* not decoded: the peer table's hash of
					 * the remote address, when a caller
					 * computed it early (0: not known) */
};

/* Decode one captured frame of the given link type. data holds caplen
 * bytes; wirelen is the frame's length on the wire (libpcap's len; taken
 * as caplen if smaller). Returns DECODE_OK with *ret_pkt filled, or a
 * negative enum decode_result. On error *ret_pkt keeps what was decoded
 * before the fault: time_us, wire_len, ifindex, pkttype and dir always;
 * family, src, dst and ttl when family != 0 (so malformed packets can be
 * charged to a peer); nothing else is meaningful. Never reads past
 * data + caplen. */
int decode_packet(int linktype, const uint8_t *data, size_t caplen,
    size_t wirelen, uint64_t time_us, struct pkt *ret_pkt);

#endif
