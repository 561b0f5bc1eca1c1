#include "peerjson.h"

#include <stdlib.h>

#include "../policy/traffic.h"

json_t *
peerjson_encode(const struct peers *t, const struct peer *p, int64_t now_ms,
    unsigned int flags)
{
	struct peer_stats st;
	char buf[ADDR_STRLEN];
	json_t *j, *kinds, *samples;
	unsigned int k;

	peers_stats(t, p, now_ms, &st);
	kinds = json_array();
	samples = json_array();
	for (k = 0; k < PEER_KIND_COUNT; k++)
		if (st.kinds & (1U << k))
			json_array_append_new(kinds,
			    json_string(peers_kind_name(1U << k)));
	for (k = 0; k < st.nsamples; k++)
		json_array_append_new(samples, json_integer(st.sample[k]));
	j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:b, s:I, s:o, s:o, s:b, s:b, s:b}",
	    "addr", addr_format(&st.addr, buf, sizeof(buf)),
	    "first_seen_ms", (json_int_t)st.first_ms,
	    "last_seen_ms", (json_int_t)st.last_ms,
	    "packets_in", (json_int_t)st.pkts_in,
	    "packets_out", (json_int_t)st.pkts_out,
	    "bytes_in", (json_int_t)st.bytes_in,
	    "bytes_out", (json_int_t)st.bytes_out,
	    "syns", (json_int_t)st.syns,
	    "synacks", (json_int_t)st.synacks,
	    "rsts", (json_int_t)st.rsts,
	    "udp_closed", (json_int_t)st.udp_closed,
	    "icmp_unreach", (json_int_t)st.icmp_unreach,
	    "ports", (json_int_t)st.ports,
	    "ports_exact", st.ports_exact,
	    "hosts", (json_int_t)st.hosts,
	    "kinds", kinds,
	    "sample_ports", samples,
	    "denied", (flags & TRAFFIC_PEER_DENIED) != 0,
	    "allowed", (flags & TRAFFIC_PEER_ALLOWED) != 0,
	    "local", (flags & TRAFFIC_PEER_LOCAL) != 0);
	return j;
}

json_t *
peerjson_top(const struct peers *t, int64_t now_ms, enum peers_sort by,
    size_t n, unsigned int (*flags_fn)(const void *, const struct peer *),
    const void *flags_arg)
{
	const struct peer **top;
	json_t *arr;
	size_t i, got;

	if ((arr = json_array()) == NULL)
		return NULL;
	if (n == 0)
		return arr;
	if ((top = calloc(n, sizeof(*top))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	got = peers_top(t, now_ms, by, top, n);
	for (i = 0; i < got; i++)
		json_array_append_new(arr, peerjson_encode(t, top[i], now_ms,
		    flags_fn ? flags_fn(flags_arg, top[i]) : 0));
	free(top);
	return arr;
}
