/*
 * sockdiag_parse() fed with sock_diag replies captured from the kernel
 * (the .nl files in tests/data, see tests/data/README), then with
 * hand-built malformed ones. Every buffer is parsed from an exact-size heap copy, so an ASan
 * build (make asan) catches any read past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../exporter/sockjson.h"
#include "../../monitor/sockdiag.h"

/* Inodes and cookies of the captured sockets: tests/data/manifest and the
 * sk: column of tests/data/ss.txt. */
#define INO_TCP4_LISTEN		247240
#define INO_TCP4_CLIENT		247241
#define INO_TCP4_ACCEPTED	247242
#define INO_TCP6_LISTEN		247243
#define INO_TCP6_DUAL_LISTEN	247244
#define INO_TCP4_MAPPED_CLIENT	247245
#define INO_TCP6_MAPPED_ACCEPTED 247246
#define INO_UDP4_UNCONN		247247
#define INO_UDP4_CONN		247248
#define INO_UDP6_UNCONN		247249
#define INO_UNIX_PATH_LISTEN	247250
#define INO_UNIX_ABSTRACT_LISTEN 247251
#define INO_UNIX_PAIR_A		247252
#define INO_UNIX_PAIR_B		247253
#define INO_UNIX_DGRAM		247254

struct blob {
	unsigned char *p;
	size_t len;
};

static const char *
data_dir(void)
{
	const char *d = getenv("SW_TESTDATA");

	return d != NULL ? d : "tests/data";
}

static void
blob_load(const char *name, struct blob *b)
{
	char path[512];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s (run from the top of the tree, or "
		    "set SW_TESTDATA)", path);
	assert_int_equal(fstat(fd, &st), 0);
	b->len = (size_t)st.st_size;
	b->p = malloc(b->len ? b->len : 1);
	assert_non_null(b->p);
	n = read(fd, b->p, b->len);
	close(fd);
	assert_int_equal(n, (ssize_t)b->len);
}

static void
query_all(struct sockdiag_query *q)
{
	memset(q, 0, sizeof(*q));
	q->protos = SOCKDIAG_TCP | SOCKDIAG_UDP | SOCKDIAG_UNIX;
	q->families = SOCKDIAG_INET4 | SOCKDIAG_INET6;
	q->states = SOCKDIAG_STATES_ALL;
	q->port = -1;
}

/* Parse len bytes of buf from an exact-size heap copy. */
static int
parse_exact(const void *buf, size_t len, uint8_t proto,
    const struct sockdiag_query *q, struct socklist *out, bool *ret_done,
    bool *ret_intr)
{
	unsigned char *copy;
	int r;

	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	*ret_done = *ret_intr = false;
	r = sockdiag_parse(copy, len, proto, q, out, ret_done, ret_intr);
	free(copy);
	return r;
}

/* Parse a whole capture with an unfiltered query; it must be complete. */
static void
parse_file(const char *name, uint8_t proto, struct socklist *out)
{
	struct sockdiag_query q;
	struct blob b;
	bool done, intr;

	query_all(&q);
	blob_load(name, &b);
	assert_int_equal(parse_exact(b.p, b.len, proto, &q, out, &done,
	    &intr), 0);
	assert_true(done);
	assert_false(intr);
	free(b.p);
}

static const struct sock_info *
find_inode(const struct socklist *l, uint32_t inode)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].inode == inode)
			return &l->v[i];
	fail_msg("no socket with inode %u", inode);
	return NULL;
}

static void
assert_addr(const struct addr *a, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format(a, buf, sizeof(buf)), want);
}

static void
test_capture_tcp4(void **state)
{
	struct socklist l = { 0 };
	const struct sock_info *s;

	(void)state;
	parse_file("tcp4.nl", IPPROTO_TCP, &l);
	assert_int_equal(l.n, 4);

	s = find_inode(&l, INO_TCP4_LISTEN);
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->type, SOCK_STREAM);
	assert_int_equal(s->state, TCP_LISTEN);
	assert_string_equal(sockdiag_state_name(s), "listen");
	assert_addr(&s->laddr, "198.18.0.1");
	assert_int_equal(s->lport, 8080);
	assert_addr(&s->raddr, "0.0.0.0");
	assert_int_equal(s->rport, 0);
	assert_int_equal(s->wq, 16);		/* the backlog */
	assert_int_equal(s->uid, 0);
	assert_int_equal(s->ifindex, 0);
	assert_int_equal(s->cookie, 0x1c6c6);

	s = find_inode(&l, INO_TCP4_ACCEPTED);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_string_equal(sockdiag_state_name(s), "established");
	assert_addr(&s->laddr, "198.18.0.1");
	assert_int_equal(s->lport, 8080);
	assert_addr(&s->raddr, "198.18.0.2");
	assert_int_equal(s->rport, 40001);
	assert_int_equal(s->rq, 5);		/* "hello", unread */
	assert_int_equal(s->cookie, 0x1c6c8);

	s = find_inode(&l, INO_TCP4_CLIENT);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_addr(&s->laddr, "198.18.0.2");
	assert_int_equal(s->lport, 40001);
	assert_addr(&s->raddr, "198.18.0.1");
	assert_int_equal(s->rport, 8080);
	assert_int_equal(s->rq, 0);
	assert_int_equal(s->cookie, 0x1c6c9);

	s = find_inode(&l, INO_TCP4_MAPPED_CLIENT);
	assert_addr(&s->raddr, "198.18.0.1");
	assert_int_equal(s->rport, 8444);
	socklist_free(&l);
}

