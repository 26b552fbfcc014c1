/* waiter: see waiter.h. */
#include "deploy/aws/waiter.h"
#include "util/clock.h"

int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err) {
    const aws_options *o = aws ? aws_client_options(aws) : NULL;
    if (o && o->wait_timeout_s) timeout_s = o->wait_timeout_s < 0 ? 0 : o->wait_timeout_s;
    if (o && o->wait_poll_ms) poll_ms = o->wait_poll_ms < 0 ? 0 : o->wait_poll_ms;
    long long deadline = clock_mono_ms() + (long long)timeout_s * 1000;
    for (;;) {
        waiter_state st = check(arg, err);
        if (st == WAITER_DONE) return 0;
        if (st == WAITER_FAILED) return -1;
        if (clock_mono_ms() >= deadline)
            return aws_errinfo_set(err, ERR_UNAVAILABLE, "WaiterTimeout", "%s: still not ready after %d s",
                                   what, timeout_s);
        if (aws_client_pause(aws, poll_ms, err) < 0) return -1;
    }
}
