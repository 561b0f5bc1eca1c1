/* The host's gateways and resolvers (infra.h). The route files are the
 * kernel's (/proc/net/route: hex, host byte order; ipv6_route: 32 hex
 * digits per address); resolv.conf is the administrator's, read as the C
 * library reads it: "nameserver ADDR" lines. */
#include "infra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFRA_MAX	256		/* entries kept at most */

struct infra_list {
	struct infra_entry *v;
	size_t n, cap;
};

const char *
infra_kind_name(enum infra_kind k)
{
	switch (k) {
	case INFRA_GATEWAY:
		return "a default gateway";
	case INFRA_RESOLVER:
		return "a resolver in resolv.conf";
	case INFRA_LINK_LOCAL:
		return "link-local";
	}
	return "infrastructure";
}

static int
infra_add(struct infra_list *l, const struct cidr *c, enum infra_kind k)
{
	struct infra_entry *v;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_compare(&l->v[i].net, c) == 0)
			return 0;
	if (l->n == INFRA_MAX)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		l->v = v;
	}
	l->v[l->n].net = *c;
	l->v[l->n].kind = k;
	l->n++;
	return 0;
}

static int
infra_add_host(struct infra_list *l, const struct addr *a, enum infra_kind k)
{
	struct cidr c = { .addr = *a, .len = a->family == AF_INET ? 32 : 128 };

	if (!addr_is_unicast(a) || addr_is_loopback(a))
		return 0;
	return infra_add(l, &c, k);
}

/* Each line of path to fn, until it fails. A file that is not there
 * adds nothing. */
static int
infra_lines(void *l, const char *path, int (*fn)(void *, const char *))
{
	char line[512];
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (r == 0 && fgets(line, sizeof(line), f) != NULL)
		r = fn(l, line);
	fclose(f);
	return r;
}

/* "Iface Destination Gateway Flags ...": a default route (destination
 * 0) through a gateway (RTF_GATEWAY, 0x2). */
static int
infra_route4(void *l, const char *line)
{
	unsigned int dst, gw, flags;
	char ifname[64];
	struct addr a;

	if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) != 4 ||
	    dst != 0 || gw == 0 || !(flags & 0x2))
		return 0;
	addr_from_raw(&a, AF_INET, &gw);
	return infra_add_host(l, &a, INFRA_GATEWAY);
}

static bool
hex16(const char *s, uint8_t out[16])
{
	unsigned int b;
	int i;

	if (strlen(s) != 32)
		return false;
	for (i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	return true;
}

/* "DST DSTLEN SRC SRCLEN NEXTHOP METRIC ...": ::/0 through a next hop. */
static int
infra_route6(void *l, const char *line)
{
	char dst[40], src[40], hop[40];
	unsigned int dlen, slen;
	uint8_t d[16], h[16];
	struct addr a;

	if (sscanf(line, "%39s %x %39s %x %39s", dst, &dlen, src, &slen,
	    hop) != 5 || dlen != 0 || !hex16(dst, d) || !hex16(hop, h))
		return 0;
	addr_from_raw(&a, AF_INET6, h);
	return infra_add_host(l, &a, INFRA_GATEWAY);
}

/* "nameserver ADDR", as the C library reads resolv.conf. */
static int
infra_resolv(void *l, const char *line)
{
	char word[32], val[128], *pct;
	struct addr a;

	if (sscanf(line, " %31s %127s", word, val) != 2 ||
	    strcmp(word, "nameserver") != 0)
		return 0;
	if ((pct = strchr(val, '%')) != NULL)
		*pct = '\0';	/* fe80::1%eth0 */
	if (addr_parse(val, &a) < 0)
		return 0;
	return infra_add_host(l, &a, INFRA_RESOLVER);
}

int
infra_list(const struct infra_paths *paths, struct infra_entry **ret,
    size_t *ret_n)
{
	struct infra_list l = { 0 };
	struct cidr c;
	int r;

	if ((r = cidr_parse("169.254.0.0/16", &c)) < 0 ||
	    (r = infra_add(&l, &c, INFRA_LINK_LOCAL)) < 0 ||
	    (r = cidr_parse("fe80::/10", &c)) < 0 ||
	    (r = infra_add(&l, &c, INFRA_LINK_LOCAL)) < 0 ||
	    (r = infra_lines(&l, paths->route, infra_route4)) < 0 ||
	    (r = infra_lines(&l, paths->route6, infra_route6)) < 0 ||
	    (r = infra_lines(&l, paths->resolv, infra_resolv)) < 0) {
		free(l.v);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

/* ---- the routes, for the ingress check ----------------------------------- */

struct route_list {
	struct infra_route *v;
	size_t n, cap;
};

static int
route_add(struct route_list *l, const struct addr *dst, unsigned int len,
    const char *ifname)
{
	struct infra_route *v;

	if (strcmp(ifname, "lo") == 0 || strlen(ifname) >= sizeof(v->ifname) ||
	    l->n == INFRA_ROUTES_MAX)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		l->v = v;
	}
	v = &l->v[l->n++];
	memset(v, 0, sizeof(*v));
	v->net.addr = *dst;		/* the kernel's: host bits zero */
	v->net.len = len;
	memcpy(v->ifname, ifname, strlen(ifname) + 1);
	return 0;
}

/* "Iface Destination Gateway Flags RefCnt Use Metric Mask ...": a route
 * that is up (RTF_UP, 0x1). */
static int
route4_line(void *l, const char *line)
{
	unsigned int dst, gw, flags, refcnt, use, metric, mask, len;
	char ifname[64];
	struct addr a;

	if (sscanf(line, "%63s %x %x %x %u %u %u %x", ifname, &dst, &gw,
	    &flags, &refcnt, &use, &metric, &mask) != 8 || !(flags & 0x1))
		return 0;
	len = (unsigned int)__builtin_popcount(mask);
	addr_from_raw(&a, AF_INET, &dst);
	return route_add(l, &a, len, ifname);
}

/* "DST DSTLEN SRC SRCLEN NEXTHOP METRIC REFCNT USE FLAGS IFACE". */
static int
route6_line(void *l, const char *line)
{
	char dst[40], src[40], hop[40], ifname[64];
	unsigned int dlen, slen, metric, refcnt, use, flags;
	uint8_t d[16];
	struct addr a;

	if (sscanf(line, "%39s %x %39s %x %39s %x %x %x %x %63s", dst, &dlen,
	    src, &slen, hop, &metric, &refcnt, &use, &flags, ifname) != 10 ||
	    !hex16(dst, d) || dlen > 128 || !(flags & 0x1))
		return 0;
	addr_from_raw(&a, AF_INET6, d);
	if (!addr_is_unicast(&a) && dlen > 0)
		return 0;		/* multicast: on every interface */
	return route_add(l, &a, dlen, ifname);
}

int
infra_routes(const struct infra_paths *paths, struct infra_route **ret,
    size_t *ret_n)
{
	struct route_list l = { 0 };
	int r;

	if ((r = infra_lines(&l, paths->route, route4_line)) < 0 ||
	    (r = infra_lines(&l, paths->route6, route6_line)) < 0) {
		free(l.v);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}
