/* metrics: what the bot counts (util/metrics.h) and the text of GET
 * /metrics (Prometheus text format 0.0.4, behind a read credential).
 *
 * Counted as it happens, into the registry `deploybot serve` makes and
 * hands to the server and the worker:
 *   deploybot_webhook_deliveries_total{host,event,result}  result: accepted,
 *       duplicate, ignored (an event or deleted branch with nothing to do),
 *       ping, or the HTTP status of a refusal (400, 401, 403, 411, 413, 503);
 *       event is "unverified" until the delivery is authentic (a
 *       client must not choose the series)
 *   deploybot_runs_total{environment,kind,result}  result: the run's final
 *       state (succeeded, failed, skipped, blocked, superseded ...)
 *   deploybot_run_duration_seconds{environment,kind}  histogram
 *   deploybot_run_phase_seconds{environment,phase}  histogram; phase: fetch,
 *       discover, plan, apply
 *   deploybot_aws_calls_total, _throttles_total, _retries_total
 *       (deploy/aws/aws.c)
 * Read from the store at each scrape (store/backlog.h, store/envstate.h):
 *   deploybot_queue_depth{queue}, deploybot_queue_oldest_age_seconds{queue}
 *       queue: jobs (webhook jobs not yet dispatched), runs (not started)
 *   deploybot_outbox_depth, deploybot_outbox_oldest_age_seconds
 *   deploybot_environment_state{environment,state} 1 for the environment's
 *       state as store/envstate.h decides it, 0 for each of the others
 *       (applying, locked, queued, failed, drifted, in_sync)
 *   deploybot_last_successful_apply_timestamp_seconds{environment} when
 *       the deployed commit was applied; absent when nothing is deployed
 * and deploybot_build_info{version,commit} 1. */
#ifndef DEPLOYBOT_BOT_METRICS_H
#define DEPLOYBOT_BOT_METRICS_H

#include "store/store.h"
#include "util/metrics.h"

#define BOT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Makes the families counted as things happen, so a scrape lists them
 * before the first webhook. */
void bot_metrics_declare(metrics *m);

/* One webhook delivery's answer. event NULL: not authentic (yet). */
void bot_metrics_delivery(metrics *m, const char *host, const char *event, const char *result);

/* A finished run; seconds negative: it never ran (superseded). */
void bot_metrics_run(metrics *m, const char *env, const char *kind, const char *result, double seconds);

/* One phase of a run; seconds negative: not reached, nothing counted. */
void bot_metrics_phase(metrics *m, const char *env, const char *phase, double seconds);

/* The page: m's series, then the store's gauges as of now, then the build.
 * NULL with err when the store cannot be read. */
char *bot_metrics_scrape(metrics *m, store *db, errinfo *err);

#endif
