/* waiter: see waiter.h. */
#include "deploy/aws/waiter.h"
#include "util/clock.h"

#define WAITER_FIRST_POLL_MS 100
#define WAITER_MAX_POLL_MS 10000

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

int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err) {
    const aws_options *o = aws ? aws_client_options(aws) : NULL;
    if (o && o->wait_timeout_s) timeout_s = o->wait_timeout_s < 0 ? 0 : o->wait_timeout_s;
    long long deadline = clock_mono_ms() + (long long)timeout_s * 1000;
    for (long pause = 0;;) {
        waiter_state st = check(arg, err);
        if (st == WAITER_DONE) return 0;
        if (st == WAITER_FAILED) return -1;
        if (clock_mono_ms() >= deadline)
            return aws_errinfo_set(err, ERR_UNAVAILABLE, "WaiterTimeout", "%s: still not ready after %d s",
                                   what, timeout_s);
        pause = next_pause(o, pause, poll_ms);
        if (aws_client_pause(aws, pause, err) < 0) return -1;
    }
}
