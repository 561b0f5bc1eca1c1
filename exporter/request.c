/* The control protocol's requests, checked and decoded (request.h). */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#include "../common/timeutil.h"
#include "../policy/bans.h"

int
request_alerts(const json_t *req, int64_t now_ms, struct alert_filter *ret,
    bool *ret_capped, const char **ret_error)
{
	struct alert_filter f = { .limit = REQUEST_ALERTS_LIMIT };
	const json_t *v;
	const char *s;
	uint64_t ms;

	if ((v = json_object_get(req, "since")) != NULL && !json_is_null(v)) {
		/* An RFC 3339 time, or a duration back from now ("1h"). */
		s = json_string_value(v);
		if (s == NULL || (time_parse_rfc3339(s, &f.since_ms) < 0 &&
		    (duration_parse(s, &ms) < 0 || now_ms < 0 ||
		    ms > (uint64_t)now_ms ||
		    (f.since_ms = now_ms - (int64_t)ms) < 0))) {
			*ret_error = "since must be an RFC 3339 time or a "
			    "duration such as 1h";
			return -EINVAL;
		}
	}
	if ((v = json_object_get(req, "kind")) != NULL && !json_is_null(v)) {
		if ((f.kind = json_string_value(v)) == NULL) {
			*ret_error = "kind must be a string";
			return -EINVAL;
		}
	}
	if ((v = json_object_get(req, "peer")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    cidr_parse(json_string_value(v), &f.peer) < 0) {
			*ret_error = "peer must be an address or CIDR";
			return -EINVAL;
		}
		f.has_peer = true;
	}
	if ((v = json_object_get(req, "limit")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000) {
			*ret_error = "limit must be an integer 1-1000000";
			return -EINVAL;
		}
		f.limit = (unsigned int)json_integer_value(v);
	}
	*ret_capped = f.limit > REQUEST_ALERTS_MAX;
	if (*ret_capped)
		f.limit = REQUEST_ALERTS_MAX;
	*ret = f;
	return 0;
}

int
request_peers(const json_t *req, enum peers_sort *ret_by,
    unsigned int *ret_n, const char **ret_error)
{
	enum peers_sort by = PEERS_SORT_PACKETS;
	json_int_t n = REQUEST_PEERS_LIMIT;
	const json_t *v;

	if ((v = json_object_get(req, "limit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 100000) {
			*ret_error = "limit must be an integer 1-100000";
			return -EINVAL;
		}
		n = json_integer_value(v);
	}
	if ((v = json_object_get(req, "sort")) != NULL &&
	    (!json_is_string(v) || peers_sort_parse(json_string_value(v),
	    &by) < 0)) {
		*ret_error = "sort must be packets, bytes, ports or syn";
		return -EINVAL;
	}
	*ret_by = by;
	*ret_n = (unsigned int)n;
	return 0;
}

int
request_bans(const json_t *req, struct request_bans *ret,
    const char **ret_error)
{
	const json_t *v;
	const char *f;

	memset(ret, 0, sizeof(*ret));
	ret->by = BANS_SORT_LEFT;
	if ((v = json_object_get(req, "limit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > REQUEST_BANS_LIMIT_MAX) {
			*ret_error = "limit must be an integer 1-1000000";
			return -EINVAL;
		}
		ret->limit = (size_t)json_integer_value(v);
		ret->sorted = true;
	}
	if ((v = json_object_get(req, "sort")) != NULL) {
		if (!json_is_string(v) || bans_sort_parse(json_string_value(v),
		    &ret->by) < 0) {
			*ret_error = "sort must be left, created, address or "
			    "count";
			return -EINVAL;
		}
		ret->sorted = true;
	}
	if ((v = json_object_get(req, "filter")) != NULL) {
		f = json_string_value(v);
		if (f == NULL || f[0] == '\0' || strlen(f) > 63) {
			*ret_error = "filter must be 1-63 characters";
			return -EINVAL;
		}
		ret->filter = f;
		ret->is_cidr = cidr_parse(f, &ret->cidr) == 0 &&
		    bans_key(&ret->cidr, &ret->cidr) == 0;
	}
	return 0;
}

int
request_unblock(const json_t *req, struct request_block *ret,
    const char **ret_error)
{
	const json_t *arr = json_object_get(req, "peers"), *v;
	struct cidr *c;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > REQUEST_BLOCK_MAX) {
		*ret_error = "peers must be an array of 1-10000 addresses";
		return -EINVAL;
	}
	if ((c = calloc(json_array_size(arr), sizeof(*c))) == NULL) {
		*ret_error = "out of memory";
		return -ENOMEM;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || cidr_parse(json_string_value(v),
		    &c[i]) < 0 || bans_key(&c[i], &c[i]) < 0) {
			free(c);
			*ret_error = "peers: invalid address or CIDR";
			return -EINVAL;
		}
	}
	ret->peers = c;
	ret->npeers = json_array_size(arr);
	return 0;
}

int
request_block(const json_t *req, struct request_block *ret,
    const char **ret_error)
{
	const json_t *vfor = json_object_get(req, "for_ms"),
	    *vperm = json_object_get(req, "permanent"),
	    *vreason = json_object_get(req, "reason"),
	    *vforce = json_object_get(req, "force"),
	    *vbrief = json_object_get(req, "brief");
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((vfor != NULL && (!json_is_integer(vfor) ||
	    json_integer_value(vfor) < 1000 ||
	    json_integer_value(vfor) > REQUEST_BLOCK_FOR_MAX)) ||
	    (vperm != NULL && !json_is_boolean(vperm)) ||
	    (vreason != NULL && !json_is_string(vreason)) ||
	    (vforce != NULL && !json_is_boolean(vforce)) ||
	    (vbrief != NULL && !json_is_boolean(vbrief))) {
		*ret_error = "for_ms (1000 to 3650 days), permanent, reason, "
		    "force or brief has the wrong type or value";
		return -EINVAL;
	}
	if ((r = request_unblock(req, ret, ret_error)) < 0)
		return r;
	ret->for_ms = vfor != NULL ? (uint64_t)json_integer_value(vfor) : 0;
	ret->permanent = json_is_true(vperm);
	ret->force = json_is_true(vforce);
	ret->brief = json_is_true(vbrief);
	ret->reason = json_string_value(vreason);
	return 0;
}

void
request_block_clear(struct request_block *b)
{
	free(b->peers);
	memset(b, 0, sizeof(*b));
}

int
request_subscribe(const json_t *req, unsigned int dflt,
    unsigned int *ret_recent, const char **ret_error)
{
	const json_t *v = json_object_get(req, "recent");

	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > REQUEST_RECENT_MAX)) {
		*ret_error = "recent must be an integer 0-1024";
		return -EINVAL;
	}
	*ret_recent = v != NULL ? (unsigned int)json_integer_value(v) : dflt;
	return 0;
}
