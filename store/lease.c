/* lease: see lease.h. */
#include "store/lease.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

static const char RENEW[] =
    "UPDATE env_leases SET expires_ms = " SQL_NOW_MS
    " + ?4 "
    "WHERE env = ?1 AND holder = ?2 AND fence = ?3 AND expires_ms > " SQL_NOW_MS;
static const char RENEW_JOBS[] =
    "UPDATE jobs SET claim_expires_ms = " SQL_NOW_MS
    " + ?2 "
    "WHERE state = 'running' AND claimed_by = ?1 AND claim_expires_ms > " SQL_NOW_MS;
static const char RENEW_MESSAGES[] =
    "UPDATE outbox SET claim_expires_ms = " SQL_NOW_MS
    " + ?2 "
    "WHERE state = 'sending' AND claimed_by = ?1 AND claim_expires_ms > " SQL_NOW_MS;
/* A run is live while the lease of its environment carries its token. Runs
 * of before the leases (no token) are requeued like a crash's. */
static const char TAKE_RUNS[] =
    "UPDATE runs SET state = 'queued' WHERE state = 'running' AND NOT EXISTS "
    "(SELECT 1 FROM env_leases l WHERE l.env = runs.env AND l.fence = runs.fence "
    "AND l.expires_ms > " SQL_NOW_MS ")";
static const char TAKE_JOBS[] =
    "UPDATE jobs SET state = 'queued' WHERE state = 'running' "
    "AND coalesce(claim_expires_ms, 0) <= " SQL_NOW_MS;
static const char TAKE_MESSAGES[] =
    "UPDATE outbox SET state = 'pending' WHERE state = 'sending' "
    "AND coalesce(claim_expires_ms, 0) <= " SQL_NOW_MS;
static const char HOLDERS[] =
    "SELECT holder FROM env_leases WHERE expires_ms > " SQL_NOW_MS
    " AND holder <> ?1 "
    "UNION SELECT claimed_by FROM jobs WHERE state = 'running' AND claimed_by <> ?1 "
    "UNION SELECT claimed_by FROM outbox WHERE state = 'sending' AND claimed_by <> ?1";
static const char FORGET_LEASES[] = "UPDATE env_leases SET expires_ms = 0 WHERE holder = ?1";
static const char FORGET_JOBS[] =
    "UPDATE jobs SET claim_expires_ms = 0 WHERE state = 'running' AND claimed_by = ?1";
static const char FORGET_MESSAGES[] =
    "UPDATE outbox SET claim_expires_ms = 0 WHERE state = 'sending' AND claimed_by = ?1";

int store_lease_renew(store *s, const char *env, const store_fence *f, long long lease_ms,
                      errinfo *err) {
    int n = sql_exec(s, err, "renewing a lease", RENEW, "ssLL", env, f->holder, f->fence, lease_ms);

    if (n < 0)
        return errinfo_prefix(err, "environment %s", env);
    return n > 0;
}

int store_claims_renew(store *s, const store_claimer *c, errinfo *err) {
    int jobs, messages = -1;

    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "renewing claims");
    jobs = sql_exec(s, err, "renewing job claims", RENEW_JOBS, "sL", c->holder, c->lease_ms);
    if (jobs >= 0)
        messages = sql_exec(s, err, "renewing message claims", RENEW_MESSAGES, "sL", c->holder,
                            c->lease_ms);
    if (sql_end(s, messages < 0 ? -1 : 0, err) < 0)
        return -1;
    return jobs + messages;
}

/* Inside the transaction. */
static int take(store *s, store_taken *n, errinfo *err) {
    if ((n->runs = sql_exec(s, err, "taking over runs", TAKE_RUNS, "")) < 0 ||
        (n->jobs = sql_exec(s, err, "taking over jobs", TAKE_JOBS, "")) < 0 ||
        (n->messages = sql_exec(s, err, "taking over messages", TAKE_MESSAGES, "")) < 0)
        return -1;
    return 0;
}

int store_takeover(store *s, store_taken *n, errinfo *err) {
    memset(n, 0, sizeof(*n));
    if (sql_begin(s, err) < 0)
        return -1;
    if (sql_end(s, take(s, n, err), err) < 0) {
        memset(n, 0, sizeof(*n));
        return -1;
    }
    return 0;
}

int store_holders(store *s, const char *self, char ***out, errinfo *err) {
    sql_stmt *st = sql_query(s, err, HOLDERS, "s", self ? self : "");
    int rc = st ? 1 : -1, n = 0;

    *out = NULL;
    while (rc == 1 && (rc = sql_step(s, st, "listing replicas", err)) == 1) {
        char **grown = realloc(*out, (size_t)(n + 1) * sizeof(char *));
        if (!grown)
            abort();
        *out = grown;
        (*out)[n++] = sql_text(st, 0);
    }
    if (rc < 0) {
        store_holders_free(*out, n);
        *out = NULL;
        return -1;
    }
    return n;
}

void store_holders_free(char **list, int n) {
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Inside the transaction. */
static int forget(store *s, const char *holder, errinfo *err) {
    if (sql_exec(s, err, "ending leases", FORGET_LEASES, "s", holder) < 0 ||
        sql_exec(s, err, "ending job claims", FORGET_JOBS, "s", holder) < 0 ||
        sql_exec(s, err, "ending message claims", FORGET_MESSAGES, "s", holder) < 0)
        return -1;
    return 0;
}

int store_holder_forget(store *s, const char *holder, errinfo *err) {
    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "replica %s", holder);
    if (sql_end(s, forget(s, holder, err), err) < 0)
        return errinfo_prefix(err, "replica %s", holder);
    return 0;
}
