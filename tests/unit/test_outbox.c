/* outbox: enqueue, claim, outcomes, backoff, Retry-After and paused
 * channels, ordering per key, resume after a crash, comment ids, and the
 * wake-up of a waiting sender by an enqueue (another connection, another
 * process). */
#include "notify/outbox.h"
#include "tests/unit/check.h"
#include "tests/unit/testdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], db[256];

static store *open_box(void) {
    errinfo err;
    store *o = outbox_open(db, &err);
    if (!o) fprintf(stderr, "outbox_open: %s\n", err.msg);
    return o;
}

/* When the next message is due, -1 if none is pending. */
static long long next_due(store *o) {
    long long at;
    store_outbox_next_due(o, &at, NULL);
    return at;
}

static long long put(store *o, const char *kind, const char *channel, const char *key, const char *payload,
                     long long now) {
    outbox_new_msg m = {kind, "acme/infra", channel, key, payload};
    long long id = 0;
    CHECK(store_outbox_enqueue(o, &m, now, &id, NULL) == 0);
    return id;
}

static void finish(store *o, outbox_msg *m, outbox_result r, long long retry_at, long long hold, long long now,
                   const outbox_policy *p) {
    outbox_outcome oc = {r, retry_at, hold, "boom"};
    CHECK(outbox_finish(o, m, &oc, now, p, NULL) == 0);
    outbox_msg_free(m);
}

static void test_enqueue_claim_sent(void) {
    store *o = open_box();
    long long id = put(o, "github_status", "github", NULL, "{\"a\":1}", 1000);
    CHECK(id > 0);
    CHECK(store_outbox_count(o, "pending", NULL) == 1);
    CHECK(next_due(o) == 1000);
    outbox_msg m;
    CHECK(store_outbox_claim(o, 999, NULL, &m, NULL) == 0); /* not due yet */
    CHECK(store_outbox_claim(o, 1000, NULL, &m, NULL) == 1);
    CHECK(m.id == id && m.attempts == 1 && m.created_ms == 1000);
    CHECK_STR(m.kind, "github_status");
    CHECK_STR(m.payload, "{\"a\":1}");
    CHECK(m.ordering_key == NULL);
    CHECK(store_outbox_count(o, "sending", NULL) == 1);
    outbox_msg again;
    CHECK(store_outbox_claim(o, 5000, NULL, &again, NULL) == 0); /* claimed once */
    finish(o, &m, OUTBOX_SENT, 0, 0, 1100, NULL);
    CHECK(store_outbox_count(o, "sent", NULL) == 1);
    CHECK(next_due(o) == -1);
    CHECK(store_outbox_prune(o, 1100, NULL) == 0); /* sent at 1100: not older */
    CHECK(store_outbox_prune(o, 1101, NULL) == 1);
    CHECK(store_outbox_count(o, NULL, NULL) == 0);
    errinfo err;
    outbox_new_msg bad = {"k", NULL, "c", NULL, "{}"};
    CHECK(store_outbox_enqueue(o, &bad, 0, NULL, &err) == -1);
    store_close(o);
}

static void test_backoff(void) {
    outbox_policy p = {100, 1000, 0, NULL};
    unsigned seed = 1;
    for (int i = 0; i < 50; i++) {
        long long d1 = outbox_backoff_ms(&p, 1, &seed), d3 = outbox_backoff_ms(&p, 3, &seed);
        long long d9 = outbox_backoff_ms(&p, 9, &seed);
        CHECK(d1 >= 50 && d1 <= 100);
        CHECK(d3 >= 200 && d3 <= 400);
        CHECK(d9 >= 500 && d9 <= 1000); /* capped */
    }
    long long d = outbox_backoff_ms(NULL, 1, &seed); /* defaults: 1 s */
    CHECK(d >= 500 && d <= 1000);
    CHECK(outbox_backoff_ms(NULL, 1000, &seed) <= 600000);
}

