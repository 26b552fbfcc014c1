/* config: see config.h. Errors are written where they are found, naming
 * the key; bot_config_load puts "config FILE: " in front once. */
#include "bot/config.h"
#include "deploy/providers/discover.h"
#include "deploy/repoconfig.h"
#include "host/host.h"
#include "store/store.h"
#include "util/strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#define DEFAULT_LISTEN "127.0.0.1"
#define DEFAULT_PORT 8080
#define DEFAULT_DATA_DIR "./deploybot-data"
#define DEFAULT_MAX_BODY 26214400u /* GitHub caps payloads at 25 MB */
#define MAX_MAX_BODY (1024u * 1024u * 1024u)
#define DEFAULT_REPO_TOKEN_ENV "DEPLOYBOT_REPO_TOKEN"
#define DEFAULT_BRANCH "main"
#define DEFAULT_SECRET_ENV "DEPLOYBOT_WEBHOOK_SECRET"
#define DEFAULT_HOST "github"
#define DEFAULT_RUNNERS 4
#define DEFAULT_MAX_FILE_BYTES (1024u * 1024u)          /* a stack.json is a few KB */
#define DEFAULT_MAX_ENVS_PER_PUSH 20                    /* each costs ~15 AWS calls to plan */
#define DEFAULT_MAX_INFLIGHT_BODY (64u * 1024u * 1024u) /* about 2.5 of GitHub's largest */
#define DEFAULT_HEADER_TIMEOUT_S 10
#define DEFAULT_BODY_MIN_RATE 1024 /* bytes/s: GitHub sends a payload at once */
#define DEFAULT_WS_PING_INTERVAL_S 30
#define DEFAULT_INGEST_BATCH_MAX 64      /* beyond, a transaction no longer gets cheaper per delivery */
#define DEFAULT_INGEST_BATCH_WAIT_US 0   /* deliveries pile up during a commit's fsync anyway */
#define DEFAULT_GITHUB_APP_REFRESH_S 300 /* 5 minutes before the hour is up */
#define MAX_MAX_CONNECTIONS 1000000
#define DEFAULT_SESSION_TTL_S 43200 /* 12 h: a working day */
#define MIN_API_TOKEN_CHARS 16
#define MAX_APPLY_PARALLELISM 16      /* deploy/apply.c runs at most this many */
#define DEFAULT_DRIFT_INTERVAL_S 3600 /* drift checks plan against AWS: hourly is cheap */
#define MAX_DRIFT_INTERVAL_S (30 * 86400)
#define DEFAULT_RUN_TIMEOUT_S 3600
#define MAX_RUN_TIMEOUT_S (7 * 86400)
#define DEFAULT_RETENTION_DAYS 90
#define DEFAULT_RETENTION_INTERVAL_S 86400 /* daily */
#define DEFAULT_LEASE_S 30
#define ENV_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

/* ---- problems ----------------------------------------------------------- */

/* Loading goes on past a problem: each is noted and the next key is read,
 * so that a config with three mistakes shows three lines at once
 * (`deploybot check`); bot_config_load reports the first. The helpers fill
 * `err`, noted() moves what they said into the list. */
typedef struct {
    errinfo err;        /* the problem at hand */
    errinfo first;      /* the first one noted */
    strbuf *report;     /* every problem, a line each; may be NULL */
    const char *prefix; /* "config FILE" while the file's keys are read; NULL */
    int problems;
} cfgload;

/* rc, after noting the problem when rc < 0. */
static int noted(cfgload *l, int rc) {
    if (rc >= 0)
        return rc;
    if (l->prefix)
        errinfo_prefix(&l->err, "%s", l->prefix);
    if (l->problems++ == 0)
        l->first = l->err;
    if (l->report)
        strbuf_printf(l->report, "%s\n", l->err.msg);
    errinfo_clear(&l->err);
    return -1;
}

/* ---- the integer settings ---------------------------------------------- */

/* Where an integer is in the file ("aws.page_size" is "page_size" in the
 * "aws" object), which variable overrides it, and what it may be. */
typedef struct {
    const char *key; /* NULL: read from the file elsewhere */
    const char *env; /* NULL: the file only */
    long long min, max;
} int_knob;

enum {
    K_PORT,
    K_MAX_BODY,
    K_RUNNERS,
    K_APPLY_PARALLELISM,
    K_DISCOVERY_PARALLELISM,
    K_AWS_PAGE_SIZE,
    K_AWS_RETRY_BASE_MS,
    K_AWS_MAX_ATTEMPTS,
    K_AWS_THROTTLE_ATTEMPTS,
    K_AWS_CONSISTENCY_TIMEOUT_S,
    K_WAIT_TIMEOUT_S,
    K_WAIT_POLL_MS,
    K_WAIT_FIRST_POLL_MS,
    K_WAIT_MAX_POLL_MS,
    K_NOTIFY_RETRY_BASE_MS,
    K_MAX_FILE_BYTES,
    K_MAX_ENVS_PER_PUSH,
    K_PLAN_LIST_ITEMS,
    K_MAX_INFLIGHT_BODY,
    K_MAX_CONNECTIONS,
    K_HEADER_TIMEOUT_S,
    K_BODY_MIN_RATE,
    K_WS_PING_INTERVAL_S,
    K_INGEST_BATCH_MAX,
    K_INGEST_BATCH_WAIT_US,
    K_RECONCILE_INTERVAL_S,
    K_SESSION_TTL_S,
    K_GITHUB_APP_ID,
    K_GITHUB_INSTALLATION_ID,
    K_GITHUB_APP_REFRESH_S,
    K_HOST_APP_ID,
    K_HOST_INSTALLATION_ID,
    K_HOST_APP_REFRESH_S,
    K_RETENTION_DAYS,
    K_RETENTION_INTERVAL_S,
    K_LEASE_S,
    K_COUNT
};

