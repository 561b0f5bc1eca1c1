/* The framing of sockwatchd's inter-process messages (ipc.h). Every
 * length comes from the other process, which may be compromised: it is
 * checked against the type's limit before anything is buffered. */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define IPC_TEXT_MAX	4096		/* IPC_FAIL, IPC_LOG */
#define IPC_ALERT_MAX	(256U * 1024)
#define IPC_LOCAL_LEN	17		/* family byte, 16 address bytes */
#define IPC_REQUEST_MAX	(128U * 1024)	/* a control line is 64 KiB */
#define IPC_RESPONSE_MAX (256U << 20)	/* a listing of every socket */

static const struct {
	const char *name;
	uint32_t min, max;		/* payload bytes */
} ipc_types[IPC_TYPE_MAX + 1] = {
	[IPC_HELLO] = { "hello", 0, 0 },
	[IPC_FAIL] = { "fail", 1, IPC_TEXT_MAX },
	[IPC_LOG] = { "log", 2, IPC_TEXT_MAX },
	[IPC_ALERT] = { "alert", 2, IPC_ALERT_MAX },
	[IPC_BATCH_END] = { "batch-end", 0, 0 },
	[IPC_STATS] = { "stats", 1, IPC_FIXED_MAX },
	[IPC_REPLAY_DONE] = { "replay-done", 0, 0 },
	[IPC_PEERS_REPLY] = { "peers-reply", 4 + 2, IPC_MAX_PAYLOAD },
	[IPC_LISTENERS] = { "listeners", 2 * IPC_PORTMAP, 2 * IPC_PORTMAP },
	[IPC_LOCAL] = { "local", 0, IPC_LOCAL_MAX * IPC_LOCAL_LEN },
	[IPC_PEERS_REQ] = { "peers-request", sizeof(struct ipc_peers_req),
	    sizeof(struct ipc_peers_req) },
	[IPC_REQUEST] = { "request", sizeof(struct ipc_request) + 2,
	    IPC_REQUEST_MAX },
	[IPC_METRICS_REQ] = { "metrics-request", 4, 4 },
	[IPC_CONTROL_STATS] = { "control-stats", 1, IPC_FIXED_MAX },
	[IPC_RESPONSE] = { "response", 8 + 2, IPC_RESPONSE_MAX },
	[IPC_EVENT] = { "event", 2, IPC_MAX_PAYLOAD },
	[IPC_METRICS_REPLY] = { "metrics-reply", 4, 4 + IPC_MAX_PAYLOAD },
	[IPC_READERS] = { "readers", 0, 4 * IPC_READERS_MAX },
	[IPC_AUTHLOG] = { "authlog", 1, IPC_AUTHLOG_MAX },
	[IPC_AUTH] = { "auth", 1, IPC_FIXED_MAX },
	[IPC_ROUTES] = { "routes", 0, 1U << 20 },
	[IPC_CAPTURES] = { "captures", 1, IPC_FIXED_MAX },
	[IPC_CS_DECISIONS] = { "crowdsec-decisions",
	    sizeof(struct ipc_cs_decision), IPC_MAX_PAYLOAD },
	[IPC_CS_STREAM_END] = { "crowdsec-stream-end",
	    sizeof(struct ipc_cs_stream_end), sizeof(struct ipc_cs_stream_end) },
	[IPC_CS_STATE] = { "crowdsec-state", 1, IPC_FIXED_MAX },
	[IPC_CS_SIGNAL] = { "crowdsec-signal", 1, IPC_FIXED_MAX },
	[IPC_CS_WITHDRAW] = { "crowdsec-withdraw",
	    sizeof(struct ipc_cs_withdraw), sizeof(struct ipc_cs_withdraw) },
};

const char *
ipc_type_name(enum ipc_type t)
{
	if ((unsigned int)t == 0 || (unsigned int)t > IPC_TYPE_MAX)
		return "unknown";
	return ipc_types[t].name;
}

static void
ipc_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
ipc_put32(uint8_t *p, uint32_t v)
{
	ipc_put16(p, (uint16_t)(v >> 16));
	ipc_put16(p + 2, (uint16_t)v);
}

