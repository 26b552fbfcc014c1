/* outbox: see outbox.h.
 *
 * Tables live in the bot's database next to the job queue. Durability is the
 * queue's: synchronous=FULL, so an enqueued message survives a power cut.
 * The claim is one UPDATE ... RETURNING, so it is atomic across connections. */
#include "store/outbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS outbox("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  ordering_key TEXT,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending','sending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"          /* Unix ms */
    "  next_attempt_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);"
    "CREATE INDEX IF NOT EXISTS outbox_order ON outbox(ordering_key, id);"
    /* A channel paused by a rate limit (all GitHub calls share one token). */
    "CREATE TABLE IF NOT EXISTS outbox_holds("
    "  channel TEXT PRIMARY KEY,"
    "  until_ms INTEGER NOT NULL);"
    /* The comment a key stands for, e.g. the plan comment of a pull request. */
    "CREATE TABLE IF NOT EXISTS outbox_comments("
    "  key TEXT PRIMARY KEY,"
    "  comment_id INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);";

enum {
    S_ENQUEUE, S_RECOVER, S_CLAIM, S_SENT, S_RETRY, S_FAILED, S_HOLD, S_NEXT, S_COUNT_STATE,
    S_COUNT_ALL, S_INFO, S_PRUNE, S_CGET, S_CPUT, S_CDEL, S_NEWER, S_N
};

static const char *const SQL[S_N] = {
    [S_ENQUEUE] = "INSERT INTO outbox(kind, target, channel, ordering_key, payload, created_at, next_attempt_at) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [S_RECOVER] = "UPDATE outbox SET state = 'pending' WHERE state = 'sending'",
    [S_CLAIM] = "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
                "WHERE id = (SELECT o.id FROM outbox o "
                "  WHERE o.state = 'pending' AND o.next_attempt_at <= ?1"
                "    AND NOT EXISTS (SELECT 1 FROM outbox p WHERE o.ordering_key IS NOT NULL"
                "      AND p.ordering_key = o.ordering_key AND p.id < o.id"
                "      AND p.state IN ('pending', 'sending'))"
                "    AND NOT EXISTS (SELECT 1 FROM outbox_holds h WHERE h.channel = o.channel"
                "      AND h.until_ms > ?1)"
                "  ORDER BY o.id LIMIT 1) AND state = 'pending' "
                "RETURNING id, kind, target, channel, ordering_key, payload, attempts, created_at",
    [S_SENT] = "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
    [S_RETRY] = "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
    [S_FAILED] = "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1",
    [S_HOLD] = "INSERT INTO outbox_holds(channel, until_ms) VALUES(?1, ?2) "
               "ON CONFLICT(channel) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)",
    /* Like the claim: a message waiting behind an older one of its key is
     * not counted (the older one's time is). */
    [S_NEXT] = "SELECT min(max(o.next_attempt_at, coalesce((SELECT h.until_ms FROM outbox_holds h"
               "  WHERE h.channel = o.channel), 0))) FROM outbox o WHERE o.state = 'pending'"
               "  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE o.ordering_key IS NOT NULL"
               "    AND p.ordering_key = o.ordering_key AND p.id < o.id"
               "    AND p.state IN ('pending', 'sending'))",
    [S_COUNT_STATE] = "SELECT count(*) FROM outbox WHERE state = ?1",
    [S_COUNT_ALL] = "SELECT count(*) FROM outbox",
    [S_INFO] = "SELECT state, attempts, next_attempt_at FROM outbox WHERE id = ?1",
    [S_PRUNE] = "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?1",
    [S_CGET] = "SELECT comment_id FROM outbox_comments WHERE key = ?1",
    [S_CPUT] = "INSERT INTO outbox_comments(key, comment_id, updated_at) VALUES(?1, ?2, ?3) "
               "ON CONFLICT(key) DO UPDATE SET comment_id = excluded.comment_id, updated_at = excluded.updated_at",
    [S_CDEL] = "DELETE FROM outbox_comments WHERE key = ?1",
    [S_NEWER] = "SELECT count(*) FROM outbox WHERE ordering_key = ?1 AND id > ?2 AND state = 'pending'",
};

struct outbox {
    sqlite3 *db;
    sqlite3_stmt *st[S_N];
    unsigned seed;             /* jitter */
    char errmsg[256];
};

static int dberr(outbox *o, const char *what, char *err, size_t errlen) {
    snprintf(o->errmsg, sizeof(o->errmsg), "outbox: %s: %s", what, sqlite3_errmsg(o->db));
    if (err && errlen) snprintf(err, errlen, "%s", o->errmsg);
    return -1;
}

