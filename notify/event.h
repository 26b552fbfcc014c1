/* event: what people are told about — the subject of a job (repository,
 * commit, push or pull request), one environment's outcome, and the chat
 * events routes subscribe to. Plain structs: the renderers and the notifier
 * read them, nothing owns their strings. */
#ifndef DEPLOYBOT_NOTIFY_EVENT_H
#define DEPLOYBOT_NOTIFY_EVENT_H

typedef enum {
    NOTIFY_PLAN,          /* a plan that will not be applied (PR, other branch) */
    NOTIFY_APPLY_STARTED, /* a push to the deploy branch: planning, then applying */
    NOTIFY_APPLY_SUCCEEDED,
    NOTIFY_APPLY_FAILED,
    NOTIFY_DRIFT, /* a drift check found drift (changes), or found it gone (none) */
    NOTIFY_EVENT_COUNT
} notify_event;

/* "plan", "apply_started", "apply_succeeded", "apply_failed", "drift". */
const char *notify_event_name(notify_event e);
/* The event of that name, or -1. */
int notify_event_parse(const char *name);

typedef struct {
    const char *repo;    /* "owner/name" */
    const char *sha;     /* the commit planned / applied (40 hex) */
    const char *ref;     /* push: "refs/heads/main"; NULL for a pull request and for
                            what the bot itself runs (redeploy, drift) */
    long pr_number;      /* pull request number, 0 for a push */
    const char *run_url; /* the run's page on the bot; may be NULL */
    int revert_mainline; /* sha is a merge commit: its revert needs -m 1 */
} notify_subject;

typedef struct {
    const char *env;
    int applied;           /* a push to the env's deploy branch: apply attempted */
    int failed;            /* validation, discovery, plan or apply failed */
    int changes;           /* the plan had changes */
    const char *summary;   /* one line: "Plan: ...", "Apply complete: ...", or the error */
    const char *plan_text; /* the full plan; NULL if there is none */
    const char *error;     /* the full error text (may be several lines); NULL if none */
    int pending;           /* not planned yet (a pull request comment shows it) */
    const char *url;       /* this environment's run page, when it differs by
                              environment (pull request comment); may be NULL */
} notify_env_result;

#endif
