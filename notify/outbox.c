/* outbox: see outbox.h. */
#include "notify/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

store *outbox_open(const char *db_path, errinfo *err) {
    store *db = store_open(db_path, 0, err);

    if (!db)
        errinfo_prefix(err, "outbox");
    return db;
}

long long outbox_backoff_ms(const outbox_policy *p, int attempts, unsigned *seed) {
    long long base = p && p->base_ms > 0 ? p->base_ms : 1000;
    long long cap = p && p->cap_ms > 0 ? p->cap_ms : 10LL * 60 * 1000;
    long long d = base;
    for (int i = 1; i < attempts && d < cap; i++) d *= 2;
    if (d > cap) d = cap;
    return d / 2 + (long long)(rand_r(seed) % (unsigned long long)(d / 2 + 1));
}

/* A retry at the time asked for, or after the backoff. The jitter's seed
 * differs by message and moment, so messages failing together spread out. */
static long long retry_at(const outbox_msg *m, const outbox_outcome *oc, long long now_ms,
                          const outbox_policy *p) {
    unsigned seed = (unsigned)m->id * 2654435761u ^ (unsigned)now_ms;

    return oc->retry_at_ms > 0 ? oc->retry_at_ms
                               : now_ms + outbox_backoff_ms(p, m->attempts, &seed);
}

int outbox_finish(store *db, const outbox_msg *m, const outbox_outcome *oc, long long now_ms,
                  const outbox_policy *p, errinfo *err) {
    long long max_age = p && p->max_age_ms > 0 ? p->max_age_ms : 3LL * 24 * 3600 * 1000;
    char why[700];

    if (oc->hold_until_ms > now_ms && store_outbox_hold(db, m->channel, oc->hold_until_ms, err) < 0)
        return -1;
    if (oc->result == OUTBOX_SENT)
        return store_outbox_sent(db, m->id, now_ms, err);
    if (oc->result == OUTBOX_RETRY && now_ms - m->created_ms <= max_age)
        return store_outbox_retry(db, m->id, retry_at(m, oc, now_ms, p), oc->error, err);
    if (oc->result == OUTBOX_RETRY)
        snprintf(why, sizeof(why), "gave up after %d attempts: %s", m->attempts, oc->error);
    else
        snprintf(why, sizeof(why), "%s", oc->error);
    return store_outbox_fail(db, m->id, why, err);
}

int outbox_send_due(store *db, long long now_ms, const outbox_policy *p, int max,
                    outbox_deliver_fn fn, void *arg, errinfo *err) {
    int done = 0;
    while (done < max) {
        outbox_msg m;
        int got = store_outbox_claim(db, now_ms, p ? p->claimer : NULL, &m, err);
        if (got < 0) return -1;
        if (got == 0) break;
        outbox_outcome oc;
        memset(&oc, 0, sizeof(oc));
        oc.result = OUTBOX_RETRY;
        fn(arg, db, &m, now_ms, &oc);
        int rc = outbox_finish(db, &m, &oc, now_ms, p, err);
        outbox_msg_free(&m);
        if (rc < 0) return -1;
        done++;
    }
    return done;
}