/* Steps a statement that returns no row, then resets it. */
static int run(outbox *o, int which, const char *what) {
    sqlite3_stmt *s = o->st[which];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : dberr(o, what, NULL, 0);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

/* WAL can be refused (network filesystems); without it the worker and the
 * sender would block each other. */
static int setup(outbox *o, const char *path, char *err, size_t errlen) {
    sqlite3_stmt *s = NULL;
    char *msg = NULL;
    sqlite3_busy_timeout(o->db, 5000);
    if (sqlite3_prepare_v2(o->db, "PRAGMA journal_mode=WAL", -1, &s, NULL)) return dberr(o, path, err, errlen);
    int wal = sqlite3_step(s) == SQLITE_ROW &&
              sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal) {
        snprintf(err, errlen, "outbox: %s: cannot switch to WAL journal mode", path);
        return -1;
    }
    if (sqlite3_exec(o->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) ||
        sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) ||
        sqlite3_exec(o->db, SCHEMA, NULL, NULL, &msg) || sqlite3_exec(o->db, "COMMIT", NULL, NULL, &msg)) {
        snprintf(err, errlen, "outbox: %s: creating schema: %s", path, msg ? msg : sqlite3_errmsg(o->db));
        sqlite3_free(msg);
        sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    for (int i = 0; i < S_N; i++)
        if (sqlite3_prepare_v3(o->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &o->st[i], NULL) != SQLITE_OK)
            return dberr(o, "preparing statements", err, errlen);
    return 0;
}

outbox *outbox_open(const char *db_path, char *err, size_t errlen) {
    outbox *o = calloc(1, sizeof(*o));
    if (!o) abort();
    o->seed = (unsigned)time(NULL) ^ (unsigned)(size_t)o;
    if (err && errlen) err[0] = '\0';
    if (sqlite3_open_v2(db_path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        setup(o, db_path, err, errlen) < 0) {
        if (o->db && err && errlen && !err[0]) dberr(o, db_path, err, errlen);
        outbox_close(o);
        return NULL;
    }
    return o;
}

void outbox_close(outbox *o) {
    if (!o) return;
    for (int i = 0; i < S_N; i++) sqlite3_finalize(o->st[i]);
    sqlite3_close(o->db);
    free(o);
}

const char *outbox_error(const outbox *o) {
    return o ? o->errmsg : "no outbox";
}

int outbox_enqueue(outbox *o, const outbox_new_msg *m, long long now_ms, long long *id,
                   char *err, size_t errlen) {
    if (!m->kind || !m->target || !m->channel || !m->payload) {
        snprintf(err, errlen, "outbox: kind, target, channel and payload are required");
        return -1;
    }
    sqlite3_stmt *s = o->st[S_ENQUEUE];
    bind_text(s, 1, m->kind);
    bind_text(s, 2, m->target);
    bind_text(s, 3, m->channel);
    bind_text(s, 4, m->ordering_key);
    bind_text(s, 5, m->payload);
    sqlite3_bind_int64(s, 6, now_ms);
    if (run(o, S_ENQUEUE, "enqueue") < 0) {
        if (err && errlen) snprintf(err, errlen, "%s", o->errmsg);
        return -1;
    }
    if (id) *id = sqlite3_last_insert_rowid(o->db);
    return 0;
}

int outbox_recover(outbox *o) {
    if (run(o, S_RECOVER, "recover") < 0) return -1;
    return sqlite3_changes(o->db);
}

static char *col_dup(sqlite3_stmt *s, int i) {
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t) return NULL;
    char *d = strdup((const char *)t);
    if (!d) abort();
    return d;
}

int outbox_claim(outbox *o, long long now_ms, outbox_msg *out) {
    sqlite3_stmt *s = o->st[S_CLAIM];
    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(s, 1, now_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(s, 0);
        out->kind = col_dup(s, 1);
        out->target = col_dup(s, 2);
        out->channel = col_dup(s, 3);
        out->ordering_key = col_dup(s, 4);
        out->payload = col_dup(s, 5);
        out->attempts = sqlite3_column_int(s, 6);
        out->created_ms = sqlite3_column_int64(s, 7);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) {
        dberr(o, "claim", NULL, 0);
        outbox_msg_free(out);
        out->id = 0;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) return -1;
    return out->id ? 1 : 0;
}

long long outbox_backoff_ms(const outbox_policy *p, int attempts, unsigned *seed) {
    long long base = p && p->base_ms > 0 ? p->base_ms : 1000;
    long long cap = p && p->cap_ms > 0 ? p->cap_ms : 10LL * 60 * 1000;
    long long d = base;
    for (int i = 1; i < attempts && d < cap; i++) d *= 2;
    if (d > cap) d = cap;
    return d / 2 + (long long)(rand_r(seed) % (unsigned long long)(d / 2 + 1));
}

