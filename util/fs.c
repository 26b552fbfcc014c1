#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
