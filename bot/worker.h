/* worker: the threads that take work from the store. One dispatcher turns
 * webhook jobs into runs (bot/dispatch.h); cfg->runners run threads execute
 * runs (bot/execute.h); one more checks the environments for drift
 * (bot/drift.h). Each thread has its own store connection, mirror and
 * clients. On start, jobs and runs a crash left running are queued again. */
#ifndef DEPLOYBOT_BOT_WORKER_H
#define DEPLOYBOT_BOT_WORKER_H

#include "bot/config.h"
#include "util/metrics.h"

typedef struct worker worker;

/* cfg must outlive the worker (until worker_stop), and so must m, where
 * runs are counted (bot/metrics.h; NULL: nowhere). */
worker *worker_start(const bot_config *cfg, const char *db_path, metrics *m, errinfo *err);
/* Wakes the worker now instead of at its next poll (called after a job is queued). */
void worker_wake(void *w);
/* Finishes the current job and runs, then stops and joins the threads. */
void worker_stop(worker *w);

#endif