static const int_knob KNOBS[K_COUNT] = {
    [K_PORT] = {"port", NULL, 0, 65535},
    [K_MAX_BODY] = {"max_body_bytes", NULL, 1, MAX_MAX_BODY},
    [K_RUNNERS] = {"runners", "DEPLOYBOT_RUNNERS", 1, BOT_MAX_RUNNERS},
    [K_APPLY_PARALLELISM] = {"apply_parallelism", "DEPLOYBOT_APPLY_PARALLELISM", 1,
                             MAX_APPLY_PARALLELISM},
    [K_DISCOVERY_PARALLELISM] = {"discovery_parallelism", "DEPLOYBOT_DISCOVERY_PARALLELISM", 1,
                                 DISCOVER_PER_SERVICE_MAX},
    [K_AWS_PAGE_SIZE] = {"aws.page_size", "DEPLOYBOT_AWS_PAGE_SIZE", 1, 1000},
    [K_AWS_RETRY_BASE_MS] = {"aws.retry_base_ms", "DEPLOYBOT_AWS_RETRY_BASE_MS", 0, 60000},
    [K_AWS_MAX_ATTEMPTS] = {"aws.max_attempts", "DEPLOYBOT_AWS_MAX_ATTEMPTS", 1, 100},
    [K_AWS_THROTTLE_ATTEMPTS] = {"aws.throttle_attempts", "DEPLOYBOT_AWS_THROTTLE_ATTEMPTS", 1, 100},
    [K_AWS_CONSISTENCY_TIMEOUT_S] = {"aws.consistency_timeout_s", "DEPLOYBOT_AWS_CONSISTENCY_TIMEOUT_S",
                                     0, 3600},
    [K_WAIT_TIMEOUT_S] = {"wait.timeout_s", "DEPLOYBOT_WAIT_TIMEOUT_S", 0, 86400},
    [K_WAIT_POLL_MS] = {"wait.poll_ms", "DEPLOYBOT_WAIT_POLL_MS", 0, 60000},
    [K_WAIT_FIRST_POLL_MS] = {"wait.first_poll_ms", "DEPLOYBOT_WAIT_FIRST_POLL_MS", 1, 60000},
    [K_WAIT_MAX_POLL_MS] = {"wait.max_poll_ms", "DEPLOYBOT_WAIT_MAX_POLL_MS", 1, 600000},
    /* In the file it is part of "notify", which notify/settings.c reads. */
    [K_NOTIFY_RETRY_BASE_MS] = {NULL, "DEPLOYBOT_NOTIFY_RETRY_BASE_MS", NOTIFY_RETRY_BASE_MS_MIN,
                                NOTIFY_RETRY_BASE_MS_MAX},
    [K_MAX_FILE_BYTES] = {"limits.max_file_bytes", "DEPLOYBOT_MAX_FILE_BYTES", 1, MAX_MAX_BODY},
    [K_MAX_ENVS_PER_PUSH] = {"limits.max_envs_per_push", "DEPLOYBOT_MAX_ENVS_PER_PUSH", 1, 10000},
    [K_PLAN_LIST_ITEMS] = {"limits.plan_list_items", "DEPLOYBOT_PLAN_LIST_ITEMS", 1, 10000},
    [K_MAX_INFLIGHT_BODY] = {"limits.max_inflight_body_bytes", "DEPLOYBOT_MAX_INFLIGHT_BODY_BYTES", 1,
                             4ll * MAX_MAX_BODY},
    [K_MAX_CONNECTIONS] = {"limits.max_connections", "DEPLOYBOT_MAX_CONNECTIONS", 1, MAX_MAX_CONNECTIONS},
    [K_HEADER_TIMEOUT_S] = {"limits.header_timeout_s", "DEPLOYBOT_HEADER_TIMEOUT_S", 1, 3600},
    [K_BODY_MIN_RATE] = {"limits.body_min_rate_bytes_s", "DEPLOYBOT_BODY_MIN_RATE_BYTES_S", 1, 1ll << 30},
    [K_WS_PING_INTERVAL_S] = {"limits.ws_ping_interval_s", "DEPLOYBOT_WS_PING_INTERVAL_S", 1, 3600},
    [K_INGEST_BATCH_MAX] = {"ingest.batch_max", "DEPLOYBOT_INGEST_BATCH_MAX", 1, 1000},
    [K_INGEST_BATCH_WAIT_US] = {"ingest.batch_wait_us", "DEPLOYBOT_INGEST_BATCH_WAIT_US", 0, 100000},
    [K_RECONCILE_INTERVAL_S] = {"repo.reconcile_interval_s", "DEPLOYBOT_RECONCILE_INTERVAL_S", 0, 86400},
    [K_SESSION_TTL_S] = {"session_ttl_s", "DEPLOYBOT_SESSION_TTL_S", 60, 30 * 86400},
    [K_GITHUB_APP_ID] = {"github.app_id", NULL, 1, 1ll << 53},
    [K_GITHUB_INSTALLATION_ID] = {"github.installation_id", NULL, 1, 1ll << 53},
    /* An installation token lives an hour. */
    [K_GITHUB_APP_REFRESH_S] = {"github.app_token_refresh_s", NULL, 0, 3000},
    /* The same in "host" (the file has one of the two sections). */
    [K_HOST_APP_ID] = {"host.app_id", NULL, 1, 1ll << 53},
    [K_HOST_INSTALLATION_ID] = {"host.installation_id", NULL, 1, 1ll << 53},
    [K_HOST_APP_REFRESH_S] = {"host.app_token_refresh_s", NULL, 0, 3000},
    [K_RETENTION_DAYS] = {"retention_days", "DEPLOYBOT_RETENTION_DAYS", 0, 36500},
    [K_RETENTION_INTERVAL_S] = {"retention_interval_s", "DEPLOYBOT_RETENTION_INTERVAL_S", 1, 7 * 86400},
    /* Renewed every third of it: 2 s leaves a renewal a few hundred ms. */
    [K_LEASE_S] = {"replica.lease_s", "DEPLOYBOT_REPLICA_LEASE_S", 2, 3600},
};

/* A 0 in the file means "none at all" (retry at once, look once, poll
 * without pausing); deploy_options spell that -1, their 0 is the default. */
static int zero_is_none(long long v) {
    return v ? (int)v : -1;
}

