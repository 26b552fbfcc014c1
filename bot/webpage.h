/* webpage: the bot's HTML pages, for people who follow a status link or
 * keep the dashboard open.
 *
 *   GET /          the dashboard: a card per environment (bot/envview.h:
 *                  state with colour, icon and words, the deployed commit
 *                  linked to the host, the last run, the queue, the lock),
 *                  then the runs, filtered by ?env=, ?kind= and ?result=
 *                  (a form: no script needed). A script keeps the cards
 *                  current from the WebSocket /live (bot/envlive.h).
 *   GET /runs/ID   one run: its result, its commit and the log, the plan's
 *                  lines coloured by what they do (+ create, ~ update,
 *                  - destroy, -/+ replace); while it runs, the log grows
 *                  from the WebSocket /runs/ID/live (bot/livelog.h)
 *   GET /favicon.ico  the icon (SVG), so no browser logs a 404
 *   GET /login     a form for an API token (bot/auth.h); /login#token=T
 *                  fills it in from the fragment and submits it
 *
 * Rendered on the server from the same JSON the API answers, so everything
 * but the live updates works without JavaScript; every value is escaped
 * (commit subjects, branch names and logs come from repositories and AWS).
 * Semantic HTML, labelled controls, visible focus, no outside resources. */
#ifndef DEPLOYBOT_BOT_WEBPAGE_H
#define DEPLOYBOT_BOT_WEBPAGE_H

#include <jansson.h>
#include "util/strbuf.h"

extern const char webpage_login_html[];        /* GET /login, and a page's 401 */
extern const char webpage_login_failed_html[]; /* POST /login with a wrong token */
extern const char webpage_icon_svg[];          /* GET /favicon.ico, open like /login */

/* The runs table's filters (NULL: any), as the query gave them. */
typedef struct {
    const char *env, *kind, *result;
} webpage_filter;

/* GET /: cards is envview_cards' array, runs store_runs_find_json's. */
char *webpage_dashboard(const json_t *cards, const json_t *runs, const webpage_filter *f);
/* One card as the dashboard shows it: the live updates replace a card's
 * element with this. */
char *webpage_card(const json_t *card);
/* GET /runs/ID: run is store_run_get_json's object (with its log). */
char *webpage_run(const json_t *run);

/* What the pages share (webpage.c): the document's start up to <main>,
 * its end after </main> with an optional script, and a <time> element. */
void webpage_begin(strbuf *b, const char *title);
void webpage_end(strbuf *b, const char *script);
void webpage_time(strbuf *b, long long ms);
/* tmpl with each %s replaced by its argument escaped for HTML text or a
 * quoted attribute (strbuf_put_html), %lld by a number and %% by %: the
 * markup stays in one readable piece, and no value can be left unescaped.
 * Other conversions abort (a page's template, not input). */
void webpage_html(strbuf *b, const char *tmpl, ...) __attribute__((format(printf, 2, 3)));
/* json's string member key, or "" */
const char *webpage_str(const json_t *o, const char *key);

#endif