static void
test_capture_tcp6(void **state)
{
	struct socklist l = { 0 };
	const struct sock_info *s;

	(void)state;
	parse_file("tcp6.nl", IPPROTO_TCP, &l);
	assert_int_equal(l.n, 3);

	s = find_inode(&l, INO_TCP6_LISTEN);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->state, TCP_LISTEN);
	assert_addr(&s->laddr, "2001:db8::1");
	assert_int_equal(s->lport, 8443);
	assert_addr(&s->raddr, "::");
	assert_int_equal(s->cookie, 0x1c6ca);

	s = find_inode(&l, INO_TCP6_DUAL_LISTEN);
	assert_int_equal(s->state, TCP_LISTEN);
	assert_addr(&s->laddr, "::");
	assert_int_equal(s->lport, 8444);

	/* An IPv4 client of a dual-stack listener: v4-mapped. */
	s = find_inode(&l, INO_TCP6_MAPPED_ACCEPTED);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_addr(&s->laddr, "::ffff:198.18.0.1");
	assert_int_equal(s->lport, 8444);
	assert_addr(&s->raddr, "::ffff:198.18.0.2");
	assert_int_equal(s->rport, 40002);
	socklist_free(&l);
}

static void
test_capture_udp(void **state)
{
	struct socklist l = { 0 };
	const struct sock_info *s;

	(void)state;
	parse_file("udp4.nl", IPPROTO_UDP, &l);
	assert_int_equal(l.n, 2);
	s = find_inode(&l, INO_UDP4_UNCONN);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->type, SOCK_DGRAM);
	assert_int_equal(s->state, TCP_CLOSE);
	assert_string_equal(sockdiag_state_name(s), "unconn");
	assert_addr(&s->laddr, "198.18.0.1");
	assert_int_equal(s->lport, 5353);
	assert_int_equal(s->rport, 0);
	assert_int_equal(s->cookie, 0x1c6ce);
	s = find_inode(&l, INO_UDP4_CONN);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_addr(&s->laddr, "198.18.0.2");
	assert_int_equal(s->lport, 5000);
	assert_addr(&s->raddr, "198.18.0.1");
	assert_int_equal(s->rport, 5353);
	socklist_free(&l);

	parse_file("udp6.nl", IPPROTO_UDP, &l);
	assert_int_equal(l.n, 1);
	s = find_inode(&l, INO_UDP6_UNCONN);
	assert_int_equal(s->family, AF_INET6);
	assert_string_equal(sockdiag_state_name(s), "unconn");
	assert_addr(&s->laddr, "2001:db8::1");
	assert_int_equal(s->lport, 5353);
	socklist_free(&l);
}

static void
test_capture_unix(void **state)
{
	char buf[4 * SOCKDIAG_PATH_MAX + 2];
	struct socklist l = { 0 };
	const struct sock_info *s;

	(void)state;
	parse_file("unix.nl", 0, &l);
	assert_int_equal(l.n, 5);

	s = find_inode(&l, INO_UNIX_PATH_LISTEN);
	assert_int_equal(s->family, AF_UNIX);
	assert_int_equal(s->proto, 0);
	assert_int_equal(s->type, SOCK_STREAM);
	assert_string_equal(sockdiag_unix_type_name(s), "stream");
	assert_int_equal(s->state, TCP_LISTEN);
	/* The kernel counts the terminating NUL of a filesystem path. */
	assert_int_equal(s->path_len, sizeof("/tmp/sockwatch-capture/"
	    "listen.sock"));
	assert_string_equal(sockjson_path(s, buf, sizeof(buf)),
	    "/tmp/sockwatch-capture/listen.sock");
	assert_int_equal(s->peer_inode, 0);
	assert_int_equal(s->wq, 16);

	s = find_inode(&l, INO_UNIX_ABSTRACT_LISTEN);
	assert_int_equal(s->state, TCP_LISTEN);
	assert_int_equal(s->path[0], '\0');
	assert_int_equal(s->path_len, 15);
	assert_string_equal(sockjson_path(s, buf, sizeof(buf)),
	    "@sockwatch-test");

	s = find_inode(&l, INO_UNIX_DGRAM);
	assert_int_equal(s->type, SOCK_DGRAM);
	assert_string_equal(sockdiag_unix_type_name(s), "dgram");
	assert_string_equal(sockdiag_state_name(s), "unconn");
	assert_string_equal(sockjson_path(s, buf, sizeof(buf)),
	    "@sw\\x01dgram");

	s = find_inode(&l, INO_UNIX_PAIR_A);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_int_equal(s->path_len, 0);
	assert_string_equal(sockjson_path(s, buf, sizeof(buf)), "*");
	assert_int_equal(s->peer_inode, INO_UNIX_PAIR_B);
	s = find_inode(&l, INO_UNIX_PAIR_B);
	assert_int_equal(s->peer_inode, INO_UNIX_PAIR_A);
	assert_int_equal(s->uid, 0);
	socklist_free(&l);
}