static void knob_store(bot_config *o, int k, long long v) {
    aws_options *aws = &o->deploy.aws;

    switch (k) {
    case K_PORT: o->port = (int)v; break;
    case K_MAX_BODY: o->max_body = (size_t)v; break;
    case K_RUNNERS: o->runners = (int)v; break;
    case K_APPLY_PARALLELISM: o->deploy.apply_parallelism = (int)v; break;
    case K_DISCOVERY_PARALLELISM: o->deploy.discovery_parallelism = (int)v; break;
    case K_AWS_PAGE_SIZE: aws->page_size = (int)v; break;
    case K_AWS_RETRY_BASE_MS: aws->retry_base_ms = zero_is_none(v); break;
    case K_AWS_MAX_ATTEMPTS: aws->max_attempts = (int)v; break;
    case K_AWS_THROTTLE_ATTEMPTS: aws->throttle_attempts = (int)v; break;
    case K_AWS_CONSISTENCY_TIMEOUT_S: aws->consistency_timeout_s = zero_is_none(v); break;
    case K_WAIT_TIMEOUT_S: aws->wait_timeout_s = zero_is_none(v); break;
    case K_WAIT_POLL_MS: aws->wait_poll_ms = zero_is_none(v); break;
    case K_WAIT_FIRST_POLL_MS: aws->wait_first_poll_ms = (int)v; break;
    case K_WAIT_MAX_POLL_MS: aws->wait_max_poll_ms = (int)v; break;
    case K_NOTIFY_RETRY_BASE_MS: o->notify.retry_base_ms = v; break;
    case K_MAX_FILE_BYTES: o->max_file_bytes = (size_t)v; break;
    case K_MAX_ENVS_PER_PUSH: o->max_envs_per_push = (int)v; break;
    case K_PLAN_LIST_ITEMS: o->deploy.plan_list_items = (int)v; break;
    case K_MAX_INFLIGHT_BODY: o->max_inflight_body = (size_t)v; break;
    case K_MAX_CONNECTIONS: o->max_connections = (int)v; break;
    case K_HEADER_TIMEOUT_S: o->header_timeout_s = (int)v; break;
    case K_BODY_MIN_RATE: o->body_min_rate = (size_t)v; break;
    case K_WS_PING_INTERVAL_S: o->ws_ping_interval_s = (int)v; break;
    case K_INGEST_BATCH_MAX: o->ingest.batch_max = (int)v; break;
    case K_INGEST_BATCH_WAIT_US: o->ingest.batch_wait_us = (int)v; break;
    case K_RECONCILE_INTERVAL_S: o->reconcile_interval_s = (int)v; break;
    case K_SESSION_TTL_S: o->session_ttl_s = (int)v; break;
    case K_GITHUB_APP_ID:
    case K_HOST_APP_ID: o->github_app_id = v; break;
    case K_GITHUB_INSTALLATION_ID:
    case K_HOST_INSTALLATION_ID: o->github_installation_id = v; break;
    case K_GITHUB_APP_REFRESH_S:
    case K_HOST_APP_REFRESH_S: o->github_app_refresh_s = (int)v; break;
    case K_RETENTION_DAYS: o->retention_days = (int)v; break;
    case K_RETENTION_INTERVAL_S: o->retention_interval_s = (int)v; break;
    case K_LEASE_S: o->lease_s = (int)v; break;
    }
}

/* The knob's value in the file, or NULL. Its object was checked already. */
static json_t *knob_in_file(json_t *root, const int_knob *k) {
    const char *dot = k->key ? strchr(k->key, '.') : NULL;
    char section[32];

    if (!k->key)
        return NULL;
    if (!dot)
        return json_object_get(root, k->key);
    snprintf(section, sizeof(section), "%.*s", (int)(dot - k->key), k->key);
    return json_object_get(json_object_get(root, section), dot + 1);
}

static void knobs_from_file(json_t *root, bot_config *o, cfgload *l) {
    for (int k = 0; k < K_COUNT; k++) {
        const int_knob *kn = &KNOBS[k];
        json_t *v = knob_in_file(root, kn);

        if (!v)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < kn->min ||
            json_integer_value(v) > kn->max)
            noted(l, errinfo_set(&l->err, ERR_INVALID, "\"%s\" must be an integer in %lld..%lld",
                                 kn->key, kn->min, kn->max));
        else
            knob_store(o, k, json_integer_value(v));
    }
}

static void knobs_from_env(bot_config *o, cfgload *l) {
    for (int k = 0; k < K_COUNT; k++) {
        const int_knob *kn = &KNOBS[k];
        const char *s = kn->env ? getenv(kn->env) : NULL;
        char *end;
        long long v;

        if (!s || !*s)
            continue;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end || v < kn->min || v > kn->max)
            noted(l, errinfo_set(&l->err, ERR_INVALID,
                                 "environment variable %s=\"%.32s\": must be an integer in %lld..%lld",
                                 kn->env, s, kn->min, kn->max));
        else
            knob_store(o, k, v);
    }
}

/* A variable's value, NULL when unset or empty. */
static const char *env_value(const char *name) {
    const char *s = getenv(name);
    return s && *s ? s : NULL;
}

/* DEPLOYBOT_AWS_DEBUG: 1/true/yes/on or 0/false/no/off. */
static int debug_from_env(bot_config *o, errinfo *err) {
    static const char *const on[] = {"1", "true", "yes", "on", NULL};
    static const char *const off[] = {"0", "false", "no", "off", NULL};
    const char *s = getenv("DEPLOYBOT_AWS_DEBUG");

    if (!s || !*s)
        return 0;
    for (int i = 0; on[i]; i++) {
        if (strcasecmp(s, on[i]) == 0 || strcasecmp(s, off[i]) == 0) {
            o->deploy.aws.debug = strcasecmp(s, on[i]) == 0;
            return 0;
        }
    }
    return errinfo_set(err, ERR_INVALID,
                       "environment variable DEPLOYBOT_AWS_DEBUG=\"%.32s\": "
                       "must be 1 or 0 (true/false, yes/no, on/off)",
                       s);
}

/* "text" or "json", from the file (`where` "\"log_format\"") or
 * DEPLOYBOT_LOG_FORMAT; NULL: unchanged. */
static int log_format_set(bot_config *o, const char *name, const char *where, errinfo *err) {
    if (name && log_format_parse(name, &o->log_format) < 0)
        return errinfo_set(err, ERR_INVALID, "%s must be \"text\" or \"json\", not \"%.32s\"", where, name);
    return 0;
}

/* ---- the file's other values ------------------------------------------- */

/* Unknown keys are errors: a typo must not silently fall back to a default.
 * `where` is the object's own name with a dot ("repo."), "" at the top.
 * Each is noted; -1 when there was one. */
static int only_keys(json_t *obj, const char *where, const char *const *allowed, cfgload *l) {
    const char *key;
    json_t *v;
    int rc = 0;

    json_object_foreach(obj, key, v) {
        int ok = 0;

        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            rc = noted(l, errinfo_set(&l->err, ERR_INVALID, "unknown key \"%s%s\"", where, key));
    }
    return rc;
}

