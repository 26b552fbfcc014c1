/* sender: see sender.h. */
#include "notify/sender.h"
#include "notify/chat.h"
#include "notify/outbox.h"
#include "notify/prstate.h"
#include "notify/render.h"
#include "util/clock.h"
#include "util/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 200   /* a due message blocked behind a paused channel or an older one of its key;
                           every look without the wake-up FIFO (store_outbox_wait) */
#define IDLE_MS 60000 /* nothing pending: an enqueue wakes the sender, this is a backstop */
#define BATCH 16
#define KEEP_SENT_MS (7LL * 24 * 3600 * 1000) /* sent messages kept for inspection */

struct sender {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked;
    int can_wait; /* store_outbox_wait works on this data_dir: no polling */
    store *db;    /* the outbox and the pull requests' plans */
    const host_ops *host;
    host_client *hc;
    host_config host_cfg; /* with a GitHub App: to remake the client with a new token */
    char *api_url;        /* host_cfg's, owned */
    ghapp *app;           /* a GitHub App's tokens; NULL: host_cfg's fixed token */
    char app_token[512];  /* the one the client holds */
    const redactor *rd;
    outbox_policy policy;
};

/* Sorts an answer into sent / retry / failed, and a pause of the channel.
 * now: when the answer arrived. */
static void classify(int rc, const http_response *r, int host, long long now, outbox_outcome *oc) {
    long long reset_ms = r->rate_reset > 0 ? r->rate_reset * 1000 : 0;
    if (rc == 0) {
        oc->result = OUTBOX_SENT;
        if (host && r->rate_remaining == 0 && reset_ms > now) oc->hold_until_ms = reset_ms;
        return;
    }
    long st = r->status;
    int limited = st == 429 || (st == 403 && (r->retry_after_ms >= 0 || r->rate_remaining == 0));
    oc->result = OUTBOX_RETRY;
    if (limited) {
        long long at = r->retry_after_ms >= 0                     ? now + r->retry_after_ms
                       : r->rate_remaining == 0 && reset_ms > now ? reset_ms
                                                                  : 0;
        /* GitHub: a secondary limit without a time means "at least a minute";
         * the other hosts are given the same. */
        if (!at && host) at = now + 60000;
        oc->retry_at_ms = at;
        oc->hold_until_ms = at;
    } else if (st == 0 || st >= 500 || st == 408 || st == 401 || st == 403) {
        /* Outages and credentials someone can fix: keep trying. */
        if (r->retry_after_ms >= 0) oc->retry_at_ms = now + r->retry_after_ms;
    } else {
        oc->result = OUTBOX_FAILED; /* GitHub or the chat will never accept it */
    }
}

static const char *str(json_t *p, const char *key) {
    const char *s = json_string_value(json_object_get(p, key));
    return s ? s : "";
}

/* The pull request's plan comment, rendered now from what prstate knows
 * (so it shows every environment planned so far); edited in place once it
 * exists. Returns 0 sent, -1 failed (see r and err), 1 outcome already set. */
static int send_pr_comment(sender *s, store *o, const outbox_msg *m, json_t *p, http_response *r,
                           long long now, outbox_outcome *oc, errinfo *err) {
    errinfo e;
    if (store_outbox_newer(o, m, NULL) > 0) {
        oc->result = OUTBOX_SENT; /* a newer edit is queued and will show all of this */
        return 1;
    }
    long number = (long)json_integer_value(json_object_get(p, "number"));
    prstate_view v;
    int have = prstate_load(o, m->target, number, &v, &e);
    if (have <= 0) {
        snprintf(oc->error, sizeof(oc->error), "%.500s",
                 have < 0 ? e.msg : "no plan recorded for this pull request");
        oc->result = have < 0 ? OUTBOX_RETRY : OUTBOX_FAILED;
        return 1;
    }
    notify_subject subj = {m->target, v.sha, NULL, number, NULL, 0};
    char *body = render_pr_comment(&subj, v.envs, v.n, s->host->comment_max);
    prstate_view_free(&v);
    const char *key = m->ordering_key ? m->ordering_key : m->target;
    long long id = 0;
    int rc, known = store_outbox_comment_get(o, key, &id, &e);
    if (known < 0) {
        snprintf(oc->error, sizeof(oc->error), "%.500s", e.msg);
        oc->result = OUTBOX_RETRY;
        rc = 1;
    } else if (known) {
        rc = s->host->pr_comment_update(s->hc, m->target, number, id, body, r, err);
        if (rc != 0 && r->status == 404) {
            /* Someone deleted it: post a new one, now. */
            store_outbox_comment_forget(o, key, NULL);
            snprintf(oc->error, sizeof(oc->error), "comment %lld is gone; posting a new one", id);
            oc->result = OUTBOX_RETRY;
            oc->retry_at_ms = now;
            rc = 1;
        }
    } else {
        rc = s->host->pr_comment_create(s->hc, m->target, number, body, &id, r, err);
        if (rc == 0 && store_outbox_comment_put(o, key, id, &e) < 0)
            log_write(LOG_WARN, NULL, "notify: %s (the next plan adds a new comment)", e.msg);
    }
    free(body);
    return rc;
}

