/* envrun: plan (and optionally apply or destroy) one environment's stack —
 * the one code path behind the bot's jobs and the `plan`/`apply`/`destroy`
 * commands. */
#ifndef DEPLOYBOT_DEPLOY_ENVRUN_H
#define DEPLOYBOT_DEPLOY_ENVRUN_H

#include <stddef.h>
#include "deploy/apply.h"
#include "deploy/aws/sts.h"
#include "deploy/options.h"
#include "deploy/plan_render.h"
#include "util/metrics.h"

typedef enum { ENVRUN_PLAN,
               ENVRUN_APPLY,
               ENVRUN_DESTROY } envrun_mode;

typedef struct {
    const char *env;
    /* stack.json contents. For destroy it may be NULL (the folder is
     * gone; the bot gives the one it had before); when given it must
     * validate, and only its region, skip_final_snapshot and prevent_destroy
     * are used. */
    const char *stack_text;
    size_t stack_len;
    const char *stack_file;         /* path shown in errors, e.g. environments/dev/stack.json */
    const char *region;             /* the operator's (aws.region), used when the stack names
                                 none; NULL: AWS_REGION, AWS_DEFAULT_REGION, the AWS
                                 profile's, else an error */
    const char *role_arn;           /* the environment's AWS role (its account), assumed with the
                                 base credentials, session "deploybot-<env>"; NULL: none */
    const char *external_id;        /* the role's ExternalId; NULL: none */
    aws_sessions *sessions;         /* the role's sessions, shared between runs; NULL: this run's */
    const char *user_data_template; /* modules/dify/user_data.sh at the same commit; NULL: none */
    size_t user_data_template_len;
    envrun_mode mode;
    apply_log_fn log; /* every line of plan and progress */
    void *log_arg;
    const deploy_options *options; /* NULL: every default */
    /* The operator's prevent_destroy for this environment: refuses, like
     * stack.json's, a plan that deletes a data volume or the load balancer
     * (deploy/safeguard.h). Either one is enough. */
    int prevent_destroy;
    /* How the plan reads (deploy/plan_render.h): its colour is for the lines
     * given to `log` only, plan_text never has any; its is_secret for both;
     * its list_items is options->plan_list_items. */
    plan_render_opts render;
    metrics *metrics; /* where the AWS calls are counted (aws_options.metrics); NULL: nowhere */
    /* Asked before every AWS call and during every AWS pause (deploy/aws/aws.h
     * aws_client_set_cancel): nonzero stops the run there, and envrun fails
     * with ERR_CANCELED. NULL: never. */
    aws_cancel_fn cancel;
    void *cancel_arg;
} envrun_request;

typedef struct {
    int invalid;            /* stack.json did not validate (nothing was planned), or the
                               * plan was refused (a change AWS would refuse: nothing applied) */
    int changes;            /* the plan had changes */
    char plan_summary[128]; /* "Plan: 1 to add, ..." / "No changes." */
    char summary[1200];     /* one line for statuses, whether it worked or not */
    char *plan_text;        /* full plan (malloc'd), NULL if none */
    char *errors;           /* validation errors or refusals, one per line (malloc'd) */
    /* How long each phase took, in seconds; negative: not reached. Plan is
     * from the discovered state to the checked plan. */
    double discover_s, plan_s, apply_s;
} envrun_result;

/* Returns 0 on success (plan made, and applied when asked). On failure -1,
 * and err says what failed: the stack (ERR_INVALID, out->invalid set, the
 * first problem; out->errors lists them all), the AWS client, discovery
 * ("discovery: Code: message"), the plan's check (ERR_INVALID, out->invalid
 * set: "Plan refused: <first refusal>", out->errors lists them all; a plan
 * deleting what prevent_destroy protects is one of them, first, and then
 * ERR_CONFLICT; or "plan check: ..." when a check could not be made), or
 * the apply ("Apply failed after ..."), or ERR_CANCELED when req->cancel
 * stopped it. out->summary is then err's message. */
int envrun(const envrun_request *req, envrun_result *out, errinfo *err);
void envrun_result_free(envrun_result *r);

#endif
