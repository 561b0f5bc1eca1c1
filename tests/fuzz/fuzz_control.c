/*
 * libFuzzer target for the control protocol's requests, down to where
 * the daemon would act: the input is one request line as a client
 * writes it to the control socket. control_parse_request() (what the
 * exporter checks before relaying a line) must accept an object with a
 * string "cmd" or say why not; each command's arguments then go through
 * their decoder (exporter/request.h, sockjson_query_decode), whose
 * results must lie in the ranges the handlers rely on. Seeds:
 * tests/fuzz/corpus_control (requests as the sockwatch CLI sends them).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../exporter/control.h"
#include "../../exporter/request.h"
#include "../../exporter/sockjson.h"
#include "../../policy/bans.h"

/* A fixed clock: "since" durations count back from it. */
#define NOW_MS	1796000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_block(const struct request_block *q)
{
	struct cidr key;
	size_t i;

	if (q->npeers < 1 || q->npeers > REQUEST_BLOCK_MAX ||
	    (q->for_ms != 0 && (q->for_ms < 1000 ||
	    q->for_ms > (uint64_t)REQUEST_BLOCK_FOR_MAX)))
		abort();
	for (i = 0; i < q->npeers; i++)
		if (bans_key(&q->peers[i], &key) < 0 ||
		    cidr_compare(&key, &q->peers[i]) != 0)
			abort();
}

static int
decode(const char *cmd, const json_t *req, const char **err)
{
	struct sockdiag_query sq;
	struct request_block q;
	struct request_bans qb;
	struct cidr key;
	struct alert_filter f;
	enum peers_sort by;
	unsigned int n;
	bool procs, capped;
	int r;

	if (strcmp(cmd, "sockets") == 0 || strcmp(cmd, "listeners") == 0) {
		r = sockjson_query_decode(req, &sq, &procs, err);
		if (r == 0 && (sq.port < -1 || sq.port > 65535))
			abort();
	} else if (strcmp(cmd, "alerts") == 0) {
		r = request_alerts(req, NOW_MS, &f, &capped, err);
		if (r == 0 && (f.limit < 1 || f.limit > REQUEST_ALERTS_MAX ||
		    (capped && f.limit != REQUEST_ALERTS_MAX)))
			abort();
	} else if (strcmp(cmd, "peers") == 0) {
		r = request_peers(req, &by, &n, err);
		if (r == 0 && (n < 1 || n > 100000 || by > PEERS_SORT_SYN))
			abort();
	} else if (strcmp(cmd, "bans") == 0) {
		r = request_bans(req, &qb, err);
		if (r == 0 && (qb.limit > REQUEST_BANS_LIMIT_MAX ||
		    qb.by > BANS_SORT_COUNT || (qb.filter != NULL &&
		    (qb.filter[0] == '\0' || strlen(qb.filter) > 63)) ||
		    (qb.is_cidr && (bans_key(&qb.cidr, &key) < 0 ||
		    cidr_compare(&key, &qb.cidr) != 0))))
			abort();
	} else if (strcmp(cmd, "block") == 0 ||
	    strcmp(cmd, "unblock") == 0) {
		r = cmd[0] == 'b' ? request_block(req, &q, err) :
		    request_unblock(req, &q, err);
		if (r == 0) {
			check_block(&q);
			request_block_clear(&q);
		}
	} else if (strcmp(cmd, "subscribe") == 0) {
		r = request_subscribe(req, 10, &n, err);
		if (r == 0 && n > REQUEST_RECENT_MAX)
			abort();
	} else
		r = 0;			/* no arguments */
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cmd, *err = NULL;
	json_t *req;
	char *line;

	if ((line = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	if (control_parse_request(line, size, &req, &cmd, &err) < 0) {
		if (err == NULL || req != NULL)
			abort();
	} else {
		if (!json_is_object(req) || cmd == NULL ||
		    cmd != json_string_value(json_object_get(req, "cmd")))
			abort();
		if (decode(cmd, req, &err) < 0 && err == NULL)
			abort();
		json_decref(req);
	}
	free(line);
	return 0;
}
