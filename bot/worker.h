/* worker: the threads that take work from the store. One dispatcher turns
 * webhook jobs into runs (bot/dispatch.h); cfg->runners run threads execute
 * runs (bot/execute.h); one more checks the environments for drift
 * (bot/drift.h). Each thread has its own store connection, mirror and
 * clients, made again from the current settings (bot/cfgsnap.h) when a
 * reload changed them, between jobs and runs. They claim work as `rep`
 * (bot/replica.h), which also queues again what a crash, a shutdown or
 * another replica left running once its lease ran out.
 *
 * When idle, the dispatcher also prunes the history older than
 * retention_days (store/retention.h), one batch at a time, every
 * retention_interval_s. */
#ifndef DEPLOYBOT_BOT_WORKER_H
#define DEPLOYBOT_BOT_WORKER_H

#include "bot/cfgsnap.h"
#include "bot/replica.h"
#include "util/metrics.h"

typedef struct worker worker;

/* snap must outlive the worker (until worker_stop), and so must rep and m,
 * where runs are counted (bot/metrics.h; NULL: nowhere). */
worker *worker_start(cfgsnap *snap, const char *db_path, replica *rep, metrics *m, errinfo *err);
/* Wakes the worker now instead of at its next poll (called after a job is queued). */
void worker_wake(void *w);
/* Finishes the current job, stops the runs under way between AWS calls
 * (bot/runstop.h: they resume at the next start), and joins the threads. */
void worker_stop(worker *w);

#endif
