/* Logging in the OpenBSD daemon style: stderr in the foreground, syslog
 * otherwise. log_warn appends strerror(errno); fatal/fatalx exit(1). */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdarg.h>

/* progname prefixes every stderr line ("sockwatch: ..."). to_stderr != 0
 * logs to stderr, else to syslog. verbose > 0 enables log_debug. */
void log_init(const char *progname, int to_stderr, int verbose);
void log_setverbose(int verbose);
/* Every line (syslog priority, text with strerror appended) goes to fn
 * instead: a confined process hands its lines to its parent. NULL undoes
 * it. */
typedef void (*log_hook_fn)(int pri, const char *msg);
void log_set_hook(log_hook_fn fn);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
