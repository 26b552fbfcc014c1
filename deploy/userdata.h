/* userdata: the instances' user-data script, rendered from the config
 * repository's template (modules/dify/user_data.sh).
 *
 * Template syntax — chosen so that a bash script stays a bash script:
 *   ${name}   with name in lower_snake_case ([a-z][a-z0-9_]*) is a template
 *             variable; the caller must supply it, or rendering fails with
 *             "FILE:LINE: template variable ${name} has no value";
 *   $${...}   is a literal "${...}" (for a lower-case shell variable in braces);
 *   anything else — $VAR, ${VAR}, ${VAR:-x}, ${VAR/-/}, $(cmd), $1 — is the
 *             shell's and is copied unchanged.
 * Values may only contain letters, digits and . _ - / : @ + = , so that no
 * value can change what the script means, quoted or not.
 *
 * The rendered text's SHA-256 identifies it: the planner compares it with
 * the running instance's, and a difference replaces the instance. */
#ifndef DEPLOYBOT_DEPLOY_USERDATA_H
#define DEPLOYBOT_DEPLOY_USERDATA_H

#include <stddef.h>
#include "deploy/stack.h"

#define USERDATA_TEMPLATE "modules/dify/user_data.sh" /* in the config repo */
#define USERDATA_MAX_BYTES 16384                      /* EC2's limit on user data, before base64 */
#define USERDATA_DATA_MOUNT "/data"                   /* where the EBS data volume is mounted */
#define USERDATA_MAX_VARS 8

typedef struct {
    const char *name;
    const char *value; /* NULL or "": not supplied */
} userdata_var;

typedef struct {
    char *text; /* the script to send to EC2 */
    size_t len;
    char sha256[65]; /* lowercase hex SHA-256 of text */
} userdata;

/* Renders `tmpl` (`len` bytes, read from `file`, which names it in errors).
 * Returns 0 and fills *out, or -1, *errors a malloc'd text of one line per
 * problem ("FILE:LINE: ..."), every problem reported once, and err
 * (ERR_INVALID) the first. */
int userdata_render(const char *tmpl, size_t len, const char *file,
                    const userdata_var *vars, size_t n_vars,
                    userdata *out, char **errors, errinfo *err);
void userdata_free(userdata *u);

/* The variables a stack supplies for one instance whose data volume is
 * `volume_id`: env, data_volume_id, data_mount. The values
 * point into `s` and `volume_id`. Returns how many were written to `vars`
 * (which has room for USERDATA_MAX_VARS). */
size_t userdata_stack_vars(const stack *s, const char *volume_id, userdata_var *vars);

#endif
