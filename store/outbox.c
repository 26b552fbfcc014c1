/* outbox: see outbox.h.
 *
 * Durability is the store's: synchronous=FULL, so an enqueued message
 * survives a power cut. The claim is one UPDATE ... RETURNING, so it is
 * atomic across connections. */
#include "store/outbox.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

static const char ENQUEUE[] =
    "INSERT INTO outbox(kind, target, channel, ordering_key, payload, created_at, "
    "next_attempt_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id";
#define CLAIM_OF(lock) \
    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_by = ?2, " \
    "claim_expires_ms = now_ms() + ?3 " \
    "WHERE id = (SELECT o.id FROM outbox o " \
    "  WHERE o.state = 'pending' AND o.next_attempt_at <= ?1" \
    "    AND NOT EXISTS (SELECT 1 FROM outbox p WHERE o.ordering_key IS NOT NULL" \
    "      AND p.ordering_key = o.ordering_key AND p.id < o.id" \
    "      AND p.state IN ('pending', 'sending'))" \
    "    AND NOT EXISTS (SELECT 1 FROM outbox_holds h WHERE h.channel = o.channel" \
    "      AND h.until_ms > ?1)" \
    "  ORDER BY o.id LIMIT 1" lock \
    ") AND state = 'pending' " \
    "RETURNING id, kind, target, channel, ordering_key, payload, attempts, created_at"
static const char CLAIM[] = CLAIM_OF("");
/* As store/jobs.c's claim: PostgreSQL locks the row its subquery picks. */
static const char CLAIM_PG[] = CLAIM_OF(" FOR UPDATE OF o SKIP LOCKED");
static const char SENT[] =
    "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1";
static const char RETRY[] =
    "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1";
static const char FAILED[] = "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1";
static const char HOLD[] =
    "INSERT INTO outbox_holds(channel, until_ms) VALUES(?1, ?2) "
    "ON CONFLICT(channel) DO UPDATE SET until_ms = greatest(outbox_holds.until_ms, excluded.until_ms)";
/* Like the claim: a message waiting behind an older one of its key is not
 * counted (the older one's time is). */
static const char NEXT_DUE[] =
    "SELECT min(greatest(o.next_attempt_at, coalesce((SELECT h.until_ms FROM outbox_holds h"
    "  WHERE h.channel = o.channel), 0))) FROM outbox o WHERE o.state = 'pending'"
    "  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE o.ordering_key IS NOT NULL"
    "    AND p.ordering_key = o.ordering_key AND p.id < o.id"
    "    AND p.state IN ('pending', 'sending'))";
static const char COUNT_STATE[] = "SELECT count(*) FROM outbox WHERE state = ?1";
static const char COUNT_ALL[] = "SELECT count(*) FROM outbox";
static const char INFO[] = "SELECT state, attempts, next_attempt_at FROM outbox WHERE id = ?1";
static const char PRUNE[] = "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?1";
static const char NEWER[] =
    "SELECT count(*) FROM outbox WHERE ordering_key = ?1 AND id > ?2 AND state = 'pending'";
static const char COMMENT_GET[] = "SELECT comment_id FROM outbox_comments WHERE key = ?1";
static const char COMMENT_PUT[] =
    "INSERT INTO outbox_comments(key, comment_id, updated_at) VALUES(?1, ?2, now_s()) ON CONFLICT(key) DO UPDATE SET comment_id = excluded.comment_id, "
    "updated_at = excluded.updated_at";
static const char COMMENT_FORGET[] = "DELETE FROM outbox_comments WHERE key = ?1";

int store_outbox_enqueue(store *s, const outbox_new_msg *m, long long now_ms, long long *id,
                         errinfo *err) {
    if (!m->kind || !m->target || !m->channel || !m->payload)
        return errinfo_set(err, ERR_INVALID,
                           "a message needs a kind, a target, a channel "
                           "and a payload");
    long long added = sql_number(s, sql_query(s, err, ENQUEUE, "sssssL", m->kind, m->target, m->channel, m->ordering_key, m->payload, now_ms), "enqueueing a message", err);

    if (added < 0)
        return -1;
    if (id)
        *id = added;
    /* In a caller's transaction the sender would look too early: it is
     * woken at that commit's next enqueue, or its next due time. */
    if (!sql_in_txn(s))
        store_outbox_wake(s);
    return 0;
}

static void read_msg(sql_stmt *st, outbox_msg *out) {
    out->id = sql_col_ll(st, 0);
    out->kind = sql_text(st, 1);
    out->target = sql_text(st, 2);
    out->channel = sql_text(st, 3);
    out->ordering_key = sql_text(st, 4);
    out->payload = sql_text(st, 5);
    out->attempts = sql_col_int(st, 6);
    out->created_ms = sql_col_ll(st, 7);
}

