/* changes: from a push (before..after) to the environments it touches.
 * See changes.h for the rules. */
#include "git/changes.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small string vectors ---------------------------------------------- */

static int strv_push(char ***v, size_t *n, const char *s) {
    char **nv = realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

static void strv_free(char **v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted and without duplicates, so a rename inside one folder or a path
 * listed twice is reported once. */
static void strv_sort_unique(char **v, size_t *n) {
    size_t i, j = 0;
    if (*n == 0)
        return;
    qsort(v, *n, sizeof *v, cmp_str);
    for (i = 1; i < *n; i++) {
        if (!strcmp(v[i], v[j]))
            free(v[i]);
        else
            v[++j] = v[i];
    }
    *n = j + 1;
}

/* ---- the pure rule ----------------------------------------------------- */

/* 1 if `path` is `prefix` or below it, on a component boundary: prefix
 * "modules/" or "modules" matches "modules/dify/x", not "modules2/x". */
static int path_under(const char *path, const char *prefix) {
    size_t n = strlen(prefix);
    while (n > 0 && prefix[n - 1] == '/')
        n--;
    if (n == 0) /* the parser rejects these; never match everything */
        return 0;
    return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

static const changes_env *layout_env(const changes_layout *l, const char *name) {
    size_t i;
    for (i = 0; i < l->n_envs; i++)
        if (!strcmp(l->envs[i].name, name))
            return &l->envs[i];
    return NULL;
}

static int touches(const changes_layout *cfg, const changes_env *e,
                   char *const *paths, size_t n_paths) {
    size_t i, s;
    for (i = 0; i < n_paths; i++) {
        if (path_under(paths[i], e->folder))
            return 1;
        for (s = 0; s < cfg->n_shared; s++)
            if (path_under(paths[i], cfg->shared_paths[s]))
                return 1;
    }
    return 0;
}

/* Fills out->envs from out->paths, in layout order. */
static int envs_from_paths(const changes_layout *cfg, change_set *out) {
    size_t i;
    for (i = 0; i < cfg->n_envs; i++)
        if (touches(cfg, &cfg->envs[i], out->paths, out->n_paths) &&
            strv_push(&out->envs, &out->n_envs, cfg->envs[i].name) < 0)
            return -1;
    return 0;
}

void changes_envs_for_paths(const changes_layout *cfg, const char *const *paths,
                            size_t n_paths, change_set *out) {
    size_t i;
    memset(out, 0, sizeof *out);
    out->reason = "diff";
    for (i = 0; i < n_paths; i++)
        if (strv_push(&out->paths, &out->n_paths, paths[i]) < 0)
            goto oom;
    strv_sort_unique(out->paths, &out->n_paths);
    if (envs_from_paths(cfg, out) < 0)
        goto oom;
    return;
oom: /* no way to report it through a void function: fail loudly */
    fputs("deploybot: out of memory in changes_envs_for_paths\n", stderr);
    abort();
}

void change_set_free(change_set *c) {
    if (!c)
        return;
    strv_free(c->envs, c->n_envs);
    strv_free(c->deleted, c->n_deleted);
    strv_free(c->paths, c->n_paths);
    memset(c, 0, sizeof *c);
}

/* ---- against the mirror ------------------------------------------------ */

static const char *git_msg(void) {
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

static int is_new_branch(const char *before) {
    if (!before || !*before)
        return 1;
    return strspn(before, "0") == strlen(before);
}

/* 0 on success, 1 when the commit is absent, -1 when `sha` is malformed. */
static int lookup_commit(git_repository *repo, const char *sha,
                         git_commit **out) {
    git_oid oid;
    if (strlen(sha) != GIT_OID_HEXSZ || strspn(sha, "0123456789abcdefABCDEF") != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha) < 0)
        return -1;
    if (git_commit_lookup(out, repo, &oid) < 0) {
        git_error_clear();
        return 1;
    }
    return 0;
}

static int folder_exists(git_tree *tree, const char *folder) {
    git_tree_entry *e;
    int is_tree;
    if (git_tree_entry_bypath(&e, tree, folder) < 0) {
        git_error_clear();
        return 0;
    }
    is_tree = git_tree_entry_type(e) == GIT_OBJECT_TREE;
    git_tree_entry_free(e);
    return is_tree;
}

/* Every path that differs between the trees (old may be NULL: empty tree),
 * both sides of renames included. */
static int diff_paths(git_repository *repo, git_tree *old, git_tree *new,
                      change_set *out, errinfo *err) {
    git_diff *diff = NULL;
    git_diff_find_options fo; /* the _INIT macro trips -Wextra */
    size_t i, n;
    int rc = -1;

    git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
    fo.flags = GIT_DIFF_FIND_RENAMES;
    if (git_diff_tree_to_tree(&diff, repo, old, new, NULL) < 0 ||
        git_diff_find_similar(diff, &fo) < 0) {
        errinfo_set(err, ERR_IO, "diffing trees: %s", git_msg());
        goto done;
    }
    n = git_diff_num_deltas(diff);
    for (i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        const char *o = d->old_file.path, *nw = d->new_file.path;
        if ((o && strv_push(&out->paths, &out->n_paths, o) < 0) ||
            (nw && (!o || strcmp(o, nw)) &&
             strv_push(&out->paths, &out->n_paths, nw) < 0)) {
            errinfo_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    strv_sort_unique(out->paths, &out->n_paths);
    rc = 0;
done:
    git_diff_free(diff);
    return rc;
}

/* `deleted`: the touched environments that have no folder at `after` but
 * had one at `before` (when before is unknown, NULL: we cannot tell, and a
 * missing folder is taken as deleted; destroying still needs the opt-in).
 * An environment that never had a folder is not "deleted": destroying it on
 * a modules/ change would surprise everyone. */
static int find_deleted(git_tree *before, git_tree *after,
                        const changes_layout *cfg, change_set *out) {
    size_t i;
    for (i = 0; i < out->n_envs; i++) {
        const changes_env *e = layout_env(cfg, out->envs[i]);
        if (e && !folder_exists(after, e->folder) &&
            (!before || folder_exists(before, e->folder)) &&
            strv_push(&out->deleted, &out->n_deleted, e->name) < 0)
            return -1;
    }
    return 0;
}

/* New branch: the environments present at `after`; paths are its files. */
static int new_branch(git_repository *repo, const changes_layout *cfg,
                      git_tree *after, change_set *out, errinfo *err) {
    size_t i;
    out->reason = "new branch";
    if (diff_paths(repo, NULL, after, out, err) < 0)
        return -1;
    for (i = 0; i < cfg->n_envs; i++)
        if (folder_exists(after, cfg->envs[i].folder) &&
            strv_push(&out->envs, &out->n_envs, cfg->envs[i].name) < 0)
            return errinfo_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* before is gone (rewritten away, or never fetched): nothing to diff
 * against, so everything is touched and the planner sorts it out. */
static int before_unknown(const changes_layout *cfg, git_tree *after,
                          change_set *out, errinfo *err) {
    size_t i;
    out->reason = "before unknown";
    for (i = 0; i < cfg->n_envs; i++)
        if (strv_push(&out->envs, &out->n_envs, cfg->envs[i].name) < 0)
            return errinfo_set(err, ERR_INTERNAL, "out of memory");
    if (find_deleted(NULL, after, cfg, out) < 0)
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Both commits known: diff their trees. Not an ancestor means a force push;
 * diffing the trees directly (not the commits in between) is what makes
 * "what changes" equal "what differs from what was deployed". */
static int diff_commits(git_repository *repo, const changes_layout *cfg,
                        git_commit *before, git_commit *after,
                        git_tree *after_tree, change_set *out, errinfo *err) {
    git_tree *bt = NULL;
    const git_oid *b = git_commit_id(before), *a = git_commit_id(after);
    int rc;

    out->reason = "diff";
    if (!git_oid_equal(a, b) && git_graph_descendant_of(repo, a, b) != 1)
        out->reason = "force push";
    if (git_commit_tree(&bt, before) < 0)
        return errinfo_set(err, ERR_IO, "reading the tree of before: %s",
                           git_msg());
    rc = diff_paths(repo, bt, after_tree, out, err);
    if (rc == 0 && (envs_from_paths(cfg, out) < 0 ||
                    find_deleted(bt, after_tree, cfg, out) < 0))
        rc = errinfo_set(err, ERR_INTERNAL, "out of memory");
    git_tree_free(bt);
    return rc;
}

int changes_between(cfgrepo *r, const changes_layout *cfg, const char *before,
                    const char *after, change_set *out, errinfo *err) {
    git_repository *repo = cfgrepo_git(r);
    git_commit *ac = NULL, *bc = NULL;
    git_tree *at = NULL;
    int rc, brc = 1;

    memset(out, 0, sizeof *out);
    rc = after ? lookup_commit(repo, after, &ac) : -1;
    if (rc < 0)
        return errinfo_set(err, ERR_INVALID,
                           "after \"%.64s\" is not a commit "
                           "sha (40 hex digits)",
                           after ? after : "(null)");
    if (rc > 0)
        return errinfo_set(err, ERR_NOT_FOUND,
                           "commit %s is not in the "
                           "mirror; fetch it first",
                           after);
    if (!is_new_branch(before) && (brc = lookup_commit(repo, before, &bc)) < 0)
        rc = errinfo_set(err, ERR_INVALID,
                         "before \"%.64s\" is not a commit "
                         "sha (40 hex digits)",
                         before);
    else if (git_commit_tree(&at, ac) < 0)
        rc = errinfo_set(err, ERR_IO, "reading the tree of %s: %s", after,
                         git_msg());
    else if (is_new_branch(before))
        rc = new_branch(repo, cfg, at, out, err);
    else if (brc == 1)
        rc = before_unknown(cfg, at, out, err);
    else
        rc = diff_commits(repo, cfg, bc, ac, at, out, err);
    git_tree_free(at);
    git_commit_free(bc);
    git_commit_free(ac);
    if (rc < 0)
        change_set_free(out);
    return rc;
}
