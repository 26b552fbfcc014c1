/* sql_pg: the PostgreSQL backend of store/sql_backend.h, through libpq.
 *
 * Statements go as text with typed parameters (PQexecParams: text for 's',
 * bigint for numbers), results come back as text; a statement's ?N become
 * $N once, when it is first used. Nothing is prepared on the server, so a
 * connection that is reset needs nothing rebuilt: a call that finds the
 * connection lost fails with ERR_UNAVAILABLE, and the next one reconnects.
 *
 * A write transaction (sql_begin) takes one transaction-wide advisory lock
 * first: writers are serialized as SQLite's BEGIN IMMEDIATE serializes
 * them, so what a transaction reads cannot change before its commit. The
 * claims of single statements lock their row instead (FOR UPDATE SKIP
 * LOCKED: store/jobs.c, store/outbox.c). */
#include "store/sql_backend.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXTOID 25
#define INT8OID 20
#define BYTEAOID 17
#define NOT_REACHABLE_WAIT_MS 1000
/* The advisory lock every write transaction takes (any number will do, as
 * long as nothing else in the database uses it). */
#define SQL_PG_WRITE_LOCK "7420180001"

typedef struct {
    PGconn *c;
    int changes;
    char listening[64]; /* the channel LISTENed to, "" none */
    unsigned long reconnects;
    int txn;              /* sql_begin's transaction is open (until COMMIT / ROLLBACK) */
    unsigned long txn_at; /* the value of reconnects when it began */
} pg_conn;

typedef struct {
    char *text; /* with $N */
    int n;
    unsigned int types[SQL_MAX_ARGS];
    const char *vals[SQL_MAX_ARGS];
    char *owned[SQL_MAX_ARGS];
    PGresult *res;
    int row;
    int dec_col; /* the bytea column decoded into dec, or -1 */
    unsigned char *dec;
    size_t dec_len;
} pg_stmt;

#define PC(s) ((pg_conn *)(s)->conn)
#define PS(st) ((pg_stmt *)(st)->impl)

/* Whether a failure is worth retrying: the connection, the server going
 * down or starting, a deadlock or serialization failure, too many clients. */
static int transient(const char *state) {
    return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
                     strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                     strncmp(state, "53", 2) == 0 || strcmp(state, "55P03") == 0);
}

/* "<what>: <the server's reason>", its last line break dropped. */
static int fail(store *s, const char *what, const PGresult *r, errinfo *err) {
    const char *msg = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(PC(s)->c);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int bad = PQstatus(PC(s)->c) == CONNECTION_BAD || transient(state);
    int len = (int)strcspn(msg, "\n");

    return errinfo_set(err, bad ? ERR_UNAVAILABLE : ERR_IO, "%s: %s%.*s", what,
                       bad ? "the database is unavailable: " : "", len, msg);
}

static int relisten(store *s, errinfo *err);

static int alive(PGconn *c) {
    /* The first read may take the goodbye message only, the second its end of file. */
    return PQconsumeInput(c) && PQconsumeInput(c) && PQstatus(c) == CONNECTION_OK;
}

/* Reconnects a connection found lost. Between statements the server's
 * goodbye (a restart's "terminating connection") is read first, so the
 * next statement goes to the new server instead of failing on the old
 * connection; in a transaction nothing is read ahead: the transaction is
 * lost with its connection, and run() says so. */
static int ready(store *s, errinfo *err) {
    pg_conn *pc = PC(s);

    if (PQstatus(pc->c) == CONNECTION_OK && (pc->txn || alive(pc->c)))
        return 0;
    pc->reconnects++;
    PQreset(pc->c);
    if (PQstatus(pc->c) != CONNECTION_OK)
        return fail(s, "reconnecting", NULL, err);
    return relisten(s, err);
}

/* ?N -> $N outside quoted strings and identifiers. */
static char *dollars(const char *sql) {
    char *out = malloc(strlen(sql) + 1), *o = out, quote = 0;

    if (!out)
        abort();
    for (const char *p = sql; *p; p++) {
        if (quote && *p == quote)
            quote = 0;
        else if (!quote && (*p == '\'' || *p == '"'))
            quote = *p;
        *o++ = !quote && *p == '?' && isdigit((unsigned char)p[1]) ? '$' : *p;
    }
    *o = '\0';
    return out;
}

static int prepare(sql_stmt *st, errinfo *err) {
    pg_stmt *p = calloc(1, sizeof(*p));

    (void)err;
    if (!p)
        abort();
    p->text = dollars(st->sql);
    p->dec_col = -1;
    st->impl = p;
    return 0;
}

static void reset(sql_stmt *st) {
    pg_stmt *p = PS(st);

    PQclear(p->res);
    p->res = NULL;
    for (int i = 0; i < p->n; i++) {
        free(p->owned[i]);
        p->owned[i] = NULL;
    }
    p->n = 0;
    free(p->dec);
    p->dec = NULL;
    p->dec_col = -1;
}

