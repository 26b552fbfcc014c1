/* server: the HTTP front door on libwebsockets 4.1.
 *
 * One lws protocol handles every HTTP transaction (no mounts): the request
 * line and headers arrive in LWS_CALLBACK_HTTP, a POST body in HTTP_BODY
 * pieces, then HTTP_BODY_COMPLETION. A second one serves the run log's
 * WebSocket (bot/livelog.h). Every answer is staged in the
 * per-transaction state (pss) and written from HTTP_WRITEABLE, the one place
 * lws guarantees the socket can take it. Nothing here blocks on the network
 * or the disk: a verified delivery goes to the writer thread (bot/ingest.h),
 * which commits it with others and wakes the service loop
 * (lws_cancel_service -> EVENT_WAIT_CANCELLED); only then is its 202 staged,
 * which is the durability promise. */
#include "bot/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "store/runs.h"
#include "host/host.h"
#include "bot/webpage.h"
#include "bot/livelog.h"
#include "bot/envlive.h"
#include "bot/envview.h"
#include "bot/connlimit.h"
#include "util/clock.h"
#include "bot/api.h"
#include "bot/auth.h"
#include "bot/ingest.h"
#include "bot/metrics.h"
#include "store/keys.h"
#include "util/digest.h"
#include "util/log.h"

#define TIMEOUT_SECS 15          /* lws' own per-step timeout, behind bot/connlimit.h's deadlines */
#define HEADER_BYTES 8192        /* per-request header space (GitHub sends < 2 KB) */
#define HTTP_ACCEPTED 202        /* lws 4.1 has no name for it */
#define RETRY_AFTER_S "10"       /* a full body budget frees up as deliveries complete */
#define NOFILE_CEILING 65536     /* lws sizes its tables by the fd limit */
#define CONNECTIONS_CEILING 4096 /* the default's: ~12 KB each while headers come */
#define DRAIN_MS 5000            /* a stop waits this long at most for deliveries under way */
#define DRAIN_TICK_MS 50

struct server {
    struct lws_context *ctx;
    store *db;            /* the history, for /api/runs; the session key */
    ingest *writer;       /* deliveries, committed in batches */
    const host_ops *host; /* the configured host: the one webhook served */
    host_config hcfg;     /* its secrets, pointing at the copies below */
    char *secret;         /* NULL: every delivery is refused */
    char *signing_key;    /* a host's second key (GitLab's signing token); may be NULL */
    char *listen;         /* lws keeps a pointer to it */
    char *repo_name;      /* NULL: deliveries for any repository are accepted */
    auth *auth;           /* who may read and operate the UI and API */
    metrics *metrics;     /* what is counted (bot/metrics.h); not owned */
    envview *view;        /* the environments' cards */
    size_t max_body;
    connlimit *conns;                 /* deadlines, the cap, the body budget */
    lws_sorted_usec_list_t sweep;     /* once a second: connlimit_sweep */
    lws_sorted_usec_list_t drain_sul; /* while draining after a stop */
    lws_retry_bo_t ws_idle;           /* live-log pings; lws keeps a pointer */
    int killed, refused;              /* connections closed, refused since the last sweep */
    const char *killed_why;           /* the last reason, for its log line */
    server_job_cb on_job;
    void *arg;
    volatile sig_atomic_t stopping;  /* set by server_stop, maybe in a signal */
    volatile sig_atomic_t reloading; /* set by server_reload_request, maybe in a signal */
    int port;
    long nofile; /* the open file limit the connection cap must fit */
};

enum route { R_NONE,
             R_WEBHOOK,
             R_API,
             R_API_RUN,
             R_LOGIN };
typedef host_header_state hdr_state;

/* Per-transaction state; lws allocates it zeroed and frees it after
 * HTTP_DROP_PROTOCOL, so only the body buffer needs explicit care. */
struct pss {
    enum route route;
    int pending;     /* an answer waits for HTTP_WRITEABLE */
    int answered;    /* the answer is staged or sent: ignore more body */
    int close_after; /* the body was not (fully) read: drop the socket */
    unsigned status;
    const char *ctype;
    const char *allow;       /* Allow: header of a 405 */
    const char *retry_after; /* Retry-After: header of a 503 */
    const char *location;    /* Location: header of a 303 */
    const char *hdr_name;    /* one more header (WWW-Authenticate, Set-Cookie) */
    char hdr_value[AUTH_COOKIE_MAX];
    auth_who who; /* the credential of an API request */
    char api_path[96];
    size_t resp_len;
    char resp[1024];
    char *big; /* a large answer (history), sent in pieces */
    size_t big_len, big_off;
    int headers_sent;
    /* webhook request */
    char event[64];     /* for the log line, and the job */
    int hook;           /* a delivery whose answer is not counted yet (bot/metrics.h) */
    int verified;       /* its signature is good: event is the host's */
    const char *result; /* its metrics result when not the status: "accepted" ... */
    char delivery[128];
    host_headers hdr;     /* what the host reads of the request */
    host_verify *verify;  /* of the body so far */
    ingest_item *waiting; /* with the writer: the answer comes when it is committed */
    char *body;
    size_t len, expect;
};

/* ---- answers ------------------------------------------------------------ */

