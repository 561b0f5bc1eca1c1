/*
 * The BPF iterators' records (monitor/bpf/sockiter.h) into sock_info and
 * procmap entries: every field lands where sock_diag's parser puts it,
 * the query filters as sockdiag_match does, and a record no kernel
 * program writes is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "../../monitor/bpfrec.h"
#include "../../monitor/bpf/sockiter.h"

static const struct sockdiag_query all = {
	.protos = SOCKDIAG_TCP | SOCKDIAG_UDP,
	.families = SOCKDIAG_INET4 | SOCKDIAG_INET6,
	.states = SOCKDIAG_STATES_ALL,
	.port = -1,
};

static struct sockiter_inet
inet_rec(int family, const char *l, uint16_t lport, const char *r,
    uint16_t rport, uint8_t proto, uint8_t state)
{
	struct sockiter_inet rec;

	memset(&rec, 0, sizeof(rec));
	rec.family = (uint8_t)family;
	assert_int_equal(inet_pton(family, l, rec.laddr), 1);
	assert_int_equal(inet_pton(family, r, rec.raddr), 1);
	rec.lport = lport;
	rec.rport = rport;
	rec.proto = proto;
	rec.state = state;
	return rec;
}

static void
test_inet_fields(void **state)
{
	struct sockiter_inet v[2];
	struct socklist l = { 0 };
	char buf[ADDR_STRLEN];
	const struct sock_info *s;

	(void)state;
	v[0] = inet_rec(AF_INET, "198.18.0.1", 7001, "198.18.0.2", 40000,
	    IPPROTO_TCP, TCP_ESTABLISHED);
	v[0].rq = 100;
	v[0].wq = 7;
	v[0].uid = 65534;
	v[0].inode = 123456;
	v[0].ifindex = 3;
	v[0].cookie = 0x1122334455667788ULL;
	v[1] = inet_rec(AF_INET6, "2001:db8::1", 53, "::", 0, IPPROTO_UDP,
	    TCP_CLOSE);
	assert_int_equal(bpfrec_inet(v, sizeof(v), &all, &l), 0);
	assert_int_equal(l.n, 2);
	s = &l.v[0];
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->type, SOCK_STREAM);
	assert_int_equal(s->state, TCP_ESTABLISHED);
	assert_string_equal(addr_format(&s->laddr, buf, sizeof(buf)),
	    "198.18.0.1");
	assert_string_equal(addr_format(&s->raddr, buf, sizeof(buf)),
	    "198.18.0.2");
	assert_int_equal(s->lport, 7001);
	assert_int_equal(s->rport, 40000);
	assert_int_equal(s->rq, 100);
	assert_int_equal(s->wq, 7);
	assert_int_equal(s->uid, 65534);
	assert_int_equal(s->inode, 123456);
	assert_int_equal(s->ifindex, 3);
	assert_true(s->cookie == 0x1122334455667788ULL);
	assert_int_equal(s->path_len, 0);
	s = &l.v[1];
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->type, SOCK_DGRAM);
	assert_string_equal(sockdiag_state_name(s), "unconn");
	assert_string_equal(addr_format(&s->laddr, buf, sizeof(buf)),
	    "2001:db8::1");
	assert_int_equal(s->lport, 53);
	socklist_free(&l);
}

/* The query's filters apply to records as to sock_diag replies. */
static void
test_inet_filter(void **state)
{
	struct sockiter_inet v[4];
	struct sockdiag_query q = all;
	struct socklist l = { 0 };

	(void)state;
	v[0] = inet_rec(AF_INET, "127.0.0.1", 22, "0.0.0.0", 0, IPPROTO_TCP,
	    TCP_LISTEN);
	v[1] = inet_rec(AF_INET, "127.0.0.1", 22, "127.0.0.1", 5000,
	    IPPROTO_TCP, TCP_ESTABLISHED);
	v[2] = inet_rec(AF_INET6, "::1", 5000, "::1", 22, IPPROTO_TCP,
	    TCP_ESTABLISHED);
	v[3] = inet_rec(AF_INET, "127.0.0.1", 53, "0.0.0.0", 0, IPPROTO_UDP,
	    TCP_CLOSE);
	q.states = 1U << TCP_ESTABLISHED;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &q, &l), 0);
	assert_int_equal(l.n, 2);
	l.n = 0;
	q.families = SOCKDIAG_INET6;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &q, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].lport, 5000);
	l.n = 0;
	q = all;
	q.protos = SOCKDIAG_UDP;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &q, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].lport, 53);
	l.n = 0;
	q = all;
	q.port = 22;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &q, &l), 0);
	assert_int_equal(l.n, 3);
	socklist_free(&l);
}

