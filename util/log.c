/* log: see log.h. */
#include "util/log.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_format g_format;
/* Read by every line, written by a reload: a line masks with one mask whole,
 * and the old one is handed back only when no line uses it any more. */
static pthread_rwlock_t g_mask_lock = PTHREAD_RWLOCK_INITIALIZER;
static log_mask_fn g_mask;
static void *g_mask_arg;

void log_setup(log_format format, log_mask_fn mask, void *mask_arg) {
    g_format = format;
    log_mask_swap(mask, mask_arg);
}

void *log_mask_swap(log_mask_fn mask, void *mask_arg) {
    pthread_rwlock_wrlock(&g_mask_lock);
    void *old = g_mask_arg;
    g_mask = mask;
    g_mask_arg = mask_arg;
    pthread_rwlock_unlock(&g_mask_lock);
    return old;
}

int log_is_json(void) {
    return g_format == LOG_JSON;
}

int log_format_parse(const char *name, log_format *out) {
    if (!strcmp(name, "text")) *out = LOG_TEXT;
    else if (!strcmp(name, "json")) *out = LOG_JSON;
    else return -1;
    return 0;
}

static const char *level_name(log_level l) {
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return names[l];
}

/* "2026-12-07T18:39:39.123Z" */
static void rfc3339_now(char *out, size_t len) {
    long long ms = clock_wall_ms();
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/* A JSON string of text; bytes that are no UTF-8 become '?' (jansson
 * refuses them, and a log line must not be lost for one). */
static json_t *json_text(const char *text) {
    json_t *j = json_string(text);
    if (j) return j;
    char *copy = strdup(text);
    if (!copy) abort();
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static void put_json(strbuf *line, log_level level, const log_ctx *c, const char *msg) {
    char now[40];
    rfc3339_now(now, sizeof(now));
    json_t *o = json_pack("{s:s,s:s,s:o}", "time", now, "level", level_name(level), "msg", json_text(msg));
    if (c && c->component) json_object_set_new(o, "component", json_string(c->component));
    if (c && c->delivery) json_object_set_new(o, "delivery", json_text(c->delivery));
    if (c && c->job) json_object_set_new(o, "job", json_integer(c->job));
    if (c && c->run) json_object_set_new(o, "run", json_integer(c->run));
    if (c && c->env) json_object_set_new(o, "env", json_text(c->env));
    if (c && c->commit) json_object_set_new(o, "commit", json_text(c->commit));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) strbuf_puts(line, s);
    free(s);
    json_decref(o);
}

static void put_text(strbuf *line, const log_ctx *c, const char *msg) {
    if (c && c->run) strbuf_printf(line, "[run %lld %s] ", c->run, c->env ? c->env : "");
    else if (c && c->job) strbuf_printf(line, "[job %lld] ", c->job);
    else strbuf_printf(line, "deploybot%s%s: ", c && c->component ? " " : "", c && c->component ? c->component : "");
    strbuf_puts(line, msg);
}

/* stderr is the log: a short write is retried, a failed one dropped. */
static void write_all(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

void log_write(log_level level, const log_ctx *ctx, const char *fmt, ...) {
    strbuf line = {0};
    char *text = NULL, *masked;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) abort();
    va_end(ap);
    size_t n = strlen(text);
    if (n && text[n - 1] == '\n') text[n - 1] = '\0';
    /* Masked before it is encoded: a secret's JSON form may differ from it. */
    pthread_rwlock_rdlock(&g_mask_lock);
    masked = g_mask ? g_mask(g_mask_arg, text) : NULL;
    pthread_rwlock_unlock(&g_mask_lock);
    if (masked) {
        free(text);
        text = masked;
    }
    if (g_format == LOG_JSON) put_json(&line, level, ctx, text);
    else put_text(&line, ctx, text);
    strbuf_putc(&line, '\n');
    write_all(line.s, line.len);
    strbuf_free(&line);
    free(text);
}
