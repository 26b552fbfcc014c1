/* check: see check.h. */
#include "bot/check.h"
#include "bot/config.h"
#include "bot/fetchauth.h"
#include "deploy/aws/sts.h"
#include "git/cfgrepo.h"
#include "notify/ghapp.h"
#include "notify/redact.h"
#include "store/store.h"
#include "util/http.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    FILE *out;
    const redactor *rd; /* NULL until the config is read */
    int failed;
} check_report;

/* One line: "OK name", or "FAIL name: why" (why on one line, masked). */
static void report(check_report *r, const char *name, const char *why) {
    char *line = NULL;

    if (!why) {
        fprintf(r->out, "OK %s\n", name);
        return;
    }
    r->failed++;
    line = r->rd ? redact(r->rd, why) : strdup(why);
    if (!line) abort();
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(r->out, "FAIL %s: %s\n", name, line);
    free(line);
}

static void report_err(check_report *r, const char *name, int rc, const errinfo *err) {
    report(r, name, rc == 0 ? NULL : err->msg);
}

/* A variable the config names must hold its secret. */
static void check_set(check_report *r, const char *name, const char *env, const char *consequence) {
    const char *v = getenv(env);
    char why[512];

    snprintf(why, sizeof(why), "$%s is not set (%s)", env, consequence);
    report(r, name, v && *v ? NULL : why);
}

static int is_https(const char *url) {
    return url && strncasecmp(url, "https://", 8) == 0;
}

static void check_secrets(check_report *r, const bot_config *c) {
    char name[128];

    check_set(r, "webhook secret", c->webhook_secret_env, "every delivery would be refused");
    if (!c->github_app_id)
        check_set(r, "host token", c->host_token_env, "statuses and comments cannot be posted");
    if (!c->github_app_id && is_https(c->repo_url))
        check_set(r, "repository token", c->repo_token_env, "the repository cannot be fetched");
    if (c->host_signing_key_env)
        check_set(r, "host signing key", c->host_signing_key_env, "signed deliveries cannot be verified");
    for (size_t i = 0; i < c->n_api_tokens; i++) {
        snprintf(name, sizeof(name), "api token %s", c->api_tokens[i].name);
        check_set(r, name, c->api_tokens[i].token_env, "that credential is disabled");
    }
    for (size_t i = 0; i < c->notify.n_secrets_env; i++) {
        snprintf(name, sizeof(name), "notify secret %s", c->notify.secrets_env[i]);
        check_set(r, name, c->notify.secrets_env[i], "its value cannot be masked");
    }
}

/* The URL is a secret (it carries the chat's token): the reason names the
 * variable only. */
static const char *chat_url_problem(const char *url) {
    http_url u;
    const char *why = NULL;

    if (!url || !*url) return "is not set (messages wait until it is)";
    if (http_url_parse(url, &u, NULL) < 0) return "does not hold a URL";
    if (!u.host || !*u.host)
        why = "holds a URL without a host";
    else if (strcasecmp(u.scheme, "https") != 0 &&
             !(strcasecmp(u.scheme, "http") == 0 && (!strcmp(u.host, "127.0.0.1") || !strcmp(u.host, "localhost") || !strcmp(u.host, "[::1]"))))
        why = "must hold an https URL";
    http_url_free(&u);
    return why;
}

static void check_chat(check_report *r, const notify_settings *n) {
    char name[96], why[256];

    for (size_t i = 0; i < n->n_routes; i++) {
        const chat_route *rt = &n->routes[i];
        const char *problem = chat_url_problem(getenv(rt->url_env));

        snprintf(name, sizeof(name), "chat %zu (%s)", i, chat_kind_name(rt->kind));
        snprintf(why, sizeof(why), "$%s %s", rt->url_env, problem ? problem : "");
        report(r, name, problem ? why : NULL);
        if (rt->secret_env) {
            snprintf(name, sizeof(name), "chat %zu (%s) secret", i, chat_kind_name(rt->kind));
            check_set(r, name, rt->secret_env, "its messages cannot be signed");
        }
    }
}

/* The database's server answers (nothing is created: serve does that). */
static void check_database(check_report *r, const bot_config *c) {
    errinfo err;

    if (c->database_url)
        report_err(r, "database", store_probe(c->database_url, &err), &err);
}

