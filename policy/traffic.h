/* The traffic detectors: port scans, SYN floods, brute force, deny lists.
 *
 * Fed one decoded packet at a time (traffic_packet), with the time passed
 * in; alerts come out through a callback. No globals, no I/O, no logging
 * (STYLE principle 13): the daemon, `sockwatchd --replay` and `sockwatch
 * analyze` drive it the same way. It owns the peer table (monitor/peers.h,
 * sized by [daemon] max_peers, windowed by [portscan] window), the [deny]
 * and [allow] prefix sets, per-peer detector state in the table's user
 * area, a bounded table of listening ports for the flood detector and
 * one of connections logging in for the brute-force detector.
 *
 * Who is never alerted for: [allow] peers, loopback, and the host's own
 * addresses (traffic_set_local). Their packets are counted, nothing more.
 * Packets to or from broadcast and multicast addresses are counted and
 * skipped: they are not aimed at this host alone.
 *
 * Rate limit, per (detector, peer) and for synflood also per listener:
 * the first crossing of a threshold raises an alert; crossings within the
 * detector's window after it only add to a count, carried as "repeats" in
 * the next alert's evidence once the window has passed.
 *
 * Brute force has two signals per peer, on TCP connections to the
 * watched ports: new connections (SYNs), and failed logins, timed from
 * the packets both ways: a server answer that came 1 to 30 s after the
 * client's data (PAM's failure delay; all else is answered at once), on
 * a connection followed from its SYN while it may still be logging in
 * (a bounded table; traffic_counters.auth_evictions).
 *
 * Alerts: kind "portscan", "synflood", "bruteforce" or "denylist"; peer
 * set except for a synflood from many sources; evidence holds the numbers
 * that crossed the threshold, the limit, the window and "ban" (seconds)
 * and "repeats" (a bruteforce alert also "signal": "connections" or
 * "attempts", naming the count that crossed); action "alert" or "block"
 * from the config. time_ms and id are left 0 for the caller. */
#ifndef SW_TRAFFIC_H
#define SW_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../monitor/decode.h"
#include "../monitor/peers.h"
#include "alert.h"
#include "config.h"

enum traffic_kind {
	TRAFFIC_PORTSCAN,
	TRAFFIC_SYNFLOOD,
	TRAFFIC_BRUTEFORCE,
	TRAFFIC_DENYLIST,
	TRAFFIC_NKINDS
};

/* Listening ports the flood detector follows at once; SYNs to others are
 * counted in listener_overflow. */
#define TRAFFIC_LISTENERS	512
/* Sources per listener and second counted one by one (the heaviest:
 * any source with more than 1/8 of the SYNs is among them). A source is
 * alerted for when it alone sent more than rate/8 SYNs in the second. */
#define TRAFFIC_TOP_SOURCES	8

/* Is a local socket listening on proto/port? (The daemon's socket table;
 * called for inbound TCP and UDP packets, so keep it O(1).) */
typedef bool (*traffic_port_open_fn)(void *arg, uint8_t proto,
    uint16_t port);
/* An alert; the callee takes over a->evidence. */
typedef void (*traffic_alert_fn)(void *arg, struct alert *a);

struct traffic_counters {
	uint64_t packets;		/* given to traffic_packet */
	uint64_t inbound, outbound;	/* by direction */
	uint64_t unknown;		/* neither end is this host: ignored */
	uint64_t skipped;		/* broadcast, multicast, unspecified */
	uint64_t exempt;		/* of allowed, local, loopback peers */
	uint64_t alerts[TRAFFIC_NKINDS];	/* raised */
	uint64_t repeats[TRAFFIC_NKINDS];	/* crossings in a window */
	uint64_t alerts_dropped;	/* no memory for the evidence */
	uint64_t listener_overflow;	/* SYNs to an untracked listener */
	uint64_t peer_evictions;	/* peers_evictions() */
	uint64_t auth_evictions;	/* logins followed, dropped for room */
	size_t peers, max_peers, listeners;
};

/* Peer classification, as traffic_peer_flags() gives it. */
#define TRAFFIC_PEER_DENIED	0x01	/* in [deny] peers or file */
#define TRAFFIC_PEER_ALLOWED	0x02	/* in [allow] peers */
#define TRAFFIC_PEER_LOCAL	0x04	/* loopback or this host */

struct traffic;

/* A detector set for cfg (which need not outlive it). seed keys the
 * hashes (peer table, source counting): random, per process. 0, -EINVAL
 * (a value peers_new refuses) or -ENOMEM. */
int traffic_new(const struct config *cfg, uint64_t seed,
    struct traffic **ret_traffic);
void traffic_free(struct traffic *t);

/* Take a new config's thresholds, actions and lists. The peer table and
 * all state stay unless [daemon] max_peers or [portscan] window changed:
 * then a new, empty table replaces it and this returns 1. 0 or 1; on
 * -ENOMEM nothing changed. */
int traffic_reconfigure(struct traffic *t, const struct config *cfg);

