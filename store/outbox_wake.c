/* outbox_wake: wake-ups across connections and processes, so a waiter
 * (the outbox's sender; whoever waits for new work) need not poll
 * (store/store.h: store_wake, store_wake_wait; store/outbox.h).
 *
 * On PostgreSQL it is LISTEN/NOTIFY (store/sql_pg.c). Next to a SQLite file
 * it is a FIFO per channel, "<db>-wake" for the outbox and
 * "<db>-wake-<channel>" for the others: any writer, in this process or
 * another (the CLI), writes a byte to it after its commit; the waiter keeps
 * it open for reading and writing (so it never sees an end of file) and
 * polls it. A writer opens it non-blocking: with no reader it fails at once
 * (ENXIO), and a full FIFO means a wake-up is pending already, so a writer
 * never waits. A connection waits on one channel. */
#include "store/outbox.h"
#include "store/sql_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUTBOX "outbox"

static int fifo_path(store *s, const char *channel, char *out, size_t size) {
    const char *db = sql_path(s);
    int n = strcmp(channel, OUTBOX) == 0 ? snprintf(out, size, "%s-wake", db)
                                         : snprintf(out, size, "%s-wake-%s", db, channel);

    return *db && n > 0 && (size_t)n < size;
}

void sql_fifo_wake(store *s, const char *channel) {
    char path[4096];
    int fd;

    if (!fifo_path(s, channel, path, sizeof(path)) || (fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return;
    if (write(fd, "!", 1) < 0) {
        /* EAGAIN: full, the reader has wake-ups to read already. */
    }
    close(fd);
}

/* Opens the FIFO for reading (once per connection). */
static int listen_fd(store *s, const char *channel, errinfo *err) {
    char path[4096];

    if (s->wake_fd >= 0)
        return s->wake_fd;
    if (!fifo_path(s, channel, path, sizeof(path)))
        return errinfo_set(err, ERR_INVALID, "a database without a file cannot be waited for");
    if (mkfifo(path, 0600) < 0 && errno != EEXIST)
        return errinfo_set(err, ERR_IO, "%s: cannot make the wake-up FIFO: %s", path, strerror(errno));
    if ((s->wake_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        return errinfo_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    return s->wake_fd;
}

int sql_fifo_wait(store *s, const char *channel, long long timeout_ms, errinfo *err) {
    char buf[256];
    struct pollfd p = {.events = POLLIN};
    int rc;

    if ((p.fd = listen_fd(s, channel, err)) < 0)
        return -1;
    do
        rc = poll(&p, 1, timeout_ms > 86400000 ? 86400000 : (int)timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "waiting for %s: %s", channel, strerror(errno));
    while (read(p.fd, buf, sizeof(buf)) > 0) {
        /* every wake-up so far is answered by the one look */
    }
    return rc > 0;
}

void sql_fifo_close(store *s) {
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    s->wake_fd = -1;
}

void store_outbox_wake(store *s) {
    store_wake(s, OUTBOX);
}

int store_outbox_wait(store *s, long long timeout_ms, errinfo *err) {
    return store_wake_wait(s, OUTBOX, timeout_ms, err);
}