/* Client-chosen strings in logs and answers: printable ASCII, bounded. */
static const char *printable(const char *in, char *buf, size_t buflen) {
    size_t i = 0;

    for (; in[i] && i + 1 < buflen; i++)
        buf[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    buf[i] = '\0';
    return buf;
}

static server *server_of(struct lws *wsi) {
    return lws_context_user(lws_get_context(wsi));
}

/* The connection's record in s->conns (NULL for a connection it never saw). */
static connlimit_conn *conn_of(struct lws *wsi) {
    return lws_get_opaque_user_data(wsi);
}

/* The body goes, and its share of the in-flight budget with it. */
static void pss_free_body(struct lws *wsi, struct pss *p) {
    free(p->body);
    p->body = NULL;
    p->len = 0;
    if (p->verify) server_of(wsi)->host->verify_abort(p->verify);
    p->verify = NULL;
    connlimit_body_release(server_of(wsi)->conns, conn_of(wsi));
}

static void pss_free(struct lws *wsi, struct pss *p) {
    if (p->waiting)
        ingest_abandon(server_of(wsi)->writer, p->waiting);
    p->waiting = NULL;
    pss_free_body(wsi, p);
    free(p->big);
    p->big = NULL;
}

/* Stages a malloc'd answer of any size (taken over); it is written in pieces. */
static int stage_big(struct lws *wsi, struct pss *p, unsigned status, const char *ctype, char *body) {
    if (!body)
        return -1;
    p->big = body;
    p->big_len = p->resp_len = strlen(body);
    p->big_off = 0;
    p->status = status;
    p->ctype = ctype;
    p->pending = p->answered = 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int stage_big_json(struct lws *wsi, struct pss *p, unsigned status, json_t *obj) {
    char *text = json_dumps(obj, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(obj);
    return stage_big(wsi, p, status, "application/json", text);
}

/* A delivery's answer, counted once: by what it did, or else its status. */
static void count_delivery(struct lws *wsi, struct pss *p, unsigned status) {
    server *s = server_of(wsi);
    char code[16];

    snprintf(code, sizeof(code), "%u", status);
    bot_metrics_delivery(s->metrics, s->host->type, p->verified ? p->event : NULL, p->result ? p->result : code);
    p->hook = 0;
}

static int stage(struct lws *wsi, struct pss *p, unsigned status,
                 const char *ctype, const char *body, size_t len) {
    if (p->hook)
        count_delivery(wsi, p, status);
    if (len > sizeof(p->resp))
        len = sizeof(p->resp);
    memcpy(p->resp, body, len);
    p->resp_len = len;
    p->status = status;
    p->ctype = ctype;
    p->pending = p->answered = 1;
    pss_free_body(wsi, p);
    lws_callback_on_writable(wsi);
    return 0;
}

/* Stages a JSON answer; jansson does the escaping of anything echoed back. */
static int stage_json(struct lws *wsi, struct pss *p, unsigned status,
                      json_t *obj) {
    char buf[sizeof(p->resp)];
    size_t n = obj ? json_dumpb(obj, buf, sizeof(buf),
                                JSON_COMPACT | JSON_ENSURE_ASCII)
                   : 0;

    json_decref(obj);
    if (n == 0 || n > sizeof(buf)) {
        static const char fallback[] = "{\"error\":\"cannot encode answer\"}";

        return stage(wsi, p, status, "application/json", fallback,
                     sizeof(fallback) - 1);
    }
    return stage(wsi, p, status, "application/json", buf, n);
}

/* Messages may quote client bytes (a header, a JSON parser's "near ..."),
 * which need not be UTF-8: they are made printable ASCII first. */
static int stage_error(struct lws *wsi, struct pss *p, unsigned status,
                       const char *fmt, ...) {
    char msg[512], clean[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return stage_json(wsi, p, status,
                      json_pack("{s:s}", "error",
                                printable(msg, clean, sizeof(clean))));
}

/* Kept alive: the connection waits for its next request's headers. */
static int transaction_completed(struct lws *wsi) {
    if (lws_http_transaction_completed(wsi))
        return -1;
    connlimit_conn_waiting(server_of(wsi)->conns, conn_of(wsi), clock_mono_ms());
    return 0;
}

/* The next piece of a large answer; -1 closes, 0 keeps going. */
static int write_big(struct lws *wsi, struct pss *p) {
    uint8_t buf[LWS_PRE + 4096];
    size_t n = p->big_len - p->big_off;
    int last = n <= sizeof(buf) - LWS_PRE;

    if (!last)
        n = sizeof(buf) - LWS_PRE;
    memcpy(buf + LWS_PRE, p->big + p->big_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    p->big_off += n;
    connlimit_conn_progress(conn_of(wsi), 0, clock_mono_ms());
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    p->pending = 0;
    free(p->big);
    p->big = NULL;
    return transaction_completed(wsi);
}

/* The status line, headers and (all of) a small answer, written at once. */
static int write_small(struct lws *wsi, struct pss *p) {
    uint8_t buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *at = start,
                                 *end = buf + sizeof(buf) - 1;

    if (lws_add_http_common_headers(wsi, p->status, p->ctype, p->resp_len, &at, end) ||
        (p->allow && lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                                 (const unsigned char *)p->allow,
                                                 (int)strlen(p->allow), &at, end)) ||
        (p->retry_after && lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                                       (const unsigned char *)p->retry_after,
                                                       (int)strlen(p->retry_after), &at, end)) ||
        (p->location && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION,
                                                     (const unsigned char *)p->location,
                                                     (int)strlen(p->location), &at, end)) ||
        (p->hdr_name && lws_add_http_header_by_name(wsi, (const unsigned char *)p->hdr_name,
                                                    (const unsigned char *)p->hdr_value,
                                                    (int)strlen(p->hdr_value), &at, end)) ||
        (p->close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                        (const unsigned char *)"close", 5, &at, end)) ||
        lws_finalize_write_http_header(wsi, start, &at, end))
        return -1;
    if (p->big)
        return 0;
    memcpy(start, p->resp, p->resp_len);
    return lws_write(wsi, start, p->resp_len, LWS_WRITE_HTTP_FINAL) == (int)p->resp_len ? 0 : -1;
}

static int write_answer(struct lws *wsi, struct pss *p) {
    if (!p->pending)
        return 0;
    if (p->big && p->headers_sent)
        return write_big(wsi, p);
    if (!p->big)
        p->pending = 0;
    if (write_small(wsi, p) < 0)
        return -1;
    if (p->big) {
        p->headers_sent = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    /* An unread body would be parsed as the next request: close instead. */
    return p->close_after ? -1 : transaction_completed(wsi);
}

/* ---- requests ----------------------------------------------------------- */

/* Copies a header lws does not know (name lowercase, with ':'), trimmed. */
static hdr_state custom_header(struct lws *wsi, const char *name,
                               char *dst, size_t dstlen) {
    int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));

    dst[0] = '\0';
    if (n < 0)
        return HOST_HEADER_MISSING;
    if ((size_t)n >= dstlen)
        return HOST_HEADER_TOO_LONG;
    if (lws_hdr_custom_copy(wsi, dst, (int)dstlen, name, (int)strlen(name)) < 0)
        return HOST_HEADER_TOO_LONG;
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t'))
        dst[--n] = '\0';
    return n ? HOST_HEADER_OK : HOST_HEADER_MISSING;
}

static int has_body(struct lws *wsi) {
    return lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0;
}

/* The announced body length; lws would otherwise assume 100 MB for a POST
 * without one, and it does not decode chunked request bodies. Returns 0, or
 * -1 with the refusal staged. */
