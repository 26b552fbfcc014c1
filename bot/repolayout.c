/* repolayout: see repolayout.h. */
#include "bot/repolayout.h"

#include <stdlib.h>

void repolayout_from_config(const repoconfig *rc, changes_layout *out) {
    changes_env *envs = calloc(rc->n_envs ? rc->n_envs : 1, sizeof *envs);
    size_t i;
    if (!envs)
        abort();
    for (i = 0; i < rc->n_envs; i++) {
        envs[i].name = rc->envs[i].name;
        envs[i].folder = rc->envs[i].folder;
    }
    out->envs = envs;
    out->n_envs = rc->n_envs;
    out->shared_paths = rc->shared_paths;
    out->n_shared = rc->n_shared;
}

void repolayout_free(changes_layout *l) {
    free((void *)l->envs);
    l->envs = NULL;
    l->n_envs = 0;
}
