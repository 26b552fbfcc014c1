/* localclone: see localclone.h. */
#include "git/localclone.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

/* In the mirror from the first link until its check (localclone_pending). */
#define PENDING "deploybot-linked-unchecked"

/* The local path url names, or NULL: a path, or file:// with no host
 * (file:///srv/x) or localhost. Percent-escapes are left to the fetch. */
static const char *local_path(const char *url) {
    if (strncmp(url, "file://", 7) == 0) {
        url += 7;
        if (strncmp(url, "localhost/", 10) == 0)
            url += 9;
        return *url == '/' && !strchr(url, '%') ? url : NULL;
    }
    return strstr(url, "://") || strchr(url, '@') ? NULL : url;
}

/* out = dir/name; -1 (with err) when it does not fit. */
static int join(char out[PATH_MAX], const char *dir, const char *name, errinfo *err) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    return n < 0 || n >= PATH_MAX ? errinfo_set(err, ERR_INVALID, "%s/%s: path too long", dir, name) : 0;
}

/* Links or copies the regular files of one directory of objects/ (a fan-out
 * directory, or pack/), creating it in dst; `last` names the suffix copied
 * after every other file (".idx": git finds a pack by its index). */
static int copy_dir(const char *src, const char *dst, const char *last, errinfo *err) {
    char from[PATH_MAX], to[PATH_MAX];
    DIR *d = opendir(src);
    struct dirent *e;
    int rc = 0;

    if (!d)
        return errno == ENOENT ? 0 : errinfo_set(err, ERR_IO, "cannot read %s: %s", src, strerror(errno));
    if (mkdir(dst, 0755) < 0 && errno != EEXIST)
        rc = errinfo_set(err, ERR_IO, "cannot create %s: %s", dst, strerror(errno));
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        rewinddir(d);
        while (rc == 0 && (e = readdir(d))) {
            size_t n = strlen(e->d_name), l = last ? strlen(last) : 0;
            int is_last = last && n > l && strcmp(e->d_name + n - l, last) == 0;
            if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-") || is_last != pass)
                continue;
            rc = join(from, src, e->d_name, err) < 0 || join(to, dst, e->d_name, err) < 0
                     ? -1
                     : fs_link_or_copy(from, to, err);
        }
    }
    closedir(d);
    return rc;
}

/* objects/pack, then the loose objects' fan-out directories 00..ff. */
static int copy_objects(const char *src, const char *dst, errinfo *err) {
    char from[PATH_MAX], to[PATH_MAX], fan[4];

    if (join(from, src, "pack", err) < 0 || join(to, dst, "pack", err) < 0 || copy_dir(from, to, ".idx", err) < 0)
        return -1;
    for (int i = 0; i < 256; i++) {
        snprintf(fan, sizeof(fan), "%02x", i);
        if (join(from, src, fan, err) < 0 || join(to, dst, fan, err) < 0 || copy_dir(from, to, NULL, err) < 0)
            return -1;
    }
    return 0;
}

/* The tips of every ref of src, one hex id a line, written to `mark`
 * (whole or not at all): what the links made afterwards hold completely. */