static int content_length(struct lws *wsi, struct pss *p, size_t max,
                          size_t *out) {
    char buf[32];
    unsigned long long v = 0;
    int n;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        stage_error(wsi, p, HTTP_STATUS_LENGTH_REQUIRED,
                    "Content-Length required (chunked bodies are not "
                    "accepted)");
        return -1;
    }
    n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH);
    for (int i = 0; i < n && v <= max; i++)
        v = buf[i] >= '0' && buf[i] <= '9' ? v * 10 + (unsigned)(buf[i] - '0')
                                           : ~0ull;
    if (n <= 0 || v == ~0ull) {
        stage_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "invalid Content-Length");
        return -1;
    }
    if (v > max) {
        stage_error(wsi, p, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
                    "body exceeds the limit of %zu bytes", max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* The headers the host reads, and the delivery id and event for the log
 * line (checked again once the delivery is authentic). */
static void copy_headers(server *s, struct lws *wsi, struct pss *p) {
    const host_ops *h = s->host;

    p->hdr.host = h;
    for (size_t i = 0; h->headers[i] && i < HOST_HEADERS_MAX; i++)
        p->hdr.state[i] = custom_header(wsi, h->headers[i], p->hdr.value[i], HOST_HEADER_LEN);
    if (lws_hdr_copy(wsi, p->hdr.content_type, sizeof(p->hdr.content_type),
                     WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
        p->hdr.content_type[0] = '\0';
    if (h->delivery_id(&p->hdr, p->delivery, sizeof(p->delivery), NULL) < 0)
        p->delivery[0] = '\0';
    if (h->event_name(&p->hdr, p->event, sizeof(p->event), NULL) < 0)
        p->event[0] = '\0';
}

static void log_outcome(struct lws *wsi, struct pss *p);

/* Memory before authentication is bounded twice: a request that cannot be
 * authentic is refused before its body is read, and the others share one
 * budget, reserved here from Content-Length; the HMAC is computed as the
 * body arrives. */
static int start_webhook(server *s, struct lws *wsi, struct pss *p) {
    const char *why;
    errinfo err;

    p->close_after = 1; /* until the whole body has been read */
    p->hook = 1;
    if (content_length(wsi, p, s->max_body, &p->expect) < 0)
        return 0;
    copy_headers(s, wsi, p);
    if (!(p->verify = s->host->verify_begin(&s->hcfg, &p->hdr, &why))) {
        stage_error(wsi, p, HTTP_STATUS_UNAUTHORIZED, "%s", why);
        log_outcome(wsi, p);
        return 0;
    }
    if (connlimit_body_start(s->conns, conn_of(wsi), p->expect, clock_mono_ms(), &err) < 0) {
        p->retry_after = RETRY_AFTER_S;
        stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s: try again later", err.msg);
        log_outcome(wsi, p);
        return 0;
    }
    p->close_after = 0;
    p->route = R_WEBHOOK;
    return 0;
}

static const char *query_arg(struct lws *wsi, const char *name, char *buf, size_t len);

/* GET /api/runs[?env=E&kind=K&state=S&limit=N] and GET /api/runs/ID: the history. */
static int api_runs(server *s, struct lws *wsi, struct pss *p, const char *rest, int meth) {
    char envbuf[80], limbuf[32], kindbuf[32], statebuf[32];
    const char *env, *limit;
    char *end;

    if (meth != LWSHUMETH_GET) {
        p->allow = "GET";
        return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
    }
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        /* lws copies "name=value" into the buffer and points past the name. */
        env = lws_get_urlarg_by_name(wsi, "env=", envbuf, sizeof(envbuf));
        limit = lws_get_urlarg_by_name(wsi, "limit=", limbuf, sizeof(limbuf));
        int n = limit ? atoi(limit) : 0;
        errinfo err;
        run_filter f = {env && *env ? env : NULL, query_arg(wsi, "kind=", kindbuf, sizeof(kindbuf)),
                        query_arg(wsi, "state=", statebuf, sizeof(statebuf))};
        json_t *list = store_runs_find_json(s->db, &f, n > 0 && n <= 1000 ? n : 100, &err);
        if (!list)
            return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s", err.msg);
        return stage_big_json(wsi, p, HTTP_STATUS_OK, json_pack("{s:o}", "runs", list));
    }
    long id = *rest == '/' ? strtol(rest + 1, &end, 10) : 0;
    json_t *run = id > 0 && *end == '\0' ? store_run_get_json(s->db, id, NULL) : NULL;
    if (!run)
        return stage_error(wsi, p, HTTP_STATUS_NOT_FOUND, "no such run");
    return stage_big_json(wsi, p, HTTP_STATUS_OK, run);
}

static void set_header(struct pss *p, const char *name, const char *value) {
    p->hdr_name = name;
    snprintf(p->hdr_value, sizeof(p->hdr_value), "%s", value);
}

static int on_small_body(server *s, struct lws *wsi, struct pss *p);

/* A small body (the API's JSON, the login form) for route; without one the
 * request is handled at once. */
static int start_small_body(server *s, struct lws *wsi, struct pss *p, enum route route) {
    errinfo err;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0) {
        p->route = route;
        return on_small_body(s, wsi, p); /* close_after stays: lws may await a body */
    }
    p->close_after = 1;
    if (content_length(wsi, p, API_BODY_MAX, &p->expect) < 0)
        return 0;
    /* Held like a webhook's: in the budget, under the body deadline. */
    if (connlimit_body_start(s->conns, conn_of(wsi), p->expect, clock_mono_ms(), &err) < 0) {
        p->retry_after = RETRY_AFTER_S;
        return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s: try again later", err.msg);
    }
    p->close_after = 0;
    p->route = route;
    return p->expect == 0 ? on_small_body(s, wsi, p) : 0;
}

/* GET /login shows the form; POST /login trades a token for a session.
 * Another site's form must not log the browser in: Origin is checked. */
static int login(server *s, struct lws *wsi, struct pss *p, int meth) {
    if (meth == LWSHUMETH_GET)
        return stage_big(wsi, p, HTTP_STATUS_OK, "text/html; charset=utf-8", strdup(webpage_login_html));
    if (meth != LWSHUMETH_POST) {
        p->allow = "GET, POST";
        return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
    }
    if (!auth_origin_ok(s->auth, wsi))
        return stage_error(wsi, p, HTTP_STATUS_FORBIDDEN, "Origin is not this bot's");
    return start_small_body(s, wsi, p, R_LOGIN);
}

/* A query argument ("env=") into buf; NULL when absent or empty. */
static const char *query_arg(struct lws *wsi, const char *name, char *buf, size_t len) {
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, (int)len);
    return v && *v ? v : NULL;
}

/* GET /: the cards, and the runs the query's filters select. */
static int dashboard(server *s, struct lws *wsi, struct pss *p) {
    char env[80], kind[32], result[32];
    webpage_filter f = {query_arg(wsi, "env=", env, sizeof(env)), query_arg(wsi, "kind=", kind, sizeof(kind)),
                        query_arg(wsi, "result=", result, sizeof(result))};
    run_filter rf = {f.env, f.kind, f.result};
    errinfo err;
    json_t *cards = envview_cards(s->view, s->db, &err);
    json_t *runs = cards ? store_runs_find_json(s->db, &rf, 100, &err) : NULL;
    int rc;

    if (!runs) {
        json_decref(cards);
        p->retry_after = RETRY_AFTER_S;
        return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s", err.msg);
    }
    rc = stage_big(wsi, p, HTTP_STATUS_OK, "text/html; charset=utf-8", webpage_dashboard(cards, runs, &f));
    json_decref(cards);
    json_decref(runs);
    return rc;
}

/* GET /runs/ID. */
static int run_page(server *s, struct lws *wsi, struct pss *p, const char *rest) {
    char *end;
    long id = strtol(rest, &end, 10);
    json_t *run = id > 0 && *end == '\0' ? store_run_get_json(s->db, id, NULL) : NULL;
    int rc;

    if (!run)
        return stage_error(wsi, p, HTTP_STATUS_NOT_FOUND, "no such run");
    rc = stage_big(wsi, p, HTTP_STATUS_OK, "text/html; charset=utf-8", webpage_run(run));
    json_decref(run);
    return rc;
}

/* GET /api/environments[/ENV]. */
static int api_environments(server *s, struct lws *wsi, struct pss *p, const char *rest) {
    json_t *answer = NULL;
    unsigned status = api_environment_get(s->view, s->db, rest, &answer);

    return stage_big_json(wsi, p, status, answer);
}

static int is_page(const char *path) {
    return strcmp(path, "/") == 0 || strncmp(path, "/runs/", 6) == 0;
}

/* 0 when the credential may do this; else the refusal is staged. A page
 * answers its 401 with the login form. */
static int authorize(server *s, struct lws *wsi, struct pss *p, const char *path, int meth) {
    char why[AUTH_WHY_MAX];
    int reads = meth == LWSHUMETH_GET;
    unsigned status = auth_check(s->auth, wsi, reads ? BOT_ROLE_READ : BOT_ROLE_OPERATE, !reads, &p->who, why);

    if (status == 0)
        return 0;
    if (status == HTTP_STATUS_UNAUTHORIZED)
        set_header(p, "www-authenticate:", "Bearer");
    if (status == HTTP_STATUS_UNAUTHORIZED && reads && is_page(path))
        stage_big(wsi, p, status, "text/html; charset=utf-8", strdup(webpage_login_html));
    else
        stage_error(wsi, p, status, "%s", why);
    return -1;
}

/* GET /metrics (bot/metrics.h). */
static int scrape(server *s, struct lws *wsi, struct pss *p, int meth) {
    errinfo err;
    char *text;

    if (meth != LWSHUMETH_GET) {
        p->allow = "GET";
        return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
    }
    if (!(text = bot_metrics_scrape(s->metrics, s->db, &err)))
        return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "%s", err.msg);
    return stage_big(wsi, p, HTTP_STATUS_OK, BOT_METRICS_CONTENT_TYPE, text);
}

