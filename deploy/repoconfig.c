/* repoconfig: parsing deploybot.json. See repoconfig.h.
 *
 * Strict on purpose: the file decides what gets applied (and destroyed), so
 * a misspelt key must stop the bot rather than be silently ignored. */
#include "deploy/repoconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rejects keys of `obj` not in the NULL-terminated `allowed`; `where` is the
 * dotted path of obj, "" for the root. */
static int check_keys(json_t *obj, const char *const *allowed,
                      const char *where, const char *hint, errinfo *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t i;
        for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
            ;
        if (!allowed[i])
            return errinfo_set(err, ERR_INVALID, "%s%sunknown key \"%.64s\" (expected %s)",
                               where, *where ? ": " : "", key, hint);
    }
    return 0;
}

/* Environment names end up in commit status contexts and AWS tags. */
static int valid_env_name(const char *s) {
    size_t n = strlen(s), i;
    if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_.",
                    s[i]))
            return 0;
    return 1;
}

/* A repository-relative path: no leading '/', no empty, "." or ".."
 * components (a single trailing '/' is allowed). */
static int valid_repo_path(const char *s) {
    const char *p = s;
    if (!*s || *s == '/')
        return 0;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/' && *++p == '\0')
            break;
    }
    return 1;
}

int repoconfig_branch_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || s[0] == '-' || s[0] == '/' || s[n - 1] == '/' ||
        s[n - 1] == '.' || strstr(s, "..") || strstr(s, "//") ||
        strstr(s, "@{") || (n >= 5 && !strcmp(s + n - 5, ".lock")))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || strchr("~^:?*[\\\x7f", *s))
            return 0;
    return 1;
}

