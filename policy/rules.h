/* Policy rules and their lookups. */
#ifndef SW_RULES_H
#define SW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Parse one [listen] allow entry ("tcp/22 sshd", "udp/53"). 0 or -EINVAL
 * with a reason in why. */
int rules_listen_parse(const char *s, struct listen_rule *ret_rule,
    char *why, size_t whylen);
/* Print an entry back ("tcp/22 sshd"). Returns buf. */
char *rules_listen_format(const struct listen_rule *r, char *buf,
    size_t len);

enum rules_verdict {
	RULES_ALLOWED,			/* an entry covers proto/port/comm */
	RULES_PORT_NOT_ALLOWED,		/* no entry for proto/port */
	RULES_PROCESS_NOT_ALLOWED,	/* entries for the port, other comms */
};

/* Is a listener on proto/port held by comm (NULL or "" if unknown)
 * allowed? ret_rule (may be NULL) gets the entry that matched, or for
 * RULES_PROCESS_NOT_ALLOWED the first entry for that port. */
enum rules_verdict rules_listen_check(const struct listen_rule *rules,
    size_t n, uint8_t proto, uint16_t port, const char *comm,
    const struct listen_rule **ret_rule);

#endif
