/* A set of IPv4 and IPv6 CIDR prefixes with longest-prefix-match lookup,
 * for deny and allow lists and the host's own addresses.
 *
 * Prefixes are added, then built once into sorted disjoint intervals,
 * each labelled with the most specific prefix covering it; a lookup is a
 * binary search (about 17 steps for 100,000 prefixes), adding and
 * building 100,000 prefixes takes milliseconds. Memory is about 80 bytes
 * per prefix. An IPv6 prefix inside ::ffff:0:0/96 (IPv4-mapped) is stored
 * as the IPv4 prefix it means, and an IPv4-mapped address looks up as the
 * IPv4 address it carries, as the kernel treats such a peer. No globals,
 * no I/O. */
#ifndef SW_PREFIXSET_H
#define SW_PREFIXSET_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/addr.h"

struct prefixset;

/* An empty set: contains nothing until built. 0 or -ENOMEM. */
int prefixset_new(struct prefixset **ret_set);
void prefixset_free(struct prefixset *s);

/* Add one prefix (host bits below len are ignored). Duplicates are kept
 * once. Lookups see it after the next prefixset_build. 0, -EINVAL (not
 * AF_INET/AF_INET6, or len too long) or -ENOMEM. */
int prefixset_add(struct prefixset *s, const struct cidr *c);
/* Add n prefixes; stops at the first error. */
int prefixset_add_many(struct prefixset *s, const struct cidr *c, size_t n);

/* Make every prefix added so far visible to lookups. Can be called again
 * after more adds. 0 or -ENOMEM (the set then keeps its last build). */
int prefixset_build(struct prefixset *s);

/* Is a inside a prefix of the set (as of the last build)? ret_match (may
 * be NULL) gets the longest matching prefix. */
bool prefixset_contains(const struct prefixset *s, const struct addr *a,
    struct cidr *ret_match);

/* Distinct prefixes as of the last build. */
size_t prefixset_count(const struct prefixset *s);
/* Bytes allocated, for metrics. */
size_t prefixset_memory(const struct prefixset *s);

#endif
