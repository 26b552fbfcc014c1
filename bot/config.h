/* config: every setting of deploybot, read once at start into one value.
 *
 * `deploybot serve --config FILE` reads a JSON file, then the environment:
 * a DEPLOYBOT_* variable overrides the file's key. The commands without a
 * file (plan, apply, destroy, validate; history, lock, unlock and redeploy
 * without --config) get the defaults and the environment through the same
 * loader. Every key is optional:
 *   {
 *     "listen": "127.0.0.1", "port": 8080,
 *     "data_dir": "./deploybot-data",
 *     "database_url": "postgres://...",  DEPLOYBOT_DATABASE_URL (absent: SQLite in data_dir)
 *     "database_url_env": "NAME",       the variable holding database_url instead
 *     "max_body_bytes": 26214400,
 *     "public_url": "http://127.0.0.1:8080",
 *     "repo": { "url": "/path/or/https/url", "name": "owner/name",
 *               "token_env": "DEPLOYBOT_REPO_TOKEN", "default_branch": "main",
 *               "reconcile_interval_s": 0,   DEPLOYBOT_RECONCILE_INTERVAL_S
 *               "user": "x-access-token", "ca_file": "/path/ca.pem" },
 *     "webhook_secret_env": "DEPLOYBOT_WEBHOOK_SECRET",
 *     "host": { "type": "github",     github | gitea (host/registry.c)
 *               "api_url": ...,       the host's default (GitHub: https://api.github.com)
 *               "token_env": ...,     the host's default (GitHub: GITHUB_TOKEN)
 *               "user": "deploybot",  basic-auth user for fetching (Gitea; GitLab: oauth2)
 *               "signing_key_env": ...,     GitLab: the variable holding the signing token
 *               "require_signature": false }, GitLab: refuse deliveries without a valid one
 *     "github": { "api_url": ..., "token_env": ... },  the same as "host" of type github
 *       with a GitHub App instead of the token (notify/ghapp.h), in either:
 *             "app_id": N, "private_key_file": "app.pem",
 *             "installation_id": N, "app_token_refresh_s": 300
 *     "runners": 4,                   DEPLOYBOT_RUNNERS
 *     "apply_parallelism": 4,         DEPLOYBOT_APPLY_PARALLELISM
 *     "discovery_parallelism": 16,    DEPLOYBOT_DISCOVERY_PARALLELISM (calls in flight per AWS service)
 *     "aws": { "region": "eu-west-1",   (no default: deploy/envrun.h)
 *              "retry_base_ms": 100,  DEPLOYBOT_AWS_RETRY_BASE_MS
 *              "max_attempts": 6,     DEPLOYBOT_AWS_MAX_ATTEMPTS
 *              "throttle_attempts": 12,       DEPLOYBOT_AWS_THROTTLE_ATTEMPTS
 *              "consistency_timeout_s": 30,   DEPLOYBOT_AWS_CONSISTENCY_TIMEOUT_S
 *              "debug": false,        DEPLOYBOT_AWS_DEBUG
 *              "page_size": N },      DEPLOYBOT_AWS_PAGE_SIZE (absent: each call's largest)
 *     "wait": { "timeout_s": N,       DEPLOYBOT_WAIT_TIMEOUT_S (absent: each waiter's own)
 *               "poll_ms": N,         DEPLOYBOT_WAIT_POLL_MS (absent: the schedule below)
 *               "first_poll_ms": 100, DEPLOYBOT_WAIT_FIRST_POLL_MS
 *               "max_poll_ms": 10000 }, DEPLOYBOT_WAIT_MAX_POLL_MS
 *     "limits": { "max_file_bytes": 1048576,   DEPLOYBOT_MAX_FILE_BYTES
 *                 "max_envs_per_push": 20,    DEPLOYBOT_MAX_ENVS_PER_PUSH
 *                 "plan_list_items": 10,      DEPLOYBOT_PLAN_LIST_ITEMS
 *                 "max_inflight_body_bytes": 67108864,  DEPLOYBOT_MAX_INFLIGHT_BODY_BYTES
 *                 "max_connections": N,       DEPLOYBOT_MAX_CONNECTIONS (absent: from the fd limit)
 *                 "header_timeout_s": 10,     DEPLOYBOT_HEADER_TIMEOUT_S
 *                 "body_min_rate_bytes_s": 1024,  DEPLOYBOT_BODY_MIN_RATE_BYTES_S
 *                 "ws_ping_interval_s": 30 }, DEPLOYBOT_WS_PING_INTERVAL_S
 *     "ingest": { "batch_max": 64,     DEPLOYBOT_INGEST_BATCH_MAX (bot/ingest.h: deliveries per commit)
 *                 "batch_wait_us": 0 }, DEPLOYBOT_INGEST_BATCH_WAIT_US
 *     "allow_fork_prs": false,        (the file only)
 *     "notify": { "chat": [...], "secrets_env": [...],
 *                 "retry_base_ms": 1000 },   DEPLOYBOT_NOTIFY_RETRY_BASE_MS
 *     "api_tokens": [ { "name": "ci", "token_env": "DEPLOYBOT_CI_TOKEN",
 *                       "role": "read" } ],   ("read" or "operate")
 *     "session_ttl_s": 43200,         DEPLOYBOT_SESSION_TTL_S
 *     "retention_days": 90,           DEPLOYBOT_RETENTION_DAYS (0: keep forever)
 *     "retention_interval_s": 86400,  DEPLOYBOT_RETENTION_INTERVAL_S
 *     "tls_cert": "/etc/deploybot/cert.pem", "tls_key": "/etc/deploybot/key.pem",
 *     "log_format": "text",           DEPLOYBOT_LOG_FORMAT: "text" or "json" (util/log.h)
 *     "replica": { "lease_s": 30 },   DEPLOYBOT_REPLICA_LEASE_S (bot/replica.h; at start only)
 *     "environments": {
 *       "prd": { "role_arn": "arn:aws:iam::123456789012:role/deploybot",
 *                "external_id": "acme-prd", "prevent_destroy": true,
 *                "deploy_branch": "main", "allow_destroy": false,
 *                "drift_interval": "1h",  seconds, or "90s" / "30m" / "1h"; 0: off
 *                "drift_remediate": false,
 *                "run_timeout": "1h" }       seconds, or "90s", "30m", "2h"
 *     }
 *   }
 * The README's "Configuration" table gives each key's range, default and
 * meaning; "notify" is described in notify/settings.h.
 *
 * Secrets are never in the file: it names the environment variables that
 * hold them. Unknown keys are an error, and so is a value out of range, in
 * the file or in a variable (a typo must not silently use a default). An
 * empty variable counts as unset. "port": 0 asks for any free port
 * (server_port() tells which). A relative "data_dir" is relative to the
 * current directory and is made absolute at load time. Without
 * "public_url" it is http://<listen>:<port> (https with "tls_cert").
 *
 * "api_tokens" are the credentials of the UI and the API (bot/auth.h): each
 * names the variable holding its token (16 characters at least; unset:
 * that credential is disabled). Without any, the UI and API answer 401.
 *
 * Lifetime: a bot_config is read-only once a thread uses it (serve only
 * completes public_url for "port": 0 before it starts the worker). The
 * server copies what it keeps; the worker's threads hold a reference to a
 * snapshot (bot/cfgsnap.h) for a job or a run at a time. A reload (SIGHUP,
 * bot/reload.h) therefore loads a new value and swaps it in: runs in flight
 * keep the one they started with; it never edits a value in use. */
