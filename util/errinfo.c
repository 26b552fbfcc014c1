#include "util/errinfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errinfo_set(errinfo *err, err_code code, const char *fmt, ...) {
    va_list ap;
    if (!err)
        return -1;
    err->code = code;
    err->status = 0;
    err->remote[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int errinfo_prefix(errinfo *err, const char *fmt, ...) {
    char head[ERRINFO_MSG_MAX], old[ERRINFO_MSG_MAX];
    va_list ap;
    if (!err)
        return -1;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Both halves fit in msg's size only when short; the cut falls at the end. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", head, old) < 0)
        err->msg[0] = '\0';
    if (err->code == ERR_NONE)
        err->code = ERR_INTERNAL;
    return -1;
}

void errinfo_clear(errinfo *err) {
    if (err)
        memset(err, 0, sizeof *err);
}

int errinfo_is_remote(const errinfo *err, const char *remote) {
    return err && remote && err->remote[0] && !strcmp(err->remote, remote);
}

const char *err_code_name(err_code code) {
    static const char *const names[] = {
        [ERR_NONE] = "none",
        [ERR_INVALID] = "invalid",
        [ERR_NOT_FOUND] = "not found",
        [ERR_IO] = "io",
        [ERR_UNAVAILABLE] = "unavailable",
        [ERR_REMOTE] = "remote",
        [ERR_LIMIT] = "limit",
        [ERR_CONFLICT] = "conflict",
        [ERR_INTERNAL] = "internal",
        [ERR_CANCELED] = "canceled",
    };
    return (unsigned)code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}
