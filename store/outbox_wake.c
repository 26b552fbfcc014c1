/* outbox_wake: how a sender learns a message was enqueued without polling
 * (store/outbox.h: store_outbox_wait, store_outbox_wake).
 *
 * A FIFO next to the database, "<db>-wake": any writer of the outbox, in
 * this process or another (the CLI), writes a byte to it after its commit;
 * the waiter keeps it open for reading and writing (so it never sees an
 * end of file) and polls it. A writer opens it non-blocking: with no
 * reader it fails at once (ENXIO), and a full FIFO means a wake-up is
 * pending already, so a writer never waits. */
#include "store/outbox.h"
#include "store/sql.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fifo_path(const char *db_path, char *out, size_t size) {
    return db_path && *db_path && (size_t)snprintf(out, size, "%s-wake", db_path) < size;
}

void store_outbox_wake(store *s) {
    char path[4096];
    int fd;

    if (!fifo_path(sql_path(s), path, sizeof(path)) || (fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return;
    if (write(fd, "!", 1) < 0) {
        /* EAGAIN: full, the reader has wake-ups to read already. */
    }
    close(fd);
}

/* Opens the FIFO for reading (once per connection). */
static int listen_fd(store *s, errinfo *err) {
    char path[4096];

    if (s->wake_fd >= 0)
        return s->wake_fd;
    if (!fifo_path(sql_path(s), path, sizeof(path)))
        return errinfo_set(err, ERR_INVALID, "the outbox of a database without a file cannot be waited for");
    if (mkfifo(path, 0600) < 0 && errno != EEXIST)
        return errinfo_set(err, ERR_IO, "%s: cannot make the outbox's wake-up FIFO: %s", path, strerror(errno));
    if ((s->wake_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        return errinfo_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    return s->wake_fd;
}

int store_outbox_wait(store *s, long long timeout_ms, errinfo *err) {
    char buf[256];
    struct pollfd p = {.events = POLLIN};
    int rc;

    if ((p.fd = listen_fd(s, err)) < 0)
        return -1;
    do
        rc = poll(&p, 1, timeout_ms > 86400000 ? 86400000 : (int)timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "waiting for the outbox: %s", strerror(errno));
    while (read(p.fd, buf, sizeof(buf)) > 0) {
        /* every wake-up so far is answered by the one look at the outbox */
    }
    return rc > 0;
}

void sql_wake_close(store *s) {
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    s->wake_fd = -1;
}