#ifndef DEPLOYBOT_BOT_CONFIG_H
#define DEPLOYBOT_BOT_CONFIG_H

#include <stddef.h>
#include "bot/ingest.h"
#include "deploy/options.h"
#include "host/host.h"
#include "notify/ghapp.h"
#include "notify/redact.h"
#include "notify/settings.h"
#include "util/errinfo.h"
#include "util/log.h"
#include "util/strbuf.h"

#define BOT_MAX_RUNNERS 16

/* The operator's settings for one environment (deploybot.json, in the
 * config repository, says what it is; this says where it may go). */
typedef struct {
    char *name;
    char *role_arn;       /* the IAM role its AWS calls assume (STS AssumeRole),
                              another account's; NULL: the bot's own credentials */
    char *external_id;    /* passed with role_arn when the role asks for one; may be NULL */
    int prevent_destroy;  /* refuse any plan that deletes its data volumes or its
                              load balancer, a destroy included */
    char *deploy_branch;  /* the only branch whose pushes may apply it; NULL: the one
                              deploybot.json on the default branch names (bot/trust.h) */
    int allow_destroy;    /* 0: never destroyed by a push, whatever deploybot.json says;
                              1 (the default) leaves it to deploybot.json */
    int drift_interval_s; /* how often its deployed commit is planned against AWS
                              (bot/drift.h); 0: never; default 3600 */
    int drift_remediate;  /* a drift found is applied back (a "remediate" run) */
    int run_timeout_s;    /* a run still going after this long is stopped between AWS
                              calls and fails "timed out after Ns" (bot/runstop.h); 3600 */
} bot_env_config;

