/* log: the daemon's log lines on stderr, as text or as JSON lines.
 *
 * Text (the default, "log_format": "text") is the lines deploybot has
 * always written: "[run 7 dev] msg" for a run, "[job 3] msg" for a webhook
 * job, "deploybot: msg" otherwise ("deploybot aws: msg" for a component).
 * JSON ("json") is one object per line, for a log collector:
 *   {"time":"2026-12-07T18:39:39.123Z","level":"info","msg":"...",
 *    "delivery":"...","job":3,"run":7,"env":"dev","commit":"<sha>"}
 * time in RFC 3339, UTC, milliseconds; the context keys only when known.
 *
 * Every line goes through the mask given to log_setup (the bot's redactor:
 * the secrets of the config and notify.secrets_env) in both formats, and
 * is written with one write(2), so lines of threads never interleave.
 *
 * The format and the mask are process-wide, unlike the rest of deploybot's
 * state: every thread and layer logs, and threading a logger through each
 * call would only move the same value around. log_setup is called once at
 * start, before any thread logs; without it lines are text, unmasked. A
 * reload that brings new secrets replaces the mask with log_mask_swap. */
#ifndef DEPLOYBOT_UTIL_LOG_H
#define DEPLOYBOT_UTIL_LOG_H

typedef enum { LOG_TEXT = 0,
               LOG_JSON } log_format;

typedef enum { LOG_DEBUG = 0,
               LOG_INFO,
               LOG_WARN,
               LOG_ERROR } log_level;

/* What a line is about; every field may be NULL or 0 (unknown). */
typedef struct {
    const char *component; /* "aws": "deploybot aws: " in text */
    const char *delivery;  /* the webhook delivery's id */
    long long job;         /* the webhook job: "[job N] " in text */
    long long run;         /* the run: "[run N ENV] " in text (before a job) */
    const char *env;
    const char *commit;
} log_ctx;

/* The masked copy of text (malloc'd); arg is log_setup's mask_arg. */
typedef char *(*log_mask_fn)(void *arg, const char *text);

/* mask may be NULL (nothing masked); mask_arg must live as long as the
 * process logs. */
void log_setup(log_format format, log_mask_fn mask, void *mask_arg);

/* Replaces the mask while threads log: returns the previous mask_arg, which
 * no line uses any more once this returns (the caller frees it). */
void *log_mask_swap(log_mask_fn mask, void *mask_arg);

/* 1 when lines are JSON. */
int log_is_json(void);

/* "text" or "json" into *out: 0, or -1 for another name. */
int log_format_parse(const char *name, log_format *out);

/* One line (a trailing newline in the message is dropped); ctx may be NULL. */
void log_write(log_level level, const log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