static void test_retry_backoff_and_retry_after(void) {
    store *o = open_box();
    outbox_policy p = {100, 1000, 0, NULL};
    long long id = put(o, "slack", "chat:a", NULL, "{}", 0);
    outbox_msg m;
    CHECK(store_outbox_claim(o, 0, NULL, &m, NULL) == 1);
    finish(o, &m, OUTBOX_RETRY, 0, 0, 0, &p); /* backoff: 50..100 ms */
    char st[16];
    int attempts;
    long long next;
    CHECK(store_outbox_info(o, id, st, &attempts, &next, NULL) == 1);
    CHECK_STR(st, "pending");
    CHECK(attempts == 1 && next >= 50 && next <= 100);
    CHECK(store_outbox_claim(o, 49, NULL, &m, NULL) == 0);
    CHECK(store_outbox_claim(o, 100, NULL, &m, NULL) == 1 && m.attempts == 2);
    finish(o, &m, OUTBOX_RETRY, 5000, 0, 100, &p); /* Retry-After: exactly then */
    CHECK(store_outbox_info(o, id, st, &attempts, &next, NULL) == 1 && next == 5000);
    CHECK(next_due(o) == 5000);
    CHECK(store_outbox_claim(o, 4999, NULL, &m, NULL) == 0);
    CHECK(store_outbox_claim(o, 5000, NULL, &m, NULL) == 1 && m.attempts == 3);
    finish(o, &m, OUTBOX_FAILED, 0, 0, 5000, &p); /* never accepted: kept as failed */
    CHECK(store_outbox_info(o, id, st, &attempts, &next, NULL) == 1);
    CHECK_STR(st, "failed");
    CHECK(store_outbox_info(o, 999999, st, NULL, NULL, NULL) == 0);
    store_close(o);
}

static void test_channel_hold(void) {
    store *o = open_box();
    long long a = put(o, "github_status", "github", NULL, "{}", 0);
    long long b = put(o, "github_pr_comment", "github", NULL, "{}", 0);
    long long c = put(o, "slack", "chat:x", NULL, "{}", 0);
    outbox_msg m;
    CHECK(store_outbox_claim(o, 10, NULL, &m, NULL) == 1 && m.id == a);
    finish(o, &m, OUTBOX_RETRY, 3000, 3000, 10, NULL);                  /* 429: the whole of GitHub waits */
    CHECK(store_outbox_claim(o, 20, NULL, &m, NULL) == 1 && m.id == c); /* chat is another channel */
    finish(o, &m, OUTBOX_SENT, 0, 0, 20, NULL);
    CHECK(store_outbox_claim(o, 2999, NULL, &m, NULL) == 0); /* b waits too */
    CHECK(next_due(o) == 3000);
    CHECK(store_outbox_claim(o, 3000, NULL, &m, NULL) == 1 && m.id == a);
    finish(o, &m, OUTBOX_SENT, 0, 0, 3000, NULL);
    CHECK(store_outbox_claim(o, 3000, NULL, &m, NULL) == 1 && m.id == b);
    finish(o, &m, OUTBOX_SENT, 0, 9000, 3000, NULL); /* rate limit used up: hold after a success */
    put(o, "github_status", "github", NULL, "{}", 3000);
    CHECK(store_outbox_claim(o, 8999, NULL, &m, NULL) == 0);
    CHECK(store_outbox_claim(o, 9000, NULL, &m, NULL) == 1);
    finish(o, &m, OUTBOX_SENT, 0, 0, 9000, NULL);
    store_close(o);
}

static void test_ordering_per_key(void) {
    store *o = open_box();
    outbox_policy p = {100, 1000, 0, NULL};
    long long pending = put(o, "github_status", "github", "status:acme/infra@abc/deploybot/dev", "{\"state\":\"pending\"}", 0);
    long long other = put(o, "github_status", "github", "status:acme/infra@abc/deploybot/prd", "{}", 0);
    long long success = put(o, "github_status", "github", "status:acme/infra@abc/deploybot/dev", "{\"state\":\"success\"}", 0);
    outbox_msg m;
    CHECK(store_outbox_claim(o, 0, NULL, &m, NULL) == 1 && m.id == pending);
    CHECK_STR(m.ordering_key, "status:acme/infra@abc/deploybot/dev");
    /* While "pending" is under way, "success" of the same key must wait; prd need not. */
    outbox_msg n;
    CHECK(store_outbox_claim(o, 0, NULL, &n, NULL) == 1 && n.id == other);
    finish(o, &n, OUTBOX_SENT, 0, 0, 0, &p);
    CHECK(store_outbox_claim(o, 0, NULL, &n, NULL) == 0);
    finish(o, &m, OUTBOX_RETRY, 0, 0, 0, &p); /* "pending" failed: retried first */
    CHECK(store_outbox_claim(o, 10000, NULL, &m, NULL) == 1 && m.id == pending);
    finish(o, &m, OUTBOX_SENT, 0, 0, 10000, &p);
    CHECK(store_outbox_claim(o, 10000, NULL, &m, NULL) == 1 && m.id == success);
    finish(o, &m, OUTBOX_SENT, 0, 0, 10000, &p);
    /* A message given up on does not block the ones after it. */
    long long x = put(o, "k", "github", "key2", "{}", 20000), y = put(o, "k", "github", "key2", "{}", 20000);
    CHECK(store_outbox_claim(o, 20000, NULL, &m, NULL) == 1 && m.id == x);
    finish(o, &m, OUTBOX_FAILED, 0, 0, 20000, &p);
    CHECK(store_outbox_claim(o, 20000, NULL, &m, NULL) == 1 && m.id == y);
    finish(o, &m, OUTBOX_SENT, 0, 0, 20000, &p);
    store_close(o);
}

