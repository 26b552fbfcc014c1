/* waiter: the schedule of looks (deploy/aws/waiter.h), read through the
 * client's pause hook or from waiter_poll's answers, so nothing here sleeps
 * or depends on the clock. */
#include "deploy/aws/waiter.h"
#include "tests/unit/check.h"

#include <string.h>

typedef struct {
    long pauses[64];
    int n;
} recorder;

static void record_pause(void *arg, long ms) {
    recorder *r = arg;
    if (r->n < 64) r->pauses[r->n++] = ms;
}

typedef struct {
    int looks, ready_at; /* done at this look */
} target;

static waiter_state look(void *arg, errinfo *err) {
    target *t = arg;
    (void)err;
    return ++t->looks >= t->ready_at ? WAITER_DONE : WAITER_RETRY;
}

static waiter_state fails(void *arg, errinfo *err) {
    (void)arg;
    errinfo_set(err, ERR_REMOTE, "it broke");
    return WAITER_FAILED;
}

/* The pauses before a target is ready at look `ready_at`. */
static recorder schedule(const aws_options *o, int ready_at, int poll_ms) {
    errinfo err = {0};
    aws_creds creds = {"AKIDEXAMPLE", "secret", NULL};
    aws_client *c = aws_client_new("eu-west-1", &creds, o, &err);
    recorder r = {{0}, 0};
    aws_client_set_pause(c, record_pause, &r);
    target t = {0, ready_at};
    CHECK(waiter_wait(c, "thing", look, &t, 3600, poll_ms, &err) == 0);
    CHECK(t.looks == ready_at);
    aws_client_free(c);
    return r;
}

static void test_doubling_to_ten_seconds(void) {
    recorder r = schedule(NULL, 10, 15000);
    static const long want[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000};
    CHECK(r.n == 9);
    for (int i = 0; i < r.n && i < 9; i++) CHECK(r.pauses[i] == want[i]);
}

static void test_waiters_own_interval_caps(void) {
    recorder r = schedule(NULL, 7, 1000); /* IAM's instance profile: 1 s */
    static const long want[] = {100, 200, 400, 800, 1000, 1000};
    CHECK(r.n == 6);
    for (int i = 0; i < r.n && i < 6; i++) CHECK(r.pauses[i] == want[i]);
}

static void test_scaled_schedule(void) {
    aws_options o = {.wait_first_poll_ms = 5, .wait_max_poll_ms = 500};
    recorder r = schedule(&o, 9, 15000);
    static const long want[] = {5, 10, 20, 40, 80, 160, 320, 500};
    CHECK(r.n == 8);
    for (int i = 0; i < r.n && i < 8; i++) CHECK(r.pauses[i] == want[i]);
}

static void test_fixed_interval_replaces_the_schedule(void) {
    aws_options o = {.wait_poll_ms = 20, .wait_first_poll_ms = 5};
    recorder r = schedule(&o, 4, 15000);
    CHECK(r.n == 3);
    for (int i = 0; i < r.n; i++) CHECK(r.pauses[i] == 20);
    aws_options none = {.wait_poll_ms = -1};
    r = schedule(&none, 3, 15000);
    CHECK(r.n == 0); /* looks again without pausing */
}

static void test_ready_at_once_and_failure(void) {
    recorder r = schedule(NULL, 1, 15000);
    CHECK(r.n == 0); /* the first look is at once, no pause before it */
    errinfo err = {0};
    CHECK(waiter_wait(NULL, "thing", fails, NULL, 60, 1000, &err) == -1);
    CHECK_STR(err.msg, "it broke");
}

