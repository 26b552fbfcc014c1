/* connlimit: see connlimit.h. Each state has its own list, in the order
 * connections entered it, so the oldest idle connection is at a head and a
 * sweep of the waiting list stops at the first one still in time. */
#include "bot/connlimit.h"

#include <stdlib.h>
#include <sys/resource.h>

/* Descriptors the rest of the bot may need at once: SQLite (database, WAL,
 * journal), git packs, runners' HTTPS connections, the log. */
#define FD_RESERVE_MIN 64
#define FD_RESERVE_SHARE 8 /* and an eighth of a larger limit */

enum state { S_WAITING,
             S_BODY,
             S_ANSWERING,
             S_WEBSOCKET,
             S_CLOSING };

typedef struct {
    connlimit_conn *head, *tail;
} conn_list;

struct connlimit_conn {
    void *handle;
    enum state state;
    long long since_ms;    /* entered the state */
    long long progress_ms; /* last byte of an answer taken */
    size_t received;       /* body bytes so far */
    size_t reserved;       /* body budget held */
    conn_list *list;
    connlimit_conn *prev, *next;
};

struct connlimit {
    connlimit_settings set;
    connlimit_kill_cb kill;
    void *arg;
    conn_list waiting, busy, websocket, closing;
    int count; /* not closing */
    size_t inflight;
};

static void list_remove(connlimit_conn *k) {
    conn_list *l = k->list;

    if (!l)
        return;
    *(k->prev ? &k->prev->next : &l->head) = k->next;
    *(k->next ? &k->next->prev : &l->tail) = k->prev;
    k->prev = k->next = NULL;
    k->list = NULL;
}

static void list_append(conn_list *l, connlimit_conn *k) {
    k->prev = l->tail;
    k->next = NULL;
    *(l->tail ? &l->tail->next : &l->head) = k;
    l->tail = k;
    k->list = l;
}

static void enter(connlimit *c, connlimit_conn *k, enum state st, long long now_ms) {
    if (k->state == S_CLOSING)
        return;
    list_remove(k);
    k->state = st;
    k->since_ms = k->progress_ms = now_ms;
    list_append(st == S_WAITING ? &c->waiting : st == S_WEBSOCKET ? &c->websocket
                                                                  : &c->busy,
                k);
}

connlimit *connlimit_new(const connlimit_settings *s, connlimit_kill_cb kill, void *arg) {
    connlimit *c = calloc(1, sizeof(*c));

    if (!c)
        abort();
    c->set = *s;
    c->kill = kill;
    c->arg = arg;
    return c;
}

/* The connections themselves are the caller's: only the records go. */
static void list_free(conn_list *l) {
    while (l->head) {
        connlimit_conn *k = l->head;

        list_remove(k);
        free(k);
    }
}

void connlimit_configure(connlimit *c, const connlimit_settings *s) {
    c->set = *s;
}

void connlimit_free(connlimit *c) {
    if (!c)
        return;
    list_free(&c->waiting);
    list_free(&c->busy);
    list_free(&c->websocket);
    list_free(&c->closing);
    free(c);
}

static void kill_conn(connlimit *c, connlimit_conn *k, const char *why) {
    list_remove(k);
    list_append(&c->closing, k);
    k->state = S_CLOSING;
    c->count--;
    c->kill(k->handle, why, c->arg);
}

int connlimit_admit(connlimit *c, long long now_ms) {
    connlimit_conn *w = c->waiting.head, *ws = c->websocket.head;
    (void)now_ms;

    if (c->count < c->set.max_connections)
        return 1;
    if (!w && !ws)
        return 0;
    kill_conn(c, w && (!ws || w->since_ms <= ws->since_ms) ? w : ws,
              "the connection limit was reached and this was the oldest idle connection");
    return 1;
}

connlimit_conn *connlimit_conn_open(connlimit *c, void *handle, long long now_ms) {
    connlimit_conn *k = calloc(1, sizeof(*k));

    if (!k)
        abort();
    k->handle = handle;
    c->count++;
    enter(c, k, S_WAITING, now_ms);
    return k;
}

