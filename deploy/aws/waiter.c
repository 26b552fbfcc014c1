/* waiter: see waiter.h. */
#include "deploy/aws/waiter.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>

#define WAITER_FIRST_POLL_MS 100
#define WAITER_MAX_POLL_MS 10000

struct waiter {
    char what[300];
    waiter_check check;
    waiter_then then;
    void *arg;
    void (*arg_free)(void *);
    int timeout_s, poll_ms;
    int started;
    long long deadline;
    long pause; /* the last pause, 0 before the first */
};

waiter *waiter_new(const char *what, waiter_check check, waiter_then then, void *arg,
                   void (*arg_free)(void *), int timeout_s, int poll_ms) {
    waiter *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (waiter){.check = check, .then = then, .arg = arg, .arg_free = arg_free, .timeout_s = timeout_s, .poll_ms = poll_ms};
    snprintf(w->what, sizeof(w->what), "%s", what);
    return w;
}

void waiter_free(waiter *w) {
    if (!w) return;
    if (w->arg_free) w->arg_free(w->arg);
    free(w);
}

/* The pause after `last` (0: the first look): doubling from first_poll_ms
 * to max_poll_ms, or the waiter's own interval when shorter (IAM's 1 s).
 * A fixed wait_poll_ms replaces the schedule. */
static long next_pause(const aws_options *o, long last, int poll_ms) {
    if (o && o->wait_poll_ms) return o->wait_poll_ms < 0 ? 0 : o->wait_poll_ms;
    long first = o && o->wait_first_poll_ms > 0 ? o->wait_first_poll_ms : WAITER_FIRST_POLL_MS;
    long cap = o && o->wait_max_poll_ms > 0 ? o->wait_max_poll_ms : WAITER_MAX_POLL_MS;
    if (poll_ms > 0 && poll_ms < cap) cap = poll_ms;
    long next = last ? last * 2 : first;
    return next > cap ? cap : next;
}

waiter_state waiter_poll(waiter *w, const aws_client *aws, long *pause_ms, errinfo *err) {
    const aws_options *o = aws ? aws_client_options(aws) : NULL;
    if (!w->started) {
        int timeout_s = w->timeout_s;
        if (o && o->wait_timeout_s) timeout_s = w->timeout_s = o->wait_timeout_s < 0 ? 0 : o->wait_timeout_s;
        w->deadline = clock_mono_ms() + (long long)timeout_s * 1000;
        w->started = 1;
    }
    if (aws_client_canceled(aws, err)) return WAITER_FAILED;
    waiter_state st = w->check(w->arg, err);
    if (st != WAITER_RETRY) return st;
    if (clock_mono_ms() >= w->deadline) {
        aws_errinfo_set(err, ERR_UNAVAILABLE, "WaiterTimeout", "%s: still not ready after %d s", w->what,
                        w->timeout_s);
        return WAITER_FAILED;
    }
    *pause_ms = w->pause = next_pause(o, w->pause, w->poll_ms);
    return WAITER_RETRY;
}

int waiter_then_run(waiter *w, errinfo *err) {
    return w->then ? w->then(w->arg, err) : 0;
}

int waiter_run(waiter *w, const aws_client *aws, errinfo *err) {
    int rc = -1;
    for (;;) {
        long pause = 0;
        waiter_state st = waiter_poll(w, aws, &pause, err);
        if (st == WAITER_DONE) rc = waiter_then_run(w, err);
        if (st != WAITER_RETRY || aws_client_pause(aws, pause, err) < 0) break;
    }
    waiter_free(w);
    return rc;
}

int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err) {
    return waiter_run(waiter_new(what, check, NULL, arg, NULL, timeout_s, poll_ms), aws, err);
}
