/* deploybot: the command line.
 *
 *   deploybot serve [--config FILE]          run the webhook server and worker
 *   deploybot plan ENV [--dir DIR] [--config FILE] [--no-color]   plan an environment from a checkout
 *   deploybot apply ENV [--dir DIR] [--config FILE] [--no-color]  plan and apply it
 *   deploybot destroy ENV --yes [--dir DIR] [--config FILE] [--no-color]
 *                                            destroy everything deploybot made for it
 * (plan, apply and destroy with the bot's --config: its aws.region and the
 * environment's role_arn/external_id, as the bot's runs; the plan in colour
 * on a terminal, unless --no-color or NO_COLOR)
 *   deploybot drift ENV [--dir DIR | --config FILE]   is AWS what the checkout (or,
 *                                            with --config, the bot's last deploy) says?
 *                                            exit 0 no, 2 drift, 1 error (bot/drift.h)
 *   deploybot validate [DIR]                 check a checkout of the config repo (for CI)
 *   deploybot check [--config FILE]          check the bot's setup: config, secrets, repository,
 *                                            host token, AWS credentials (bot/check.h)
 *   deploybot history|lock|unlock|redeploy|cancel   the operator's commands (bot/admin.h)
 *   deploybot --version                      the release and the git commit built
 *
 * Every command that needs settings reads them here, once (bot/config.h):
 * the file given with --config where the command takes one, else the
 * defaults, and the environment over either. */
#include "bot/admin.h"
#include "bot/cfgsnap.h"
#include "bot/replica.h"
#include "bot/check.h"
#include "bot/config.h"
#include "bot/drift.h"
#include "bot/metrics.h"
#include "bot/reload.h"
#include "bot/sdnotify.h"
#include "bot/server.h"
#include "bot/version.h"
#include "bot/worker.h"
#include "notify/sender.h"
#include "deploy/envrun.h"
#include "deploy/userdata.h"
#include "deploy/validate.h"
#include "deploy/repoconfig.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static server *g_server; /* only for the signal handlers */

static void on_signal(int sig) {
    (void)sig;
    if (g_server) server_stop(g_server);
}

static void on_hangup(int sig) {
    (void)sig;
    if (g_server) server_reload_request(g_server);
}

static int usage(void) {
    fprintf(stderr,
            "usage: deploybot serve [--config FILE] [--port-file FILE]\n"
            "       deploybot plan ENV [--dir DIR] [--config FILE] [--no-color]\n"
            "       deploybot apply ENV [--dir DIR] [--config FILE] [--no-color]\n"
            "       deploybot destroy ENV --yes [--dir DIR] [--config FILE] [--no-color]\n"
            "       deploybot drift ENV [--dir DIR | --config FILE] [--no-color]\n"
            "       deploybot validate [DIR]\n"
            "       deploybot check [--config FILE]\n"
            "       deploybot history [ENV] [--json] [--limit N] [--config FILE]\n"
            "       deploybot lock ENV --reason TEXT [--config FILE]\n"
            "       deploybot unlock ENV [--config FILE]\n"
            "       deploybot redeploy ENV SHA [--config FILE]\n"
            "       deploybot cancel RUN [--config FILE]\n"
            "       deploybot --version\n");
    return 2;
}

static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static int has_flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

/* The settings, or a message and -1. path NULL: defaults and environment. */
static int load_config(const char *path, bot_config *cfg) {
    errinfo err;
    if (bot_config_load(path, cfg, &err) == 0) return 0;
    fprintf(stderr, "deploybot: %s\n", err.msg);
    return -1;
}

