#define _GNU_SOURCE
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static int64_t steady_wall0, steady_boot0;

void
time_steady_init(void)
{
	steady_boot0 = clock_ms(CLOCK_BOOTTIME);
	steady_wall0 = clock_ms(CLOCK_REALTIME);
}

int64_t
time_steady_ms(void)
{
	if (steady_wall0 == 0)
		time_steady_init();
	return steady_wall0 + clock_ms(CLOCK_BOOTTIME) - steady_boot0;
}

int64_t
time_step_ms(void)
{
	int64_t d = time_now_ms() - time_steady_ms();

	return d > -TIME_STEP_MIN_MS && d < TIME_STEP_MIN_MS ? 0 : d;
}

int64_t
time_steady_to_wall(int64_t steady_ms)
{
	return steady_ms + time_step_ms();
}

int64_t
time_wall_to_steady(int64_t wall_ms)
{
	return wall_ms - time_step_ms();
}

char *
time_format_rfc3339(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac);
	return buf;
}

int
time_parse_rfc3339(const char *s, int64_t *ret_ms)
{
	struct tm tm, day;
	const char *p;
	int ms = 0, digits = 0, sign, oh, om, n;
	int64_t off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (digits == 0)
			return -EINVAL;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 ||
		    oh > 23 || om > 59)
			return -EINVAL;
		off = sign * ((int64_t)oh * 3600 + om * 60);
		p += 1 + n;
	} else
		return -EINVAL;
	if (*p != '\0')
		return -EINVAL;
	/* strptime takes any day 1-31 and seconds up to 61, and timegm
	 * would quietly roll "02-31" into March: a date must exist. Second
	 * 60 is a leap second, the next second in POSIX time. */
	day = tm;
	day.tm_sec = 0;
	if (tm.tm_sec > 60 || timegm(&day) == (time_t)-1 ||
	    day.tm_mday != tm.tm_mday || day.tm_mon != tm.tm_mon ||
	    day.tm_year != tm.tm_year)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_ms = ((int64_t)t - off) * 1000 + ms;
	return 0;
}
