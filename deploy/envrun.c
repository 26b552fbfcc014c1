/* envrun: see envrun.h. */
#include "deploy/envrun.h"
#include "deploy/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_lines(const envrun_request *req, const char *text) {
    if (!req->log || !text) return;
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) req->log(req->log_arg, l);
    free(copy);
}

static int fail(envrun_result *out, const char *what, const char *msg) {
    out->failed = 1;
    snprintf(out->summary, sizeof(out->summary), "%s: %s", what, msg);
    return -1;
}

static int connect_aws(const char *region, aws_client **aws, envrun_result *out) {
    char err[1024];
    *aws = aws_client_new_resolved(region, err, sizeof(err)); /* env, profile, then IMDS */
    return *aws ? 0 : fail(out, "AWS client", err);
}

int envrun(const envrun_request *req, envrun_result *out) {
    memset(out, 0, sizeof(*out));
    stack st = {0};
    resource_set desired = {0}, actual = {0};
    const char *region = req->region;
    if (req->mode != ENVRUN_DESTROY) {
        if (stack_load(req->stack_text, req->stack_len, req->stack_file, req->env, &st, &out->errors) != 0 ||
            (req->user_data_template && stack_set_user_data_template(&st, req->user_data_template,
                                                                     req->user_data_template_len, &out->errors) != 0)) {
            stack_free(&st);
            out->invalid = 1;
            log_lines(req, out->errors);
            snprintf(out->summary, sizeof(out->summary), "%.*s", (int)strcspn(out->errors, "\n"), out->errors);
            return -1;
        }
        if (stack_region(&st)) region = stack_region(&st);
        stack_resources(&st, &desired);
    }
    aws_client *aws = NULL;
    int rc = connect_aws(region, &aws, out);
    provider_ctx ctx = {aws, req->env};
    aws_error err = {0};
    if (rc == 0 && plan_discover(&ctx, &actual, &err) != 0) {
        char msg[700];
        snprintf(msg, sizeof(msg), "%s%s%s", err.code, err.code[0] ? ": " : "", err.message);
        rc = fail(out, "discovery", msg);
    }
    if (rc == 0) {
        plan p;
        plan_build(&desired, &actual, &p);
        plan_summary(&p, out->plan_summary, sizeof(out->plan_summary));
        out->plan_text = plan_render_text(&p);
        out->changes = plan_has_changes(&p);
        log_lines(req, out->plan_text);
        snprintf(out->summary, sizeof(out->summary), "%s", out->plan_summary);
        if (req->mode != ENVRUN_PLAN && out->changes) {
            apply_result ar;
            rc = apply_plan(&ctx, &p, req->log, req->log_arg, &ar);
            apply_summary(&ar, out->summary, sizeof(out->summary));
            out->failed = rc != 0;
            if (req->log) req->log(req->log_arg, out->summary);
        }
        plan_free(&p);
    }
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
