/* notifier: see notifier.h. */
#include "notify/notifier.h"
#include "notify/outbox.h"
#include "notify/prstate.h"
#include "notify/render.h"
#include "util/clock.h"
#include "util/log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct notifier {
    store *db; /* the outbox and the pull requests' plans */
    char kind_status[48], kind_pr_comment[48], kind_commit_comment[48], channel[32];
    const notify_settings *settings;
    const redactor *rd;
};

/* The host's messages are "<type>_<call>" on the channel "<type>"
 * (notify/sender.h). */
static void host_kinds(notifier *n, const char *type) {
    if (!type) type = "github";
    snprintf(n->kind_status, sizeof(n->kind_status), "%.20s_status", type);
    snprintf(n->kind_pr_comment, sizeof(n->kind_pr_comment), "%.20s_pr_comment", type);
    snprintf(n->kind_commit_comment, sizeof(n->kind_commit_comment), "%.20s_commit_comment", type);
    snprintf(n->channel, sizeof(n->channel), "%.20s", type);
}

notifier *notifier_open(const char *db_path, const char *host_type, const notify_settings *settings,
                        const redactor *rd, errinfo *err) {
    notifier *n = calloc(1, sizeof(*n));
    if (!n) abort();
    host_kinds(n, host_type);
    n->db = outbox_open(db_path, err);
    if (!n->db) {
        notifier_close(n);
        return NULL;
    }
    n->settings = settings;
    n->rd = rd;
    return n;
}

void notifier_close(notifier *n) {
    if (!n) return;
    store_close(n->db);
    free(n);
}

/* Every text that leaves the bot passes here: secrets masked, bytes that
 * are not UTF-8 replaced (JSON could not carry them). */
static char *clean(const notifier *n, const char *s) {
    char *c = redact(n->rd, s);
    if (c) render_valid_utf8(c);
    return c;
}

/* Serialises, redacts once more (defence in depth: nothing rendered may
 * carry a secret that came in some other way), and stores. Takes payload. */
static int put(notifier *n, const char *kind, const char *target, const char *channel, const char *order,
               json_t *payload) {
    errinfo err;
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text) {
        log_write(LOG_ERROR, NULL, "notify: cannot encode a %s message", kind);
        return -1;
    }
    char *safe = redact(n->rd, text);
    free(text);
    outbox_new_msg m = {kind, target, channel, order, safe};
    int rc = store_outbox_enqueue(n->db, &m, clock_wall_ms(), NULL, &err);
    if (rc != 0) log_write(LOG_ERROR, NULL, "notify: %s message lost: %s", kind, err.msg);
    free(safe);
    return rc;
}

/* GitHub compares repositories and contexts case-insensitively. */
static char *lower_fmt(const char *fmt, const char *a, const char *b, const char *c) {
    char *s;
    if (asprintf(&s, fmt, a, b, c) < 0) abort();
    for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}

int notifier_status(notifier *n, const char *repo, const char *sha, const char *context,
                    const char *state, const char *description, const char *target_url) {
    char *desc = clean(n, description ? description : "");
    json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "sha", sha, "state", state, "context", context, "description", desc);
    if (p && target_url) json_object_set_new(p, "target_url", json_string(target_url));
    char *order = lower_fmt("status:%s@%s/%s", repo, sha, context);
    int rc = put(n, n->kind_status, repo, n->channel, order, p);
    free(order), free(desc);
    return rc;
}

/* The comment is rendered by the sender from prstate, so the message only
 * names the pull request; one key keeps its edits in order. */
static int pr_comment(notifier *n, const char *repo, long pr) {
    char num[32];
    snprintf(num, sizeof(num), "%ld", pr);
    char *order = lower_fmt("pr-comment:%s#%s%s", repo, num, "");
    int rc = put(n, n->kind_pr_comment, repo, n->channel, order, json_pack("{s:I}", "number", (json_int_t)pr));
    free(order);
    return rc;
}

int notifier_pr_head(notifier *n, const char *repo, long pr, const char *sha,
                     const char *const *envs, size_t n_envs) {
    errinfo err;
    if (store_pr_head(n->db, repo, pr, sha, envs, n_envs, &err) != 0) {
        log_write(LOG_ERROR, NULL, "notify: %s", err.msg);
        return -1;
    }
    return pr_comment(n, repo, pr);
}

/* Every chat route that wants this event for this environment gets it. */
static void chat(notifier *n, const notify_subject *s, notify_event ev, const notify_env_result *r) {
    if (!n->settings) return;
    for (size_t i = 0; i < n->settings->n_routes; i++) {
        const chat_route *rt = &n->settings->routes[i];
        if (!chat_route_wants(rt, r->env, ev)) continue;
        json_t *body = rt->kind == CHAT_SLACK     ? render_slack(s, ev, r)
                       : rt->kind == CHAT_DISCORD ? render_discord(s, ev, r)
                                                  : render_webhook(s, ev, r, (long long)time(NULL));
        json_t *p = body ? json_pack("{s:o}", "body", body) : NULL;
        if (p && rt->secret_env) json_object_set_new(p, "secret_env", json_string(rt->secret_env));
        char *channel;
        if (asprintf(&channel, "chat:%s:%s", chat_kind_name(rt->kind), rt->url_env) < 0) abort();
        /* One destination's messages arrive in order (started before succeeded). */
        put(n, chat_kind_name(rt->kind), rt->url_env, channel, channel, p);
        free(channel);
    }
}

void notifier_started(notifier *n, const notify_subject *s, const char *env) {
    notify_env_result r = {.env = env, .applied = 1};
    chat(n, s, NOTIFY_APPLY_STARTED, &r);
}

/* in's texts, cleaned (clean_free frees them). */
static notify_env_result clean_result(notifier *n, const notify_env_result *in) {
    notify_env_result r = *in;
    r.env = clean(n, in->env ? in->env : ""), r.summary = clean(n, in->summary ? in->summary : "");
    r.plan_text = clean(n, in->plan_text), r.error = clean(n, in->error), r.pending = 0;
    return r;
}

static void clean_free(notify_env_result *r) {
    free((char *)r->env), free((char *)r->summary), free((char *)r->plan_text), free((char *)r->error);
}

void notifier_drift(notifier *n, const notify_subject *s, const notify_env_result *in) {
    notify_env_result r = clean_result(n, in);
    chat(n, s, NOTIFY_DRIFT, &r);
    clean_free(&r);
}

void notifier_result(notifier *n, const notify_subject *s, const notify_env_result *in) {
    notify_env_result r = clean_result(n, in);
    chat(n, s, !r.applied ? NOTIFY_PLAN : r.failed ? NOTIFY_APPLY_FAILED
                                                   : NOTIFY_APPLY_SUCCEEDED,
         &r);
    if (s->pr_number > 0 && s->repo && s->sha) {
        r.url = s->run_url;
        errinfo err;
        int stored = prstate_result(n->db, s->repo, s->pr_number, s->sha, &r, &err);
        if (stored < 0) log_write(LOG_ERROR, NULL, "notify: %s", err.msg);
        if (stored > 0) pr_comment(n, s->repo, s->pr_number);
    } else if (r.applied && s->repo && s->sha) {
        r.url = NULL;
        char *body = render_commit_comment(s, &r, 1, 0);
        put(n, n->kind_commit_comment, s->repo, n->channel, NULL, json_pack("{s:s,s:s}", "sha", s->sha, "body", body));
        free(body);
    }
    clean_free(&r);
}
