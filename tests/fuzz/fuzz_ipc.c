/*
 * libFuzzer target for the inter-process messages (common/ipc.h): the
 * input is what a compromised inspector, exporter or CrowdSec client
 * could write down its socket, or what the CrowdSec client reads from
 * the parent. It is fed to the reader in
 * pieces (the first byte sets the reader and the piece size, as a stream
 * socket may split it anywhere), every whole
 * message is decoded by its type's decoder, and alerts go through the
 * parent's strict alert parser. Nothing may read out of bounds, leak or
 * loop; a broken frame must end the stream.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ipc.h"
#include "../../policy/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decode_one(const struct ipc_msg *m)
{
	struct ipc_peers_req q;
	struct ipc_request rq;
	struct ipc_cs_decision d;
	struct cidr peer;
	struct addr one;
	uint64_t ms;

	const uint8_t *rest;
	uint8_t st[IPC_FIXED_MAX];
	const uint8_t *tcp, *udp;
	const char *json;
	struct alert a;
	struct addr *addrs;
	char text[1024];
	uint32_t seq;
	size_t n;
	json_t *j;
	int pri;

	switch (m->type) {
	case IPC_FAIL:
		(void)ipc_decode_text(m, text, sizeof(text));
		break;
	case IPC_LOG:
		(void)ipc_decode_log(m, &pri, text, sizeof(text));
		break;
	case IPC_ALERT:
		j = json_loadb((const char *)m->payload, m->len,
		    JSON_REJECT_DUPLICATES, NULL);
		if (j != NULL && alert_from_json(j, &a) == 0)
			alert_clear(&a);
		json_decref(j);
		break;
	case IPC_STATS:
		(void)ipc_decode_fixed(m, IPC_STATS, st, 400);
		break;
	case IPC_PEERS_REPLY:
		if (ipc_decode_peers_reply(m, &seq, &json, &n) == 0)
			json_decref(json_loadb(json, n,
			    JSON_REJECT_DUPLICATES, NULL));
		break;
	case IPC_LISTENERS:
		(void)ipc_decode_listeners(m, &tcp, &udp);
		break;
	case IPC_LOCAL:
		if (ipc_decode_local(m, &addrs, &n) == 0)
			free(addrs);
		break;
	case IPC_PEERS_REQ:
		(void)ipc_decode_peers_req(m, &q);
		break;
	case IPC_REQUEST:
		if (ipc_decode_request(m, &rq, &json, &n) == 0)
			json_decref(json_loadb(json, n,
			    JSON_REJECT_DUPLICATES, NULL));
		break;
	case IPC_METRICS_REQ:
		(void)ipc_decode_seq(m, &seq, &rest, &n);
		break;
	case IPC_CONTROL_STATS:
		(void)ipc_decode_fixed(m, IPC_CONTROL_STATS, st, 48);
		break;
	case IPC_CAPTURES:
		(void)ipc_decode_fixed(m, IPC_CAPTURES, st, 64);
		break;
	case IPC_CS_DECISIONS:
		for (n = 0; n + sizeof(d) <= m->len; n += sizeof(d)) {
			memcpy(&d, m->payload + n, sizeof(d));
			(void)ipc_decode_cs_decision(&d, &peer, &ms);
		}
		break;
	case IPC_CS_STREAM_END:
		(void)ipc_decode_fixed(m, IPC_CS_STREAM_END, st,
		    sizeof(struct ipc_cs_stream_end));
		break;
	case IPC_CS_STATE:
		(void)ipc_decode_fixed(m, IPC_CS_STATE, st, 616);
		break;
	case IPC_CS_SIGNAL:
		(void)ipc_decode_fixed(m, IPC_CS_SIGNAL, st, 344);
		break;
	case IPC_CS_WITHDRAW:
		(void)ipc_decode_cs_withdraw(m, &one);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_reader r = { 0 };
	struct ipc_msg m;
	size_t piece, off;
	int e = 0;

	if (size < 1)
		return 0;
	/* The parent's three readers, what an inspector, an exporter or a
	 * CrowdSec client may send up, and the CrowdSec client's (the low
	 * two bits); the rest of the byte is the piece size. */
	r.accept = (data[0] & 3) == 0 ? IPC_FROM_INSPECTOR :
	    (data[0] & 3) == 1 ? IPC_FROM_EXPORTER : (data[0] & 3) == 2 ?
	    IPC_FROM_CROWDSEC : IPC_TO_CROWDSEC;
	piece = (size_t)(data[0] >> 2) + 1;
	for (off = 1; off < size && e >= 0; off += piece) {
		if (ipc_reader_feed(&r, data + off, size - off < piece ?
		    size - off : piece) < 0)
			break;
		while ((e = ipc_next(&r, &m)) == 1)
			decode_one(&m);
	}
	ipc_reader_free(&r);
	return 0;
}
