/* config: loads the daemon's JSON settings over embedded defaults. */
#include "bot/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define DEFAULT_LISTEN "127.0.0.1"
#define DEFAULT_PORT 8080
#define DEFAULT_DATA_DIR "./deploybot-data"
#define DEFAULT_MAX_BODY 26214400u          /* GitHub caps payloads at 25 MB */
#define MAX_MAX_BODY (1024u * 1024u * 1024u)
#define DEFAULT_REPO_TOKEN_ENV "DEPLOYBOT_REPO_TOKEN"
#define DEFAULT_SECRET_ENV "DEPLOYBOT_WEBHOOK_SECRET"
#define DEFAULT_GITHUB_API "https://api.github.com"
#define DEFAULT_GITHUB_TOKEN_ENV "GITHUB_TOKEN"
#define DEFAULT_AWS_REGION "eu-west-1"

/* Everything bot_config_load needs while walking the file. */
typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *c, const char *fmt, ...) {
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "config %s: %s",
                 c->file ? c->file : "(defaults)", msg);
    return -1;
}

/* Unknown keys are errors: a typo must not silently fall back to a default. */
static int only_keys(ctx *c, json_t *obj, const char *prefix,
                     const char *const *allowed) {
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        int ok = 0;

        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return fail(c, "unknown key \"%s%s\"", prefix, key);
    }
    return 0;
}

/* Replaces *dst with the string at obj[key] when present. */
static int opt_str(ctx *c, json_t *obj, const char *key, const char *name,
                   char **dst) {
    json_t *v = json_object_get(obj, key);
    char *s;

    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return fail(c, "\"%s\" must be a non-empty string", name);
    if (!(s = strdup(json_string_value(v))))
        return fail(c, "out of memory");
    free(*dst);
    *dst = s;
    return 0;
}

static int opt_int(ctx *c, json_t *obj, const char *key, long long min,
                   long long max, long long *dst) {
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max)
        return fail(c, "\"%s\" must be an integer in %lld..%lld", key, min,
                    max);
    *dst = json_integer_value(v);
    return 0;
}

/* Returns obj[key] when it is an object (or absent: NULL), fails otherwise. */
static int opt_obj(ctx *c, json_t *obj, const char *key, json_t **out) {
    *out = json_object_get(obj, key);
    if (*out && !json_is_object(*out))
        return fail(c, "\"%s\" must be an object", key);
    return 0;
}

static int set_defaults(ctx *c, bot_config *o) {
    o->port = DEFAULT_PORT;
    o->max_body = DEFAULT_MAX_BODY;
    o->listen = strdup(DEFAULT_LISTEN);
    o->data_dir = strdup(DEFAULT_DATA_DIR);
    o->repo_token_env = strdup(DEFAULT_REPO_TOKEN_ENV);
    o->github_api_url = strdup(DEFAULT_GITHUB_API);
    o->aws_region = strdup(DEFAULT_AWS_REGION);
    if (!o->listen || !o->data_dir || !o->repo_token_env ||
        !o->github_api_url || !o->aws_region)
        return fail(c, "out of memory");
    return 0;
}

/* "notify" is parsed by notify/settings.c, which names its keys itself. */
static int load_notify(ctx *c, json_t *root, bot_config *o) {
    errinfo err;

    if (notify_settings_parse(json_object_get(root, "notify"), &o->notify,
                              &err) < 0)
        return fail(c, "%s", err.msg);
    return 0;
}

static int load_sections(ctx *c, json_t *root, bot_config *o,
                         char **secret_env, char **token_env) {
    static const char *const top[] = {
        "listen", "port", "data_dir", "max_body_bytes", "public_url", "repo",
        "webhook_secret_env", "github", "aws", "notify", NULL};
    static const char *const repo_keys[] = {"url", "token_env", NULL};
    static const char *const gh_keys[] = {"api_url", "token_env", NULL};
    static const char *const aws_keys[] = {"region", NULL};
    long long port = o->port, max_body = (long long)o->max_body;
    json_t *repo, *gh, *aws;

    if (only_keys(c, root, "", top) < 0 ||
        opt_str(c, root, "listen", "listen", &o->listen) < 0 ||
        opt_int(c, root, "port", 0, 65535, &port) < 0 ||
        opt_str(c, root, "data_dir", "data_dir", &o->data_dir) < 0 ||
        opt_int(c, root, "max_body_bytes", 1, MAX_MAX_BODY, &max_body) < 0 ||
        opt_str(c, root, "public_url", "public_url", &o->public_url) < 0 ||
        opt_str(c, root, "webhook_secret_env", "webhook_secret_env",
                secret_env) < 0 ||
        opt_obj(c, root, "repo", &repo) < 0 ||
        opt_obj(c, root, "github", &gh) < 0 ||
        opt_obj(c, root, "aws", &aws) < 0)
        return -1;
    o->port = (int)port;
    o->max_body = (size_t)max_body;
    if (repo && (only_keys(c, repo, "repo.", repo_keys) < 0 ||
                 opt_str(c, repo, "url", "repo.url", &o->repo_url) < 0 ||
                 opt_str(c, repo, "token_env", "repo.token_env",
                         &o->repo_token_env) < 0))
        return -1;
    if (gh && (only_keys(c, gh, "github.", gh_keys) < 0 ||
               opt_str(c, gh, "api_url", "github.api_url",
                       &o->github_api_url) < 0 ||
               opt_str(c, gh, "token_env", "github.token_env", token_env) < 0))
        return -1;
    if (aws && (only_keys(c, aws, "aws.", aws_keys) < 0 ||
                opt_str(c, aws, "region", "aws.region", &o->aws_region) < 0))
        return -1;
    return load_notify(c, root, o);
}

