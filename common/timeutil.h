/* Wall-clock and monotonic time in milliseconds; RFC 3339 printing. */
#ifndef SW_TIMEUTIL_H
#define SW_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_LEN 32

int64_t time_now_ms(void);		/* CLOCK_REALTIME, ms since epoch */
int64_t time_mono_ms(void);		/* CLOCK_MONOTONIC */

/*
 * Steady time: wall-clock milliseconds that do not jump. It is the wall
 * clock as read at the first call (or time_steady_init), advanced by
 * CLOCK_BOOTTIME since (which goes on counting through a suspend). Ban
 * lifetimes, windows and reconciliation run on it, so that a step of the
 * wall clock (an NTP step, an administrator's `date -s`, a VM restored)
 * shortens, lengthens or revives nothing. Wall time is for printing and
 * storing only: convert at that edge. A difference between the two under
 * TIME_STEP_MIN_MS is not a step (it is rounding, or NTP's slewing) and
 * converts to nothing.
 */
#define TIME_STEP_MIN_MS	1000
void time_steady_init(void);
int64_t time_steady_ms(void);
/* How far the wall clock stepped since the steady clock began: wall =
 * steady + offset. 0 when under TIME_STEP_MIN_MS either way. */
int64_t time_step_ms(void);
int64_t time_steady_to_wall(int64_t steady_ms);
int64_t time_wall_to_steady(int64_t wall_ms);

/* "2026-11-27T15:36:35.123Z" (UTC, milliseconds). Returns buf. */
char *time_format_rfc3339(int64_t ms, char *buf, size_t len);
/* Parse what time_format_rfc3339 prints (also without milliseconds, and
 * with a +hh:mm offset). 0 or -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