/* Offsets of the message boundaries in a capture. */
static size_t
msg_bounds(const struct blob *b, size_t *bounds, size_t max)
{
	const struct nlmsghdr *nlh;
	size_t off = 0, n = 0;

	while (off + sizeof(*nlh) <= b->len && n < max) {
		nlh = (const struct nlmsghdr *)(b->p + off);
		bounds[n++] = off;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return n;
}

/* Every prefix of a valid capture: whole messages parse, a cut one is
 * -EBADMSG, and only the last prefix sees NLMSG_DONE. */
static void
truncate_file(const char *name, uint8_t proto)
{
	struct sockdiag_query q;
	struct socklist l = { 0 };
	size_t bounds[64], nb, len, i, whole;
	struct blob b;
	bool done, intr, boundary;
	int r;

	query_all(&q);
	blob_load(name, &b);
	nb = msg_bounds(&b, bounds, 64);
	assert_true(nb >= 2);
	for (len = 0; len < b.len; len++) {
		boundary = false;
		whole = 0;
		for (i = 0; i < nb; i++) {
			if (bounds[i] == len)
				boundary = true;
			if (bounds[i] < len)
				whole = i;
		}
		l.n = 0;
		r = parse_exact(b.p, len, proto, &q, &l, &done, &intr);
		assert_false(done);
		if (boundary) {
			assert_int_equal(r, 0);
			/* Every message before the cut is a socket. */
			assert_int_equal(l.n, len == 0 ? 0 : whole + 1);
		} else {
			assert_int_equal(r, -EBADMSG);
		}
	}
	l.n = 0;
	assert_int_equal(parse_exact(b.p, b.len, proto, &q, &l, &done,
	    &intr), 0);
	assert_true(done);
	assert_int_equal(l.n, nb - 1);
	socklist_free(&l);
	free(b.p);
}

static void
test_truncated(void **state)
{
	(void)state;
	truncate_file("tcp4.nl", IPPROTO_TCP);
	truncate_file("tcp6.nl", IPPROTO_TCP);
	truncate_file("udp4.nl", IPPROTO_UDP);
	truncate_file("udp6.nl", IPPROTO_UDP);
	truncate_file("unix.nl", 0);
}

/* Parsing a capture with the wrong protocol's layout. */
static void
test_wrong_layout(void **state)
{
	struct sockdiag_query q;
	struct socklist l = { 0 };
	struct blob b;
	bool done, intr;

	(void)state;
	query_all(&q);
	blob_load("tcp4.nl", &b);
	assert_int_equal(parse_exact(b.p, b.len, 0, &q, &l, &done, &intr),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
	free(b.p);
	blob_load("unix.nl", &b);
	assert_int_equal(parse_exact(b.p, b.len, IPPROTO_TCP, &q, &l, &done,
	    &intr), -EBADMSG);
	assert_int_equal(l.n, 0);
	free(b.p);
	socklist_free(&l);
}

/* A hand-built dump: messages appended to an aligned buffer. */
struct mk {
	union {
		unsigned char b[4096];
		uint64_t align;
	} u;
	size_t len, msg;
};

static void
mk_put(struct mk *m, const void *data, size_t len)
{
	assert_true(m->len + NLMSG_ALIGN(len) <= sizeof(m->u.b));
	memcpy(m->u.b + m->len, data, len);
	memset(m->u.b + m->len + len, 0, NLMSG_ALIGN(len) - len);
	m->len += NLMSG_ALIGN(len);
}

static struct nlmsghdr *
mk_hdr(struct mk *m)
{
	return (struct nlmsghdr *)(m->u.b + m->msg);
}

static void
mk_msg(struct mk *m, uint16_t type, uint16_t flags)
{
	struct nlmsghdr nlh = {
		.nlmsg_type = type, .nlmsg_flags = NLM_F_MULTI | flags,
		.nlmsg_seq = 1,
	};

	m->msg = m->len;
	mk_put(m, &nlh, sizeof(nlh));
}

static void
mk_attr(struct mk *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr nla = { .nla_len = (uint16_t)(NLA_HDRLEN + len),
	    .nla_type = type };

	assert_true(m->len + NLA_HDRLEN + NLMSG_ALIGN(len) <=
	    sizeof(m->u.b));
	memcpy(m->u.b + m->len, &nla, sizeof(nla));
	m->len += NLA_HDRLEN;
	mk_put(m, data, len);
}

static void
mk_end(struct mk *m)
{
	mk_hdr(m)->nlmsg_len = (uint32_t)(m->len - m->msg);
}

static void
mk_inet(struct mk *m, uint8_t family, uint8_t state, uint16_t sport,
    uint16_t dport, uint32_t inode)
{
	struct inet_diag_msg d;

	memset(&d, 0, sizeof(d));
	d.idiag_family = family;
	d.idiag_state = state;
	d.id.idiag_sport = htons(sport);
	d.id.idiag_dport = htons(dport);
	d.idiag_inode = inode;
	mk_msg(m, SOCK_DIAG_BY_FAMILY, 0);
	mk_put(m, &d, sizeof(d));
}

static void
mk_unix(struct mk *m, uint8_t state, uint32_t inode)
{
	struct unix_diag_msg d;

	memset(&d, 0, sizeof(d));
	d.udiag_family = AF_UNIX;
	d.udiag_type = SOCK_STREAM;
	d.udiag_state = state;
	d.udiag_ino = inode;
	mk_msg(m, SOCK_DIAG_BY_FAMILY, 0);
	mk_put(m, &d, sizeof(d));
}

static void
mk_done(struct mk *m, int status)
{
	mk_msg(m, NLMSG_DONE, 0);
	mk_put(m, &status, sizeof(status));
	mk_end(m);
}

static int
mk_parse(const struct mk *m, uint8_t proto, struct socklist *l,
    bool *ret_done, bool *ret_intr)
{
	struct sockdiag_query q;

	query_all(&q);
	l->n = 0;
	return parse_exact(m->u.b, m->len, proto, &q, l, ret_done, ret_intr);
}

static void
test_handbuilt_ok(void **state)
{
	char buf[4 * SOCKDIAG_PATH_MAX + 2];
	struct socklist l = { 0 };
	struct mk m = { .len = 0 };
	char path[SOCKDIAG_PATH_MAX];
	uint32_t peer = 42;
	bool done, intr;

	(void)state;
	/* A NOOP is skipped; a socket; DONE. */
	mk_msg(&m, NLMSG_NOOP, 0);
	mk_end(&m);
	mk_inet(&m, AF_INET, TCP_ESTABLISHED, 1, 2, 7);
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), 0);
	assert_true(done);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].inode, 7);

	/* A UNIX_DIAG_NAME of exactly sizeof(sun_path) bytes is fine. */
	memset(&m, 0, sizeof(m));
	memset(path, 'a', sizeof(path));
	mk_unix(&m, TCP_LISTEN, 9);
	mk_attr(&m, UNIX_DIAG_NAME, path, sizeof(path));
	mk_attr(&m, UNIX_DIAG_PEER, &peer, sizeof(peer));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].path_len, SOCKDIAG_PATH_MAX);
	assert_int_equal(l.v[0].peer_inode, 42);
	assert_int_equal(strlen(sockjson_path(&l.v[0], buf, sizeof(buf))),
	    SOCKDIAG_PATH_MAX);

	/* INET_DIAG_PROTOCOL (destroy notifications) names the protocol;
	 * anything but TCP or UDP there is malformed. */
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET6, TCP_CLOSE, 53, 0, 11);
	mk_attr(&m, INET_DIAG_PROTOCOL, "\x11", 1);
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].proto, IPPROTO_UDP);
	assert_string_equal(sockdiag_state_name(&l.v[0]), "unconn");
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET6, TCP_CLOSE, 53, 0, 11);
	mk_attr(&m, INET_DIAG_PROTOCOL, "\x84", 1);	/* SCTP */
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET6, TCP_CLOSE, 53, 0, 11);
	mk_attr(&m, INET_DIAG_PROTOCOL, "", 0);
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);

	/* A DONE without the status int (older kernels' shape). */
	memset(&m, 0, sizeof(m));
	mk_msg(&m, NLMSG_DONE, 0);
	mk_end(&m);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), 0);
	assert_true(done);
	socklist_free(&l);
}