/* Replaces *dst with the string at obj[key] when present (obj may be NULL). */
static int opt_str(json_t *obj, const char *where, const char *key, char **dst, errinfo *err) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;

    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return errinfo_set(err, ERR_INVALID, "\"%s%s\" must be a non-empty string", where, key);
    free(*dst);
    if (!(*dst = strdup(json_string_value(v))))
        abort();
    return 0;
}

static int opt_bool(json_t *obj, const char *where, const char *key, int *dst, errinfo *err) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;

    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return errinfo_set(err, ERR_INVALID, "\"%s%s\" must be true or false", where, key);
    *dst = json_is_true(v);
    return 0;
}

/* root[name] when it is an object with only `keys` (absent: NULL). */
static void section(json_t *root, const char *name, const char *const *keys, json_t **out,
                    cfgload *l) {
    char where[32];

    *out = json_object_get(root, name);
    if (!*out)
        return;
    if (!json_is_object(*out)) {
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"%s\" must be an object", name));
        *out = NULL;
        return;
    }
    snprintf(where, sizeof(where), "%s.", name);
    only_keys(*out, where, keys, l);
}

/* ---- "environments" ----------------------------------------------------- */

/* arn:aws:iam::<12-digit account>:role/<name>, the name possibly under a
 * path ("role/ci/deploybot"); the China and GovCloud partitions too. */
static int role_arn_ok(const char *s) {
    static const char *const partitions[] = {"arn:aws:iam::", "arn:aws-cn:iam::",
                                             "arn:aws-us-gov:iam::", NULL};
    static const char name_chars[] = ENV_NAME_CHARS "+=,@/";
    size_t n = 0;

    for (int i = 0; partitions[i] && !n; i++)
        if (strncmp(s, partitions[i], strlen(partitions[i])) == 0)
            n = strlen(partitions[i]);
    if (!n || strspn(s + n, "0123456789") != 12 || strncmp(s + n + 12, ":role/", 6) != 0)
        return 0;
    s += n + 18;
    n = strlen(s);
    return n > 0 && n <= 512 && strspn(s, name_chars) == n && s[0] != '/' && s[n - 1] != '/';
}

/* IAM's rule for sts:ExternalId: 2-1224 of letters, digits and +=,.@:/-_ */
static int external_id_ok(const char *s) {
    size_t n = strlen(s);

    return n >= 2 && n <= 1224 && strspn(s, ENV_NAME_CHARS "+=,@:/") == n;
}

/* The same names deploybot.json allows (deploy/repoconfig.c). */
static int env_name_ok(const char *s) {
    size_t n = strlen(s);

    return n > 0 && n <= 63 && s[0] != '.' && s[0] != '-' && strspn(s, ENV_NAME_CHARS) == n;
}

/* A branch name the operator gives (NULL: not given). */
static int branch_check(const char *where, const char *key, const char *name, errinfo *err) {
    if (name && !repoconfig_branch_valid(name))
        return errinfo_set(err, ERR_INVALID, "\"%s%s\" is not a valid branch name: \"%.128s\"", where, key,
                           name);
    return 0;
}

/* A duration: whole seconds, or a string of them with a unit ("90s",
 * "30m", "1h"); *out in seconds, within min..max. */
static int opt_duration(json_t *obj, const char *where, const char *key, long long min, long long max, int *out,
                        errinfo *err) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    long long n = -1;

    if (!v) return 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        n = s[0] >= '0' && s[0] <= '9' ? strtoll(s, &end, 10) : -1;
        long long unit = n < 0 || errno ? 0 : !strcmp(end, "s") ? 1
                                          : !strcmp(end, "m")   ? 60
                                          : !strcmp(end, "h")   ? 3600
                                                                : 0;
        n = unit && n <= max / unit ? n * unit : -1;
    }
    if (n < min || n > max) {
        char shown[48];
        if (json_is_string(v)) snprintf(shown, sizeof(shown), "\"%.32s\"", json_string_value(v));
        else snprintf(shown, sizeof(shown), "a JSON %s", json_is_integer(v) ? "integer out of range" : "value of another type");
        return errinfo_set(err, ERR_INVALID,
                           "\"%s%s\" must be a duration of %lld to %lld seconds: an integer of seconds, or "
                           "\"90s\", \"30m\", \"1h\"; not %s",
                           where, key, min, max, shown);
    }
    *out = (int)n;
    return 0;
}

/* An environment's role, as STS would take it. */
static int env_role_check(const char *where, const bot_env_config *e, errinfo *err) {
    if (e->role_arn && !role_arn_ok(e->role_arn))
        return errinfo_set(err, ERR_INVALID,
                           "\"%srole_arn\" must look like "
                           "arn:aws:iam::<12-digit account>:role/<name>, not \"%.200s\"",
                           where,
                           e->role_arn);
    if (e->external_id && !e->role_arn)
        return errinfo_set(err, ERR_INVALID, "\"%sexternal_id\" needs \"role_arn\"", where);
    if (e->external_id && !external_id_ok(e->external_id))
        return errinfo_set(err, ERR_INVALID,
                           "\"%sexternal_id\" must be 2-1224 letters, digits "
                           "or +=,.@:/-_",
                           where);
    return 0;
}

/* 0, or -1 when it is no entry at all (a bad name, not an object). */
static int load_env_entry(const char *name, json_t *v, bot_env_config *e, cfgload *l) {
    static const char *const keys[] = {"role_arn", "external_id", "prevent_destroy",
                                       "deploy_branch", "allow_destroy", "drift_interval",
                                       "drift_remediate", "run_timeout", NULL};
    char where[96];

    if (!env_name_ok(name))
        return noted(l, errinfo_set(&l->err, ERR_INVALID,
                                    "\"environments\": \"%.64s\" is not an environment "
                                    "name (1-63 letters, digits, '-', '_' or '.')",
                                    name));
    snprintf(where, sizeof(where), "environments.%s.", name);
    if (!json_is_object(v))
        return noted(l, errinfo_set(&l->err, ERR_INVALID, "\"environments.%s\" must be an object", name));
    if (!(e->name = strdup(name)))
        abort();
    e->allow_destroy = 1;
    e->drift_interval_s = DEFAULT_DRIFT_INTERVAL_S;
    e->run_timeout_s = DEFAULT_RUN_TIMEOUT_S;
    only_keys(v, where, keys, l);
    noted(l, opt_duration(v, where, "run_timeout", 1, MAX_RUN_TIMEOUT_S, &e->run_timeout_s, &l->err));
    noted(l, opt_str(v, where, "role_arn", &e->role_arn, &l->err));
    noted(l, opt_str(v, where, "external_id", &e->external_id, &l->err));
    noted(l, opt_bool(v, where, "prevent_destroy", &e->prevent_destroy, &l->err));
    if (noted(l, opt_str(v, where, "deploy_branch", &e->deploy_branch, &l->err)) == 0)
        noted(l, branch_check(where, "deploy_branch", e->deploy_branch, &l->err));
    noted(l, opt_bool(v, where, "allow_destroy", &e->allow_destroy, &l->err));
    noted(l, opt_duration(v, where, "drift_interval", 0, MAX_DRIFT_INTERVAL_S, &e->drift_interval_s, &l->err));
    noted(l, opt_bool(v, where, "drift_remediate", &e->drift_remediate, &l->err));
    noted(l, env_role_check(where, e, &l->err));
    return 0;
}

