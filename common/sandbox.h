/* seccomp allow-lists (libseccomp) for sockwatchd's confined processes.
 * Anything not on a list kills the whole process (SIGSYS); a few calls
 * that libraries make on their own and that we can do without fail with
 * an errno instead (noted in sandbox.c). */
#ifndef SW_SANDBOX_H
#define SW_SANDBOX_H

/* The inspector: reads packets from handles it was given, talks to its
 * parent over descriptors it already holds, computes. Sets no_new_privs
 * too. 0, or -errno with *ret_step ("seccomp_init", "seccomp_rule_add",
 * "seccomp_load"). */
int sandbox_inspector(const char **ret_step);
/* The exporter: the inspector's list, and accepting and serving clients
 * on the listening sockets it holds (no socket, bind, connect). */
int sandbox_exporter(const char **ret_step);
/* The CrowdSec client: the inspector's list, and HTTP over TCP (new
 * IPv4 and IPv6 sockets, connect). No threads, no files, no listening. */
int sandbox_crowdsec(const char **ret_step);

#endif
