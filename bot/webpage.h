/* webpage: the bot's two HTML pages, for people who follow a status link.
 *
 *   GET /          the latest runs of every environment
 *   GET /runs/ID   one run: its plan, result and log, followed live while it
 *                  runs (the page polls /api/runs/ID; the log grows line by line)
 *
 * Static documents: all data comes from the JSON API, so the pages hold no
 * state and need no templating. */
#ifndef DEPLOYBOT_BOT_WEBPAGE_H
#define DEPLOYBOT_BOT_WEBPAGE_H

extern const char webpage_runs_html[];
extern const char webpage_run_html[];

#endif
