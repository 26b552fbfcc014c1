/* prs: what each pull request's plan comment shows — the head commit and,
 * for each environment that head touches, its latest plan (or that it is
 * still being planned).
 *
 * The environments of one pull request are planned by different run
 * threads, in parallel; each records its result here and the comment is
 * rendered from what is recorded when it is sent, so it always shows every
 * result known by then, whatever order the runs finish in. A result for a
 * commit that is no longer the head is dropped. Repositories are compared
 * without case, as GitHub does. */
#ifndef DEPLOYBOT_STORE_PRS_H
#define DEPLOYBOT_STORE_PRS_H

#include <stddef.h>
#include "store/store.h"

/* One environment's plan. From store_pr_load the strings are the caller's
 * (store_pr_envs_free). */
typedef struct {
    const char *env;
    int pending; /* not planned yet */
    int applied, failed, changes;
    const char *summary, *plan_text, *error, *url; /* each may be NULL */
} store_pr_env;

/* The pull request's head is now sha, touching these environments (in this
 * order): they show as being planned. Recording the same head again (a job
 * replayed after a crash) keeps the results already there. */
int store_pr_head(store *s, const char *repo, long pr, const char *sha,
                  const char *const *envs, size_t n, errinfo *err);
/* One environment's plan for sha (its `pending` is ignored): 1 stored, 0
 * dropped (sha is no longer the head), -1 error. With no head recorded yet,
 * sha becomes the head. */
int store_pr_result(store *s, const char *repo, long pr, const char *sha, const store_pr_env *r,
                    errinfo *err);
/* The head (into sha[41]) and its environments in order: 1, 0 nothing
 * recorded, -1 error. */
int store_pr_load(store *s, const char *repo, long pr, char sha[41], store_pr_env **envs,
                  size_t *n, errinfo *err);
void store_pr_envs_free(store_pr_env *envs, size_t n);

#endif
