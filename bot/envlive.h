/* envlive: the environments' cards as they change, over a WebSocket.
 *
 *   new WebSocket("ws://bot/live", "deploybot-envs")
 *
 * The first message is {"environments": [card, ...]} (bot/envview.h), as
 * GET /api/environments answers, each card with "html": its element as the
 * dashboard renders it (bot/webpage.h); another follows whenever any card changes
 * (a run queued, started or finished, a lock set or cleared). The dashboard
 * uses it to update its cards without a reload; any client with a read
 * credential can (the server checks it, and Origin, before the upgrade:
 * bot/auth.h). The server thread looks every POLL_US (envlive.c), so a
 * viewer never slows a run down. */
#ifndef DEPLOYBOT_BOT_ENVLIVE_H
#define DEPLOYBOT_BOT_ENVLIVE_H

#include <stddef.h>
#include <libwebsockets.h>
#include "bot/envview.h"

#define ENVLIVE_PROTOCOL "deploybot-envs"
#define ENVLIVE_PATH "/live"

/* Per-connection state lws allocates for the protocol (an upper bound). */
#define ENVLIVE_SESSION_BYTES 32

int envlive_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, envview *v,
                     store *db);

#endif
