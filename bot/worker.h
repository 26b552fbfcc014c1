/* worker: the thread that takes jobs from the queue and runs them.
 * It has its own SQLite connection, mirror and HTTP clients. */
#ifndef DEPLOYBOT_BOT_WORKER_H
#define DEPLOYBOT_BOT_WORKER_H

#include <stddef.h>
#include "bot/config.h"

typedef struct worker worker;

worker *worker_start(const bot_config *cfg, const char *db_path, char *err, size_t errlen);
/* Wakes the worker now instead of at its next poll (called after a job is queued). */
void worker_wake(void *w);
/* Finishes the current job, then stops and joins the thread. */
void worker_stop(worker *w);

#endif