/* The host's own addresses (localaddr_list()), replacing the last set:
 * never alerted for, and what tells inbound from outbound when the
 * capture does not (pkt.dir unknown: to a local address is inbound, from
 * one outbound). Loopback is always local. 0 or -ENOMEM (the old set
 * stays). */
int traffic_set_local(struct traffic *t, const struct addr *addrs, size_t n);

/* Where the route back to a source leaves: the host's routes (not
 * loopback's), each with its interface index. A probe that came in on
 * another interface than the route back to its source uses was likely
 * sent by someone else in that source's name (what the kernel's strict
 * reverse-path filter drops, and `fib saddr . iif oif missing` matches):
 * its alert says spoof_suspected ("ingress"), and it is never banned
 * automatically. Only when the routes leave by two interfaces or more,
 * and only for packets whose interface the capture gives (cooked
 * captures, `interfaces = any`). A prefix routed over several
 * interfaces checks nothing. Replaces the last set; 0 or -ENOMEM (the
 * old set stays). */
struct traffic_route {
	struct cidr net;
	uint32_t ifindex;
};

int traffic_set_routes(struct traffic *t, const struct traffic_route *v,
    size_t n);

/* One decoded packet seen at now_ms (any monotonic millisecond clock, or
 * the capture's timestamps on replay; earlier than a time already seen
 * counts as that time). port_open may be NULL (offline: a port then
 * counts as listening once the host answered a SYN on it). Alerts go to
 * alert_fn before this returns. */
void traffic_packet(struct traffic *t, const struct pkt *p, int64_t now_ms,
    traffic_port_open_fn port_open, void *port_arg,
    traffic_alert_fn alert_fn, void *alert_arg);

/* A short queue of decoded packets in front of traffic_packet, for a
 * caller that has several at once (a capture batch). While a packet
 * waits, its peer's entry is loaded into the cache (peers_prefetch, in
 * three steps TRAFFIC_AHEAD packets apart), so the table's cache misses
 * overlap instead of stalling each packet in turn (docs/benchmarks.md,
 * sections 3 and 4). Packets come out in the order they went in, each with its
 * own time: feed them to traffic_packet as they come out and every
 * result is as without the queue. Use: decode into traffic_queue_slot();
 * traffic_queue_push(); handle what it returns, if anything; at the end
 * of the batch, handle what traffic_queue_pop() returns until NULL. The
 * host's addresses (traffic_set_local) must not change while packets
 * wait: push sets an unknown direction from them. Caller-owned, no
 * allocation; zero it (or pop it empty) before use. */
#define TRAFFIC_AHEAD	4
#define TRAFFIC_QUEUE	16		/* > 3 * TRAFFIC_AHEAD, power of 2 */

struct traffic_queue {
	struct {
		struct pkt p;
		int64_t now_ms;
		uint64_t hint;		/* the peer's hash, for prefetching */
	} q[TRAFFIC_QUEUE];
	uint64_t nin, nout;
};

/* Where to decode the next packet. */
struct pkt *traffic_queue_slot(struct traffic_queue *q);
/* Queue the packet decoded into the slot, at now_ms. Returns the oldest
 * packet once 3 * TRAFFIC_AHEAD wait (*ret_now_ms its time), else NULL.
 * It stays valid until the next push. */
const struct pkt *traffic_queue_push(const struct traffic *t,
    struct traffic_queue *q, int64_t now_ms, int64_t *ret_now_ms);
/* The oldest waiting packet, or NULL when none waits. */
const struct pkt *traffic_queue_pop(struct traffic_queue *q,
    int64_t *ret_now_ms);

/* About once a second. SYN rates are counted per listening port and
 * calendar second of now_ms. When a port passes the rate with fewer than
 * a quarter of its handshakes completed, each source that alone sent
 * more than rate/8 SYNs (and completed few) is alerted for at once; if
 * those sources sent less than half the SYNs, the rest came from many
 * (likely spoofed) sources, and one alert without a peer is raised for
 * the port when its second ends, with the whole second's numbers. That
 * end is noticed by the first packet or tick of a later second; the tick
 * makes sure it comes when the traffic stops. It also forgets listeners
 * idle for a window. */
void traffic_tick(struct traffic *t, int64_t now_ms,
    traffic_alert_fn alert_fn, void *alert_arg);

void traffic_counters(const struct traffic *t,
    struct traffic_counters *ret_counters);

/* The peer table, for `sockwatch peers` (peers_top, peers_stats). Valid
 * until the next traffic_reconfigure or traffic_free. */
const struct peers *traffic_peers(const struct traffic *t);
/* TRAFFIC_PEER_* for a peer of that table, as of the current lists. */
unsigned int traffic_peer_flags(const struct traffic *t,
    const struct peer *p);

/* "portscan", "synflood", "bruteforce", "denylist"; "?" otherwise. */
const char *traffic_kind_name(enum traffic_kind k);

/* Bytes allocated: the peer table, prefix sets, listener and login
 * tables. */
size_t traffic_memory(const struct traffic *t);

#endif
