/* The network namespace's socket counters (/proc/net/sockstat,
 * sockstat6, snmp): a cheap test for "no socket was created, hashed,
 * connected or accepted since", so that a full dump can be skipped. */
#ifndef SW_SOCKSTAT_H
#define SW_SOCKSTAT_H

#include <stdbool.h>
#include <stdint.h>

enum sockstat_file {
	SOCKSTAT_V4,			/* /proc/net/sockstat */
	SOCKSTAT_V6,			/* /proc/net/sockstat6 */
	SOCKSTAT_SNMP,			/* /proc/net/snmp */
	SOCKSTAT_NFILES
};

#define SOCKSTAT_NFIELDS	11

/* Only counters of this namespace that move when its sockets do (not
 * the host-wide alloc, orphan and mem, nor traffic counters). */
struct sockstat {
	uint64_t v[SOCKSTAT_NFIELDS];
};

/* Take the fields of one file's text into st (others are untouched).
 * 0, or -EINVAL when one of its fields is missing or malformed. */
int sockstat_parse(enum sockstat_file f, const char *text,
    struct sockstat *st);
/* Read the three files under dir ("/proc/net": the namespace of the
 * caller). A missing sockstat6 (IPv6 off) counts as zeros. 0 or -errno. */
int sockstat_read(const char *dir, struct sockstat *ret);
bool sockstat_equal(const struct sockstat *a, const struct sockstat *b);

#endif
