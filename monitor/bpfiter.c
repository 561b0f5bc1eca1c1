#include "bpfiter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include <stdarg.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfrec.h"
#include "sockiter.skel.h"

/* The kernel hands out at most its seq_file buffer (32 KiB) per read;
 * more room only saves carrying a partial record over. */
#define BPFITER_BUFSIZE	(256 * 1024)

struct bpfiter {
	struct sockiter *skel;
	unsigned int what;
	unsigned char *buf;
};

static int
bpfiter_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Loading tracing programs needs CAP_BPF and CAP_PERFMON (or the
 * CAP_SYS_ADMIN they were split from); asking first spares an
 * unprivileged caller the parse of the kernel's BTF. */
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
	char line[256], *p;
	unsigned int level = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (p = strtok(line + 6, " \t\n"); p != NULL;
		    p = strtok(NULL, " \t\n"))
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
	const char *off = getenv(BPFITER_ENV_OFF);
	struct bpfiter *it;
	int r;

	if (off != NULL && strcmp(off, "0") != 0) {
		snprintf(err, errlen, "%s is set", BPFITER_ENV_OFF);
		return -ENOTSUP;
	}
	if (!bpfiter_may_load()) {
		snprintf(err, errlen, "no CAP_BPF and CAP_PERFMON");
		return -EPERM;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL ||
	    (it->buf = malloc(BPFITER_BUFSIZE)) == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	it->what = what;
	libbpf_set_print(bpfiter_quiet);
	if ((it->skel = sockiter__open()) == NULL) {
		r = errno ? -errno : -EINVAL;
		snprintf(err, errlen, "cannot open the BPF object: %s",
		    strerror(-r));
		goto fail;
	}
	it->skel->rodata->pidns_level = bpfiter_pidns_level();
	bpf_program__set_autoload(it->skel->progs.sockiter_tcp,
	    (what & SOCKDIAG_TCP) != 0);
	bpf_program__set_autoload(it->skel->progs.sockiter_udp,
	    (what & SOCKDIAG_UDP) != 0);
	bpf_program__set_autoload(it->skel->progs.sockiter_unix,
	    (what & SOCKDIAG_UNIX) != 0);
	bpf_program__set_autoload(it->skel->progs.sockiter_files,
	    (what & BPFITER_FILES) != 0);
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
	free(it->buf);
	free(it);
}

typedef int (*bpfiter_decode)(const void *buf, size_t len, void *arg);

/* Run one iterator to its end, handing whole records to decode. */
static int
bpfiter_run(struct bpfiter *it, struct bpf_program *prog, size_t recsize,
    bpfiter_decode decode, void *arg)
{
	struct bpf_link *link;
	size_t have = 0, whole;
	ssize_t n;
	int fd = -1, r = 0;

	if ((link = bpf_program__attach_iter(prog, NULL)) == NULL)
		return errno ? -errno : -EINVAL;
	/* The iterator's network namespace is ours as of this call. */
	if ((fd = bpf_iter_create(bpf_link__fd(link))) < 0) {
		r = fd;
		goto out;
	}
	for (;;) {
		n = read(fd, it->buf + have, BPFITER_BUFSIZE - have);
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
		if ((r = decode(it->buf, whole, arg)) < 0)
			goto out;
		memmove(it->buf, it->buf + whole, have - whole);
		have -= whole;
	}
	if (have != 0)
		r = -EBADMSG;
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
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

static int
bpfiter_decode_unix(const void *buf, size_t len, void *arg)
{
	struct bpfiter_sockets *a = arg;

	return bpfrec_unix(buf, len, a->q, a->out);
}

int
bpfiter_dump(struct bpfiter *it, const struct sockdiag_query *q,
    struct socklist *out)
{
	struct bpfiter_sockets a = { q, out };
	size_t start = out->n;
	int r = 0;

	if ((q->protos & ~it->what & (SOCKDIAG_TCP | SOCKDIAG_UDP |
	    SOCKDIAG_UNIX)) != 0)
		return -EINVAL;
	it->skel->bss->want_states = q->states;
	if (q->protos & SOCKDIAG_TCP)
		r = bpfiter_run(it, it->skel->progs.sockiter_tcp,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	if (r == 0 && (q->protos & SOCKDIAG_UDP))
		r = bpfiter_run(it, it->skel->progs.sockiter_udp,
		    bpfrec_inet_size, bpfiter_decode_inet, &a);
	/* No UNIX socket has a port or a peer address. */
	if (r == 0 && (q->protos & SOCKDIAG_UNIX) && q->port < 0 &&
	    !q->has_peer)
		r = bpfiter_run(it, it->skel->progs.sockiter_unix,
		    bpfrec_unix_size, bpfiter_decode_unix, &a);
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
	r = bpfiter_run(it, it->skel->progs.sockiter_files, bpfrec_file_size,
	    bpfiter_decode_files, pm);
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