static void test_resume_after_crash(void) {
    store *o = open_box();
    long long id = put(o, "github_commit_comment", "github", NULL, "{\"body\":\"x\"}", 0);
    outbox_msg m;
    store_claimer dead = {"dead:1:0", 0}; /* a claim that expires at once */
    store_claimer live = {"live:1:0", 60000};
    store_taken n;
    CHECK(store_outbox_claim(o, 0, &dead, &m, NULL) == 1 && m.id == id);
    outbox_msg_free(&m);
    store_close(o); /* the process dies mid-send */

    o = open_box();
    CHECK(store_outbox_claim(o, 0, NULL, &m, NULL) == 0); /* 'sending' until taken over */
    CHECK(store_takeover(o, &n, NULL) == 0 && n.messages == 1);
    CHECK(store_outbox_claim(o, 0, &live, &m, NULL) == 1 && m.id == id && m.attempts == 2);
    CHECK(store_takeover(o, &n, NULL) == 0 && n.messages == 0); /* a live claim stays */
    CHECK_STR(m.payload, "{\"body\":\"x\"}");
    finish(o, &m, OUTBOX_SENT, 0, 0, 0, NULL);
    CHECK(store_takeover(o, &n, NULL) == 0 && n.messages == 0);
    store_close(o);
}

static void test_give_up_after_max_age(void) {
    store *o = open_box();
    outbox_policy p = {100, 1000, 60000, NULL};
    long long id = put(o, "slack", "chat:y", NULL, "{}", 0);
    outbox_msg m;
    CHECK(store_outbox_claim(o, 60000, NULL, &m, NULL) == 1);
    finish(o, &m, OUTBOX_RETRY, 0, 0, 60000, &p); /* 60 s old: still retried */
    CHECK(store_outbox_claim(o, 61000, NULL, &m, NULL) == 1);
    finish(o, &m, OUTBOX_RETRY, 0, 0, 61000, &p); /* older: given up, kept */
    char st[16];
    CHECK(store_outbox_info(o, id, st, NULL, NULL, NULL) == 1);
    CHECK_STR(st, "failed");
    store_close(o);
}

typedef struct {
    int calls;
    long long ids[8];
} fake_deliver;

/* Fails the first message once (500), then everything goes through. */
static void deliver(void *arg, store *o, const outbox_msg *m, long long now, outbox_outcome *oc) {
    fake_deliver *f = arg;
    (void)o, (void)now;
    f->ids[f->calls++ % 8] = m->id;
    if (f->calls == 1) {
        oc->result = OUTBOX_RETRY;
        snprintf(oc->error, sizeof(oc->error), "500");
    } else {
        oc->result = OUTBOX_SENT;
    }
}

static void test_send_due(void) {
    store *o = open_box();
    outbox_policy p = {100, 1000, 0, NULL};
    long long a = put(o, "s", "github", "k", "{}", 0), b = put(o, "s", "github", "k", "{}", 0);
    long long c = put(o, "s", "github", NULL, "{}", 0);
    fake_deliver f = {0};
    CHECK(outbox_send_due(o, 0, &p, 10, deliver, &f, NULL) == 2); /* a fails; b waits behind it; c goes */
    CHECK(f.ids[0] == a && f.ids[1] == c);
    CHECK(outbox_send_due(o, 10, &p, 10, deliver, &f, NULL) == 0);
    CHECK(outbox_send_due(o, 1000, &p, 1, deliver, &f, NULL) == 1);
    CHECK(f.ids[2] == a);
    CHECK(outbox_send_due(o, 1000, &p, 10, deliver, &f, NULL) == 1);
    CHECK(f.ids[3] == b);
    CHECK(store_outbox_count(o, "sent", NULL) == 3);
    CHECK(store_outbox_info(o, c, (char[16]){0}, NULL, NULL, NULL) == 1);
    store_close(o);
}

