/* The host's own addresses (getifaddrs), to tell inbound from outbound
 * packets when the capture does not say. */
#ifndef SW_LOCALADDR_H
#define SW_LOCALADDR_H

#include <stddef.h>

#include "../common/addr.h"

/* Every IPv4 and IPv6 address on an interface of this network namespace.
 * *ret_addrs is malloc'd (free it). 0 or -errno. */
int localaddr_list(struct addr **ret_addrs, size_t *ret_n);

#endif
