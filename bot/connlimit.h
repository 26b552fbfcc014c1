/* connlimit: how many connections the HTTP server keeps, how long each may
 * take, and how much request body it holds before a signature is checked.
 *
 * The server (bot/server.c) tells it what each connection is doing; it
 * answers with the connections to close. Knows nothing of libwebsockets: a
 * connection is the caller's opaque handle, and closing one is the caller's
 * kill callback (which must close asynchronously: the connection stays
 * registered until connlimit_conn_close). Times are the caller's monotonic
 * milliseconds. One thread (the server's) uses it; no locks.
 *
 * A connection is in one of these states:
 *   waiting    for a request's headers (new, or kept alive after an
 *              answer): idle; closed after header_timeout_s
 *   body       reading a request body: closed when, after a grace of
 *              header_timeout_s, less than body_min_rate bytes per second
 *              (on average since the headers) have come
 *   answering  the answer is being written: closed when the client has not
 *              taken any of it for header_timeout_s
 *   websocket  a live log: idle, kept (libwebsockets pings it)
 * At max_connections, a new connection closes the oldest idle one (waiting
 * or websocket, the longest in that state); when none is idle it is
 * refused. */
#ifndef DEPLOYBOT_BOT_CONNLIMIT_H
#define DEPLOYBOT_BOT_CONNLIMIT_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct {
    int max_connections;
    int header_timeout_s;
    size_t body_min_rate; /* bytes per second */
    size_t max_inflight_body;
} connlimit_settings;

typedef struct connlimit connlimit;
typedef struct connlimit_conn connlimit_conn;

/* Closes the connection `handle` (asynchronously); `why` says which
 * deadline or limit, for the log. */
typedef void (*connlimit_kill_cb)(void *handle, const char *why, void *arg);

connlimit *connlimit_new(const connlimit_settings *s, connlimit_kill_cb kill, void *arg);
void connlimit_free(connlimit *c);
/* New settings (a reload): they apply to what happens from now on; nothing
 * open is closed for them until a deadline or a new connection asks. */
void connlimit_configure(connlimit *c, const connlimit_settings *s);

/* Whether one more connection may be accepted: 1 (having closed the oldest
 * idle one when at max_connections), or 0 when every connection is busy. */
int connlimit_admit(connlimit *c, long long now_ms);

/* Registers an accepted connection, waiting for its first request. */
connlimit_conn *connlimit_conn_open(connlimit *c, void *handle, long long now_ms);
/* Forgets it (it is gone), releasing what it had reserved. NULL is fine. */
void connlimit_conn_close(connlimit *c, connlimit_conn *k);

void connlimit_conn_waiting(connlimit *c, connlimit_conn *k, long long now_ms);
void connlimit_conn_answering(connlimit *c, connlimit_conn *k, long long now_ms);
void connlimit_conn_websocket(connlimit *c, connlimit_conn *k, long long now_ms);
/* Some of the answer was written, or `n` more bytes of the body came. */
void connlimit_conn_progress(connlimit_conn *k, size_t n, long long now_ms);

/* Reserves `n` bytes of the in-flight body budget for k's body and enters
 * the body state: 0, or -1 (ERR_LIMIT, naming the budget) when that would
 * exceed max_inflight_body. */
int connlimit_body_start(connlimit *c, connlimit_conn *k, size_t n, long long now_ms, errinfo *err);
/* The body is no longer held: its reservation goes back to the budget. */
void connlimit_body_release(connlimit *c, connlimit_conn *k);
/* Bytes reserved for bodies now (for tests and logs). */
size_t connlimit_inflight(const connlimit *c);
/* Connections registered and not being closed. */
int connlimit_count(const connlimit *c);

/* Closes every connection past its deadline; returns how many. */
int connlimit_sweep(connlimit *c, long long now_ms);

/* Raises the soft RLIMIT_NOFILE to the hard one (at most `ceiling`, so the
 * server's tables stay bounded when the hard limit is huge). Returns the
 * soft limit in effect afterwards. */
long connlimit_nofile_raise(long ceiling);

/* The connections an fd limit leaves room for, keeping some descriptors for
 * the database, git, outgoing HTTPS and the log; at most `ceiling`. 0 when
 * the limit is too small to serve at all. */
int connlimit_max_for_fds(long nofile, int ceiling);

#endif