static uint32_t
ipc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Two pieces (header and body) and a tail, written until all is out. */
static int
ipc_writev(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n > 0) {
		w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int
ipc_header(uint8_t *hdr, enum ipc_type type, size_t len)
{
	if ((unsigned int)type == 0 || (unsigned int)type > IPC_TYPE_MAX ||
	    len < ipc_types[type].min || len > ipc_types[type].max)
		return -EMSGSIZE;
	ipc_put16(hdr, IPC_VERSION);
	ipc_put16(hdr + 2, (uint16_t)type);
	ipc_put32(hdr + 4, (uint32_t)len);
	return 0;
}

/* The first write carries the descriptor, if any; the rest is writev. */
int
ipc_send_fd(int fd, enum ipc_type type, const void *a, size_t alen,
    const void *b, size_t blen, int passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	uint8_t hdr[IPC_HDR_LEN];
	struct iovec iov[3];
	struct msghdr mh;
	struct iovec *v = iov;
	ssize_t w;
	int n = 3, r;

	if ((r = ipc_header(hdr, type, alen + blen)) < 0)
		return r;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)a;
	iov[1].iov_len = alen;
	iov[2].iov_base = (void *)(uintptr_t)b;
	iov[2].iov_len = blen;
	if (passfd < 0)
		return ipc_writev(fd, iov, 3);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&cm.h), &passfd, sizeof(int));
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	while (n > 0 && (size_t)w >= v->iov_len) {
		w -= (ssize_t)v->iov_len;
		v++;
		n--;
	}
	if (n == 0)
		return 0;
	v->iov_base = (uint8_t *)v->iov_base + w;
	v->iov_len -= (size_t)w;
	return ipc_writev(fd, v, n);
}

int
ipc_send2(int fd, enum ipc_type type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	return ipc_send_fd(fd, type, a, alen, b, blen, -1);
}

int
ipc_send(int fd, enum ipc_type type, const void *payload, size_t len)
{
	return ipc_send_fd(fd, type, payload, len, NULL, 0, -1);
}