/* What needs a credential: the pages, the history, the metrics, the operate endpoints. */
static int on_app_request(server *s, struct lws *wsi, struct pss *p, const char *path, int meth) {
    size_t n = strlen(API_ENVIRONMENTS);

    /* GET of the list or of one environment; the rest are the POSTs. */
    if (meth == LWSHUMETH_GET && (strcmp(path, API_ENVIRONMENTS_LIST) == 0 ||
                                  (strncmp(path, API_ENVIRONMENTS, n) == 0 && !strchr(path + n, '/'))))
        return api_environments(s, wsi, p, path + n - 1);
    if (strncmp(path, API_ENVIRONMENTS, n) == 0 && strlen(path + n) < sizeof(p->api_path)) {
        if (meth != LWSHUMETH_POST) {
            p->allow = "POST";
            return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
        }
        snprintf(p->api_path, sizeof(p->api_path), "%s", path + n);
        return start_small_body(s, wsi, p, R_API);
    }
    if (meth == LWSHUMETH_POST && strncmp(path, API_RUNS, strlen(API_RUNS)) == 0 &&
        strlen(path + strlen(API_RUNS)) < sizeof(p->api_path)) {
        snprintf(p->api_path, sizeof(p->api_path), "%s", path + strlen(API_RUNS));
        return start_small_body(s, wsi, p, R_API_RUN);
    }
    if (strncmp(path, "/api/runs", 9) == 0)
        return api_runs(s, wsi, p, path + 9, meth);
    if (strcmp(path, "/metrics") == 0)
        return scrape(s, wsi, p, meth);
    if (meth == LWSHUMETH_GET && strcmp(path, "/") == 0)
        return dashboard(s, wsi, p);
    if (meth == LWSHUMETH_GET && strncmp(path, "/runs/", 6) == 0)
        return run_page(s, wsi, p, path + 6);
    return stage_error(wsi, p, HTTP_STATUS_NOT_FOUND, "not found");
}

static int on_request(server *s, struct lws *wsi, struct pss *p,
                      const char *path) {
    char *uri;
    int ulen, meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);

    p->close_after = has_body(wsi);
    connlimit_conn_answering(s->conns, conn_of(wsi), clock_mono_ms());
    if (strcmp(path, "/healthz") == 0) {
        if (meth == LWSHUMETH_GET)
            return stage(wsi, p, HTTP_STATUS_OK, "text/plain", "ok", 2);
        p->allow = "GET";
        return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED,
                           "method not allowed");
    }
    if (host_find_path(path)) {
        /* Another host's deliveries are not this bot's (a wrong URL). */
        if (host_find_path(path) != s->host)
            return stage_error(wsi, p, HTTP_STATUS_NOT_FOUND, "not found: this bot's host is %s",
                               s->host->display);
        if (meth == LWSHUMETH_POST)
            return start_webhook(s, wsi, p);
        p->allow = "POST";
        return stage_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED,
                           "method not allowed");
    }
    /* Webhooks are authenticated by their signatures, never by a token:
     * the endpoint of a host deploybot does not know is simply not there. */
    if (strncmp(path, "/webhooks/", 10) == 0)
        return stage_error(wsi, p, HTTP_STATUS_NOT_FOUND, "not found: this bot's host is %s",
                           s->host->display);
    if (strcmp(path, "/login") == 0)
        return login(s, wsi, p, meth);
    if (strcmp(path, "/favicon.ico") == 0 && meth == LWSHUMETH_GET)
        return stage_big(wsi, p, HTTP_STATUS_OK, "image/svg+xml", strdup(webpage_icon_svg));
    if (authorize(s, wsi, p, path, meth) < 0)
        return 0;
    return on_app_request(s, wsi, p, path, meth);
}

static int on_body(server *s, struct lws *wsi, struct pss *p, const char *in,
                   size_t len) {
    if (p->route == R_NONE || p->answered || !len)
        return 0;
    /* lws stops at Content-Length, which we capped; this is the backstop. */
    if (len > p->expect - p->len) {
        p->close_after = 1;
        return stage_error(wsi, p, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
                           "body exceeds its Content-Length or the limit of %zu bytes",
                           s->max_body);
    }
    /* Its whole size at once: pages not yet written take no memory, and
     * the budget already counts all of it. */
    if (!p->body && !(p->body = malloc(p->expect + 1))) {
        p->close_after = 1;
        return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "out of memory");
    }
    memcpy(p->body + p->len, in, len);
    p->len += len;
    if (p->verify)
        s->host->verify_update(p->verify, in, len);
    connlimit_conn_progress(conn_of(wsi), len, clock_mono_ms());
    return 0;
}

