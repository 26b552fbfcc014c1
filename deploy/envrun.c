/* envrun: see envrun.h. */
#include "deploy/envrun.h"
#include "deploy/plan_check.h"
#include "deploy/safeguard.h"
#include "deploy/stack_layers.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_lines(const envrun_request *req, const char *text) {
    if (!req->log || !text) return;
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) req->log(req->log_arg, l);
    free(copy);
}

/* The failure as the one-line summary too. */
static int failed(envrun_result *out, errinfo *err) {
    snprintf(out->summary, sizeof(out->summary), "%s", err->msg);
    return -1;
}

/* stack.json and the user-data template; the stack is kept on success. */
static int load_stack(const envrun_request *req, stack *st, envrun_result *out, errinfo *err) {
    if (stack_load(req->stack_text, req->stack_len, req->stack_file, req->env, st, &out->errors, err) == 0 &&
        (!req->user_data_template || req->mode == ENVRUN_DESTROY ||
         stack_set_user_data_template(st, req->user_data_template, req->user_data_template_len,
                                      &out->errors, err) == 0))
        return 0;
    stack_free(st);
    out->invalid = 1;
    log_lines(req, out->errors);
    return failed(out, err);
}

static double seconds_since(long long t0_us) {
    return (clock_mono_us() - t0_us) / 1e6;
}

static int discover(const provider_ctx *ctx, resource_set *actual, envrun_result *out, errinfo *err) {
    long long t0 = clock_mono_us();
    int rc = plan_discover(ctx, actual, err);
    out->discover_s = seconds_since(t0);
    if (rc == 0) return 0;
    if (err->remote[0]) errinfo_prefix(err, "%s", err->remote);
    errinfo_prefix(err, "discovery");
    return failed(out, err);
}

/* Logs each refusal, indented, under a heading; returns how many. */
static int log_refusals(const envrun_request *req, const char *text) {
    int n = 0;
    if (req->log) req->log(req->log_arg, "Plan refused (nothing was changed):");
    for (const char *l = text; *l; n++) {
        size_t len = strcspn(l, "\n");
        char line[ERRINFO_MSG_MAX + 8];
        snprintf(line, sizeof(line), "  %.*s", (int)len, l);
        if (req->log) req->log(req->log_arg, line);
        l += len + (l[len] == '\n');
    }
    return n;
}

/* The refusals of prevent_destroy (deploy/safeguard.h), then of AWS's rules
 * (plan_check), a line each in *refusals; err the first. 0 when none. */
static int refusals_of(const provider_ctx *ctx, const safeguard_policy *pol, const plan *p, char **refusals,
                       errinfo *err) {
    errinfo guard = {0};
    int guarded = safeguard_check(p, pol, &guard) != 0;
    int rc = plan_check(ctx, p, refusals, err);
    if (rc != 0 && err->code != ERR_INVALID) return -1; /* a check could not be made */
    if (!guarded) return rc;
    strbuf all = {0};
    strbuf_printf(&all, "%s\n%s", guard.msg, *refusals ? *refusals : "");
    free(*refusals);
    *refusals = strbuf_take(&all);
    *err = guard;
    return -1;
}

/* Refuses the whole plan, before anything changes, when it deletes what
 * prevent_destroy protects or AWS would refuse part of it: "Plan refused:
 * <first>" ("Plan refused (N changes): ..."). */
static int check(const envrun_request *req, const provider_ctx *ctx, const safeguard_policy *pol, const plan *p,
                 envrun_result *out, errinfo *err) {
    if (refusals_of(ctx, pol, p, &out->errors, err) == 0) return 0;
    if (!out->errors) {
        errinfo_prefix(err, "plan check");
        return failed(out, err);
    }
    out->invalid = 1;
    int n = log_refusals(req, out->errors);
    if (n > 1) errinfo_prefix(err, "Plan refused (%d changes)", n);
    else errinfo_prefix(err, "Plan refused");
    return failed(out, err);
}

/* What a plan may lose: stack.json's settings (none without one: final
 * snapshots are taken) and the operator's prevent_destroy; `by` names where
 * prevent_destroy was set. */
static safeguard_policy policy_of(const envrun_request *req, const stack *st, char *by, size_t bylen) {
    safeguard_policy pol = {0};
    int in_stack = st->root && stack_flag(st, "prevent_destroy");
    pol.skip_final_snapshot = st->root && stack_flag(st, "skip_final_snapshot");
    pol.prevent_destroy = in_stack || req->prevent_destroy;
    snprintf(by, bylen, "%s%s%s", in_stack ? req->stack_file : "",
             in_stack && req->prevent_destroy ? " and " : "", req->prevent_destroy ? "the operator's config" : "");
    pol.prevent_destroy_by = by;
    return pol;
}

/* The plan as text without colour (for comments and the run's record),
 * and to the log, in colour when asked. */
static void log_plan(const envrun_request *req, const plan *p, envrun_result *out) {
    plan_render_opts plain = req->render;
    plain.color = 0;
    plain.list_items = req->options ? req->options->plan_list_items : 0;
    out->plan_text = plan_render_text(p, &plain);
    plan_render_opts colored = plain;
    colored.color = 1;
    char *shown = req->render.color ? plan_render_text(p, &colored) : NULL;
    log_lines(req, shown ? shown : out->plan_text);
    free(shown);
}

