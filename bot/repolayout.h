/* repolayout: hands git/'s environment rules (git/changes.h) the layout
 * that deploybot.json (deploy/repoconfig.h) describes. The two modules do
 * not know each other; the bot, which uses both, joins them here. */
#ifndef DEPLOYBOT_BOT_REPOLAYOUT_H
#define DEPLOYBOT_BOT_REPOLAYOUT_H

#include "deploy/repoconfig.h"
#include "git/changes.h"

/* Views of rc's strings: rc must outlive out. Aborts on out of memory. */
void repolayout_from_config(const repoconfig *rc, changes_layout *out);
void repolayout_free(changes_layout *l);

#endif
