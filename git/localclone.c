/* localclone: see localclone.h. */
#include "git/localclone.h"

#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fs.h"

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

int localclone_objects(const char *url, const char *gitdir, errinfo *err) {
    const char *path = local_path(url);
    git_repository *src = NULL;
    char from[PATH_MAX], to[PATH_MAX];
    int rc;

    if (!path || git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
        return 0;
    rc = join(from, git_repository_commondir(src), "objects", err);
    git_repository_free(src);
    if (rc < 0 || join(to, gitdir, "objects", err) < 0)
        return -1;
    rc = copy_objects(from, to, err);
    if (rc < 0)
        return errinfo_prefix(err, "copying the objects of %s", path);
    return 1;
}