static int env_string(json_t *obj, const char *env, const char *key,
                      const char *what, char **out, errinfo *err) {
    json_t *v = json_object_get(obj, key);
    if (!v)
        return errinfo_set(err, ERR_INVALID, "environments.%s.%s: missing (%s)", env, key,
                           what);
    if (!json_is_string(v))
        return errinfo_set(err, ERR_INVALID, "environments.%s.%s: expected a string", env,
                           key);
    if (!(*out = strdup(json_string_value(v))))
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

static int parse_env(const char *name, json_t *v, repoconfig_env *e,
                     errinfo *err) {
    static const char *const keys[] = {"folder", "branch", "allow_destroy",
                                       "auto_rollback", NULL};
    char where[96];
    json_t *ad;
    size_t n;

    if (!valid_env_name(name))
        return errinfo_set(err, ERR_INVALID,
                           "environments: \"%.64s\": an environment name"
                           " is 1-63 letters, digits, '-', '_' or '.'",
                           name);
    if (!json_is_object(v))
        return errinfo_set(err, ERR_INVALID,
                           "environments.%s: expected an object with "
                           "\"folder\" and \"branch\"",
                           name);
    snprintf(where, sizeof where, "environments.%s", name);
    if (check_keys(v, keys, where, "folder, branch, allow_destroy, auto_rollback", err) < 0)
        return -1;
    if (!(e->name = strdup(name)))
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    if (env_string(v, name, "folder",
                   "the environment's folder in this "
                   "repository",
                   &e->folder, err) < 0 ||
        env_string(v, name, "branch", "the branch whose pushes apply it",
                   &e->branch, err) < 0)
        return -1;
    if (!valid_repo_path(e->folder))
        return errinfo_set(err, ERR_INVALID,
                           "environments.%s.folder: \"%.128s\" is not a "
                           "relative path like \"environments/%s\"",
                           name, e->folder,
                           name);
    for (n = strlen(e->folder); n > 0 && e->folder[n - 1] == '/'; n--)
        e->folder[n - 1] = '\0';
    if (!repoconfig_branch_valid(e->branch))
        return errinfo_set(err, ERR_INVALID,
                           "environments.%s.branch: \"%.128s\" is not a "
                           "valid branch name",
                           name, e->branch);
    ad = json_object_get(v, "allow_destroy");
    if (ad && !json_is_boolean(ad))
        return errinfo_set(err, ERR_INVALID,
                           "environments.%s.allow_destroy: expected true "
                           "or false",
                           name);
    e->allow_destroy = ad ? json_is_true(ad) : 0;
    ad = json_object_get(v, "auto_rollback");
    if (ad && !json_is_boolean(ad))
        return errinfo_set(err, ERR_INVALID,
                           "environments.%s.auto_rollback: expected true "
                           "or false",
                           name);
    e->auto_rollback = ad ? json_is_true(ad) : 0;
    return 0;
}

static int parse_envs(json_t *envs, repoconfig *out, errinfo *err) {
    const char *name;
    json_t *v;

    if (!envs)
        return errinfo_set(err, ERR_INVALID,
                           "environments: missing (an object naming each"
                           " environment)");
    if (!json_is_object(envs))
        return errinfo_set(err, ERR_INVALID, "environments: expected an object");
    if (json_object_size(envs) == 0)
        return errinfo_set(err, ERR_INVALID,
                           "environments: expected at least one "
                           "environment");
    out->envs = calloc(json_object_size(envs), sizeof *out->envs);
    if (!out->envs)
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    /* jansson >= 2.8 iterates in insertion order: the file's order. */
    json_object_foreach(envs, name, v) {
        if (parse_env(name, v, &out->envs[out->n_envs++], err) < 0)
            return -1;
    }
    return 0;
}

static int parse_shared(json_t *arr, repoconfig *out, errinfo *err) {
    size_t i;
    json_t *v;

    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return errinfo_set(err, ERR_INVALID, "shared_paths: expected an array of strings");
    if (json_array_size(arr) == 0)
        return 0;
    out->shared_paths = calloc(json_array_size(arr), sizeof(char *));
    if (!out->shared_paths)
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return errinfo_set(err, ERR_INVALID, "shared_paths[%zu]: expected a string", i);
        if (!valid_repo_path(json_string_value(v)))
            return errinfo_set(err, ERR_INVALID,
                               "shared_paths[%zu]: \"%.128s\" is not a "
                               "relative path like \"modules/\"",
                               i,
                               json_string_value(v));
        if (!(out->shared_paths[out->n_shared++] =
                  strdup(json_string_value(v))))
            return errinfo_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

int repoconfig_parse(const char *json, size_t len, repoconfig *out,
                     errinfo *err) {
    static const char *const keys[] = {"environments", "shared_paths", NULL};
    json_error_t jerr;
    json_t *root;
    int rc = -1;

    memset(out, 0, sizeof *out);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        errinfo_set(err, ERR_INVALID, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return errinfo_prefix(err, "deploybot.json");
    }
    if (!json_is_object(root))
        errinfo_set(err, ERR_INVALID, "expected an object with \"environments\"");
    else if (check_keys(root, keys, "", "environments, shared_paths", err) == 0 &&
             parse_envs(json_object_get(root, "environments"), out, err) == 0 &&
             parse_shared(json_object_get(root, "shared_paths"), out, err) == 0)
        rc = 0;
    json_decref(root);
    if (rc < 0) {
        repoconfig_free(out);
        errinfo_prefix(err, "deploybot.json");
    }
    return rc;
}

const repoconfig_env *repoconfig_env_find(const repoconfig *c, const char *name) {
    size_t i;
    for (i = 0; i < c->n_envs; i++)
        if (!strcmp(c->envs[i].name, name))
            return &c->envs[i];
    return NULL;
}

void repoconfig_free(repoconfig *c) {
    size_t i;
    if (!c)
        return;
    for (i = 0; i < c->n_envs; i++) {
        free(c->envs[i].name);
        free(c->envs[i].folder);
        free(c->envs[i].branch);
    }
    for (i = 0; i < c->n_shared; i++)
        free(c->shared_paths[i]);
    free(c->envs);
    free(c->shared_paths);
    memset(c, 0, sizeof *c);
}