static int tips_write(git_repository *src, const char *mark, errinfo *err) {
    git_reference_iterator *it = NULL;
    git_reference *ref;
    char tmp[PATH_MAX + 8], hex[GIT_OID_HEXSZ + 1];
    FILE *f = NULL;
    int rc = snprintf(tmp, sizeof(tmp), "%s.tmp", mark) < (int)sizeof(tmp) && (f = fopen(tmp, "we")) &&
                     git_reference_iterator_new(&it, src) == 0
                 ? 0
                 : -1;

    while (rc == 0 && git_reference_next(&ref, it) == 0) {
        git_object *o;
        if (git_reference_peel(&o, ref, GIT_OBJECT_COMMIT) == 0) {
            fprintf(f, "%s\n", git_oid_tostr(hex, sizeof(hex), git_object_id(o)));
            git_object_free(o);
        }
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = -1;
    if (f && fclose(f) != 0) rc = -1;
    if (rc == 0 && rename(tmp, mark) == 0) return 0;
    unlink(tmp);
    return errinfo_set(err, ERR_IO, "cannot write %s: %s", mark, strerror(errno));
}

/* A source that borrows objects (objects/info/alternates) cannot lend all
 * of them by links: it is fetched the usual way. */
static int borrows(const char *objects) {
    char alt[PATH_MAX];
    return join(alt, objects, "info/alternates", NULL) < 0 || access(alt, F_OK) == 0;
}

int localclone_objects(const char *url, const char *gitdir, errinfo *err) {
    const char *path = local_path(url);
    git_repository *src = NULL;
    char from[PATH_MAX], to[PATH_MAX], mark[PATH_MAX];
    int rc;

    if (!path || git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
        return 0;
    rc = join(from, git_repository_commondir(src), "objects", err) < 0 || join(to, gitdir, "objects", err) < 0 ||
                 join(mark, gitdir, PENDING, err) < 0
             ? -1
             : 0;
    int lend = rc == 0 && !borrows(from);
    if (lend) rc = tips_write(src, mark, err);
    git_repository_free(src);
    if (rc < 0 || !lend)
        return rc;
    if (copy_objects(from, to, err) < 0)
        return errinfo_prefix(err, "copying the objects of %s", path);
    return 1;
}

int localclone_pending(const char *gitdir) {
    char mark[PATH_MAX];
    return join(mark, gitdir, PENDING, NULL) == 0 && access(mark, F_OK) == 0;
}

void localclone_checked(const char *gitdir) {
    char mark[PATH_MAX];
    if (join(mark, gitdir, PENDING, NULL) == 0) unlink(mark);
}

/* The trees already walked, by object id: open addressing on the id's
 * first bytes (object ids are uniformly distributed). */
typedef struct {
    git_oid *slot;
    size_t cap, n;
} oidset;

/* 1 when id was already in the set, 0 when added, -1 out of memory. */
static int oidset_add(oidset *s, const git_oid *id) {
    if (2 * (s->n + 1) > s->cap) {
        oidset grown = {calloc(s->cap ? 2 * s->cap : 1024, sizeof(git_oid)), s->cap ? 2 * s->cap : 1024, 0};
        if (!grown.slot) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (!git_oid_is_zero(&s->slot[i])) oidset_add(&grown, &s->slot[i]);
        free(s->slot);
        *s = grown;
    }
    size_t i;
    memcpy(&i, id->id, sizeof(i));
    for (i %= s->cap; !git_oid_is_zero(&s->slot[i]); i = (i + 1) % s->cap)
        if (git_oid_equal(&s->slot[i], id)) return 1;
    s->slot[i] = *id;
    s->n++;
    return 0;
}

static int missing(const git_oid *id, const char *what, errinfo *err) {
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), id);
    errinfo_set(err, ERR_NOT_FOUND, "%s %s is missing", what, hex);
    return 0;
}

/* 1 when the tree and everything under it is present, 0 torn, -1 error. */
static int tree_complete(git_repository *repo, git_odb *odb, const git_oid *id, oidset *seen, errinfo *err) {
    git_tree *t;
    int rc = oidset_add(seen, id);

    if (rc != 0) return rc < 0 ? errinfo_set(err, ERR_INTERNAL, "out of memory") : 1;
    if (git_tree_lookup(&t, repo, id) < 0) return missing(id, "tree", err);
    rc = 1;
    for (size_t i = 0; rc == 1 && i < git_tree_entrycount(t); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
            rc = tree_complete(repo, odb, git_tree_entry_id(e), seen, err);
        else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && !git_odb_exists(odb, git_tree_entry_id(e)))
            rc = missing(git_tree_entry_id(e), "blob", err);
    }
    git_tree_free(t);
    return rc;
}

/* Hides from walk the tips recorded before the links: their history was
 * whole in the source then, so it is whole in the mirror. */
static int hide_recorded(git_revwalk *walk, const char *gitdir) {
    char mark[PATH_MAX], line[GIT_OID_HEXSZ + 2];
    FILE *f = join(mark, gitdir, PENDING, NULL) == 0 ? fopen(mark, "re") : NULL;
    git_oid id;

    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) == 0) git_revwalk_hide(walk, &id);
    fclose(f);
    return 0;
}

int localclone_complete(git_repository *repo, const char *gitdir, errinfo *err) {
    git_revwalk *walk = NULL;
    git_odb *odb = NULL;
    oidset seen = {0};
    git_oid id;
    int rc = 1, next = GIT_ITEROVER;

    if (git_repository_odb(&odb, repo) < 0 || git_revwalk_new(&walk, repo) < 0 ||
        git_revwalk_push_glob(walk, "refs/*") < 0) {
        const git_error *e = git_error_last();
        rc = errinfo_set(err, ERR_IO, "checking the mirror's objects: %s", e ? e->message : "libgit2 error");
    } else if (hide_recorded(walk, gitdir) < 0) {
        rc = errinfo_set(err, ERR_IO, "checking the mirror's objects: %s/%s: %s", gitdir, PENDING, strerror(errno));
    }
    while (rc == 1 && (next = git_revwalk_next(&id, walk)) == 0) {
        git_commit *c;
        if (git_commit_lookup(&c, repo, &id) < 0) {
            rc = missing(&id, "commit", err);
            break;
        }
        rc = tree_complete(repo, odb, git_commit_tree_id(c), &seen, err);
        git_commit_free(c);
    }
    if (rc == 1 && next != GIT_ITEROVER) { /* a parent the walk could not read */
        const git_error *e = git_error_last();
        errinfo_set(err, ERR_NOT_FOUND, "the history is incomplete: %s", e ? e->message : "a commit is missing");
        rc = 0;
    }
    free(seen.slot);
    git_revwalk_free(walk);
    git_odb_free(odb);
    return rc;
}