static void
test_bad_nlmsg_len(void **state)
{
	static const uint32_t lens[] = { 0, 1, 8, 15, 16 + 72 + 4, 4096,
	    UINT32_MAX };
	struct socklist l = { 0 };
	struct mk m;
	bool done, intr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(&m, 0, sizeof(m));
		mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
		mk_end(&m);
		mk_hdr(&m)->nlmsg_len = lens[i];
		assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
		    -EBADMSG);
		assert_int_equal(l.n, 0);
	}
	/* The same with a good message in front. */
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
	mk_end(&m);
	mk_msg(&m, NLMSG_DONE, 0);
	mk_end(&m);
	mk_hdr(&m)->nlmsg_len = 12;
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);
	assert_false(done);
	socklist_free(&l);
}

static void
test_short_payload(void **state)
{
	struct socklist l = { 0 };
	struct mk m;
	bool done, intr;
	size_t cut;

	(void)state;
	/* inet_diag_msg cut short, the message length agreeing. */
	for (cut = 4; cut <= sizeof(struct inet_diag_msg); cut += 4) {
		memset(&m, 0, sizeof(m));
		mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
		m.len -= cut;
		mk_end(&m);
		mk_done(&m, 0);
		assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
		    -EBADMSG);
		assert_int_equal(l.n, 0);
	}
	for (cut = 4; cut <= sizeof(struct unix_diag_msg); cut += 4) {
		memset(&m, 0, sizeof(m));
		mk_unix(&m, TCP_LISTEN, 1);
		m.len -= cut;
		mk_end(&m);
		mk_done(&m, 0);
		assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
		assert_int_equal(l.n, 0);
	}
	/* NLMSG_ERROR too short to hold struct nlmsgerr. */
	memset(&m, 0, sizeof(m));
	mk_msg(&m, NLMSG_ERROR, 0);
	mk_put(&m, "\xf3\xff\xff\xff", 4);
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);
	socklist_free(&l);
}

