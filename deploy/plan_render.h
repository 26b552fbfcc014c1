/* plan_render: a plan as text for people — the one renderer behind the
 * `plan`/`apply`/`destroy` commands, the run page and the pull request and
 * commit comments (deploy/envrun.h hands the same text to all of them).
 *
 *     + id will be created                        name = value, each attribute
 *     ~ id (physical) will be updated in place    name: old -> new, each change
 *   -/+ id (physical) must be replaced (name forces replacement)
 *     - id (physical) will be destroyed
 *
 * Objects change key by key, indented under their name; lists are sets, so
 * a changed list shows its removed (-) and added (+) items and how many stay
 * the same; a list of more than list_items (PLAN_RENDER_LIST_ITEMS) items
 * (or removed, or added ones) shows that many and a count of the rest. A changed user-data
 * script is shown as a line diff (two lines of context). No line is wider
 * than PLAN_RENDER_WIDTH columns: a longer one (an ARN) is wrapped after a
 * ':', '/', ',' or space, never cut.
 *
 * Sensitive values read "(sensitive)": an attribute or object key named like
 * a secret (resource_name_sensitive), a string the caller's is_secret finds
 * a secret in (the bot's redactor: its tokens and notify.secrets_env); in
 * user-data, the value of a variable named like a secret (NAME=..., export
 * NAME=..., NAME: ...) and any line that holds a secret. */
#ifndef DEPLOYBOT_DEPLOY_PLAN_RENDER_H
#define DEPLOYBOT_DEPLOY_PLAN_RENDER_H

#include "deploy/plan.h"

#define PLAN_RENDER_WIDTH 100
#define PLAN_RENDER_LIST_ITEMS 10

/* 1 when text holds a value that must not be shown. */
typedef int (*plan_secret_fn)(void *arg, const char *text);

typedef struct {
    int color;                /* ANSI colours, for a terminal; never in comments or pages */
    plan_secret_fn is_secret; /* NULL: no secret values known */
    void *secret_arg;
    int list_items; /* items shown of a list; 0: PLAN_RENDER_LIST_ITEMS */
} plan_render_opts;

/* The whole plan, its summary last; malloc'd. o NULL: no colour, no secret
 * values known. */
char *plan_render_text(const plan *p, const plan_render_opts *o);

#endif
