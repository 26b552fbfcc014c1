/* repoconfig: the config repository's own deploybot.json.
 *
 *   {
 *     "environments": {
 *       "dev": { "folder": "environments/dev", "branch": "main" },
 *       "prd": { "folder": "environments/prd", "branch": "production",
 *                "allow_destroy": false }
 *     },
 *     "shared_paths": ["modules/"]
 *   }
 *
 * Environments keep the order of the file. */
#ifndef DEPLOYBOT_DEPLOY_REPOCONFIG_H
#define DEPLOYBOT_DEPLOY_REPOCONFIG_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct {
    char *name;        /* "dev" */
    char *folder;      /* "environments/dev" (no trailing slash) */
    char *branch;      /* branch whose pushes apply this environment */
    int allow_destroy; /* deleting the folder destroys the stack */
    int auto_rollback; /* a failed apply re-applies the last good commit */
} repoconfig_env;

typedef struct {
    repoconfig_env *envs;
    size_t n_envs;
    char **shared_paths; /* prefixes that touch every environment */
    size_t n_shared;
} repoconfig;

/* Parses deploybot.json; errors (ERR_INVALID) read "deploybot.json: KEY:
 * what is wrong". */
int repoconfig_parse(const char *json, size_t len, repoconfig *out, errinfo *err);
/* 1 when `name` is a branch name deploybot accepts (git's rules, minus the
 * obscure cases): the operator's config checks its own with it too. */
int repoconfig_branch_valid(const char *name);
const repoconfig_env *repoconfig_env_find(const repoconfig *c, const char *name);
void repoconfig_free(repoconfig *c);

#endif
