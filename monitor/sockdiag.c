#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <cap-ng.h>

#include "../common/util.h"

/* The kernel fills at most 32 KiB per dump skb; a larger buffer never
 * truncates and lets us read without MSG_PEEK. */
#define SOCKDIAG_BUFSIZE	(64 * 1024)
#define SOCKDIAG_RETRIES	8
#define SOCKDIAG_BC_MAX		128
/* SOCK_DESTROY requests per send. The kernel handles a send's requests
 * before the send returns and queues one ack each (about 1 KiB of receive
 * buffer apiece); 64 stay far below the default 208 KiB. */
#define SOCKDIAG_KILL_BATCH	64
#define SOCKDIAG_KILL_TIMEOUT	5	/* seconds to wait for an ack */

struct sockdiag {
	struct nl_sock *nl;
	unsigned char *buf;		/* SOCKDIAG_BUFSIZE, reused by every read */
	bool no_compat;			/* TCPDIAG_GETSOCK refused: two requests */
	int kill_fd;			/* SOCK_DESTROY socket, or -1 */
	uint32_t kill_seq;
	char err[256];
};

void
socklist_free(struct socklist *l)
{
	util_bigfree(l->v, l->cap * sizeof(*l->v));
	l->v = NULL;
	l->n = l->cap = 0;
}

int
socklist_reserve(struct socklist *l, size_t n)
{
	struct sock_info *v;
	size_t cap = l->cap ? l->cap : 1024;

	if (n <= l->cap)
		return 0;
	if (n > SIZE_MAX / 2 / sizeof(*v))
		return -ENOMEM;
	while (cap < n)
		cap *= 2;
	v = util_bigrealloc(l->v, l->cap * sizeof(*v), cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

static struct sock_info *
socklist_push(struct socklist *l)
{
	if (l->n == l->cap && socklist_reserve(l, l->n + 1) < 0)
		return NULL;
	return &l->v[l->n++];
}

/*
 * For root the kernel adds two attributes to every reply (the socket mark
 * and class id) that we never read; they cost 15% of a dump's kernel time
 * (measured at 100,000 sockets). It adds them when the socket's opener had
 * CAP_NET_ADMIN, so the socket is opened with it out of the effective set
 * for that one call. Without the capability there is nothing to do.
 */
static int
sockdiag_connect(struct sockdiag *sd)
{
	bool drop;
	int r;

	if ((sd->nl = nl_socket_alloc()) == NULL)
		return -ENOMEM;
	capng_clear(CAPNG_SELECT_BOTH);
	drop = capng_get_caps_process() == 0 &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) &&
	    capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, CAP_NET_ADMIN) == 0 &&
	    capng_apply(CAPNG_SELECT_CAPS) == 0;
	errno = 0;
	r = nl_connect(sd->nl, NETLINK_SOCK_DIAG);
	r = r < 0 ? (errno != 0 ? -errno : -EIO) : 0;
	if (drop && (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE,
	    CAP_NET_ADMIN) != 0 || capng_apply(CAPNG_SELECT_CAPS) != 0) &&
	    r == 0)
		r = -EPERM;	/* could not take the capability back */
	if (r < 0) {
		nl_socket_free(sd->nl);
		sd->nl = NULL;
		return r;
	}
	nl_socket_disable_msg_peek(sd->nl);
	nl_socket_set_msg_buf_size(sd->nl, SOCKDIAG_BUFSIZE);
	return 0;
}

int
sockdiag_open(struct sockdiag **ret_sd)
{
	struct sockdiag *sd;
	int r;

	if ((sd = calloc(1, sizeof(*sd))) == NULL)
		return -ENOMEM;
	sd->kill_fd = -1;
	if ((sd->buf = malloc(SOCKDIAG_BUFSIZE)) == NULL) {
		free(sd);
		return -ENOMEM;
	}
	if ((r = sockdiag_connect(sd)) < 0) {
		free(sd->buf);
		free(sd);
		return r;
	}
	*ret_sd = sd;
	return 0;
}

void
sockdiag_close(struct sockdiag *sd)
{
	if (sd == NULL)
		return;
	nl_socket_free(sd->nl);
	if (sd->kill_fd >= 0)
		close(sd->kill_fd);
	free(sd->buf);
	free(sd);
}

const char *
sockdiag_error(const struct sockdiag *sd)
{
	return sd->err[0] ? sd->err : "no error";
}

