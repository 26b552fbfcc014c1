/* presence: whether a replica is alive (store/lease.h: store_presence_*).
 *
 * A lock file per replica in "<db>-replicas/": the replica holds an
 * exclusive flock on it for its lifetime. Another replica that can take the
 * lock knows the holder is dead, without waiting for its leases to expire:
 * a restart after a crash resumes at once. Only processes that see the
 * database's directory (one host, for SQLite) can tell; for the others
 * (PostgreSQL across hosts) presence is unknown and the expiry decides.
 *
 * A missing file proves nothing (a replica that could not make its file
 * runs all the same), so a replica leaving keeps its file, unlocked: dead to
 * whoever looks. Files of dead replicas are removed at start
 * (store_presence_sweep), once their work was taken over. */
#include "store/lease.h"
#include "store/sql.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The lock file of holder; 0 when there is none to have (no file, or an id
 * that is no file name). */
static int lock_path(store *s, const char *holder, char *out, size_t size) {
    const char *db = sql_path(s);

    if (!db || !*db || !*holder || strchr(holder, '/') || holder[0] == '.')
        return 0;
    return (size_t)snprintf(out, size, "%s-replicas/%s", db, holder) < size;
}

/* Whether path still names fd's file. */
static int same_file(int fd, const char *path) {
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int store_presence_join(store *s, const char *holder, errinfo *err) {
    char path[4096], dir[4096];
    int fd;

    if (!lock_path(s, holder, path, sizeof(path)))
        return errinfo_set(err, ERR_INVALID, "replica %s: no presence file for this database", holder);
    snprintf(dir, sizeof(dir), "%s-replicas", sql_path(s));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return errinfo_set(err, ERR_IO, "%s: %s", dir, strerror(errno));
    while ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
        /* Blocking: a probe (store_presence_dead) holds it for an instant,
         * and may have removed the file meanwhile: then lock a new one. */
        if (flock(fd, LOCK_EX) < 0)
            break;
        if (same_file(fd, path))
            return fd;
        close(fd);
    }
    errinfo_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

void store_presence_leave(store *s, const char *holder, int fd) {
    (void)s;
    (void)holder;
    if (fd >= 0)
        close(fd);
}

/* Removes path when no one holds its lock. */
static int remove_if_dead(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC), dead;

    if (fd < 0)
        return 0;
    dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (dead)
        unlink(path);
    close(fd);
    return dead;
}

void store_presence_sweep(store *s) {
    char dir[4096], path[4096 + 256];
    struct dirent *e;
    DIR *d;

    if (!sql_path(s) || !*sql_path(s))
        return;
    snprintf(dir, sizeof(dir), "%s-replicas", sql_path(s));
    if (!(d = opendir(dir)))
        return;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
            remove_if_dead(path);
    closedir(d);
}

int store_presence_dead(store *s, const char *holder) {
    char path[4096];

    return lock_path(s, holder, path, sizeof(path)) && remove_if_dead(path);
}
