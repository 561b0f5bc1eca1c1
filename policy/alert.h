/* An alert: what a detector raised, with its evidence and the action. */
#ifndef SW_ALERT_H
#define SW_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/addr.h"

enum alert_severity { ALERT_INFO, ALERT_WARNING, ALERT_CRITICAL };

struct alert {
	uint64_t id;			/* unique, increasing; set by the daemon */
	int64_t time_ms;		/* UTC, ms since the epoch */
	char kind[16];			/* "listener", "portscan", ... */
	enum alert_severity severity;
	bool has_peer;
	struct addr peer;
	bool has_local;
	struct addr local_addr;
	uint16_t local_port;
	bool has_process;
	pid_t pid;
	uint32_t uid;
	char comm[64];			/* printable (escaped) process name */
	char message[256];		/* one line, for humans */
	json_t *evidence;		/* owned JSON object, never NULL once set */
	char action[16];		/* "alert", "block", ... */
};

/* Release the evidence; the struct may then be reused. */
void alert_clear(struct alert *a);
/* Deep copy (evidence is copied, not shared). 0 or -ENOMEM. */
int alert_copy(struct alert *dst, const struct alert *src);

const char *alert_severity_name(enum alert_severity s);
int alert_severity_parse(const char *name, enum alert_severity *ret);

/* The JSON form: id, time (RFC 3339 ms), kind, severity, peer,
 * local_addr, local_port, process {pid, comm, uid}, message, evidence,
 * action. Absent fields are null. NULL on allocation failure. */
json_t *alert_to_json(const struct alert *a);
/* Parse the JSON form back; strict about types. 0 or -EINVAL. */
int alert_from_json(const json_t *j, struct alert *ret_alert);

#endif