static void test_timeout(void) {
    aws_options o = {.wait_timeout_s = -1}; /* give up after the first look */
    errinfo err = {0};
    aws_creds creds = {"AKIDEXAMPLE", "secret", NULL};
    aws_client *c = aws_client_new("eu-west-1", &creds, &o, &err);
    target t = {0, 5};
    CHECK(waiter_wait(c, "NAT gateway nat-1 available", look, &t, 600, 15000, &err) == -1);
    CHECK(t.looks == 1);
    CHECK(errinfo_is_remote(&err, "WaiterTimeout"));
    CHECK_CONTAINS(err.msg, "NAT gateway nat-1 available");
    aws_client_free(c);
}

static int stop_now(void *arg) {
    return *(int *)arg;
}

typedef struct {
    target t;
    int thens, freed;
} owned;

static int count_then(void *arg, errinfo *err) {
    (void)err;
    ((owned *)arg)->thens++;
    return 7; /* passed on as it is: a provider's next wait */
}

static waiter_state owned_look(void *arg, errinfo *err) {
    return look(&((owned *)arg)->t, err);
}

static void owned_free(void *arg) {
    ((owned *)arg)->freed++;
}

/* A scheduled wait: each poll is one look and says when to look again,
 * nothing pauses in between; then runs once the resource is there. */
static void test_polls_hand_back_the_pause(void) {
    aws_options o = {.wait_first_poll_ms = 5, .wait_max_poll_ms = 20};
    errinfo err = {0};
    aws_creds creds = {"AKIDEXAMPLE", "secret", NULL};
    aws_client *c = aws_client_new("eu-west-1", &creds, &o, &err);
    recorder r = {{0}, 0};
    aws_client_set_pause(c, record_pause, &r);
    owned st = {{0, 5}, 0, 0};
    waiter *w = waiter_new("thing", owned_look, count_then, &st, owned_free, 3600, 15000);
    static const long want[] = {5, 10, 20, 20};
    for (int i = 0; i < 4; i++) {
        long pause = -1;
        CHECK(waiter_poll(w, c, &pause, &err) == WAITER_RETRY);
        CHECK(pause == want[i]);
    }
    long pause = -1;
    CHECK(waiter_poll(w, c, &pause, &err) == WAITER_DONE);
    CHECK(st.t.looks == 5 && st.thens == 0);
    CHECK(waiter_then_run(w, &err) == 7);
    CHECK(st.thens == 1);
    CHECK(r.n == 0); /* the client never paused */
    waiter_free(w);
    CHECK(st.freed == 1);
    /* Run in one call, then's answer is the wait's. */
    st = (owned){{0, 2}, 0, 0};
    CHECK(waiter_run(waiter_new("thing", owned_look, count_then, &st, owned_free, 3600, 15000), c, &err) == 7);
    CHECK(st.thens == 1 && st.freed == 1 && r.n == 1 && r.pauses[0] == 5);
    aws_client_free(c);
}

/* The cancel hook stops a scheduled wait before its next look. */
static void test_canceled_poll(void) {
    errinfo err = {0};
    aws_creds creds = {"AKIDEXAMPLE", "secret", NULL};
    aws_client *c = aws_client_new("eu-west-1", &creds, NULL, &err);
    int stop = 0;
    aws_client_set_cancel(c, stop_now, &stop);
    target t = {0, 100};
    waiter *w = waiter_new("NAT gateway nat-1 available", look, NULL, &t, NULL, 600, 15000);
    long pause = 0;
    CHECK(waiter_poll(w, c, &pause, &err) == WAITER_RETRY);
    stop = 1;
    CHECK(waiter_poll(w, c, &pause, &err) == WAITER_FAILED);
    CHECK(err.code == ERR_CANCELED);
    CHECK(errinfo_is_remote(&err, "Canceled"));
    CHECK(t.looks == 1);
    waiter_free(w);
    aws_client_free(c);
}

int main(void) {
    test_doubling_to_ten_seconds();
    test_waiters_own_interval_caps();
    test_scaled_schedule();
    test_fixed_interval_replaces_the_schedule();
    test_ready_at_once_and_failure();
    test_timeout();
    test_polls_hand_back_the_pause();
    test_canceled_poll();
    return CHECK_DONE();
}
