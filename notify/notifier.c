/* notifier: see notifier.h. */
#include "notify/notifier.h"
#include "notify/outbox.h"
#include "notify/render.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A notify_env_result whose strings it owns. */
typedef struct {
    char *env, *summary, *plan_text, *error;
    int applied, failed, changes;
} owned_result;

struct notifier {
    outbox *box;
    const notify_settings *settings;
    const redactor *rd;
    int open;                    /* between begin and end */
    char *repo, *sha, *ref, *run_url;
    notify_subject subject;      /* points into the strings above */
    owned_result *results;
    size_t n_results;
};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

notifier *notifier_open(const char *db_path, const notify_settings *settings, const redactor *rd,
                        char *err, size_t errlen) {
    notifier *n = calloc(1, sizeof(*n));
    if (!n) abort();
    if (!(n->box = outbox_open(db_path, err, errlen))) {
        free(n);
        return NULL;
    }
    n->settings = settings;
    n->rd = rd;
    return n;
}

static void clear_job(notifier *n) {
    for (size_t i = 0; i < n->n_results; i++) {
        owned_result *r = &n->results[i];
        free(r->env), free(r->summary), free(r->plan_text), free(r->error);
    }
    free(n->results);
    free(n->repo), free(n->sha), free(n->ref), free(n->run_url);
    n->results = NULL;
    n->n_results = 0;
    n->repo = n->sha = n->ref = n->run_url = NULL;
    memset(&n->subject, 0, sizeof(n->subject));
    n->open = 0;
}

void notifier_close(notifier *n) {
    if (!n) return;
    clear_job(n);
    outbox_close(n->box);
    free(n);
}

/* Every text that leaves the bot passes here: secrets masked, bytes that
 * are not UTF-8 replaced (JSON could not carry them). */
static char *clean(const notifier *n, const char *s) {
    char *c = redact(n->rd, s);
    if (c) render_valid_utf8(c);
    return c;
}

/* Serialises, redacts once more (nothing rendered may carry a secret that
 * slipped in through a name), and stores. */
static int put(notifier *n, const char *kind, const char *target, const char *channel, const char *order,
               json_t *payload) {
    char err[512];
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text) {
        fprintf(stderr, "deploybot: notify: cannot encode a %s message\n", kind);
        return -1;
    }
    char *safe = redact(n->rd, text);
    free(text);
    outbox_new_msg m = {kind, target, channel, order, safe};
    int rc = outbox_enqueue(n->box, &m, now_ms(), NULL, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "deploybot: notify: %s message lost: %s\n", kind, err);
    free(safe);
    return rc;
}

static char *lower(const char *s) {
    char *l = strdup(s ? s : "");
    if (!l) abort();
    for (char *p = l; *p; p++) *p = (char)tolower((unsigned char)*p);
    return l;
}

int notifier_status(notifier *n, const char *repo, const char *sha, const char *context,
                    const char *state, const char *description, const char *target_url) {
    char *desc = clean(n, description ? description : ""), *key, *order;
    json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "sha", sha, "state", state, "context", context, "description", desc);
    if (p && target_url) json_object_set_new(p, "target_url", json_string(target_url));
    /* GitHub compares repositories and contexts case-insensitively. */
    if (asprintf(&key, "status:%s@%s/%s", repo, sha, context) < 0) abort();
    order = lower(key);
    int rc = put(n, "github_status", repo, "github", order, p);
    free(key), free(order), free(desc);
    return rc;
}

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

void notifier_begin(notifier *n, const notify_subject *s) {
    clear_job(n);
    n->repo = dup_or_null(s->repo);
    n->sha = dup_or_null(s->sha);
    n->ref = dup_or_null(s->ref);
    n->run_url = dup_or_null(s->run_url);
    n->subject = (notify_subject){n->repo, n->sha, n->ref, s->pr_number, n->run_url, s->revert_mainline};
    n->open = 1;
}

/* Every chat route that wants this event for this environment gets it. */
static void chat(notifier *n, notify_event ev, const notify_env_result *r) {
    if (!n->settings) return;
    for (size_t i = 0; i < n->settings->n_routes; i++) {
        const chat_route *rt = &n->settings->routes[i];
        if (!chat_route_wants(rt, r->env, ev)) continue;
        json_t *body = rt->kind == CHAT_SLACK     ? render_slack(&n->subject, ev, r)
                       : rt->kind == CHAT_DISCORD ? render_discord(&n->subject, ev, r)
                                                  : render_webhook(&n->subject, ev, r, (long long)time(NULL));
        json_t *p = body ? json_pack("{s:o}", "body", body) : NULL;
        if (p && rt->secret_env) json_object_set_new(p, "secret_env", json_string(rt->secret_env));
        char *channel;
        if (asprintf(&channel, "chat:%s:%s", chat_kind_name(rt->kind), rt->url_env) < 0) abort();
        /* One destination's messages arrive in order (started before succeeded). */
        put(n, chat_kind_name(rt->kind), rt->url_env, channel, channel, p);
        free(channel);
    }
}

void notifier_started(notifier *n, const char *env) {
    if (!n->open) return;
    notify_env_result r = {.env = env, .applied = 1};
    chat(n, NOTIFY_APPLY_STARTED, &r);
}

static notify_env_result view(const owned_result *o) {
    return (notify_env_result){o->env, o->applied, o->failed, o->changes, o->summary, o->plan_text, o->error};
}

void notifier_result(notifier *n, const notify_env_result *r) {
    if (!n->open) return;
    owned_result *rs = realloc(n->results, (n->n_results + 1) * sizeof(*rs));
    if (!rs) abort();
    n->results = rs;
    owned_result *o = &rs[n->n_results++];
    *o = (owned_result){clean(n, r->env ? r->env : ""), clean(n, r->summary ? r->summary : ""),
                        clean(n, r->plan_text), clean(n, r->error), r->applied, r->failed, r->changes};
    notify_env_result v = view(o);
    chat(n, !r->applied ? NOTIFY_PLAN : r->failed ? NOTIFY_APPLY_FAILED : NOTIFY_APPLY_SUCCEEDED, &v);
}

void notifier_end(notifier *n) {
    if (!n->open) return;
    notify_env_result *v = calloc(n->n_results + 1, sizeof(*v));
    if (!v) abort();
    int applied = 0;
    for (size_t i = 0; i < n->n_results; i++) {
        v[i] = view(&n->results[i]);
        applied |= v[i].applied;
    }
    if (n->subject.pr_number > 0 && n->repo) {
        char *body = render_pr_comment(&n->subject, v, n->n_results, 0), *key;
        if (asprintf(&key, "pr-comment:%s#%ld", n->repo, n->subject.pr_number) < 0) abort();
        char *k = lower(key);
        put(n, "github_pr_comment", n->repo, "github", k,
            json_pack("{s:I,s:s}", "number", (json_int_t)n->subject.pr_number, "body", body));
        free(body), free(key), free(k);
    } else if (applied && n->repo && n->sha) {
        char *body = render_commit_comment(&n->subject, v, n->n_results, 0);
        put(n, "github_commit_comment", n->repo, "github", NULL, json_pack("{s:s,s:s}", "sha", n->sha, "body", body));
        free(body);
    }
    free(v);
    clear_job(n);
}
