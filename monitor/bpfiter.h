/*
 * Socket listings and process attribution from BPF iterators (the
 * programs of monitor/bpf/): the sockets of the caller's
 * network namespace without a sock_diag dump, and the socket descriptors
 * of every process without a walk of /proc/PID/fd. For a process that
 * may load tracing programs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)
 * on a kernel with BTF; callers fall back to sockdiag and procmap_build
 * when these fail. No logging. No UNIX sockets: see
 * monitor/bpf/inetsocks.bpf.c.
 */
#ifndef SW_BPFITER_H
#define SW_BPFITER_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"
#include "sockdiag.h"

/* The task_file iterator, besides the SOCKDIAG_TCP and _UDP bits. */
#define BPFITER_FILES	0x100

/*
 * What the BPF path takes over, as the environment variable SOCKWATCH_BPF
 * says: unset or empty, process attribution only (BPFITER_FILES: the
 * task_file iterator replaces the /proc walk); "sockets", also the TCP
 * and UDP listings (iter/tcp and iter/udp replace sock_diag; on 6.18
 * they cost more than the dump, see docs/benchmarks.md); "0", nothing.
 */
#define BPFITER_ENV	"SOCKWATCH_BPF"
unsigned int bpfiter_policy(void);

/*
 * Each call loads its iterator, runs it to the end and unloads it; they
 * may run in two threads at once. On failure they return -ENOTSUP (built
 * without BPF), -EPERM (not privileged), or the -errno of the load or the
 * read, and err says which; out is then unchanged.
 */

/* Append the TCP and UDP sockets that pass q to out (q->protos may ask
 * for nothing else), as sockdiag_dump would: same fields, same order. */
int bpfiter_dump(const struct sockdiag_query *q, struct socklist *out,
    char *err, size_t errlen);

/* A process map as procmap_build would make it, with nothing denied. */
int bpfiter_procmap(struct procmap **ret_map, char *err, size_t errlen);

#endif