static int kind_is(const outbox_msg *m, const char *k) { return strcmp(m->kind, k) == 0; }

/* A host message's call ("status", "pr_comment", "commit_comment"), or
 * NULL when the kind is not "<host type>_<call>" of a known host. */
static const char *host_call(const outbox_msg *m, const host_ops **h) {
    const char *us = strchr(m->kind, '_');
    char type[32];

    if (!us || (size_t)(us - m->kind) >= sizeof(type)) return NULL;
    snprintf(type, sizeof(type), "%.*s", (int)(us - m->kind), m->kind);
    *h = host_find(type);
    return *h ? us + 1 : NULL;
}

/* One call to the configured host: 0 or -1 as host_ops says, 1 when the
 * outcome is already set. */
static int send_host(sender *s, store *o, const outbox_msg *m, const host_ops *h, const char *call,
                     json_t *p, http_response *r, long long now, outbox_outcome *oc, errinfo *err) {
    if (h != s->host) {
        errinfo_set(err, ERR_INVALID, "%s is not the configured host (%s)", h->display, s->host->display);
        oc->result = OUTBOX_FAILED;
        return -1;
    }
    if (strcmp(call, "status") == 0)
        return h->status_post(s->hc, m->target, str(p, "sha"), str(p, "state"), str(p, "context"),
                              str(p, "description"), json_string_value(json_object_get(p, "target_url")), r,
                              err);
    if (strcmp(call, "pr_comment") == 0) return send_pr_comment(s, o, m, p, r, now, oc, err);
    if (strcmp(call, "commit_comment") == 0)
        return h->commit_comment_create(s->hc, m->target, str(p, "sha"), str(p, "body"), NULL, r, err);
    errinfo_set(err, ERR_INVALID, "unknown message kind \"%.40s\"", m->kind);
    oc->result = OUTBOX_FAILED;
    return -1;
}

/* With a GitHub App the client is remade with the current installation
 * token when it changes: failing to get one is retried like an outage. */
static int app_auth(sender *s, errinfo *err) {
    char tok[sizeof(s->app_token)];
    if (!s->app) return 0;
    if (ghapp_token(s->app, tok, sizeof(tok), err) < 0) return -1;
    if (strcmp(tok, s->app_token) != 0) {
        host_client_free(s->hc);
        memcpy(s->app_token, tok, sizeof(tok));
        s->host_cfg.token = s->app_token;
        s->hc = s->host->client_new(&s->host_cfg);
    }
    explicit_bzero(tok, sizeof(tok));
    return 0;
}

static void deliver(void *arg, store *o, const outbox_msg *m, long long now, outbox_outcome *oc) {
    sender *s = arg;
    http_response r;
    errinfo err = {0};
    memset(&r, 0, sizeof(r));
    r.retry_after_ms = r.rate_remaining = -1;
    json_t *p = json_loads(m->payload, 0, NULL);
    const host_ops *h = NULL;
    const char *call = host_call(m, &h);
    int rc = -1;
    if (!p) {
        errinfo_set(&err, ERR_INVALID, "payload is not JSON");
        oc->result = OUTBOX_FAILED;
    } else if (call && app_auth(s, &err) < 0) {
        rc = -1;
    } else if (call) {
        rc = send_host(s, o, m, h, call, p, &r, now, oc, &err);
    } else if (kind_is(m, "slack") || kind_is(m, "discord") || kind_is(m, "webhook")) {
        chat_kind k = kind_is(m, "slack") ? CHAT_SLACK : kind_is(m, "discord") ? CHAT_DISCORD
                                                                               : CHAT_WEBHOOK;
        rc = chat_post(k, m->target, json_string_value(json_object_get(p, "secret_env")),
                       json_object_get(p, "body"), m->id, &r, &err);
    } else {
        errinfo_set(&err, ERR_INVALID, "unknown message kind \"%.40s\"", m->kind);
        oc->result = OUTBOX_FAILED;
    }
    if (call && r.status == 401) ghapp_invalidate(s->app); /* revoked, or our clock is off */
    if (rc != 1) snprintf(oc->error, sizeof(oc->error), "%.*s", (int)sizeof(oc->error) - 1, err.msg);
    /* Retry-After counts from when the answer arrived (RFC 9110), not from
     * `now`, which was read before the batch: the messages before this one
     * and this request took time, and a retry reckoned from `now` went out
     * that much too early. */
    if (p && rc != 1 && oc->result != OUTBOX_FAILED) classify(rc, &r, call != NULL, clock_wall_ms(), oc);
    redact_buf(s->rd, oc->error, sizeof(oc->error));
    for (char *c = oc->error; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    /* Attempts 1, 2, 4, 8 ...: an outage is visible without flooding the log. */
    int noted = (m->attempts & (m->attempts - 1)) == 0 || oc->result == OUTBOX_FAILED;
    if (oc->result != OUTBOX_SENT && noted)
        log_write(oc->result == OUTBOX_FAILED ? LOG_ERROR : LOG_WARN, NULL, "notify #%lld %s, attempt %d: %s%s", m->id,
                  m->kind, m->attempts, oc->error, oc->result == OUTBOX_FAILED ? " (given up)" : " (will retry)");
    http_response_free(&r);
    json_decref(p);
}

static int stopping(sender *s) {
    pthread_mutex_lock(&s->mu);
    int v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* How long to wait before the next look at the outbox: until the next
 * message is due, or until one is enqueued. */
static long long wait_ms(long long next, long long now, int n) {
    if (n < 0) return 1000;
    if (next < 0) return IDLE_MS;
    return next > now ? next - now : POLL_MS;
}

static void sleep_ms(sender *s, long long ms) {
    struct timespec ts;
    errinfo e;
    if (s->can_wait) {
        if (store_outbox_wait(s->db, ms, &e) >= 0) return;
        log_write(LOG_WARN, NULL, "notify: %s; looking at the outbox every %d ms instead", e.msg, POLL_MS);
        s->can_wait = 0;
    }
    if (ms > POLL_MS) ms = POLL_MS;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && !s->kicked)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) break;
    s->kicked = 0;
    pthread_mutex_unlock(&s->mu);
}

