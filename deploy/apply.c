/* apply: ordered execution of a plan. */
#include "deploy/apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_CREATE, OP_UPDATE, OP_DESTROY } op_kind;

typedef struct {
    op_kind kind;
    plan_change *change;
    int done;
} op;

typedef struct {
    op *ops;
    size_t n;
} op_list;

static void logf_(apply_log_fn log, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(apply_log_fn log, void *arg, const char *fmt, ...) {
    if (!log) return;
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log(arg, line);
}

static void build_ops(plan *p, op_list *l) {
    l->ops = calloc(p->n * 2 + 1, sizeof(op));
    for (size_t i = 0; i < p->n; i++) {
        plan_change *c = &p->changes[i];
        switch (c->action) {
        case PLAN_NOOP: break;
        case PLAN_CREATE: l->ops[l->n++] = (op){OP_CREATE, c, 0}; break;
        case PLAN_UPDATE: l->ops[l->n++] = (op){OP_UPDATE, c, 0}; break;
        case PLAN_DELETE: l->ops[l->n++] = (op){OP_DESTROY, c, 0}; break;
        case PLAN_REPLACE:
            l->ops[l->n++] = (op){OP_DESTROY, c, 0};
            l->ops[l->n++] = (op){OP_CREATE, c, 0};
            break;
        }
    }
}

typedef struct { const char *id; int found; } ref_find;

static void find_ref(const char *id, void *arg) {
    ref_find *f = arg;
    if (strcmp(f->id, id) == 0) f->found = 1;
}

static int refers_to(const json_t *attrs, const char *id) {
    ref_find f = {id, 0};
    resource_refs_each(attrs, find_ref, &f);
    return f.found;
}

static const char *op_id(const op *o) {
    return o->change->desired ? o->change->desired->id : o->change->actual->id;
}

/* 1 when `a` must wait for `b`. */
static int waits_for(const op *a, const op *b) {
    if (a == b || b->done) return 0;
    const char *aid = op_id(a), *bid = op_id(b);
    if (a->kind != OP_DESTROY) {
        if (b->kind == OP_CREATE && refers_to(a->change->desired->attrs, bid)) return 1;
        if (b->kind == OP_DESTROY && strcmp(aid, bid) == 0) return 1; /* replace: old goes first */
        return 0;
    }
    /* Destroying `a` waits until nothing that is changing still refers to it. */
    return b->kind != OP_CREATE && b->change->actual && refers_to(b->change->actual->attrs, aid);
}

static op *next_ready(op_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        if (l->ops[i].done) continue;
        int ready = 1;
        for (size_t j = 0; j < l->n && ready; j++) ready = !waits_for(&l->ops[i], &l->ops[j]);
        if (ready) return &l->ops[i];
    }
    /* A cycle (should not happen with the stack's shapes): go in plan order. */
    for (size_t i = 0; i < l->n; i++)
        if (!l->ops[i].done) return &l->ops[i];
    return NULL;
}

static int run_op(const provider_ctx *c, plan *p, op *o, aws_error *err, char *msg, size_t msglen) {
    plan_change *ch = o->change;
    const resource *r = ch->desired ? ch->desired : ch->actual;
    const provider *pv = provider_find(r->type);
    json_t *want = NULL, *have = NULL;
    int rc = -1;
    if (ch->actual) have = resource_attrs_resolve(ch->actual->attrs, &p->actual, msg, msglen);
    if (o->kind != OP_DESTROY) {
        want = resource_attrs_resolve(ch->desired->attrs, &p->desired, msg, msglen);
        if (!want) goto out;
    }
    if (ch->actual && !have) goto out;
    switch (o->kind) {
    case OP_CREATE:
        free(ch->desired->physical);
        ch->desired->physical = NULL;
        rc = pv->create(c, ch->desired, want, err);
        break;
    case OP_UPDATE: rc = pv->update(c, ch->actual, have, want, err); break;
    case OP_DESTROY: rc = pv->destroy(c, ch->actual, have, err); break;
    }
    if (rc != 0) snprintf(msg, msglen, "%s%s%s", err->code, err->code[0] ? ": " : "", err->message);
out:
    json_decref(want);
    json_decref(have);
    return rc;
}

int apply_plan(const provider_ctx *c, plan *p, apply_log_fn log, void *arg, apply_result *res) {
    static const char *const verb[] = {"create", "update", "destroy"};
    static const char *const past[] = {"created", "updated", "destroyed"};
    memset(res, 0, sizeof(*res));
    op_list l = {0};
    build_ops(p, &l);
    res->ops_total = (int)l.n;
    for (op *o; (o = next_ready(&l));) {
        aws_error err = {0};
        char msg[900] = "";
        logf_(log, arg, "%s: %s...", op_id(o), verb[o->kind]);
        if (run_op(c, p, o, &err, msg, sizeof(msg)) != 0) {
            res->failed = 1;
            snprintf(res->error, sizeof(res->error), "%s: %s failed: %s", op_id(o), verb[o->kind], msg);
            logf_(log, arg, "%s", res->error);
            break;
        }
        o->done = 1;
        res->ops_done++;
        plan_change *ch = o->change;
        if (o->kind == OP_CREATE) res->added++;
        else if (o->kind == OP_UPDATE) res->changed++;
        else res->destroyed++;
        const resource *r = o->kind == OP_DESTROY ? ch->actual : ch->desired;
        logf_(log, arg, "%s: %s (%s)", op_id(o), past[o->kind], r->physical ? r->physical : "-");
    }
    if (res->failed) {
        for (size_t i = 0; i < l.n; i++)
            if (!l.ops[i].done) logf_(log, arg, "not done: %s %s", verb[l.ops[i].kind], op_id(&l.ops[i]));
    }
    free(l.ops);
    return res->failed ? -1 : 0;
}

void apply_summary(const apply_result *r, char *out, size_t outlen) {
    if (r->failed)
        snprintf(out, outlen, "Apply failed after %d of %d operations: %s", r->ops_done, r->ops_total, r->error);
    else
        snprintf(out, outlen, "Apply complete: %d added, %d changed, %d destroyed.", r->added, r->changed, r->destroyed);
}
