/* metrics: counters, gauges and histograms with labels, and their text in
 * the Prometheus exposition format 0.0.4 (what GET /metrics serves).
 *
 * A family is described by a metrics_spec, a static constant of the module
 * that counts into it: its name (Prometheus conventions: a counter ends in
 * _total, a duration is in _seconds), help, type, label names and, for a
 * histogram, bucket bounds. The registry makes the family at its first use,
 * so every layer keeps its own series next to the code that counts them.
 * A series is one combination of label values, given in the order of the
 * spec's label names; label values are escaped when rendered, so any text
 * may be one (but the caller keeps their number bounded: never a value a
 * client chooses before it is authenticated).
 *
 * No hidden global: the registry is made once (`deploybot serve` makes it)
 * and handed down to whoever counts; NULL everywhere means "count nothing",
 * so the CLI and the tests need none. Thread-safe: one mutex guards
 * everything, held for a few comparisons per call and while rendering. */
#ifndef DEPLOYBOT_UTIL_METRICS_H
#define DEPLOYBOT_UTIL_METRICS_H

#include <stddef.h>

#include "util/strbuf.h"

#define METRICS_LABELS_MAX 4

typedef enum { METRICS_COUNTER,
               METRICS_GAUGE,
               METRICS_HISTOGRAM } metrics_type;

typedef struct {
    const char *name;
    const char *help;
    metrics_type type;
    const char *labels[METRICS_LABELS_MAX]; /* label names; the unused ones NULL */
    const double *buckets;                  /* histogram upper bounds, ascending; NULL:
                                               METRICS_SECONDS_BUCKETS */
    size_t n_buckets;
} metrics_spec;

/* Durations from 0.1 s to 1 h: a webhook's fetch to a whole apply. */
extern const double METRICS_SECONDS_BUCKETS[];
extern const size_t METRICS_SECONDS_N;

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* Makes spec's family now, so it is listed (HELP and TYPE) before it has a
 * series. Using a spec does the same. spec must outlive the registry. */
void metrics_declare(metrics *m, const metrics_spec *spec);

/* values: one per label name of spec (a NULL value is ""). m NULL: nothing.
 * add: a counter or a gauge (a counter only goes up: a negative v is
 * ignored); set: a gauge; observe: a histogram. Another pairing, or two
 * types under one name, is a bug and aborts. */
void metrics_add(metrics *m, const metrics_spec *spec, const char *const *values, double v);
void metrics_set(metrics *m, const metrics_spec *spec, const char *const *values, double v);
void metrics_observe(metrics *m, const metrics_spec *spec, const char *const *values, double v);

/* Appends every family, in the order they were made, to out: `# HELP`,
 * `# TYPE`, then the series in the order they were made (a histogram's
 * cumulative `_bucket`s up to le="+Inf", `_sum` and `_count`). */
void metrics_render(metrics *m, strbuf *out);

#endif
