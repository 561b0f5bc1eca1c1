/* Renderers of what the daemon or an analysis returns as JSON: aligned
 * tables for a terminal, or the JSON itself. They return exit codes. */
#ifndef SW_VIEWS_H
#define SW_VIEWS_H

#include <jansson.h>

/* Pretty-printed JSON and a newline on stdout. */
int views_json(const json_t *j);
/* An array of alert objects (alert_to_json). */
int views_alerts(const json_t *arr, int json);
/* An array of peer objects (peerjson_encode). */
int views_peers(const json_t *arr, int json);
/* An array of ban objects (enforce_ban_json), oldest first. */
int views_bans(const json_t *arr, int json);

#endif
