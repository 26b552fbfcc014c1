/* sdnotify: see sdnotify.h.
 *
 * The watchdog pings from a thread of its own, so a long apply or a slow git
 * fetch never delays a ping. It therefore tells systemd that the process is
 * alive and scheduled (one that was frozen, or whose threads cannot run, is
 * restarted), not that every thread makes progress.
 */
#include "bot/sdnotify.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* NOTIFY_SOCKET as a sockaddr; an abstract name ("@x") starts with a NUL
 * byte and its length is the address length, not a terminator. */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len, errinfo *err) {
    size_t n = strlen(name);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if ((name[0] != '/' && name[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
        return errinfo_set(err, ERR_INVALID, "NOTIFY_SOCKET: not an absolute path or @abstract name of at most %zu bytes",
                           sizeof(sa->sun_path) - 1);
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@') sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    return 0;
}

int sdnotify_send(const char *state, errinfo *err) {
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t len = 0;
    if (!name || !*name) return 0;
    if (notify_address(name, &sa, &len, err) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errinfo_set(err, ERR_IO, "NOTIFY_SOCKET %s: socket: %s", name, strerror(errno));
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int saved = errno;
    close(fd);
    if (sent < 0) return errinfo_set(err, ERR_IO, "NOTIFY_SOCKET %s: %s", name, strerror(saved));
    return 0;
}

/* A decimal without sign or junk, or -1. */
static long long parse_decimal(const char *s) {
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end ? -1 : v;
}

long long sdnotify_watchdog_usec(void) {
    long long usec = parse_decimal(getenv("WATCHDOG_USEC"));
    const char *pid = getenv("WATCHDOG_PID");
    /* systemd sets WATCHDOG_PID for the main process; a child that
     * inherited the environment must not ping on its behalf. */
    if (pid && *pid && parse_decimal(pid) != (long long)getpid()) return 0;
    return usec > 0 ? usec : 0;
}

struct sdnotify_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    long long period_usec;
};

static void deadline_after(struct timespec *ts, long long usec) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += usec / 1000000;
    ts->tv_nsec += (usec % 1000000) * 1000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void *watchdog_main(void *arg) {
    sdnotify_watchdog *w = arg;
    struct timespec next;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        pthread_mutex_unlock(&w->mu);
        sdnotify_send("WATCHDOG=1", NULL); /* a lost ping: the next one may arrive */
        deadline_after(&next, w->period_usec);
        pthread_mutex_lock(&w->mu);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &next) != ETIMEDOUT) {}
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

sdnotify_watchdog *sdnotify_watchdog_start(errinfo *err) {
    long long usec = sdnotify_watchdog_usec();
    pthread_condattr_t attr;
    errinfo_clear(err);
    if (usec == 0) return NULL;
    sdnotify_watchdog *w = calloc(1, sizeof(*w));
    if (!w) abort();
    w->period_usec = usec / 2 > 0 ? usec / 2 : 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* a clock step must not stall the pings */
    pthread_cond_init(&w->cv, &attr);
    pthread_condattr_destroy(&attr);
    int rc = pthread_create(&w->thread, NULL, watchdog_main, w);
    if (rc == 0) return w;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    errinfo_set(err, ERR_INTERNAL, "cannot start the watchdog thread: %s", strerror(rc));
    return NULL;
}

void sdnotify_watchdog_stop(sdnotify_watchdog *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
