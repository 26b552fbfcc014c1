/* runlog: see runlog.h. */
#include "bot/runlog.h"
#include "store/runs.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void run_log_init(run_log *l, long run, const char *env, const redactor *rd, store *history) {
    memset(l, 0, sizeof(*l));
    l->run = run;
    l->env = env;
    l->rd = rd;
    l->history = history;
}

static void keep(run_log *l, const char *line) {
    size_t n = strlen(line);
    char *b = realloc(l->buf, l->len + n + 2);

    if (!b) return;
    memcpy(b + l->len, line, n);
    b[l->len + n] = '\n';
    b[l->len + n + 1] = '\0';
    l->buf = b;
    l->len += n + 1;
}

/* A secret (a token pasted into a stack file, say) never reaches the log or
 * the history. */
void run_log_line(void *arg, const char *line) {
    run_log *l = arg;
    char *safe = redact(l->rd, line);

    if (l->t_envrun > 0 && l->t_planned == 0) l->t_planned = clock_mono_us();
    if (!l->quiet) {
        log_ctx ctx = run_log_ctx(l);
        log_write(LOG_INFO, &ctx, "%s", safe);
    }
    errinfo err;
    if (l->history && store_run_log_append(l->history, l->run, l->fence, safe, &err) < 0 && err.code == ERR_CONFLICT) {
        log_ctx ctx = run_log_ctx(l);
        log_write(LOG_WARN, &ctx, "line not recorded: %s", err.msg);
    }
    keep(l, safe);
    free(safe);
}

void run_log_printf(run_log *l, const char *fmt, ...) {
    char line[1600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    run_log_line(l, line);
}

log_ctx run_log_ctx(const run_log *l) {
    return (log_ctx){.run = l->run, .env = l->env, .commit = l->commit};
}

void run_log_free(run_log *l) {
    free(l->buf);
    l->buf = NULL;
    l->len = 0;
}
