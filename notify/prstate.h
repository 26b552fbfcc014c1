/* prstate: what a pull request's plan comment shows — the head commit and,
 * for each environment that head touches, its latest plan (or that it is
 * still being planned).
 *
 * The environments of one pull request are planned by different run
 * threads, in parallel; each records its result here and the comment is
 * rendered from this table when it is sent, so it always shows every result
 * known by then, whatever order the runs finish in. A result for a commit
 * that is no longer the head is dropped. Same SQLite file as the outbox;
 * one connection per thread. */
#ifndef DEPLOYBOT_NOTIFY_PRSTATE_H
#define DEPLOYBOT_NOTIFY_PRSTATE_H

#include <stddef.h>
#include "notify/event.h"

typedef struct prstate prstate;

typedef struct {
    char sha[41];               /* the head these results are for */
    notify_env_result *envs;    /* strings owned by the view */
    size_t n;
} prstate_view;

prstate *prstate_open(const char *db_path, char *err, size_t errlen);
void prstate_close(prstate *p);
const char *prstate_error(const prstate *p);

/* The pull request's head is now sha, touching these environments (in this
 * order): they show as being planned. Recording the same head again (a job
 * replayed after a crash) keeps the results already there. 0 or -1. */
int prstate_head(prstate *p, const char *repo, long pr, const char *sha,
                 const char *const *envs, size_t n);
/* One environment's plan for sha: 1 stored, 0 dropped (sha is no longer the
 * head), -1 error. With no head recorded yet, sha becomes the head. */
int prstate_result(prstate *p, const char *repo, long pr, const char *sha,
                   const notify_env_result *r);
/* The head and its environments: 1, 0 (nothing recorded), -1. */
int prstate_load(prstate *p, const char *repo, long pr, prstate_view *out);
void prstate_view_free(prstate_view *v);

#endif
