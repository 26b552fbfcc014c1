/* connlimit: the cap closes the oldest idle connection first (or refuses
 * when none is idle), each state's deadline, and the in-flight body budget. */
#include "bot/connlimit.h"
#include "tests/unit/check.h"

#include <stdint.h>

static int killed[16], n_killed;

static void kill_cb(void *handle, const char *why, void *arg) {
    (void)arg;
    (void)why;
    killed[n_killed++] = (int)(intptr_t)handle;
}

static connlimit *limits(int max) {
    connlimit_settings set = {.max_connections = max, .header_timeout_s = 10, .body_min_rate = 1000, .max_inflight_body = 5000};
    n_killed = 0;
    return connlimit_new(&set, kill_cb, NULL);
}

static void test_cap_closes_oldest_idle(void) {
    connlimit *c = limits(3);
    connlimit_conn *a = connlimit_conn_open(c, (void *)1, 0);
    connlimit_conn *b = connlimit_conn_open(c, (void *)2, 100);
    connlimit_conn *d = connlimit_conn_open(c, (void *)3, 200);

    connlimit_conn_answering(c, a, 300); /* busy: never the victim */
    CHECK(connlimit_admit(c, 400) == 1);
    CHECK(n_killed == 1 && killed[0] == 2);
    connlimit_conn_close(c, b);
    connlimit_conn *e = connlimit_conn_open(c, (void *)4, 400);
    connlimit_conn_waiting(c, d, 500); /* kept alive: idle since 500 */
    CHECK(connlimit_admit(c, 600) == 1);
    CHECK(n_killed == 2 && killed[1] == 4);
    connlimit_conn_close(c, e);
    connlimit_conn_open(c, (void *)5, 600);
    connlimit_conn_answering(c, d, 700);
    connlimit_conn_close(c, NULL);
    CHECK(connlimit_count(c) == 3);
    connlimit_free(c);
}

static void test_refused_when_none_idle(void) {
    connlimit *c = limits(1);
    connlimit_conn *a = connlimit_conn_open(c, (void *)1, 0);

    connlimit_conn_answering(c, a, 0);
    CHECK(connlimit_admit(c, 1) == 0);
    CHECK(n_killed == 0);
    connlimit_conn_close(c, a);
    CHECK(connlimit_admit(c, 2) == 1);
    connlimit_free(c);
}

static void test_deadlines(void) {
    connlimit *c = limits(100);
    connlimit_conn_open(c, (void *)1, 0); /* sends no headers */
    connlimit_conn *body = connlimit_conn_open(c, (void *)2, 0);
    connlimit_conn *fast = connlimit_conn_open(c, (void *)3, 0);
    connlimit_conn *ans = connlimit_conn_open(c, (void *)4, 0);
    connlimit_conn *ws = connlimit_conn_open(c, (void *)5, 0);

    CHECK(connlimit_body_start(c, body, 1000, 0, NULL) == 0);
    CHECK(connlimit_body_start(c, fast, 4000, 0, NULL) == 0);
    connlimit_conn_answering(c, ans, 0);
    connlimit_conn_websocket(c, ws, 0);
    CHECK(connlimit_sweep(c, 9999) == 0);
    CHECK(connlimit_sweep(c, 10000) == 2); /* headers and answer: 10 s */
    CHECK(killed[0] == 1 && killed[1] == 4);
    connlimit_conn_progress(body, 100, 10500);  /* 1 byte at a time would do less */
    connlimit_conn_progress(fast, 3000, 10500); /* 1000 B/s for 3 s */
    CHECK(connlimit_sweep(c, 12000) == 1);
    CHECK(killed[2] == 2);
    CHECK(connlimit_sweep(c, 13000) == 0);
    CHECK(connlimit_sweep(c, 13001) == 1);   /* 3000 bytes at 3.001 s */
    CHECK(connlimit_sweep(c, 1000000) == 0); /* the websocket is lws' to ping */
    CHECK(connlimit_count(c) == 1);
    connlimit_free(c);
}

static void test_budget(void) {
    connlimit *c = limits(100);
    connlimit_conn *a = connlimit_conn_open(c, (void *)1, 0);
    connlimit_conn *b = connlimit_conn_open(c, (void *)2, 0);
    errinfo err;

    CHECK(connlimit_body_start(c, a, 3000, 0, &err) == 0);
    CHECK(connlimit_body_start(c, b, 2001, 0, &err) == -1);
    CHECK(err.code == ERR_LIMIT);
    CHECK_CONTAINS(err.msg, "limits.max_inflight_body_bytes");
    CHECK(connlimit_body_start(c, b, 2000, 0, &err) == 0);
    CHECK(connlimit_inflight(c) == 5000);
    connlimit_body_release(c, a);
    CHECK(connlimit_inflight(c) == 2000);
    connlimit_conn_close(c, b); /* closing releases too */
    CHECK(connlimit_inflight(c) == 0);
    connlimit_conn_close(c, a);
    connlimit_free(c);
}

static void test_fd_room(void) {
    CHECK(connlimit_max_for_fds(1024, 4096) == 896);
    CHECK(connlimit_max_for_fds(20000, 4096) == 4096);
    CHECK(connlimit_max_for_fds(64, 4096) == 0);
    CHECK(connlimit_nofile_raise(65536) > 0);
}

int main(void) {
    test_cap_closes_oldest_idle();
    test_refused_when_none_idle();
    test_deadlines();
    test_budget();
    test_fd_room();
    return CHECK_DONE();
}
