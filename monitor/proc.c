#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct proc_ent {
	uint32_t inode;
	int32_t next;			/* next entry in the bucket, or -1 */
	pid_t pid;
	int fd;
	uint32_t comm;			/* offset into comms */
};

struct procmap {
	struct proc_ent *ent;
	size_t n, cap;
	int32_t *bucket;
	unsigned int bits;
	char *comms;
	size_t clen, ccap;
	size_t denied;
	pid_t last_pid;			/* procmap_add_fd's last process */
	uint32_t last_comm;
};

static int
procmap_add(struct procmap *pm, uint32_t inode, pid_t pid, int fd,
    uint32_t comm)
{
	struct proc_ent *e;
	size_t cap;

	if (pm->n == pm->cap) {
		cap = pm->cap ? pm->cap * 2 : 1024;
		e = realloc(pm->ent, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		pm->ent = e;
		pm->cap = cap;
	}
	pm->ent[pm->n++] = (struct proc_ent){ inode, -1, pid, fd, comm };
	return 0;
}

/* Store a process's comm once; returns its offset or -errno. */
static long
procmap_store_comm(struct procmap *pm, const char *comm)
{
	size_t need;
	long off;
	char *c;

	need = strlen(comm) + 1;
	if (pm->clen + need > pm->ccap) {
		size_t cap = pm->ccap ? pm->ccap * 2 : 4096;
		if ((c = realloc(pm->comms, cap)) == NULL)
			return -ENOMEM;
		pm->comms = c;
		pm->ccap = cap;
	}
	off = (long)pm->clen;
	memcpy(pm->comms + pm->clen, comm, need);
	pm->clen += need;
	return off;
}

static long
procmap_comm(struct procmap *pm, int procfd, const char *pid)
{
	char path[NAME_MAX + 8], comm[PROC_COMM_MAX + 1];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/comm", pid);
	n = -1;
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
	}
	if (n <= 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return procmap_store_comm(pm, comm);
}

/* "socket:[12345]" -> 12345; 0 if the link is not a socket. */
static uint32_t
proc_socket_inode(const char *link, ssize_t len)
{
	static const char prefix[] = "socket:[";
	const size_t plen = sizeof(prefix) - 1;
	uint64_t ino = 0;
	ssize_t i;

	if (len < (ssize_t)plen + 2 || memcmp(link, prefix, plen) != 0 ||
	    link[len - 1] != ']')
		return 0;
	for (i = (ssize_t)plen; i < len - 1; i++) {
		if (link[i] < '0' || link[i] > '9' || ino > UINT32_MAX)
			return 0;
		ino = ino * 10 + (uint64_t)(link[i] - '0');
	}
	return ino > UINT32_MAX ? 0 : (uint32_t)ino;
}

static int
procmap_scan_pid(struct procmap *pm, int procfd, const char *name)
{
	char path[NAME_MAX + 8], link[64];
	struct dirent *de;
	long comm = -1;
	uint32_t ino;
	ssize_t n;
	DIR *fdd;
	pid_t pid = (pid_t)atoi(name);
	int dfd, r = 0;

	snprintf(path, sizeof(path), "%s/fd", name);
	dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			pm->denied++;
		return 0;	/* gone, or not ours to read */
	}
	if ((fdd = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(fdd)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dfd, de->d_name, link, sizeof(link));
		if (n < 0 && (errno == EACCES || errno == EPERM)) {
			/* Confined: every other fd of it will fail too. */
			pm->denied++;
			break;
		}
		if (n <= 0 || n == (ssize_t)sizeof(link))
			continue;
		if ((ino = proc_socket_inode(link, n)) == 0)
			continue;
		if (comm < 0 && (comm = procmap_comm(pm, procfd, name)) < 0) {
			r = (int)comm;
			break;
		}
		r = procmap_add(pm, ino, pid, atoi(de->d_name),
		    (uint32_t)comm);
		if (r < 0)
			break;
	}
	closedir(fdd);
	return r;
}

static uint32_t
proc_hash(uint32_t inode, unsigned int bits)
{
	return (uint32_t)(inode * 0x9E3779B1u) >> (32 - bits);
}

