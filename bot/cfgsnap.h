/* cfgsnap: the bot's current settings, which a reload (SIGHUP, bot/reload.h)
 * replaces whole.
 *
 * A thread takes a reference for what it is about to do (a job, a run) with
 * cfgsnap_get and gives it back with cfgsnap_put; cfgsnap_swap publishes a
 * new value, and the old one is freed when its last reference comes back.
 * So a run keeps the settings it started with, and a value is never edited
 * while a thread reads it (bot/config.h). Thread-safe. */
#ifndef DEPLOYBOT_BOT_CFGSNAP_H
#define DEPLOYBOT_BOT_CFGSNAP_H

#include "bot/config.h"

typedef struct cfgsnap cfgsnap;

/* Takes over *cfg (the caller's struct is left empty). */
cfgsnap *cfgsnap_new(bot_config *cfg);
/* The current settings, referenced: valid until cfgsnap_put. */
const bot_config *cfgsnap_get(cfgsnap *s);
void cfgsnap_put(cfgsnap *s, const bot_config *cfg);
/* Makes *cfg the current settings (taken over, as by cfgsnap_new). */
void cfgsnap_swap(cfgsnap *s, bot_config *cfg);
/* Every reference must have been given back. */
void cfgsnap_free(cfgsnap *s);

#endif
