// SPDX-License-Identifier: GPL-2.0
/*
 * BPF iterators for `sockwatch sockets`: the socket files of every
 * process (iter/task_file) and the TCP and UDP sockets of the reader's
 * network namespace (iter/tcp, iter/udp), as the fixed-size records of
 * sockiter.h. Every field is what /proc or sock_diag would say for the
 * same socket, so every path prints the same listing. No iter/unix: on
 * 6.18 it loses the rest of a hash bucket when a read() ends inside it,
 * and sock_diag lists UNIX sockets faster anyway (docs/benchmarks.md).
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
#define S_IFMT		00170000
#define S_IFSOCK	0140000
#define SOCKFS_MAGIC	0x534F434B

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: the depth of the reader's pid namespace (0: the
 * initial one), so that pids are the ones the reader's /proc shows. */
const volatile __u32 pidns_level = 0;
/* Set before each read: bit (1 << state) per wanted state, as in
 * sockdiag_query.states; the rest of the filter is applied in user space. */
__u32 want_states = 0;

/* sock_i_ino(): sk_ino where the kernel keeps it, else the inode that
 * holds the socket. 0 for a socket without a file. */
static __always_inline __u32
sk_inode(struct sock *sk)
{
	struct socket_alloc *sa;
	struct socket *so;

	if (bpf_core_field_exists(sk->sk_ino))
		return (__u32)sk->sk_ino;
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

/* The pid of the task's process in the reader's pid namespace. */
static __always_inline __s32
task_pid_nr(struct task_struct *task)
{
	struct pid *p;
	struct upid up;
	__u64 off;

	if (pidns_level == 0)
		return task->tgid;
	p = BPF_CORE_READ(task, thread_pid);
	if (p == NULL || BPF_CORE_READ(p, level) < pidns_level)
		return -1;
	off = bpf_core_field_offset(struct pid, numbers) +
	    (__u64)(pidns_level & 31) * bpf_core_type_size(struct upid);
	if (bpf_probe_read_kernel(&up, sizeof(up), (void *)p + off) < 0)
		return -1;
	return up.nr;
}

SEC("iter/task_file")
int
sockiter_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct sockiter_file r = {};
	struct inode *ino;

	if (task == NULL || file == NULL)
		return 0;
	/* /proc/PID/fd is the process's table: a thread with a table of its
	 * own (unshare(CLONE_FILES)) is not listed there either. */
	if (task->pid != task->tgid)
		return 0;
	ino = file->f_inode;
	/* sockfs only: an O_PATH descriptor of a socket's path on disk is
	 * S_IFSOCK too, but "socket:[N]" in /proc is sockfs's. */
	if ((ino->i_mode & S_IFMT) != S_IFSOCK ||
	    ino->i_sb->s_magic != SOCKFS_MAGIC)
		return 0;
	if ((r.pid = task_pid_nr(task)) <= 0)
		return 0;
	r.inode = (__u32)ino->i_ino;
	r.fd = (__s32)ctx->fd;
	__builtin_memcpy(r.comm, task->comm, sizeof(r.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