static void
test_bad_family(void **state)
{
	static const uint8_t fams[] = { AF_UNSPEC, AF_UNIX, AF_NETLINK, 255 };
	struct socklist l = { 0 };
	struct unix_diag_msg u;
	struct mk m;
	bool done, intr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		memset(&m, 0, sizeof(m));
		mk_inet(&m, fams[i], TCP_LISTEN, 80, 0, 1);
		mk_end(&m);
		mk_done(&m, 0);
		assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
		    -EBADMSG);
		assert_int_equal(mk_parse(&m, IPPROTO_UDP, &l, &done, &intr),
		    -EBADMSG);
		assert_int_equal(l.n, 0);
	}
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	u.udiag_family = AF_INET;
	mk_msg(&m, SOCK_DIAG_BY_FAMILY, 0);
	mk_put(&m, &u, sizeof(u));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	assert_int_equal(l.n, 0);
	socklist_free(&l);
}

static void
test_bad_attrs(void **state)
{
	char path[SOCKDIAG_PATH_MAX + 1];
	struct socklist l = { 0 };
	struct nlattr *nla;
	uint32_t peer = 42;
	uint16_t small = 1;
	struct mk m;
	bool done, intr;

	(void)state;
	/* UNIX_DIAG_NAME one byte longer than sun_path. */
	memset(path, 'a', sizeof(path));
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	mk_attr(&m, UNIX_DIAG_NAME, path, sizeof(path));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	assert_int_equal(l.n, 0);

	/* An attribute whose length runs past the end of its message. */
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	nla = (struct nlattr *)(m.u.b + m.len);
	mk_attr(&m, UNIX_DIAG_NAME, "\0abstract", 9);
	nla->nla_len = 200;
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	assert_int_equal(l.n, 0);

	/* The same on an inet message. */
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
	nla = (struct nlattr *)(m.u.b + m.len);
	mk_attr(&m, INET_DIAG_SHUTDOWN, "\0", 1);
	nla->nla_len = 64;
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);
	assert_int_equal(l.n, 0);

	/* An attribute header shorter than itself. */
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	nla = (struct nlattr *)(m.u.b + m.len);
	mk_attr(&m, UNIX_DIAG_PEER, &peer, sizeof(peer));
	nla->nla_len = 2;
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	assert_int_equal(l.n, 0);

	/* Fixed-size attributes too small for their type. */
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	mk_attr(&m, UNIX_DIAG_PEER, &small, sizeof(small));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	mk_attr(&m, UNIX_DIAG_RQLEN, &peer, sizeof(peer));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	memset(&m, 0, sizeof(m));
	mk_unix(&m, TCP_LISTEN, 1);
	mk_attr(&m, UNIX_DIAG_UID, &small, sizeof(small));
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, 0, &l, &done, &intr), -EBADMSG);
	assert_int_equal(l.n, 0);
	socklist_free(&l);
}

static void
test_error_and_done(void **state)
{
	struct socklist l = { 0 };
	struct nlmsgerr e;
	struct mk m;
	bool done, intr;

	(void)state;
	/* NLMSG_ERROR carries the kernel's errno. */
	memset(&m, 0, sizeof(m));
	memset(&e, 0, sizeof(e));
	e.error = -EPERM;
	mk_msg(&m, NLMSG_ERROR, 0);
	mk_put(&m, &e, sizeof(e));
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), -EPERM);
	assert_false(done);

	/* An acknowledgement (error 0) is not a dump reply. */
	e.error = 0;
	memset(&m, 0, sizeof(m));
	mk_msg(&m, NLMSG_ERROR, 0);
	mk_put(&m, &e, sizeof(e));
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EPROTO);

	/* NLMSG_DONE with a negative status, after a socket. */
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET6, TCP_LISTEN, 80, 0, 1);
	mk_end(&m);
	mk_done(&m, -ENOBUFS);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -ENOBUFS);
	assert_false(done);

	/* An unknown message type. */
	memset(&m, 0, sizeof(m));
	mk_msg(&m, 0x77, 0);
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr),
	    -EBADMSG);

	/* Whatever follows DONE is not read. */
	memset(&m, 0, sizeof(m));
	mk_done(&m, 0);
	mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), 0);
	assert_true(done);
	assert_int_equal(l.n, 0);
	socklist_free(&l);
}

static void
test_dump_intr(void **state)
{
	struct socklist l = { 0 };
	struct mk m;
	bool done, intr;

	(void)state;
	memset(&m, 0, sizeof(m));
	mk_inet(&m, AF_INET, TCP_LISTEN, 80, 0, 1);
	mk_end(&m);
	mk_inet(&m, AF_INET, TCP_ESTABLISHED, 80, 9, 2);
	mk_hdr(&m)->nlmsg_flags |= NLM_F_DUMP_INTR;
	mk_end(&m);
	mk_done(&m, 0);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), 0);
	assert_true(intr);
	assert_true(done);

	/* Also when only DONE carries the flag. */
	memset(&m, 0, sizeof(m));
	mk_msg(&m, NLMSG_DONE, NLM_F_DUMP_INTR);
	mk_put(&m, "\0\0\0\0", 4);
	mk_end(&m);
	assert_int_equal(mk_parse(&m, IPPROTO_TCP, &l, &done, &intr), 0);
	assert_true(intr);
	socklist_free(&l);
}

