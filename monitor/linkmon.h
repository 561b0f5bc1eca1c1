/* Interfaces coming and going: rtnetlink link events (RTNLGRP_LINK) on a
 * non-blocking socket for the event loop, and a one-shot query of an
 * interface by name for the first look and the slow poll that backs the
 * events up. No logging. */
#ifndef SW_LINKMON_H
#define SW_LINKMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct linkmon;

/* What the kernel says of one interface: its index (0 when it is gone)
 * and whether it is set up (IFF_UP). */
struct linkmon_event {
	char name[IF_NAMESIZE];
	int ifindex;
	bool up;			/* IFF_UP */
};

typedef void (*linkmon_cb)(void *arg, const struct linkmon_event *ev);

int linkmon_open(struct linkmon **ret);
void linkmon_close(struct linkmon *lm);
int linkmon_fd(const struct linkmon *lm);
/* Hand each link event waiting (up to max messages) to cb. 0, or -errno:
 * -ENOBUFS when the kernel dropped events (query every interface again). */
int linkmon_read(struct linkmon *lm, unsigned int max, linkmon_cb cb,
    void *arg);
/* The link messages in buf (as read from the socket): each RTM_NEWLINK
 * and RTM_DELLINK with a name to cb, the rest skipped. */
void linkmon_parse_buf(void *buf, size_t len, linkmon_cb cb, void *arg);
/* The interface named now; ret->ifindex is 0 when there is none. 0 or
 * -errno (not for a missing interface). */
int linkmon_query(const char *name, struct linkmon_event *ret);

#endif
