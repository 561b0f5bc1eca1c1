// SPDX-License-Identifier: GPL-2.0
/*
 * The socket descriptors of every process (iter/task_file) as the records
 * of sockiter.h: what a walk of /proc/PID/fd finds, without reading a
 * link per descriptor of the host.
 *
 * GPL: bpf_seq_write is a GPL-only helper.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "sockiter.h"

#define S_IFMT		00170000
#define S_IFSOCK	0140000
#define SOCKFS_MAGIC	0x534F434B

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: the depth of the reader's pid namespace (0: the
 * initial one), so that pids are the ones the reader's /proc shows. */
const volatile __u32 pidns_level = 0;

/* Every socket file has sockfs's file operations, which no other file
 * has: once the first socket has shown their address, the rest of the
 * host's files are told apart without reading their inodes (a cache miss
 * each). */
static const void *sock_fops;

static __always_inline bool
is_socket_file(struct file *file)
{
	const void *fops = file->f_op;
	struct inode *ino;

	if (sock_fops != NULL)
		return fops == sock_fops;
	ino = file->f_inode;
	/* sockfs only: an O_PATH descriptor of a socket's path on disk is
	 * S_IFSOCK too, but "socket:[N]" in /proc is sockfs's. */
	if ((ino->i_mode & S_IFMT) != S_IFSOCK ||
	    ino->i_sb->s_magic != SOCKFS_MAGIC)
		return false;
	sock_fops = fops;
	return true;
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
	if (!is_socket_file(file))
		return 0;
	ino = file->f_inode;
	if ((r.pid = task_pid_nr(task)) <= 0)
		return 0;
	r.inode = (__u32)ino->i_ino;
	r.fd = (__s32)ctx->fd;
	__builtin_memcpy(r.comm, task->comm, sizeof(r.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
