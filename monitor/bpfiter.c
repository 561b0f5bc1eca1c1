#include "bpfiter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned int
bpfiter_policy(void)
{
	const char *v = getenv(BPFITER_ENV);

	if (v == NULL || *v == '\0')
		return BPFITER_FILES;
	if (strcmp(v, "sockets") == 0)
		return BPFITER_FILES | SOCKDIAG_TCP | SOCKDIAG_UDP;
	return 0;
}

#ifndef SW_BPF

int
bpfiter_dump(const struct sockdiag_query *q, struct socklist *out,
    char *err, size_t errlen)
{
	(void)q;
	(void)out;
	snprintf(err, errlen, "built without BPF iterators");
	return -ENOTSUP;
}

int
bpfiter_procmap(struct procmap **ret_map, char *err, size_t errlen)
{
	(void)ret_map;
	snprintf(err, errlen, "built without BPF iterators");
	return -ENOTSUP;
}

#else /* SW_BPF */

#include <cap-ng.h>
#include <linux/capability.h>
#include <unistd.h>

#include "bpfrec.h"
/* Light skeletons: a loader program relocates each iterator (CO-RE) and
 * finds its attach point in the kernel, against the BTF the kernel holds
 * parsed already. libbpf's user-space loader would first read and parse
 * all of /sys/kernel/btf/vmlinux (5 MB), 10 ms of user time per run. One
 * object per iterator, so that a run loads only what it reads. */
#include "inetsocks.lskel.h"
#include "taskfiles.lskel.h"

/* The kernel hands out at most its seq_file buffer (32 KiB) per read;
 * more room only saves carrying a partial record over. */
#define BPFITER_BUFSIZE	(256 * 1024)

/* Loading tracing programs needs CAP_BPF and CAP_PERFMON (or the
 * CAP_SYS_ADMIN they were split from); asking first spares an
 * unprivileged caller the loader's work. */
static int
bpfiter_may_load(char *err, size_t errlen)
{
	bool ok;

	capng_clear(CAPNG_SELECT_BOTH);
	ok = capng_get_caps_process() == 0 &&
	    (capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) ||
	    (capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_PERFMON)));
	if (!ok) {
		snprintf(err, errlen, "no CAP_BPF and CAP_PERFMON");
		return -EPERM;
	}
	return 0;
}

static int
bpfiter_load_failed(int r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot load the %s iterator: %s", what,
	    strerror(-r));
	return r;
}

typedef int (*bpfiter_decode)(const void *buf, size_t len, void *arg);

/* Run one iterator to its end, handing whole records to decode. The
 * socket iterators walk the network namespace we are in at this call. */
static int
bpfiter_run(int prog_fd, size_t recsize, bpfiter_decode decode, void *arg)
{
	union bpf_attr attr;
	size_t have = 0, whole;
	unsigned char *buf;
	int link, fd = -1, r = 0;
	ssize_t n;

	if ((buf = malloc(BPFITER_BUFSIZE)) == NULL)
		return -ENOMEM;
	if ((link = skel_link_create(prog_fd, 0, BPF_TRACE_ITER)) < 0) {
		free(buf);
		return -errno;
	}
	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = (__u32)link;
	if ((fd = skel_sys_bpf(BPF_ITER_CREATE, &attr, sizeof(attr))) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + have, BPFITER_BUFSIZE - have);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		whole = have - have % recsize;
		if ((r = decode(buf, whole, arg)) < 0)
			goto out;
		memmove(buf, buf + whole, have - whole);
		have -= whole;
	}
	if (have != 0)
		r = -EBADMSG;
out:
	if (fd >= 0)
		close(fd);
	close(link);
	free(buf);
	return r;
}

struct bpfiter_sockets {
	const struct sockdiag_query *q;
	struct socklist *out;
};

static int
bpfiter_decode_inet(const void *buf, size_t len, void *arg)
{
	struct bpfiter_sockets *a = arg;

	return bpfrec_inet(buf, len, a->q, a->out);
}

int
bpfiter_dump(const struct sockdiag_query *q, struct socklist *out,
    char *err, size_t errlen)
{
	struct bpfiter_sockets a = { q, out };
	struct inetsocks *skel;
	size_t start = out->n;
	int r;

	if ((q->protos & ~(SOCKDIAG_TCP | SOCKDIAG_UDP)) != 0) {
		snprintf(err, errlen, "no iterator for UNIX sockets");
		return -EINVAL;
	}
	if ((r = bpfiter_may_load(err, errlen)) < 0)
		return r;
	if ((skel = inetsocks__open()) == NULL)
		return bpfiter_load_failed(-ENOMEM, "socket", err, errlen);
	if ((r = inetsocks__load(skel)) < 0) {
		inetsocks__destroy(skel);
		return bpfiter_load_failed(r, "socket", err, errlen);
	}
	skel->bss->want_states = q->states;
	r = 0;
	if (q->protos & SOCKDIAG_TCP)
		r = bpfiter_run(skel->progs.sockiter_tcp.prog_fd,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	if (r == 0 && (q->protos & SOCKDIAG_UDP))
		r = bpfiter_run(skel->progs.sockiter_udp.prog_fd,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	inetsocks__destroy(skel);
	if (r < 0) {
		out->n = start;
		snprintf(err, errlen, "a socket iterator failed: %s",
		    strerror(-r));
	}
	return r;
}

static int
bpfiter_decode_files(const void *buf, size_t len, void *arg)
{
	return bpfrec_files(buf, len, arg);
}

int
bpfiter_procmap(struct procmap **ret_map, char *err, size_t errlen)
{
	struct taskfiles *skel;
	struct procmap *pm = NULL;
	int r;

	if ((r = bpfiter_may_load(err, errlen)) < 0)
		return r;
	if ((skel = taskfiles__open()) == NULL)
		return bpfiter_load_failed(-ENOMEM, "task_file", err, errlen);
	if ((r = taskfiles__load(skel)) < 0) {
		taskfiles__destroy(skel);
		return bpfiter_load_failed(r, "task_file", err, errlen);
	}
	if ((r = procmap_new(&pm)) == 0)
		r = bpfiter_run(skel->progs.sockiter_files.prog_fd,
		    bpfrec_file_size, bpfiter_decode_files, pm);
	taskfiles__destroy(skel);
	if (r == 0)
		r = procmap_finish(pm);
	if (r < 0) {
		procmap_free(pm);
		snprintf(err, errlen, "the task_file iterator failed: %s",
		    strerror(-r));
		return r;
	}
	*ret_map = pm;
	return 0;
}

#endif /* SW_BPF */