int
ipc_queue(struct ipc_outq *q, enum ipc_type type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	size_t need = IPC_HDR_LEN + alen + blen, cap;
	uint8_t hdr[IPC_HDR_LEN], *p;
	int r;

	if ((r = ipc_header(hdr, type, alen + blen)) < 0)
		return r;
	if (q->off > 0 && q->off == q->len)
		q->off = q->len = 0;
	if (q->off > 0 && q->len + need > q->cap) {
		memmove(q->buf, q->buf + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (q->len + need > q->cap) {
		for (cap = q->cap ? q->cap : 65536; cap < q->len + need;)
			cap *= 2;
		if ((p = realloc(q->buf, cap)) == NULL)
			return -ENOMEM;
		q->buf = p;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, hdr, IPC_HDR_LEN);
	if (alen > 0)
		memcpy(q->buf + q->len + IPC_HDR_LEN, a, alen);
	if (blen > 0)
		memcpy(q->buf + q->len + IPC_HDR_LEN + alen, b, blen);
	q->len += need;
	return 0;
}

int
ipc_flush(struct ipc_outq *q, int fd)
{
	ssize_t w;

	while (q->off < q->len) {
		w = send(fd, q->buf + q->off, q->len - q->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? 1 : -errno;
		}
		q->off += (size_t)w;
	}
	q->off = q->len = 0;
	return 0;
}

size_t
ipc_outq_pending(const struct ipc_outq *q)
{
	return q->len - q->off;
}

void
ipc_outq_free(struct ipc_outq *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

int
ipc_send_log(int fd, int pri, const char *text)
{
	uint8_t p = (uint8_t)pri;
	size_t len = strlen(text);

	if (len == 0)
		text = " ", len = 1;
	if (len > IPC_TEXT_MAX - 1)
		len = IPC_TEXT_MAX - 1;
	return ipc_send2(fd, IPC_LOG, &p, 1, text, len);
}

int
ipc_send_local(int fd, const struct addr *a, size_t n)
{
	uint8_t *buf;
	size_t i;
	int r;

	if (n > IPC_LOCAL_MAX)
		n = IPC_LOCAL_MAX;
	if ((buf = calloc(n ? n : 1, IPC_LOCAL_LEN)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		buf[i * IPC_LOCAL_LEN] = a[i].family == AF_INET6 ? 6 : 4;
		memcpy(buf + i * IPC_LOCAL_LEN + 1, a[i].u.bytes,
		    a[i].family == AF_INET6 ? 16 : 4);
	}
	r = ipc_send(fd, IPC_LOCAL, buf, n * IPC_LOCAL_LEN);
	free(buf);
	return r;
}

int
ipc_send_seq(int fd, enum ipc_type type, uint32_t seq, const void *rest,
    size_t len)
{
	uint8_t s[4];

	ipc_put32(s, seq);
	return ipc_send2(fd, type, s, sizeof(s), rest, len);
}

int
ipc_send_peers_reply(int fd, uint32_t seq, const char *json, size_t len)
{
	uint8_t s[4];

	ipc_put32(s, seq);
	return ipc_send2(fd, IPC_PEERS_REPLY, s, sizeof(s), json, len);
}

/* The largest payload of the types r accepts. */
static size_t
ipc_accept_max(const struct ipc_reader *r)
{
	size_t max = 0;
	unsigned int t;

	for (t = 1; t <= IPC_TYPE_MAX; t++)
		if ((r->accept & IPC_BIT(t)) && ipc_types[t].max > max)
			max = ipc_types[t].max;
	return max;
}

/* Room for n more bytes, never more than one largest message it
 * accepts. */
static int
ipc_reserve(struct ipc_reader *r, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (r->off > 0 && r->off == r->len)
		r->off = r->len = 0;
	/* What is not consumed yet, and what comes: never more than one
	 * largest message and a read's worth. */
	if (r->len - r->off + n > ipc_accept_max(r) + 2 * IPC_HDR_LEN +
	    256 * 1024)
		return -EPROTO;
	if (r->off > 0 && r->len + n > r->cap) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	want = r->len + n;
	if (want <= r->cap)
		return 0;
	cap = r->cap ? r->cap : 65536;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(r->buf, cap)) == NULL)
		return -ENOMEM;
	r->buf = p;
	r->cap = cap;
	return 0;
}

/* Descriptors that came with the bytes: queued, or closed when the
 * queue is full (the message that wanted one then finds none). */
static void
ipc_take_rights(struct ipc_reader *r, struct msghdr *mh)
{
	struct cmsghdr *c;
	size_t i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (r->nfds < IPC_FDS_MAX)
				r->fds[r->nfds++] = fd;
			else
				close(fd);
		}
	}
}

ssize_t
ipc_reader_fill(struct ipc_reader *r, int fd, size_t max)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int e;

	if ((e = ipc_reserve(r, max)) < 0)
		return e;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = r->buf + r->len;
	iov.iov_len = max;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	ipc_take_rights(r, &mh);
	r->len += (size_t)n;
	return n;
}

int
ipc_reader_take_fd(struct ipc_reader *r)
{
	int fd;

	if (r->nfds == 0)
		return -1;
	fd = r->fds[0];
	memmove(r->fds, r->fds + 1, --r->nfds * sizeof(r->fds[0]));
	return fd;
}

