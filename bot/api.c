/* api: see api.h. */
#include "bot/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "bot/admin.h"

#define ENV_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

static unsigned fail(json_t **answer, unsigned status, const char *msg) {
    *answer = json_pack("{s:s}", "error", msg);
    return status;
}

static unsigned status_of(err_code code) {
    switch (code) {
    case ERR_INVALID: return HTTP_STATUS_BAD_REQUEST;
    case ERR_NOT_FOUND: return HTTP_STATUS_NOT_FOUND;
    case ERR_CONFLICT: return HTTP_STATUS_CONFLICT;
    default: return HTTP_STATUS_SERVICE_UNAVAILABLE;
    }
}

/* The body as a JSON object (an empty body is {}); NULL when it is not one. */
static json_t *body_object(const char *body, size_t len) {
    json_t *doc = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : json_object();

    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Runs the admin command `verb` on env (on run `id` for "cancel"); its
 * printed line is the message. */
static unsigned run(store *db, const char *env, long id, const char *verb, const char *who, json_t *args,
                    json_t **answer) {
    char *msg = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&msg, &n);
    errinfo err;
    int rc;

    if (!out)
        abort();
    if (strcmp(verb, "cancel") == 0)
        rc = admin_cancel(db, id, "api", out, &err);
    else if (strcmp(verb, "lock") == 0)
        rc = admin_lock(db, env, json_string_value(json_object_get(args, "reason")), who, out, &err);
    else if (strcmp(verb, "unlock") == 0)
        rc = admin_unlock(db, env, out, &err);
    else
        rc = admin_redeploy(db, env, json_string_value(json_object_get(args, "commit")), out, &err);
    fclose(out);
    if (n && msg[n - 1] == '\n')
        msg[n - 1] = '\0';
    if (rc == 0)
        *answer = json_pack("{s:b,s:s}", "ok", 1, "message", msg);
    free(msg);
    return rc == 0 ? HTTP_STATUS_OK : fail(answer, status_of(err.code), err.msg);
}

/* The name in path[0..n): 0, or -1 with the 400 staged in *answer. */
static int env_name(const char *path, size_t n, char env[64], json_t **answer) {
    if (n == 0 || n >= 64 || strspn(path, ENV_CHARS) < n || path[0] == '.' || path[0] == '-') {
        fail(answer, HTTP_STATUS_BAD_REQUEST, "not an environment name (1-63 letters, digits, '-', '_' or '.')");
        return -1;
    }
    memcpy(env, path, n);
    env[n] = '\0';
    return 0;
}

unsigned api_environment_get(envview *v, store *db, const char *path, json_t **answer) {
    char env[64];
    errinfo err;
    json_t *doc;

    if (*path == '\0' || strcmp(path, "/") == 0)
        doc = envview_cards(v, db, &err);
    else if (env_name(path + 1, strlen(path + 1), env, answer) < 0)
        return HTTP_STATUS_BAD_REQUEST;
    else
        doc = envview_card(v, db, env, &err);
    if (!doc)
        return fail(answer, status_of(err.code), err.msg);
    *answer = json_is_array(doc) ? json_pack("{s:o}", "environments", doc) : doc;
    return HTTP_STATUS_OK;
}

unsigned api_environment_post(store *db, const char *path, const char *who, const char *body, size_t len,
                              json_t **answer) {
    const char *slash = strchr(path, '/');
    char env[64];
    size_t n = slash ? (size_t)(slash - path) : 0;
    json_t *args;
    unsigned status;

    if (!slash || (strcmp(slash + 1, "lock") != 0 && strcmp(slash + 1, "unlock") != 0 &&
                   strcmp(slash + 1, "redeploy") != 0))
        return fail(answer, HTTP_STATUS_NOT_FOUND, "not found");
    if (env_name(path, n, env, answer) < 0)
        return HTTP_STATUS_BAD_REQUEST;
    if (!(args = body_object(body, len)))
        return fail(answer, HTTP_STATUS_BAD_REQUEST, "the body must be a JSON object");
    status = run(db, env, 0, slash + 1, who, args, answer);
    json_decref(args);
    return status;
}

unsigned api_run_post(store *db, const char *path, json_t **answer) {
    char *end;
    long id = strtol(path, &end, 10);

    if (id <= 0 || path[0] < '1' || path[0] > '9' || strcmp(end, "/cancel") != 0)
        return fail(answer, HTTP_STATUS_NOT_FOUND, "not found");
    return run(db, NULL, id, "cancel", NULL, NULL, answer);
}
