/* runlog: a run's log while it runs. Every line, with secrets masked, goes
 * to the daemon's log (util/log.h, with the run, environment and commit as
 * its context: "[run ID ENV] line" in text, unless quiet), into the history at once (store/runs.h:
 * the run page and its live WebSocket show it) and into a buffer that is
 * stored whole when the run finishes.
 *
 * It also notes the moments the timings line needs (bench/ reads it). */
#ifndef DEPLOYBOT_BOT_RUNLOG_H
#define DEPLOYBOT_BOT_RUNLOG_H

#include <stddef.h>
#include "notify/redact.h"
#include "store/lease.h"
#include "store/store.h"
#include "util/log.h"

typedef struct {
    long run;
    const char *env;
    const char *commit; /* the run's, for the log's context; NULL: none */
    const redactor *rd;
    store *history;           /* may be NULL: stderr and the buffer only */
    const store_fence *fence; /* the run's lease: a line is refused once it is lost;
                                 NULL: unchecked */
    int quiet;                /* set: nothing to stderr either */
    char *buf;                /* every line so far, '\n'-terminated; may be NULL */
    size_t len;
    /* Monotonic microseconds (util/clock.h), 0 until they happen: when
     * envrun started, when it logged its first line (it had the plan); and
     * the time spent queueing statuses. */
    long long t_envrun, t_planned, notify_us;
} run_log;

void run_log_init(run_log *l, long run, const char *env, const redactor *rd, store *history);
/* Appends one line; `arg` is the run_log, so this is an envrun log callback. */
void run_log_line(void *arg, const char *line);
void run_log_printf(run_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_log_free(run_log *l);

/* The context of l's lines in the daemon's log. */
log_ctx run_log_ctx(const run_log *l);

#endif
