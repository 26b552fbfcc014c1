/* livelog: a run's log as it is written, over a WebSocket.
 *
 *   new WebSocket("ws://bot/runs/ID/live", "deploybot-log")
 *
 * Every message is a JSON object {"log": "<new lines>", "state": "running"};
 * the last one carries the final state and "result", then the server closes.
 * The run page uses it; any client with a read credential can (the
 * server checks it, and Origin, before the upgrade: bot/auth.h). The log is
 * read from the history
 * (store/runs.h), so a viewer never slows the run down. */
#ifndef DEPLOYBOT_BOT_LIVELOG_H
#define DEPLOYBOT_BOT_LIVELOG_H

#include <stddef.h>
#include <libwebsockets.h>
#include "store/runs.h"

#define LIVELOG_PROTOCOL "deploybot-log"

/* Per-connection state lws allocates for the protocol (an upper bound, so
 * the protocol table can be a constant). */
#define LIVELOG_SESSION_BYTES 64

/* The run of a request for /runs/ID/live, or 0 when it asks for another
 * path (the server refuses a WebSocket anywhere else). */
long livelog_run_id(struct lws *wsi);

/* The protocol callback, given the history connection of the server thread. */
int livelog_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                     void *in, size_t len, store *history);

#endif
