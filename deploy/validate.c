/* validate: see validate.h. */
#include "deploy/validate.h"
#include "deploy/stack.h"
#include "deploy/userdata.h"
#include "deploy/repoconfig.h"
#include "util/fs.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *dir;
    strbuf text; /* the report so far */
    int problems;
    int valid_envs;
} report;

/* Is the n-byte line l (n > 0) already a whole line of the report? */
static int reported(const report *r, const char *l, size_t n) {
    const char *start = r->text.s, *end = start + r->text.len;
    for (const char *p = start; p && p < end && (p = memmem(p, (size_t)(end - p), l, n)); p++)
        if ((p == start || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

/* Adds each line of `lines` as one problem (or note), skipping lines already
 * reported: a template problem shows up once, not once per environment. */
static void add_lines(report *r, const char *lines, int problem) {
    for (const char *l = lines; l && *l;) {
        size_t n = strcspn(l, "\n");
        if (n && !reported(r, l, n)) {
            strbuf_put(&r->text, l, n);
            strbuf_putc(&r->text, '\n');
            r->problems += problem;
        }
        l += n + (l[n] == '\n');
    }
}

static void addf(report *r, int problem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addf(report *r, int problem, const char *fmt, ...) {
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    add_lines(r, line, problem);
}

/* Reads DIR/NAME whole; NULL with errno set when it cannot (the report
 * names the file relative to DIR, as the repository does). */
static char *slurp(const report *r, const char *name, size_t *len) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", r->dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fs_read_file(path, len, NULL);
}

/* The template as the bot takes it for this stack (a placeholder volume id:
 * at plan time the data volume may not exist yet). */
static void check_template(report *r, const char *tmpl, size_t len, stack *st) {
    char *errors;
    if (stack_set_user_data_template(st, tmpl, len, &errors, NULL) != 0) add_lines(r, errors, 1);
    free(errors);
}

/* One environment: its stack.json, and the template with its variables.
 * tmpl is NULL when the template could not be read (reported once). */
static void check_env(report *r, const repoconfig_env *env, const char *tmpl, size_t tlen) {
    char file[1024];
    size_t len;
    snprintf(file, sizeof file, "%s/stack.json", env->folder);
    char *text = slurp(r, file, &len);
    if (!text) {
        if (errno == ENOENT && env->allow_destroy)
            addf(r, 0,
                 "%s: missing: a push of this destroys environment %s "
                 "(allow_destroy is true)",
                 file, env->name);
        else
            addf(r, 1, "%s: cannot read: %s", file, strerror(errno));
        return;
    }
    stack st;
    char *errors = NULL;
    if (stack_load(text, len, file, env->name, &st, &errors, NULL) == 0) {
        r->valid_envs++;
        if (tmpl) check_template(r, tmpl, tlen, &st);
        stack_free(&st);
    } else {
        add_lines(r, errors, 1);
        free(errors);
    }
    free(text);
}

static void check_repo(report *r) {
    errinfo err;
    size_t len, tlen = 0;
    repoconfig rc;
    char *text = slurp(r, "deploybot.json", &len);
    if (!text) {
        addf(r, 1,
             "deploybot.json: cannot read: %s (is %s a checkout of the config "
             "repository?)",
             strerror(errno), r->dir);
        return;
    }
    int parsed = repoconfig_parse(text, len, &rc, &err);
    free(text);
    if (parsed != 0) {
        add_lines(r, err.msg, 1); /* already "deploybot.json: ..." */
        return;
    }
    char *tmpl = slurp(r, USERDATA_TEMPLATE, &tlen);
    if (!tmpl)
        addf(r, 1, "%s: cannot read: %s (every stack renders it)", USERDATA_TEMPLATE,
             strerror(errno));
    for (size_t i = 0; i < rc.n_envs; i++) check_env(r, &rc.envs[i], tmpl, tlen);
    free(tmpl);
    repoconfig_free(&rc);
}

int validate_dir(const char *dir, char **report_out) {
    report r = {.dir = dir && *dir ? dir : "."};
    check_repo(&r);
    if (r.problems == 0)
        addf(&r, 0, "ok: %d environment%s valid", r.valid_envs, r.valid_envs == 1 ? "" : "s");
    *report_out = strbuf_take(&r.text);
    return r.problems;
}
