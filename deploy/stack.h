/* stack: the stack model — an environment's stack.json validated, with its
 * defaults, and the user-data template its instances boot with.
 *
 * The schema is documented in deploy-configs/SCHEMA.md. Validation reports
 * every problem at once, one line each, as "FILE:KEY: what is wrong".
 * The layers that turn a stack into resources (stack_layers.h) read this
 * model; it never calls them. */
#ifndef DEPLOYBOT_DEPLOY_STACK_H
#define DEPLOYBOT_DEPLOY_STACK_H

#include <stddef.h>
#include <jansson.h>
#include "util/errinfo.h"

typedef struct {
    json_t *root; /* the validated document, defaults filled in */
    char *env;    /* environment name (deploybot:stack tag) */
    /* The user-data template (modules/dify/user_data.sh, deploy/userdata.h)
     * at the same commit, set with stack_set_user_data_template; NULL: a
     * minimal script. Freed by stack_free. */
    char *user_data_template;
} stack;

/* The public network ACL has 2 inbound rules per office CIDR plus 2, and AWS
 * allows 20 per direction by default: stack.json is refused beyond this. */
#define STACK_NACL_MAX_OFFICE_CIDRS 9

/* Stands for the data volume id when the user-data is rendered before the
 * volume exists (a valid template value); the device it is attached as. */
#define STACK_VOLUME_PLACEHOLDER "vol-00000000000000000"
#define STACK_DATA_DEVICE "/dev/xvdf"

/* Parses and validates. On failure returns -1, *errors is a malloc'd text
 * of one "file:key: message" line per problem, and err (ERR_INVALID) holds
 * the first. */
int stack_load(const char *text, size_t len, const char *file, const char *env,
               stack *out, char **errors, errinfo *err);
void stack_free(stack *s);

/* Gives the stack its user-data template (copied) after checking that it
 * renders with the stack's variables. On failure returns -1, *errors is a
 * malloc'd text of one "modules/dify/user_data.sh:LINE: message" line per
 * problem, err (ERR_INVALID) holds the first, and the stack keeps no
 * template. */
int stack_set_user_data_template(stack *s, const char *text, size_t len, char **errors,
                                 errinfo *err);

/* The stack's template, or the minimal script when it has none. */
const char *stack_user_data_template(const stack *s);

/* The template rendered with STACK_VOLUME_PLACEHOLDER as the data volume
 * (malloc'd), and its SHA-256 in sha256; NULL with *errors and err as for
 * stack_set_user_data_template. */
char *stack_render_user_data(const stack *s, char sha256[65], char **errors, errinfo *err);

/* Region from the stack, or NULL when it does not name one. */
const char *stack_region(const stack *s);

/* 1 when the boolean `key` of stack.json is true (skip_final_snapshot,
 * prevent_destroy ...), 0 when false or absent. */
int stack_flag(const stack *s, const char *key);

/* The region the stack's resources live in when stack.json names none (the
 * operator's, see envrun.c): set, then the keys that depend on it
 * (availability_zones, certificate_arn, ami_id) checked against it. On
 * failure the stack keeps no region, and *errors and err are as for
 * stack_load. A stack that names its region is left as it is. */
int stack_set_region(stack *s, const char *region, const char *file, char **errors, errinfo *err);

/* The AMI used when stack.json has no ami_id, for regions deploybot knows
 * one for; NULL otherwise (stack.json must then name one). */
const char *stack_default_ami(const char *region);

/* 1 if `s` is a valid dotted IPv4 CIDR ("10.0.0.0/16"); sets base and prefix. */
int stack_cidr_parse(const char *s, unsigned *base, int *prefix);

#endif
