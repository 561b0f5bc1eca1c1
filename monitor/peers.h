/* The peer table: bounded per-remote-address statistics that the packet
 * path feeds (peers_observe) and the detectors and `sockwatch peers` read.
 *
 * Bounds. The table holds at most max_peers entries, all allocated once by
 * peers_new; nothing is allocated per packet. When it is full, a new
 * address takes the entry of the least recently seen peer (an intrusive
 * LRU list, exact to the millisecond: a peer seen again within the
 * millisecond it was last seen in does not move, which spares a busy
 * peer's packets two random cache misses each) and peers_evictions()
 * counts it, so a flood of spoofed sources
 * costs CPU but never memory. Memory is exactly peers_memory_needed():
 * PEERS_ENTRY_BYTES (512) per entry, plus the per-entry user area rounded
 * up to 64, plus 4 bytes per hash bucket (the next power of two >= max),
 * plus a header of under 300 bytes: 51,724,288 bytes + header for the
 * default 100,000 peers. Pages are touched only as peers arrive (entries
 * are used in order; on transparent huge pages where the kernel allows,
 * so resident memory can run up to 2 MiB ahead of the peers there are).
 * Addresses are hashed with a caller-supplied 64-bit secret (keyed, not
 * cryptographic) so that chosen addresses cannot pile into one chain, and
 * chosen ports cannot hide from the sketches below.
 *
 * Distinct local ports and hosts in a sliding window. Each is a small
 * exact set (32 ports, 20 hosts) whose entries carry their own timestamp,
 * so while a peer stays under that size the window is exact: an item seen
 * at t counts while now - t < window (to one tick: 1 ms for windows up to
 * 16 s, window/16384 above). Detection thresholds (20 ports by default)
 * live in this exact regime. When a set overflows, it becomes a
 * HyperLogLog of 128 four-bit registers in the same 128 bytes, split into
 * two generations aligned to multiples of the window (floor(now/window));
 * the count is the union of the current and previous generation. So the
 * sketch never forgets anything from the last window and forgets
 * everything older than two windows: an item seen at t is gone at
 * (floor(t/window) + 2) * window. Its standard error is 1.04/sqrt(128) =
 * 9.2%; measured over 20,000 seeds from 33 to 60,000 distinct items: RMS
 * 6-9.3%, bias under 2%, 99.5% of estimates within 28% (3 sigma, what
 * the unit tests assert), none off by 50%. Two generations rather than
 * exact timestamps, because a sketch cannot age single items; rather than
 * a half-window period (which can miss up to half the window), because a
 * detector must never under-count what its window promises. A set goes
 * back to exact once both generations are empty. The windowed counters
 * (syns_window, closed_window, kinds) use the same two generations.
 *
 * What counts as a probe (and so feeds the distinct sets): an inbound TCP
 * packet without RST and not a SYN-ACK, that has no ACK (SYN, FIN, NULL,
 * Xmas), or whose local port is neither open (obs.lport_open) nor one we
 * sent from to this peer recently; an inbound UDP datagram to a local
 * port we have not sent from recently; an inbound ICMP echo request (a
 * host probe, no port). "Sent from recently" is a 64-bit Bloom filter of
 * local ports per generation, so replies to the host's own outbound
 * connections and DNS queries are not probes. It can saturate for a peer
 * the host talks to on many ports, hiding ACK/UDP probes from that peer.
 *
 * Handshakes, without connection state: per local port (the PEERS_PORTS
 * ports with the most SYNs; a new port takes the slot with the fewest),
 * SYNs received, handshakes completed (an inbound pure ACK answering a
 * SYN-ACK we sent) and failed (a SYN we refused with RST, or a handshake
 * the peer reset). SYNs never answered, or SYN-ACKs never acknowledged,
 * are neither: syns - completed - failed is the half-open remainder.
 *
 * Time is passed in (now_ms, any monotonic millisecond clock, >= 0; a
 * time earlier than one already seen is taken as that one). No globals,
 * no logging, no I/O: the table can move into an unprivileged process. */
#ifndef SW_PEERS_H
#define SW_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

#define PEERS_DEFAULT_MAX	100000
#define PEERS_DEFAULT_WINDOW_MS	10000
#define PEERS_MAX_WINDOW_MS	(24 * 3600 * 1000)	/* one day */
#define PEERS_MAX_USER_BYTES	4096
#define PEERS_MAX_LIMIT		(1UL << 28)	/* largest max_peers */
#define PEERS_ENTRY_BYTES	512	/* fixed size of one entry */
#define PEERS_EXACT_PORTS	32	/* distinct ports counted exactly */
#define PEERS_EXACT_HOSTS	20	/* distinct hosts counted exactly */
#define PEERS_PORTS		4	/* local ports with handshake counts */
#define PEERS_SAMPLES		8	/* recent probed ports kept as evidence */
#define PEERS_HOP_SLACK		1	/* hops a route change may add */
/* The sketch's error bound, 3 x 1.04 / sqrt(128): 99.5% of estimates are
 * within it (measured above); the unit tests assert it. */
