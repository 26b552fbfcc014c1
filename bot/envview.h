/* envview: the card of each environment, as the dashboard, GET
 * /api/environments and its live WebSocket show it: where it stands
 * (store/envstate.h) and who wrote the deployed commit, when, and why (its
 * subject, from the mirror: git/commitinfo.h), linked to the host's page.
 *
 * A card is env_status_json's object with one more member, "commit": null
 * when nothing is deployed, else {"sha", "short", "url", "subject",
 * "author", "time_s"} (the last three null when the mirror lacks the
 * commit). The environments are those of the history and the locks and the
 * operator's "environments". One envview per server thread: it caches what
 * it read of commits, which never change. */
#ifndef DEPLOYBOT_BOT_ENVVIEW_H
#define DEPLOYBOT_BOT_ENVVIEW_H

#include <jansson.h>
#include "bot/config.h"
#include "store/store.h"

typedef struct envview envview;

envview *envview_new(const bot_config *cfg);
void envview_free(envview *v);

/* Every card, sorted by environment name. NULL with err (the database). */
json_t *envview_cards(envview *v, store *db, errinfo *err);
/* One card; NULL with ERR_NOT_FOUND for an environment nobody knows. */
json_t *envview_card(envview *v, store *db, const char *env, errinfo *err);

#endif
