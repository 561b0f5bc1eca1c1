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
#define IPC_DECODE_KINDS 24		/* decode result counters carried */

enum ipc_type {
	/* inspector -> parent */
	IPC_HELLO = 1,		/* confined and running; no payload */
	IPC_FAIL,		/* could not start: text naming the step */
	IPC_LOG,		/* one byte of priority, then text */
	IPC_ALERT,		/* an alert, as alert_to_json() text */
	IPC_BATCH_END,		/* a capture batch ended: flush its bans */
	IPC_STATS,		/* struct ipc_stats */
	IPC_REPLAY_DONE,	/* the capture file is read; no payload */
	IPC_PEERS_REPLY,	/* u32 sequence, then JSON array text */
	/* parent -> inspector */
	IPC_LISTENERS,		/* TCP then UDP port bitmaps */
	IPC_LOCAL,		/* the host's addresses, 17 bytes each */
	IPC_PEERS_REQ,		/* struct ipc_peers_req */
	IPC_TYPE_MAX = IPC_PEERS_REQ
};

/* Counters the inspector reports every tick (fixed width, host order:
 * both ends are the same binary). */
struct ipc_stats {
	uint64_t received, dropped, ifdropped;	/* capture, all handles */
	uint64_t cap_packets;			/* handed to the decoder */
	uint64_t decode_errors[IPC_DECODE_KINDS];
	uint64_t packets, inbound, outbound, unknown, skipped, exempt;
	uint64_t alerts[4], repeats[4];
	uint64_t alerts_dropped, listener_overflow, peer_evictions;
	uint64_t peers, max_peers, listeners;
	int64_t now_ms;				/* the packets' clock */
	uint64_t log_dropped;			/* log lines over the rate */
};

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

struct ipc_reader {
	uint8_t *buf;
	size_t len, off, cap;
};

const char *ipc_type_name(enum ipc_type t);

/* Write one message (header and payload in one writev, the rest retried
 * until all is out). 0, or -errno (-EAGAIN when a send timeout passed:
 * the other end is not reading). */
int ipc_send(int fd, enum ipc_type type, const void *payload, size_t len);

/* Read what the socket has (at most max bytes) into the reader. Returns
 * bytes read, 0 at end of file, or -errno (-EAGAIN: nothing waiting). */
ssize_t ipc_reader_fill(struct ipc_reader *r, int fd, size_t max);
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
int ipc_decode_stats(const struct ipc_msg *m, struct ipc_stats *ret);
int ipc_decode_peers_req(const struct ipc_msg *m, struct ipc_peers_req *ret);
/* The sequence number and the JSON text (not NUL-terminated). */
int ipc_decode_peers_reply(const struct ipc_msg *m, uint32_t *ret_seq,
    const char **ret_json, size_t *ret_len);
int ipc_decode_listeners(const struct ipc_msg *m, const uint8_t **ret_tcp,
    const uint8_t **ret_udp);
/* Unicast IPv4 and IPv6 addresses only; the array is malloc'd. */
int ipc_decode_local(const struct ipc_msg *m, struct addr **ret, size_t *ret_n);

/* Encoders for the payloads that are not plain bytes. */
int ipc_send_log(int fd, int pri, const char *text);
int ipc_send_local(int fd, const struct addr *a, size_t n);
int ipc_send_peers_reply(int fd, uint32_t seq, const char *json, size_t len);

#endif
