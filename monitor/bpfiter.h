/*
 * Socket listings and process attribution from BPF iterators (the
 * programs of monitor/bpf/sockiter.bpf.c): the sockets of the caller's
 * network namespace without a sock_diag dump, and the socket descriptors
 * of every process without a walk of /proc/PID/fd. For a process that
 * may load tracing programs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)
 * on a kernel with BTF; callers fall back to sockdiag and procmap_build
 * when bpfiter_open fails. No logging. No UNIX sockets: see
 * monitor/bpf/sockiter.bpf.c.
 */
#ifndef SW_BPFITER_H
#define SW_BPFITER_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"
#include "sockdiag.h"

/* What to load, besides the SOCKDIAG_TCP and _UDP bits. */
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

struct bpfiter;

/* Load the iterators what names (SOCKDIAG_TCP, _UDP, BPFITER_FILES).
 * 0, or -ENOTSUP (built without BPF), -EPERM (not privileged), or the
 * load's -errno; err then says why. */
int bpfiter_open(unsigned int what, struct bpfiter **ret_it, char *err,
    size_t errlen);
void bpfiter_close(struct bpfiter *it);

/* Append the sockets that pass q to out, as sockdiag_dump would (same
 * fields, same order). q may ask only for protocols that were loaded.
 * On failure out is unchanged. 0 or -errno. */
int bpfiter_dump(struct bpfiter *it, const struct sockdiag_query *q,
    struct socklist *out);

/* A process map as procmap_build would make it, with nothing denied.
 * Needs BPFITER_FILES. 0 or -errno. */
int bpfiter_procmap(struct bpfiter *it, struct procmap **ret_map);

#endif
