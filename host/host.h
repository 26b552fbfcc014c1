/* host: the git host a config repository lives on (GitHub, Gitea, ...),
 * behind one table of operations, so that nothing outside host/ knows a
 * host's headers, payloads, URLs or state names.
 *
 * Inbound, the server (bot/server.c) copies the headers a host names
 * before the body is read, asks verify_begin whether the delivery can be
 * authentic at all (401 before the body otherwise), feeds the body to
 * verify_update as it arrives, and verify_end decides; only then are the
 * delivery id, the event name and the JSON taken, and parse turns it into
 * the one host_event the dispatcher works with. Outbound, the notification
 * sender (notify/sender.c) posts statuses and comments through a
 * host_client. A fourth host is one file with its host_ops and one line in
 * host/registry.c. */
#ifndef DEPLOYBOT_HOST_HOST_H
#define DEPLOYBOT_HOST_HOST_H

#include <stddef.h>
#include "util/errinfo.h"
#include "util/http.h"

/* ---- the common event ---------------------------------------------------- */

typedef enum {
    HOST_EVENT_IGNORED = 0, /* a valid delivery deploybot does not act on */
    HOST_EVENT_PING,
    HOST_EVENT_PUSH,
    HOST_EVENT_PULL_REQUEST, /* a GitHub/Gitea pull request, a GitLab merge request */
} host_event_kind;

/* What happened to a pull request, in common terms (each host names its
 * actions differently: pr_action keeps the host's own word for logs). */
typedef enum {
    HOST_PR_OTHER = 0, /* labelled, edited, ...: nothing to plan */
    HOST_PR_OPENED,
    HOST_PR_UPDATED, /* new commits on its head */
    HOST_PR_REOPENED,
    HOST_PR_CLOSED, /* pr_merged tells whether it was merged */
} host_pr_change;

typedef struct {
    host_event_kind kind;
    char repo[256]; /* "owner/name" (GitHub/Gitea full_name, GitLab path_with_namespace) */
    char clone_url[512];
    /* push */
    char ref[256]; /* "refs/heads/main" */
    char before[41];
    char after[41];
    int deleted; /* branch/tag deletion: nothing to deploy */
    /* pull request */
    int pr_number; /* GitLab: the merge request's iid */
    char pr_action[32];
    host_pr_change pr_change;
    int pr_merged;
    char head_sha[41];
    char base_sha[41];
    char base_ref[256];  /* branch name the PR targets */
    int pr_fork;         /* the head is another repository's (a fork's), or
                            its repository is gone */
    char head_repo[256]; /* the head's "owner/name"; empty when gone */
    /* ping */
    char zen[256]; /* a line echoed back to show the hook works */
} host_event;

/* ---- settings -------------------------------------------------------------- */

/* The operator's host section (bot/config.h reads it). Strings are borrowed
 * and outlive whatever is made from them. */
typedef struct {
    const char *type;           /* "github", "gitea", ... (host_find) */
    const char *api_url;        /* the REST API's base */
    const char *token;          /* API and fetch token; may be NULL */
    const char *user;           /* user name for basic auth when fetching; may be NULL */
    const char *webhook_secret; /* NULL or empty: no delivery is authentic */
    const char *signing_key;    /* a second key some hosts sign with; may be NULL */
    int require_signature;      /* deliveries must carry that signature */
} host_config;

/* ---- a delivery's headers ---------------------------------------------- */

#define HOST_HEADERS_MAX 8
#define HOST_HEADER_LEN 512

typedef enum { HOST_HEADER_MISSING = 0,
               HOST_HEADER_OK,
               HOST_HEADER_TOO_LONG } host_header_state;

/* The headers a host named (host_ops.headers), as the server copied them. */
typedef struct {
    const struct host_ops *host;
    char content_type[128];
    host_header_state state[HOST_HEADERS_MAX];
    char value[HOST_HEADERS_MAX][HOST_HEADER_LEN];
} host_headers;

/* The value of header `name` (as in host_ops.headers, e.g.
 * "x-gitea-delivery:"), or NULL when it is missing or over-long (*state,
 * when not NULL, says which). */
const char *host_header(const host_headers *h, const char *name, host_header_state *state);
/* A required header's value copied into out[len]: 0, or -1 with "missing
 * LABEL header" or "over-long LABEL header" (a 400). */
int host_header_copy(const host_headers *h, const char *name, const char *label, char *out,
                     size_t len, errinfo *err);
/* The basic-auth pair every host fetches with: `user` and cfg->token, or
 * -1 naming `display` when the token is unset or either is over-long. */
int host_basic_credentials(const host_config *cfg, const char *display, const char *user, char *u,
                           size_t ulen, char *pass, size_t plen, errinfo *err);

/* ---- the operations -------------------------------------------------------- */

typedef struct host_verify host_verify; /* a verification under way */
typedef struct host_client host_client; /* a host's REST client (host/rest.h) */