void connlimit_conn_close(connlimit *c, connlimit_conn *k) {
    if (!k)
        return;
    connlimit_body_release(c, k);
    if (k->state != S_CLOSING)
        c->count--;
    list_remove(k);
    free(k);
}

void connlimit_conn_waiting(connlimit *c, connlimit_conn *k, long long now_ms) {
    if (k)
        enter(c, k, S_WAITING, now_ms);
}

void connlimit_conn_answering(connlimit *c, connlimit_conn *k, long long now_ms) {
    if (k)
        enter(c, k, S_ANSWERING, now_ms);
}

void connlimit_conn_websocket(connlimit *c, connlimit_conn *k, long long now_ms) {
    if (k)
        enter(c, k, S_WEBSOCKET, now_ms);
}

void connlimit_conn_progress(connlimit_conn *k, size_t n, long long now_ms) {
    if (!k)
        return;
    k->received += n;
    k->progress_ms = now_ms;
}

int connlimit_body_start(connlimit *c, connlimit_conn *k, size_t n, long long now_ms, errinfo *err) {
    if (!k)
        return 0;
    connlimit_body_release(c, k);
    /* A reload may have lowered the budget below what is in flight. */
    if (c->inflight > c->set.max_inflight_body || n > c->set.max_inflight_body - c->inflight)
        return errinfo_set(err, ERR_LIMIT,
                           "request bodies being received would exceed "
                           "limits.max_inflight_body_bytes (%zu bytes)",
                           c->set.max_inflight_body);
    c->inflight += n;
    k->reserved = n;
    enter(c, k, S_BODY, now_ms);
    k->received = 0;
    return 0;
}

void connlimit_body_release(connlimit *c, connlimit_conn *k) {
    if (!k)
        return;
    c->inflight -= k->reserved;
    k->reserved = 0;
}

size_t connlimit_inflight(const connlimit *c) {
    return c->inflight;
}

int connlimit_count(const connlimit *c) {
    return c->count;
}

/* A body is late when, after the grace, less than the minimum rate has
 * come on average: a client dribbling a byte now and then is closed as
 * surely as a silent one, and a fast one never is. */
static const char *overdue(const connlimit *c, const connlimit_conn *k, long long now_ms) {
    long long limit_ms = (long long)c->set.header_timeout_s * 1000;
    long long late_ms = now_ms - k->since_ms - limit_ms;

    switch (k->state) {
    case S_WAITING:
        return late_ms >= 0 ? "request headers not complete within limits.header_timeout_s" : NULL;
    case S_BODY:
        return late_ms > 0 && (double)k->received * 1000.0 < (double)c->set.body_min_rate * (double)late_ms
                   ? "request body slower than limits.body_min_rate_bytes_s"
                   : NULL;
    case S_ANSWERING:
        return now_ms - k->progress_ms >= limit_ms
                   ? "answer not read by the client within limits.header_timeout_s"
                   : NULL;
    default:
        return NULL;
    }
}

int connlimit_sweep(connlimit *c, long long now_ms) {
    int n = 0;
    const char *why;
    connlimit_conn *k, *next;

    /* In arrival order: the first one in time ends the late ones. */
    while ((k = c->waiting.head) && (why = overdue(c, k, now_ms))) {
        kill_conn(c, k, why);
        n++;
    }
    for (k = c->busy.head; k; k = next) {
        next = k->next;
        if ((why = overdue(c, k, now_ms))) {
            kill_conn(c, k, why);
            n++;
        }
    }
    return n;
}

long connlimit_nofile_raise(long ceiling) {
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)ceiling ? (rlim_t)ceiling : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)ceiling ? ceiling : (long)rl.rlim_cur;
}

int connlimit_max_for_fds(long nofile, int ceiling) {
    long reserve = nofile / FD_RESERVE_SHARE > FD_RESERVE_MIN ? nofile / FD_RESERVE_SHARE : FD_RESERVE_MIN;
    long n = nofile - reserve;

    if (n <= 0)
        return 0;
    return n > ceiling ? ceiling : (int)n;
}
