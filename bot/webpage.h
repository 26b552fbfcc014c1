/* webpage: the bot's two HTML pages, for people who follow a status link.
 *
 *   GET /          the latest runs of every environment (reloads /api/runs
 *                  every 3 s)
 *   GET /runs/ID   one run: its plan, result and log (/api/runs/ID); while it
 *                  runs, the log grows line by line from the WebSocket
 *                  /runs/ID/live (bot/livelog.h), and the page reloads the
 *                  run when it ends
 *   GET /login     a form for an API token (bot/auth.h); /login#token=T
 *                  fills it in from the fragment and submits it
 *
 * Static documents: all data comes from the JSON API and the WebSocket, so
 * the pages hold no state and need no templating. */
#ifndef DEPLOYBOT_BOT_WEBPAGE_H
#define DEPLOYBOT_BOT_WEBPAGE_H

extern const char webpage_runs_html[];
extern const char webpage_login_html[];        /* GET /login, and a page's 401 */
extern const char webpage_login_failed_html[]; /* POST /login with a wrong token */
extern const char webpage_run_html[];

#endif