/* Parse a capture with query q; return how many sockets pass. */
static size_t
count_match(const char *name, uint8_t proto, const struct sockdiag_query *q)
{
	struct socklist l = { 0 };
	struct blob b;
	bool done, intr;
	size_t n;

	blob_load(name, &b);
	assert_int_equal(parse_exact(b.p, b.len, proto, q, &l, &done, &intr),
	    0);
	assert_true(done);
	n = l.n;
	free(b.p);
	socklist_free(&l);
	return n;
}

static void
test_filters(void **state)
{
	struct sockdiag_query q;

	(void)state;
	/* Protocol. */
	query_all(&q);
	q.protos = SOCKDIAG_UDP | SOCKDIAG_UNIX;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);
	assert_int_equal(count_match("udp4.nl", IPPROTO_UDP, &q), 2);
	q.protos = SOCKDIAG_TCP;
	assert_int_equal(count_match("unix.nl", 0, &q), 0);

	/* Family: a v4-mapped socket is still inet6. */
	query_all(&q);
	q.families = SOCKDIAG_INET4;
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 0);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 4);
	q.families = SOCKDIAG_INET6;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 3);

	/* State mask, UNIX sockets included. */
	query_all(&q);
	q.states = 1U << TCP_LISTEN;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 1);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 2);
	assert_int_equal(count_match("unix.nl", 0, &q), 2);
	q.states = 1U << TCP_ESTABLISHED;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 3);
	assert_int_equal(count_match("unix.nl", 0, &q), 2);
	q.states = 1U << TCP_CLOSE;
	assert_int_equal(count_match("udp4.nl", IPPROTO_UDP, &q), 1);
	assert_int_equal(count_match("unix.nl", 0, &q), 1);
	q.states = 0;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);

	/* Port, either end; UNIX sockets never match a port. */
	query_all(&q);
	q.port = 8080;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 3);
	q.port = 40001;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 2);
	q.port = 5353;
	assert_int_equal(count_match("udp4.nl", IPPROTO_UDP, &q), 2);
	assert_int_equal(count_match("udp6.nl", IPPROTO_UDP, &q), 1);
	q.port = 8080;
	assert_int_equal(count_match("unix.nl", 0, &q), 0);
	q.port = 1;
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);

	/* Peer CIDR; a v4-mapped peer matches an IPv4 prefix. */
	query_all(&q);
	q.has_peer = true;
	assert_int_equal(cidr_parse("198.18.0.2/32", &q.peer), 0);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 1);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 1);
	assert_int_equal(count_match("unix.nl", 0, &q), 0);
	assert_int_equal(cidr_parse("198.18.0.0/15", &q.peer), 0);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 3);
	assert_int_equal(count_match("udp4.nl", IPPROTO_UDP, &q), 1);
	assert_int_equal(cidr_parse("::ffff:198.18.0.2", &q.peer), 0);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 1);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &q.peer), 0);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 0);
	assert_int_equal(cidr_parse("::/0", &q.peer), 0);
	assert_int_equal(count_match("tcp6.nl", IPPROTO_TCP, &q), 3);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 0);

	/* Port and peer together. */
	query_all(&q);
	q.port = 8080;
	q.has_peer = true;
	assert_int_equal(cidr_parse("198.18.0.1", &q.peer), 0);
	assert_int_equal(count_match("tcp4.nl", IPPROTO_TCP, &q), 1);
}

static void
test_match_direct(void **state)
{
	struct sockdiag_query q;
	struct sock_info s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.family = AF_INET6;
	s.proto = IPPROTO_TCP;
	s.state = TCP_ESTABLISHED;
	s.lport = 443;
	s.rport = 50000;
	assert_int_equal(addr_parse("::ffff:198.19.1.1", &s.raddr), 0);
	query_all(&q);
	assert_true(sockdiag_match(&q, &s));
	q.has_peer = true;
	assert_int_equal(cidr_parse("198.19.0.0/16", &q.peer), 0);
	assert_true(sockdiag_match(&q, &s));
	assert_int_equal(cidr_parse("198.18.0.0/16", &q.peer), 0);
	assert_false(sockdiag_match(&q, &s));
	q.has_peer = false;
	q.port = 50000;
	assert_true(sockdiag_match(&q, &s));
	q.port = 443;
	assert_true(sockdiag_match(&q, &s));
	q.port = 80;
	assert_false(sockdiag_match(&q, &s));
	/* States beyond the mask's 32 bits never match. */
	query_all(&q);
	q.states = UINT32_MAX;
	s.state = 32;
	assert_false(sockdiag_match(&q, &s));
	s.state = 255;
	assert_false(sockdiag_match(&q, &s));
}

