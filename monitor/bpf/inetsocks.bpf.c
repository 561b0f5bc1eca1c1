// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP and UDP sockets of the reader's network namespace (iter/tcp,
 * iter/udp) as the records of sockiter.h, each field what sock_diag says
 * for the same socket. Used only when asked for (SOCKWATCH_BPF=sockets):
 * on 6.18 these walks cost more than the inet_diag dump, which reads the
 * established hash without its locks (docs/benchmarks.md, section 1). No
 * iter/unix: on 6.18 it loses the rest of a hash bucket when a read()
 * ends inside it, and sock_diag lists UNIX sockets faster anyway.
 *
 * GPL: bpf_seq_write and the socket casts are GPL-only helpers.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "sockiter.h"

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define TCP_SYN_RECV	3
#define TCP_LISTEN	10

char LICENSE[] SEC("license") = "GPL";

/* Set before each read: bit (1 << state) per wanted state, as in
 * sockdiag_query.states; the rest of the filter is applied in user space. */
__u32 want_states = 0;

/* struct sock as kernels that keep sk_ino have it (6.18 does, 6.1 does
 * not): named apart, so that this file also compiles against the
 * vmlinux.h of a kernel without the field; CO-RE matches it to struct
 * sock when loaded. */
struct sock___ino {
	unsigned long sk_ino;
} __attribute__((preserve_access_index));

/* sock_i_ino(): sk_ino where the kernel keeps it, else the inode that
 * holds the socket. 0 for a socket without a file. */
static __always_inline __u32
sk_inode(struct sock *sk)
{
	struct sock___ino *ski = (void *)sk;
	struct socket_alloc *sa;
	struct socket *so;

	if (bpf_core_field_exists(ski->sk_ino))
		return (__u32)ski->sk_ino;
	so = sk->sk_socket;
	if (so == NULL)
		return 0;
	sa = (void *)so - bpf_core_field_offset(struct socket_alloc, socket);
	return (__u32)BPF_CORE_READ(sa, vfs_inode.i_ino);
}

static __always_inline bool
state_wanted(__u8 state)
{
	return state < 32 && (want_states & (1U << state));
}

static __always_inline void
inet_common(struct sock_common *skc, struct sockiter_inet *r)
{
	r->family = skc->skc_family;
	r->lport = skc->skc_num;
	r->rport = bpf_ntohs(skc->skc_dport);
	r->ifindex = skc->skc_bound_dev_if;
	/* Direct loads, not bpf_probe_read_kernel: the verifier turns them
	 * into guarded loads, without a helper call per field. */
	if (r->family == AF_INET6) {
		__builtin_memcpy(r->laddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(r->raddr, &skc->skc_v6_daddr, 16);
	} else {
		__builtin_memcpy(r->laddr, &skc->skc_rcv_saddr, 4);
		__builtin_memcpy(r->raddr, &skc->skc_daddr, 4);
	}
	r->cookie = bpf_get_socket_cookie(skc);
}

/* tcp_diag_get_info(): a listener's backlog, else unread and unacked
 * bytes. */
static __always_inline void
tcp_queues(struct tcp_sock *tp, struct sockiter_inet *r)
{
	struct sock *sk = (struct sock *)tp;
	int unread;

	if (r->state == TCP_LISTEN) {
		r->rq = sk->sk_ack_backlog;
		r->wq = sk->sk_max_ack_backlog;
		return;
	}
	unread = (int)(tp->rcv_nxt - tp->copied_seq);
	r->rq = unread > 0 ? (__u32)unread : 0;
	r->wq = tp->write_seq - tp->snd_una;
}

SEC("iter/tcp")
int
sockiter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_timewait_sock *tw;
	struct sockiter_inet r = {};
	struct tcp_sock *tp;

	if (skc == NULL)
		return 0;
	r.proto = IPPROTO_TCP;
	/* A time-wait socket says the state it came from, a request socket
	 * SYN-RECV; neither has a uid, inode or queue (inet_diag.c). */
	if ((tp = bpf_skc_to_tcp_sock(skc)) != NULL) {
		r.state = tp->inet_conn.icsk_inet.sk.__sk_common.skc_state;
		if (!state_wanted(r.state))
			return 0;
		tcp_queues(tp, &r);
		r.uid = ctx->uid;
		r.inode = sk_inode((struct sock *)tp);
	} else if ((tw = bpf_skc_to_tcp_timewait_sock(skc)) != NULL) {
		r.state = tw->tw_sk.tw_substate;
		if (!state_wanted(r.state))
			return 0;
	} else if (bpf_skc_to_tcp_request_sock(skc) != NULL) {
		r.state = TCP_SYN_RECV;
		if (!state_wanted(r.state))
			return 0;
	} else
		return 0;
	inet_common(skc, &r);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/udp")
int
sockiter_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *up = ctx->udp_sk;
	struct sockiter_inet r = {};
	struct sock *sk;

	if (up == NULL)
		return 0;
	sk = (struct sock *)up;
	r.proto = IPPROTO_UDP;
	r.state = sk->__sk_common.skc_state;
	if (!state_wanted(r.state))
		return 0;
	/* udp_diag_get_info(): udp_rqueue_get() and sk_wmem_alloc_get(). */
	r.rq = (__u32)(sk->sk_backlog.rmem_alloc.counter -
	    up->forward_deficit);
	r.wq = sk->sk_wmem_alloc.refs.counter - 1;
	r.uid = ctx->uid;
	r.inode = sk_inode(sk);
	inet_common(&sk->__sk_common, &r);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