/* An unset or empty variable is "no secret": callers must then refuse. */
static int read_secret(ctx *c, const char *env, char **dst) {
    const char *v = getenv(env);

    *dst = NULL;
    if (!v || !*v)
        return 0;
    if (!(*dst = strdup(v)))
        return fail(c, "out of memory");
    return 0;
}

/* Resolves a relative data_dir against the current directory now, so a later
 * chdir (or a thread that assumes another cwd) cannot move the database. */
static int absolute_data_dir(ctx *c, bot_config *o) {
    char cwd[PATH_MAX];
    char *abs;
    const char *rel = o->data_dir;

    if (rel[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd)))
        return fail(c, "cannot resolve data_dir \"%s\": getcwd: %s", rel,
                    strerror(errno));
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if (strcmp(rel, ".") == 0)
        rel = "";
    if (asprintf(&abs, "%s%s%s", cwd, *rel ? "/" : "", rel) < 0)
        return fail(c, "out of memory");
    free(o->data_dir);
    o->data_dir = abs;
    return 0;
}

static int finish(ctx *c, bot_config *o, const char *secret_env,
                  const char *token_env) {
    if (!o->public_url &&
        asprintf(&o->public_url, "http://%s:%d", o->listen, o->port) < 0) {
        o->public_url = NULL;
        return fail(c, "out of memory");
    }
    if (read_secret(c, secret_env, &o->webhook_secret) < 0 ||
        read_secret(c, token_env, &o->github_token) < 0)
        return -1;
    return absolute_data_dir(c, o);
}

int bot_config_load(const char *path, bot_config *out, char *err,
                    size_t errlen) {
    ctx c = {path, err, errlen};
    char *secret_env = strdup(DEFAULT_SECRET_ENV);
    char *token_env = strdup(DEFAULT_GITHUB_TOKEN_ENV);
    json_t *root = NULL;
    json_error_t jerr;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!secret_env || !token_env || set_defaults(&c, out) < 0) {
        fail(&c, "out of memory");
        goto done;
    }
    if (path) {
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            fail(&c, "%s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
            goto done;
        }
        if (!json_is_object(root)) {
            fail(&c, "top level must be a JSON object");
            goto done;
        }
        if (load_sections(&c, root, out, &secret_env, &token_env) < 0)
            goto done;
    }
    rc = finish(&c, out, secret_env, token_env);
done:
    json_decref(root);
    free(secret_env);
    free(token_env);
    if (rc < 0)
        bot_config_free(out);
    return rc;
}

/* Secrets are wiped, not just freed: the heap may end up in a core dump. */
static void free_secret(char *s) {
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void bot_config_free(bot_config *c) {
    if (!c)
        return;
    free(c->listen);
    free(c->data_dir);
    free(c->public_url);
    free(c->repo_url);
    free(c->repo_token_env);
    free_secret(c->webhook_secret);
    free(c->github_api_url);
    free_secret(c->github_token);
    free(c->aws_region);
    notify_settings_free(&c->notify);
    memset(c, 0, sizeof(*c));
}

void bot_config_secrets(const bot_config *c, redactor *r) {
    redactor_add(r, c->webhook_secret);
    redactor_add(r, c->github_token);
    redactor_add_env(r, c->repo_token_env);
    /* Under their default names too, even when the config names others. */
    redactor_add_env(r, DEFAULT_SECRET_ENV);
    redactor_add_env(r, DEFAULT_REPO_TOKEN_ENV);
    notify_settings_secrets(&c->notify, r);
}

/* The integer in environment variable `name`; 0 when unset or not one. */
static int env_int(const char *name, int *set) {
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    *set = v && *v && !*end && n >= INT_MIN && n <= INT_MAX;
    return *set ? (int)n : 0;
}

/* Where a variable's 0 means "none at all", the options say so with -1
 * (their 0 is the default). */
void bot_config_deploy_options(deploy_options *o) {
    int set, n;
    memset(o, 0, sizeof(*o));
    n = env_int("DEPLOYBOT_AWS_RETRY_BASE_MS", &set);
    if (set && n >= 0 && n <= 60000) o->aws.retry_base_ms = n ? n : -1;
    n = env_int("DEPLOYBOT_AWS_MAX_ATTEMPTS", &set);
    if (set && n >= 1 && n <= 100) o->aws.max_attempts = n;
    o->aws.debug = getenv("DEPLOYBOT_AWS_DEBUG") && *getenv("DEPLOYBOT_AWS_DEBUG");
    n = env_int("DEPLOYBOT_AWS_PAGE_SIZE", &set);
    if (n > 0) o->aws.page_size = n;
    n = env_int("DEPLOYBOT_WAIT_TIMEOUT_S", &set);
    if (set) o->aws.wait_timeout_s = n > 0 ? n : -1;
    n = env_int("DEPLOYBOT_WAIT_POLL_MS", &set);
    if (set) o->aws.wait_poll_ms = n > 0 ? n : -1;
    n = env_int("DEPLOYBOT_APPLY_PARALLELISM", &set);
    if (n > 0) o->apply_parallelism = n;
}
