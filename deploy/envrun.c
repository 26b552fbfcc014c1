/* envrun: see envrun.h. */
#include "deploy/envrun.h"
#include "deploy/plan_check.h"
#include "deploy/stack_layers.h"

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
        (!req->user_data_template ||
         stack_set_user_data_template(st, req->user_data_template, req->user_data_template_len,
                                      &out->errors, err) == 0))
        return 0;
    stack_free(st);
    out->invalid = 1;
    log_lines(req, out->errors);
    return failed(out, err);
}

static int discover(const provider_ctx *ctx, resource_set *actual, envrun_result *out, errinfo *err) {
    if (plan_discover(ctx, actual, err) == 0) return 0;
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

/* Refuses the whole plan, before anything changes, when AWS would refuse
 * part of it: "Plan refused: <first>" ("Plan refused (N changes): ..."). */
static int check(const envrun_request *req, const provider_ctx *ctx, const plan *p, envrun_result *out,
                 errinfo *err) {
    if (plan_check(ctx, p, &out->errors, err) == 0) return 0;
    if (err->code != ERR_INVALID) {
        errinfo_prefix(err, "plan check");
        return failed(out, err);
    }
    out->invalid = 1;
    int n = log_refusals(req, out->errors);
    if (n > 1) errinfo_prefix(err, "Plan refused (%d changes)", n);
    else errinfo_prefix(err, "Plan refused");
    return failed(out, err);
}

/* Plans, logs the plan, checks it, and applies it when asked and needed. */
static int plan_apply(const envrun_request *req, const provider_ctx *ctx, resource_set *desired,
                      resource_set *actual, envrun_result *out, errinfo *err) {
    plan p;
    int rc = 0;
    plan_build(desired, actual, &p);
    plan_summary(&p, out->plan_summary, sizeof(out->plan_summary));
    out->plan_text = plan_render_text(&p);
    out->changes = plan_has_changes(&p);
    log_lines(req, out->plan_text);
    snprintf(out->summary, sizeof(out->summary), "%s", out->plan_summary);
    rc = check(req, ctx, &p, out, err);
    if (rc == 0 && req->mode != ENVRUN_PLAN && out->changes) {
        apply_result ar;
        int parallelism = req->options ? req->options->apply_parallelism : 0;
        rc = apply_plan(ctx, &p, parallelism, req->log, req->log_arg, &ar, err);
        apply_summary(&ar, rc == 0 ? NULL : err, out->summary, sizeof(out->summary));
        if (rc != 0) errinfo_prefix(err, "Apply failed after %d of %d operations", ar.ops_done, ar.ops_total);
        if (req->log) req->log(req->log_arg, out->summary);
    }
    plan_free(&p);
    return rc;
}

int envrun(const envrun_request *req, envrun_result *out, errinfo *err) {
    errinfo local;
    if (!err) err = &local;
    memset(out, 0, sizeof(*out));
    stack st = {0};
    resource_set desired = {0}, actual = {0};
    const char *region = req->region;
    const aws_options *aws_opts = req->options ? &req->options->aws : NULL;
    if (req->mode != ENVRUN_DESTROY) {
        if (load_stack(req, &st, out, err) != 0) return -1;
        if (stack_region(&st)) region = stack_region(&st);
        stack_resources(&st, &desired);
    }
    int rc = 0;
    aws_client *aws = aws_client_new_resolved(region, aws_opts, err);   /* env, profile, then IMDS */
    if (!aws) {
        errinfo_prefix(err, "AWS client");
        rc = failed(out, err);
    }
    provider_ctx ctx = {aws, req->env, aws_opts ? aws_opts->page_size : 0};
    if (rc == 0) rc = discover(&ctx, &actual, out, err);
    if (rc == 0) rc = plan_apply(req, &ctx, &desired, &actual, out, err);
    resource_set_free(&desired);
    resource_set_free(&actual);
    aws_client_free(aws);
    stack_free(&st);
    return rc;
}

void envrun_result_free(envrun_result *r) {
    free(r->plan_text);
    free(r->errors);
    memset(r, 0, sizeof(*r));
}