int outbox_finish(outbox *o, const outbox_msg *m, const outbox_outcome *oc, long long now_ms,
                  const outbox_policy *p) {
    long long max_age = p && p->max_age_ms > 0 ? p->max_age_ms : 3LL * 24 * 3600 * 1000;
    sqlite3_stmt *s;
    if (oc->hold_until_ms > now_ms) {
        s = o->st[S_HOLD];
        bind_text(s, 1, m->channel);
        sqlite3_bind_int64(s, 2, oc->hold_until_ms);
        if (run(o, S_HOLD, "hold") < 0) return -1;
    }
    if (oc->result == OUTBOX_SENT) {
        s = o->st[S_SENT];
        sqlite3_bind_int64(s, 1, m->id);
        sqlite3_bind_int64(s, 2, now_ms);
        return run(o, S_SENT, "sent");
    }
    if (oc->result == OUTBOX_RETRY && now_ms - m->created_ms <= max_age) {
        long long at = oc->retry_at_ms > 0 ? oc->retry_at_ms : now_ms + outbox_backoff_ms(p, m->attempts, &o->seed);
        s = o->st[S_RETRY];
        sqlite3_bind_int64(s, 1, m->id);
        sqlite3_bind_int64(s, 2, at);
        bind_text(s, 3, oc->error);
        return run(o, S_RETRY, "retry");
    }
    char why[700];
    if (oc->result == OUTBOX_RETRY)
        snprintf(why, sizeof(why), "gave up after %d attempts: %s", m->attempts, oc->error);
    else
        snprintf(why, sizeof(why), "%s", oc->error);
    s = o->st[S_FAILED];
    sqlite3_bind_int64(s, 1, m->id);
    bind_text(s, 2, why);
    return run(o, S_FAILED, "failed");
}

int outbox_send_due(outbox *o, long long now_ms, const outbox_policy *p, int max,
                    outbox_deliver_fn fn, void *arg) {
    int done = 0;
    while (done < max) {
        outbox_msg m;
        int got = outbox_claim(o, now_ms, &m);
        if (got < 0) return -1;
        if (got == 0) break;
        outbox_outcome oc;
        memset(&oc, 0, sizeof(oc));
        oc.result = OUTBOX_RETRY;
        fn(arg, o, &m, now_ms, &oc);
        int rc = outbox_finish(o, &m, &oc, now_ms, p);
        outbox_msg_free(&m);
        if (rc < 0) return -1;
        done++;
    }
    return done;
}

long outbox_newer(outbox *o, const outbox_msg *m) {
    if (!m->ordering_key) return 0;
    sqlite3_stmt *s = o->st[S_NEWER];
    long n = -1;
    bind_text(s, 1, m->ordering_key);
    sqlite3_bind_int64(s, 2, m->id);
    if (sqlite3_step(s) == SQLITE_ROW) n = (long)sqlite3_column_int64(s, 0);
    else dberr(o, "newer", NULL, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return n;
}

long long outbox_next_due(outbox *o) {
    sqlite3_stmt *s = o->st[S_NEXT];
    long long at = -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) at = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return at;
}

long outbox_count(outbox *o, const char *state) {
    sqlite3_stmt *s = o->st[state ? S_COUNT_STATE : S_COUNT_ALL];
    long n = -1;
    if (state) bind_text(s, 1, state);
    if (sqlite3_step(s) == SQLITE_ROW) n = (long)sqlite3_column_int64(s, 0);
    else dberr(o, "count", NULL, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return n;
}

int outbox_info(outbox *o, long long id, char state[16], int *attempts, long long *next_ms) {
    sqlite3_stmt *s = o->st[S_INFO];
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(state, 16, "%s", (const char *)sqlite3_column_text(s, 0));
        if (attempts) *attempts = sqlite3_column_int(s, 1);
        if (next_ms) *next_ms = sqlite3_column_int64(s, 2);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = dberr(o, "info", NULL, 0);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return found;
}

int outbox_prune(outbox *o, long long before_ms) {
    sqlite3_bind_int64(o->st[S_PRUNE], 1, before_ms);
    if (run(o, S_PRUNE, "prune") < 0) return -1;
    return sqlite3_changes(o->db);
}

int outbox_comment_get(outbox *o, const char *key, long long *id) {
    sqlite3_stmt *s = o->st[S_CGET];
    bind_text(s, 1, key);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = dberr(o, "comment lookup", NULL, 0);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return found;
}

int outbox_comment_put(outbox *o, const char *key, long long id) {
    sqlite3_stmt *s = o->st[S_CPUT];
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_int64(s, 3, (long long)time(NULL));
    return run(o, S_CPUT, "comment store");
}

int outbox_comment_forget(outbox *o, const char *key) {
    bind_text(o->st[S_CDEL], 1, key);
    return run(o, S_CDEL, "comment forget");
}

void outbox_msg_free(outbox_msg *m) {
    if (!m) return;
    free(m->kind);
    free(m->target);
    free(m->channel);
    free(m->ordering_key);
    free(m->payload);
    memset(m, 0, sizeof(*m));
}
