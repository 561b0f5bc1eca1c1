/* The records of the BPF iterators (monitor/bpf/sockiter.h) into the
 * structures the sock_diag and /proc paths fill, so that both paths give
 * the same listing. Pure: no BPF, no I/O. */
#ifndef SW_BPFREC_H
#define SW_BPFREC_H

#include <stddef.h>

#include "proc.h"
#include "sockdiag.h"

/* Record sizes, for the reader to cut its input into whole records. */
extern const size_t bpfrec_inet_size, bpfrec_file_size;

/* Decode len bytes (whole records only) of iter/tcp or iter/udp output;
 * append the sockets that pass q to out. 0, -EBADMSG for a partial
 * record or one no kernel program writes (a bug: the program and this
 * file disagree), or -ENOMEM. */
int bpfrec_inet(const void *buf, size_t len, const struct sockdiag_query *q,
    struct socklist *out);
/* The same for iter/task_file: add each socket descriptor to pm (see
 * procmap_add_fd). */
int bpfrec_files(const void *buf, size_t len, struct procmap *pm);

#endif
