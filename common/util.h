/* Small helpers shared by several modules. */
#ifndef SW_UTIL_H
#define SW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p of the directory part of path ("/a/b/file" makes /a and /a/b).
 * Directories it creates get exactly mode, whatever the umask. 0, or
 * -errno (-ENOTDIR if the last part exists and is not a directory). */
int util_mkdir_parents(const char *path, mode_t mode);

/* A token bucket: rate tokens a second, at most burst at once. Zero it
 * to start full. */
struct tokens {
	double n;
	int64_t ms;			/* last refill; 0: never */
};
/* Take one token at now_ms (monotonic): true, or false when none is
 * left. */
bool tokens_take(struct tokens *t, double rate, double burst, int64_t now_ms);

/* The gid of group name, from the account database. 0, -ENOENT (no such
 * group) or -errno. */
int util_group_gid(const char *name, gid_t *ret_gid);

/* The index of name (may be NULL) among names[0..n-1], or -EINVAL. */
int util_name_index(const char *const *names, size_t n, const char *name);

/* snprintf into an optional error buffer (err may be NULL). */
void util_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Growable arrays of many megabytes (a dump of 100,000 sockets, a table of
 * their cells): mapped with transparent huge pages where the kernel allows
 * it, grown with mremap. This takes the thousands of page faults that
 * first touching the memory costs down to a handful. oldsize is 0 for a
 * new buffer; util_bigfree takes the size last passed. NULL on failure
 * (the old buffer is then untouched).
 */
void *util_bigrealloc(void *p, size_t oldsize, size_t newsize);
void util_bigfree(void *p, size_t size);

/* A 64-bit finaliser (splitmix64): spreads keyed hashes over all bits.
 * Inline: the packet path calls it several times per packet. */
static inline uint64_t
util_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* HyperLogLog's estimate from m registers: alpha for m, the sum of
 * 2^-register over them, and how many are zero (linear counting for small
 * cardinalities). */
double util_hll_estimate(unsigned int m, double alpha, double sum,
    unsigned int zeros);

#endif
