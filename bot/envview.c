/* envview: see envview.h. */
#include "bot/envview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git/commitinfo.h"
#include "host/host.h"
#include "store/envstate.h"

#define CACHE 32 /* commits remembered: a few per environment */

typedef struct {
    char sha[41];
    commitinfo info;
} cached;

struct envview {
    char mirror[1024];
    const host_ops *host;
    char *api_url;
    char **envs; /* the configured ones */
    size_t n_envs;
    cached cache[CACHE];
    size_t next; /* the slot to reuse */
};

envview *envview_new(const bot_config *cfg) {
    envview *v = calloc(1, sizeof(*v));

    if (!v || !(v->envs = calloc(cfg->n_envs + 1, sizeof(char *))) ||
        !(v->api_url = strdup(cfg->host_api_url ? cfg->host_api_url : "")))
        abort();
    snprintf(v->mirror, sizeof(v->mirror), "%s/repo.git", cfg->data_dir);
    v->host = host_find(cfg->host_type);
    for (size_t i = 0; i < cfg->n_envs; i++)
        if (!(v->envs[v->n_envs++] = strdup(cfg->envs[i].name)))
            abort();
    return v;
}

void envview_free(envview *v) {
    if (!v)
        return;
    for (size_t i = 0; i < v->n_envs; i++)
        free(v->envs[i]);
    free(v->envs);
    free(v->api_url);
    free(v);
}

/* What the mirror says of sha; NULL when it lacks it (then asked again
 * next time: a fetch may bring it). */
static const commitinfo *lookup(envview *v, const char *sha) {
    cached *c;
    commitinfo info;

    for (size_t i = 0; i < CACHE; i++)
        if (strcmp(v->cache[i].sha, sha) == 0)
            return &v->cache[i].info;
    if (commitinfo_read(v->mirror, sha, &info, NULL) < 0)
        return NULL;
    c = &v->cache[v->next];
    v->next = (v->next + 1) % CACHE;
    snprintf(c->sha, sizeof(c->sha), "%s", sha);
    c->info = info;
    return &c->info;
}

static json_t *commit_json(envview *v, const char *repo, const char *sha) {
    char url[1024], shortsha[13];
    const commitinfo *ci = lookup(v, sha);
    json_t *o;

    snprintf(shortsha, sizeof(shortsha), "%s", sha);
    if (v->host && *v->api_url && repo && *repo)
        host_commit_url(v->host, v->api_url, repo, sha, url, sizeof(url));
    else
        url[0] = '\0';
    o = json_pack("{s:s,s:s,s:s?}", "sha", sha, "short", shortsha, "url", *url ? url : NULL);
    json_object_set_new(o, "subject", ci ? json_string(ci->subject) : json_null());
    json_object_set_new(o, "author", ci ? json_string(ci->author) : json_null());
    json_object_set_new(o, "time_s", ci ? json_integer(ci->time_s) : json_null());
    return o;
}

static json_t *card(envview *v, const env_status *x) {
    json_t *o = env_status_json(x);

    json_object_set_new(o, "commit", x->deployed_sha ? commit_json(v, x->last.repo, x->deployed_sha) : json_null());
    return o;
}

json_t *envview_cards(envview *v, store *db, errinfo *err) {
    size_t n = 0;
    env_status *list = store_env_states(db, (const char *const *)v->envs, v->n_envs, &n, err);
    json_t *arr;

    if (!list)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, card(v, &list[i]));
    env_status_list_free(list, n);
    return arr;
}

static int configured(const envview *v, const char *env) {
    for (size_t i = 0; i < v->n_envs; i++)
        if (strcmp(v->envs[i], env) == 0)
            return 1;
    return 0;
}

json_t *envview_card(envview *v, store *db, const char *env, errinfo *err) {
    env_status x;
    int rc = store_env_state(db, env, &x, err);
    json_t *o;

    if (rc < 0)
        return NULL;
    if (rc == 0 && !configured(v, env)) {
        env_status_free(&x);
        errinfo_set(err, ERR_NOT_FOUND, "no environment %s", env);
        return NULL;
    }
    o = card(v, &x);
    env_status_free(&x);
    return o;
}