static int
proc_ent_cmp(const void *a, const void *b)
{
	const struct proc_ent *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int
procmap_index(struct procmap *pm)
{
	size_t i, nb;
	uint32_t h;

	/* /proc lists pids and fds in ascending order; another root (or a
	 * future kernel) need not, so sort only when the walk was not. */
	for (i = 1; i < pm->n; i++)
		if (proc_ent_cmp(&pm->ent[i - 1], &pm->ent[i]) > 0)
			break;
	if (i < pm->n)
		qsort(pm->ent, pm->n, sizeof(*pm->ent), proc_ent_cmp);
	pm->bits = 4;
	while ((1UL << pm->bits) < pm->n * 2)
		pm->bits++;
	nb = 1UL << pm->bits;
	pm->bucket = malloc(nb * sizeof(*pm->bucket));
	if (pm->bucket == NULL)
		return -ENOMEM;
	memset(pm->bucket, 0xff, nb * sizeof(*pm->bucket));
	/* Insert backwards so that each chain lists owners by ascending
	 * pid, then fd. */
	for (i = pm->n; i-- > 0;) {
		h = proc_hash(pm->ent[i].inode, pm->bits);
		pm->ent[i].next = pm->bucket[h];
		pm->bucket[h] = (int32_t)i;
	}
	return 0;
}

int
procmap_new(struct procmap **ret_map)
{
	if ((*ret_map = calloc(1, sizeof(**ret_map))) == NULL)
		return -ENOMEM;
	(*ret_map)->last_pid = -1;
	return 0;
}

int
procmap_add_fd(struct procmap *pm, uint32_t inode, pid_t pid, int fd,
    const char *comm)
{
	char c[PROC_COMM_MAX];
	long off;

	/* Descriptors come grouped by process: one comm per run of them. */
	if (pid != pm->last_pid) {
		snprintf(c, sizeof(c), "%.*s", PROC_COMM_MAX - 1, comm);
		if ((off = procmap_store_comm(pm, c)) < 0)
			return (int)off;
		pm->last_pid = pid;
		pm->last_comm = (uint32_t)off;
	}
	return procmap_add(pm, inode, pid, fd, pm->last_comm);
}

int
procmap_finish(struct procmap *pm)
{
	return procmap_index(pm);
}

int
procmap_build(const char *root, struct procmap **ret_map)
{
	struct procmap *pm;
	struct dirent *de;
	DIR *d;
	int r;

	if ((r = procmap_new(&pm)) < 0)
		return r;
	if ((d = opendir(root)) == NULL) {
		r = -errno;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		if ((r = procmap_scan_pid(pm, dirfd(d), de->d_name)) < 0)
			break;
	}
	closedir(d);
	if (r == 0)
		r = procmap_index(pm);
out:
	if (r < 0) {
		procmap_free(pm);
		return r;
	}
	*ret_map = pm;
	return 0;
}

void
procmap_free(struct procmap *pm)
{
	if (pm == NULL)
		return;
	free(pm->ent);
	free(pm->bucket);
	free(pm->comms);
	free(pm);
}

size_t
procmap_lookup(const struct procmap *pm, uint32_t inode,
    struct proc_owner *ret_owners, size_t max)
{
	const struct proc_ent *e;
	size_t found = 0;
	pid_t last = 0;
	int32_t i;

	if (pm->bucket == NULL)
		return 0;
	for (i = pm->bucket[proc_hash(inode, pm->bits)]; i >= 0; i = e->next) {
		e = &pm->ent[i];
		if (e->inode != inode)
			continue;
		/* One process holding it on several fds counts once, also
		 * past max: matches come in (pid, fd) order. */
		if (found > 0 && e->pid == last)
			continue;
		last = e->pid;
		if (found < max) {
			ret_owners[found].pid = e->pid;
			ret_owners[found].fd = e->fd;
			ret_owners[found].comm = pm->comms + e->comm;
		}
		found++;
	}
	return found;
}

size_t
procmap_denied(const struct procmap *pm)
{
	return pm->denied;
}

size_t
procmap_count(const struct procmap *pm)
{
	return pm->n;
}

/* Field 22 of /proc/PID/stat (after the parenthesised comm, which may
 * hold anything) is the start in clock ticks since boot. With the
 * CLOCK_BOOTTIME now, that is the process's age, to the tick. */
int
proc_start_time_ms(const char *root, pid_t pid, int64_t *ret_ms)
{
	char path[PATH_MAX], buf[1024], *p;
	unsigned long long ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec boot, wall;
	int64_t age_ms;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "%s/%d/stat", root, (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -EIO;
	/* p + 2 is field 3 (state). */
	for (p += 2, field = 3; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || sscanf(p, "%llu", &ticks) != 1 || hz <= 0)
		return -EIO;
	if (clock_gettime(CLOCK_BOOTTIME, &boot) < 0 ||
	    clock_gettime(CLOCK_REALTIME, &wall) < 0)
		return -errno;
	age_ms = (int64_t)boot.tv_sec * 1000 + boot.tv_nsec / 1000000 -
	    (int64_t)(ticks * 1000 / (unsigned long long)hz);
	*ret_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 - age_ms;
	return 0;
}
