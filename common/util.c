#define _GNU_SOURCE	/* mremap */
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define UTIL_NSS_MAX	(1024 * 1024)	/* getgrnam_r buffer bound */

int
util_mkdir_parents(const char *path, mode_t mode)
{
	struct stat st;
	char *dir, *p;
	int r = 0;

	if ((dir = strdup(path)) == NULL)
		return -ENOMEM;
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		goto out;		/* relative name, or in / */
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;

		*p = '\0';
		if (mkdir(dir, mode) == 0) {
			if (chmod(dir, mode) < 0) {
				r = -errno;
				goto out;
			}
		} else if (errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*p = save;
		if (save == '\0')
			break;
	}
	if (stat(dir, &st) < 0)
		r = -errno;
	else if (!S_ISDIR(st.st_mode))
		r = -ENOTDIR;
out:
	free(dir);
	return r;
}

void
util_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void *
util_bigrealloc(void *p, size_t oldsize, size_t newsize)
{
	void *q;

	if (p == NULL || oldsize == 0) {
		q = mmap(NULL, newsize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else
		q = mremap(p, oldsize, newsize, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	/* Advice only: without THP this is plain memory. */
	(void)madvise(q, newsize, MADV_HUGEPAGE);
	return q;
}

void
util_bigfree(void *p, size_t size)
{
	if (p != NULL && size > 0)
		munmap(p, size);
}

double
util_hll_estimate(unsigned int m, double alpha, double sum,
    unsigned int zeros)
{
	double e = alpha * m * m / sum;

	if (e <= 2.5 * m && zeros > 0)
		e = m * log((double)m / zeros);
	return e;
}

int
util_name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int
util_group_gid(const char *name, gid_t *ret_gid)
{
	struct group gr, *grp = NULL;
	size_t buflen = 1024;
	char *buf = NULL, *p;
	int r;

	for (;;) {
		if ((p = realloc(buf, buflen)) == NULL) {
			r = ENOMEM;
			break;
		}
		buf = p;
		r = getgrnam_r(name, &gr, buf, buflen, &grp);
		if (r != ERANGE || buflen >= UTIL_NSS_MAX)
			break;
		buflen *= 2;
	}
	if (r == 0 && grp != NULL)
		*ret_gid = gr.gr_gid;
	else if (r == 0 || r == ENOENT || r == ESRCH)
		r = ENOENT;
	free(buf);
	return -r;
}

bool
tokens_take(struct tokens *t, double rate, double burst, int64_t now_ms)
{
	if (t->ms == 0)
		t->n = burst;
	else if (now_ms > t->ms)
		t->n += (double)(now_ms - t->ms) * rate / 1000.0;
	if (t->n > burst)
		t->n = burst;
	t->ms = now_ms;
	if (t->n < 1.0)
		return false;
	t->n -= 1.0;
	return true;
}
