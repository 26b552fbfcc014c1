/* metrics: see metrics.h. Families and series are short linked lists: a
 * registry holds tens of families of at most a few hundred series, and a
 * lookup costs less than the AWS call or run it counts. */
#include "util/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double METRICS_SECONDS_BUCKETS[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
const size_t METRICS_SECONDS_N = sizeof(METRICS_SECONDS_BUCKETS) / sizeof(METRICS_SECONDS_BUCKETS[0]);

typedef struct series {
    char *values[METRICS_LABELS_MAX];
    double value;   /* counter, gauge; a histogram's sum */
    double *counts; /* histogram: per bucket, not yet cumulative */
    double count;   /* histogram: observations */
    struct series *next;
} series;

typedef struct family {
    const metrics_spec *spec;
    size_t n_labels;
    const double *bounds;
    size_t n_bounds;
    series *first, *last;
    struct family *next;
} family;

struct metrics {
    pthread_mutex_t mu;
    family *first, *last;
};

metrics *metrics_new(void) {
    metrics *m = calloc(1, sizeof(*m));
    if (!m) abort();
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void series_free(series *s, size_t n_labels) {
    for (size_t i = 0; i < n_labels; i++) free(s->values[i]);
    free(s->counts);
    free(s);
}

void metrics_free(metrics *m) {
    if (!m) return;
    for (family *f = m->first, *fn; f; f = fn) {
        fn = f->next;
        for (series *s = f->first, *sn; s; s = sn) {
            sn = s->next;
            series_free(s, f->n_labels);
        }
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Under the lock. Two specs of one name are one family; their types must
 * agree, or the text would lie about the series (a bug: abort). */
static family *family_of(metrics *m, const metrics_spec *spec) {
    family *f = m->first;
    while (f && f->spec != spec && strcmp(f->spec->name, spec->name) != 0) f = f->next;
    if (f) {
        if (f->spec->type != spec->type) abort();
        return f;
    }
    if (!(f = calloc(1, sizeof(*f)))) abort();
    f->spec = spec;
    while (f->n_labels < METRICS_LABELS_MAX && spec->labels[f->n_labels]) f->n_labels++;
    f->bounds = spec->buckets ? spec->buckets : METRICS_SECONDS_BUCKETS;
    f->n_bounds = spec->buckets ? spec->n_buckets : METRICS_SECONDS_N;
    if (m->last) m->last->next = f;
    else m->first = f;
    m->last = f;
    return f;
}

static int series_is(const series *s, size_t n, const char *const *values) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values && values[i] ? values[i] : "") != 0) return 0;
    return 1;
}

static series *series_of(family *f, const char *const *values) {
    series *s = f->first;
    while (s && !series_is(s, f->n_labels, values)) s = s->next;
    if (s) return s;
    if (!(s = calloc(1, sizeof(*s)))) abort();
    for (size_t i = 0; i < f->n_labels; i++)
        if (!(s->values[i] = strdup(values && values[i] ? values[i] : ""))) abort();
    if (f->spec->type == METRICS_HISTOGRAM && !(s->counts = calloc(f->n_bounds + 1, sizeof(double)))) abort();
    if (f->last) f->last->next = s;
    else f->first = s;
    f->last = s;
    return s;
}

void metrics_declare(metrics *m, const metrics_spec *spec) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    family_of(m, spec);
    pthread_mutex_unlock(&m->mu);
}

/* The series to change (and its family in *f), with the lock held; NULL
 * (unlocked) when m is. */
static series *locked_series(metrics *m, const metrics_spec *spec, metrics_type want,
                             const char *const *values, family **f) {
    if (!m) return NULL;
    if (spec->type != want && !(want == METRICS_GAUGE && spec->type == METRICS_COUNTER)) abort();
    pthread_mutex_lock(&m->mu);
    *f = family_of(m, spec);
    return series_of(*f, values);
}

void metrics_add(metrics *m, const metrics_spec *spec, const char *const *values, double v) {
    family *f;
    if (spec->type == METRICS_COUNTER && !(v >= 0)) return;
    series *s = locked_series(m, spec, METRICS_GAUGE, values, &f);
    if (!s) return;
    s->value += v;
    pthread_mutex_unlock(&m->mu);
}

void metrics_set(metrics *m, const metrics_spec *spec, const char *const *values, double v) {
    family *f;
    if (spec->type != METRICS_GAUGE) abort(); /* a counter is never set back */
    series *s = locked_series(m, spec, METRICS_GAUGE, values, &f);
    if (!s) return;
    s->value = v;
    pthread_mutex_unlock(&m->mu);
}

void metrics_observe(metrics *m, const metrics_spec *spec, const char *const *values, double v) {
    family *f;
    series *s = locked_series(m, spec, METRICS_HISTOGRAM, values, &f);
    if (!s) return;
    size_t i = 0;
    while (i < f->n_bounds && v > f->bounds[i]) i++;
    s->counts[i]++; /* [n_bounds] is +Inf's own */
    s->count++;
    s->value += v;
    pthread_mutex_unlock(&m->mu);
}

/* ---- the text format ---------------------------------------------------- */

/* The shortest text that reads back as v; Prometheus' spellings of the
 * special values. */
static const char *number(double v, char buf[40]) {
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }
    snprintf(buf, 40, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, 40, "%.17g", v);
    return buf;
}

/* HELP escapes backslash and newline; a label value the double quote too. */
static void put_escaped(strbuf *out, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\') strbuf_puts(out, "\\\\");
        else if (*s == '\n') strbuf_puts(out, "\\n");
        else if (*s == '"' && quote) strbuf_puts(out, "\\\"");
        else strbuf_putc(out, *s);
    }
}

/* name{labels,extra="value"} v */
static void put_sample(strbuf *out, const family *f, const series *s, const char *suffix, const char *le,
                       double v) {
    char buf[40];
    strbuf_printf(out, "%s%s", f->spec->name, suffix);
    if (f->n_labels || le) {
        strbuf_putc(out, '{');
        for (size_t i = 0; i < f->n_labels; i++) {
            strbuf_printf(out, "%s%s=\"", i ? "," : "", f->spec->labels[i]);
            put_escaped(out, s->values[i], 1);
            strbuf_putc(out, '"');
        }
        if (le) strbuf_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
        strbuf_putc(out, '}');
    }
    strbuf_printf(out, " %s\n", number(v, buf));
}

static void put_histogram(strbuf *out, const family *f, const series *s) {
    char le[40];
    double cumulative = 0;
    for (size_t i = 0; i < f->n_bounds; i++) {
        cumulative += s->counts[i];
        put_sample(out, f, s, "_bucket", number(f->bounds[i], le), cumulative);
    }
    put_sample(out, f, s, "_bucket", "+Inf", s->count);
    put_sample(out, f, s, "_sum", NULL, s->value);
    put_sample(out, f, s, "_count", NULL, s->count);
}

static const char *type_name(metrics_type t) {
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge"
                                                                 : "histogram";
}

void metrics_render(metrics *m, strbuf *out) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    for (const family *f = m->first; f; f = f->next) {
        strbuf_printf(out, "# HELP %s ", f->spec->name);
        put_escaped(out, f->spec->help, 0);
        strbuf_printf(out, "\n# TYPE %s %s\n", f->spec->name, type_name(f->spec->type));
        for (const series *s = f->first; s; s = s->next) {
            if (f->spec->type == METRICS_HISTOGRAM) put_histogram(out, f, s);
            else put_sample(out, f, s, "", NULL, s->value);
        }
    }
    pthread_mutex_unlock(&m->mu);
}
