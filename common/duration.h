/* Durations such as "30s", "10m", "1h30m", "7d", "250ms". */
#ifndef SW_DURATION_H
#define SW_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse one or more NUMBER UNIT groups (units ms, s, m, h, d, w) into
 * milliseconds. A bare number means seconds. 0 or -EINVAL, -ERANGE. */
int duration_parse(const char *s, uint64_t *ret_ms);

/* Print the shortest exact form ("1h30m", "7d", "250ms", "0s"). */
char *duration_format(uint64_t ms, char *buf, size_t len);

#endif