static void load_environments(json_t *root, bot_config *o, cfgload *l) {
    json_t *envs = json_object_get(root, "environments"), *v;
    const char *name;

    if (!envs)
        return;
    if (!json_is_object(envs)) {
        noted(l, errinfo_set(&l->err, ERR_INVALID,
                             "\"environments\" must be an object keyed by "
                             "environment name"));
        return;
    }
    if (!(o->envs = calloc(json_object_size(envs) + 1, sizeof(*o->envs))))
        abort();
    json_object_foreach(envs, name, v) {
        if (load_env_entry(name, v, &o->envs[o->n_envs], l) == 0)
            o->n_envs++;
    }
}

/* ---- "api_tokens" ------------------------------------------------------- */

static int load_api_token(size_t i, json_t *v, bot_api_token *t, cfgload *l) {
    static const char *const keys[] = {"name", "token_env", "role", NULL};
    char where[48];
    char *role = NULL;
    size_t n;

    snprintf(where, sizeof(where), "api_tokens[%zu].", i);
    if (!json_is_object(v))
        return noted(l, errinfo_set(&l->err, ERR_INVALID, "\"api_tokens[%zu]\" must be an object", i));
    int bad = only_keys(v, where, keys, l) < 0;
    bad |= noted(l, opt_str(v, where, "name", &t->name, &l->err)) < 0;
    bad |= noted(l, opt_str(v, where, "token_env", &t->token_env, &l->err)) < 0;
    bad |= noted(l, opt_str(v, where, "role", &role, &l->err)) < 0;
    if (bad)
        goto fail;
    if (!t->name || !t->token_env || !role) {
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"api_tokens[%zu]\" needs \"name\", \"token_env\" and \"role\"", i));
        goto fail;
    }
    n = strlen(t->name);
    if (n > 64 || strspn(t->name, ENV_NAME_CHARS) != n)
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"%sname\" must be 1-64 letters, digits, '-', '_' or '.'", where));
    t->role = strcmp(role, "read") == 0 ? BOT_ROLE_READ : strcmp(role, "operate") == 0 ? BOT_ROLE_OPERATE
                                                                                       : BOT_ROLE_NONE;
    if (t->role == BOT_ROLE_NONE)
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"%srole\" must be \"read\" or \"operate\"", where));
    free(role);
    return 0;
fail:
    free(role);
    return -1;
}

static void load_api_tokens(json_t *root, bot_config *o, cfgload *l) {
    json_t *list = json_object_get(root, "api_tokens"), *v;
    size_t i;

    if (!list)
        return;
    if (!json_is_array(list)) {
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"api_tokens\" must be an array of objects"));
        return;
    }
    if (!(o->api_tokens = calloc(json_array_size(list) + 1, sizeof(*o->api_tokens))))
        abort();
    json_array_foreach(list, i, v) {
        bot_api_token *t = &o->api_tokens[o->n_api_tokens];

        if (load_api_token(i, v, t, l) < 0) {
            free(t->name);
            free(t->token_env);
            memset(t, 0, sizeof(*t));
            continue;
        }
        o->n_api_tokens++;
        for (size_t j = 0; j + 1 < o->n_api_tokens; j++)
            if (strcmp(o->api_tokens[j].name, t->name) == 0)
                noted(l, errinfo_set(&l->err, ERR_INVALID, "\"api_tokens\": the name \"%s\" is used twice",
                                     t->name));
    }
}

/* ---- loading ------------------------------------------------------------ */

static void set_defaults(bot_config *o) {
    o->port = DEFAULT_PORT;
    o->max_body = DEFAULT_MAX_BODY;
    o->runners = DEFAULT_RUNNERS;
    o->max_file_bytes = DEFAULT_MAX_FILE_BYTES;
    o->max_envs_per_push = DEFAULT_MAX_ENVS_PER_PUSH;
    o->max_inflight_body = DEFAULT_MAX_INFLIGHT_BODY;
    o->header_timeout_s = DEFAULT_HEADER_TIMEOUT_S;
    o->body_min_rate = DEFAULT_BODY_MIN_RATE;
    o->ws_ping_interval_s = DEFAULT_WS_PING_INTERVAL_S;
    o->ingest.batch_max = DEFAULT_INGEST_BATCH_MAX;
    o->ingest.batch_wait_us = DEFAULT_INGEST_BATCH_WAIT_US;
    o->session_ttl_s = DEFAULT_SESSION_TTL_S;
    o->github_app_refresh_s = DEFAULT_GITHUB_APP_REFRESH_S;
    o->retention_days = DEFAULT_RETENTION_DAYS;
    o->retention_interval_s = DEFAULT_RETENTION_INTERVAL_S;
    o->lease_s = DEFAULT_LEASE_S;
    o->listen = strdup(DEFAULT_LISTEN);
    o->data_dir = strdup(DEFAULT_DATA_DIR);
    o->repo_token_env = strdup(DEFAULT_REPO_TOKEN_ENV);
    o->default_branch = strdup(DEFAULT_BRANCH);
    o->webhook_secret_env = strdup(DEFAULT_SECRET_ENV);
    o->host_type = strdup(DEFAULT_HOST);
    if (!o->listen || !o->data_dir || !o->repo_token_env || !o->default_branch || !o->webhook_secret_env ||
        !o->host_type)
        abort();
}

/* "owner/name", as GitHub spells repository.full_name. */
static int repo_name_check(const char *name, errinfo *err) {
    const char *slash = name ? strchr(name, '/') : NULL;

    if (!name)
        return 0;
    if (!slash || slash == name || !slash[1] || strchr(slash + 1, '/') || strlen(name) > 255)
        return errinfo_set(err, ERR_INVALID, "\"repo.name\" must be \"owner/name\", not \"%.64s\"",
                           name);
    return 0;
}

