/* prstate: a pull request's plan comment as the notifier records it and the
 * sender renders it — notify_env_result in and out of store/prs.h, where
 * what the comment shows is kept (and why). */
#ifndef DEPLOYBOT_NOTIFY_PRSTATE_H
#define DEPLOYBOT_NOTIFY_PRSTATE_H

#include <stddef.h>
#include "notify/event.h"
#include "store/prs.h"

typedef struct {
    char sha[41];            /* the head these results are for */
    notify_env_result *envs; /* pointing into stored; freed with the view */
    size_t n;
    store_pr_env *stored;
} prstate_view;

/* One environment's plan for sha: 1 stored, 0 dropped (sha is no longer the
 * head), -1 error. With no head recorded yet, sha becomes the head. */
int prstate_result(store *db, const char *repo, long pr, const char *sha,
                   const notify_env_result *r, errinfo *err);
/* The head and its environments: 1, 0 (nothing recorded), -1. */
int prstate_load(store *db, const char *repo, long pr, prstate_view *out, errinfo *err);
void prstate_view_free(prstate_view *v);

#endif