/* ---- the webhook -------------------------------------------------------- */

/* Order matters: an unauthenticated caller learns nothing but 401, and only
 * a verified, well-formed push or pull request reaches the queue. The
 * headers were checked before the body was read. */
static int authenticate(server *s, struct lws *wsi, struct pss *p) {
    const char *why = NULL;
    host_verify *v = p->verify;
    errinfo err;

    p->verify = NULL;
    if (!s->host->verify_end(v, &p->hdr, p->body ? p->body : "", p->len, &why))
        return stage_error(wsi, p, HTTP_STATUS_UNAUTHORIZED, "%s", why);
    if (s->host->delivery_id(&p->hdr, p->delivery, sizeof(p->delivery), &err) < 0 ||
        s->host->event_name(&p->hdr, p->event, sizeof(p->event), &err) < 0)
        return stage_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "%s", err.msg);
    p->verified = 1;
    return 1;
}

/* Hands the delivery to the writer; the answer waits for its commit
 * (committed, below). */
static int enqueue(server *s, struct lws *wsi, struct pss *p, const char *json) {
    ingest_item *it = ingest_item_new(p->delivery, p->event, json, wsi);

    if (!it)
        return stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "cannot persist job: out of memory");
    p->waiting = it;
    ingest_submit(s->writer, it);
    return 0;
}

/* Stages the answer of a delivery the writer is done with. */
static void answer_committed(struct lws *wsi, struct pss *p, const ingest_item *it) {
    if (it->failed) {
        lwsl_err("deploybot: cannot persist job: %s\n", it->err.msg);
        if (it->err.code == ERR_UNAVAILABLE) /* the database is busy or reconnecting */
            p->retry_after = RETRY_AFTER_S;
        stage_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "cannot persist job: %s", it->err.msg);
    } else if (it->duplicate) {
        p->result = "duplicate";
        stage_json(wsi, p, HTTP_ACCEPTED, json_pack("{s:b,s:b}", "queued", 0, "duplicate", 1));
    } else {
        p->result = "accepted";
        stage_json(wsi, p, HTTP_ACCEPTED, json_pack("{s:b,s:I}", "queued", 1, "job", (json_int_t)it->job_id));
    }
    log_outcome(wsi, p);
}

/* The writer committed a batch: the 202s are staged, and the worker told
 * once for all the new jobs. */
static void committed(server *s) {
    ingest_item *it = ingest_take_done(s->writer), *next;
    int new_jobs = 0;

    for (; it; it = next) {
        struct lws *wsi = it->conn;
        struct pss *p = lws_wsi_user(wsi);

        next = it->next;
        p->waiting = NULL;
        answer_committed(wsi, p, it);
        new_jobs |= it->job_id > 0;
        ingest_item_free(it);
    }
    if (new_jobs && s->on_job)
        s->on_job(s->arg);
}

/* From the writer thread: only a write(2) to lws' wake-up pipe. */
static void wake_service(void *arg) {
    server *s = arg;

    lws_cancel_service(s->ctx);
}

/* Acts on a verified delivery whose JSON text is `json`. */
static int accept_event(server *s, struct lws *wsi, struct pss *p, const char *json,
                        size_t jlen) {
    host_event ev;
    errinfo err;
    char name[sizeof(p->event)], repo[sizeof(ev.repo)];

    if (s->host->parse(p->event, json, jlen, &ev, &err) < 0)
        return stage_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "%s", err.msg);
    /* A hook of another repository signed with the same secret must not
     * deploy this one's environments: refused before anything is stored.
     * Hosts compare owner and repository names without case. */
    if (s->repo_name && ev.kind != HOST_EVENT_IGNORED && ev.repo[0] &&
        strcasecmp(ev.repo, s->repo_name) != 0)
        return stage_error(wsi, p, HTTP_STATUS_FORBIDDEN,
                           "delivery is for repository %s, this bot deploys %s",
                           printable(ev.repo, repo, sizeof(repo)), s->repo_name);
    switch (ev.kind) {
    case HOST_EVENT_PING:
        p->result = "ping";
        return stage_json(wsi, p, HTTP_STATUS_OK,
                          json_pack("{s:b,s:s}", "ok", 1, "zen", ev.zen));
    case HOST_EVENT_PUSH:
        if (!ev.deleted)
            return enqueue(s, wsi, p, json);
        p->result = "ignored";
        return stage_json(wsi, p, HTTP_ACCEPTED,
                          json_pack("{s:b,s:s+}", "queued", 0, "reason",
                                    ev.ref, " deleted: nothing to deploy"));
    case HOST_EVENT_PULL_REQUEST:
        return enqueue(s, wsi, p, json);
    case HOST_EVENT_IGNORED:
    default:
        p->result = "ignored";
        return stage_json(wsi, p, HTTP_ACCEPTED,
                          json_pack("{s:b,s:s++}", "queued", 0, "reason",
                                    "event ",
                                    printable(p->event, name, sizeof(name)),
                                    " ignored"));
    }
}

static void log_outcome(struct lws *wsi, struct pss *p) {
    char peer[64] = "", ev[64], dl[128];

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    printable(p->delivery, dl, sizeof(dl));
    printable(p->event, ev, sizeof(ev));
    if (log_is_json()) /* the delivery as a key of its own */
        log_write(LOG_INFO, &(log_ctx){.delivery = dl}, "webhook from %s event=%s -> %u %.*s", peer, ev, p->status,
                  (int)p->resp_len, p->resp);
    else
        lwsl_notice("deploybot: webhook from %s delivery=%s event=%s -> %u %.*s\n", peer, dl, ev, p->status,
                    (int)p->resp_len, p->resp);
}

/* ---- the API and the login form ---------------------------------------- */

/* The token is never logged: only which credential it was, and who asked. */
static int login_done(server *s, struct lws *wsi, struct pss *p) {
    char cookie[AUTH_COOKIE_MAX], peer[64] = "";
    int ok = auth_login(s->auth, p->body ? p->body : "", p->len, (long long)time(NULL), cookie, &p->who);

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    lwsl_notice("deploybot: login from %s: %s%s\n", peer, ok ? "session for " : "refused", p->who.name);
    if (!ok)
        return stage_big(wsi, p, HTTP_STATUS_UNAUTHORIZED, "text/html; charset=utf-8",
                         strdup(webpage_login_failed_html));
    set_header(p, "set-cookie:", cookie);
    p->location = "/";
    return stage(wsi, p, HTTP_STATUS_SEE_OTHER, "text/plain", "logged in", 9);
}

