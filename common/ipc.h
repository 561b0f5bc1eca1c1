/* Messages between sockwatchd's processes: an 8-byte header (version,
 * type, payload length) and the payload, over a SOCK_STREAM socketpair.
 * The reader trusts nothing: a wrong version, an unknown type or a length
 * past the type's own limit ends the channel (-EPROTO), and every payload
 * has a decoder that checks its size before reading it. */
#ifndef SW_IPC_H
#define SW_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define IPC_VERSION	1
#define IPC_HDR_LEN	8
/* The largest payload of any type (a peers reply); the reader's buffer
 * never grows past this plus a header. */
#define IPC_MAX_PAYLOAD	(16U << 20)
#define IPC_PORTMAP	8192		/* bytes of one listening-port bitmap */
#define IPC_LOCAL_MAX	4096		/* addresses in one IPC_LOCAL */
#define IPC_FIXED_MAX	4096		/* a fixed struct's payload */

enum ipc_type {
	/* inspector -> parent */
	IPC_HELLO = 1,		/* confined and running; no payload */
	IPC_FAIL,		/* could not start: text naming the step */
	IPC_LOG,		/* one byte of priority, then text */
	IPC_ALERT,		/* an alert, as alert_to_json() text */
	IPC_BATCH_END,		/* a capture batch ended: flush its bans */
	IPC_STATS,		/* its counters: a fixed struct */
	IPC_REPLAY_DONE,	/* the capture file is read; no payload */
	IPC_PEERS_REPLY,	/* u32 sequence, then JSON array text */
	/* parent -> inspector */
	IPC_LISTENERS,		/* TCP then UDP port bitmaps */
	IPC_LOCAL,		/* the host's addresses, 17 bytes each */
	IPC_PEERS_REQ,		/* struct ipc_peers_req */
	/* exporter -> parent */
	IPC_REQUEST,		/* struct ipc_request, then the request JSON */
	IPC_METRICS_REQ,	/* u32 sequence */
	IPC_CONTROL_STATS,	/* its counters: a fixed struct */
	/* parent -> exporter */
	IPC_RESPONSE,		/* u64 client id, then the response JSON */
	IPC_EVENT,		/* one event's JSON, for the subscribers */
	IPC_METRICS_REPLY,	/* u32 sequence, then the exposition text */
	IPC_READERS,		/* the uids that may read: u32 each */
	/* parent -> inspector: bytes of sshd's log, as read */
	IPC_AUTHLOG,
	/* inspector -> parent: what a line of it says, a fixed struct */
	IPC_AUTH,
	/* parent -> inspector: the routes back, an array of fixed structs */
	IPC_ROUTES,
	/* inspector -> parent: the interface index each configured name's
	 * handle is bound to (0: none), a fixed struct */
	IPC_CAPTURES,
	/* crowdsec -> parent: the decisions of one answer, in pieces of
	 * struct ipc_cs_decision, then their end (a fixed struct): the
	 * parent applies the whole answer at the end, in one batch */
	IPC_CS_DECISIONS,
	IPC_CS_STREAM_END,
	/* crowdsec -> parent: its state and counters, a fixed struct */
	IPC_CS_STATE,
	/* parent -> crowdsec: one of our alerts to push, a fixed struct */
	IPC_CS_SIGNAL,
	/* parent -> crowdsec: an administrator unblocked this peer: delete
	 * the decisions our alerts made for it, struct ipc_cs_withdraw */
	IPC_CS_WITHDRAW,
	IPC_TYPE_MAX = IPC_CS_WITHDRAW
};

/* What each end accepts (ipc_reader.accept): a type outside the mask
 * ends the channel like a broken header. */
#define IPC_BIT(t)	(1U << (t))
#define IPC_FROM_INSPECTOR (IPC_BIT(IPC_HELLO) | IPC_BIT(IPC_FAIL) | \
	IPC_BIT(IPC_LOG) | IPC_BIT(IPC_ALERT) | IPC_BIT(IPC_STATS) | \
	IPC_BIT(IPC_REPLAY_DONE) | IPC_BIT(IPC_PEERS_REPLY) | \
	IPC_BIT(IPC_AUTH) | IPC_BIT(IPC_CAPTURES))
#define IPC_TO_INSPECTOR (IPC_BIT(IPC_LISTENERS) | IPC_BIT(IPC_LOCAL) | \
	IPC_BIT(IPC_PEERS_REQ) | IPC_BIT(IPC_AUTHLOG) | IPC_BIT(IPC_ROUTES))
#define IPC_AUTHLOG_MAX	65536		/* log bytes in one IPC_AUTHLOG */
#define IPC_FROM_EXPORTER (IPC_BIT(IPC_HELLO) | IPC_BIT(IPC_FAIL) | \
	IPC_BIT(IPC_LOG) | IPC_BIT(IPC_REQUEST) | IPC_BIT(IPC_METRICS_REQ) | \
	IPC_BIT(IPC_CONTROL_STATS))
