/* job: see job.h. */
#include "bot/job.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

job_runner *job_runner_new(const bot_config *cfg, const char *db_path, errinfo *err) {
    job_runner *r = calloc(1, sizeof(*r));

    if (!r) abort();
    r->cfg = cfg;
    r->host = host_find(cfg->host_type);
    r->rd = redactor_new();
    r->sessions = aws_sessions_new();
    bot_config_secrets(cfg, r->rd);
    ghapp_settings app = bot_config_ghapp(cfg);
    r->auth.cfg = cfg;
    r->auth.app = ghapp_new(&app);
    r->db = store_open(db_path, 0, err);
    r->nt = r->db ? notifier_open(db_path, cfg->host_type, &cfg->notify, r->rd, err) : NULL;
    if (!r->nt) {
        job_runner_free(r);
        return NULL;
    }
    return r;
}

void job_runner_free(job_runner *r) {
    if (!r) return;
    cfgrepo_close(r->repo);
    notifier_close(r->nt);
    redactor_free(r->rd);
    store_close(r->db);
    aws_sessions_free(r->sessions);
    ghapp_free(r->auth.app);
    free(r);
}

/* The mirror, opened once (the config's repo.url, else clone_url). */
static int job_open(job_runner *r, const char *clone_url, errinfo *err) {
    char dir[1024];
    const char *url = r->cfg->repo_url ? r->cfg->repo_url : clone_url;
    cfgrepo_options opts = {fetchauth_cred, &r->auth, r->cfg->repo_ca_file};

    if (r->repo) return 0;
    snprintf(dir, sizeof(dir), "%s/repo.git", r->cfg->data_dir);
    r->repo = cfgrepo_open(url, dir, &opts, err);
    return r->repo ? 0 : -1;
}

int job_fetch(job_runner *r, const char *clone_url, const char *sha, errinfo *err) {
    if (job_open(r, clone_url, err) != 0) return -1;
    if (cfgrepo_has_commit(r->repo, sha)) return 0;
    return cfgrepo_fetch(r->repo, sha, err);
}

/* Every host keeps a pull request's head at a ref of its own
 * (host_ops.pr_head_ref), in the base repository, a fork's included. */
int job_fetch_pr(job_runner *r, const char *clone_url, int pr, const char *sha, errinfo *err) {
    char ref[64];

    if (job_open(r, clone_url, err) != 0) return -1;
    if (cfgrepo_has_commit(r->repo, sha)) return 0;
    r->host->pr_head_ref(pr, ref, sizeof(ref));
    return cfgrepo_fetch_ref(r->repo, ref, sha, err);
}

int job_refresh(job_runner *r, const char *clone_url, const char *sha, errinfo *err) {
    if (job_open(r, clone_url, err) != 0) return -1;
    return cfgrepo_fetch(r->repo, sha, err);
}

int job_repoconfig(job_runner *r, const char *sha, repoconfig *rc, errinfo *err) {
    size_t len;
    int missing = 0, ok;
    char *text = cfgrepo_read_file(r->repo, sha, "deploybot.json", r->cfg->max_file_bytes, &len, &missing, err);

    if (!text)
        return missing ? errinfo_set(err, ERR_NOT_FOUND, "deploybot.json is missing at %.12s", sha) : -1;
    ok = repoconfig_parse(text, len, rc, err);
    free(text);
    return ok;
}

void job_status(job_runner *r, const run *x, const char *state, const char *desc) {
    char context[300], url[600];

    snprintf(context, sizeof(context), "deploybot/%s", x->env);
    snprintf(url, sizeof(url), "%s/runs/%ld", r->cfg->public_url, x->id);
    if (notifier_status(r->nt, x->repo, x->sha, context, state, desc, url) != 0) {
        log_ctx ctx = job_run_ctx(x);
        log_write(LOG_ERROR, &ctx, "status not queued");
    }
}

log_ctx job_run_ctx(const run *x) {
    return (log_ctx){.run = x->id, .env = x->env, .commit = x->sha};
}

job_runner *job_runner_current(cfgsnap *snap, const char *db_path, job_runner *jr, const bot_config **cfg) {
    const bot_config *now = cfgsnap_get(snap);
    errinfo err;

    if (jr && now == *cfg) {
        cfgsnap_put(snap, now);
        return jr;
    }
    job_runner_free(jr);
    if (*cfg) cfgsnap_put(snap, *cfg);
    *cfg = now;
    if (!(jr = job_runner_new(now, db_path, &err))) log_write(LOG_ERROR, NULL, "%s", err.msg);
    return jr;
}
