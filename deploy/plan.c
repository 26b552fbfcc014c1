/* plan: diff of desired and discovered resources. */
#include "deploy/plan.h"
#include "deploy/providers/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_discover(const provider_ctx *c, resource_set *actual, errinfo *err) {
    if (discover_all(c, c->discovery_parallelism, actual, err) != 0) return -1;
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

int plan_read_details(const provider_ctx *c, plan *p, errinfo *err) {
    for (size_t i = 0; i < p->n; i++) {
        plan_change *ch = &p->changes[i];
        if (ch->action != PLAN_UPDATE && ch->action != PLAN_REPLACE) continue;
        const provider *pv = provider_find(ch->actual->type);
        if (pv && pv->detail && pv->detail(c, ch->actual, ch->changed, err) != 0)
            return errinfo_prefix(err, "reading %s (%s)", ch->actual->id, ch->actual->physical);
    }
    return 0;
}

void plan_free(plan *p) {
    for (size_t i = 0; i < p->n; i++) json_decref(p->changes[i].changed);
    free(p->changes);
    resource_set_free(&p->desired);
    resource_set_free(&p->actual);
    memset(p, 0, sizeof(*p));
}
