#include "bpfrec.h"

#include <errno.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "bpf/sockiter.h"

_Static_assert(sizeof(struct sockiter_inet) == 72, "record size");
_Static_assert(sizeof(struct sockiter_file) == 32, "record size");
_Static_assert(SOCKITER_COMM_LEN == PROC_COMM_MAX, "comm size");

const size_t bpfrec_inet_size = sizeof(struct sockiter_inet);
const size_t bpfrec_file_size = sizeof(struct sockiter_file);

/* One record into s (zeroed up to its path). 0 or -EBADMSG. */
static int
bpfrec_fill_inet(const unsigned char *rec, struct sock_info *s)
{
	struct sockiter_inet r;

	memcpy(&r, rec, sizeof(r));
	if ((r.family != AF_INET && r.family != AF_INET6) ||
	    (r.proto != IPPROTO_TCP && r.proto != IPPROTO_UDP))
		return -EBADMSG;
	s->family = r.family;
	s->proto = r.proto;
	s->state = r.state;
	s->type = r.proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	s->lport = r.lport;
	s->rport = r.rport;
	addr_from_raw(&s->laddr, r.family, r.laddr);
	addr_from_raw(&s->raddr, r.family, r.raddr);
	s->rq = r.rq;
	s->wq = r.wq;
	s->uid = r.uid;
	s->inode = r.inode;
	s->ifindex = r.ifindex;
	s->cookie = r.cookie;
	return 0;
}

int
bpfrec_inet(const void *buf, size_t len, const struct sockdiag_query *q,
    struct socklist *out)
{
	const unsigned char *p = buf;
	const size_t size = sizeof(struct sockiter_inet);
	struct sock_info *s;
	size_t i, n = len / size;
	int r;

	if (len % size != 0)
		return -EBADMSG;
	/* Room for all first: each record is then one store. */
	if ((r = socklist_reserve(out, out->n + n)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		s = &out->v[out->n];
		memset(s, 0, offsetof(struct sock_info, path));
		if ((r = bpfrec_fill_inet(p + i * size, s)) < 0)
			return r;
		if (sockdiag_match(q, s))
			out->n++;
	}
	return 0;
}

int
bpfrec_files(const void *buf, size_t len, struct procmap *pm)
{
	const unsigned char *p = buf;
	struct sockiter_file r;
	size_t i;
	int rc;

	if (len % sizeof(r) != 0)
		return -EBADMSG;
	for (i = 0; i < len / sizeof(r); i++) {
		memcpy(&r, p + i * sizeof(r), sizeof(r));
		if (r.pid <= 0 || r.fd < 0)
			return -EBADMSG;
		rc = procmap_add_fd(pm, r.inode, (pid_t)r.pid, r.fd, r.comm);
		if (rc < 0)
			return rc;
	}
	return 0;
}