static int bind(sql_stmt *st, const sql_arg *a, int n, errinfo *err) {
    pg_stmt *p = PS(st);

    (void)err;
    for (int i = 0; i < n; i++) {
        p->types[i] = a[i].type == 's' ? TEXTOID : INT8OID;
        p->vals[i] = a[i].s;
        if (a[i].type != 's') {
            if (!(p->owned[i] = malloc(24)))
                abort();
            snprintf(p->owned[i], 24, "%lld", a[i].n);
            p->vals[i] = p->owned[i];
        }
    }
    p->n = n;
    return 0;
}

/* Runs the statement: without arguments as a script (the simple protocol
 * takes several statements, e.g. the schema's and BEGIN's). */
/* Keeps pc->txn: BEGIN opens, COMMIT and ROLLBACK close (a failed COMMIT
 * has rolled back). 1 when st must not run: its transaction's connection
 * was lost, and running it on the new one would commit half of it. */
static int txn_lost(sql_stmt *st) {
    pg_conn *pc = PC(st->s);
    int ends = strcmp(st->sql, "COMMIT") == 0 || strcmp(st->sql, "ROLLBACK") == 0;
    int lost = pc->txn && pc->txn_at != pc->reconnects && strcmp(st->sql, "ROLLBACK") != 0;

    if (st->sql == sql_pg_backend.begin) {
        pc->txn = 1;
        pc->txn_at = pc->reconnects;
    } else if (ends)
        pc->txn = 0;
    return lost;
}

static int run(sql_stmt *st, const char *what, errinfo *err) {
    pg_stmt *p = PS(st);
    PGconn *c = PC(st->s)->c;
    ExecStatusType rc;

    if (txn_lost(st))
        return errinfo_set(err, ERR_UNAVAILABLE, "%s: the database is unavailable: the connection was lost in a transaction", what);
    p->res = p->n ? PQexecParams(c, p->text, p->n, p->types, p->vals, NULL, NULL, 0) : PQexec(c, p->text);
    rc = PQresultStatus(p->res);
    if (rc != PGRES_COMMAND_OK && rc != PGRES_TUPLES_OK)
        return fail(st->s, what, p->res, err);
    /* PostgreSQL answers COMMIT of a transaction an error ended with ROLLBACK. */
    if (strcmp(st->sql, "COMMIT") == 0 && strcmp(PQcmdStatus(p->res), "ROLLBACK") == 0)
        return errinfo_set(err, ERR_IO, "%s: the transaction was rolled back after an error", what);
    PC(st->s)->changes = atoi(PQcmdTuples(p->res));
    p->row = -1;
    return 0;
}

static int step(sql_stmt *st, const char *what, errinfo *err) {
    pg_stmt *p = PS(st);

    if (!p->res && run(st, what, err) < 0)
        return -1;
    free(p->dec);
    p->dec = NULL;
    p->dec_col = -1;
    return ++p->row < PQntuples(p->res);
}

static void finalize(sql_stmt *st) {
    reset(st);
    free(PS(st)->text);
    free(PS(st));
}

static int changes(store *s) {
    return PC(s)->changes;
}

/* A bytea column is sent as "\x<hex>": decoded once per row. */
static const char *col_bytes(sql_stmt *st, int i, size_t *len) {
    pg_stmt *p = PS(st);
    const char *v = PQgetvalue(p->res, p->row, i);

    if (PQftype(p->res, i) != BYTEAOID) {
        *len = (size_t)PQgetlength(p->res, p->row, i);
        return v;
    }
    if (p->dec_col != i) {
        size_t n = 0;
        unsigned char *d = PQunescapeBytea((const unsigned char *)v, &n), *z = malloc(n + 1);
        if (!d || !z)
            abort();
        memcpy(z, d, n);
        z[n] = '\0';
        PQfreemem(d);
        free(p->dec);
        p->dec = z;
        p->dec_len = n;
        p->dec_col = i;
    }
    *len = p->dec_len;
    return (const char *)p->dec;
}

static int col_null(sql_stmt *st, int i) {
    return PQgetisnull(PS(st)->res, PS(st)->row, i);
}

static const char *col_str(sql_stmt *st, int i) {
    size_t len;

    return col_null(st, i) ? NULL : col_bytes(st, i, &len);
}

static int col_len(sql_stmt *st, int i) {
    size_t len = 0;

    if (!col_null(st, i))
        col_bytes(st, i, &len);
    return (int)len;
}

static long long col_ll(sql_stmt *st, int i) {
    return col_null(st, i) ? 0 : strtoll(PQgetvalue(PS(st)->res, PS(st)->row, i), NULL, 10);
}