/* "host", or "github" for a GitHub host (the older spelling): one of the
 * two, and a type host/ knows. */
static void load_host(json_t *host, json_t *gh, bot_config *o, cfgload *l) {
    const char *where = gh ? "github." : "host.";
    json_t *v = gh ? gh : host;
    strbuf known = {0};

    if (host && gh) {
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"host\" and \"github\" are the same section: keep one"));
        return;
    }
    noted(l, opt_str(host, "host.", "type", &o->host_type, &l->err));
    noted(l, opt_str(v, where, "api_url", &o->host_api_url, &l->err));
    noted(l, opt_str(v, where, "token_env", &o->host_token_env, &l->err));
    noted(l, opt_str(host, "host.", "user", &o->host_user, &l->err));
    noted(l, opt_str(host, "host.", "signing_key_env", &o->host_signing_key_env, &l->err));
    noted(l, opt_bool(host, "host.", "require_signature", &o->host_require_signature, &l->err));
    if (host_find(o->host_type))
        return;
    for (size_t i = 0; host_at(i); i++)
        strbuf_printf(&known, "%s\"%s\"", i ? ", " : "", host_at(i)->type);
    noted(l, errinfo_set(&l->err, ERR_INVALID, "\"host.type\" \"%.64s\" is not one of %s", o->host_type,
                         known.s ? known.s : ""));
    strbuf_free(&known);
}

/* What the host's defaults fill in: its API and its token's variable. */
static int host_defaults(bot_config *o, errinfo *err) {
    const host_ops *h = host_find(o->host_type);

    if (!h) /* an unknown host.type, noted already */
        return 0;
    if (!o->host_api_url && !(h->default_api_url && (o->host_api_url = strdup(h->default_api_url))))
        return errinfo_set(err, ERR_INVALID, "\"host.api_url\" is required for a %s host", h->display);
    if (!o->host_token_env && !(o->host_token_env = strdup(h->default_token_env)))
        abort();
    return 0;
}

/* A file named by the config must be there at start, not at first use. */
static int readable_file(const char *where, const char *key, const char *path, errinfo *err) {
    if (path && access(path, R_OK) < 0)
        return errinfo_set(err, ERR_INVALID, "\"%s%s\": cannot read %s: %s", where, key, path,
                           strerror(errno));
    return 0;
}

/* A GitHub App is its id and its key: one without the other is a typo. */
static int app_check(const bot_config *o, errinfo *err) {
    if (!o->github_app_id != !o->github_private_key_file)
        return errinfo_set(err, ERR_INVALID,
                           "\"github.app_id\" and \"github.private_key_file\" go together (a GitHub App)");
    if (o->github_app_id && strcmp(o->host_type, "github") != 0)
        return errinfo_set(err, ERR_INVALID, "a GitHub App (\"app_id\") needs a host of type \"github\"");
    if (o->github_installation_id && !o->github_app_id)
        return errinfo_set(err, ERR_INVALID, "\"github.installation_id\" needs \"github.app_id\"");
    return 0;
}

/* A GitHub App's keys, in "github" or in "host" (of type github). */
#define APP_KEYS "app_id", "private_key_file", "installation_id", "app_token_refresh_s"

/* The strings and objects; the integers follow (knobs_from_file). */
static void load_sections(json_t *root, bot_config *o, cfgload *l) {
    static const char *const top[] = {
        "listen", "port", "data_dir", "database_url", "database_url_env", "max_body_bytes", "public_url", "repo",
        "webhook_secret_env", "host", "github", "runners", "apply_parallelism", "discovery_parallelism", "aws", "wait",
        "notify", "environments", "limits", "ingest", "allow_fork_prs",
        "api_tokens", "session_ttl_s", "tls_cert", "tls_key", "retention_days",
        "retention_interval_s", "log_format", "replica", NULL};
    static const char *const repo_keys[] = {"url", "name", "token_env", "user", "ca_file", "default_branch",
                                            "reconcile_interval_s", NULL};
    static const char *const gh_keys[] = {"api_url", "token_env", APP_KEYS, NULL};
    static const char *const host_keys[] = {"type", "api_url", "token_env", "user", "signing_key_env",
                                            "require_signature", APP_KEYS, NULL};
    static const char *const aws_keys[] = {"region", "page_size", "retry_base_ms", "max_attempts",
                                           "throttle_attempts", "consistency_timeout_s", "debug",
                                           NULL};
    static const char *const wait_keys[] = {"timeout_s", "poll_ms", "first_poll_ms", "max_poll_ms", NULL};
    static const char *const ingest_keys[] = {"batch_max", "batch_wait_us", NULL};
    static const char *const replica_keys[] = {"lease_s", NULL};
    static const char *const limit_keys[] = {"max_file_bytes", "max_envs_per_push",
                                             "plan_list_items", "max_inflight_body_bytes",
                                             "max_connections", "header_timeout_s",
                                             "body_min_rate_bytes_s", "ws_ping_interval_s", NULL};
    json_t *repo, *gh, *host, *aws, *wait, *limits, *ingest, *replica;
    const char *app_where;
    char *log_fmt = NULL;

    only_keys(root, "", top, l);
    noted(l, opt_str(root, "", "listen", &o->listen, &l->err));
    noted(l, opt_str(root, "", "data_dir", &o->data_dir, &l->err));
    noted(l, opt_str(root, "", "database_url", &o->database_url, &l->err));
    noted(l, opt_str(root, "", "database_url_env", &o->database_url_env, &l->err));
    noted(l, opt_str(root, "", "public_url", &o->public_url, &l->err));
    noted(l, opt_str(root, "", "webhook_secret_env", &o->webhook_secret_env, &l->err));
    noted(l, opt_str(root, "", "tls_cert", &o->tls_cert, &l->err));
    noted(l, opt_str(root, "", "tls_key", &o->tls_key, &l->err));
    section(root, "repo", repo_keys, &repo, l);
    section(root, "github", gh_keys, &gh, l);
    section(root, "host", host_keys, &host, l);
    section(root, "aws", aws_keys, &aws, l);
    section(root, "wait", wait_keys, &wait, l);
    section(root, "limits", limit_keys, &limits, l);
    section(root, "ingest", ingest_keys, &ingest, l);
    section(root, "replica", replica_keys, &replica, l);
    noted(l, opt_str(repo, "repo.", "url", &o->repo_url, &l->err));
    if (noted(l, opt_str(repo, "repo.", "name", &o->repo_name, &l->err)) == 0)
        noted(l, repo_name_check(o->repo_name, &l->err));
    noted(l, opt_str(repo, "repo.", "token_env", &o->repo_token_env, &l->err));
    noted(l, opt_str(repo, "repo.", "user", &o->repo_user, &l->err));
    if (noted(l, opt_str(repo, "repo.", "ca_file", &o->repo_ca_file, &l->err)) == 0)
        noted(l, readable_file("repo.", "ca_file", o->repo_ca_file, &l->err));
    if (noted(l, opt_str(repo, "repo.", "default_branch", &o->default_branch, &l->err)) == 0)
        noted(l, branch_check("repo.", "default_branch", o->default_branch, &l->err));
    load_host(host, gh, o, l);
    app_where = gh ? "github." : "host.";
    if (noted(l, opt_str(gh ? gh : host, app_where, "private_key_file", &o->github_private_key_file, &l->err)) == 0)
        noted(l, readable_file(app_where, "private_key_file", o->github_private_key_file, &l->err));
    noted(l, opt_str(aws, "aws.", "region", &o->aws_region, &l->err));
    noted(l, opt_bool(aws, "aws.", "debug", &o->deploy.aws.debug, &l->err));
    noted(l, opt_bool(root, "", "allow_fork_prs", &o->allow_fork_prs, &l->err));
    if (noted(l, opt_str(root, "", "log_format", &log_fmt, &l->err)) == 0)
        noted(l, log_format_set(o, log_fmt, "\"log_format\"", &l->err));
    free(log_fmt);
    if (!o->tls_cert != !o->tls_key)
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"tls_cert\" and \"tls_key\" go together"));
    load_api_tokens(root, o, l);
    /* "notify" is notify/settings.c's, which names its keys itself. */
    noted(l, notify_settings_parse(json_object_get(root, "notify"), &o->notify, &l->err));
    knobs_from_file(root, o, l);
    noted(l, app_check(o, &l->err));
    load_environments(root, o, l);
}

