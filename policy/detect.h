/* The listener audit: a socket the monitor saw, checked against [listen]
 * allow. No globals, no I/O: the daemon feeds records in and takes alerts
 * out. (The traffic detectors are in traffic.h.) */
#ifndef SW_DETECT_H
#define SW_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "../monitor/proc.h"
#include "../monitor/sockdiag.h"
#include "alert.h"
#include "config.h"

/* Is s a listener in the audit's sense: TCP in LISTEN, or UDP bound and
 * unconnected? */
bool detect_is_listener(const struct sock_info *s);

/* The listener audit. owners are the processes holding s (may be empty
 * when unknown). Returns 1 and fills ret_alert (time and id left 0 for the
 * caller) when [listen] allow does not cover the listener, 0 when it does
 * or the audit is off, -ENOMEM. */
int detect_listener(const struct config *cfg, const struct sock_info *s,
    const struct proc_owner *owners, size_t nowners,
    struct alert *ret_alert);

#endif
