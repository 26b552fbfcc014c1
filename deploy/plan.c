/* plan: diff of desired and discovered resources. */
#include "deploy/plan.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_discover(const provider_ctx *c, resource_set *actual, errinfo *err) {
    for (const provider *const *p = provider_all(); *p; p++)
        if ((*p)->discover(c, actual, err) != 0) return -1;
    resource_set_link(actual);
    return 0;
}

static int cmp_dump(const void *a, const void *b) {
    char *x = json_dumps(*(json_t *const *)a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *y = json_dumps(*(json_t *const *)b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    int r = strcmp(x, y);
    free(x);
    free(y);
    return r;
}

/* Every list in a resource's attributes is a set (rules, subnets, CIDRs):
 * sort them so order never shows up as a change. */
static void canonicalize(json_t *v) {
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) canonicalize(c);
    } else if (json_is_array(v)) {
        size_t n = json_array_size(v);
        json_t **items = malloc((n ? n : 1) * sizeof(*items));
        for (size_t i = 0; i < n; i++) {
            items[i] = json_incref(json_array_get(v, i));
            canonicalize(items[i]);
        }
        qsort(items, n, sizeof(*items), cmp_dump);
        json_array_clear(v);
        for (size_t i = 0; i < n; i++) json_array_append_new(v, items[i]);
        free(items);
    }
}

typedef struct {
    const plan *p;
    int pending;
} ref_check;

static plan_change *change_for(const plan *p, const char *id) {
    for (size_t i = 0; i < p->n; i++)
        if (p->changes[i].desired && strcmp(p->changes[i].desired->id, id) == 0) return &p->changes[i];
    return NULL;
}

static void check_ref(const char *id, void *arg) {
    ref_check *rc = arg;
    plan_change *c = change_for(rc->p, id);
    if (c && (c->action == PLAN_CREATE || c->action == PLAN_REPLACE)) rc->pending = 1;
}

static int listed(const char *const *list, const char *key) {
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], key) == 0) return 1;
    return 0;
}

/* Whether a change of `key` (from `have`, NULL when the resource has none)
 * replaces the resource. */
static int is_forced(const provider *pv, const char *key, const json_t *have) {
    if (!pv) return 0;
    return listed(pv->force_new, key) || (have && listed(pv->force_new_if_set, key));
}

/* Recomputes one change; returns 1 when its action changed. */
static int classify(plan *p, plan_change *c) {
    plan_action before = c->action;
    if (!c->actual) {
        c->action = PLAN_CREATE;
        return before != c->action;
    }
    const provider *pv = provider_find(c->desired->type);
    json_array_clear(c->changed);
    c->forced_by = NULL;
    const char *k;
    json_t *want;
    json_object_foreach(c->desired->attrs, k, want) {
        ref_check rc = {p, 0};
        resource_refs_each(want, check_ref, &rc);
        json_t *have = json_object_get(c->actual->attrs, k);
        if (!rc.pending && have && json_equal(want, have)) continue;
        json_array_append_new(c->changed, json_string(k));
        if (!c->forced_by && (is_forced(pv, k, have) || !pv->update)) c->forced_by = k;
    }
    c->action = c->forced_by ? PLAN_REPLACE : json_array_size(c->changed) ? PLAN_UPDATE
                                                                          : PLAN_NOOP;
    return before != c->action;
}

void plan_build(resource_set *desired, resource_set *actual, plan *out) {
    memset(out, 0, sizeof(*out));
    out->desired = *desired;
    out->actual = *actual;
    memset(desired, 0, sizeof(*desired));
    memset(actual, 0, sizeof(*actual));
    out->changes = calloc(out->desired.n + out->actual.n + 1, sizeof(plan_change));
    for (size_t i = 0; i < out->desired.n; i++) {
        plan_change *c = &out->changes[out->n++];
        c->desired = &out->desired.items[i];
        c->actual = resource_set_find(&out->actual, c->desired->id);
        c->changed = json_array();
        canonicalize(c->desired->attrs);
        if (c->actual) canonicalize(c->actual->attrs);
        c->action = PLAN_NOOP;
    }
    /* A replaced or new resource changes everything that refers to it, which
     * may replace those in turn: iterate to a fixed point. */
    for (int changed = 1, rounds = 0; changed && rounds <= (int)out->n; rounds++) {
        changed = 0;
        for (size_t i = 0; i < out->n; i++) changed |= classify(out, &out->changes[i]);
    }
    for (size_t i = 0; i < out->n; i++) {
        plan_change *c = &out->changes[i];
        if (c->actual && c->action != PLAN_REPLACE) c->desired->physical = strdup(c->actual->physical);
    }
    for (size_t i = 0; i < out->actual.n; i++) {
        resource *a = &out->actual.items[i];
        if (resource_set_find(&out->desired, a->id)) continue;
        plan_change *c = &out->changes[out->n++];
        c->action = PLAN_DELETE;
        c->actual = a;
        c->changed = json_array();
    }
    for (size_t i = 0; i < out->n; i++) {
        plan_action a = out->changes[i].action;
        out->add += a == PLAN_CREATE || a == PLAN_REPLACE;
        out->change += a == PLAN_UPDATE;
        out->destroy += a == PLAN_DELETE || a == PLAN_REPLACE;
    }
}

int plan_has_changes(const plan *p) { return p->add + p->change + p->destroy > 0; }