/* Plans, logs the plan, checks it, and applies it when asked and needed. */
static int plan_apply(const envrun_request *req, const provider_ctx *ctx, const safeguard_policy *pol,
                      resource_set *desired, resource_set *actual, envrun_result *out, errinfo *err) {
    plan p;
    int rc = 0;
    long long t0 = clock_mono_us();
    plan_build(desired, actual, &p);
    safeguard_mark(&p, pol);
    if (plan_read_details(ctx, &p, err) != 0) {
        plan_free(&p);
        return failed(out, err);
    }
    plan_summary(&p, out->plan_summary, sizeof(out->plan_summary));
    log_plan(req, &p, out);
    out->changes = plan_has_changes(&p);
    snprintf(out->summary, sizeof(out->summary), "%s", out->plan_summary);
    rc = check(req, ctx, pol, &p, out, err);
    out->plan_s = seconds_since(t0);
    if (rc == 0 && req->mode != ENVRUN_PLAN && out->changes) {
        apply_result ar;
        int parallelism = req->options ? req->options->apply_parallelism : 0;
        t0 = clock_mono_us();
        rc = apply_plan(ctx, &p, parallelism, req->log, req->log_arg, &ar, err);
        out->apply_s = seconds_since(t0);
        apply_summary(&ar, rc == 0 ? NULL : err, out->summary, sizeof(out->summary));
        if (rc != 0) errinfo_prefix(err, "Apply failed after %d of %d operations", ar.ops_done, ar.ops_total);
        if (req->log) req->log(req->log_arg, out->summary);
    }
    plan_free(&p);
    return rc;
}

/* The one region rule of every command (plan, apply, destroy, the bot's
 * runs): the stack's, else the operator's (aws.region, req->region), else
 * AWS_REGION / AWS_DEFAULT_REGION or the AWS profile's. Never a built-in one:
 * a stack created in a region nobody chose is found by nobody later. */
static int resolve_region(const envrun_request *req, const stack *st, char *out, size_t outlen,
                          errinfo *err) {
    const char *r = st->root && stack_region(st) ? stack_region(st) : req->region;
    if (r) snprintf(out, outlen, "%s", r);
    if (r || aws_region_default(out, outlen) == 0) return 0;
    return errinfo_set(err, ERR_INVALID,
                       "no AWS region for %s: set \"region\" in %s, \"aws.region\" in the "
                       "deploybot config, or AWS_REGION (or AWS_DEFAULT_REGION)",
                       req->env, req->stack_file);
}

/* The stack (a destroy reads stack.json, when there is one, for what the
 * plan may lose and its region), and the region its resources live in,
 * which the stack's region-bound keys are checked against. */
static int load_env(const envrun_request *req, stack *st, char *region, size_t regionlen,
                    envrun_result *out, errinfo *err) {
    if ((req->mode != ENVRUN_DESTROY || req->stack_text) && load_stack(req, st, out, err) != 0) return -1;
    if (resolve_region(req, st, region, regionlen, err) == 0 &&
        (req->mode == ENVRUN_DESTROY || stack_set_region(st, region, req->stack_file, &out->errors, err) == 0))
        return 0;
    if (out->errors) {
        out->invalid = 1;
        log_lines(req, out->errors);
    }
    stack_free(st);
    return failed(out, err);
}

/* The base credentials (environment, profile, then IMDS), acting as the
 * environment's role when it has one. */
static aws_client *new_client(const envrun_request *req, const char *region, aws_sessions *sessions,
                              errinfo *err) {
    aws_options opts = req->options ? req->options->aws : (aws_options){0};
    opts.metrics = req->metrics;
    aws_client *aws = aws_client_new_resolved(region, &opts, err);
    if (aws) aws_client_set_cancel(aws, req->cancel, req->cancel_arg); /* before the role is assumed */
    char name[128];
    snprintf(name, sizeof(name), "deploybot-%s", req->env);
    aws_role role = {req->role_arn, req->external_id, name};
    if (aws && req->role_arn && aws_client_assume_role(aws, &role, sessions, err) != 0) {
        aws_client_free(aws);
        aws = NULL;
    }
    if (!aws) errinfo_prefix(err, "AWS client");
    return aws;
}

int envrun(const envrun_request *req, envrun_result *out, errinfo *err) {
    errinfo local;
    if (!err) err = &local;
    memset(out, 0, sizeof(*out));
    out->discover_s = out->plan_s = out->apply_s = -1;
    stack st = {0};
    resource_set desired = {0}, actual = {0};
    char region[64];
    const aws_options *aws_opts = req->options ? &req->options->aws : NULL;
    if (load_env(req, &st, region, sizeof(region), out, err) != 0) return -1;
    if (req->mode != ENVRUN_DESTROY) stack_resources(&st, &desired);
    char by[600];
    safeguard_policy pol = policy_of(req, &st, by, sizeof(by));
    int rc = 0;
    aws_sessions *own = req->role_arn && !req->sessions ? aws_sessions_new() : NULL;
    aws_client *aws = new_client(req, region, own ? own : req->sessions, err);
    if (!aws) rc = failed(out, err);
    provider_ctx ctx = {.aws = aws, .stack = req->env, .page_size = aws_opts ? aws_opts->page_size : 0, .discovery_parallelism = req->options ? req->options->discovery_parallelism : 0};
    if (rc == 0) rc = discover(&ctx, &actual, out, err);
    if (rc == 0) rc = plan_apply(req, &ctx, &pol, &desired, &actual, out, err);
    resource_set_free(&desired);
    resource_set_free(&actual);
    aws_client_free(aws);
    aws_sessions_free(own);
    stack_free(&st);
    return rc;
}

void envrun_result_free(envrun_result *r) {
    free(r->plan_text);
    free(r->errors);
    memset(r, 0, sizeof(*r));
}