#define IPC_TO_EXPORTER (IPC_BIT(IPC_RESPONSE) | IPC_BIT(IPC_EVENT) | \
	IPC_BIT(IPC_METRICS_REPLY) | IPC_BIT(IPC_READERS))
#define IPC_READERS_MAX	65536		/* uids in one IPC_READERS */
#define IPC_FROM_CROWDSEC (IPC_BIT(IPC_HELLO) | IPC_BIT(IPC_FAIL) | \
	IPC_BIT(IPC_LOG) | IPC_BIT(IPC_CS_DECISIONS) | \
	IPC_BIT(IPC_CS_STREAM_END) | IPC_BIT(IPC_CS_STATE))
#define IPC_TO_CROWDSEC (IPC_BIT(IPC_CS_SIGNAL) | IPC_BIT(IPC_CS_WITHDRAW))

/* One decision of CrowdSec's stream, as the child read it: the parent
 * takes only canonical prefixes (host bits zero) and zero padding. */
enum { IPC_CS_ADD = 1, IPC_CS_DELETE = 2 };
struct ipc_cs_decision {
	uint8_t op;				/* IPC_CS_ADD or _DELETE */
	uint8_t family;				/* 4 or 6 */
	uint8_t len;				/* the prefix length */
	uint8_t pad[5];
	uint64_t remaining_ms;			/* add: > 0; delete: 0 */
	uint8_t addr[16];			/* IPv4: the first 4 */
};
#define IPC_CS_DECISIONS_MAX (IPC_MAX_PAYLOAD / sizeof(struct ipc_cs_decision))

/* The end of one answer: how many decisions came before it (the parent
 * checks), and what the child left out. */
struct ipc_cs_stream_end {
	uint64_t decisions;
	uint64_t skipped, invalid;		/* not ours; malformed */
	uint64_t parse_ms;			/* the child's parse */
	uint8_t startup;			/* the whole set: lift the rest */
	uint8_t pad[7];
};

/* A peer whose decisions of ours are to be withdrawn: one address, with
 * zero padding (and zero bytes past an IPv4 address). */
struct ipc_cs_withdraw {
	uint8_t family;				/* 4 or 6 */
	uint8_t pad[7];
	uint8_t addr[16];			/* IPv4: the first 4 */
};

/* A control request relayed by the exporter. The client's socket comes
 * along (SCM_RIGHTS) when fd is 1, so that the parent can read the
 * peer's credentials itself. */
struct ipc_request {
	uint64_t client;			/* the exporter's id for it */
	uint32_t uid, pid;			/* SO_PEERCRED, as it says */
	uint8_t admin;				/* it thinks: uid 0 */
	uint8_t fd;				/* a descriptor came along */
	uint8_t pad[6];
};


/* IPC_STATS and IPC_CONTROL_STATS carry a struct of the daemon's own
 * (both ends are the same binary): the framing knows only its limit,
 * the decoder its exact size. */

struct ipc_peers_req {
	uint32_t seq;
	uint32_t sort;				/* enum peers_sort */
	uint32_t limit;
};

/* A received message; payload points into the reader's buffer and stays
 * valid until the next ipc_reader_fill or ipc_next. */
struct ipc_msg {
	enum ipc_type type;
	const uint8_t *payload;
	size_t len;
};

#define IPC_FDS_MAX	16		/* received descriptors waiting */

/* Messages framed but not yet written, for an end that must never block
 * (the parent's, towards the exporter). */
struct ipc_outq {
	uint8_t *buf;
	size_t off, len, cap;
};

struct ipc_reader {
	uint32_t accept;		/* IPC_BIT()s of the types taken */
	uint8_t *buf;
	size_t len, off, cap;
	int fds[IPC_FDS_MAX];		/* received, oldest first */
	unsigned int nfds;
};



const char *ipc_type_name(enum ipc_type t);

/* Write one message (header and payload in one writev, the rest retried
 * until all is out). 0, or -errno (-EAGAIN when a send timeout passed:
 * the other end is not reading). */
int ipc_send(int fd, enum ipc_type type, const void *payload, size_t len);

/* The same with a descriptor passed along (SCM_RIGHTS, with the first
 * byte). */
int ipc_send_fd(int fd, enum ipc_type type, const void *a, size_t alen,
    const void *b, size_t blen, int passfd);
/* Two pieces as one payload. */
int ipc_send2(int fd, enum ipc_type type, const void *a, size_t alen,
    const void *b, size_t blen);


/* Frame a message into q (two pieces as one payload). 0, -ENOMEM or
 * -EMSGSIZE. */
int ipc_queue(struct ipc_outq *q, enum ipc_type type, const void *a,
    size_t alen, const void *b, size_t blen);