static void
test_inet_bad(void **state)
{
	struct sockiter_inet v[2];
	struct socklist l = { 0 };

	(void)state;
	v[0] = inet_rec(AF_INET, "127.0.0.1", 1, "127.0.0.1", 2, IPPROTO_TCP,
	    TCP_ESTABLISHED);
	v[1] = v[0];
	/* A partial record. */
	assert_int_equal(bpfrec_inet(v, sizeof(v) - 1, &all, &l), -EBADMSG);
	/* No such family or protocol from the program. */
	v[1].family = AF_UNIX;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &all, &l), -EBADMSG);
	v[1].family = AF_INET;
	v[1].proto = IPPROTO_ICMP;
	assert_int_equal(bpfrec_inet(v, sizeof(v), &all, &l), -EBADMSG);
	/* Nothing is nothing. */
	l.n = 0;
	assert_int_equal(bpfrec_inet(v, 0, &all, &l), 0);
	assert_int_equal(l.n, 0);
	socklist_free(&l);
}

static struct sockiter_file
file_rec(uint32_t inode, int pid, int fd, const char *comm)
{
	struct sockiter_file f;

	memset(&f, 0, sizeof(f));
	f.inode = inode;
	f.pid = pid;
	f.fd = fd;
	/* A comm of 15 characters fills the field but for its NUL. */
	strncpy(f.comm, comm, sizeof(f.comm) - 1);
	return f;
}

static void
test_files(void **state)
{
	struct sockiter_file v[5];
	struct proc_owner o[4];
	struct procmap *pm;

	(void)state;
	v[0] = file_rec(100, 10, 3, "sshd");
	v[1] = file_rec(101, 10, 4, "sshd");
	v[2] = file_rec(100, 10, 7, "sshd");	/* the same socket twice */
	v[3] = file_rec(100, 20, 5, "averylongname15");
	v[4] = file_rec(102, 20, 6, "averylongname15");
	assert_int_equal(procmap_new(&pm), 0);
	assert_int_equal(bpfrec_files(v, sizeof(v), pm), 0);
	assert_int_equal(procmap_finish(pm), 0);
	assert_int_equal(procmap_count(pm), 5);
	assert_int_equal(procmap_denied(pm), 0);
	/* One owner per process, its lowest fd, by ascending pid. */
	assert_int_equal(procmap_lookup(pm, 100, o, 4), 2);
	assert_int_equal(o[0].pid, 10);
	assert_int_equal(o[0].fd, 3);
	assert_string_equal(o[0].comm, "sshd");
	assert_int_equal(o[1].pid, 20);
	assert_string_equal(o[1].comm, "averylongname15");
	assert_int_equal(procmap_lookup(pm, 102, o, 4), 1);
	assert_int_equal(o[0].fd, 6);
	assert_int_equal(procmap_lookup(pm, 999, o, 4), 0);
	procmap_free(pm);
}

static void
test_files_bad(void **state)
{
	struct sockiter_file v[2];
	struct procmap *pm;

	(void)state;
	v[0] = file_rec(100, 10, 3, "a");
	v[1] = file_rec(100, 0, 3, "a");
	assert_int_equal(procmap_new(&pm), 0);
	assert_int_equal(bpfrec_files(v, sizeof(v) - 4, pm), -EBADMSG);
	assert_int_equal(bpfrec_files(v, sizeof(v), pm), -EBADMSG);
	v[1] = file_rec(100, 10, -1, "a");
	assert_int_equal(bpfrec_files(v, sizeof(v), pm), -EBADMSG);
	procmap_free(pm);
}

/* A comm without its NUL (the kernel's field is 16 bytes) is cut. */
static void
test_files_comm_unterminated(void **state)
{
	struct sockiter_file f = file_rec(7, 1, 0, "");
	struct proc_owner o;
	struct procmap *pm;

	(void)state;
	memset(f.comm, 'c', sizeof(f.comm));
	assert_int_equal(procmap_new(&pm), 0);
	assert_int_equal(bpfrec_files(&f, sizeof(f), pm), 0);
	assert_int_equal(procmap_finish(pm), 0);
	assert_int_equal(procmap_lookup(pm, 7, &o, 1), 1);
	assert_int_equal(strlen(o.comm), PROC_COMM_MAX - 1);
	procmap_free(pm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet_fields),
		cmocka_unit_test(test_inet_filter),
		cmocka_unit_test(test_inet_bad),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_files_bad),
		cmocka_unit_test(test_files_comm_unterminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
