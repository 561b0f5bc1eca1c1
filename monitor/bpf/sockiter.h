/*
 * The records the BPF iterators (taskfiles.bpf.c, inetsocks.bpf.c) write
 * and bpfrec.c reads: fixed sizes, native byte order but for what the
 * comments say, so that a read() of the iterator returns whole arrays of
 * them. Shared by the BPF programs (vmlinux.h types) and user space
 * (linux/types.h).
 */
#ifndef SW_SOCKITER_H
#define SW_SOCKITER_H

#define SOCKITER_COMM_LEN	16

/* One TCP or UDP socket, as sock_diag would report it. */
struct sockiter_inet {
	__u64 cookie;
	__u8 laddr[16];			/* IPv4 in the first 4 bytes */
	__u8 raddr[16];
	__u32 rq, wq;
	__u32 uid;
	__u32 inode;
	__u32 ifindex;
	__u16 lport, rport;		/* host byte order */
	__u8 family;			/* AF_INET, AF_INET6 */
	__u8 proto;			/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 state;			/* as inet_diag says it */
	__u8 pad[5];
};

/* One socket file descriptor of a process. */
struct sockiter_file {
	__u32 inode;
	__s32 pid;			/* in the reader's pid namespace */
	__s32 fd;
	__u32 pad;
	char comm[SOCKITER_COMM_LEN];
};

#endif