static void test_comment_ids(void) {
    store *o = open_box();
    long long id = 0;
    CHECK(store_outbox_comment_get(o, "pr-comment:acme/infra#7", &id, NULL) == 0);
    CHECK(store_outbox_comment_put(o, "pr-comment:acme/infra#7", 1000001, NULL) == 0);
    CHECK(store_outbox_comment_get(o, "pr-comment:acme/infra#7", &id, NULL) == 1 && id == 1000001);
    CHECK(store_outbox_comment_put(o, "pr-comment:acme/infra#7", 1000002, NULL) == 0);
    store_close(o);
    o = open_box(); /* survives a restart */
    CHECK(store_outbox_comment_get(o, "pr-comment:acme/infra#7", &id, NULL) == 1 && id == 1000002);
    CHECK(store_outbox_comment_forget(o, "pr-comment:acme/infra#7", NULL) == 0);
    CHECK(store_outbox_comment_get(o, "pr-comment:acme/infra#7", &id, NULL) == 0);
    store_close(o);
}

static void fresh_db(const char *name) {
    char file[64];
    snprintf(file, sizeof(file), "%s.db", name);
    testdb_fresh(dir, file, db, sizeof(db));
}

/* A waiter is woken by an enqueue of another connection or process, and by
 * store_outbox_wake; each wake-up is seen once. Timeouts are a day: a
 * missing wake-up hangs the test rather than passing it. */
static void test_wait_wake(void) {
    store *sender = open_box(), *writer = open_box();
    errinfo err;
    const long long day = 86400000;
    if (!sender || !writer) return;
    CHECK(store_outbox_wait(sender, 0, &err) == 0); /* listening now, nothing yet */
    put(writer, "github_status", "github", NULL, "{}", 1000);
    CHECK(store_outbox_wait(sender, day, &err) == 1);
    CHECK(store_outbox_wait(sender, 0, &err) == 0); /* seen once */
    put(writer, "github_status", "github", NULL, "{}", 1000);
    put(writer, "github_status", "github", NULL, "{}", 1000);
    CHECK(store_outbox_wait(sender, day, &err) == 1); /* two enqueues, one look */
    CHECK(store_outbox_wait(sender, 0, &err) == 0);
    store_outbox_wake(writer);
    CHECK(store_outbox_wait(sender, day, &err) == 1);
    pid_t pid = fork();
    if (pid == 0) { /* another process: the CLI, say */
        store *o = outbox_open(db, NULL);
        outbox_new_msg m = {"github_status", "acme/infra", "github", NULL, "{}"};
        int ok = o && store_outbox_enqueue(o, &m, 1000, NULL, NULL) == 0;
        store_close(o);
        _exit(ok ? 0 : 1);
    }
    CHECK(store_outbox_wait(sender, day, &err) == 1);
    int status = 1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(store_outbox_count(sender, "pending", NULL) == 4);
    store_close(writer);
    store_close(sender);
    /* Nobody waits: an enqueue neither blocks nor fails. */
    writer = open_box();
    if (writer) put(writer, "github_status", "github", NULL, "{}", 1000);
    store_close(writer);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/test_outbox.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    errinfo err;
    snprintf(db, sizeof(db), "%s/missing/x.db", dir);
    CHECK(outbox_open(db, &err) == NULL);
    CHECK_CONTAINS(err.msg, "outbox: ");
    fresh_db("a");
    test_enqueue_claim_sent();
    test_backoff();
    fresh_db("b");
    test_retry_backoff_and_retry_after();
    fresh_db("c");
    test_channel_hold();
    fresh_db("d");
    test_ordering_per_key();
    fresh_db("e");
    test_resume_after_crash();
    fresh_db("f");
    test_give_up_after_max_age();
    fresh_db("g");
    test_send_due();
    fresh_db("h");
    test_comment_ids();
    fresh_db("i");
    test_wait_wake();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
