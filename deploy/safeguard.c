/* safeguard: see safeguard.h. */
#include "deploy/safeguard.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* The one load balancer of a stack (deploy/stack_edge.c). */
#define LOAD_BALANCER_ID "load_balancer.main"

static int deletes(const plan_change *c) {
    return c->action == PLAN_DELETE || c->action == PLAN_REPLACE;
}

static int holds_data(const resource *r) {
    return strcmp(r->type, "volume") == 0;
}

void safeguard_mark(plan *p, const safeguard_policy *pol) {
    p->snapshots = 0;
    for (size_t i = 0; i < p->n; i++) {
        plan_change *c = &p->changes[i];
        c->final_snapshot = PLAN_SNAPSHOT_NONE;
        if (!deletes(c) || !holds_data(c->actual)) continue;
        c->final_snapshot = pol->skip_final_snapshot ? PLAN_SNAPSHOT_SKIPPED : PLAN_SNAPSHOT_TAKE;
        p->snapshots += c->final_snapshot == PLAN_SNAPSHOT_TAKE;
    }
}

int safeguard_check(const plan *p, const safeguard_policy *pol, errinfo *err) {
    if (!pol->prevent_destroy) return 0;
    strbuf names = {0};
    for (size_t i = 0; i < p->n; i++) {
        const plan_change *c = &p->changes[i];
        if (!deletes(c) || (!holds_data(c->actual) && strcmp(c->actual->id, LOAD_BALANCER_ID) != 0)) continue;
        /* A load balancer's ARN is long and says nothing more than its id. */
        strbuf_printf(&names, "%s%s", names.len ? ", " : "", c->actual->id);
        if (holds_data(c->actual)) strbuf_printf(&names, " (%s)", c->actual->physical);
        if (c->action == PLAN_REPLACE) strbuf_puts(&names, " by replacing it");
    }
    if (!names.len) return 0;
    char *list = strbuf_take(&names);
    errinfo_set(err, ERR_CONFLICT, "prevent_destroy is set (%s): refusing a plan that deletes %s",
                pol->prevent_destroy_by ? pol->prevent_destroy_by : "the environment", list);
    free(list);
    return -1;
}
