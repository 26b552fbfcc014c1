/* fetchauth: see fetchauth.h. */
#include "bot/fetchauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GitHub takes an installation token as the password of x-access-token. */
static int app_cred(ghapp *app, cfgrepo_cred *out, errinfo *err) {
    snprintf(out->source, sizeof(out->source), "the GitHub App's installation token");
    snprintf(out->user, sizeof(out->user), "x-access-token");
    return ghapp_token(app, out->password, sizeof(out->password), err);
}

int fetchauth_cred(void *arg, const char *url, cfgrepo_cred *out, errinfo *err) {
    const fetchauth *fa = arg;
    const bot_config *cfg = fa->cfg;
    const host_ops *h = host_find(cfg->host_type);
    host_config hc;

    (void)url;
    if (fa->app) return app_cred(fa->app, out, err);
    snprintf(out->source, sizeof(out->source), "$%s", cfg->repo_token_env);
    bot_config_host(cfg, &hc);
    hc.token = getenv(cfg->repo_token_env); /* read now: a rotated token needs no restart */
    if (cfg->repo_user) hc.user = cfg->repo_user;
    if (!hc.token || !*hc.token)
        return errinfo_set(err, ERR_INVALID, "set $%s to a token that can read the repository",
                           cfg->repo_token_env);
    /* The host's basic-auth style (host_ops.fetch_credentials); repo.user
     * overrides its user name (a GitLab deploy token has its own). */
    if (h->fetch_credentials(&hc, out->user, sizeof(out->user), out->password, sizeof(out->password), err) < 0)
        return -1;
    if (cfg->repo_user) snprintf(out->user, sizeof(out->user), "%s", cfg->repo_user);
    return 0;
}
