/* plan_check: see plan_check.h. */
#include "deploy/plan_check.h"
#include "util/strbuf.h"

#include <stdio.h>

/* The change's check; 0 when it has none or passes. A replaced resource is
 * checked as a new one: what it replaces goes. */
static int check_change(const provider_ctx *c, const plan_change *ch, errinfo *err) {
    if (ch->action != PLAN_CREATE && ch->action != PLAN_REPLACE && ch->action != PLAN_UPDATE) return 0;
    const provider *pv = provider_find(ch->desired->type);
    if (!pv || !pv->check) return 0;
    if (pv->check(c, ch->desired, ch->action == PLAN_UPDATE ? ch->actual : NULL, err) == 0) return 0;
    return errinfo_prefix(err, "%s", ch->desired->id);
}

/* The checks of every change, their refusals a line each in text; -1 when
 * a check could not be made (e). */
static int check_all(const provider_ctx *c, const plan *p, strbuf *text, errinfo *first, errinfo *e) {
    for (size_t i = 0; i < p->n; i++) {
        *e = (errinfo){0};
        if (check_change(c, &p->changes[i], e) == 0) continue;
        if (e->code != ERR_INVALID) return -1; /* not a refusal: the check itself failed */
        strbuf_printf(text, "%s\n", e->msg);
        if (first->code == ERR_NONE) *first = *e;
    }
    return 0;
}

int plan_check(const provider_ctx *c, const plan *p, char **refusals, errinfo *err) {
    strbuf text = {0};
    errinfo first = {0}, e;
    provider_ctx checking = *c;
    *refusals = NULL;
    checking.memo = json_object();
    int rc = check_all(&checking, p, &text, &first, &e);
    json_decref(checking.memo);
    if (rc != 0) {
        strbuf_free(&text);
        if (err) *err = e;
        return -1;
    }
    if (!text.len) return 0;
    *refusals = strbuf_take(&text);
    if (err) *err = first;
    return -1;
}
