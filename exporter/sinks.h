/* Alert sinks: one syslog line per alert, and an optional JSON-lines file
 * (one object per line, flushed per tick, reopened on SIGHUP). */
#ifndef SW_SINKS_H
#define SW_SINKS_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/alert.h"

struct sinks;

/* alerts_file may be NULL (no file); it is opened O_NOFOLLOW and made
 * 0640, and given to group when that is not NULL (a group we are in,
 * without CAP_CHOWN): the daemon's control_group. use_syslog != 0 sends
 * one line per alert to syslog (LOG_DAEMON, LOG_WARNING or LOG_CRIT by
 * severity). */
int sinks_open(const char *alerts_file, const char *group, int use_syslog,
    struct sinks **ret_sinks, char *err, size_t errlen);
void sinks_close(struct sinks *s);

/* Hand an alert to every sink; never blocks on a slow disk for long
 * (stdio buffering; written out by sinks_flush). */
void sinks_alert(struct sinks *s, const struct alert *a);
/* Flush the file; 0 or -errno (the failure is counted). */
int sinks_flush(struct sinks *s);
/* Close and reopen the file (log rotation), with the same mode and
 * group. 0 or -errno. */
int sinks_reopen(struct sinks *s);

uint64_t sinks_errors(const struct sinks *s);

/* The syslog line for an alert, without the ident: "alert KIND SEVERITY
 * id=N peer=ADDR local=ADDR:PORT [process=COMM[PID] uid=N] action=A:
 * MESSAGE"; non-printable bytes become '?'. Returns buf. */
char *sinks_format_line(const struct alert *a, char *buf, size_t len);

#endif