int
ipc_reader_feed(struct ipc_reader *r, const void *data, size_t len)
{
	int e;

	if (len == 0)
		return 0;
	if ((e = ipc_reserve(r, len)) < 0)
		return e;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int
ipc_next(struct ipc_reader *r, struct ipc_msg *ret)
{
	const uint8_t *h = r->buf + r->off;
	size_t have = r->len - r->off;
	unsigned int version, type;
	uint32_t len;

	if (have < IPC_HDR_LEN)
		return 0;
	version = (unsigned int)h[0] << 8 | h[1];
	type = (unsigned int)h[2] << 8 | h[3];
	len = ipc_get32(h + 4);
	if (version != IPC_VERSION || type == 0 || type > IPC_TYPE_MAX ||
	    !(r->accept & IPC_BIT(type)) || len < ipc_types[type].min ||
	    len > ipc_types[type].max)
		return -EPROTO;
	if (have - IPC_HDR_LEN < len)
		return 0;
	ret->type = (enum ipc_type)type;
	ret->payload = h + IPC_HDR_LEN;
	ret->len = len;
	r->off += IPC_HDR_LEN + len;
	return 1;
}

void
ipc_reader_free(struct ipc_reader *r)
{
	uint32_t accept = r->accept;

	while (r->nfds > 0)
		close(r->fds[--r->nfds]);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->accept = accept;
}

static void
ipc_copy_text(const uint8_t *p, size_t n, char *buf, size_t buflen)
{
	size_t i;

	if (buflen == 0)
		return;
	if (n > buflen - 1)
		n = buflen - 1;
	for (i = 0; i < n; i++)
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	buf[n] = '\0';
}

int
ipc_decode_text(const struct ipc_msg *m, char *buf, size_t buflen)
{
	if (m->type != IPC_FAIL && m->type != IPC_ALERT)
		return -EINVAL;
	ipc_copy_text(m->payload, m->len, buf, buflen);
	return 0;
}

int
ipc_decode_log(const struct ipc_msg *m, int *ret_pri, char *buf,
    size_t buflen)
{
	if (m->type != IPC_LOG || m->len < 2 || m->payload[0] > 7)
		return -EINVAL;
	*ret_pri = m->payload[0];
	ipc_copy_text(m->payload + 1, m->len - 1, buf, buflen);
	return 0;
}

int
ipc_decode_fixed(const struct ipc_msg *m, enum ipc_type type, void *ret,
    size_t len)
{
	if (m->type != type || m->len != len)
		return -EINVAL;
	memcpy(ret, m->payload, len);
	return 0;
}

int
ipc_decode_array(const struct ipc_msg *m, enum ipc_type type, size_t size,
    void **ret, size_t *ret_n)
{
	void *v;

	if (m->type != type || size == 0 || m->len % size != 0)
		return -EINVAL;
	if ((v = malloc(m->len ? m->len : 1)) == NULL)
		return -ENOMEM;
	memcpy(v, m->payload, m->len);
	*ret = v;
	*ret_n = m->len / size;
	return 0;
}

int
ipc_decode_peers_req(const struct ipc_msg *m, struct ipc_peers_req *ret)
{
	if (m->type != IPC_PEERS_REQ || m->len != sizeof(*ret))
		return -EINVAL;
	memcpy(ret, m->payload, sizeof(*ret));
	return 0;
}

int
ipc_decode_peers_reply(const struct ipc_msg *m, uint32_t *ret_seq,
    const char **ret_json, size_t *ret_len)
{
	if (m->type != IPC_PEERS_REPLY || m->len < 4 + 2)
		return -EINVAL;
	*ret_seq = ipc_get32(m->payload);
	*ret_json = (const char *)m->payload + 4;
	*ret_len = m->len - 4;
	return 0;
}

int
ipc_decode_listeners(const struct ipc_msg *m, const uint8_t **ret_tcp,
    const uint8_t **ret_udp)
{
	if (m->type != IPC_LISTENERS || m->len != 2 * IPC_PORTMAP)
		return -EINVAL;
	*ret_tcp = m->payload;
	*ret_udp = m->payload + IPC_PORTMAP;
	return 0;
}

int
ipc_decode_local(const struct ipc_msg *m, struct addr **ret, size_t *ret_n)
{
	const uint8_t *p = m->payload;
	size_t i, n;
	struct addr *a;

	if (m->type != IPC_LOCAL || m->len % IPC_LOCAL_LEN != 0)
		return -EINVAL;
	n = m->len / IPC_LOCAL_LEN;
	if ((a = calloc(n ? n : 1, sizeof(*a))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++, p += IPC_LOCAL_LEN) {
		if (p[0] != 4 && p[0] != 6) {
			free(a);
			return -EINVAL;
		}
		addr_from_raw(&a[i], p[0] == 4 ? AF_INET : AF_INET6, p + 1);
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

int
ipc_decode_request(const struct ipc_msg *m, struct ipc_request *ret,
    const char **ret_json, size_t *ret_len)
{
	if (m->type != IPC_REQUEST || m->len < sizeof(*ret) + 2)
		return -EINVAL;
	memcpy(ret, m->payload, sizeof(*ret));
	if (ret->admin > 1 || ret->fd > 1)
		return -EINVAL;
	*ret_json = (const char *)m->payload + sizeof(*ret);
	*ret_len = m->len - sizeof(*ret);
	return 0;
}

int
ipc_decode_seq(const struct ipc_msg *m, uint32_t *ret_seq,
    const uint8_t **ret_rest, size_t *ret_len)
{
	if ((m->type != IPC_METRICS_REQ && m->type != IPC_METRICS_REPLY) ||
	    m->len < 4)
		return -EINVAL;
	*ret_seq = ipc_get32(m->payload);
	*ret_rest = m->payload + 4;
	*ret_len = m->len - 4;
	return 0;
}

int
ipc_decode_response(const struct ipc_msg *m, uint64_t *ret_client,
    const char **ret_json, size_t *ret_len)
{
	if (m->type != IPC_RESPONSE || m->len < 8 + 2)
		return -EINVAL;
	memcpy(ret_client, m->payload, 8);
	*ret_json = (const char *)m->payload + 8;
	*ret_len = m->len - 8;
	return 0;
}

int
ipc_decode_readers(const struct ipc_msg *m, uint32_t **ret, size_t *ret_n)
{
	size_t n;

	if (m->type != IPC_READERS || m->len % 4 != 0)
		return -EINVAL;
	n = m->len / 4;
	if ((*ret = calloc(n ? n : 1, sizeof(uint32_t))) == NULL)
		return -ENOMEM;
	memcpy(*ret, m->payload, m->len);
	*ret_n = n;
	return 0;
}

int
ipc_decode_cs_decision(const struct ipc_cs_decision *d,
    struct cidr *ret_peer, uint64_t *ret_ms)
{
	unsigned int bits, i;
	size_t j;

	if ((d->op != IPC_CS_ADD && d->op != IPC_CS_DELETE) ||
	    (d->family != 4 && d->family != 6) ||
	    (d->op == IPC_CS_ADD) != (d->remaining_ms > 0))
		return -EINVAL;
	bits = d->family == 4 ? 32 : 128;
	if (d->len > bits)
		return -EINVAL;
	for (j = 0; j < sizeof(d->pad); j++)
		if (d->pad[j] != 0)
			return -EINVAL;
	/* Host bits, and the bytes past an IPv4 address, are zero. */
	for (i = d->len; i < 128; i++)
		if (d->addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	memset(ret_peer, 0, sizeof(*ret_peer));
	addr_from_raw(&ret_peer->addr, d->family == 4 ? AF_INET : AF_INET6,
	    d->addr);
	ret_peer->len = d->len;
	*ret_ms = d->remaining_ms;
	return 0;
}

void
ipc_encode_cs_decision(struct ipc_cs_decision *d, int op,
    const struct cidr *peer, uint64_t ms)
{
	memset(d, 0, sizeof(*d));
	d->op = (uint8_t)op;
	d->family = peer->addr.family == AF_INET ? 4 : 6;
	d->len = (uint8_t)peer->len;
	d->remaining_ms = ms;
	memcpy(d->addr, peer->addr.u.bytes, d->family == 4 ? 4 : 16);
}

int
ipc_decode_cs_withdraw(const struct ipc_msg *m, struct addr *ret)
{
	struct ipc_cs_withdraw w;
	size_t i;

	if (ipc_decode_fixed(m, IPC_CS_WITHDRAW, &w, sizeof(w)) < 0 ||
	    (w.family != 4 && w.family != 6))
		return -EINVAL;
	for (i = 0; i < sizeof(w.pad); i++)
		if (w.pad[i] != 0)
			return -EINVAL;
	for (i = w.family == 4 ? 4 : 16; i < sizeof(w.addr); i++)
		if (w.addr[i] != 0)
			return -EINVAL;
	addr_from_raw(ret, w.family == 4 ? AF_INET : AF_INET6, w.addr);
	return 0;
}

void
ipc_encode_cs_withdraw(struct ipc_cs_withdraw *w, const struct addr *a)
{
	memset(w, 0, sizeof(*w));
	w->family = a->family == AF_INET ? 4 : 6;
	memcpy(w->addr, a->u.bytes, w->family == 4 ? 4 : 16);
}
