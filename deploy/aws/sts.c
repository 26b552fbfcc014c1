/* sts: see sts.h. The cache holds a handful of sessions (one per
 * environment with a role): a list searched under one lock, which is also
 * held while a session is renewed, so that clients wanting the same session
 * at once make one AssumeRole between them. */
#include "deploy/aws/client.h"
#include "util/digest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_VERSION "2011-06-15"
#define STS_DURATION_S 3600    /* a role's default MaxSessionDuration: always allowed */
#define STS_RENEW_WINDOW_S 300 /* renew a session this close to its expiry */
#define STS_RETRY_GAP_S 60     /* after a failed renewal, not again before this */

typedef struct session {
    char *arn, *external_id, *session_name;
    aws_creds creds;
    time_t expiration, renew_at, next_try;
    struct session *next;
} session;

struct aws_sessions {
    pthread_mutex_t mu;
    session *list;
};

static char *dup_or_null(const char *s) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) abort();
    return d;
}

static int same(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

aws_sessions *aws_sessions_new(void) {
    aws_sessions *s = calloc(1, sizeof *s);
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void aws_sessions_free(aws_sessions *s) {
    if (!s) return;
    for (session *e = s->list, *next; e; e = next) {
        next = e->next;
        free(e->arn), free(e->external_id), free(e->session_name);
        aws_creds_free(&e->creds);
        free(e);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A session is renewed when a quarter of it, at most 5 minutes, remains:
 * long before it expires, whatever the length AWS (or a test) gave it. */
static time_t renew_time(time_t now, time_t expiration) {
    time_t window = (expiration - now) / 4;
    if (window > STS_RENEW_WINDOW_S) window = STS_RENEW_WINDOW_S;
    if (window < 1) window = 1;
    return expiration - window;
}

/* ---- AssumeRole ---- */

/* The credentials of an AssumeRole answer; its copies of the secrets are
 * wiped before the document is freed. */
static int read_credentials(xml_node *doc, aws_creds *out, time_t *expiration, errinfo *err) {
    xml_node *k = xml_path(doc, "AssumeRoleResult/Credentials");
    xml_node *secret = k ? xml_child(k, "SecretAccessKey") : NULL;
    xml_node *token = k ? xml_child(k, "SessionToken") : NULL;
    const char *id = k ? xml_path_text(k, "AccessKeyId") : NULL;
    *expiration = aws_time_parse(k ? xml_path_text(k, "Expiration") : NULL);
    int ok = id && *id && secret && *secret->text && token && *token->text && *expiration;
    if (ok) {
        aws_creds c = {(char *)id, secret->text, token->text};
        aws_creds_copy(out, &c);
    }
    if (secret) digest_cleanse(secret->text, strlen(secret->text));
    if (token) digest_cleanse(token->text, strlen(token->text));
    if (ok) return 0;
    return aws_errinfo_set(err, ERR_REMOTE, "MalformedResponse",
                           "sts AssumeRole answered without "
                           "AccessKeyId, SecretAccessKey, SessionToken and Expiration");
}

int aws_sts_assume_role(aws_client *c, const aws_role *role, int duration_s, aws_creds *out,
                        time_t *expiration, errinfo *err) {
    char name[65];
    size_t n = 0;
    for (const char *s = role->session_name; s && *s && n < 64; s++)
        name[n++] = strchr("+=,.@_-", *s) || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                            (*s >= '0' && *s <= '9')
                        ? *s
                        : '-';
    name[n] = '\0';
    aws_params p = {0};
    aws_params_add(&p, "RoleArn", role->arn);
    aws_params_add(&p, "RoleSessionName", n >= 2 ? name : "deploybot");
    if (role->external_id) aws_params_add(&p, "ExternalId", role->external_id);
    aws_params_addf(&p, "DurationSeconds", "%d", duration_s);
    xml_node *doc = NULL;
    int rc = aws_query(c, "sts", STS_VERSION, "AssumeRole", &p, &doc, err);
    aws_params_free(&p);
    *out = (aws_creds){0};
    if (rc == 0) rc = read_credentials(doc, out, expiration, err);
    xml_free(doc);
    return rc;
}

int aws_sts_caller_identity(aws_client *c, char *arn, size_t len, errinfo *err) {
    aws_params p = {0};
    xml_node *doc = NULL;
    int rc = aws_query(c, "sts", STS_VERSION, "GetCallerIdentity", &p, &doc, err);
    const char *who = rc == 0 ? xml_path_text(doc, "GetCallerIdentityResult/Arn") : NULL;
    if (rc == 0 && !who)
        rc = aws_errinfo_set(err, ERR_REMOTE, "MalformedResponse", "sts GetCallerIdentity answered without an Arn");
    if (who) snprintf(arn, len, "%s", who);
    aws_params_free(&p);
    xml_free(doc);
    return rc;
}

/* ---- the cache ---- */

static session *find(aws_sessions *s, const aws_assumed *a) {
    for (session *e = s->list; e; e = e->next)
        if (same(e->arn, a->arn) && same(e->external_id, a->external_id) &&
            same(e->session_name, a->session_name))
            return e;
    session *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->arn = dup_or_null(a->arn);
    e->external_id = dup_or_null(a->external_id);
    e->session_name = dup_or_null(a->session_name);
    e->next = s->list;
    s->list = e;
    return e;
}

/* A new session for e, assumed with c's base credentials. */
static int renew(aws_client *c, session *e, time_t now, errinfo *err) {
    aws_role role = {e->arn, e->external_id, e->session_name};
    aws_creds creds;
    time_t expiration;
    aws_client *base = aws_client_new(c->region, &c->creds, &c->options, err);
    int rc = base ? aws_sts_assume_role(base, &role, STS_DURATION_S, &creds, &expiration, err) : -1;
    aws_client_free(base);
    if (rc != 0) {
        time_t left = e->expiration - now;
        e->next_try = now + (left / 2 < STS_RETRY_GAP_S ? left / 2 : STS_RETRY_GAP_S);
        return -1;
    }
    aws_creds_free(&e->creds);
    e->creds = creds;
    e->expiration = expiration;
    e->renew_at = renew_time(now, expiration);
    if (c->options.debug)
        log_write(LOG_DEBUG, AWS_LOG, "assumed role %s as %s for %ld s", e->arn, e->session_name,
                  (long)(expiration - now));
    return 0;
}

/* The cache's session for c's role, renewed first when it is due (a failed
 * renewal is harmless while the session still works, and is not tried
 * again for a while); copied into c. */
static int sessions_get(aws_client *c, errinfo *err) {
    aws_assumed *a = c->role;
    time_t now = time(NULL);
    errinfo why = {0};
    pthread_mutex_lock(&a->sessions->mu);
    session *e = find(a->sessions, a);
    int due = now >= e->expiration || (now >= e->renew_at && now >= e->next_try);
    if (due && renew(c, e, now, &why) < 0 && c->options.debug)
        log_write(LOG_DEBUG, AWS_LOG, "renewing the session of %s failed: %s", e->arn, why.msg);
    int ok = e->expiration > now;
    if (ok && e->expiration != a->expiration) {
        aws_creds_free(&a->creds);
        aws_creds_copy(&a->creds, &e->creds);
        a->expiration = e->expiration;
    }
    if (ok) a->renew_at = e->renew_at > now ? e->renew_at : now + 1;
    pthread_mutex_unlock(&a->sessions->mu);
    if (ok) return 0;
    if (err) *err = why;
    if (why.remote[0]) return errinfo_prefix(err, "assuming role %s: %s", a->arn, why.remote);
    return errinfo_prefix(err, "assuming role %s", a->arn);
}

int aws_assumed_renew(aws_client *c, errinfo *err) {
    if (!c->role || time(NULL) < c->role->renew_at) return 0;
    return sessions_get(c, err);
}

/* ---- a client's role ---- */

aws_assumed *aws_assumed_copy(const aws_assumed *a) {
    aws_assumed *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->arn = dup_or_null(a->arn);
    b->external_id = dup_or_null(a->external_id);
    b->session_name = dup_or_null(a->session_name);
    b->sessions = a->sessions;
    if (a->creds.access_key) aws_creds_copy(&b->creds, &a->creds);
    b->expiration = a->expiration;
    b->renew_at = a->renew_at;
    return b;
}

void aws_assumed_free(aws_assumed *a) {
    if (!a) return;
    free(a->arn), free(a->external_id), free(a->session_name);
    aws_creds_free(&a->creds);
    free(a);
}

int aws_client_assume_role(aws_client *c, const aws_role *role, aws_sessions *sessions,
                           errinfo *err) {
    aws_assumed a = {(char *)role->arn, (char *)role->external_id, (char *)(role->session_name ? role->session_name : "deploybot"), sessions, {0}, 0, 0};
    aws_assumed_free(c->role);
    c->role = aws_assumed_copy(&a);
    if (sessions_get(c, err) == 0) return 0;
    aws_assumed_free(c->role);
    c->role = NULL;
    return -1;
}
