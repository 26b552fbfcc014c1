/* waiter: see waiter.h. */
#include "deploy/aws/waiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int env_int(const char *name, int dflt) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int waiter_wait(const char *what, waiter_check check, void *arg, int timeout_s, int poll_ms,
                aws_error *err) {
    timeout_s = env_int("DEPLOYBOT_WAIT_TIMEOUT_S", timeout_s);
    poll_ms = env_int("DEPLOYBOT_WAIT_POLL_MS", poll_ms);
    double deadline = now_s() + timeout_s;
    for (;;) {
        waiter_state st = check(arg, err);
        if (st == WAITER_DONE) return 0;
        if (st == WAITER_FAILED) return -1;
        if (now_s() >= deadline) {
            snprintf(err->code, sizeof(err->code), "WaiterTimeout");
            snprintf(err->message, sizeof(err->message), "%s: still not ready after %d s", what, timeout_s);
            return -1;
        }
        struct timespec ts = {poll_ms / 1000, (long)(poll_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