/* Write what the socket takes now, without waiting. 0 when q is empty, 1
 * when bytes still wait (watch for EPOLLOUT), or -errno. */
int ipc_flush(struct ipc_outq *q, int fd);
size_t ipc_outq_pending(const struct ipc_outq *q);
void ipc_outq_free(struct ipc_outq *q);

/* Read what the socket has (at most max bytes) into the reader, with any
 * descriptors that came along. Returns bytes read, 0 at end of file, or
 * -errno (-EAGAIN: nothing waiting). */
ssize_t ipc_reader_fill(struct ipc_reader *r, int fd, size_t max);
/* The oldest descriptor received and not taken, or -1. */
int ipc_reader_take_fd(struct ipc_reader *r);
/* Append bytes as if read (tests and the fuzz target). 0 or -ENOMEM;
 * -EPROTO when more than one message's worth would be buffered. */
int ipc_reader_feed(struct ipc_reader *r, const void *data, size_t len);
/* The next whole message: 1 with *ret, 0 when more bytes are needed,
 * -EPROTO for a header that breaks the framing (version, type, length). */
int ipc_next(struct ipc_reader *r, struct ipc_msg *ret);
void ipc_reader_free(struct ipc_reader *r);

/* Payload decoders: 0, or -EINVAL when the payload is not exactly what
 * its type says. Text is copied NUL-terminated, with every byte that is
 * not printable ASCII replaced by '?' (it ends up in logs). */
int ipc_decode_text(const struct ipc_msg *m, char *buf, size_t buflen);
int ipc_decode_log(const struct ipc_msg *m, int *ret_pri, char *buf,
    size_t buflen);
/* A fixed struct of len bytes, for type. */
int ipc_decode_fixed(const struct ipc_msg *m, enum ipc_type type, void *ret,
    size_t len);
/* Fixed structs of size bytes each, copied into a malloc'd array (the
 * payload is not aligned for them). -EINVAL unless whole ones. */
int ipc_decode_array(const struct ipc_msg *m, enum ipc_type type,
    size_t size, void **ret, size_t *ret_n);
int ipc_decode_peers_req(const struct ipc_msg *m, struct ipc_peers_req *ret);
/* The sequence number and the JSON text (not NUL-terminated). */
int ipc_decode_peers_reply(const struct ipc_msg *m, uint32_t *ret_seq,
    const char **ret_json, size_t *ret_len);
int ipc_decode_listeners(const struct ipc_msg *m, const uint8_t **ret_tcp,
    const uint8_t **ret_udp);
/* Unicast IPv4 and IPv6 addresses only; the array is malloc'd. */
int ipc_decode_local(const struct ipc_msg *m, struct addr **ret, size_t *ret_n);

int ipc_decode_request(const struct ipc_msg *m, struct ipc_request *ret,
    const char **ret_json, size_t *ret_len);
/* u32 sequence numbers (IPC_METRICS_REQ, IPC_METRICS_REPLY), and the rest
 * of the payload (not NUL-terminated). */
int ipc_decode_seq(const struct ipc_msg *m, uint32_t *ret_seq,
    const uint8_t **ret_rest, size_t *ret_len);
/* The uids (host order), into a malloc'd array. */
int ipc_decode_readers(const struct ipc_msg *m, uint32_t **ret,
    size_t *ret_n);
/* u64 client id and the response JSON. */
int ipc_decode_response(const struct ipc_msg *m, uint64_t *ret_client,
    const char **ret_json, size_t *ret_len);

/* One decision of an IPC_CS_DECISIONS array into a prefix and, for an
 * add, its remaining time. 0, or -EINVAL for anything not canonical. */
int ipc_decode_cs_decision(const struct ipc_cs_decision *d,
    struct cidr *ret_peer, uint64_t *ret_ms);
/* The other way (a canonical prefix; ms 0 for a delete). */
void ipc_encode_cs_decision(struct ipc_cs_decision *d, int op,
    const struct cidr *peer, uint64_t ms);

/* An IPC_CS_WITHDRAW record into its address. 0, or -EINVAL for any
 * other size, family, padding or bytes past an IPv4 address. */
int ipc_decode_cs_withdraw(const struct ipc_msg *m, struct addr *ret);
void ipc_encode_cs_withdraw(struct ipc_cs_withdraw *w, const struct addr *a);

/* Encoders for the payloads that are not plain bytes. */
int ipc_send_log(int fd, int pri, const char *text);
int ipc_send_local(int fd, const struct addr *a, size_t n);
int ipc_send_peers_reply(int fd, uint32_t seq, const char *json, size_t len);
/* A u32 sequence number, then rest (IPC_METRICS_REQ, IPC_METRICS_REPLY). */
int ipc_send_seq(int fd, enum ipc_type type, uint32_t seq, const void *rest,
    size_t len);


#endif
