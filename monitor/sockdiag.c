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

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

/* The kernel fills at most 32 KiB per dump skb; a larger buffer never
 * truncates and lets us read without MSG_PEEK. */
#define SOCKDIAG_BUFSIZE	(64 * 1024)
#define SOCKDIAG_RETRIES	8
#define SOCKDIAG_BC_MAX		128

struct sockdiag {
	struct nl_sock *nl;
	char err[256];
};

void
socklist_free(struct socklist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static struct sock_info *
socklist_push(struct socklist *l)
{
	struct sock_info *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 256;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	return &l->v[l->n++];
}

int
sockdiag_open(struct sockdiag **ret_sd)
{
	struct sockdiag *sd;
	int r;

	sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return -ENOMEM;
	sd->nl = nl_socket_alloc();
	if (sd->nl == NULL) {
		free(sd);
		return -ENOMEM;
	}
	errno = 0;
	r = nl_connect(sd->nl, NETLINK_SOCK_DIAG);
	if (r < 0) {
		nl_socket_free(sd->nl);
		free(sd);
		return errno != 0 ? -errno : -EIO;
	}
	nl_socket_disable_msg_peek(sd->nl);
	nl_socket_set_msg_buf_size(sd->nl, SOCKDIAG_BUFSIZE);
	*ret_sd = sd;
	return 0;
}

void
sockdiag_close(struct sockdiag *sd)
{
	if (sd == NULL)
		return;
	nl_socket_free(sd->nl);
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
 * Kernel-side filter: an AND of clauses, each an OR of conditions. A
 * condition that holds jumps to the next clause (or the end: accept); one
 * that fails falls through to the next condition of its clause, and the
 * last one jumps four bytes past the end: reject.
 */
struct bc_op_layout {
	size_t off, len, clause_end;
};

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
	size_t port_end = 0;

	/* Lay out first to know the total length. */
	if (q->port >= 0) {
		off += 2 * 2 * sizeof(struct inet_diag_bc_op);
		port_end = off;
	}
	if (q->has_peer) {
		alen = q->peer.addr.family == AF_INET ? 4 : 16;
		condlen = sizeof(struct inet_diag_bc_op) + sizeof(hc) + alen;
		off += condlen;
	}
	total = off;
	if (total == 0 || total > SOCKDIAG_BC_MAX)
		return 0;

	off = 0;
	if (q->port >= 0) {
		memset(&portop, 0, sizeof(portop));
		portop.no = (uint16_t)q->port;
		/* sport == port: yes -> next clause, no -> try dport. */
		bc_put_op(bc, off, INET_DIAG_BC_S_EQ, port_end - off, 8);
		memcpy(bc + off + 4, &portop, sizeof(portop));
		off += 8;
		/* dport == port: yes -> next clause, no -> reject. */
		bc_put_op(bc, off, INET_DIAG_BC_D_EQ, port_end - off,
		    total + 4 - off);
		memcpy(bc + off + 4, &portop, sizeof(portop));
		off += 8;
	}
	if (q->has_peer) {
		bc_put_op(bc, off, INET_DIAG_BC_D_COND, condlen,
		    total + 4 - off);
		memset(&hc, 0, sizeof(hc));
		hc.family = (uint8_t)q->peer.addr.family;
		hc.prefix_len = (uint8_t)q->peer.len;
		hc.port = -1;
		memcpy(bc + off + 4, &hc, sizeof(hc));
		memcpy(bc + off + 4 + sizeof(hc), q->peer.addr.u.bytes, alen);
		off += condlen;
	}
	return total;
}

static int
sockdiag_request(struct sockdiag *sd, uint8_t family, uint8_t proto,
    const struct sockdiag_query *q, uint32_t *ret_seq)
{
	struct inet_diag_req_v2 ireq;
	struct unix_diag_req ureq;
	uint8_t bc[SOCKDIAG_BC_MAX];
	struct nl_msg *msg;
	size_t bclen;
	int r;

	msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY,
	    NLM_F_REQUEST | NLM_F_DUMP);
	if (msg == NULL)
		return -ENOMEM;
	if (family == AF_UNIX) {
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

static int
sockdiag_parse_inet(struct nlmsghdr *nlh, uint8_t proto, struct sock_info *s)
{
	struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	/* Validates the attribute chain; we read no attribute today. */
	if (nlmsg_parse(nlh, sizeof(*m), tb, INET_DIAG_MAX, NULL) < 0)
		return -EBADMSG;
	m = nlmsg_data(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;
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

static struct nla_policy unix_policy[UNIX_DIAG_MAX + 1] = {
	[UNIX_DIAG_NAME] = { .type = NLA_UNSPEC,
	    .maxlen = SOCKDIAG_PATH_MAX },
	[UNIX_DIAG_PEER] = { .type = NLA_U32 },
	[UNIX_DIAG_RQLEN] = { .type = NLA_UNSPEC,
	    .minlen = sizeof(struct unix_diag_rqlen) },
	[UNIX_DIAG_UID] = { .type = NLA_U32 },
};

static int
sockdiag_parse_unix(struct nlmsghdr *nlh, struct sock_info *s)
{
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	const struct unix_diag_msg *m;
	struct unix_diag_rqlen rql;
	int len;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	if (nlmsg_parse(nlh, sizeof(*m), tb, UNIX_DIAG_MAX, unix_policy) < 0)
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
		len = nla_len(tb[UNIX_DIAG_NAME]);
		if (len < 0 || (size_t)len > SOCKDIAG_PATH_MAX)
			return -EBADMSG;
		memcpy(s->path, nla_data(tb[UNIX_DIAG_NAME]), (size_t)len);
		s->path_len = (uint8_t)len;
	}
	if (tb[UNIX_DIAG_PEER] != NULL)
		s->peer_inode = nla_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_RQLEN] != NULL) {
		memcpy(&rql, nla_data(tb[UNIX_DIAG_RQLEN]), sizeof(rql));
		s->rq = rql.udiag_rqueue;
		s->wq = rql.udiag_wqueue;
	}
	if (tb[UNIX_DIAG_UID] != NULL)
		s->uid = nla_get_u32(tb[UNIX_DIAG_UID]);
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
					return err;
			}
			*ret_done = true;
			return 0;
		case NLMSG_ERROR:
			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			e = nlmsg_data(nlh);
			return e->error < 0 ? e->error : -EPROTO;
		case NLMSG_NOOP:
			continue;
		case SOCK_DIAG_BY_FAMILY:
			break;
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
	unsigned char *buf = NULL;
	bool done = false;
	uint32_t seq;
	int n, r;

	r = sockdiag_request(sd, family, proto, q, &seq);
	if (r < 0)
		return r;
	while (!done) {
		n = nl_recv(sd->nl, &nla, &buf, NULL);
		if (n <= 0) {
			free(buf);
			return n == 0 ? -EPIPE : -EIO;
		}
		if (nla.nl_pid != 0) {
			/* Not from the kernel: ignore. */
			free(buf);
			buf = NULL;
			continue;
		}
		if ((size_t)n >= sizeof(struct nlmsghdr) &&
		    ((struct nlmsghdr *)buf)->nlmsg_seq != seq) {
			free(buf);
			buf = NULL;
			continue;
		}
		r = sockdiag_parse(buf, (size_t)n, proto, q, out, &done,
		    ret_intr);
		free(buf);
		buf = NULL;
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
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (!(q->protos & reqs[i].pbit))
			continue;
		if (reqs[i].fbit != 0 && !(q->families & reqs[i].fbit))
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
			if (r < 0 || !intr)
				break;
			out->n = before;
			if (tries + 1 >= SOCKDIAG_RETRIES) {
				r = -EAGAIN;
				break;
			}
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
			sd->nl = nl_socket_alloc();
			if (sd->nl != NULL && nl_connect(sd->nl,
			    NETLINK_SOCK_DIAG) == 0) {
				nl_socket_disable_msg_peek(sd->nl);
				nl_socket_set_msg_buf_size(sd->nl,
				    SOCKDIAG_BUFSIZE);
			}
			return r;
		}
	}
	return 0;
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
