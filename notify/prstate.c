/* prstate: see prstate.h. */
#include "notify/prstate.h"

#include <stdlib.h>
#include <string.h>

int prstate_result(store *db, const char *repo, long pr, const char *sha,
                   const notify_env_result *r, errinfo *err) {
    store_pr_env e = {r->env, 0, r->applied, r->failed, r->changes, r->summary, r->plan_text,
                      r->error, r->url};

    return store_pr_result(db, repo, pr, sha, &e, err);
}

int prstate_load(store *db, const char *repo, long pr, prstate_view *out, errinfo *err) {
    const store_pr_env *e;
    int have;

    memset(out, 0, sizeof(*out));
    have = store_pr_load(db, repo, pr, out->sha, &out->stored, &out->n, err);
    if (have <= 0)
        return have;
    if (out->n && !(out->envs = calloc(out->n, sizeof(*out->envs))))
        abort();
    for (size_t i = 0; i < out->n; i++) {
        e = &out->stored[i];
        out->envs[i] = (notify_env_result){e->env, e->applied, e->failed, e->changes, e->summary,
                                           e->plan_text, e->error, e->pending, e->url};
    }
    return 1;
}

void prstate_view_free(prstate_view *v) {
    if (!v)
        return;
    store_pr_envs_free(v->stored, v->n);
    free(v->envs);
    memset(v, 0, sizeof(*v));
}
