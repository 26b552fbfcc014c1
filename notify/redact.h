/* redact: masks every known secret value in text before it is stored in the
 * outbox, sent anywhere or logged.
 *
 * A redactor is a set of secret values (tokens, webhook secrets, AWS keys,
 * chat webhook URLs, values of configured environment variables). It is built
 * once and then only read, so one redactor may be shared by threads. Values
 * shorter than REDACT_MIN_LEN are not masked: they cannot be told apart from
 * ordinary words (and are too short to be secrets). */
#ifndef DEPLOYBOT_NOTIFY_REDACT_H
#define DEPLOYBOT_NOTIFY_REDACT_H

#include <stddef.h>

#define REDACT_MIN_LEN 6
#define REDACT_MASK "***"

typedef struct redactor redactor;

redactor *redactor_new(void);
void redactor_free(redactor *r);

/* Adds a secret value (copied; NULL, short and repeated values are ignored). */
void redactor_add(redactor *r, const char *value);
/* Adds the value of an environment variable, if it is set. */
void redactor_add_env(redactor *r, const char *name);
/* Adds the variables every deployment has: the AWS keys and GITHUB_TOKEN.
 * deploybot's own variables are the bot's to add (bot_config_secrets):
 * notify/ reads no DEPLOYBOT_* variable. */
void redactor_add_defaults(redactor *r);

/* A malloc'd copy of text (NULL gives NULL) with every secret replaced by
 * REDACT_MASK. Longer secrets are masked first, so a secret that contains
 * another is masked whole. r may be NULL (then it is a plain copy). */
char *redact(const redactor *r, const char *text);
/* Same, in place in a NUL-terminated buffer of size len (the result is cut
 * to fit; masking never makes text longer than a secret it replaces, since
 * secrets are at least REDACT_MIN_LEN > strlen(REDACT_MASK) long). */
void redact_buf(const redactor *r, char *buf, size_t len);
/* 1 if text contains any secret. */
int redact_found(const redactor *r, const char *text);

#endif
