/* jobs: see jobs.h.
 *
 * Durability: the deliveries and their jobs are one transaction, committed
 * (and, with synchronous=FULL, fsynced) before store_deliveries_add returns. A claim
 * is a single UPDATE ... RETURNING, so two workers never get one job. */
#include "store/jobs.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

static const char ADD_DELIVERY[] =
    "INSERT INTO deliveries(id, event, received_at) VALUES(?1, ?2, now_s()) ON CONFLICT(id) DO NOTHING";
static const char ADD_JOB[] =
    "INSERT INTO jobs(delivery, event, payload, created_at) VALUES(?1, ?2, ?3, now_s()) RETURNING id";
/* The inner SELECT and the outer state check run in one statement, i.e. one
 * write transaction: the claim is atomic across connections. */
#define CLAIM_OF(lock) \
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = now_s(), " \
    "claimed_by = ?1, claim_expires_ms = now_ms() + ?2 " \
    "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= now_s() " \
    "ORDER BY id LIMIT 1" lock ") AND state = 'queued' RETURNING id, delivery, event, payload, attempts"
static const char CLAIM[] = CLAIM_OF("");
/* PostgreSQL's UPDATE does not lock what its subquery read: without the
 * row lock two claims would pick one job, and the loser would find none. */
static const char CLAIM_PG[] = CLAIM_OF(" FOR UPDATE SKIP LOCKED");
static const char FINISH[] =
    "UPDATE jobs SET state = ?2, summary = ?3, finished_at = now_s() WHERE id = ?1 AND state = 'running'";
static const char RETRY[] =
    "UPDATE jobs SET state = 'queued', summary = ?3, run_after = now_s() + ?2 WHERE id = ?1 AND state = 'running'";
static const char COUNT_STATE[] = "SELECT count(*) FROM jobs WHERE state = ?1";
static const char COUNT_ALL[] = "SELECT count(*) FROM jobs";

/* Inside the transaction: the delivery row, then its job (0: a duplicate). */
static long add(store *s, const char *delivery, const char *event, const char *payload,
                errinfo *err) {
    int n = sql_exec(s, err, "recording the delivery", ADD_DELIVERY, "ss", delivery, event);

    if (n <= 0)
        return n;
    return (long)sql_number(s, sql_query(s, err, ADD_JOB, "sss", delivery, event, payload), "queueing its job", err);
}

int store_delivery_add(store *s, const char *delivery, const char *event, const char *payload,
                       long *job_id, int *duplicate, errinfo *err) {
    store_delivery d = {.delivery = delivery, .event = event, .payload = payload};
    int rc = store_deliveries_add(s, &d, 1, err);

    if (job_id)
        *job_id = rc == 0 ? d.job_id : 0;
    if (duplicate)
        *duplicate = rc == 0 && d.duplicate;
    return rc;
}

static int valid(const store_delivery *d, errinfo *err) {
    if (!d->delivery || !*d->delivery || !d->event || !*d->event || !d->payload)
        return errinfo_set(err, ERR_INVALID, "a delivery needs an id, an event and a payload");
    return 0;
}

int store_deliveries_add(store *s, store_delivery *d, size_t n, errinfo *err) {
    long id = 0;
    size_t i;

    for (i = 0; i < n; i++)
        if (valid(&d[i], err) < 0)
            return -1;
    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "delivery %s", n ? d[0].delivery : "");
    for (i = 0; i < n && id >= 0; i++) {
        id = add(s, d[i].delivery, d[i].event, d[i].payload, err);
        d[i].job_id = id > 0 ? id : 0;
        d[i].duplicate = id == 0;
    }
    if (id < 0) {
        sql_end(s, -1, NULL);
        return errinfo_prefix(err, "delivery %s", d[i - 1].delivery);
    }
    if (sql_end(s, 0, err) < 0)
        return n == 1 ? errinfo_prefix(err, "delivery %s", d[0].delivery)
                      : errinfo_prefix(err, "%zu deliveries", n);
    return 0;
}

int store_job_claim(store *s, const store_claimer *c, store_job *out, errinfo *err) {
    sql_stmt *st = sql_query(s, err, sql_pick(s, CLAIM, CLAIM_PG), "sL", c ? c->holder : NULL,
                             c ? c->lease_ms : STORE_DEFAULT_LEASE_MS);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!st)
        return -1;
    rc = sql_step(s, st, "claiming a job", err);
    if (rc == 1) {
        out->id = (long)sql_col_ll(st, 0);
        out->delivery = sql_text(st, 1);
        out->event = sql_text(st, 2);
        out->payload = sql_text(st, 3);
        out->attempts = sql_col_int(st, 4);
        /* Run to completion: the UPDATE is done only then. */
        if (sql_step(s, st, "claiming a job", err) < 0) {
            store_job_free(out);
            return -1;
        }
    }
    return rc;
}

/* 0 when the UPDATE changed the job, ERR_CONFLICT when it was not running. */
static int running_job_updated(int changed, long id, const char *what, errinfo *err) {
    if (changed < 0)
        return errinfo_prefix(err, "%s job %ld", what, id);
    if (changed == 0)
        return errinfo_set(err, ERR_CONFLICT, "%s job %ld: it is not running", what, id);
    return 0;
}

int store_job_finish(store *s, long id, int ok, const char *summary, errinfo *err) {
    int n = sql_exec(s, err, "updating", FINISH, "lss", id, ok ? "done" : "failed", summary);

    return running_job_updated(n, id, "finishing", err);
}

int store_job_retry(store *s, long id, int delay_s, const char *summary, errinfo *err) {
    int n = sql_exec(s, err, "updating", RETRY, "lis", id, delay_s > 0 ? delay_s : 0, summary);

    return running_job_updated(n, id, "retrying", err);
}

static int known_state(const char *state) {
    static const char *const states[] = {"queued", "running", "done", "failed"};

    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(state, states[i]) == 0)
            return 1;
    return 0;
}

long store_jobs_count(store *s, const char *state, errinfo *err) {
    sql_stmt *st;

    if (state && !known_state(state))
        return errinfo_set(err, ERR_INVALID, "no job state \"%.32s\"", state);
    st = state ? sql_query(s, err, COUNT_STATE, "s", state) : sql_query(s, err, COUNT_ALL, "");
    return (long)sql_number(s, st, "counting jobs", err);
}

void store_job_free(store_job *j) {
    if (!j)
        return;
    free(j->delivery);
    free(j->event);
    free(j->payload);
    memset(j, 0, sizeof(*j));
}
