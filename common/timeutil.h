/* Wall-clock and monotonic time in milliseconds; RFC 3339 printing. */
#ifndef SW_TIMEUTIL_H
#define SW_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_LEN 32

int64_t time_now_ms(void);		/* CLOCK_REALTIME, ms since epoch */
int64_t time_mono_ms(void);		/* CLOCK_MONOTONIC */

/* "2026-11-27T15:36:35.123Z" (UTC, milliseconds). Returns buf. */
char *time_format_rfc3339(int64_t ms, char *buf, size_t len);
/* Parse what time_format_rfc3339 prints (also without milliseconds, and
 * with a +hh:mm offset). 0 or -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
