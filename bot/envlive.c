/* envlive: see envlive.h. Each look renders every card and compares the text
 * with what this viewer was sent last: a few reads of the history, no
 * bookkeeping of what changed. */
#include "bot/envlive.h"

#include <jansson.h>
#include <stdlib.h>

#include "bot/webpage.h"
#include <string.h>

#define POLL_US 500000

typedef struct {
    char *sent;    /* the last document sent */
    char *pending; /* the next one, written when writable */
} session;

_Static_assert(sizeof(session) <= ENVLIVE_SESSION_BYTES, "ENVLIVE_SESSION_BYTES too small");

/* Each card with its element as the dashboard shows it ("html"). */
static void add_html(json_t *cards) {
    size_t i;
    json_t *c;

    json_array_foreach(cards, i, c) {
        char *html = webpage_card(c);
        json_object_set_new(c, "html", json_string(html));
        free(html);
    }
}

static void poll_cards(struct lws *wsi, session *ss, envview *v, store *db) {
    json_t *cards = envview_cards(v, db, NULL);
    json_t *doc;
    char *text;

    /* A busy database, or no change: look again later. */
    if (!cards) {
        lws_set_timer_usecs(wsi, POLL_US);
        return;
    }
    add_html(cards);
    doc = json_pack("{s:o}", "environments", cards);
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (!text)
        abort();
    if (ss->sent && strcmp(ss->sent, text) == 0) {
        free(text);
        lws_set_timer_usecs(wsi, POLL_US);
        return;
    }
    ss->pending = text;
    lws_callback_on_writable(wsi);
}

static int send_pending(struct lws *wsi, session *ss) {
    size_t n;
    unsigned char *buf;
    int w;

    if (!ss->pending)
        return 0;
    n = strlen(ss->pending);
    if (!(buf = malloc(LWS_PRE + n)))
        abort();
    memcpy(buf + LWS_PRE, ss->pending, n);
    w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    free(ss->sent);
    ss->sent = ss->pending;
    ss->pending = NULL;
    if (w < (int)n)
        return -1;
    lws_set_timer_usecs(wsi, POLL_US);
    return 0;
}

int envlive_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, envview *v,
                     store *db) {
    session *ss = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        poll_cards(wsi, ss, v, db);
        return 0;
    case LWS_CALLBACK_TIMER:
        if (!ss->pending)
            poll_cards(wsi, ss, v, db);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return send_pending(wsi, ss);
    case LWS_CALLBACK_CLOSED:
        free(ss->pending);
        free(ss->sent);
        ss->pending = ss->sent = NULL;
        return 0;
    default:
        return 0;
    }
}
