#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