#define PEERS_SKETCH_ERROR	0.28

struct peers_conf {
	size_t max_peers;		/* hard cap: 1 .. PEERS_MAX_LIMIT */
	int64_t window_ms;		/* 1 .. PEERS_MAX_WINDOW_MS */
	uint64_t seed;			/* hash secret: random, per process */
	size_t user_bytes;		/* zeroed caller area per entry */
};

/* One packet, as the peer table needs it; "local" is the host's side. */
struct peer_obs {
	int64_t now_ms;
	struct addr peer;		/* the remote address: the key */
	struct addr local;		/* the host's address */
	uint32_t bytes;			/* IP length */
	uint16_t lport;			/* local TCP/UDP port */
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6... */
	uint8_t tcp_flags;		/* as on the wire: FIN 0x01 .. CWR 0x80 */
	uint8_t icmp_type, icmp_code;
	bool inbound;			/* peer -> host (else host -> peer) */
	bool lport_open;		/* a local socket holds lport (from
					 * sock_diag); false when unknown */
	uint8_t ttl;			/* TTL or hop limit; 0: unknown */
	uint64_t hash;			/* peers_prefetch()'s hash of peer, or
					 * 0: computed here */
};

/* What one observation counted as (peers_observe's ret_events). */
#define PEER_EV_NEW		0x0001	/* the peer was not in the table */
#define PEER_EV_EVICTED		0x0002	/* ... and took an evicted entry */
#define PEER_EV_SYN		0x0004	/* inbound SYN (no ACK) */
#define PEER_EV_SYNACK		0x0008	/* we answered with a SYN-ACK */
#define PEER_EV_RST		0x0010	/* we sent a RST */
#define PEER_EV_HS_DONE		0x0020	/* a handshake completed */
#define PEER_EV_HS_FAILED	0x0040	/* a handshake refused or reset */
#define PEER_EV_PROBE		0x0080	/* a probe (see above) */
#define PEER_EV_NEW_PORT	0x0100	/* distinct ports may have grown */
#define PEER_EV_NEW_HOST	0x0200	/* distinct hosts may have grown */
#define PEER_EV_UDP_CLOSED	0x0400	/* UDP probe to a closed port */
#define PEER_EV_UNREACH		0x0800	/* we sent ICMP unreachable */

/* Probe kinds seen (peer_stats.kinds), by inbound TCP flags. */
#define PEER_KIND_SYN		0x0001	/* SYN: -sS, -sT */
#define PEER_KIND_NULL		0x0002	/* no flags: -sN */
#define PEER_KIND_FIN		0x0004	/* FIN: -sF */
#define PEER_KIND_XMAS		0x0008	/* FIN PSH URG: -sX */
#define PEER_KIND_ACK		0x0010	/* ACK: -sA, -sW */
#define PEER_KIND_MAIMON	0x0020	/* FIN ACK: -sM */
#define PEER_KIND_OTHER		0x0040	/* any other TCP probe */
#define PEER_KIND_UDP		0x0080	/* -sU */
#define PEER_KIND_PING		0x0100	/* ICMP/ICMPv6 echo request */
#define PEER_KIND_COUNT		9

struct peer_port {
	uint16_t port;
	uint32_t syns;			/* SYNs received */
	uint32_t completed;		/* handshakes completed */
	uint32_t failed;		/* refused by us or reset by the peer */
};

struct peer_stats {
	struct addr addr;
	int64_t first_ms, last_ms;
	uint64_t pkts_in, pkts_out;
	uint64_t bytes_in, bytes_out;
	uint32_t syns;			/* SYNs it sent (no ACK) */
	uint32_t synacks;		/* SYN-ACKs we answered */
	uint32_t rsts;			/* RSTs we sent it */
	uint32_t udp_closed;		/* UDP probes to closed ports */
	uint32_t icmp_unreach;		/* ICMP unreachables we sent it */
	/* In the window ending at the now_ms asked for: */
	uint32_t ports;			/* distinct local ports probed */
	uint32_t hosts;			/* distinct local addresses probed */
	bool ports_exact, hosts_exact;	/* else an estimate (see above) */
	uint32_t syns_window;		/* SYNs, generation-windowed */
	uint32_t closed_window;		/* probes to ports not open
					 * (obs.lport_open false) */
	uint16_t kinds;			/* PEER_KIND_* seen */
	/* Handshakes per local port, most SYNs first. */
	unsigned int nports;
	struct peer_port port[PEERS_PORTS];
	/* Recently probed ports, newest first. */
	unsigned int nsamples;
	uint16_t sample[PEERS_SAMPLES];
};