/* An environment's drift checks (bot/drift.h). */
typedef struct {
    int interval_s; /* 0: off */
    int remediate;
} bot_drift_config;

/* What a credential of the UI and API may do; operate includes read. */
typedef enum {
    BOT_ROLE_NONE = 0,
    BOT_ROLE_READ = 1,    /* every GET: pages, /api/runs, the live log */
    BOT_ROLE_OPERATE = 2, /* and POST /api/environments/ENV/{lock,unlock,redeploy} */
} bot_role;

typedef struct {
    char *name;      /* [A-Za-z0-9._-]{1,64}, unique: shown as who locked */
    char *token_env; /* the variable that holds the token */
    char *token;     /* its value; NULL when unset (the credential is disabled) */
    bot_role role;
} bot_api_token;

typedef struct {
    char *listen;
    int port;
    char *data_dir;
    char *database_url;     /* a PostgreSQL URL (store/store.h); NULL: data_dir/deploybot.db */
    char *database_url_env; /* the variable database_url was read from; may be NULL */
    size_t max_body;
    char *public_url;
    char *repo_url;
    char *repo_name;          /* "owner/name": deliveries for any other repository are
                          refused (403); NULL: any repository is accepted */
    char *repo_token_env;     /* name of the variable, read at each fetch (bot/fetchauth.h) */
    char *repo_user;          /* the basic-auth user name sent with it; NULL: the host's
                             usual one (bot/fetchauth.h) */
    char *repo_ca_file;       /* PEM CAs that verify the repository's https server
                             instead of the system's; NULL: the system's */
    char *default_branch;     /* the reviewed branch whose deploybot.json holds the rules
                             of every push (bot/trust.h); "main" */
    int reconcile_interval_s; /* deploy branch heads fetched this often, for pushes
                                 no webhook told of (bot/reconcile.h); 0: never */
    char *webhook_secret_env;
    char *webhook_secret;       /* value read from the environment; may be NULL */
    char *host_type;            /* "github", "gitea": host/host.h host_find */
    char *host_api_url;         /* the host's REST API */
    char *host_token_env;       /* names the variable holding the API token */
    char *host_token;           /* value read from the environment; may be NULL */
    char *host_user;            /* basic-auth user for fetching; may be NULL */
    char *host_signing_key_env; /* names the variable holding a signing token (GitLab's whsec_...) */
    char *host_signing_key;     /* its value; may be NULL */
    int host_require_signature; /* a delivery without a valid signature is refused */
    /* A GitHub App instead of the token (notify/ghapp.h): app_id 0 is none. */
    long long github_app_id;
    char *github_private_key_file;
    long long github_installation_id; /* 0: looked up for repo.name */
    int github_app_refresh_s;         /* a new token this long before expiry */
    char *aws_region;                 /* NULL: none (a stack.json without "region" is then in
                                AWS_REGION's: deploy/envrun.h) */
    int runners;                      /* run threads */
    size_t max_file_bytes;            /* largest file read from git (deploybot.json, ...) */
    int max_envs_per_push;            /* more environments touched: nothing is applied */
    int allow_fork_prs;               /* plan pull requests whose head is a fork's; off:
                              they get one "deploybot" status saying so */
    /* The HTTP server's connections (bot/connlimit.h). */
    size_t max_inflight_body; /* webhook bodies being received, summed; >= max_body */
    int max_connections;      /* 0: derived from the fd limit (server_new) */
    int header_timeout_s;     /* to send a request's headers; to take an answer */
    size_t body_min_rate;     /* bytes/s a body must average after header_timeout_s */
    int ws_ping_interval_s;   /* a live-log WebSocket is pinged after this idle,
                                 closed when the pong is not back within header_timeout_s */
    ingest_settings ingest;   /* the webhook writer's group commit */
    deploy_options deploy;    /* apply_parallelism, "aws" and "wait" */
    notify_settings notify;   /* chat routes, more secret variables, retry_base_ms */
    bot_env_config *envs;     /* "environments", in the file's order */
    size_t n_envs;
    bot_api_token *api_tokens; /* "api_tokens", in the file's order */
    size_t n_api_tokens;
    int session_ttl_s; /* how long a browser session lasts */
    char *tls_cert;    /* PEM files; both NULL: plain HTTP */
    char *tls_key;
    int retention_days;       /* runs, jobs and deliveries older are pruned
                                 (store/retention.h); 0: kept forever */
    int retention_interval_s; /* how often pruning starts; a day */
    struct json_t *file;      /* the file as read (NULL without one), to tell a
                                 reload what changed (bot_config_changes) */
    log_format log_format;    /* the daemon's stderr: text lines or JSON lines */
    int lease_s;              /* "replica.lease_s": how long a replica's claim on a run, a
                                 job or a message lasts unless renewed (bot/replica.h);
                                 read at start only */
} bot_config;

