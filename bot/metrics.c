/* metrics: see metrics.h. The store's gauges go into a registry of their
 * own, made for each scrape: an environment that is gone is gone from the
 * page too, and nothing of them outlives the answer. */
#include "bot/metrics.h"
#include "bot/version.h"
#include "store/backlog.h"
#include "store/envstate.h"
#include "util/clock.h"

#include <stdlib.h>

static const metrics_spec DELIVERIES = {
    .name = "deploybot_webhook_deliveries_total",
    .help =
        "Webhook deliveries by host, event (\"unverified\" before the signature is checked) and result "
        "(accepted, duplicate, ignored, ping, or the HTTP status of a refusal).",
    .type = METRICS_COUNTER,
    .labels = {"host", "event", "result"}};
static const metrics_spec RUNS = {
    .name = "deploybot_runs_total",
    .help = "Finished runs by environment, kind (plan, apply, destroy ...) and result (the run's final state).",
    .type = METRICS_COUNTER,
    .labels = {"environment", "kind", "result"}};
static const metrics_spec RUN_SECONDS = {
    .name = "deploybot_run_duration_seconds",
    .help = "How long runs took, from their start to their final status.",
    .type = METRICS_HISTOGRAM,
    .labels = {"environment", "kind"}};
static const metrics_spec PHASE_SECONDS = {
    .name = "deploybot_run_phase_seconds",
    .help = "How long the phases of runs took: fetch (git), discover, plan and apply (AWS).",
    .type = METRICS_HISTOGRAM,
    .labels = {"environment", "phase"}};

static const metrics_spec QUEUE_DEPTH = {
    .name = "deploybot_queue_depth",
    .help = "What waits: webhook jobs not yet dispatched (jobs), runs not yet started (runs).",
    .type = METRICS_GAUGE,
    .labels = {"queue"}};
static const metrics_spec QUEUE_AGE = {
    .name = "deploybot_queue_oldest_age_seconds",
    .help = "How long the oldest waiting job or run has waited (0: none waits).",
    .type = METRICS_GAUGE,
    .labels = {"queue"}};
static const metrics_spec OUTBOX_DEPTH = {
    .name = "deploybot_outbox_depth",
    .help = "Statuses, comments and chat messages not yet sent.",
    .type = METRICS_GAUGE};
static const metrics_spec OUTBOX_AGE = {
    .name = "deploybot_outbox_oldest_age_seconds",
    .help = "How long the oldest unsent message has waited (0: none waits).",
    .type = METRICS_GAUGE};
static const metrics_spec ENV_STATE = {
    .name = "deploybot_environment_state",
    .help =
        "1 for the state the environment is in, 0 for the others (as the dashboard shows it, "
        "store/envstate.h): applying, locked, queued, failed, drifted, in_sync.",
    .type = METRICS_GAUGE,
    .labels = {"environment", "state"}};
static const metrics_spec LAST_APPLY = {
    .name = "deploybot_last_successful_apply_timestamp_seconds",
    .help =
        "When the environment's deployed commit was applied (Unix time); absent when nothing is "
        "deployed (never, or destroyed since).",
    .type = METRICS_GAUGE,
    .labels = {"environment"}};
static const metrics_spec BUILD = {
    .name = "deploybot_build_info",
    .help = "The release and git commit of this deploybot (always 1).",
    .type = METRICS_GAUGE,
    .labels = {"version", "commit"}};

void bot_metrics_declare(metrics *m) {
    metrics_declare(m, &DELIVERIES);
    metrics_declare(m, &RUNS);
    metrics_declare(m, &RUN_SECONDS);
    metrics_declare(m, &PHASE_SECONDS);
}

void bot_metrics_delivery(metrics *m, const char *host, const char *event, const char *result) {
    metrics_add(m, &DELIVERIES, (const char *[]){host, event ? event : "unverified", result}, 1);
}

void bot_metrics_run(metrics *m, const char *env, const char *kind, const char *result, double seconds) {
    metrics_add(m, &RUNS, (const char *[]){env, kind, result}, 1);
    if (seconds >= 0) metrics_observe(m, &RUN_SECONDS, (const char *[]){env, kind}, seconds);
}

void bot_metrics_phase(metrics *m, const char *env, const char *phase, double seconds) {
    if (seconds >= 0) metrics_observe(m, &PHASE_SECONDS, (const char *[]){env, phase}, seconds);
}

/* One series per state for each environment: a query can sum or filter
 * them without knowing which states exist. */
static int env_gauges(metrics *now, store *db, errinfo *err) {
    size_t n;
    env_status *list = store_env_states(db, NULL, 0, &n, err);
    if (!list) return -1;
    for (size_t i = 0; i < n; i++) {
        for (env_state st = 0; st < ENV_STATE_COUNT; st++)
            metrics_set(now, &ENV_STATE, (const char *[]){list[i].env, env_state_name(st)}, list[i].state == st);
        if (list[i].deployed_sha)
            metrics_set(now, &LAST_APPLY, (const char *[]){list[i].env}, list[i].deployed_ms / 1000.0);
    }
    env_status_list_free(list, n);
    return 0;
}

/* The store as it is now, into now (a registry of this scrape). */
static int store_gauges(metrics *now, store *db, errinfo *err) {
    store_backlogs b;
    if (store_backlogs_get(db, clock_wall_ms(), &b, err) < 0) return -1;
    metrics_set(now, &QUEUE_DEPTH, (const char *[]){"jobs"}, b.jobs.count);
    metrics_set(now, &QUEUE_DEPTH, (const char *[]){"runs"}, b.runs.count);
    metrics_set(now, &QUEUE_AGE, (const char *[]){"jobs"}, b.jobs.oldest_age_s);
    metrics_set(now, &QUEUE_AGE, (const char *[]){"runs"}, b.runs.oldest_age_s);
    metrics_set(now, &OUTBOX_DEPTH, NULL, b.outbox.count);
    metrics_set(now, &OUTBOX_AGE, NULL, b.outbox.oldest_age_s);
    metrics_declare(now, &ENV_STATE);
    metrics_declare(now, &LAST_APPLY);
    return env_gauges(now, db, err);
}

char *bot_metrics_scrape(metrics *m, store *db, errinfo *err) {
    metrics *now = metrics_new();
    strbuf out = {0};
    int rc = store_gauges(now, db, err);
    metrics_set(now, &BUILD, (const char *[]){version_number(), version_commit()}, 1);
    if (rc == 0) {
        metrics_render(m, &out);
        metrics_render(now, &out);
    }
    metrics_free(now);
    if (rc == 0) return strbuf_take(&out);
    strbuf_free(&out);
    return NULL;
}