static void load_file(const char *path, bot_config *o, cfgload *l) {
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

    if (!root)
        noted(l, errinfo_set(&l->err, json_error_code(&jerr) == json_error_cannot_open_file ? ERR_NOT_FOUND : ERR_INVALID,
                             "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column));
    else if (!json_is_object(root))
        noted(l, errinfo_set(&l->err, ERR_INVALID, "top level must be a JSON object"));
    else {
        load_sections(root, o, l);
        o->file = json_incref(root); /* for bot_config_changes */
    }
    json_decref(root);
}

/* An unset or empty variable is "no secret": callers must then refuse. */
static void read_secret(const char *env, char **dst) {
    const char *v = getenv(env);

    *dst = NULL;
    if (v && *v && !(*dst = strdup(v)))
        abort();
}

/* Resolves a relative data_dir against the current directory now, so a later
 * chdir (or a thread that assumes another cwd) cannot move the database. */
static int absolute_data_dir(bot_config *o, errinfo *err) {
    char cwd[PATH_MAX];
    char *abs;
    const char *rel = o->data_dir;

    if (rel[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd)))
        return errinfo_set(err, ERR_IO, "cannot resolve data_dir \"%s\": getcwd: %s", rel,
                           strerror(errno));
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if (strcmp(rel, ".") == 0)
        rel = "";
    if (asprintf(&abs, "%s%s%s", cwd, *rel ? "/" : "", rel) < 0)
        abort();
    free(o->data_dir);
    o->data_dir = abs;
    return 0;
}

static void free_secret(char *s);

/* database_url: DEPLOYBOT_DATABASE_URL over the file's, or the variable
 * database_url_env names (so a password need not be in the file). Only a
 * PostgreSQL URL: SQLite is data_dir's. */
static int database_url(bot_config *o, errinfo *err) {
    const char *env = env_value("DEPLOYBOT_DATABASE_URL");

    if (o->database_url && o->database_url_env)
        return errinfo_set(err, ERR_INVALID, "\"database_url\" and \"database_url_env\" exclude each other: keep one");
    if (o->database_url_env && !(env = env_value(o->database_url_env)))
        return errinfo_set(err, ERR_INVALID, "\"database_url_env\": environment variable %s is unset", o->database_url_env);
    if (env) {
        free_secret(o->database_url);
        if (!(o->database_url = strdup(env)))
            abort();
    }
    if (o->database_url && !store_is_url(o->database_url))
        return errinfo_set(err, ERR_INVALID, "\"database_url\" must start with postgres:// or postgresql:// (SQLite is the default, in data_dir)");
    return 0;
}

const char *bot_config_database(const bot_config *c, char *buf, size_t size) {
    if (c->database_url)
        snprintf(buf, size, "%s", c->database_url);
    else
        snprintf(buf, size, "%s/deploybot.db", c->data_dir);
    return buf;
}

/* A short token is guessable: refused rather than used. */
static void read_api_tokens(bot_config *o, cfgload *l) {
    for (size_t i = 0; i < o->n_api_tokens; i++) {
        bot_api_token *t = &o->api_tokens[i];

        read_secret(t->token_env, &t->token);
        if (t->token && strlen(t->token) < MIN_API_TOKEN_CHARS)
            noted(l, errinfo_set(&l->err, ERR_INVALID,
                                 "environment variable %s (api token \"%s\"): a token must be at least %d characters",
                                 t->token_env, t->name, MIN_API_TOKEN_CHARS));
    }
}

static void finish(bot_config *o, cfgload *l) {
    /* Otherwise a delivery of the largest allowed size could never be taken. */
    if (o->max_inflight_body < o->max_body)
        noted(l, errinfo_set(&l->err, ERR_INVALID,
                             "\"limits.max_inflight_body_bytes\" (%zu) must be at least "
                             "\"max_body_bytes\" (%zu)",
                             o->max_inflight_body, o->max_body));
    /* Without a delivery there is no clone URL nor repository name to
     * take from it. */
    if (o->reconcile_interval_s > 0 && (!o->repo_url || !o->repo_name))
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"repo.reconcile_interval_s\" needs \"repo.url\" and \"repo.name\""));
    if (!o->public_url && asprintf(&o->public_url, "%s://%s:%d", o->tls_cert ? "https" : "http", o->listen,
                                   o->port) < 0)
        abort();
    read_secret(o->webhook_secret_env, &o->webhook_secret);
    noted(l, host_defaults(o, &l->err));
    if (o->host_token_env)
        read_secret(o->host_token_env, &o->host_token);
    if (o->host_signing_key_env) read_secret(o->host_signing_key_env, &o->host_signing_key);
    /* Required but impossible would refuse every delivery. */
    if (o->host_require_signature && !o->host_signing_key)
        noted(l, errinfo_set(&l->err, ERR_INVALID, "\"host.require_signature\" needs a signing token in \"host.signing_key_env\" (%s is unset)",
                             o->host_signing_key_env ? o->host_signing_key_env : "not named"));
    read_api_tokens(o, l);
    noted(l, absolute_data_dir(o, &l->err));
    noted(l, database_url(o, &l->err));
}

