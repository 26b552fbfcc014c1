/* server: the HTTP front door (libwebsockets 4.1).
 *
 *   POST /webhooks/<host>   the configured host's (host/host.h): verify,
 *                           dedupe, persist, 202; another host's: 404
 *   GET  /healthz           200 "ok"
 *   GET  /api/runs[?env=E&kind=K&state=S&limit=N], /api/runs/ID    the history as JSON
 *   GET  /metrics           Prometheus' text (bot/metrics.h)
 *   GET  /, /runs/ID        the pages (bot/webpage.h); /favicon.ico
 *   GET  /api/environments[/ENV]   the environments' cards (bot/api.h)
 *   WS   /runs/ID/live      a run's log as it grows (bot/livelog.h)
 *   WS   /live              the cards as they change (bot/envlive.h)
 *   POST /api/environments/ENV/{lock,unlock,redeploy}   (bot/api.h)
 *   GET, POST /login        a browser session from a token
 *
 * /healthz, /login, /favicon.ico and the webhook (its signature) are open; everything
 * else needs a credential (bot/auth.h): read for a GET and the live log,
 * operate for a POST. With "tls_cert" and "tls_key" it speaks only HTTPS.
 *
 * Any other WebSocket upgrade, an h2c upgrade and CONNECT are answered with
 * a 4xx and never held. Every connection is watched by bot/connlimit.h
 * (deadlines, the connection cap, the in-flight body budget); server_new
 * raises the soft fd limit first. A webhook without a well-formed signature
 * header is refused before its body is read, and the HMAC of the others is
 * computed as the body arrives.
 *
 * The acknowledgement never waits on git or AWS: the job is in the store
 * before the answer is written, and the worker picks it up from there. */
#ifndef DEPLOYBOT_BOT_SERVER_H
#define DEPLOYBOT_BOT_SERVER_H

#include "bot/config.h"
#include "util/metrics.h"

typedef struct server server;

/* Called after a job was persisted, from the server thread (e.g. to wake a worker). */
typedef void (*server_job_cb)(void *arg);

/* Listens on cfg's listen and port; copies what it keeps of cfg. Counts
 * the webhook deliveries into m (may be NULL), which must outlive it. */
server *server_new(const bot_config *cfg, const char *db_path, metrics *m,
                   server_job_cb on_job, void *arg, errinfo *err);
/* The port actually listened on (useful when the config asks for port 0). */
int server_port(const server *s);
/* Runs the event loop until server_stop() or server_reload_request() (both
 * async-signal-safe) is called. After a stop it stops accepting connections
 * and lets the deliveries whose bodies are coming in finish (5 s at most),
 * then returns 0; after a reload request it returns 1 at once, for the
 * caller to server_configure and run it again: no connection is dropped.
 * -1: the loop failed. */
int server_run(server *s);
void server_stop(server *s);
void server_reload_request(server *s);
/* Takes what a reload may change of cfg (copied): the webhook's secrets,
 * repo.name and max_body_bytes, the API tokens and session_ttl_s, and the
 * connection limits (what is open keeps going). Not listen, port, TLS.
 * Call from the thread of server_run, between runs. Returns 0, or -1 with
 * err (the server keeps its settings). */
int server_configure(server *s, const bot_config *cfg, errinfo *err);
void server_free(server *s);

#endif
