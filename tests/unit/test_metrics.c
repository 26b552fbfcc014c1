/* The registry's text: what Prometheus parses must be exact (escaping,
 * cumulative buckets, +Inf, _sum, _count), and threads must not lose counts. */
#include "util/metrics.h"
#include "check.h"

#include <pthread.h>
#include <stdlib.h>

static const metrics_spec DELIVERIES = {.name = "t_deliveries_total",
                                        .help = "Deliveries by \"host\",\nresult \\ all.",
                                        .type = METRICS_COUNTER,
                                        .labels = {"host", "result"}};
static const metrics_spec QUEUE = {.name = "t_queue_depth", .help = "Queued.", .type = METRICS_GAUGE};
static const double BOUNDS[] = {0.5, 1, 2.5};
static const metrics_spec DURATION = {.name = "t_duration_seconds", .help = "How long.", .type = METRICS_HISTOGRAM, .labels = {"env"}, .buckets = BOUNDS, .n_buckets = 3};
static const metrics_spec DEFAULT_BUCKETS = {.name = "t_default_seconds", .help = "Default buckets.", .type = METRICS_HISTOGRAM};
static const metrics_spec EMPTY = {.name = "t_empty_total", .help = "Nothing yet.", .type = METRICS_COUNTER, .labels = {"x"}};

static char *render(metrics *m) {
    strbuf b = {0};
    metrics_render(m, &b);
    return strbuf_take(&b);
}

static void test_counters_and_escaping(void) {
    metrics *m = metrics_new();
    metrics_add(m, &DELIVERIES, (const char *[]){"github", "accepted"}, 1);
    metrics_add(m, &DELIVERIES, (const char *[]){"github", "accepted"}, 2);
    metrics_add(m, &DELIVERIES, (const char *[]){"git\"hub\\x\ny", NULL}, 1);
    metrics_add(m, &DELIVERIES, (const char *[]){"github", "accepted"}, -5); /* ignored */
    metrics_set(m, &QUEUE, NULL, 7);
    metrics_set(m, &QUEUE, NULL, 4.25);
    char *t = render(m);
    CHECK_STR(t,
              "# HELP t_deliveries_total Deliveries by \"host\",\\nresult \\\\ all.\n"
              "# TYPE t_deliveries_total counter\n"
              "t_deliveries_total{host=\"github\",result=\"accepted\"} 3\n"
              "t_deliveries_total{host=\"git\\\"hub\\\\x\\ny\",result=\"\"} 1\n"
              "# HELP t_queue_depth Queued.\n"
              "# TYPE t_queue_depth gauge\n"
              "t_queue_depth 4.25\n");
    free(t);
    metrics_free(m);
}

static void test_histogram(void) {
    metrics *m = metrics_new();
    const char *dev[] = {"dev"};
    metrics_observe(m, &DURATION, dev, 0.2);
    metrics_observe(m, &DURATION, dev, 0.5); /* le is inclusive */
    metrics_observe(m, &DURATION, dev, 2);
    metrics_observe(m, &DURATION, dev, 100);
    metrics_observe(m, &DURATION, (const char *[]){"prod"}, 1);
    char *t = render(m);
    CHECK_STR(t,
              "# HELP t_duration_seconds How long.\n"
              "# TYPE t_duration_seconds histogram\n"
              "t_duration_seconds_bucket{env=\"dev\",le=\"0.5\"} 2\n"
              "t_duration_seconds_bucket{env=\"dev\",le=\"1\"} 2\n"
              "t_duration_seconds_bucket{env=\"dev\",le=\"2.5\"} 3\n"
              "t_duration_seconds_bucket{env=\"dev\",le=\"+Inf\"} 4\n"
              "t_duration_seconds_sum{env=\"dev\"} 102.7\n"
              "t_duration_seconds_count{env=\"dev\"} 4\n"
              "t_duration_seconds_bucket{env=\"prod\",le=\"0.5\"} 0\n"
              "t_duration_seconds_bucket{env=\"prod\",le=\"1\"} 1\n"
              "t_duration_seconds_bucket{env=\"prod\",le=\"2.5\"} 1\n"
              "t_duration_seconds_bucket{env=\"prod\",le=\"+Inf\"} 1\n"
              "t_duration_seconds_sum{env=\"prod\"} 1\n"
              "t_duration_seconds_count{env=\"prod\"} 1\n");
    free(t);
    metrics_free(m);
}

static void test_default_buckets_and_declared(void) {
    metrics *m = metrics_new();
    metrics_declare(m, &EMPTY);
    metrics_observe(m, &DEFAULT_BUCKETS, NULL, 45);
    char *t = render(m);
    CHECK(strncmp(t, "# HELP t_empty_total Nothing yet.\n# TYPE t_empty_total counter\n# HELP t_default_seconds", 87) == 0);
    CHECK_CONTAINS(t, "t_default_seconds_bucket{le=\"0.1\"} 0\n");
    CHECK_CONTAINS(t, "t_default_seconds_bucket{le=\"30\"} 0\nt_default_seconds_bucket{le=\"60\"} 1\n");
    CHECK_CONTAINS(t, "t_default_seconds_bucket{le=\"3600\"} 1\nt_default_seconds_bucket{le=\"+Inf\"} 1\n");
    CHECK_CONTAINS(t, "t_default_seconds_sum 45\nt_default_seconds_count 1\n");
    free(t);
    metrics_free(m);
    metrics_add(NULL, &EMPTY, NULL, 1); /* no registry: nothing, no crash */
}

static void *count_many(void *arg) {
    for (int i = 0; i < 10000; i++) {
        metrics_add(arg, &DELIVERIES, (const char *[]){"github", i % 2 ? "accepted" : "duplicate"}, 1);
        metrics_observe(arg, &DURATION, (const char *[]){"dev"}, 1);
    }
    return NULL;
}

static void test_threads(void) {
    metrics *m = metrics_new();
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, count_many, m);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    char *text = render(m);
    CHECK_CONTAINS(text, "t_deliveries_total{host=\"github\",result=\"duplicate\"} 20000\n");
    CHECK_CONTAINS(text, "t_deliveries_total{host=\"github\",result=\"accepted\"} 20000\n");
    CHECK_CONTAINS(text, "t_duration_seconds_count{env=\"dev\"} 40000\n");
    free(text);
    metrics_free(m);
}

int main(void) {
    test_counters_and_escaping();
    test_histogram();
    test_default_buckets_and_declared();
    test_threads();
    return CHECK_DONE();
}