static void *sender_main(void *arg) {
    sender *s = arg;
    while (!stopping(s)) {
        long long now = clock_wall_ms(), next;
        store_outbox_next_due(s->db, &next, NULL);
        int n = 0;
        if (next >= 0 && next <= now) {
            errinfo e;
            n = outbox_send_due(s->db, now, &s->policy, BATCH, deliver, s, &e);
            if (n < 0) log_write(LOG_ERROR, NULL, "notify: %s", e.msg);
        }
        if (n > 0) continue;
        /* A due message can still wait behind an older one of its key, or a
         * paused channel: never spin. */
        sleep_ms(s, wait_ms(next, now, n));
    }
    return NULL;
}

/* What a crash or a restart left in the outbox, and what cannot be sent
 * yet, for the log. */
static void resume(sender *s, const sender_options *o) {
    store_outbox_prune(s->db, clock_wall_ms() - KEEP_SENT_MS, NULL);
    long pending = store_outbox_count(s->db, "pending", NULL);
    if (pending > 0) log_write(LOG_INFO, NULL, "notify: %ld message(s) waiting to be sent", pending);
    char unset[512];
    if (notify_settings_unset(o->settings, unset, sizeof(unset)) > 0)
        log_write(LOG_WARN, NULL, "notify: not set: %s; chat messages for them wait until they are", unset);
}

static void sender_free(sender *s) {
    if (s->hc) host_client_free(s->hc);
    ghapp_free(s->app);
    free(s->api_url);
    explicit_bzero(s->app_token, sizeof(s->app_token));
    store_close(s->db);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

sender *sender_start(const sender_options *o, errinfo *err) {
    sender *s = calloc(1, sizeof(*s));
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->db = outbox_open(o->db_path, err);
    if (!s->db) {
        sender_free(s);
        return NULL;
    }
    errinfo e; /* listening before the first look: no enqueue falls in between */
    s->can_wait = store_outbox_wait(s->db, 0, &e) >= 0;
    if (!s->can_wait) log_write(LOG_WARN, NULL, "notify: %s; looking at the outbox every %d ms", e.msg, POLL_MS);
    resume(s, o);
    s->policy.base_ms = o->retry_base_ms;
    s->policy.claimer = o->claimer;
    s->host = o->host;
    s->hc = o->host->client_new(&o->host_cfg);
    s->app = ghapp_new(&o->app);
    if (s->app) { /* kept to remake the client: the config may be reloaded */
        s->api_url = strdup(o->host_cfg.api_url);
        s->host_cfg = (host_config){.type = o->host->type, .api_url = s->api_url};
    }
    s->rd = o->redactor;
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        errinfo_set(err, ERR_INTERNAL, "cannot start the notification sender thread");
        sender_free(s);
        return NULL;
    }
    return s;
}

void sender_wake(void *arg) {
    sender *s = arg;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->kicked = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    store_outbox_wake(s->db);
}

void sender_stop(sender *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    store_outbox_wake(s->db);
    pthread_join(s->thread, NULL);
    sender_free(s);
}