bool
sockdiag_match(const struct sockdiag_query *q, const struct sock_info *s)
{
	unsigned int proto;

	switch (s->proto) {
	case IPPROTO_TCP:
		proto = SOCKDIAG_TCP;
		break;
	case IPPROTO_UDP:
		proto = SOCKDIAG_UDP;
		break;
	default:
		proto = SOCKDIAG_UNIX;
		break;
	}
	if (!(q->protos & proto))
		return false;
	if (s->state > 31 || !(q->states & (1U << s->state)))
		return false;
	if (s->family == AF_UNIX)
		return q->port < 0 && !q->has_peer;
	if (!(q->families & (s->family == AF_INET ? SOCKDIAG_INET4 :
	    SOCKDIAG_INET6)))
		return false;
	if (q->port >= 0 && s->lport != q->port && s->rport != q->port)
		return false;
	if (q->has_peer && !cidr_contains(&q->peer, &s->raddr))
		return false;
	return true;
}

/*
 * Kernel-side filter: an AND of clauses. A condition that holds goes on to
 * the next clause (or the end: accept); the last one that fails jumps four
 * bytes past the end: reject. The kernel's audit only accepts a "no" target
 * that lies on the path of "yes" jumps, so an OR of two port tests routes
 * the first test's success through an unconditional JMP over the second:
 *
 *   0: S_EQ port  yes -> 8 (JMP)     no -> 12 (D_EQ)
 *   8: JMP                           no -> 20 (next clause)
 *  12: D_EQ port  yes -> 20          no -> reject
 */
#define BC_OP	sizeof(struct inet_diag_bc_op)
#define BC_PORT_CLAUSE	(5 * BC_OP)

static void
bc_put_op(uint8_t *bc, size_t off, uint8_t code, size_t yes, size_t no)
{
	struct inet_diag_bc_op op = {
		.code = code, .yes = (uint8_t)yes, .no = (uint16_t)no,
	};

	memcpy(bc + off, &op, sizeof(op));
}

static size_t
sockdiag_bytecode(const struct sockdiag_query *q, uint8_t *bc)
{
	struct inet_diag_bc_op portop;
	struct inet_diag_hostcond hc;
	size_t off = 0, total, alen = 0, condlen = 0;

	if (q->port >= 0)
		off += BC_PORT_CLAUSE;
	if (q->has_peer) {
		alen = q->peer.addr.family == AF_INET ? 4 : 16;
		condlen = BC_OP + sizeof(hc) + alen;
		off += condlen;
	}
	total = off;
	if (total == 0 || total > SOCKDIAG_BC_MAX)
		return 0;

	off = 0;
	if (q->port >= 0) {
		memset(&portop, 0, sizeof(portop));
		portop.no = (uint16_t)q->port;
		bc_put_op(bc, off, INET_DIAG_BC_S_EQ, 2 * BC_OP, 3 * BC_OP);
		memcpy(bc + off + BC_OP, &portop, sizeof(portop));
		bc_put_op(bc, off + 2 * BC_OP, INET_DIAG_BC_JMP, BC_OP,
		    3 * BC_OP);
		bc_put_op(bc, off + 3 * BC_OP, INET_DIAG_BC_D_EQ, 2 * BC_OP,
		    total + BC_OP - (off + 3 * BC_OP));
		memcpy(bc + off + 4 * BC_OP, &portop, sizeof(portop));
		off += BC_PORT_CLAUSE;
	}
	if (q->has_peer) {
		bc_put_op(bc, off, INET_DIAG_BC_D_COND, condlen,
		    total + BC_OP - off);
		memset(&hc, 0, sizeof(hc));
		hc.family = (uint8_t)q->peer.addr.family;
		hc.prefix_len = (uint8_t)q->peer.len;
		hc.port = -1;
		memcpy(bc + off + BC_OP, &hc, sizeof(hc));
		memcpy(bc + off + BC_OP + sizeof(hc), q->peer.addr.u.bytes,
		    alen);
		off += condlen;
	}
	return total;
}