int store_outbox_claim(store *s, long long now_ms, const store_claimer *c, outbox_msg *out,
                       errinfo *err) {
    sql_stmt *st = sql_query(s, err, sql_pick(s, CLAIM, CLAIM_PG), "LsL", now_ms, c ? c->holder : NULL,
                             c ? c->lease_ms : STORE_DEFAULT_LEASE_MS);
    int rc = sql_step(s, st, "claiming a message", err);

    memset(out, 0, sizeof(*out));
    if (rc != 1)
        return rc;
    read_msg(st, out);
    /* Run to completion: the UPDATE is done only then. */
    if (sql_step(s, st, "claiming a message", err) < 0) {
        outbox_msg_free(out);
        return -1;
    }
    return 1;
}

/* The outcome of message id: 0, or -1 naming it. */
static int recorded(int changed, long long id, errinfo *err) {
    return changed < 0 ? errinfo_prefix(err, "message %lld", id) : 0;
}

int store_outbox_sent(store *s, long long id, long long now_ms, errinfo *err) {
    return recorded(sql_exec(s, err, "recording it sent", SENT, "LL", id, now_ms), id, err);
}

int store_outbox_retry(store *s, long long id, long long at_ms, const char *error, errinfo *err) {
    return recorded(sql_exec(s, err, "scheduling a retry", RETRY, "LLs", id, at_ms, error), id,
                    err);
}

int store_outbox_fail(store *s, long long id, const char *error, errinfo *err) {
    return recorded(sql_exec(s, err, "recording it failed", FAILED, "Ls", id, error), id, err);
}

int store_outbox_hold(store *s, const char *channel, long long until_ms, errinfo *err) {
    if (sql_exec(s, err, "pausing", HOLD, "sL", channel, until_ms) < 0)
        return errinfo_prefix(err, "channel %s", channel);
    return 0;
}

long store_outbox_newer(store *s, const outbox_msg *m, errinfo *err) {
    if (!m->ordering_key)
        return 0;
    return (long)sql_number(s, sql_query(s, err, NEWER, "sL", m->ordering_key, m->id),
                            "counting newer messages", err);
}

int store_outbox_next_due(store *s, long long *at_ms, errinfo *err) {
    sql_stmt *st = sql_query(s, err, NEXT_DUE, "");
    int rc = sql_step(s, st, "finding the next due message", err);

    *at_ms = -1;
    if (rc != 1)
        return rc;
    rc = !sql_col_null(st, 0);
    if (rc)
        *at_ms = sql_col_ll(st, 0);
    sql_done(st);
    return rc;
}

long store_outbox_count(store *s, const char *state, errinfo *err) {
    sql_stmt *st = state ? sql_query(s, err, COUNT_STATE, "s", state)
                         : sql_query(s, err, COUNT_ALL, "");

    return (long)sql_number(s, st, "counting messages", err);
}

int store_outbox_info(store *s, long long id, char state[16], int *attempts, long long *next_ms,
                      errinfo *err) {
    sql_stmt *st = sql_query(s, err, INFO, "L", id);
    int rc = sql_step(s, st, "reading a message", err);

    if (rc != 1)
        return rc;
    sql_text_into(st, 0, state, 16);
    if (attempts)
        *attempts = sql_col_int(st, 1);
    if (next_ms)
        *next_ms = sql_col_ll(st, 2);
    sql_done(st);
    return 1;
}

int store_outbox_prune(store *s, long long before_ms, errinfo *err) {
    return sql_exec(s, err, "pruning sent messages", PRUNE, "L", before_ms);
}

int store_outbox_comment_get(store *s, const char *key, long long *id, errinfo *err) {
    sql_stmt *st = sql_query(s, err, COMMENT_GET, "s", key);
    int rc = sql_step(s, st, "looking up the comment", err);

    if (rc < 0)
        return errinfo_prefix(err, "%s", key);
    if (rc == 1) {
        *id = sql_col_ll(st, 0);
        sql_done(st);
    }
    return rc;
}

int store_outbox_comment_put(store *s, const char *key, long long id, errinfo *err) {
    if (sql_exec(s, err, "recording the comment", COMMENT_PUT, "sL", key, id) < 0)
        return errinfo_prefix(err, "%s", key);
    return 0;
}

int store_outbox_comment_forget(store *s, const char *key, errinfo *err) {
    if (sql_exec(s, err, "forgetting the comment", COMMENT_FORGET, "s", key) < 0)
        return errinfo_prefix(err, "%s", key);
    return 0;
}

void outbox_msg_free(outbox_msg *m) {
    if (!m)
        return;
    free(m->kind);
    free(m->target);
    free(m->channel);
    free(m->ordering_key);
    free(m->payload);
    memset(m, 0, sizeof(*m));
}
