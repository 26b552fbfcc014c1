/* fs: filesystem helpers. */
#ifndef DEPLOYBOT_UTIL_FS_H
#define DEPLOYBOT_UTIL_FS_H

#include <stddef.h>
#include <sys/types.h>
#include "util/errinfo.h"

/* Creates dir and its missing parents with `mode` (like mkdir -p). An
 * existing directory is fine. */
int fs_mkdir_p(const char *dir, mode_t mode, errinfo *err);

/* Creates the parent directories of the file `path`. */
int fs_mkdir_parent(const char *path, mode_t mode, errinfo *err);

/* The whole file, NUL-terminated (malloc'd; *len = its length without the
 * NUL). NULL with ERR_NOT_FOUND when it does not exist, ERR_IO otherwise;
 * the message names the path, and errno tells why (for callers that name
 * the file their own way). */
char *fs_read_file(const char *path, size_t *len, errinfo *err);

/* Makes dst the same file as src, as `git clone` does a local repository's
 * objects: a hard link when both are on one filesystem and links are
 * allowed, else a copy. dst appears whole or not at all (a copy is written
 * to a temporary name, flushed, then renamed); an existing dst is replaced.
 * For files that never change once written (git's objects and packs). */
int fs_link_or_copy(const char *src, const char *dst, errinfo *err);

/* Removes everything inside dir (not dir itself), symbolic links as links. */
int fs_empty_dir(const char *dir, errinfo *err);

#endif