static int on_small_body(server *s, struct lws *wsi, struct pss *p) {
    char path[sizeof(p->api_path)];
    json_t *answer = NULL;
    unsigned status;

    if (p->route == R_LOGIN)
        return login_done(s, wsi, p);
    if (p->route == R_API_RUN)
        status = api_run_post(s->db, p->api_path, &answer);
    else
        status = api_environment_post(s->db, p->api_path, p->who.name, p->body ? p->body : "", p->len, &answer);
    lwsl_notice("deploybot: api POST %s%s by %s -> %u\n", p->route == R_API_RUN ? API_RUNS : API_ENVIRONMENTS,
                printable(p->api_path, path, sizeof(path)), p->who.name, status);
    return stage_json(wsi, p, status, answer);
}

static int on_body_done(server *s, struct lws *wsi, struct pss *p) {
    errinfo err;
    size_t jlen = 0;
    char *json;

    if ((p->route == R_API || p->route == R_API_RUN || p->route == R_LOGIN) && !p->answered)
        return on_small_body(s, wsi, p);
    if (p->route != R_WEBHOOK || p->answered)
        return 0;
    connlimit_conn_answering(s->conns, conn_of(wsi), clock_mono_ms());
    if (authenticate(s, wsi, p) == 1) {
        json = s->host->json(&p->hdr, p->body ? p->body : "", p->len, &jlen, &err);
        if (!json)
            stage_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "%s", err.msg);
        else
            accept_event(s, wsi, p, json, jlen);
        free(json);
    }
    if (!p->waiting)
        log_outcome(wsi, p);
    return 0;
}

/* ---- connections (bot/connlimit.h) --------------------------------------- */

/* Answers a request lws will not hand over as HTTP (an upgrade) at once:
 * 1 when the connection can go on, -1 when an unread body means it must
 * close. */
static int refuse_now(struct lws *wsi, unsigned status, const char *msg) {
    struct pss p = {.close_after = has_body(wsi)};
    server *s = server_of(wsi);

    stage_error(wsi, &p, status, "%s", msg);
    if (status == HTTP_STATUS_UNAUTHORIZED)
        set_header(&p, "www-authenticate:", "Bearer");
    if (write_small(wsi, &p) < 0 || p.close_after)
        return -1;
    connlimit_conn_waiting(s->conns, conn_of(wsi), clock_mono_ms());
    return 1;
}

/* The subprotocol a WebSocket at this path must ask for, or NULL when no
 * WebSocket is served there. */
static const char *websocket_protocol(struct lws *wsi) {
    char uri[64];

    if (livelog_run_id(wsi))
        return LIVELOG_PROTOCOL;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 && strcmp(uri, ENVLIVE_PATH) == 0)
        return ENVLIVE_PROTOCOL;
    return NULL;
}

/* The live log and the live cards are the only WebSockets: anything else
 * would be held open, idle, by a protocol nobody serves. h2c is refused
 * rather than half spoken (lws would switch and then never read the
 * request's body). */
static int confirm_upgrade(struct lws *wsi, const char *upgrade) {
    char proto[128], why[AUTH_WHY_MAX];
    const char *want = websocket_protocol(wsi);
    auth_who who;
    unsigned status;

    if (strcasecmp(upgrade, "h2c") == 0)
        return refuse_now(wsi, HTTP_STATUS_BAD_REQUEST,
                          "HTTP/2 upgrades (Upgrade: h2c) are not supported: "
                          "send the request as HTTP/1.1 without Upgrade");
    if (strcasecmp(upgrade, "websocket") != 0)
        return -1; /* lws has answered any other upgrade with 403 already */
    if (!want)
        return refuse_now(wsi, HTTP_STATUS_NOT_FOUND,
                          "WebSocket is only served at /runs/ID/live and " ENVLIVE_PATH);
    if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 || !strstr(proto, want))
        return refuse_now(wsi, HTTP_STATUS_BAD_REQUEST,
                          strcmp(want, LIVELOG_PROTOCOL) == 0
                              ? "WebSocket needs the subprotocol " LIVELOG_PROTOCOL
                              : "WebSocket needs the subprotocol " ENVLIVE_PROTOCOL);
    /* The live log shows what a run page shows: a read credential, and
     * no other site's page (bot/auth.h). */
    if ((status = auth_check(server_of(wsi)->auth, wsi, BOT_ROLE_READ, 0, &who, why)))
        return refuse_now(wsi, status, why);
    return 0;
}

/* lws turns a CONNECT into a raw connection bound to this protocol: it is
 * answered and closed, never held. */
static int refuse_connect(struct lws *wsi) {
    static const char answer[] =
        "HTTP/1.1 405 Method Not Allowed\r\n"
        "content-type: application/json\r\n"
        "content-length: 32\r\n"
        "connection: close\r\n\r\n"
        "{\"error\":\"method not allowed\"}\r\n";
    uint8_t buf[LWS_PRE + sizeof(answer)];

    memcpy(buf + LWS_PRE, answer, sizeof(answer) - 1);
    lws_write(wsi, buf + LWS_PRE, sizeof(answer) - 1, LWS_WRITE_RAW);
    return -1;
}

static void kill_conn(void *handle, const char *why, void *arg) {
    server *s = arg;

    s->killed++;
    s->killed_why = why;
    lws_set_timeout(handle, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void sweep(lws_sorted_usec_list_t *sul) {
    server *s = lws_container_of(sul, server, sweep);

    connlimit_sweep(s->conns, clock_mono_ms());
    /* One line a second at most, however hard the bot is attacked. */
    if (s->killed)
        lwsl_notice("deploybot: closed %d connection(s) (the last: %s)\n", s->killed, s->killed_why);
    if (s->refused)
        lwsl_warn("deploybot: refused %d connection(s): %d open, none idle (limits.max_connections)\n",
                  s->refused, connlimit_count(s->conns));
    s->killed = s->refused = 0;
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep, LWS_US_PER_SEC);
}

/* Where a connection starts and ends, whatever it carries. 1: handled. */
static int on_connection(server *s, struct lws *wsi, enum lws_callback_reasons reason) {
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        if (s->stopping) /* draining (server_run): no new work */
            return -1;
        if (connlimit_admit(s->conns, clock_mono_ms()))
            return 0;
        s->refused++;
        return -1;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        /* Not at WSI_CREATE: lws sets the opaque pointer after that. */
        lws_set_opaque_user_data(wsi, connlimit_conn_open(s->conns, wsi, clock_mono_ms()));
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        connlimit_conn_close(s->conns, conn_of(wsi));
        lws_set_opaque_user_data(wsi, NULL);
        return 0;
    default:
        return 1;
    }
}

