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

/*
 * The pid of the task's process in the reader's pid namespace: the one
 * whose tasks the iterator visits, and whose /proc a walk would read. Its
 * depth below the initial namespace is the level of the reader's own pid.
 * 0 or a negative errno.
 */
static __always_inline int
task_pid_nr(struct task_struct *task, __s32 *ret_pid)
{
	struct task_struct *me = bpf_get_current_task_btf();
	unsigned int level = me->thread_pid->level;
	struct pid *p;
	__u64 off;

	if (level == 0) {
		*ret_pid = task->tgid;
		return 0;
	}
	p = task->thread_pid;
	if (p == NULL || p->level < level)
		return -1;
	off = bpf_core_field_offset(struct pid, numbers) +
	    (__u64)(level & 31) * bpf_core_type_size(struct upid) +
	    bpf_core_field_offset(struct upid, nr);
	return bpf_probe_read_kernel(ret_pid, sizeof(*ret_pid),
	    (void *)p + off);
}

SEC("iter/task_file")
int
sockiter_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct sockiter_file r = {};

	if (task == NULL || file == NULL)
		return 0;
	/* /proc/PID/fd is the process's table: a thread with a table of its
	 * own (unshare(CLONE_FILES)) is not listed there either. */
	if (task->pid != task->tgid)
		return 0;
	if (!is_socket_file(file))
		return 0;
	if (task_pid_nr(task, &r.pid) < 0 || r.pid <= 0)
		return 0;
	r.inode = (__u32)file->f_inode->i_ino;
	r.fd = (__s32)ctx->fd;
	__builtin_memcpy(r.comm, task->comm, sizeof(r.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
