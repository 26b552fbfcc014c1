/* livelog: see livelog.h. The server thread looks at the run every POLL_US
 * and sends what was appended since the last look. */
#include "bot/livelog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define POLL_US 300000

typedef struct {
    long run;
    size_t sent;   /* bytes of the log already sent */
    char *pending; /* the next message, written when writable */
    int finished;  /* the run is over: close after pending */
} session;

_Static_assert(sizeof(session) <= LIVELOG_SESSION_BYTES, "LIVELOG_SESSION_BYTES too small");

long livelog_run_id(struct lws *wsi) {
    char uri[128], *end;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) return 0;
    if (strncmp(uri, "/runs/", 6) != 0) return 0;
    long id = strtol(uri + 6, &end, 10);
    return id > 0 && strcmp(end, "/live") == 0 ? id : 0;
}

/* Looks at the run; queues a message when there is news. */
static void poll_run(struct lws *wsi, session *ss, store *history) {
    errinfo err;
    json_t *news = store_run_log_since(history, ss->run, ss->sent, &err);
    if (!news && err.code == ERR_UNAVAILABLE) { /* the database is busy: look again */
        lws_set_timer_usecs(wsi, POLL_US);
        return;
    }
    if (!news) {
        ss->finished = 1;
        ss->pending = strdup("{\"error\":\"no such run\"}");
        lws_callback_on_writable(wsi);
        return;
    }
    const char *state = json_string_value(json_object_get(news, "state"));
    size_t n = json_string_length(json_object_get(news, "log"));
    ss->finished = strcmp(state, "queued") != 0 && strcmp(state, "running") != 0;
    if (!ss->finished) json_object_del(news, "result");
    if (n > 0 || ss->finished) {
        ss->pending = json_dumps(news, JSON_COMPACT);
        ss->sent += n;
        lws_callback_on_writable(wsi);
    } else {
        lws_set_timer_usecs(wsi, POLL_US);
    }
    json_decref(news);
}

static int send_pending(struct lws *wsi, session *ss) {
    if (!ss->pending) return 0;
    size_t n = strlen(ss->pending);
    unsigned char *buf = malloc(LWS_PRE + n);
    if (!buf) return -1;
    memcpy(buf + LWS_PRE, ss->pending, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    free(ss->pending);
    ss->pending = NULL;
    if (w < (int)n) return -1;
    if (ss->finished) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"run finished", 12);
        return -1;
    }
    lws_set_timer_usecs(wsi, POLL_US);
    return 0;
}

int livelog_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                     void *in, size_t len, store *history) {
    session *ss = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        ss->run = livelog_run_id(wsi);
        if (!ss->run) return -1;
        poll_run(wsi, ss, history);
        return 0;
    case LWS_CALLBACK_TIMER:
        if (!ss->pending) poll_run(wsi, ss, history);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return send_pending(wsi, ss);
    case LWS_CALLBACK_CLOSED:
        free(ss->pending);
        ss->pending = NULL;
        return 0;
    default:
        break;
    }
    (void)in;
    (void)len;
    return 0;
}
