/* The JSON form of a peer (sockwatch peers, sockwatch analyze). */
#ifndef SW_PEERJSON_H
#define SW_PEERJSON_H

#include <jansson.h>

#include "../monitor/peers.h"

/* Keys: addr, first_seen_ms, last_seen_ms (the table's clock), packets_in,
 * packets_out, bytes_in, bytes_out, syns, synacks, rsts, udp_closed,
 * icmp_unreach, ports, ports_exact, hosts, kinds [names], sample_ports,
 * and flags (denied, allowed, local) when flags is not NULL. */
json_t *peerjson_encode(const struct peers *t, const struct peer *p,
    int64_t now_ms, unsigned int flags);

/* The n top peers by sort as a JSON array. */
json_t *peerjson_top(const struct peers *t, int64_t now_ms,
    enum peers_sort by, size_t n, unsigned int (*flags_fn)(const void *,
    const struct peer *), const void *flags_arg);

#endif