static int
sockdiag_request(struct sockdiag *sd, uint8_t family, uint8_t proto,
    const struct sockdiag_query *q, uint32_t *ret_seq)
{
	struct inet_diag_req_v2 ireq;
	struct inet_diag_req creq;
	struct unix_diag_req ureq;
	uint8_t bc[SOCKDIAG_BC_MAX];
	struct nl_msg *msg;
	size_t bclen;
	int r;

	/* family 0: TCP over IPv4 and IPv6 in one walk of the established
	 * hash (the inet_diag compat request dumps with AF_UNSPEC); two
	 * SOCK_DIAG_BY_FAMILY requests would walk it twice. */
	msg = nlmsg_alloc_simple(family == AF_UNSPEC ? TCPDIAG_GETSOCK :
	    SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
	if (msg == NULL)
		return -ENOMEM;
	if (family == AF_UNSPEC) {
		memset(&creq, 0, sizeof(creq));
		creq.idiag_family = AF_INET;	/* the kernel dumps AF_UNSPEC */
		creq.idiag_states = q->states;
		r = nlmsg_append(msg, &creq, sizeof(creq), NLMSG_ALIGNTO);
		bclen = sockdiag_bytecode(q, bc);
		if (r == 0 && bclen > 0)
			r = nla_put(msg, INET_DIAG_REQ_BYTECODE, (int)bclen,
			    bc);
	} else if (family == AF_UNIX) {
		memset(&ureq, 0, sizeof(ureq));
		ureq.sdiag_family = AF_UNIX;
		ureq.udiag_states = q->states;
		ureq.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER |
		    UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
		r = nlmsg_append(msg, &ureq, sizeof(ureq), NLMSG_ALIGNTO);
	} else {
		memset(&ireq, 0, sizeof(ireq));
		ireq.sdiag_family = family;
		ireq.sdiag_protocol = proto;
		ireq.idiag_states = q->states;
		r = nlmsg_append(msg, &ireq, sizeof(ireq), NLMSG_ALIGNTO);
		bclen = sockdiag_bytecode(q, bc);
		if (r == 0 && bclen > 0)
			r = nla_put(msg, INET_DIAG_REQ_BYTECODE, (int)bclen,
			    bc);
	}
	if (r < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = nl_send_auto(sd->nl, msg);
	*ret_seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	return r < 0 ? -EIO : 0;
}

/* One pass over the attributes after a fixed header of hdrlen bytes: each
 * must fit in the message (trailing bytes that cannot hold one are
 * malformed too), and tb[type] gets the last of each known type whose
 * payload is at least minlen[type] bytes (else -EBADMSG). */
static int
sockdiag_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
    const struct nlattr **tb, int maxtype, const uint8_t *minlen)
{
	const unsigned char *p, *end;
	const struct nlattr *a;
	int type;

	memset(tb, 0, (size_t)(maxtype + 1) * sizeof(*tb));
	p = (const unsigned char *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);
	end = (const unsigned char *)nlh + nlh->nlmsg_len;
	while (p < end) {
		a = (const struct nlattr *)p;
		if (end - p < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
		    a->nla_len > end - p)
			return -EBADMSG;
		type = a->nla_type & NLA_TYPE_MASK;
		if (type <= maxtype) {
			if (a->nla_len - NLA_HDRLEN < minlen[type])
				return -EBADMSG;
			tb[type] = a;
		}
		p += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

static const uint8_t inet_minlen[INET_DIAG_MAX + 1] = {
	[INET_DIAG_PROTOCOL] = 1,
};

static int
sockdiag_parse_inet(struct nlmsghdr *nlh, uint8_t proto, struct sock_info *s)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	if (sockdiag_attrs(nlh, sizeof(*m), tb, INET_DIAG_MAX,
	    inet_minlen) < 0)
		return -EBADMSG;
	m = nlmsg_data(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;
	/* Destroy notifications say which protocol they are about. */
	if (tb[INET_DIAG_PROTOCOL] != NULL) {
		proto = *(const uint8_t *)nla_data((struct nlattr *)tb[INET_DIAG_PROTOCOL]);
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return -EBADMSG;
	}
	memset(s, 0, offsetof(struct sock_info, path));
	s->family = m->idiag_family;
	s->proto = proto;
	s->state = m->idiag_state;
	s->type = proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	addr_from_raw(&s->laddr, s->family, m->id.idiag_src);
	addr_from_raw(&s->raddr, s->family, m->id.idiag_dst);
	s->rq = m->idiag_rqueue;
	s->wq = m->idiag_wqueue;
	s->uid = m->idiag_uid;
	s->inode = m->idiag_inode;
	s->ifindex = m->id.idiag_if;
	s->cookie = (uint64_t)m->id.idiag_cookie[0] |
	    (uint64_t)m->id.idiag_cookie[1] << 32;
	return 0;
}

static const uint8_t unix_minlen[UNIX_DIAG_MAX + 1] = {
	[UNIX_DIAG_PEER] = sizeof(uint32_t),
	[UNIX_DIAG_RQLEN] = sizeof(struct unix_diag_rqlen),
	[UNIX_DIAG_UID] = sizeof(uint32_t),
};

static int
sockdiag_parse_unix(struct nlmsghdr *nlh, struct sock_info *s)
{
	const struct nlattr *tb[UNIX_DIAG_MAX + 1];
	const struct unix_diag_msg *m;
	struct unix_diag_rqlen rql;
	uint32_t u;
	int len;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	if (sockdiag_attrs(nlh, sizeof(*m), tb, UNIX_DIAG_MAX,
	    unix_minlen) < 0)
		return -EBADMSG;
	m = nlmsg_data(nlh);
	if (m->udiag_family != AF_UNIX)
		return -EBADMSG;
	memset(s, 0, offsetof(struct sock_info, path));
	s->family = AF_UNIX;
	s->state = m->udiag_state;
	s->type = m->udiag_type;
	s->inode = m->udiag_ino;
	s->cookie = (uint64_t)m->udiag_cookie[0] |
	    (uint64_t)m->udiag_cookie[1] << 32;
	if (tb[UNIX_DIAG_NAME] != NULL) {
		len = tb[UNIX_DIAG_NAME]->nla_len - NLA_HDRLEN;
		if (len < 0 || (size_t)len > SOCKDIAG_PATH_MAX)
			return -EBADMSG;
		memcpy(s->path, nla_data((struct nlattr *)tb[UNIX_DIAG_NAME]), (size_t)len);
		s->path_len = (uint8_t)len;
	}
	if (tb[UNIX_DIAG_PEER] != NULL)
		memcpy(&s->peer_inode, nla_data((struct nlattr *)tb[UNIX_DIAG_PEER]),
		    sizeof(s->peer_inode));
	if (tb[UNIX_DIAG_RQLEN] != NULL) {
		memcpy(&rql, nla_data((struct nlattr *)tb[UNIX_DIAG_RQLEN]), sizeof(rql));
		s->rq = rql.udiag_rqueue;
		s->wq = rql.udiag_wqueue;
	}
	if (tb[UNIX_DIAG_UID] != NULL) {
		memcpy(&u, nla_data((struct nlattr *)tb[UNIX_DIAG_UID]), sizeof(u));
		s->uid = u;
	}
	return 0;
}

int
sockdiag_parse(const void *buf, size_t len, uint8_t proto,
    const struct sockdiag_query *q, struct socklist *out, bool *ret_done,
    bool *ret_intr)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	const struct nlmsgerr *e;
	struct sock_info *s;
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;
	int r, err;

	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*ret_intr = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			/* sock_diag puts an int status after the header. */
			if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
				memcpy(&err, nlmsg_data(nlh), sizeof(err));
				if (err < 0)
					return err >= -4095 ? err : -EPROTO;
			}
			*ret_done = true;
			return 0;
		case NLMSG_ERROR:
			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			e = nlmsg_data(nlh);
			return e->error < 0 && e->error >= -4095 ? e->error :
			    -EPROTO;
		case NLMSG_NOOP:
			continue;
		case SOCK_DIAG_BY_FAMILY:
			break;
		case TCPDIAG_GETSOCK:	/* replies to the compat request */
			if (proto == IPPROTO_TCP)
				break;
			return -EBADMSG;
		default:
			return -EBADMSG;
		}
		s = socklist_push(out);
		if (s == NULL)
			return -ENOMEM;
		if (proto == 0)
			r = sockdiag_parse_unix(nlh, s);
		else
			r = sockdiag_parse_inet(nlh, proto, s);
		if (r < 0) {
			out->n--;
			return r;
		}
		if (!sockdiag_match(q, s))
			out->n--;
	}
	/* Bytes left over that do not form a whole message. */
	if (rem != 0)
		return -EBADMSG;
	return 0;
}

