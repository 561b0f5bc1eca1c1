#include "localaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int
localaddr_list(struct addr **ret_addrs, size_t *ret_n)
{
	struct ifaddrs *ifa, *i;
	struct addr *v;
	size_t n = 0, cap = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL && (i->ifa_addr->sa_family == AF_INET ||
		    i->ifa_addr->sa_family == AF_INET6))
			cap++;
	if ((v = calloc(cap ? cap : 1, sizeof(*v))) == NULL) {
		freeifaddrs(ifa);
		return -ENOMEM;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			addr_from_raw(&v[n++], AF_INET,
			    &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			addr_from_raw(&v[n++], AF_INET6,
			    &((struct sockaddr_in6 *)(void *)
			    i->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifa);
	*ret_addrs = v;
	*ret_n = n;
	return 0;
}