int bot_config_check(const char *path, bot_config *out, strbuf *report, errinfo *err) {
    char name[1100];
    cfgload l = {.report = report};

    memset(out, 0, sizeof(*out));
    set_defaults(out);
    snprintf(name, sizeof(name), "config %s", path ? path : "(defaults)");
    l.prefix = name;
    if (path)
        load_file(path, out, &l);
    /* The environment comes second: a variable overrides the file. */
    l.prefix = NULL;
    knobs_from_env(out, &l);
    noted(&l, debug_from_env(out, &l.err));
    noted(&l, log_format_set(out, env_value("DEPLOYBOT_LOG_FORMAT"), "environment variable DEPLOYBOT_LOG_FORMAT", &l.err));
    l.prefix = name;
    finish(out, &l);
    if (l.problems == 0)
        return 0;
    bot_config_free(out);
    if (err)
        *err = l.first;
    return -1;
}

int bot_config_load(const char *path, bot_config *out, errinfo *err) {
    return bot_config_check(path, out, NULL, err);
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
    free_secret(c->database_url);
    free(c->database_url_env);
    free(c->public_url);
    free(c->repo_url);
    free(c->repo_name);
    free(c->repo_token_env);
    free(c->repo_user);
    free(c->repo_ca_file);
    free(c->default_branch);
    free(c->webhook_secret_env);
    free_secret(c->webhook_secret);
    free(c->host_type);
    free(c->host_api_url);
    free(c->host_token_env);
    free_secret(c->host_token);
    free(c->host_signing_key_env);
    free_secret(c->host_signing_key);
    free(c->host_user);
    free(c->github_private_key_file);
    free(c->aws_region);
    notify_settings_free(&c->notify);
    for (size_t i = 0; i < c->n_envs; i++) {
        free(c->envs[i].name);
        free(c->envs[i].role_arn);
        free(c->envs[i].external_id);
        free(c->envs[i].deploy_branch);
    }
    free(c->envs);
    for (size_t i = 0; i < c->n_api_tokens; i++) {
        free(c->api_tokens[i].name);
        free(c->api_tokens[i].token_env);
        free_secret(c->api_tokens[i].token);
    }
    free(c->api_tokens);
    free(c->tls_cert);
    free(c->tls_key);
    json_decref(c->file);
    memset(c, 0, sizeof(*c));
}

bot_drift_config bot_config_drift(const bot_config *c, const char *name) {
    const bot_env_config *e = bot_config_env(c, name);
    return e ? (bot_drift_config){e->drift_interval_s, e->drift_remediate}
             : (bot_drift_config){DEFAULT_DRIFT_INTERVAL_S, 0};
}

int bot_config_run_timeout(const bot_config *c, const char *env) {
    const bot_env_config *e = bot_config_env(c, env);
    return e ? e->run_timeout_s : DEFAULT_RUN_TIMEOUT_S;
}

/* The dotted names of the leaves of a and b that differ; an array is one leaf. */
static void changed_keys(const json_t *a, const json_t *b, const char *prefix, strbuf *out) {
    const char *key;
    json_t *v;
    char name[256];

    if (json_is_object(a) && json_is_object(b)) {
        json_object_foreach((json_t *)a, key, v) {
            snprintf(name, sizeof(name), "%.120s%s%.120s", prefix, *prefix ? "." : "", key);
            changed_keys(v, json_object_get(b, key), name, out);
        }
        json_object_foreach((json_t *)b, key, v) {
            snprintf(name, sizeof(name), "%.120s%s%.120s", prefix, *prefix ? "." : "", key);
            if (!json_object_get(a, key))
                changed_keys(NULL, v, name, out);
        }
        return;
    }
    if (json_equal((json_t *)a, (json_t *)b))
        return;
    strbuf_printf(out, "%s%s", out->len ? ", " : "", *prefix ? prefix : "(the whole file)");
}

void bot_config_changes(const bot_config *old, const bot_config *new_cfg, strbuf *out) {
    json_t *none = json_object();

    changed_keys(old->file ? old->file : none, new_cfg->file ? new_cfg->file : none, "", out);
    json_decref(none);
}

const bot_env_config *bot_config_env(const bot_config *c, const char *name) {
    for (size_t i = 0; c && name && i < c->n_envs; i++)
        if (strcmp(c->envs[i].name, name) == 0)
            return &c->envs[i];
    return NULL;
}

ghapp_settings bot_config_ghapp(const bot_config *c) {
    ghapp_settings s = {c->host_api_url, c->github_app_id, c->github_private_key_file,
                        c->github_installation_id, c->repo_name, c->github_app_refresh_s};
    return s;
}

void bot_config_secrets(const bot_config *c, redactor *r) {
    char pw[256];

    redactor_add(r, c->webhook_secret);
    redactor_add(r, c->host_token);
    if (store_url_password(c->database_url, pw, sizeof(pw)) > 0)
        redactor_add(r, pw);
    explicit_bzero(pw, sizeof(pw));
    redactor_add(r, c->host_signing_key);
    redactor_add_env(r, c->repo_token_env);
    for (size_t i = 0; i < c->n_api_tokens; i++)
        redactor_add(r, c->api_tokens[i].token);
    /* Under their default names too, even when the config names others. */
    redactor_add_env(r, DEFAULT_SECRET_ENV);
    redactor_add_env(r, DEFAULT_REPO_TOKEN_ENV);
    notify_settings_secrets(&c->notify, r);
}

void bot_config_host(const bot_config *c, host_config *out) {
    memset(out, 0, sizeof(*out));
    out->type = c->host_type;
    out->api_url = c->host_api_url;
    out->token = c->host_token;
    out->user = c->host_user;
    out->webhook_secret = c->webhook_secret;
    out->signing_key = c->host_signing_key;
    out->require_signature = c->host_require_signature;
}
