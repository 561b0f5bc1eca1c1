/* Small helpers shared by several modules. */
#ifndef SW_UTIL_H
#define SW_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p of the directory part of path ("/a/b/file" makes /a and /a/b).
 * Directories it creates get exactly mode, whatever the umask. 0, or
 * -errno (-ENOTDIR if the last part exists and is not a directory). */
int util_mkdir_parents(const char *path, mode_t mode);

/* snprintf into an optional error buffer (err may be NULL). */
void util_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