/* One request, read to NLMSG_DONE. */
static int
sockdiag_dump_one(struct sockdiag *sd, uint8_t family, uint8_t proto,
    const struct sockdiag_query *q, struct socklist *out, bool *ret_intr)
{
	struct sockaddr_nl nla;
	struct iovec iov = { sd->buf, SOCKDIAG_BUFSIZE };
	struct msghdr mh = {
		.msg_name = &nla, .msg_namelen = sizeof(nla),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	bool done = false;
	uint32_t seq;
	ssize_t n;
	int fd, r;

	r = sockdiag_request(sd, family, proto, q, &seq);
	if (r < 0)
		return r;
	fd = nl_socket_get_fd(sd->nl);
	while (!done) {
		mh.msg_namelen = sizeof(nla);
		n = recvmsg(fd, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -EIO;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (nla.nl_pid != 0)
			continue;	/* not from the kernel: ignore */
		if ((size_t)n >= sizeof(struct nlmsghdr) &&
		    ((struct nlmsghdr *)sd->buf)->nlmsg_seq != seq)
			continue;
		r = sockdiag_parse(sd->buf, (size_t)n, proto, q, out, &done,
		    ret_intr);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *
sockdiag_what(uint8_t family, uint8_t proto)
{
	if (family == AF_UNIX)
		return "unix";
	if (family == AF_UNSPEC)
		return "tcp";
	if (proto == IPPROTO_TCP)
		return family == AF_INET ? "tcp/inet" : "tcp/inet6";
	return family == AF_INET ? "udp/inet" : "udp/inet6";
}

int
sockdiag_dump(struct sockdiag *sd, const struct sockdiag_query *q,
    struct socklist *out)
{
	static const struct {
		uint8_t family, proto;
		unsigned int pbit, fbit;
	} reqs[] = {
		{ AF_UNSPEC, IPPROTO_TCP, SOCKDIAG_TCP,
		    SOCKDIAG_INET4 | SOCKDIAG_INET6 },
		{ AF_INET, IPPROTO_TCP, SOCKDIAG_TCP, SOCKDIAG_INET4 },
		{ AF_INET6, IPPROTO_TCP, SOCKDIAG_TCP, SOCKDIAG_INET6 },
		{ AF_INET, IPPROTO_UDP, SOCKDIAG_UDP, SOCKDIAG_INET4 },
		{ AF_INET6, IPPROTO_UDP, SOCKDIAG_UDP, SOCKDIAG_INET6 },
		{ AF_UNIX, 0, SOCKDIAG_UNIX, 0 },
	};
	size_t start = out->n, i, before;
	bool intr;
	int r = 0, tries;

	sd->err[0] = '\0';
	if (sd->nl == NULL && (r = sockdiag_connect(sd)) < 0) {
		snprintf(sd->err, sizeof(sd->err), "cannot open a sock_diag "
		    "socket: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (!(q->protos & reqs[i].pbit))
			continue;
		if (reqs[i].fbit != 0 && !(q->families & reqs[i].fbit))
			continue;
		/* Both TCP families: one compat request when it works. */
		if (reqs[i].family == AF_UNSPEC && (sd->no_compat ||
		    (q->families & reqs[i].fbit) != reqs[i].fbit))
			continue;
		if (reqs[i].family != AF_UNSPEC && reqs[i].family != AF_UNIX &&
		    reqs[i].proto == IPPROTO_TCP && !sd->no_compat &&
		    (q->families & (SOCKDIAG_INET4 | SOCKDIAG_INET6)) ==
		    (SOCKDIAG_INET4 | SOCKDIAG_INET6))
			continue;
		if (reqs[i].family == AF_UNIX && (q->port >= 0 || q->has_peer))
			continue;
		/* An IPv6 peer never shows up on an IPv4 socket. */
		if (reqs[i].family == AF_INET && q->has_peer &&
		    q->peer.addr.family == AF_INET6)
			continue;
		for (tries = 0;; tries++) {
			before = out->n;
			intr = false;
			r = sockdiag_dump_one(sd, reqs[i].family,
			    reqs[i].proto, q, out, &intr);
			if (r < 0 && r != -EIO && r != -EPIPE &&
			    reqs[i].family == AF_UNSPEC) {
				/* No compat request in this kernel: fall back
				 * to one request per family from now on. */
				sd->no_compat = true;
				out->n = before;
				break;
			}
			if (r < 0 || !intr)
				break;
			out->n = before;
			if (tries + 1 >= SOCKDIAG_RETRIES) {
				r = -EAGAIN;
				break;
			}
		}
		if (r < 0 && reqs[i].family == AF_UNSPEC && sd->no_compat) {
			r = 0;		/* the next two entries do it */
			continue;
		}
		if (r < 0) {
			snprintf(sd->err, sizeof(sd->err),
			    "sock_diag dump of %s sockets failed: %s%s",
			    sockdiag_what(reqs[i].family, reqs[i].proto),
			    r == -EAGAIN ? "kept being interrupted, " : "",
			    strerror(-r));
			out->n = start;
			/* A failed request leaves the socket mid-dump. */
			nl_socket_free(sd->nl);
			if (sockdiag_connect(sd) < 0)
				sd->nl = NULL;
			return r;
		}
	}
	return 0;
}

/*
 * Teardown of a peer's connections, as `ss -K` does it: dump the peer's
 * sockets, then one SOCK_DESTROY per socket, naming it as the dump did
 * (addresses, ports, interface, cookie; the cookie keeps a socket that
 * reused the same addresses and ports meanwhile safe).
 */
int
sockdiag_destroy_msg(const struct sock_info *s, uint32_t seq, void *buf,
    size_t len)
{
	struct inet_diag_req_v2 req;
	struct nlmsghdr nlh;
	size_t alen;

	if ((s->family != AF_INET && s->family != AF_INET6) ||
	    (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
		return -EINVAL;
	if (len < NLMSG_SPACE(sizeof(req)))
		return -ENOBUFS;
	alen = s->family == AF_INET ? 4 : 16;
	memset(&nlh, 0, sizeof(nlh));
	nlh.nlmsg_len = NLMSG_LENGTH(sizeof(req));
	nlh.nlmsg_type = SOCK_DESTROY;
	nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh.nlmsg_seq = seq;
	memset(&req, 0, sizeof(req));
	req.sdiag_family = s->family;
	req.sdiag_protocol = s->proto;
	req.id.idiag_sport = htons(s->lport);
	req.id.idiag_dport = htons(s->rport);
	memcpy(req.id.idiag_src, s->laddr.u.bytes, alen);
	memcpy(req.id.idiag_dst, s->raddr.u.bytes, alen);
	req.id.idiag_if = s->ifindex;
	req.id.idiag_cookie[0] = (uint32_t)s->cookie;
	req.id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
	memset(buf, 0, NLMSG_SPACE(sizeof(req)));
	memcpy(buf, &nlh, sizeof(nlh));
	memcpy((unsigned char *)buf + NLMSG_HDRLEN, &req, sizeof(req));
	return (int)NLMSG_SPACE(sizeof(req));
}

/*
 * The socket SOCK_DESTROY goes over: a second, raw one, so requests go
 * out in batches with their acks matched by sequence number, and a failed
 * batch is dropped with its socket without touching the dump socket. It
 * is opened as the caller is (CAP_NET_ADMIN in effect, unlike the dump
 * socket), though the kernel (6.18) checks CAP_NET_ADMIN of the task that
 * sends each request (sock_diag_destroy: ns_capable), not of the opener:
 * the capability must be in effect at every call.
 */
static int
sockdiag_kill_open(struct sockdiag *sd)
{
	struct timeval tv = { .tv_sec = SOCKDIAG_KILL_TIMEOUT };
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	/* A refusal need not echo the request: its sequence names it. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* The kernel acks before send() returns; this is only a backstop. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return -errno;
	}
	sd->kill_fd = fd;
	return 0;
}

static void
sockdiag_kill_reset(struct sockdiag *sd)
{
	if (sd->kill_fd >= 0)
		close(sd->kill_fd);
	sd->kill_fd = -1;
}

/*
 * Send the requests for v[0 .. n) (n <= SOCKDIAG_KILL_BATCH) in one
 * datagram and collect one ack each: errs[k] becomes 0 or the kernel's
 * -errno, or stays 1 if no ack came (then the return value says why).
 */
static int
sockdiag_kill_batch(struct sockdiag *sd, const struct sock_info *v,
    size_t n, int *errs)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const struct nlmsgerr *e;
	struct nlmsghdr *nlh;
	uint64_t want, got = 0;
	uint32_t base = sd->kill_seq, k;
	size_t i, off = 0;
	socklen_t salen;
	ssize_t sn;
	int r, rem;

	for (i = 0; i < n; i++) {
		errs[i] = 1;
		r = sockdiag_destroy_msg(&v[i], base + (uint32_t)i,
		    sd->buf + off, SOCKDIAG_BUFSIZE - off);
		if (r < 0)
			return r;
		off += (size_t)r;
	}
	sd->kill_seq = base + (uint32_t)n;
	do
		sn = sendto(sd->kill_fd, sd->buf, off, 0,
		    (struct sockaddr *)&sa, sizeof(sa));
	while (sn < 0 && errno == EINTR);
	if (sn < 0)
		return -errno;
	if ((size_t)sn != off)
		return -EIO;
	want = n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
	while (got != want) {
		salen = sizeof(sa);
		sn = recvfrom(sd->kill_fd, sd->buf, SOCKDIAG_BUFSIZE, MSG_TRUNC,
		    (struct sockaddr *)&sa, &salen);
		if (sn < 0 && errno == EINTR)
			continue;
		if (sn < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if ((size_t)sn > SOCKDIAG_BUFSIZE)
			return -EMSGSIZE;
		if (sa.nl_pid != 0)
			continue;	/* not from the kernel: ignore */
		rem = (int)sn;
		for (nlh = (struct nlmsghdr *)sd->buf; nlmsg_ok(nlh, rem);
		    nlh = nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			e = nlmsg_data(nlh);
			k = nlh->nlmsg_seq - base;
			if (k >= n || (got & (UINT64_C(1) << k)))
				continue;	/* not one of ours */
			got |= UINT64_C(1) << k;
			errs[k] = e->error <= 0 && e->error >= -4095 ?
			    e->error : -EPROTO;
		}
		if (rem != 0)
			return -EBADMSG;
	}
	return 0;
}

static void
sockdiag_kill_error(struct sockdiag *sd, const struct sock_info *s, int r)
{
	char la[ADDR_STRLEN], ra[ADDR_STRLEN];

	if (r == -EPERM) {
		snprintf(sd->err, sizeof(sd->err), "SOCK_DESTROY refused: "
		    "CAP_NET_ADMIN is needed");
		return;
	}
	snprintf(sd->err, sizeof(sd->err), "SOCK_DESTROY of %s %s -> %s "
	    "failed: %s%s", sockdiag_proto_name(s),
	    addr_format_port(&s->laddr, s->lport, la, sizeof(la)),
	    addr_format_port(&s->raddr, s->rport, ra, sizeof(ra)),
	    strerror(-r), r == -EOPNOTSUPP ?
	    " (a kernel without CONFIG_INET_DIAG_DESTROY?)" : "");
}

/* Destroy l->v[start ..]; keep there only what was destroyed. */
static int
sockdiag_kill(struct sockdiag *sd, struct socklist *l, size_t start)
{
	int errs[SOCKDIAG_KILL_BATCH];
	size_t i, k, n, w = start;
	int r = 0;

	for (i = start; i < l->n && r == 0; i += n) {
		n = l->n - i;
		if (n > SOCKDIAG_KILL_BATCH)
			n = SOCKDIAG_KILL_BATCH;
		r = sockdiag_kill_batch(sd, &l->v[i], n, errs);
		if (r < 0)
			sockdiag_kill_error(sd, &l->v[i], r);
		/* Even after a failure: what was acked is gone. */
		for (k = 0; k < n; k++) {
			if (errs[k] == 0) {
				if (w != i + k)
					l->v[w] = l->v[i + k];
				w++;
			} else if (errs[k] < 0 && errs[k] != -ENOENT &&
			    r == 0) {
				r = errs[k];
				sockdiag_kill_error(sd, &l->v[i + k], r);
			}
		}
	}
	if (r < 0)
		sockdiag_kill_reset(sd);	/* reopened by the next call */
	l->n = w;
	if (r < 0)
		return r;
	return w - start > INT32_MAX ? INT32_MAX : (int)(w - start);
}

/* An IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/96 and longer) is the IPv4
 * prefix: the kernel's filter then also finds the IPv4 sockets. */
static void
sockdiag_peer_unmap(const struct cidr *peer, struct cidr *ret_peer)
{
	*ret_peer = *peer;
	if (peer->addr.family != AF_INET6 || peer->len < 96 ||
	    !IN6_IS_ADDR_V4MAPPED(&peer->addr.u.v6))
		return;
	memset(ret_peer, 0, sizeof(*ret_peer));
	ret_peer->addr.family = AF_INET;
	memcpy(ret_peer->addr.u.bytes, peer->addr.u.bytes + 12, 4);
	ret_peer->len = peer->len - 96;
}

int
sockdiag_destroy_peer(struct sockdiag *sd, const struct cidr *peer,
    struct socklist *killed)
{
	struct socklist own = { 0 }, *l = killed != NULL ? killed : &own;
	struct sockdiag_query q;
	size_t start = l->n;
	int r;

	sd->err[0] = '\0';
	if ((peer->addr.family != AF_INET || peer->len > 32) &&
	    (peer->addr.family != AF_INET6 || peer->len > 128)) {
		snprintf(sd->err, sizeof(sd->err), "not an IPv4 or IPv6 "
		    "prefix");
		return -EINVAL;
	}
	memset(&q, 0, sizeof(q));
	q.port = -1;
	q.has_peer = true;
	sockdiag_peer_unmap(peer, &q.peer);
	/* IPv4 too: IPv6 sockets with IPv4-mapped remotes. */
	q.families = q.peer.addr.family == AF_INET ?
	    SOCKDIAG_INET4 | SOCKDIAG_INET6 : SOCKDIAG_INET6;
	q.protos = SOCKDIAG_TCP;
	q.states = SOCKDIAG_STATES_ALL & ~(1U << TCP_LISTEN);
	r = sockdiag_dump(sd, &q, l);
	if (r == 0) {
		/* Connected UDP sockets only: the others have no remote. */
		q.protos = SOCKDIAG_UDP;
		q.states = 1U << TCP_ESTABLISHED;
		r = sockdiag_dump(sd, &q, l);
	}
	if (r < 0 || l->n == start)
		goto out;
	if (sd->kill_fd < 0 && (r = sockdiag_kill_open(sd)) < 0) {
		snprintf(sd->err, sizeof(sd->err), "cannot open a sock_diag "
		    "socket for SOCK_DESTROY: %s", strerror(-r));
		goto out;
	}
	r = sockdiag_kill(sd, l, start);
	start = l->n;	/* keep what was destroyed, also after a failure */
out:
	if (r < 0)
		l->n = start;
	socklist_free(&own);
	return r;
}

static const char *const state_names[] = {
	[TCP_ESTABLISHED] = "established",
	[TCP_SYN_SENT] = "syn-sent",
	[TCP_SYN_RECV] = "syn-recv",
	[TCP_FIN_WAIT1] = "fin-wait-1",
	[TCP_FIN_WAIT2] = "fin-wait-2",
	[TCP_TIME_WAIT] = "time-wait",
	[TCP_CLOSE] = "close",
	[TCP_CLOSE_WAIT] = "close-wait",
	[TCP_LAST_ACK] = "last-ack",
	[TCP_LISTEN] = "listen",
	[TCP_CLOSING] = "closing",
};

const char *
sockdiag_state_name(const struct sock_info *s)
{
	if (s->state == TCP_CLOSE && s->proto != IPPROTO_TCP)
		return "unconn";
	if (s->state == 12)	/* TCP_NEW_SYN_RECV: a request socket */
		return "syn-recv";
	if (s->state >= sizeof(state_names) / sizeof(state_names[0]) ||
	    state_names[s->state] == NULL)
		return "unknown";
	return state_names[s->state];
}

int
sockdiag_state_parse(const char *name, uint32_t *ret_mask)
{
	size_t i;

	if (strcmp(name, "unconn") == 0) {
		*ret_mask = 1U << TCP_CLOSE;
		return 0;
	}
	for (i = 1; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (state_names[i] != NULL && strcmp(name, state_names[i]) == 0) {
			*ret_mask = 1U << i;
			if (i == TCP_SYN_RECV)
				*ret_mask |= 1U << 12;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
sockdiag_proto_name(const struct sock_info *s)
{
	if (s->proto == IPPROTO_TCP)
		return "tcp";
	if (s->proto == IPPROTO_UDP)
		return "udp";
	return "unix";
}

const char *
sockdiag_family_name(const struct sock_info *s)
{
	if (s->family == AF_INET)
		return "inet";
	if (s->family == AF_INET6)
		return "inet6";
	return "unix";
}

const char *
sockdiag_unix_type_name(const struct sock_info *s)
{
	switch (s->type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	default:
		return "unknown";
	}
}

/*
 * Destroy notifications: the kernel multicasts an inet_diag_msg for every
 * TCP and UDP socket that goes away, so closes are seen at once instead of
 * at the next scan.
 */
struct sockdiag_events {
	struct nl_sock *nl;
	unsigned char *buf;
};

int
sockdiag_events_open(struct sockdiag_events **ret_ev)
{
	struct sockdiag_events *ev;
	int r = -ENOMEM;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -ENOMEM;
	if ((ev->buf = malloc(SOCKDIAG_BUFSIZE)) == NULL)
		goto fail;
	if ((ev->nl = nl_socket_alloc()) == NULL)
		goto fail;
	nl_socket_disable_seq_check(ev->nl);
	errno = 0;
	if (nl_connect(ev->nl, NETLINK_SOCK_DIAG) < 0 ||
	    nl_socket_add_memberships(ev->nl, SKNLGRP_INET_TCP_DESTROY,
	    SKNLGRP_INET_UDP_DESTROY, SKNLGRP_INET6_TCP_DESTROY,
	    SKNLGRP_INET6_UDP_DESTROY, 0) < 0 ||
	    nl_socket_set_nonblocking(ev->nl) < 0) {
		r = errno != 0 ? -errno : -EPERM;
		goto fail;
	}
	*ret_ev = ev;
	return 0;
fail:
	sockdiag_events_close(ev);
	return r;
}

void
sockdiag_events_close(struct sockdiag_events *ev)
{
	if (ev == NULL)
		return;
	if (ev->nl != NULL)
		nl_socket_free(ev->nl);
	free(ev->buf);
	free(ev);
}

int
sockdiag_events_fd(const struct sockdiag_events *ev)
{
	return nl_socket_get_fd(ev->nl);
}

int
sockdiag_events_read(struct sockdiag_events *ev, struct socklist *out,
    unsigned int max)
{
	static const struct sockdiag_query all = {
		.protos = SOCKDIAG_TCP | SOCKDIAG_UDP,
		.families = SOCKDIAG_INET4 | SOCKDIAG_INET6,
		.states = SOCKDIAG_STATES_ALL, .port = -1,
	};
	struct sockaddr_nl sa;
	socklen_t salen;
	bool done, intr;
	unsigned int i;
	ssize_t n;
	int r;

	for (i = 0; i < max; i++) {
		salen = sizeof(sa);
		n = recvfrom(nl_socket_get_fd(ev->nl), ev->buf,
		    SOCKDIAG_BUFSIZE, 0, (struct sockaddr *)&sa, &salen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;	/* ENOBUFS: events were lost */
		}
		if (sa.nl_pid != 0)
			continue;
		done = intr = false;
		r = sockdiag_parse(ev->buf, (size_t)n, IPPROTO_TCP, &all, out,
		    &done, &intr);
		if (r < 0)
			return r;
	}
	return 0;
}