static int in_txn(store *s) {
    return PC(s)->txn;
}

/* Runs a script on the connection (the schema, LISTEN, NOTIFY). */
int sql_pg_script(store *s, const char *sql, errinfo *err) {
    PGresult *r = PQexec(PC(s)->c, sql);
    ExecStatusType rc = PQresultStatus(r);
    int out = rc == PGRES_COMMAND_OK || rc == PGRES_TUPLES_OK ? 0 : fail(s, "PostgreSQL", r, err);

    PQclear(r);
    return out;
}

/* Channels are store/ constants; a name that is not a short plain word is
 * refused rather than quoted. */
static int valid_channel(const char *channel) {
    size_t n = strlen(channel);

    return n && n < 40 && strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int channel_sql(const char *verb, const char *channel, char *out, size_t size) {
    if (!valid_channel(channel))
        return -1;
    return (size_t)snprintf(out, size, "%s deploybot_%s", verb, channel) < size ? 0 : -1;
}

static void wake(store *s, const char *channel) {
    char sql[96];

    if (channel_sql("NOTIFY", channel, sql, sizeof(sql)) == 0 && PQstatus(PC(s)->c) == CONNECTION_OK)
        sql_pg_script(s, sql, NULL);
}

static int relisten(store *s, errinfo *err) {
    char sql[96];

    if (!*PC(s)->listening || channel_sql("LISTEN", PC(s)->listening, sql, sizeof(sql)) < 0)
        return 0;
    return sql_pg_script(s, sql, err);
}

static int listen_once(store *s, const char *channel, errinfo *err) {
    pg_conn *pc = PC(s);

    if (*pc->listening)
        return 0;
    if (!valid_channel(channel))
        return errinfo_set(err, ERR_INVALID, "no wake-up channel \"%.32s\"", channel);
    snprintf(pc->listening, sizeof(pc->listening), "%s", channel);
    if (relisten(s, NULL) < 0) {
        pc->listening[0] = '\0';
        return errinfo_set(err, ERR_UNAVAILABLE, "waiting for %s: the database is unavailable", channel);
    }
    return 0;
}

/* The notifications received so far: whether there was one. */
static int drain(PGconn *c) {
    PGnotify *n;
    int got = 0;

    PQconsumeInput(c);
    while ((n = PQnotifies(c))) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

/* An unreachable server is waited out like a timeout: the caller's next
 * look at the database says what is wrong. */
static int wait_unreachable(long long timeout_ms) {
    long long ms = timeout_ms < NOT_REACHABLE_WAIT_MS ? timeout_ms : NOT_REACHABLE_WAIT_MS;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    return 0;
}

static int wait_for(store *s, const char *channel, long long timeout_ms, errinfo *err) {
    struct pollfd p = {.events = POLLIN};
    int rc;

    if (ready(s, NULL) < 0)
        return wait_unreachable(timeout_ms);
    if (listen_once(s, channel, err) < 0)
        return err && err->code == ERR_UNAVAILABLE ? wait_unreachable(timeout_ms) : -1;
    if (drain(PC(s)->c))
        return 1;
    p.fd = PQsocket(PC(s)->c);
    do
        rc = poll(&p, 1, timeout_ms > 86400000 ? 86400000 : (int)timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "waiting for %s: %s", channel, strerror(errno));
    return rc > 0 && drain(PC(s)->c);
}

static void close_conn(store *s) {
    if (PC(s))
        PQfinish(PC(s)->c);
    free(PC(s));
    s->conn = NULL;
}

const sql_backend sql_pg_backend = {
    .ready = ready,
    SQL_BACKEND_OWN_HOOKS,
    .begin = "BEGIN; DO $$BEGIN PERFORM pg_advisory_xact_lock(" SQL_PG_WRITE_LOCK "); END$$",
    .migrate = schema_pg_migrate,
    .script = sql_pg_script,
    .wake = wake,
    .wait = wait_for,
    .close = close_conn,
};

static void quiet(void *arg, const char *message) {
    (void)arg;
    (void)message; /* notices ("already exists, skipping") are not errors */
}

int sql_pg_open(store *s, const char *url, errinfo *err) {
    pg_conn *pc = calloc(1, sizeof(*pc));

    if (!pc)
        abort();
    s->conn = pc;
    s->be = &sql_pg_backend;
    /* Without a connect_timeout in the URL, libpq would wait for an
     * unreachable host as long as TCP does: 10 s unless the URL says. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL}, *const vals[] = {"10", url, NULL};

    pc->c = PQconnectdbParams(keys, vals, 1);
    if (!pc->c)
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    if (PQstatus(pc->c) != CONNECTION_OK)
        return fail(s, "connecting", NULL, err);
    PQsetNoticeProcessor(pc->c, quiet, NULL);
    return 0;
}
