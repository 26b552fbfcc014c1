/* changes: which environments a push or pull request touches.
 *
 * Rules (see README "Environment detection"):
 *  - a changed path under an environment's folder touches that environment;
 *  - a changed path under a shared path touches every environment;
 *  - anything else touches none;
 *  - a rename touches the environments of both its old and its new path;
 *  - before == NULL or all zeros (new branch): every environment whose folder
 *    exists at `after` is touched;
 *  - before not an ancestor of after (force push): the trees are diffed
 *    directly, so what changes is exactly what differs from what was there;
 *  - before not in the mirror (e.g. rewritten away): every environment. */
#ifndef DEPLOYBOT_GIT_CHANGES_H
#define DEPLOYBOT_GIT_CHANGES_H

#include <stddef.h>
#include "git/cfgrepo.h"
#include "util/errinfo.h"

/* The part of deploybot.json the rules need: each environment's folder and
 * the paths shared by all (deploy/repoconfig.h reads the file; the caller
 * hands over views of its strings, so git/ knows nothing of its format). */
typedef struct {
    const char *name;   /* "dev" */
    const char *folder; /* "environments/dev", no trailing slash */
} changes_env;

typedef struct {
    const changes_env *envs;
    size_t n_envs;
    char *const *shared_paths; /* prefixes that touch every environment */
    size_t n_shared;
} changes_layout;

typedef struct {
    char **envs; /* touched environment names, in layout order */
    size_t n_envs;
    char **deleted; /* subset of envs whose folder no longer exists at after
                         (had one at before; with "before unknown": has none
                         at after) */
    size_t n_deleted;
    char **paths; /* every changed path (both sides of renames) */
    size_t n_paths;
    const char *reason; /* static text: "diff", "new branch", "force push", "before unknown" */
} change_set;

/* Pure rule: environments touched by a list of changed paths. Fills every
 * field of `out` (paths copied, sorted, de-duplicated; reason "diff"); free
 * with change_set_free. Aborts on out of memory (it cannot report it). */
void changes_envs_for_paths(const changes_layout *cfg, const char *const *paths,
                            size_t n_paths, change_set *out);

/* Diffs before..after in the mirror; the layout is the one at `after`.
 * `after` must be in the mirror (cfgrepo_fetch it first). On error `out` is
 * left empty. */
int changes_between(cfgrepo *r, const changes_layout *cfg, const char *before,
                    const char *after, change_set *out, errinfo *err);

void change_set_free(change_set *c);

#endif
