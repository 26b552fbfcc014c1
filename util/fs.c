#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *dir, mode_t mode, errinfo *err) {
    char path[PATH_MAX];
    char *p;
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return errinfo_set(err, ERR_INVALID, "directory name too long: %.64s...", dir);
    for (p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, mode) < 0 && errno != EEXIST)
            return errinfo_set(err, ERR_IO, "cannot create directory %s: %s", path,
                               strerror(errno));
        *p = '/';
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return errinfo_set(err, ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
    return 0;
}

int fs_mkdir_parent(const char *path, mode_t mode, errinfo *err) {
    char dir[PATH_MAX];
    char *slash;
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return errinfo_set(err, ERR_INVALID, "file name too long: %.64s...", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    return fs_mkdir_p(dir, mode, err);
}

char *fs_read_file(const char *path, size_t *len, errinfo *err) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    if (!f) {
        int why = errno;
        errinfo_set(err, why == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot read %s: %s", path,
                    strerror(why));
        errno = why;
        return NULL;
    }
    do {
        if (n + 4096 + 1 > cap && !(buf = realloc(buf, cap = cap * 2 + 8192)))
            abort();
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        int why = errno ? errno : EIO;
        errinfo_set(err, ERR_IO, "cannot read %s: %s", path, strerror(why));
        fclose(f);
        free(buf);
        errno = why;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The bytes of in into out, by the kernel where it can. */
static int copy_bytes(int in, int out) {
    char buf[65536];
    ssize_t n;

    while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
        ;
    if (n == 0)
        return 0;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
        return -1;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    return n < 0 ? -1 : 0;
}

/* src into tmp: linked, else copied and flushed. */
static int link_or_copy_to(const char *src, const char *tmp, errinfo *err) {
    int in, out, ok;

    if (link(src, tmp) == 0)
        return 0;
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
        return errinfo_set(err, ERR_IO, "cannot read %s: %s", src, strerror(errno));
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
    ok = out >= 0 && copy_bytes(in, out) == 0 && fsync(out) == 0;
    if (!ok)
        errinfo_set(err, ERR_IO, "cannot copy %s to %s: %s", src, tmp, strerror(errno));
    close(in);
    if (out >= 0 && close(out) < 0 && ok)
        ok = 0, errinfo_set(err, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    return ok ? 0 : -1;
}

int fs_link_or_copy(const char *src, const char *dst, errinfo *err) {
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dst, (long)getpid()) >= (int)sizeof(tmp))
        return errinfo_set(err, ERR_INVALID, "%s: path too long", dst);
    unlink(tmp); /* a crash's leftover */
    if (link_or_copy_to(src, tmp, err) < 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, dst) < 0) {
        errinfo_set(err, ERR_IO, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *at) {
    (void)st;
    (void)flag;
    return at->level == 0 || remove(path) == 0 ? 0 : errno;
}

int fs_empty_dir(const char *dir, errinfo *err) {
    int rc = nftw(dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
    if (rc != 0)
        return errinfo_set(err, ERR_IO, "cannot empty %s: %s", dir, strerror(rc > 0 ? rc : errno));
    return 0;
}
