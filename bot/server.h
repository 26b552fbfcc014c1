/* server: the HTTP front door (libwebsockets 4.1).
 *
 *   POST /webhooks/github   verify, dedupe, persist, 202
 *   GET  /healthz           200 "ok"
 *   GET  /api/runs[?env=E&limit=N], /api/runs/ID    the history as JSON
 *   GET  /, /runs/ID        the pages (bot/webpage.h)
 *   WS   /runs/ID/live      a run's log as it grows (bot/livelog.h)
 *
 * The acknowledgement never waits on git or AWS: the job is in the store
 * before the answer is written, and the worker picks it up from there. */
#ifndef DEPLOYBOT_BOT_SERVER_H
#define DEPLOYBOT_BOT_SERVER_H

#include "bot/config.h"

typedef struct server server;

/* Called after a job was persisted, from the server thread (e.g. to wake a worker). */
typedef void (*server_job_cb)(void *arg);

/* Listens on cfg's listen and port; copies what it keeps of cfg. */
server *server_new(const bot_config *cfg, const char *db_path,
                   server_job_cb on_job, void *arg, errinfo *err);
/* The port actually listened on (useful when the config asks for port 0). */
int server_port(const server *s);
/* Runs the event loop until server_stop() (async-signal-safe) is called. */
int server_run(server *s);
void server_stop(server *s);
void server_free(server *s);

#endif
