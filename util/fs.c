#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *dir, mode_t mode, errinfo *err)
{
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

int fs_mkdir_parent(const char *path, mode_t mode, errinfo *err)
{
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
