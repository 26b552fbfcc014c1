/* plan_bench: where a plan's time goes, with deploybot's own code — the
 * steps envrun takes, timed one by one (the bot's timings line can only see
 * discovery + planning as one).
 *
 *   plan_bench ENV STACK_FILE ROUNDS
 *   plan_bench ENV STACK_FILE graph
 *
 * AWS settings come from the environment, as for the bot (AWS_ENDPOINT_URL
 * points at the fake, DEPLOYBOT_AWS_* as bot_config_load reads
 * them; instance metadata is never asked). Prints one JSON line per round:
 *   {"validate_ms", "client_ms", "discover_ms", "build_ms", "render_ms",
 *    "desired", "actual", "add", "change", "destroy", "aws_requests"}
 * or {"error": "..."}. Nothing is applied.
 *
 * "graph" prints the stack's desired resources instead, without AWS, one
 * JSON line: {"resources": [{"id", "type", "refs": [logical ids]}]}: the
 * graph an apply walks (a create waits for what it refers to), which the
 * bench weighs with the fake's timing profile. */
#include "bot/config.h"
#include "deploy/aws/aws.h"
#include "deploy/plan_render.h"
#include "deploy/stack_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_error(const char *what, const char *err) {
    printf("{\"error\":\"%s: ", what);
    for (const char *p = err; *p; p++) putchar(*p == '"' || *p == '\\' || *p < 0x20 ? '\'' : *p);
    printf("\"}\n");
    fflush(stdout);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    *len = buf ? fread(buf, 1, (size_t)n, f) : 0;
    if (buf) buf[*len] = '\0';
    fclose(f);
    return buf;
}

static int one_round(const char *env, const char *file, const char *text, size_t len,
                     const deploy_options *o) {
    stack st = {0};
    char *errors = NULL;
    errinfo err;
    resource_set desired = {0}, actual = {0};
    double t0 = now_ms();
    if (stack_load(text, len, file, env, &st, &errors, &err) != 0) {
        print_error("stack", errors ? errors : "invalid");
        free(errors);
        return -1;
    }
    stack_resources(&st, &desired);
    double t1 = now_ms();
    aws_client *aws = aws_client_new_resolved(stack_region(&st), &o->aws, &err);
    if (!aws) {
        print_error("AWS client", err.msg);
        resource_set_free(&desired);
        stack_free(&st);
        return -1;
    }
    double t2 = now_ms();
    provider_ctx ctx = {.aws = aws, .stack = env, .page_size = o->aws.page_size, .discovery_parallelism = o->discovery_parallelism};
    if (plan_discover(&ctx, &actual, &err) != 0) {
        char why[sizeof(err.msg) + sizeof(err.remote) + 2];
        snprintf(why, sizeof(why), "%s %s", err.remote, err.msg);
        print_error("discovery", why);
        resource_set_free(&desired);
        resource_set_free(&actual);
        aws_client_free(aws);
        stack_free(&st);
        return -1;
    }
    double t3 = now_ms();
    size_t n_desired = desired.n, n_actual = actual.n;
    plan p;
    plan_build(&desired, &actual, &p);
    double t4 = now_ms();
    char *text_plan = plan_render_text(&p, NULL);
    double t5 = now_ms();
    printf(
        "{\"validate_ms\":%.3f,\"client_ms\":%.3f,\"discover_ms\":%.3f,\"build_ms\":%.3f,"
        "\"render_ms\":%.3f,\"desired\":%zu,\"actual\":%zu,\"add\":%d,\"change\":%d,"
        "\"destroy\":%d,\"plan_bytes\":%zu,\"aws_requests\":%lu}\n",
        t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, n_desired, n_actual, p.add, p.change,
        p.destroy, strlen(text_plan), aws_client_request_count(aws));
    fflush(stdout);
    free(text_plan);
    plan_free(&p);
    aws_client_free(aws);
    stack_free(&st);
    return 0;
}

static void add_ref(const char *id, void *arg) { json_array_append_new(arg, json_string(id)); }

static int print_graph(const char *env, const char *file, const char *text, size_t len) {
    stack st = {0};
    char *errors = NULL;
    errinfo err;
    if (stack_load(text, len, file, env, &st, &errors, &err) != 0) {
        print_error("stack", errors ? errors : "invalid");
        free(errors);
        return -1;
    }
    resource_set desired = {0};
    stack_resources(&st, &desired);
    json_t *list = json_array();
    for (size_t i = 0; i < desired.n; i++) {
        json_t *refs = json_array();
        resource_refs_each(desired.items[i].attrs, add_ref, refs);
        json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "id", desired.items[i].id, "type",
                                              desired.items[i].type, "refs", refs));
    }
    json_t *doc = json_pack("{s:o}", "resources", list);
    char *out = json_dumps(doc, JSON_COMPACT);
    printf("%s\n", out);
    free(out);
    json_decref(doc);
    resource_set_free(&desired);
    stack_free(&st);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: plan_bench ENV STACK_FILE ROUNDS|graph\n");
        return 2;
    }
    /* A benchmark talks to 127.0.0.1 only: never to instance metadata. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    size_t len;
    char *text = read_file(argv[2], &len);
    if (!text) {
        perror(argv[2]);
        return 1;
    }
    bot_config cfg;
    errinfo err;
    if (bot_config_load(NULL, &cfg, &err) != 0) {
        print_error("config", err.msg);
        free(text);
        return 1;
    }
    if (strcmp(argv[3], "graph") == 0) {
        int rc = print_graph(argv[1], argv[2], text, len);
        free(text);
        return rc == 0 ? 0 : 1;
    }
    int rounds = atoi(argv[3]), rc = 0;
    for (int i = 0; i < rounds && rc == 0; i++) rc = one_round(argv[1], argv[2], text, len, &cfg.deploy);
    bot_config_free(&cfg);
    free(text);
    return rc == 0 ? 0 : 1;
}
