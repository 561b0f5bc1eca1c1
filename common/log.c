#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static const char *log_progname = "sockwatch";
static int log_stderr = 1;
static int log_verbose;
static log_hook_fn log_hook;

void
log_init(const char *progname, int to_stderr, int verbose)
{
	log_progname = progname;
	log_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_hook(log_hook_fn fn)
{
	log_hook = fn;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* One line, with an optional ": strerror" suffix. errnum < 0 means none. */
static void
log_emit(int pri, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_hook != NULL) {
		if (errnum >= 0) {
			size_t n = strlen(msg);

			snprintf(msg + n, sizeof(msg) - n, ": %s",
			    strerror(errnum));
		}
		log_hook(pri, msg);
	} else if (log_stderr) {
		if (errnum >= 0)
			fprintf(stderr, "%s: %s: %s\n", log_progname, msg,
			    strerror(errnum));
		else
			fprintf(stderr, "%s: %s\n", log_progname, msg);
		fflush(stderr);
	} else if (errnum >= 0)
		syslog(pri, "%s: %s", msg, strerror(errnum));
	else
		syslog(pri, "%s", msg);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, -1, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, -1, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose <= 0)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, -1, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, -1, fmt, ap);
	va_end(ap);
	exit(1);
}