/* Tests and the demo start the bot on port 0 and read the real port here. */
static int write_port_file(const char *path, int port, errinfo *err) {
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return errinfo_set(err, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    int bad = fprintf(f, "%d\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0)
        return errinfo_set(err, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* With "port": 0 the default public URL must name the port really used. */
static void fix_public_url(bot_config *cfg, int port) {
    size_t n = strlen(cfg->public_url);
    if (n < 2 || strcmp(cfg->public_url + n - 2, ":0") != 0) return;
    char *url = NULL;
    if (asprintf(&url, "%.*s:%d", (int)(n - 2), cfg->public_url, port) < 0) return;
    free(cfg->public_url);
    cfg->public_url = url;
}

/* The server's callback for a queued job; arg is where serve keeps the
 * worker, which starts after the server (jobs only come once it runs). */
/* arg is where the worker will be: none yet while the replica starts. */
static void wake_worker(void *arg) {
    worker *w = *(worker **)arg;
    if (w) worker_wake(w);
}

static void announce(const bot_config *cfg, const char *port_file) {
    errinfo err;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_hangup);
    signal(SIGPIPE, SIG_IGN);
    if (port_file && write_port_file(port_file, server_port(g_server), &err) != 0)
        log_write(LOG_ERROR, NULL, "port file: %s", err.msg);
    log_write(LOG_INFO, NULL, "listening on %s:%d, data in %s", cfg->listen, server_port(g_server), cfg->data_dir);
}

/* Under systemd (Type=notify): ready once the port is bound, the port file
 * written and the threads started, and the watchdog's pings from then on.
 * A failure is logged, never fatal: a READY=1 that never arrives shows in
 * systemd as a start that timed out. */
static sdnotify_watchdog *notify_ready(const bot_config *cfg) {
    char state[600];
    errinfo err;
    snprintf(state, sizeof(state), "READY=1\nSTATUS=listening on %.512s:%d", cfg->listen, server_port(g_server));
    if (sdnotify_send(state, &err) != 0) log_write(LOG_WARN, NULL, "%s", err.msg);
    sdnotify_watchdog *wd = sdnotify_watchdog_start(&err);
    if (!wd && err.code != ERR_NONE) log_write(LOG_WARN, NULL, "%s", err.msg);
    return wd;
}

/* The notification sender, with its own redactor, holding a reference to
 * the settings it borrows from until notify_stop. */
typedef struct {
    sender *snd;
    redactor *rd; /* the sender's own copy: it logs and stores errors */
    cfgsnap *snap;
    const bot_config *cfg;
    const store_claimer *claimer; /* this replica's (bot/replica.h), kept across restarts */
} notify_thread;

/* After the worker: what it queued last stays queued for the next start. */
static void notify_stop(notify_thread *t) {
    sender_stop(t->snd);
    redactor_free(t->rd);
    if (t->cfg) cfgsnap_put(t->snap, t->cfg);
    *t = (notify_thread){.claimer = t->claimer};
}

static int notify_start(notify_thread *t, cfgsnap *snap, const char *db, errinfo *err) {
    const bot_config *cfg = cfgsnap_get(snap);
    *t = (notify_thread){.rd = redactor_new(), .snap = snap, .cfg = cfg, .claimer = t->claimer};
    bot_config_secrets(cfg, t->rd);
    sender_options so = {.db_path = db, .host = host_find(cfg->host_type), .redactor = t->rd, .settings = &cfg->notify, .retry_base_ms = cfg->notify.retry_base_ms, .claimer = t->claimer};
    bot_config_host(cfg, &so.host_cfg);
    so.app = bot_config_ghapp(cfg);
    if ((t->snd = sender_start(&so, err))) return 0;
    notify_stop(t);
    return -1;
}

static char *log_mask(void *rd, const char *text) {
    return redact(rd, text);
}

/* The log masks the secrets of the settings a reload loaded from now on,
 * and still those of the settings in use until then: runs under way and
 * unsent messages may hold them. */
static void log_mask_renew(const bot_config *old, const bot_config *now) {
    redactor *rd = redactor_new();

    bot_config_secrets(old, rd);
    bot_config_secrets(now, rd);
    redactor_free(log_mask_swap(log_mask, rd));
}

/* SIGHUP (bot/reload.h): the new settings go to the server, the sender
 * (restarted: unsent messages wait in the outbox) and the worker's threads
 * (for their next job or run); a config that does not load, or that the
 * server refuses, changes nothing. */
static void reload(cfgsnap *snap, const char *path, notify_thread *nt, worker *w, const char *db) {
    char state[64];
    errinfo err;
    bot_config next;
    const bot_config *cur = cfgsnap_get(snap);
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld", clock_mono_us());
    sdnotify_send(state, NULL);
    int rc = reload_config(path, cur, &next, &err);
    if (rc == 0) log_mask_renew(cur, &next);
    cfgsnap_put(snap, cur);
    if (rc == 0) fix_public_url(&next, server_port(g_server));
    if (rc == 0 && (rc = server_configure(g_server, &next, &err)) != 0) bot_config_free(&next);
    if (rc != 0) {
        fprintf(stderr, "deploybot: reload refused, the settings in use stay: %s\n", err.msg);
    } else {
        notify_stop(nt);
        cfgsnap_swap(snap, &next);
        if (notify_start(nt, snap, db, &err) != 0)
            fprintf(stderr, "deploybot: reload: notifications stopped: %s\n", err.msg);
        worker_wake(w);
    }
    sdnotify_send("READY=1", NULL);
}

/* The event loop, and a reload each time it returns asking for one. */
static int serve_loop(cfgsnap *snap, const char *path, notify_thread *nt, worker *w, const char *db) {
    int rc;
    while ((rc = server_run(g_server)) == 1) reload(snap, path, nt, w, db);
    return rc == 0 ? 0 : 1;
}

/* The server binds first, so that with "port": 0 the public URL is final
 * before the worker's threads read the config; then the worker and the
 * notification sender start. The settings go into a snapshot (bot/cfgsnap.h)
 * that reloads replace. */
static int serve(bot_config *loaded, const char *path, const char *port_file) {
    char db[1200];
    errinfo err;
    worker *w = NULL;
    notify_thread nt = {0};
    int rc = 1;
    mkdir(loaded->data_dir, 0700);
    bot_config_database(loaded, db, sizeof(db));
    metrics *m = metrics_new(); /* freed after every thread that counts stopped */
    bot_metrics_declare(m);
    g_server = server_new(loaded, db, m, wake_worker, &w, &err);
    if (g_server) fix_public_url(loaded, server_port(g_server));
    int lease_s = loaded->lease_s; /* read at start only; cfgsnap_new moves loaded */
    cfgsnap *snap = cfgsnap_new(loaded);
    replica *rep = g_server ? replica_start(db, lease_s, wake_worker, &w, &err) : NULL;
    nt.claimer = rep ? replica_claimer(rep) : NULL;
    if (rep && (w = worker_start(snap, db, rep, m, &err)) && notify_start(&nt, snap, db, &err) == 0) {
        const bot_config *cfg = cfgsnap_get(snap);
        announce(cfg, port_file);
        sdnotify_watchdog *wd = notify_ready(cfg);
        cfgsnap_put(snap, cfg);
        rc = serve_loop(snap, path, &nt, w, db);
        sdnotify_send("STOPPING=1", NULL);
        sdnotify_watchdog_stop(wd);
    } else {
        log_write(LOG_ERROR, NULL, "%s", err.msg);
    }
    replica_quiet(rep);
    worker_stop(w);
    notify_stop(&nt);
    replica_stop(rep);
    server_free(g_server);
    g_server = NULL;
    cfgsnap_free(snap);
    metrics_free(m);
    return rc;
}

/* The daemon logs in the configured format, every line masked (util/log.h). */
static int cmd_serve(int argc, char **argv) {
    bot_config cfg;
    const char *path = opt(argc, argv, "--config");
    if (load_config(path, &cfg) != 0) return 1;
    redactor *log_rd = redactor_new();
    bot_config_secrets(&cfg, log_rd);
    log_setup(cfg.log_format, log_mask, log_rd);
    int rc = serve(&cfg, path, opt(argc, argv, "--port-file"));
    redactor_free(log_mask_swap(NULL, NULL)); /* log_rd, or a reload's */
    return rc;
}

static void print_line(void *arg, const char *line) {
    (void)arg;
    printf("%s\n", line);
    fflush(stdout);
}

/* deploybot.json of the checkout at dir, and environment `name` in it
 * (NULL, said why, rc left empty). */
static const repoconfig_env *checkout_env(const char *dir, const char *name, repoconfig *rc) {
    char path[2048];
    errinfo err;
    size_t len;
    snprintf(path, sizeof(path), "%s/deploybot.json", dir);
    char *text = fs_read_file(path, &len, &err);
    int ok = text ? repoconfig_parse(text, len, rc, &err) : -1;
    free(text);
    if (ok != 0) {
        fprintf(stderr, "deploybot: %s\n", err.msg);
        return NULL;
    }
    const repoconfig_env *env = repoconfig_env_find(rc, name);
    if (!env) {
        fprintf(stderr, "deploybot: no environment \"%s\" in %s\n", name, path);
        repoconfig_free(rc);
    }
    return env;
}

static int secret_found(void *rd, const char *text) { return redact_found(rd, text); }

/* Plans env from the checkout at dir, and applies or destroys it when mode
 * says so. The user-data template is the checkout's (absent: a minimal
 * script). The plan shows "(sensitive)" for what the bot would mask.
 * Returns the exit status; *changes (may be NULL) whether the plan had any. */
static int run_checkout(const bot_config *cfg, const char *dir, const repoconfig_env *env, envrun_mode mode,
                        int color, int *changes) {
    char file[1024], path[2048], *text = NULL, *tmpl = NULL;
    errinfo err;
    envrun_result res;
    snprintf(file, sizeof(file), "%s/stack.json", env->folder);
    const bot_env_config *ec = bot_config_env(cfg, env->name); /* as the bot's runs do */
    envrun_request req = {.env = env->name, .stack_file = file, .region = cfg->aws_region, .role_arn = ec ? ec->role_arn : NULL, .external_id = ec ? ec->external_id : NULL, .mode = mode, .log = print_line, .options = &cfg->deploy, .prevent_destroy = ec && ec->prevent_destroy};
    /* A destroy needs no stack.json, but reads its region, skip_final_snapshot and prevent_destroy. */
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    text = fs_read_file(path, &req.stack_len, &err);
    int missing = !text && mode == ENVRUN_DESTROY && err.code == ERR_NOT_FOUND;
    if (mode != ENVRUN_DESTROY && text) {
        snprintf(path, sizeof(path), "%s/%s", dir, USERDATA_TEMPLATE);
        tmpl = fs_read_file(path, &req.user_data_template_len, &err);
    }
    if ((!text && !missing) || (mode != ENVRUN_DESTROY && !tmpl && err.code != ERR_NOT_FOUND)) {
        fprintf(stderr, "deploybot: %s\n", err.msg);
        free(text);
        return 1;
    }
    req.stack_text = text;
    req.user_data_template = tmpl;
    redactor *rd = redactor_new();
    bot_config_secrets(cfg, rd);
    req.render = (plan_render_opts){.color = color, .is_secret = secret_found, .secret_arg = rd};
    int r = envrun(&req, &res, NULL);
    if (r != 0 && !res.invalid) fprintf(stderr, "deploybot: %s\n", res.summary);
    if (changes) *changes = r == 0 && res.changes;
    envrun_result_free(&res);
    redactor_free(rd);
    free(tmpl);
    free(text);
    return r == 0 ? 0 : 1;
}

/* Colour for a terminal only, and not when asked not to: --no-color, or
 * NO_COLOR set and not empty (no-color.org). */
static int want_color(int argc, char **argv) {
    const char *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !has_flag(argc, argv, "--no-color") && !(no && *no);
}

/* plan / apply / destroy from a checkout of the config repository. */
static int cmd_env(int argc, char **argv, envrun_mode mode) {
    if (argc < 2 || argv[1][0] == '-') return usage();
    if (mode == ENVRUN_DESTROY && !has_flag(argc, argv, "--yes")) {
        fprintf(stderr, "deploybot: destroy deletes every resource of %s; add --yes to confirm\n", argv[1]);
        return 2;
    }
    const char *dir = opt(argc, argv, "--dir") ? opt(argc, argv, "--dir") : ".";
    bot_config cfg;
    repoconfig rc;
    if (load_config(opt(argc, argv, "--config"), &cfg) != 0) return 1;
    const repoconfig_env *env = checkout_env(dir, argv[1], &rc);
    int r = env ? run_checkout(&cfg, dir, env, mode, want_color(argc, argv), NULL) : 1;
    if (env) repoconfig_free(&rc);
    bot_config_free(&cfg);
    return r;
}

/* drift: a plan with Terraform's -detailed-exitcode: 0 no changes, 2
 * changes (drift), 1 an error (wrong arguments too: 2 means drift). The
 * checkout at --dir (default: here), or with --config the commit the bot
 * deployed last (bot/drift.h). */
static int cmd_drift(int argc, char **argv) {
    const char *conf = opt(argc, argv, "--config"), *dir = opt(argc, argv, "--dir");
    bot_config cfg;
    repoconfig rc;
    errinfo err;
    int changes = 0, r;
    if (argc < 2 || argv[1][0] == '-' || (conf && dir)) {
        usage();
        return 1;
    }
    if (load_config(conf, &cfg) != 0) return 1;
    if (conf) {
        r = drift_show(&cfg, argv[1], stdout, &err);
        if (r < 0) fprintf(stderr, "deploybot: %s\n", err.msg);
        changes = r == 1;
        r = r < 0 ? 1 : 0;
    } else {
        const repoconfig_env *env = checkout_env(dir ? dir : ".", argv[1], &rc);
        r = env ? run_checkout(&cfg, dir ? dir : ".", env, ENVRUN_PLAN, want_color(argc, argv), &changes) : 1;
        if (env) repoconfig_free(&rc);
    }
    bot_config_free(&cfg);
    return r == 0 && changes ? 2 : r;
}

/* validate: what plan would reject, found without git or AWS (and without
 * any setting of the bot's). */
static int cmd_validate(int argc, char **argv) {
    const char *dir = opt(argc, argv, "--dir");
    if (!dir) dir = argc >= 2 && argv[1][0] != '-' ? argv[1] : ".";
    char *report;
    int problems = validate_dir(dir, &report);
    fputs(report, problems ? stderr : stdout);
    free(report);
    return problems ? 1 : 0;
}

/* The operator named in locks. */
static const char *operator_name(void) {
    const char *who = getenv("USER");
    return who && *who ? who : "operator";
}

static int admin(const char *cmd, int argc, char **argv, const char *db_path, const char *env, errinfo *err) {
    if (!strcmp(cmd, "history")) {
        const char *limit = opt(argc, argv, "--limit");
        return admin_history(db_path, env, has_flag(argc, argv, "--json"), limit ? atoi(limit) : 50, stdout, err);
    }
    if (!strcmp(cmd, "lock") && !opt(argc, argv, "--reason"))
        return errinfo_set(err, ERR_INVALID, "lock needs --reason TEXT (people will read it in statuses)");
    char *end;
    long id = !strcmp(cmd, "cancel") ? strtol(env, &end, 10) : 0;
    if (!strcmp(cmd, "cancel") && (id <= 0 || *end))
        return errinfo_set(err, ERR_INVALID, "cancel needs a run number (deploybot history shows them), got \"%.64s\"", env);
    store *db = admin_open(db_path, !strcmp(cmd, "redeploy") || !strcmp(cmd, "cancel"), err);
    int rc = -1;
    if (db && !strcmp(cmd, "cancel")) rc = admin_cancel(db, id, "cli", stdout, err);
    else if (db && !strcmp(cmd, "lock")) rc = admin_lock(db, env, opt(argc, argv, "--reason"), operator_name(), stdout, err);
    else if (db && !strcmp(cmd, "unlock")) rc = admin_unlock(db, env, stdout, err);
    else if (db) rc = admin_redeploy(db, env, argv[2], stdout, err);
    store_close(db);
    return rc;
}

/* Commands that work on the daemon's database: history, lock, unlock,
 * redeploy, cancel. Wrong arguments exit 2, failures 1. */
static int cmd_admin(int argc, char **argv) {
    const char *cmd = argv[0];
    const char *env = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    bot_config cfg;
    char db[1200];
    errinfo err;
    if ((!env && strcmp(cmd, "history") != 0) || (!strcmp(cmd, "redeploy") && (argc < 3 || argv[2][0] == '-')))
        return usage();
    if (load_config(opt(argc, argv, "--config"), &cfg) != 0) return 1;
    bot_config_database(&cfg, db, sizeof(db));
    int rc = admin(cmd, argc, argv, db, env, &err);
    bot_config_free(&cfg);
    if (rc == 0) return 0;
    fprintf(stderr, "deploybot: %s\n", err.msg);
    return err.code == ERR_INVALID ? 2 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version")) {
        printf("deploybot %s (commit %s)\n", version_number(), version_commit());
        return 0;
    }
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return cmd_env(argc - 1, argv + 1, ENVRUN_PLAN);
    if (!strcmp(cmd, "apply")) return cmd_env(argc - 1, argv + 1, ENVRUN_APPLY);
    if (!strcmp(cmd, "destroy")) return cmd_env(argc - 1, argv + 1, ENVRUN_DESTROY);
    if (!strcmp(cmd, "validate")) return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "drift")) return cmd_drift(argc - 1, argv + 1);
    if (!strcmp(cmd, "check")) return check_run(opt(argc, argv, "--config"), stdout) == 0 ? 0 : 1;
    if (!strcmp(cmd, "history") || !strcmp(cmd, "lock") || !strcmp(cmd, "unlock") || !strcmp(cmd, "redeploy") ||
        !strcmp(cmd, "cancel"))
        return cmd_admin(argc - 1, argv + 1);
    return usage();
}
