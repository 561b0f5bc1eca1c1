/* What the host cannot do without: its default gateways (the routing
 * table) and its resolvers (resolv.conf), and the link-local ranges.
 * An automatic ban of any of them would cut the host off; the daemon
 * never makes one. No logging; paths are parameters for the tests. */
#ifndef SW_INFRA_H
#define SW_INFRA_H

#include <stddef.h>

#include "../common/addr.h"

struct infra_paths {
	const char *route;		/* /proc/net/route */
	const char *route6;		/* /proc/net/ipv6_route */
	const char *resolv;		/* /etc/resolv.conf */
};

#define INFRA_PATHS_DEFAULT	{ "/proc/net/route", \
	"/proc/net/ipv6_route", "/etc/resolv.conf" }

/* Why an address is protected, for a message. */
enum infra_kind { INFRA_GATEWAY, INFRA_RESOLVER, INFRA_LINK_LOCAL };

struct infra_entry {
	struct cidr net;
	enum infra_kind kind;
};

/* Read the gateways and resolvers (a file that is missing or unreadable
 * adds nothing; its lines are checked, a bad one skipped) and add
 * 169.254.0.0/16 and fe80::/10. *ret is malloc'd. 0 or -ENOMEM. */
int infra_list(const struct infra_paths *paths, struct infra_entry **ret,
    size_t *ret_n);

const char *infra_kind_name(enum infra_kind k);

/* The routing table's routes that are up, but loopback's and multicast:
 * where the route back to a source leaves (the ingress check of
 * policy/traffic.h). At most INFRA_ROUTES_MAX; *ret is malloc'd. 0 or
 * -ENOMEM. */
#define INFRA_ROUTES_MAX	4096

struct infra_route {
	struct cidr net;
	char ifname[16];		/* IFNAMSIZ */
};

int infra_routes(const struct infra_paths *paths, struct infra_route **ret,
    size_t *ret_n);

#endif
