/* sql: see sql.h. The backend-neutral half: the statement cache, the
 * arguments, transactions; store/sql_backend.h's functions do the rest. */
#include "store/sql_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sql_pick(store *s, const char *sqlite_text, const char *pg_text) {
    return s->be == &sql_pg_backend ? pg_text : sqlite_text;
}

static int grow_cache(store *s, errinfo *err) {
    size_t cap = s->cap_cache ? 2 * s->cap_cache : 32;
    sql_stmt **c = realloc(s->cache, cap * sizeof(*c));

    if (!c)
        return errinfo_set(err, ERR_INTERNAL, "out of memory");
    s->cache = c;
    s->cap_cache = cap;
    return 0;
}

/* The cached statement for sql; prepared on first use. */
static sql_stmt *cached(store *s, const char *sql, errinfo *err) {
    sql_stmt *st;

    for (size_t i = 0; i < s->n_cache; i++)
        if (s->cache[i]->sql == sql)
            return s->cache[i];
    if (s->n_cache == s->cap_cache && grow_cache(s, err) < 0)
        return NULL;
    if (!(st = calloc(1, sizeof(*st)))) {
        errinfo_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    *st = (sql_stmt){.s = s, .sql = sql};
    if (s->be->prepare(st, err) < 0) {
        free(st);
        /* The statement's start says which one it was. */
        errinfo_prefix(err, "preparing \"%.60s\"", sql);
        return NULL;
    }
    s->cache[s->n_cache++] = st;
    return st;
}

static int args_of(const char *types, va_list ap, sql_arg *a, errinfo *err) {
    int n = 0;

    for (; types[n]; n++) {
        if (n == SQL_MAX_ARGS)
            return errinfo_set(err, ERR_INTERNAL, "more than %d arguments", SQL_MAX_ARGS);
        a[n] = (sql_arg){.type = 'n'};
        switch (types[n]) {
        case 's':
            a[n] = (sql_arg){.type = 's', .s = va_arg(ap, const char *)};
            break;
        case 'i':
            a[n].n = va_arg(ap, int);
            break;
        case 'l':
            a[n].n = va_arg(ap, long);
            break;
        case 'L':
            a[n].n = va_arg(ap, long long);
            break;
        default:
            return errinfo_set(err, ERR_INTERNAL, "argument type '%c'", types[n]);
        }
    }
    return n;
}

static sql_stmt *vquery(store *s, errinfo *err, const char *sql, const char *types,
                        va_list ap) {
    sql_arg args[SQL_MAX_ARGS];
    int n = args_of(types, ap, args, err);
    sql_stmt *st;

    if (n < 0 || (s->be->ready && s->be->ready(s, err) < 0) || !(st = cached(s, sql, err)))
        return NULL;
    s->be->reset(st);
    if (s->be->bind(st, args, n, err) < 0) {
        errinfo_prefix(err, "binding arguments");
        s->be->reset(st);
        return NULL;
    }
    return st;
}

sql_stmt *sql_query(store *s, errinfo *err, const char *sql, const char *types, ...) {
    va_list ap;
    sql_stmt *st;

    va_start(ap, types);
    st = vquery(s, err, sql, types, ap);
    va_end(ap);
    return st;
}

int sql_step(store *s, sql_stmt *st, const char *what, errinfo *err) {
    int rc;

    if (!st)
        return -1;
    rc = s->be->step(st, what, err);
    if (rc != 1)
        sql_done(st);
    return rc;
}

void sql_done(sql_stmt *st) {
    st->s->be->reset(st);
}

long long sql_number(store *s, sql_stmt *st, const char *what, errinfo *err) {
    int rc = sql_step(s, st, what, err);
    long long v;

    if (rc <= 0)
        return rc;
    v = sql_col_ll(st, 0);
    sql_done(st);
    return v;
}

int sql_exec(store *s, errinfo *err, const char *what, const char *sql, const char *types, ...) {
    va_list ap;
    sql_stmt *st;
    int rc;

    va_start(ap, types);
    st = vquery(s, err, sql, types, ap);
    va_end(ap);
    if (!st)
        return errinfo_prefix(err, "%s", what);
    rc = sql_step(s, st, what, err);
    if (rc == 1) {
        sql_done(st);
        return errinfo_set(err, ERR_INTERNAL, "%s: the statement returned rows", what);
    }
    return rc < 0 ? -1 : s->be->changes(s);
}

static const char COMMIT[] = "COMMIT";
static const char ROLLBACK[] = "ROLLBACK";

int sql_begin(store *s, errinfo *err) {
    if (sql_exec(s, err, "beginning a transaction", s->be->begin, "") >= 0)
        return 0;
    /* PostgreSQL's begin is two statements: the first may have opened it. */
    if (sql_in_txn(s))
        sql_exec(s, NULL, "rolling back", ROLLBACK, "");
    return -1;
}

int sql_end(store *s, int rc, errinfo *err) {
    if (rc >= 0 && sql_exec(s, err, "committing", COMMIT, "") >= 0)
        return rc;
    /* A failed COMMIT may leave the transaction open: end it either way. */
    if (sql_in_txn(s))
        sql_exec(s, NULL, "rolling back", ROLLBACK, "");
    return -1;
}

long long sql_col_ll(sql_stmt *st, int i) {
    return st->s->be->col_ll(st, i);
}

int sql_col_int(sql_stmt *st, int i) {
    return (int)st->s->be->col_ll(st, i);
}

const char *sql_col_str(sql_stmt *st, int i) {
    return st->s->be->col_str(st, i);
}

int sql_col_len(sql_stmt *st, int i) {
    return st->s->be->col_len(st, i);
}

int sql_col_null(sql_stmt *st, int i) {
    return st->s->be->col_null(st, i);
}

int sql_in_txn(store *s) {
    return s->be->in_txn(s);
}

const char *sql_path(store *s) {
    return s->is_file ? s->where : "";
}

char *sql_text(sql_stmt *st, int i) {
    const char *t = sql_col_str(st, i);
    char *d;

    if (!t)
        return NULL;
    if (!(d = strdup(t)))
        abort();
    return d;
}

void sql_text_into(sql_stmt *st, int i, char *buf, size_t size) {
    const char *t = sql_col_str(st, i);

    snprintf(buf, size, "%s", t ? t : "");
}

int sql_schema_upgrade(store *s, const char *const *migrations, int v, const char *record_prefix,
                       const char *record_suffix, errinfo *err) {
    char set[160];

    if (v > SCHEMA_LATEST)
        return errinfo_set(err, ERR_INVALID,
                           "schema version %d is newer than this deploybot "
                           "understands (%d)",
                           v, SCHEMA_LATEST);
    for (; v < SCHEMA_LATEST; v++)
        if (migrations[v] && s->be->script(s, migrations[v], err) < 0)
            return errinfo_prefix(err, "upgrading the schema to version %d", v + 1);
    snprintf(set, sizeof(set), "%s%d%s", record_prefix, SCHEMA_LATEST, record_suffix);
    if (s->be->script(s, set, err) < 0)
        return errinfo_prefix(err, "recording the schema version");
    return 0;
}

/* Frees the cache (store_close). */
void sql_cache_free(store *s) {
    for (size_t i = 0; i < s->n_cache; i++) {
        s->be->finalize(s->cache[i]);
        free(s->cache[i]);
    }
    free(s->cache);
    s->cache = NULL;
    s->n_cache = s->cap_cache = 0;
}
