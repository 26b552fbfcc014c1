/* errinfo: the one error contract of deploybot.
 *
 * A function that can fail takes `errinfo *err` as its last argument and
 * returns -1 (or NULL) after filling it, or 0 (or the object) leaving it
 * untouched. err may be NULL when the caller does not care why. The message
 * is written for the person who must act on it: it names the file, key,
 * resource or remote and what is wrong ("environments/dev/stack.json:
 * vpc_cidr: not a CIDR"), and never holds a secret. The code lets callers
 * decide (retry, give up, answer 404) without reading the text.
 *
 * A caller that adds context keeps the callee's code and message:
 *   if (cfgrepo_fetch(r, sha, err) < 0)
 *       return errinfo_prefix(err, "fetching %s", url);
 * gives "fetching URL: <what the callee said>". */
#ifndef DEPLOYBOT_UTIL_ERRINFO_H
#define DEPLOYBOT_UTIL_ERRINFO_H

#include <stddef.h>

typedef enum {
    ERR_NONE = 0,
    ERR_INVALID,     /* input that cannot work as it is: config, payload, stack file */
    ERR_NOT_FOUND,   /* what was named does not exist */
    ERR_IO,          /* the local filesystem or database */
    ERR_UNAVAILABLE, /* transient: no answer, a remote's 5xx, throttling; retry later */
    ERR_REMOTE,      /* a remote refused the request (an AWS error, a git host's 4xx) */
    ERR_LIMIT,       /* a configured limit was reached */
    ERR_CONFLICT,    /* the current state forbids it (locked, already running) */
    ERR_INTERNAL,    /* out of memory, or a bug */
    ERR_CANCELED,    /* stopped on purpose before it was done (a run canceled, timed out, shut down) */
} err_code;

#define ERRINFO_MSG_MAX 1024

typedef struct {
    err_code code;
    int status;       /* HTTP status of the remote's answer, 0 if none */
    char remote[128]; /* the remote's own code ("InvalidVpcID.NotFound"), "" if none */
    char msg[ERRINFO_MSG_MAX];
} errinfo;

/* Fills err (if not NULL) with code and the formatted message; status and
 * remote are cleared. Returns -1, so `return errinfo_set(...)` fails. */
int errinfo_set(errinfo *err, err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "<formatted>: " in front of the message, keeping code, status and
 * remote (the message is cut at the end if it no longer fits). Returns -1. */
int errinfo_prefix(errinfo *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties err (code ERR_NONE, "" message). */
void errinfo_clear(errinfo *err);

/* 1 when err failed with the remote's code `remote` (e.g. an AWS code). */
int errinfo_is_remote(const errinfo *err, const char *remote);

/* "invalid", "not found", ... for logs and JSON. */
const char *err_code_name(err_code code);

#endif