/* ---- lws glue ----------------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len) {
    struct pss *p = user;
    server *s = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        committed(s);
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
    case LWS_CALLBACK_WSI_DESTROY:
        return on_connection(s, wsi, reason);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(wsi, in ? (const char *)in : "");
    case LWS_CALLBACK_RAW_ADOPT:
        return refuse_connect(wsi);
    case LWS_CALLBACK_HTTP:
        return on_request(s, wsi, p, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(s, wsi, p, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(s, wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return p ? write_answer(wsi, p) : 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p)
            pss_free(wsi, p);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int live_callback(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len) {
    server *s = lws_context_user(lws_get_context(wsi));

    if (reason == LWS_CALLBACK_ESTABLISHED)
        connlimit_conn_websocket(s->conns, conn_of(wsi), clock_mono_ms());
    return livelog_callback(wsi, reason, user, in, len, s->db);
}

static int cards_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len) {
    server *s = lws_context_user(lws_get_context(wsi));

    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_ESTABLISHED)
        connlimit_conn_websocket(s->conns, conn_of(wsi), clock_mono_ms());
    return envlive_callback(wsi, reason, user, s->view, s->db);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(struct pss), 0, 0, NULL, 0},
    {LIVELOG_PROTOCOL, live_callback, LIVELOG_SESSION_BYTES, 4096, 0, NULL, 0},
    {ENVLIVE_PROTOCOL, cards_callback, ENVLIVE_SESSION_BYTES, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws 4.1 with IPv6 built in writes an IPv4 literal into the wrong place of
 * its sockaddr_in6 and so binds every interface: "127.0.0.1" would expose the
 * bot to the network. An IPv4 literal therefore gets an IPv4-only socket. A
 * name that is neither an address nor an interface must fail, not fall back
 * to "no listener". */
static uint64_t listen_options(const char *listen) {
    struct in_addr a4;
    uint64_t o = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;

    if (inet_pton(AF_INET, listen, &a4) == 1)
        o |= LWS_SERVER_OPTION_DISABLE_IPV6;
    return o;
}

/* Tries the bind lws is about to do, for an actionable error ("Address
 * already in use") where lws only logs; lws 4.1 also leaks on that path.
 * Interface names are left to lws. */
static int try_bind(const char *listen, int port, errinfo *err) {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr *sa = (struct sockaddr *)&a4;
    socklen_t salen = sizeof(a4);
    int fd, one = 1, rc = 0;

    a4.sin_port = a6.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, listen, &a6.sin6_addr) == 1) {
        sa = (struct sockaddr *)&a6;
        salen = sizeof(a6);
    } else if (inet_pton(AF_INET, listen, &a4.sin_addr) != 1) {
        return 0;
    }
    if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, salen) < 0)
        rc = errinfo_set(err, ERR_UNAVAILABLE, "cannot listen on %s port %d: %s",
                         listen, port, strerror(errno));
    close(fd);
    return rc;
}

/* The connection limits, with the soft fd limit raised first: a bot left
 * at the usual 1,024 would stop answering long before its cap. Returns the
 * fd limit lws may size its tables for, or -1. */
static int conn_settings(const bot_config *cfg, long nofile, connlimit_settings *set, errinfo *err) {
    int room = connlimit_max_for_fds(nofile, NOFILE_CEILING);

    *set = (connlimit_settings){.max_connections = cfg->max_connections,
                                .header_timeout_s = cfg->header_timeout_s,
                                .body_min_rate = cfg->body_min_rate,
                                .max_inflight_body = cfg->max_inflight_body};
    if (!set->max_connections)
        set->max_connections = room < CONNECTIONS_CEILING ? room : CONNECTIONS_CEILING;
    if (set->max_connections <= 0 || set->max_connections > room)
        return errinfo_set(err, ERR_LIMIT,
                           "limits.max_connections %d does not fit the open file limit %ld "
                           "(at most %d leave enough for the database, git and outgoing "
                           "HTTPS): lower it or raise the hard RLIMIT_NOFILE",
                           set->max_connections, nofile, room);
    return 0;
}

static long conns_new(server *s, const bot_config *cfg, errinfo *err) {
    connlimit_settings set;

    s->nofile = connlimit_nofile_raise(NOFILE_CEILING);
    if (conn_settings(cfg, s->nofile, &set, err) < 0)
        return -1;
    s->conns = connlimit_new(&set, kill_conn, s);
    s->ws_idle.secs_since_valid_ping = (uint16_t)cfg->ws_ping_interval_s;
    s->ws_idle.secs_since_valid_hangup = (uint16_t)(cfg->ws_ping_interval_s + cfg->header_timeout_s);
    lwsl_notice("deploybot: up to %d connections (open file limit %ld)\n", set.max_connections, s->nofile);
    return s->nofile;
}

/* Optional TLS: lws reads the files itself and only logs why it cannot,
 * so they are checked here first for a message that names them. */
static int tls_options(const bot_config *cfg, struct lws_context_creation_info *info, errinfo *err) {
    if (!cfg->tls_cert)
        return 0;
    if (access(cfg->tls_cert, R_OK) != 0)
        return errinfo_set(err, ERR_INVALID, "tls_cert %s: %s", cfg->tls_cert, strerror(errno));
    if (access(cfg->tls_key, R_OK) != 0)
        return errinfo_set(err, ERR_INVALID, "tls_key %s: %s", cfg->tls_key, strerror(errno));
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = cfg->tls_key;
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    return 0;
}

