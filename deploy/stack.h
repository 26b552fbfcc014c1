/* stack: an environment's stack.json, validated, and the resources it wants.
 *
 * The schema is documented in deploy-configs/SCHEMA.md. Validation reports
 * every problem at once, one line each, as "FILE:KEY: what is wrong". */
#ifndef DEPLOYBOT_DEPLOY_STACK_H
#define DEPLOYBOT_DEPLOY_STACK_H

#include <stddef.h>
#include <jansson.h>
#include "deploy/providers/resource.h"

typedef struct {
    json_t *root;   /* the validated document, defaults filled in */
    char *env;      /* environment name (deploybot:stack tag) */
    /* The user-data template (modules/dify/user_data.sh, deploy/userdata.h)
     * at the same commit, set with stack_set_user_data_template; NULL: a
     * minimal script (deploy/stack_compute.c). Freed by stack_free. */
    char *user_data_template;
} stack;

/* Parses and validates. On failure returns -1 and *errors is a malloc'd text
 * of one "file:key: message" line per problem. */
int stack_load(const char *text, size_t len, const char *file, const char *env,
               stack *out, char **errors);
void stack_free(stack *s);

/* Gives the stack its user-data template (copied) after checking that it
 * renders with the stack's variables. On failure returns -1 and *errors is a
 * malloc'd text of one "modules/dify/user_data.sh:LINE: message" line per
 * problem, and the stack keeps no template. (deploy/stack_compute.c) */
int stack_set_user_data_template(stack *s, const char *text, size_t len, char **errors);

/* Region from the stack, or NULL when it does not name one. */
const char *stack_region(const stack *s);

/* Every resource the stack wants, with references between them. */
void stack_resources(const stack *s, resource_set *out);

/* 1 if `s` is a valid dotted IPv4 CIDR ("10.0.0.0/16"); sets base and prefix. */
int stack_cidr_parse(const char *s, unsigned *base, int *prefix);

#endif