static void
test_state_names(void **state)
{
	static const struct {
		const char *name;
		uint32_t mask;
	} good[] = {
		{ "established", 1U << TCP_ESTABLISHED },
		{ "syn-sent", 1U << TCP_SYN_SENT },
		{ "syn-recv", (1U << TCP_SYN_RECV) | (1U << 12) },
		{ "fin-wait-1", 1U << TCP_FIN_WAIT1 },
		{ "fin-wait-2", 1U << TCP_FIN_WAIT2 },
		{ "time-wait", 1U << TCP_TIME_WAIT },
		{ "close", 1U << TCP_CLOSE },
		{ "unconn", 1U << TCP_CLOSE },
		{ "close-wait", 1U << TCP_CLOSE_WAIT },
		{ "last-ack", 1U << TCP_LAST_ACK },
		{ "listen", 1U << TCP_LISTEN },
		{ "closing", 1U << TCP_CLOSING },
	};
	static const char *const bad[] = {
		"", "LISTEN", "Listen", "listen ", " listen", "syn_recv",
		"finwait1", "unknown", "new-syn-recv", "all", "listening",
	};
	struct sock_info s;
	uint32_t mask;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		mask = 0;
		assert_int_equal(sockdiag_state_parse(good[i].name, &mask), 0);
		assert_int_equal(mask, good[i].mask);
		assert_int_equal(mask & ~SOCKDIAG_STATES_ALL, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sockdiag_state_parse(bad[i], &mask), -EINVAL);

	/* Names round-trip for TCP. */
	memset(&s, 0, sizeof(s));
	s.proto = IPPROTO_TCP;
	for (s.state = TCP_ESTABLISHED; s.state <= TCP_CLOSING; s.state++) {
		assert_int_equal(sockdiag_state_parse(sockdiag_state_name(&s),
		    &mask), 0);
		assert_int_equal(mask & (1U << s.state), 1U << s.state);
	}
	s.state = TCP_CLOSE;
	assert_string_equal(sockdiag_state_name(&s), "close");
	s.state = 12;
	assert_string_equal(sockdiag_state_name(&s), "syn-recv");
	s.state = 0;
	assert_string_equal(sockdiag_state_name(&s), "unknown");
	s.state = 13;
	assert_string_equal(sockdiag_state_name(&s), "unknown");
	s.state = 255;
	assert_string_equal(sockdiag_state_name(&s), "unknown");
	s.proto = IPPROTO_UDP;
	s.state = TCP_CLOSE;
	assert_string_equal(sockdiag_state_name(&s), "unconn");
	s.proto = 0;
	s.family = AF_UNIX;
	assert_string_equal(sockdiag_state_name(&s), "unconn");
	s.state = TCP_LISTEN;
	assert_string_equal(sockdiag_state_name(&s), "listen");
}

/* Inputs the fuzzer once crashed on, kept in tests/data/fuzz-regress/ in
 * the fuzzer's format: the first byte picks the protocol (see
 * tests/fuzz/fuzz_sockdiag.c), the rest is the reply. Each must parse to
 * 0 or a negative errno, without reading out of bounds. */
static void
test_fuzz_regress(void **state)
{
	static const uint8_t protos[] = { 0, IPPROTO_TCP, IPPROTO_UDP };
	struct sockdiag_query q;
	struct socklist l = { 0 };
	char dir[512], rel[512];
	struct dirent *de;
	struct blob b;
	bool done, intr;
	size_t n = 0;
	DIR *d;
	int r;

	(void)state;
	query_all(&q);
	snprintf(dir, sizeof(dir), "%s/fuzz-regress", data_dir());
	if ((d = opendir(dir)) == NULL)
		return;		/* none yet */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "fuzz-regress/%s", de->d_name);
		blob_load(rel, &b);
		if (b.len > 0) {
			l.n = 0;
			r = parse_exact(b.p + 1, b.len - 1,
			    protos[b.p[0] % 3], &q, &l, &done, &intr);
			assert_true(r <= 0);
			n++;
		}
		free(b.p);
	}
	closedir(d);
	socklist_free(&l);
	print_message("replayed %zu fuzz regression inputs\n", n);
}