/* path NULL: the defaults and the environment only. Returns 0, or -1 with
 * ERR_INVALID (ERR_NOT_FOUND for a missing file) and "config FILE: ..." in
 * err, or "environment variable NAME=...: ..." for a bad variable (out is
 * then left empty). */
int bot_config_load(const char *path, bot_config *out, errinfo *err);

/* bot_config_load that goes on past a problem: every one is a line of
 * `report` (when not NULL), as bot_config_load would word it, and err gets
 * the first. Returns 0, or -1 (out is then left empty). */
int bot_config_check(const char *path, bot_config *out, strbuf *report, errinfo *err);
void bot_config_free(bot_config *c);

/* The database store_open takes: database_url, else the SQLite file in
 * data_dir, into buf. Returns buf. */
const char *bot_config_database(const bot_config *c, char *buf, size_t size);

/* The run_timeout of environment `env` (the default for one not in the config). */
int bot_config_run_timeout(const bot_config *c, const char *env);

/* Appends to out, comma-separated, the dotted names of the file's keys whose
 * values differ between old and new_cfg ("notify.chat, api_tokens"): for
 * the reload's log line, which names keys and never values. */
void bot_config_changes(const bot_config *old, const bot_config *new_cfg, strbuf *out);

/* The settings of environment `name`, or NULL when the config has none. */
const bot_env_config *bot_config_env(const bot_config *c, const char *name);

/* The drift settings of environment `name`: its own, else the defaults
 * (every hour, no remediation), for an environment the config omits. */
bot_drift_config bot_config_drift(const bot_config *c, const char *name);

/* The host section as host/ takes it (borrowed from c). */
void bot_config_host(const bot_config *c, host_config *out);

/* Adds every secret the config knows of to r (webhook secret, GitHub and
 * repository tokens, API tokens, chat URLs and secrets, notify.secrets_env, AWS keys),
 * so they can be masked wherever text leaves the bot. */
void bot_config_secrets(const bot_config *c, redactor *r);

/* The GitHub App settings (app_id 0 when none), borrowing c's strings. */
ghapp_settings bot_config_ghapp(const bot_config *c);

#endif