/* Secrets are wiped, not just freed: the heap may end up in a core dump. */
static void free_secret(char *secret) {
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

static char *copy(const char *v) {
    char *c = v ? strdup(v) : NULL;
    if (v && !c)
        abort();
    return c;
}

/* What the webhook route keeps of cfg (copies: the config may go first). */
static void take_webhook_settings(server *s, const bot_config *cfg) {
    free_secret(s->secret);
    free_secret(s->signing_key);
    free(s->repo_name);
    s->max_body = cfg->max_body;
    if (!(s->host = host_find(cfg->host_type)))
        abort(); /* bot_config_load checked it */
    s->secret = cfg->webhook_secret && *cfg->webhook_secret ? copy(cfg->webhook_secret) : NULL;
    s->repo_name = copy(cfg->repo_name);
    s->signing_key = copy(cfg->host_signing_key);
    s->hcfg = (host_config){.type = s->host->type, .webhook_secret = s->secret, .signing_key = s->signing_key, .require_signature = cfg->host_require_signature};
}

/* The session key is the database's (store/keys.h): sessions outlive a
 * restart, and a fresh data_dir logs everyone out. */
static int start_auth(server *s, const bot_config *cfg, errinfo *err) {
    unsigned char key[SESSION_KEY_BYTES];

    if (store_key_get(s->db, "session", key, sizeof(key), err) < 0)
        return errinfo_prefix(err, "the session key");
    s->auth = auth_new(cfg, s->port, key);
    digest_cleanse(key, sizeof(key));
    if (cfg->n_api_tokens == 0)
        lwsl_warn("deploybot: no api_tokens configured: the UI and API answer 401\n");
    for (size_t i = 0; i < cfg->n_api_tokens; i++)
        if (!cfg->api_tokens[i].token)
            lwsl_warn("deploybot: api token \"%s\": %s is not set: that credential is disabled\n",
                      cfg->api_tokens[i].name, cfg->api_tokens[i].token_env);
    return 0;
}

/* libwebsockets' lines (the server's own lwsl_* included, which repeat a
 * delivery's headers) are log lines like any other: masked, and JSON lines
 * with JSON logs; without its timestamp. */
static void lws_log_emit(int level, const char *line) {
    log_level lv = level & LLL_ERR ? LOG_ERROR : level & LLL_WARN ? LOG_WARN
                                                                  : LOG_INFO;
    if (strncmp(line, "deploybot: ", 11) == 0) line += 11;
    log_write(lv, NULL, "%s", line);
}

server *server_new(const bot_config *cfg, const char *db_path, metrics *m,
                   server_job_cb on_job, void *arg, errinfo *err) {
    struct lws_context_creation_info info;
    server *s = calloc(1, sizeof(*s));
    long nofile;

    if (!s)
        abort();
    s->on_job = on_job;
    s->arg = arg;
    s->metrics = m;
    lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, lws_log_emit);
    if (!(s->listen = strdup(cfg->listen)))
        abort();
    take_webhook_settings(s, cfg);
    s->view = envview_new(cfg);
    /* Every connection waits while this thread is busy: a short wait, and
     * no checkpoint (the writer's checkpointer does them). */
    if ((nofile = conns_new(s, cfg, err)) < 0 ||
        !(s->db = store_open(db_path, STORE_MKDIR | STORE_SHORT_WAIT | STORE_NO_CHECKPOINT, err)) ||
        !(s->writer = ingest_start(db_path, &cfg->ingest, wake_service, s, err)) ||
        try_bind(cfg->listen, cfg->port, err) < 0) {
        server_free(s);
        return NULL;
    }
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = s->listen;
    info.protocols = protocols;
    info.user = s;
    info.timeout_secs = TIMEOUT_SECS;
    info.max_http_header_data = HEADER_BYTES;
    info.fd_limit_per_thread = (unsigned)nofile;
    info.retry_and_idle_policy = &s->ws_idle;
    info.options = listen_options(cfg->listen);
    if (tls_options(cfg, &info, err) < 0) {
        server_free(s);
        return NULL;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx && cfg->tls_cert) {
        errinfo_set(err, ERR_INVALID,
                    "cannot listen on %s port %d with TLS: is %s a PEM certificate and %s its key?",
                    cfg->listen, cfg->port, cfg->tls_cert, cfg->tls_key);
        server_free(s);
        return NULL;
    }
    if (!s->ctx) {
        errinfo_set(err, ERR_UNAVAILABLE,
                    "cannot listen on %s port %d: port in use, or "
                    "\"listen\" is not an IP address or interface of this host",
                    cfg->listen, cfg->port);
        server_free(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx,
                                                              "default"));
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep, LWS_US_PER_SEC);
    if (start_auth(s, cfg, err) < 0) {
        server_free(s);
        return NULL;
    }
    if (!s->secret)
        lwsl_warn(
            "deploybot: no webhook secret in the environment: every "
            "delivery will be refused with 401\n");
    lwsl_notice("deploybot: listening on %s://%s%s%s:%d\n", cfg->tls_cert ? "https" : "http",
                strchr(cfg->listen, ':') ? "[" : "", cfg->listen,
                strchr(cfg->listen, ':') ? "]" : "", s->port);
    return s;
}

int server_port(const server *s) {
    return s->port;
}

/* lws_service sleeps until an event: while draining, one comes this often. */
static void drain_tick(lws_sorted_usec_list_t *sul) {
    server *s = lws_container_of(sul, server, drain_sul);
    lws_sul_schedule(s->ctx, 0, &s->drain_sul, drain_tick, DRAIN_TICK_MS * LWS_US_PER_MS);
}

/* After a stop: new connections are closed as they come (on_connection;
 * lws 4.1's lws_context_deprecate, which would close the listening socket,
 * uses the socket after freeing it), and the loop goes on until no request
 * body is being received, so that a delivery under way is still answered,
 * or DRAIN_MS passed. */
static void drain(server *s) {
    long long until = clock_mono_ms() + DRAIN_MS;

    if (connlimit_inflight(s->conns) == 0)
        return;
    drain_tick(&s->drain_sul);
    while (connlimit_inflight(s->conns) > 0 && clock_mono_ms() < until)
        if (lws_service(s->ctx, 0) < 0)
            return;
    /* And a moment for the answers staged meanwhile to be written. */
    for (int i = 0; i < 4; i++)
        lws_service(s->ctx, 0);
}

int server_run(server *s) {
    int n = 0;

    while (!s->stopping && !s->reloading && n >= 0)
        n = lws_service(s->ctx, 0);
    if (n < 0)
        return -1;
    if (!s->stopping) {
        s->reloading = 0;
        return 1;
    }
    drain(s);
    return 0;
}

/* Only a store and a write(2) to lws' wake-up pipe: async-signal-safe. */
void server_stop(server *s) {
    s->stopping = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

void server_reload_request(server *s) {
    s->reloading = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

int server_configure(server *s, const bot_config *cfg, errinfo *err) {
    connlimit_settings set;
    unsigned char key[SESSION_KEY_BYTES];

    if (conn_settings(cfg, s->nofile, &set, err) < 0)
        return -1;
    if (store_key_get(s->db, "session", key, sizeof(key), err) < 0)
        return errinfo_prefix(err, "the session key");
    auth_free(s->auth);
    s->auth = auth_new(cfg, s->port, key);
    digest_cleanse(key, sizeof(key));
    connlimit_configure(s->conns, &set);
    take_webhook_settings(s, cfg);
    return 0;
}

void server_free(server *s) {
    if (!s)
        return;
    /* The writer first: it wakes the context, which must still be there. */
    ingest_stop(s->writer);
    if (s->ctx)
        lws_context_destroy(s->ctx);
    ingest_free(s->writer); /* after the connections, which abandon their items */
    connlimit_free(s->conns);
    store_close(s->db);
    auth_free(s->auth);
    envview_free(s->view);
    free(s->listen);
    free(s->repo_name);
    free_secret(s->secret);
    free_secret(s->signing_key);
    free(s);
}