typedef struct host_ops {
    const char *type;         /* "github" */
    const char *display;      /* "GitHub", for messages */
    const char *default_api_url;   /* NULL: the config must name one */
    const char *default_token_env; /* the variable the API token is in by default */
    const char *commit_path;       /* a commit's web page after "/owner/name": "/commit/" */
    /* lowercase names with the colon ("x-github-event:"), NULL-terminated,
     * at most HOST_HEADERS_MAX */
    const char *const *headers;

    /* Whether the delivery can be authentic at all, from its headers: a
     * verification to feed the body to, or NULL with the reason (401)
     * in *refusal. */
    host_verify *(*verify_begin)(const host_config *cfg, const host_headers *h,
                                 const char **refusal);
    void (*verify_update)(host_verify *v, const void *data, size_t len);
    /* 1 authentic, 0 not (*refusal says why). body[0..len) is the whole
     * body, for a host that does not sign it as it arrives (Gitea signs a
     * form body's JSON). Frees v. */
    int (*verify_end)(host_verify *v, const host_headers *h, const char *body, size_t len,
                      const char **refusal);
    void (*verify_abort)(host_verify *v); /* frees v; NULL is fine */

    /* The dedupe key of a delivery (the same across the host's retries),
     * and its event name: 0, or -1 with the reason (400). */
    int (*delivery_id)(const host_headers *h, char *out, size_t len, errinfo *err);
    int (*event_name)(const host_headers *h, char *out, size_t len, errinfo *err);
    /* The JSON text of a verified body (malloc'd, NUL-terminated; *outlen
     * may be NULL), or NULL with the reason (400). This is what the job
     * queue keeps. */
    char *(*json)(const host_headers *h, const char *body, size_t len, size_t *outlen,
                  errinfo *err);
    /* The event of a delivery's JSON: 0, or -1 for malformed input. */
    int (*parse)(const char *event, const char *json, size_t len, host_event *out,
                 errinfo *err);

    /* The ref that holds pull request `number`'s head in the base repository
     * (forks' included). */
    void (*pr_head_ref)(long number, char *out, size_t len);
    /* The basic-auth pair for fetching over HTTPS with cfg's token: 0, or -1
     * when cfg lacks what it needs. */
    int (*fetch_credentials)(const host_config *cfg, char *user, size_t ulen, char *pass,
                             size_t plen, errinfo *err);

    /* Outbound. Every call returns 0 on a 2xx answer, -1 otherwise
     * (ERR_UNAVAILABLE for no answer, a 5xx or 429, ERR_REMOTE for a
     * refusal; err->status is the host's status). resp, when not NULL,
     * receives the answer (free it with http_response_free, also after a
     * failure). */
    host_client *(*client_new)(const host_config *cfg);
    /* state: pending|success|failure|error (the host maps it onto its own
     * names); description and context are cut to the host's limits;
     * target_url may be NULL. */
    int (*status_post)(host_client *c, const char *repo, const char *sha, const char *state,
                       const char *context, const char *description, const char *target_url,
                       http_response *resp, errinfo *err);
    /* A pull request's conversation comment: *id gets the new one's id. */
    int (*pr_comment_create)(host_client *c, const char *repo, long number, const char *body,
                             long long *id, http_response *resp, errinfo *err);
    /* Replaces its body. A comment that was deleted answers 404. */
    int (*pr_comment_update)(host_client *c, const char *repo, long number, long long id,
                             const char *body, http_response *resp, errinfo *err);
    /* A comment on a commit; NULL when the host has none (Gitea). *id may
     * be NULL. */
    int (*commit_comment_create)(host_client *c, const char *repo, const char *sha,
                                 const char *body, long long *id, http_response *resp,
                                 errinfo *err);
    /* Whether the client's token may read `repo` and post statuses on its
     * commits (`deploybot check`): by the scopes and permissions the host
     * reports, else by a harmless read of the repository. 0, or -1 saying
     * what is missing (ERR_REMOTE: refused, or a scope or permission
     * lacking; ERR_UNAVAILABLE: no answer). Writes nothing. */
    int (*access_check)(host_client *c, const char *repo, errinfo *err);
    size_t comment_max; /* characters in a comment body */
} host_ops;

/* The webhook and fetch hooks every host defines in its own file as
 * statics of the hook's name (`static int delivery_id(...)`, `headers`,
 * ...): a host's table says HOST_OPS_OWN_HOOKS, then the rest by name. */
#define HOST_OPS_OWN_HOOKS                                                         \
    .headers = headers, .verify_begin = verify_begin, .verify_end = verify_end,    \
    .delivery_id = delivery_id, .event_name = event_name, .json = json,           \
    .parse = parse, .pr_head_ref = pr_head_ref, .fetch_credentials = fetch_credentials

/* The host of a type ("github", "gitea", ...), or NULL. */
const host_ops *host_find(const char *type);
/* The host whose webhook `path` is, or NULL: every host's is
 * "/webhooks/<type>". */
const host_ops *host_find_path(const char *path);
/* The web page of commit `sha` of `repo` ("owner/name") into out: the REST
 * API's address api_url without its "/api/vN" path (GitHub Enterprise,
 * GitLab, Gitea) or the "api." of its host name (api.github.com), then
 * "/owner/name", the host's commit_path and the sha. */
void host_commit_url(const host_ops *h, const char *api_url, const char *repo, const char *sha,
                     char *out, size_t len);
/* Frees a client of any host (client_new); NULL is fine. */
void host_client_free(host_client *c);
/* The i-th known host (0, 1, ...), NULL past the last: for messages. */
const host_ops *host_at(size_t i);

#endif