static void check_repository(check_report *r, const bot_config *c, ghapp *app) {
    fetchauth fa = {c, app};
    cfgrepo_options opts = {.cred = fetchauth_cred, .cred_arg = &fa, .ca_file = c->repo_ca_file};
    errinfo err;

    if (c->repo_url)
        report_err(r, "repository", cfgrepo_probe(c->repo_url, &opts, &err), &err);
}

/* The host's token, or the GitHub App's installation token. */
static void check_host(check_report *r, const bot_config *c, ghapp *app) {
    const host_ops *h = host_find(c->host_type);
    host_config hc;
    char token[4096];
    errinfo err;
    int rc = 0;

    if (!c->repo_name) return;
    bot_config_host(c, &hc);
    if (app && (rc = ghapp_token(app, token, sizeof(token), &err)) == 0) hc.token = token;
    if (rc == 0 && (!hc.token || !*hc.token))
        rc = errinfo_set(&err, ERR_INVALID, "no token to ask %s with ($%s is not set)", h->display, c->host_token_env);
    if (rc == 0) {
        host_client *hcl = h->client_new(&hc);
        rc = h->access_check(hcl, c->repo_name, &err);
        host_client_free(hcl);
    }
    explicit_bzero(token, sizeof(token));
    report_err(r, "host access", rc, &err);
}

/* Who the environment's AWS calls would be made as. */
static void check_aws_env(check_report *r, const bot_config *c, const bot_env_config *e) {
    char name[128], arn[512], session[128];
    errinfo err;
    aws_sessions *sessions = e && e->role_arn ? aws_sessions_new() : NULL;
    aws_client *aws = aws_client_new_resolved(c->aws_region, &c->deploy.aws, &err);
    int rc = aws ? 0 : -1;

    snprintf(session, sizeof(session), "deploybot-%s", e ? e->name : "check");
    aws_role role = {e ? e->role_arn : NULL, e ? e->external_id : NULL, session};
    if (rc == 0 && sessions && (rc = aws_client_assume_role(aws, &role, sessions, &err)) < 0)
        errinfo_prefix(&err, "assuming %s", e->role_arn);
    if (rc == 0) rc = aws_sts_caller_identity(aws, arn, sizeof(arn), &err);
    /* AWS's code says what to fix ("InvalidClientTokenId", "AccessDenied"). */
    if (rc < 0 && err.remote[0] && strncmp(err.msg, err.remote, strlen(err.remote)) != 0)
        errinfo_prefix(&err, "%s", err.remote);
    aws_client_free(aws);
    aws_sessions_free(sessions);
    snprintf(name, sizeof(name), e ? "aws %s" : "aws", e ? e->name : "");
    report_err(r, name, rc, &err);
}

static void check_aws(check_report *r, const bot_config *c) {
    if (c->n_envs == 0) check_aws_env(r, c, NULL);
    for (size_t i = 0; i < c->n_envs; i++)
        check_aws_env(r, c, &c->envs[i]);
}

/* Every problem of the config, a FAIL line each. */
static int check_config(check_report *r, const char *path, bot_config *cfg) {
    strbuf problems = {0};
    errinfo err;

    if (bot_config_check(path, cfg, &problems, &err) == 0) {
        report(r, "config", NULL);
        return 0;
    }
    for (char *line = problems.s, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        report(r, "config", line);
    }
    strbuf_free(&problems);
    return -1;
}

int check_run(const char *config_path, FILE *out) {
    check_report r = {out, NULL, 0};
    bot_config cfg;

    if (check_config(&r, config_path, &cfg) < 0) return r.failed;
    redactor *rd = redactor_new();
    bot_config_secrets(&cfg, rd);
    r.rd = rd;
    ghapp_settings gs = bot_config_ghapp(&cfg);
    ghapp *app = ghapp_new(&gs);
    check_secrets(&r, &cfg);
    check_chat(&r, &cfg.notify);
    check_database(&r, &cfg);
    check_repository(&r, &cfg, app);
    check_host(&r, &cfg, app);
    check_aws(&r, &cfg);
    ghapp_free(app);
    redactor_free(rd);
    bot_config_free(&cfg);
    return r.failed;
}
