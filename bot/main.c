/* deploybot: the command line.
 *
 *   deploybot serve [--config FILE]          run the webhook server and worker
 *   deploybot plan ENV [--dir DIR]           plan an environment from a checkout
 *   deploybot apply ENV [--dir DIR]          plan and apply it
 *   deploybot destroy ENV --yes [--dir DIR]  destroy everything deploybot made for it
 *   deploybot validate [DIR]                 check a checkout of the config repo (for CI)
 */
#include "bot/admin.h"
#include "bot/config.h"
#include "bot/server.h"
#include "bot/worker.h"
#include "notify/sender.h"
#include "deploy/envrun.h"
#include "deploy/userdata.h"
#include "deploy/validate.h"
#include "deploy/repoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static server *g_server; /* only for the signal handler */

static void on_signal(int sig) {
    (void)sig;
    if (g_server) server_stop(g_server);
}

static int usage(void) {
    fprintf(stderr,
            "usage: deploybot serve [--config FILE] [--port-file FILE]\n"
            "       deploybot plan ENV [--dir DIR]\n"
            "       deploybot apply ENV [--dir DIR]\n"
            "       deploybot destroy ENV --yes [--dir DIR]\n"
            "       deploybot validate [DIR]\n"
            "       deploybot history [ENV] [--json] [--limit N] [--config FILE]\n"
            "       deploybot lock ENV --reason TEXT [--config FILE]\n"
            "       deploybot unlock ENV [--config FILE]\n"
            "       deploybot redeploy ENV SHA [--config FILE]\n");
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

/* Tests and the demo start the bot on port 0 and read the real port here. */
static void write_port_file(const char *path, int port) {
    if (!path) return;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%d\n", port);
    fclose(f);
    rename(tmp, path);
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

static int cmd_serve(int argc, char **argv) {
    bot_config cfg;
    char err[512], db[1200];
    errinfo cerr;
    if (bot_config_load(opt(argc, argv, "--config"), &cfg, &cerr) != 0) {
        fprintf(stderr, "deploybot: %s\n", cerr.msg);
        return 1;
    }
    mkdir(cfg.data_dir, 0700);
    snprintf(db, sizeof(db), "%s/deploybot.db", cfg.data_dir);
    int rc = 1;
    worker *w = worker_start(&cfg, db, err, sizeof(err));
    redactor *rd = redactor_new(); /* the sender's own copy: it logs and stores errors */
    bot_config_secrets(&cfg, rd);
    sender_options so = {db, cfg.github_api_url, cfg.github_token, rd, &cfg.notify, cfg.notify.retry_base_ms};
    errinfo serr;
    sender *snd = w ? sender_start(&so, &serr) : NULL;
    if (w && !snd) snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1, serr.msg);
    if (snd) g_server = server_new(&cfg, db, worker_wake, w, err, sizeof(err));
    if (!w || !snd || !g_server) {
        fprintf(stderr, "deploybot: %s\n", err);
    } else {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        write_port_file(opt(argc, argv, "--port-file"), server_port(g_server));
        fix_public_url(&cfg, server_port(g_server));
        fprintf(stderr, "deploybot: listening on %s:%d, data in %s\n", cfg.listen,
                server_port(g_server), cfg.data_dir);
        rc = server_run(g_server) == 0 ? 0 : 1;
    }
    worker_stop(w);
    sender_stop(snd); /* after the worker: what it queued last stays queued for the next start */
    redactor_free(rd);
    server_free(g_server);
    g_server = NULL;
    bot_config_free(&cfg);
    return rc;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void print_line(void *arg, const char *line) {
    (void)arg;
    printf("%s\n", line);
    fflush(stdout);
}

/* plan / apply / destroy from a checkout of the config repository. */
static int cmd_env(int argc, char **argv, envrun_mode mode) {
    if (argc < 2 || argv[1][0] == '-') return usage();
    if (mode == ENVRUN_DESTROY && !has_flag(argc, argv, "--yes")) {
        fprintf(stderr, "deploybot: destroy deletes every resource of %s; add --yes to confirm\n", argv[1]);
        return 2;
    }
    const char *dir = opt(argc, argv, "--dir") ? opt(argc, argv, "--dir") : ".";
    char path[2048];
    errinfo err;
    size_t len;
    snprintf(path, sizeof(path), "%s/deploybot.json", dir);
    char *text = read_file(path, &len);
    repoconfig rc;
    if (!text) { fprintf(stderr, "deploybot: cannot read %s\n", path); return 1; }
    if (repoconfig_parse(text, len, &rc, &err) != 0) {
        fprintf(stderr, "deploybot: %s\n", err.msg);
        free(text);
        return 1;
    }
    free(text);
    const repoconfig_env *env = repoconfig_env_find(&rc, argv[1]);
    if (!env) {
        fprintf(stderr, "deploybot: no environment \"%s\" in %s\n", argv[1], path);
        repoconfig_free(&rc);
        return 1;
    }
    char file[1024];
    snprintf(file, sizeof(file), "%s/stack.json", env->folder);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    bot_config cfg;
    if (bot_config_load(NULL, &cfg, &err) != 0) {
        fprintf(stderr, "deploybot: %s\n", err.msg);
        repoconfig_free(&rc);
        return 1;
    }
    envrun_request req = {.env = env->name, .stack_file = file, .mode = mode, .log = print_line,
                          .options = &cfg.deploy};
    text = mode == ENVRUN_DESTROY ? NULL : read_file(path, &req.stack_len);
    if (mode != ENVRUN_DESTROY && !text) {
        fprintf(stderr, "deploybot: cannot read %s\n", path);
        repoconfig_free(&rc);
        return 1;
    }
    req.stack_text = text;
    snprintf(path, sizeof(path), "%s/%s", dir, USERDATA_TEMPLATE); /* absent: a minimal script */
    char *tmpl = mode == ENVRUN_DESTROY ? NULL : read_file(path, &req.user_data_template_len);
    req.user_data_template = tmpl;
    envrun_result res;
    int r = envrun(&req, &res, NULL);
    if (r != 0 && !res.invalid) fprintf(stderr, "deploybot: %s\n", res.summary);
    envrun_result_free(&res);
    free(tmpl);
    free(text);
    repoconfig_free(&rc);
    bot_config_free(&cfg);
    return r == 0 ? 0 : 1;
}

/* validate: what plan would reject, found without git or AWS. */
static int cmd_validate(int argc, char **argv) {
    const char *dir = opt(argc, argv, "--dir");
    if (!dir) dir = argc >= 2 && argv[1][0] != '-' ? argv[1] : ".";
    char *report;
    int problems = validate_dir(dir, &report);
    fputs(report, problems ? stderr : stdout);
    free(report);
    return problems ? 1 : 0;
}

/* Commands that work on the daemon's database: history, lock, unlock, redeploy. */
static int cmd_admin(int argc, char **argv) {
    const char *cmd = argv[0];
    const char *env = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    bot_config cfg;
    char db[1200];
    errinfo err;
    if ((!env && strcmp(cmd, "history") != 0) || (!strcmp(cmd, "redeploy") && (argc < 3 || argv[2][0] == '-')))
        return usage();
    if (bot_config_load(opt(argc, argv, "--config"), &cfg, &err) != 0) {
        fprintf(stderr, "deploybot: %s\n", err.msg);
        return 1;
    }
    snprintf(db, sizeof(db), "%s/deploybot.db", cfg.data_dir);
    int rc;
    if (!strcmp(cmd, "history")) {
        const char *limit = opt(argc, argv, "--limit");
        rc = admin_history(db, env, has_flag(argc, argv, "--json"), limit ? atoi(limit) : 50, stdout);
    } else if (!strcmp(cmd, "lock")) {
        rc = admin_lock(db, env, opt(argc, argv, "--reason"), stdout);
    } else if (!strcmp(cmd, "unlock")) {
        rc = admin_unlock(db, env, stdout);
    } else {
        rc = admin_redeploy(db, env, argv[2], stdout);
    }
    bot_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return cmd_env(argc - 1, argv + 1, ENVRUN_PLAN);
    if (!strcmp(cmd, "apply")) return cmd_env(argc - 1, argv + 1, ENVRUN_APPLY);
    if (!strcmp(cmd, "destroy")) return cmd_env(argc - 1, argv + 1, ENVRUN_DESTROY);
    if (!strcmp(cmd, "validate")) return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "history") || !strcmp(cmd, "lock") || !strcmp(cmd, "unlock") || !strcmp(cmd, "redeploy"))
        return cmd_admin(argc - 1, argv + 1);
    return usage();
}