/* The snapshots come after the Terraform-style sentence, which tools parse. */
void plan_summary(const plan *p, char *out, size_t outlen) {
    if (!plan_has_changes(p)) snprintf(out, outlen, "No changes.");
    else if (!p->snapshots)
        snprintf(out, outlen, "Plan: %d to add, %d to change, %d to destroy.", p->add, p->change, p->destroy);
    else
        snprintf(out, outlen, "Plan: %d to add, %d to change, %d to destroy. %d final snapshot%s to take.",
                 p->add, p->change, p->destroy, p->snapshots, p->snapshots == 1 ? "" : "s");
}

/* A copy of v where every reference reads "<id>.id", as Terraform shows them. */
static json_t *readable(const json_t *v) {
    const char *ref = resource_ref_id(v);
    if (ref) {
        char buf[300];
        snprintf(buf, sizeof(buf), "%s.id", ref);
        return json_string(buf);
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) json_array_append_new(out, readable(json_array_get(v, i)));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) json_object_set_new(out, k, readable(c));
        return out;
    }
    return json_deep_copy(v);
}

static char *show(const json_t *v) {
    if (!v) return strdup("null");
    const char *ref = resource_ref_id(v);
    if (ref) {
        char *s = NULL;
        if (asprintf(&s, "%s.id", ref) < 0) abort();
        return s;
    }
    json_t *r = readable(v);
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(r);
    return s;
}

static int array_has(const json_t *arr, const json_t *v) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_equal(json_array_get(arr, i), (json_t *)v)) return 1;
    return 0;
}

/* Lists are sets: show what leaves and what joins, one item a line. */
static void render_set_change(strbuf *s, const char *k, const json_t *from, const json_t *to) {
    strbuf_printf(s, "      %s:\n", k);
    for (int pass = 0; pass < 2; pass++) {
        const json_t *a = pass ? to : from, *b = pass ? from : to;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (array_has(b, json_array_get(a, i))) continue;
            char *x = show(json_array_get(a, i));
            strbuf_printf(s, "        %c %s\n", pass ? '+' : '-', x);
            free(x);
        }
    }
}

static void render_attrs(strbuf *s, const plan_change *c) {
    const char *k;
    json_t *v;
    if (c->action == PLAN_CREATE) {
        json_object_foreach(c->desired->attrs, k, v) {
            char *x = show(v);
            strbuf_printf(s, "      %s = %s\n", k, x);
            free(x);
        }
        return;
    }
    for (size_t i = 0; i < json_array_size(c->changed); i++) {
        k = json_string_value(json_array_get(c->changed, i));
        json_t *fv = json_object_get(c->actual->attrs, k), *tv = json_object_get(c->desired->attrs, k);
        if (json_is_array(fv) && json_is_array(tv) && !(c->forced_by && strcmp(c->forced_by, k) == 0)) {
            render_set_change(s, k, fv, tv);
            continue;
        }
        char *from = show(fv);
        /* Same reference on both sides: its target is new, its id not known yet. */
        char *to = json_equal(fv, tv) ? strdup("(known after apply)") : show(tv);
        strbuf_printf(s, "      %s: %s -> %s%s\n", k, from, to,
                      c->forced_by && strcmp(c->forced_by, k) == 0 ? "  # forces replacement" : "");
        free(from);
        free(to);
    }
}

static void render_snapshot(strbuf *s, const plan_change *c) {
    if (c->final_snapshot == PLAN_SNAPSHOT_TAKE)
        strbuf_printf(s, "      + final snapshot of %s (tagged deploybot:id=%s), completed before it is deleted\n",
                      c->actual->physical, c->actual->id);
    else if (c->final_snapshot == PLAN_SNAPSHOT_SKIPPED)
        strbuf_printf(s, "      no final snapshot of %s (skip_final_snapshot): its data is lost\n", c->actual->physical);
}

char *plan_render_text(const plan *p) {
    strbuf s = {0};
    static const char *const sym[] = {"", "+", "~", "-/+", "-"};
    static const char *const verb[] = {"", "will be created", "will be updated in place",
                                       "must be replaced", "will be destroyed"};
    for (size_t i = 0; i < p->n; i++) {
        const plan_change *c = &p->changes[i];
        if (c->action == PLAN_NOOP) continue;
        const resource *r = c->desired ? c->desired : c->actual;
        strbuf_printf(&s, "  %s %s", sym[c->action], r->id);
        if (c->actual) strbuf_printf(&s, " (%s)", c->actual->physical);
        strbuf_printf(&s, " %s", verb[c->action]);
        if (c->action == PLAN_REPLACE) strbuf_printf(&s, " (%s forces replacement)", c->forced_by);
        strbuf_printf(&s, "\n");
        if (c->action != PLAN_DELETE) render_attrs(&s, c);
        render_snapshot(&s, c);
    }
    char sum[128];
    plan_summary(p, sum, sizeof(sum));
    strbuf_printf(&s, "%s%s\n", s.len ? "\n" : "", sum);
    return strbuf_take(&s);
}

void plan_free(plan *p) {
    for (size_t i = 0; i < p->n; i++) json_decref(p->changes[i].changed);
    free(p->changes);
    resource_set_free(&p->desired);
    resource_set_free(&p->actual);
    memset(p, 0, sizeof(*p));
}
