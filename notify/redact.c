/* redact: see redact.h. */
#include "notify/redact.h"

#include <stdlib.h>
#include <string.h>

struct redactor {
    char **values; /* longest first */
    size_t n;
};

redactor *redactor_new(void) {
    redactor *r = calloc(1, sizeof(*r));
    if (!r) abort();
    return r;
}

void redactor_free(redactor *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        explicit_bzero(r->values[i], strlen(r->values[i]));
        free(r->values[i]);
    }
    free(r->values);
    free(r);
}

void redactor_add(redactor *r, const char *value) {
    if (!r || !value) return;
    size_t len = strlen(value);
    if (len < REDACT_MIN_LEN) return;
    size_t at = 0;
    for (; at < r->n; at++) {
        if (strcmp(r->values[at], value) == 0) return;
        if (strlen(r->values[at]) < len) break;
    }
    char **v = realloc(r->values, (r->n + 1) * sizeof(*v));
    if (!v) abort();
    r->values = v;
    memmove(v + at + 1, v + at, (r->n - at) * sizeof(*v));
    if (!(v[at] = strdup(value))) abort();
    r->n++;
}

void redactor_add_env(redactor *r, const char *name) {
    if (name && *name) redactor_add(r, getenv(name));
}

void redactor_add_defaults(redactor *r) {
    static const char *const names[] = {
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", NULL};
    for (const char *const *n = names; *n; n++) redactor_add_env(r, *n);
}

/* The secret that starts at s, or NULL. */
static const char *match_at(const redactor *r, const char *s, size_t *len) {
    for (size_t i = 0; i < r->n; i++) {
        size_t l = strlen(r->values[i]);
        if (strncmp(s, r->values[i], l) == 0) {
            *len = l;
            return r->values[i];
        }
    }
    return NULL;
}

char *redact(const redactor *r, const char *text) {
    if (!text) return NULL;
    /* Masking only shortens (mask < REDACT_MIN_LEN), so the input size is enough. */
    char *out = malloc(strlen(text) + 1);
    if (!out) abort();
    size_t o = 0;
    for (const char *s = text; *s;) {
        size_t len;
        if (r && r->n && match_at(r, s, &len)) {
            memcpy(out + o, REDACT_MASK, sizeof(REDACT_MASK) - 1);
            o += sizeof(REDACT_MASK) - 1;
            s += len;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return out;
}

void redact_buf(const redactor *r, char *buf, size_t len) {
    if (!r || !r->n || !buf || !len) return;
    char *m = redact(r, buf);
    size_t n = strlen(m);
    if (n >= len) n = len - 1;
    memcpy(buf, m, n);
    buf[n] = '\0';
    free(m);
}

int redact_found(const redactor *r, const char *text) {
    if (!r || !text) return 0;
    for (size_t i = 0; i < r->n; i++)
        if (strstr(text, r->values[i])) return 1;
    return 0;
}
