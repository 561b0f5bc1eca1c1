#include "detect.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"

bool
detect_is_listener(const struct sock_info *s)
{
	if (s->proto == IPPROTO_TCP)
		return s->state == TCP_LISTEN;
	if (s->proto == IPPROTO_UDP)
		return s->state == TCP_CLOSE && s->lport != 0;
	return false;
}

/* Process names are chosen by whoever runs the process: keep them
 * printable before they reach logs and terminals. */
static void
comm_printable(const char *in, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; in[i] != '\0' && o + 1 < len; i++)
		out[o++] = (in[i] > 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[o] = '\0';
}

int
detect_listener(const struct config *cfg, const struct sock_info *s,
    const struct proc_owner *owners, size_t nowners,
    struct alert *ret_alert)
{
	const struct listen_rule *rule = NULL;
	enum rules_verdict v = RULES_PORT_NOT_ALLOWED;
	char addr[ADDR_STRLEN], why[128], rulebuf[64];
	char comm[sizeof(ret_alert->comm)] = "";
	const char *proto = s->proto == IPPROTO_TCP ? "tcp" : "udp";
	struct alert a;
	json_t *procs;
	size_t i;

	if (!detect_is_listener(s) || cfg->listen.nallow == 0)
		return 0;
	/* Allowed if any holder of the socket is allowed. */
	for (i = 0; i < (nowners ? nowners : 1); i++) {
		v = rules_listen_check(cfg->listen.allow, cfg->listen.nallow,
		    s->proto, s->lport, nowners ? owners[i].comm : NULL,
		    &rule);
		if (v == RULES_ALLOWED)
			return 0;
	}
	if (nowners > 0)
		comm_printable(owners[0].comm, comm, sizeof(comm));
	if (v == RULES_PROCESS_NOT_ALLOWED && rule != NULL)
		snprintf(why, sizeof(why), "[listen] allow has %s, not %s",
		    rules_listen_format(rule, rulebuf, sizeof(rulebuf)),
		    comm[0] ? comm : "an unknown process");
	else
		snprintf(why, sizeof(why), "no [listen] allow entry for %s/%u",
		    proto, s->lport);

	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "listener");
	a.has_local = true;
	a.local_addr = s->laddr;
	a.local_port = s->lport;
	/* Reachable from other hosts is worse than loopback-only. */
	a.severity = addr_is_loopback(&s->laddr) ? ALERT_INFO : ALERT_WARNING;
	if (nowners > 0) {
		a.has_process = true;
		a.pid = owners[0].pid;
		snprintf(a.comm, sizeof(a.comm), "%s", comm);
	}
	a.uid = s->uid;
	addr_format_port(&s->laddr, s->lport, addr, sizeof(addr));
	/* Long messages are cut, not failed. */
	if (snprintf(a.message, sizeof(a.message),
	    "unexpected %s listener on %s%s by %s%s: %s", proto, addr,
	    addr_is_loopback(&s->laddr) ? " (loopback only)" : "",
	    comm[0] ? comm : "an unknown process",
	    nowners > 1 ? " and others" : "", why) < 0)
		return -EINVAL;
	snprintf(a.action, sizeof(a.action), "%s",
	    config_action_name(cfg->listen.action));
	procs = json_array();
	for (i = 0; procs != NULL && i < nowners; i++) {
		comm_printable(owners[i].comm, comm, sizeof(comm));
		json_array_append_new(procs, json_pack("{s:i, s:s}", "pid",
		    (int)owners[i].pid, "comm", comm));
	}
	a.evidence = json_pack("{s:s, s:s, s:i, s:b, s:I, s:I, s:s, s:o*}",
	    "proto", proto,
	    "address", addr_format(&s->laddr, addr, sizeof(addr)),
	    "port", (int)s->lport,
	    "loopback_only", addr_is_loopback(&s->laddr),
	    "inode", (json_int_t)s->inode,
	    "uid", (json_int_t)s->uid,
	    "rule", why,
	    "processes", procs);
	if (a.evidence == NULL)
		return -ENOMEM;
	*ret_alert = a;
	return 1;
}