enum peers_sort {
	PEERS_SORT_PACKETS,		/* packets both ways */
	PEERS_SORT_BYTES,		/* bytes both ways */
	PEERS_SORT_PORTS,		/* distinct ports in the window */
	PEERS_SORT_SYN,			/* SYNs received */
};

struct peers;
struct peer;

/* Bytes peers_new will allocate for conf; 0 if conf is invalid. */
size_t peers_memory_needed(const struct peers_conf *conf);

/* 0, -EINVAL (a conf field out of range), or -ENOMEM. */
int peers_new(const struct peers_conf *conf, struct peers **ret_table);
void peers_free(struct peers *t);

/* Account one packet. ret_peer (may be NULL) is its entry: valid until
 * the next peers_observe, which may recycle it for another peer.
 * ret_events (may be NULL) gets PEER_EV_* bits. 0, or -EINVAL when
 * obs->peer is neither AF_INET nor AF_INET6. */
int peers_observe(struct peers *t, const struct peer_obs *obs,
    const struct peer **ret_peer, unsigned int *ret_events);

/* A hint, for a caller with packets queued: start loading what
 * peers_observe for a will touch. Step 0 loads a's hash bucket and
 * returns a's hash (0 for an unknown family); step 1, issued some
 * packets later with that hash, loads the entry the bucket leads to;
 * step 2, later still, its neighbours in the LRU list. Each step reads
 * only what the one before it loaded, and a is read by step 0 only.
 * Changes nothing; any order of calls is correct. */
uint64_t peers_prefetch(const struct peers *t, const struct addr *a,
    uint64_t hash, int step);

/* The entry for a, or NULL; does not count as seeing it. */
const struct peer *peers_find(const struct peers *t, const struct addr *a);

/* Everything about p, with the windowed fields as of now_ms. */
void peers_stats(const struct peers *t, const struct peer *p, int64_t now_ms,
    struct peer_stats *ret_stats);
/* Just the distinct counts (cheap in the exact regime); *ret_exact (may
 * be NULL) says whether the value is exact or an estimate. */
uint32_t peers_distinct_ports(const struct peers *t, const struct peer *p,
    int64_t now_ms, bool *ret_exact);
uint32_t peers_distinct_hosts(const struct peers *t, const struct peer *p,
    int64_t now_ms, bool *ret_exact);
/* The distinct ports of the window, at most max of them, while they are
 * counted exactly (up to PEERS_EXACT_PORTS); 0 once the set is a sketch. */
size_t peers_ports(const struct peers *t, const struct peer *p,
    int64_t now_ms, uint16_t *ret_ports, size_t max);
void peers_addr(const struct peer *p, struct addr *ret_addr);
int64_t peers_last_seen(const struct peer *p);

/* The caller's conf.user_bytes for p, zeroed when the entry was made
 * (8-byte aligned; NULL when user_bytes is 0). */
void *peers_user(struct peers *t, const struct peer *p);

/* Most recently seen first (peers last seen in the same millisecond in
 * no particular order); NULL at the end. */
const struct peer *peers_first(const struct peers *t);
const struct peer *peers_next(const struct peers *t, const struct peer *p);

/* The n peers ranking highest by `by` as of now_ms, best first, into
 * ret[0..n-1]; ties go to the lower address. Returns how many (<= n). */
size_t peers_top(const struct peers *t, int64_t now_ms, enum peers_sort by,
    const struct peer **ret, size_t n);
/* "packets", "bytes", "ports", "syn". 0 or -EINVAL. */
int peers_sort_parse(const char *name, enum peers_sort *ret_sort);

/* Return-path evidence: the hop count (from the TTL, to the nearest
 * initial value 32, 64, 128 or 255) of the last handshake the peer
 * completed with us, -1 if none; and how many of its probes and SYNs
 * since came over that many hops (within PEERS_HOP_SLACK) and how many
 * did not (each saturates at 255). A probe from a spoofed source rarely
 * has the hop count of the real host. */
struct peer_hops {
	int verified;
	unsigned int ok, bad;
};
void peers_hops(const struct peer *p, struct peer_hops *ret);
const char *peers_sort_name(enum peers_sort by);
/* "syn", "null", "fin", "xmas", "ack", "maimon", "other", "udp", "ping"
 * for one PEER_KIND_* bit; "?" otherwise. */
const char *peers_kind_name(unsigned int kind);

size_t peers_count(const struct peers *t);
size_t peers_max(const struct peers *t);
uint64_t peers_evictions(const struct peers *t);
/* Bytes allocated: equal to peers_memory_needed(conf) for the lifetime. */
size_t peers_memory_bytes(const struct peers *t);

#endif
