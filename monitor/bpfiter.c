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
bpfiter_open(unsigned int what, struct bpfiter **ret_it, char *err,
    size_t errlen)
{
	(void)what;
	(void)ret_it;
	snprintf(err, errlen, "built without BPF iterators");
	return -ENOTSUP;
}

void
bpfiter_close(struct bpfiter *it)
{
	(void)it;
}

int
bpfiter_dump(struct bpfiter *it, const struct sockdiag_query *q,
    struct socklist *out)
{
	(void)it;
	(void)q;
	(void)out;
	return -ENOTSUP;
}

int
bpfiter_procmap(struct bpfiter *it, struct procmap **ret_map)
{
	(void)it;
	(void)ret_map;
	return -ENOTSUP;
}

#else /* SW_BPF */

#include <cap-ng.h>
#include <linux/capability.h>
#include <unistd.h>

#include "bpfrec.h"
/* The light skeleton: a loader program relocates the iterators (CO-RE)
 * and finds their attach points in the kernel, against the BTF the
 * kernel holds parsed already. libbpf's user-space loader would first
 * read and parse all of /sys/kernel/btf/vmlinux (5 MB): 10 ms of user
 * time on every run (docs/benchmarks.md, section 1). */
#include "sockiter.lskel.h"

/* The kernel hands out at most its seq_file buffer (32 KiB) per read;
 * more room only saves carrying a partial record over. */
#define BPFITER_BUFSIZE	(256 * 1024)

/* Read-only once loaded but for want_states, which bpfiter_dump sets:
 * a dump and bpfiter_procmap may run in two threads at once. */
struct bpfiter {
	struct sockiter *skel;
	unsigned int what;
};

/* Loading tracing programs needs CAP_BPF and CAP_PERFMON (or the
 * CAP_SYS_ADMIN they were split from); asking first spares an
 * unprivileged caller the loader's work. */
static bool
bpfiter_may_load(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() != 0)
		return false;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) ||
	    (capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_PERFMON));
}

/* How deep our pid namespace is: the number of pids after the first on
 * the NSpid line of /proc/self/status. */
static unsigned int
bpfiter_pidns_level(void)
{
	char line[256], *p, *save;
	unsigned int level = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (p = strtok_r(line + 6, " \t\n", &save); p != NULL;
		    p = strtok_r(NULL, " \t\n", &save))
			level++;
		break;
	}
	fclose(f);
	return level > 0 ? level - 1 : 0;
}

int
bpfiter_open(unsigned int what, struct bpfiter **ret_it, char *err,
    size_t errlen)
{
	struct bpfiter *it;
	int r;

	if (!bpfiter_may_load()) {
		snprintf(err, errlen, "no CAP_BPF and CAP_PERFMON");
		return -EPERM;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	it->what = what;
	if ((it->skel = sockiter__open()) == NULL) {
		r = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot open the BPF skeleton: %s",
		    strerror(-r));
		goto fail;
	}
	it->skel->rodata->pidns_level = bpfiter_pidns_level();
	if ((r = sockiter__load(it->skel)) < 0) {
		snprintf(err, errlen, "cannot load the BPF iterators: %s",
		    strerror(-r));
		goto fail;
	}
	*ret_it = it;
	return 0;
fail:
	bpfiter_close(it);
	return r;
}

void
bpfiter_close(struct bpfiter *it)
{
	if (it == NULL)
		return;
	sockiter__destroy(it->skel);
	free(it);
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
bpfiter_dump(struct bpfiter *it, const struct sockdiag_query *q,
    struct socklist *out)
{
	struct bpfiter_sockets a = { q, out };
	size_t start = out->n;
	int r = 0;

	if ((q->protos & ~it->what) != 0)
		return -EINVAL;
	it->skel->bss->want_states = q->states;
	if (q->protos & SOCKDIAG_TCP)
		r = bpfiter_run(it->skel->progs.sockiter_tcp.prog_fd,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	if (r == 0 && (q->protos & SOCKDIAG_UDP))
		r = bpfiter_run(it->skel->progs.sockiter_udp.prog_fd,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	if (r < 0)
		out->n = start;
	return r;
}

static int
bpfiter_decode_files(const void *buf, size_t len, void *arg)
{
	return bpfrec_files(buf, len, arg);
}

int
bpfiter_procmap(struct bpfiter *it, struct procmap **ret_map)
{
	struct procmap *pm;
	int r;

	if (!(it->what & BPFITER_FILES))
		return -EINVAL;
	if ((r = procmap_new(&pm)) < 0)
		return r;
	r = bpfiter_run(it->skel->progs.sockiter_files.prog_fd,
	    bpfrec_file_size, bpfiter_decode_files, pm);
	if (r == 0)
		r = procmap_finish(pm);
	if (r < 0) {
		procmap_free(pm);
		return r;
	}
	*ret_map = pm;
	return 0;
}

#endif /* SW_BPF */