/* The SOCK_DESTROY request for a hand-made socket, field by field. */
static void
test_destroy_msg(void **state)
{
	struct inet_diag_req_v2 req;
	const struct nlmsghdr *nlh;
	struct sock_info s;
	unsigned char buf[256], *copy;
	uint32_t raw[4];
	int len;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	s.proto = IPPROTO_TCP;
	s.state = TCP_ESTABLISHED;
	s.lport = 7001;
	s.rport = 40001;
	assert_int_equal(addr_parse("198.18.0.1", &s.laddr), 0);
	assert_int_equal(addr_parse("198.18.0.2", &s.raddr), 0);
	s.ifindex = 7;
	s.cookie = 0x1122334455667788ULL;

	memset(buf, 0xa5, sizeof(buf));
	len = sockdiag_destroy_msg(&s, 42, buf, sizeof(buf));
	assert_int_equal(len, NLMSG_SPACE(sizeof(req)));
	/* From an exact-size copy: nothing past len is part of it. */
	copy = malloc((size_t)len);
	assert_non_null(copy);
	memcpy(copy, buf, (size_t)len);
	nlh = (const struct nlmsghdr *)copy;
	assert_int_equal(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(req)));
	assert_int_equal(nlh->nlmsg_type, SOCK_DESTROY);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, 42);
	assert_int_equal(nlh->nlmsg_pid, 0);
	memcpy(&req, copy + NLMSG_HDRLEN, sizeof(req));
	assert_int_equal(req.sdiag_family, AF_INET);
	assert_int_equal(req.sdiag_protocol, IPPROTO_TCP);
	assert_int_equal(req.idiag_ext, 0);
	assert_int_equal(req.idiag_states, 0);
	assert_int_equal(ntohs(req.id.idiag_sport), 7001);
	assert_int_equal(ntohs(req.id.idiag_dport), 40001);
	/* IPv4 in the first word, the rest zero, as the kernel reports. */
	memset(raw, 0, sizeof(raw));
	memcpy(raw, s.laddr.u.bytes, 4);
	assert_memory_equal(req.id.idiag_src, raw, sizeof(raw));
	memcpy(raw, s.raddr.u.bytes, 4);
	assert_memory_equal(req.id.idiag_dst, raw, sizeof(raw));
	assert_int_equal(req.id.idiag_if, 7);
	assert_int_equal(req.id.idiag_cookie[0], 0x55667788);
	assert_int_equal(req.id.idiag_cookie[1], 0x11223344);
	free(copy);

	/* IPv6 and UDP: all 16 bytes. */
	s.family = AF_INET6;
	s.proto = IPPROTO_UDP;
	assert_int_equal(addr_parse("2001:db8::1", &s.laddr), 0);
	assert_int_equal(addr_parse("::ffff:198.18.0.2", &s.raddr), 0);
	assert_int_equal(sockdiag_destroy_msg(&s, 43, buf, sizeof(buf)), len);
	memcpy(&req, buf + NLMSG_HDRLEN, sizeof(req));
	assert_int_equal(req.sdiag_family, AF_INET6);
	assert_int_equal(req.sdiag_protocol, IPPROTO_UDP);
	assert_memory_equal(req.id.idiag_src, s.laddr.u.bytes, 16);
	assert_memory_equal(req.id.idiag_dst, s.raddr.u.bytes, 16);

	/* Too small a buffer; not inet TCP or UDP. */
	assert_int_equal(sockdiag_destroy_msg(&s, 1, buf, (size_t)len - 1),
	    -ENOBUFS);
	s.proto = IPPROTO_RAW;
	assert_int_equal(sockdiag_destroy_msg(&s, 1, buf, sizeof(buf)),
	    -EINVAL);
	s.proto = IPPROTO_TCP;
	s.family = AF_UNIX;
	assert_int_equal(sockdiag_destroy_msg(&s, 1, buf, sizeof(buf)),
	    -EINVAL);
}

/*
 * Round trip against the kernel's own bytes: every inet socket of the
 * captures, parsed and encoded again, must name itself with exactly the
 * inet_diag_sockid the kernel reported (that is what the kernel looks it
 * up by, cookie included).
 */
static void
test_destroy_msg_roundtrip(void **state)
{
	static const struct {
		const char *file;
		uint8_t proto;
	} caps[] = {
		{ "tcp4.nl", IPPROTO_TCP }, { "tcp6.nl", IPPROTO_TCP },
		{ "udp4.nl", IPPROTO_UDP }, { "udp6.nl", IPPROTO_UDP },
	};
	unsigned char buf[NLMSG_SPACE(sizeof(struct inet_diag_req_v2))];
	const struct inet_diag_msg *m;
	struct inet_diag_req_v2 req;
	struct sockdiag_query q;
	struct socklist l = { 0 };
	struct nlmsghdr *nlh;
	struct blob b;
	bool done, intr;
	size_t i, n = 0;
	int rem;

	(void)state;
	query_all(&q);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		blob_load(caps[i].file, &b);
		rem = (int)b.len;
		for (nlh = (struct nlmsghdr *)b.p; NLMSG_OK(nlh, rem);
		    nlh = NLMSG_NEXT(nlh, rem)) {
			if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			l.n = 0;
			assert_int_equal(parse_exact(nlh, nlh->nlmsg_len,
			    caps[i].proto, &q, &l, &done, &intr), 0);
			assert_int_equal(l.n, 1);
			assert_int_equal(sockdiag_destroy_msg(&l.v[0], 9, buf,
			    sizeof(buf)), sizeof(buf));
			memcpy(&req, buf + NLMSG_HDRLEN, sizeof(req));
			m = NLMSG_DATA(nlh);
			assert_int_equal(req.sdiag_family, m->idiag_family);
			assert_int_equal(req.sdiag_protocol, caps[i].proto);
			assert_memory_equal(&req.id, &m->id, sizeof(req.id));
			n++;
		}
		free(b.p);
	}
	socklist_free(&l);
	/* tcp4 4, tcp6 3, udp4 2, udp6 1 (test_capture_*) */
	assert_int_equal(n, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_tcp4),
		cmocka_unit_test(test_capture_tcp6),
		cmocka_unit_test(test_capture_udp),
		cmocka_unit_test(test_capture_unix),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_layout),
		cmocka_unit_test(test_handbuilt_ok),
		cmocka_unit_test(test_bad_nlmsg_len),
		cmocka_unit_test(test_short_payload),
		cmocka_unit_test(test_bad_family),
		cmocka_unit_test(test_bad_attrs),
		cmocka_unit_test(test_error_and_done),
		cmocka_unit_test(test_dump_intr),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_match_direct),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_fuzz_regress),
		cmocka_unit_test(test_destroy_msg),
		cmocka_unit_test(test_destroy_msg_roundtrip),
	};

	return cmocka_run_group_tests_name("sockdiag", tests, NULL, NULL);
}
