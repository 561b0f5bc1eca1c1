/* The JSON form of a socket, shared by the CLI's direct path, the daemon's
 * answers and the CLI's rendering of those answers. */
#ifndef SW_SOCKJSON_H
#define SW_SOCKJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../monitor/proc.h"
#include "../monitor/sockdiag.h"

#define SOCKJSON_OWNERS_MAX 16

/* Printable form of untrusted bytes: bytes outside printable ASCII become
 * \xNN, a backslash becomes \\. Returns buf. */
char *sockjson_escape(const char *in, size_t inlen, char *buf, size_t len);
/* A UNIX socket's path, printable: abstract names start with '@'; "*" if
 * unbound. Returns buf (at least 4 * SOCKDIAG_PATH_MAX + 2 bytes). */
char *sockjson_path(const struct sock_info *s, char *buf, size_t len);

/* Keys: proto, family, state, recv_q, send_q, uid, inode, cookie,
 * local_addr, local_port, remote_addr, remote_port, interface, path, type,
 * peer_inode (null where they do not apply), and processes: an array of
 * {pid, comm, fd}, or null when processes were not asked for. */
json_t *sockjson_encode(const struct sock_info *s,
    const struct proc_owner *owners, size_t nowners, bool with_processes);

/* Parse an object made by sockjson_encode. owners' comm strings point
 * into j. Returns 0 or -EINVAL. */
int sockjson_decode(const json_t *j, struct sock_info *ret_sock,
    struct proc_owner *ret_owners, size_t max, size_t *ret_nowners);

/* A socket query as sent on the control socket: {"protos": [...],
 * "families": [...], "states": [...], "port": N|null, "peer": CIDR|null,
 * "processes": bool}. Absent lists mean everything. */
json_t *sockjson_query_encode(const struct sockdiag_query *q,
    bool processes);
int sockjson_query_decode(const json_t *req, struct sockdiag_query *ret_q,
    bool *ret_processes, const char **ret_error);

#endif
