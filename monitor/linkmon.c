#include "linkmon.h"

#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#define LINKMON_BUFSIZE	(32 * 1024)	/* a link message is ~1.5 KiB */

struct linkmon {
	struct nl_sock *nl;
	unsigned char *buf;
};

int
linkmon_open(struct linkmon **ret)
{
	struct linkmon *lm;
	int r = -ENOMEM;

	if ((lm = calloc(1, sizeof(*lm))) == NULL)
		return -ENOMEM;
	if ((lm->buf = malloc(LINKMON_BUFSIZE)) == NULL ||
	    (lm->nl = nl_socket_alloc()) == NULL)
		goto fail;
	nl_socket_disable_seq_check(lm->nl);
	errno = 0;
	if (nl_connect(lm->nl, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_memberships(lm->nl, RTNLGRP_LINK, 0) < 0 ||
	    nl_socket_set_nonblocking(lm->nl) < 0) {
		r = errno != 0 ? -errno : -EPERM;
		goto fail;
	}
	*ret = lm;
	return 0;
fail:
	linkmon_close(lm);
	return r;
}

void
linkmon_close(struct linkmon *lm)
{
	if (lm == NULL)
		return;
	if (lm->nl != NULL)
		nl_socket_free(lm->nl);
	free(lm->buf);
	free(lm);
}

int
linkmon_fd(const struct linkmon *lm)
{
	return nl_socket_get_fd(lm->nl);
}

/* One RTM_NEWLINK or RTM_DELLINK, checked before it is read. */
static void
linkmon_parse(struct nlmsghdr *h, linkmon_cb cb, void *arg)
{
	static const struct nla_policy pol[IFLA_MAX + 1] = {
		[IFLA_IFNAME] = { .type = NLA_STRING, .maxlen = IF_NAMESIZE },
	};
	struct nlattr *tb[IFLA_MAX + 1];
	struct linkmon_event ev;
	struct ifinfomsg *ifi;

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    !nlmsg_valid_hdr(h, sizeof(*ifi)) ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, pol) < 0 ||
	    tb[IFLA_IFNAME] == NULL)
		return;
	ifi = nlmsg_data(h);
	memset(&ev, 0, sizeof(ev));
	nla_strlcpy(ev.name, tb[IFLA_IFNAME], sizeof(ev.name));
	/* A NEWLINK may be a rename: the index under its new name is
	 * all it says (the caller knows which name had it). */
	if (h->nlmsg_type == RTM_NEWLINK) {
		ev.ifindex = ifi->ifi_index;
		ev.up = (ifi->ifi_flags & IFF_UP) != 0;
	}
	cb(arg, &ev);
}

void
linkmon_parse_buf(void *buf, size_t len, linkmon_cb cb, void *arg)
{
	struct nlmsghdr *h;
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (h = buf; nlmsg_ok(h, left); h = nlmsg_next(h, &left))
		linkmon_parse(h, cb, arg);
}

int
linkmon_read(struct linkmon *lm, unsigned int max, linkmon_cb cb, void *arg)
{
	struct sockaddr_nl sa;
	socklen_t salen;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < max; i++) {
		salen = sizeof(sa);
		n = recvfrom(nl_socket_get_fd(lm->nl), lm->buf,
		    LINKMON_BUFSIZE, 0, (struct sockaddr *)&sa, &salen);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (sa.nl_pid != 0)
			continue;	/* only the kernel's */
		linkmon_parse_buf(lm->buf, (size_t)n, cb, arg);
	}
	return 0;
}

int
linkmon_query(const char *name, struct linkmon_event *ret)
{
	struct ifreq ifr;
	int fd, r = 0;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	if ((ret->ifindex = (int)if_nametoindex(name)) == 0)
		return errno == ENODEV || errno == ENXIO ? 0 : -errno;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		ret->up = (ifr.ifr_flags & IFF_UP) != 0;
	else if (errno == ENODEV)
		ret->ifindex = 0;	/* gone in between */
	else
		r = -errno;
	close(fd);
	return r;
}
