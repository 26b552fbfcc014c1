/* userdata: see userdata.h. One pass over the template: copy text, replace
 * template variables, collect every problem with its line. */
#include "deploy/userdata.h"
#include "util/strbuf.h"
#include "util/digest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *file;
    const userdata_var *vars;
    size_t n_vars;
    strbuf out, errors;
    strbuf reported; /* "\nname1\nname2\n": names already reported */
} render;

static void problem(render *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(render *r, int line, const char *fmt, ...) {
    char msg[512], head[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = line > 0 ? snprintf(head, sizeof head, "%s:%d: ", r->file, line)
                     : snprintf(head, sizeof head, "%s: ", r->file);
    strbuf_put(&r->errors, head, (size_t)n);
    strbuf_put(&r->errors, msg, strlen(msg));
    strbuf_put(&r->errors, "\n", 1);
}

/* A variable used on many lines is reported once, on the first. */
static int first_report(render *r, const char *name, size_t n) {
    char key[80];
    int k = snprintf(key, sizeof key, "\n%.*s\n", (int)n, name);
    if (!r->reported.len) strbuf_put(&r->reported, "\n", 1);
    if (strstr(r->reported.s, key)) return 0;
    strbuf_put(&r->reported, key + 1, (size_t)k - 1); /* it already ends in '\n' */
    return 1;
}

/* Length of a template variable's name at s (just after "${"), 0 when the
 * text there is not one: [a-z][a-z0-9_]* closed by '}'. */
static size_t name_len(const char *s, const char *end) {
    const char *p = s;
    if (p >= end || *p < 'a' || *p > 'z') return 0;
    while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) p++;
    return p < end && *p == '}' && p - s <= 64 ? (size_t)(p - s) : 0;
}

static int safe_value(const char *v) {
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
              (*v >= '0' && *v <= '9') || strchr("._-/:@+=,", *v)))
            return 0;
    return 1;
}

static const char *lookup(const render *r, const char *name, size_t n) {
    for (size_t i = 0; i < r->n_vars; i++)
        if (strlen(r->vars[i].name) == n && memcmp(r->vars[i].name, name, n) == 0)
            return r->vars[i].value && *r->vars[i].value ? r->vars[i].value : NULL;
    return NULL;
}

static void put_var(render *r, const char *name, size_t n, int line) {
    const char *v = lookup(r, name, n);
    if (!v) {
        if (first_report(r, name, n))
            problem(r, line, "template variable ${%.*s} has no value", (int)n, name);
    } else if (!safe_value(v)) {
        if (first_report(r, name, n))
            problem(r, line,
                    "template variable ${%.*s} is \"%.80s\", but values may only "
                    "contain letters, digits and . _ - / : @ + = ,",
                    (int)n, name, v);
    } else {
        strbuf_put(&r->out, v, strlen(v));
    }
}

static void scan(render *r, const char *t, size_t len) {
    const char *p = t, *end = t + len;
    int line = 1;
    while (p < end) {
        size_t n;
        if (*p == '$' && end - p >= 3 && p[1] == '$' && p[2] == '{') {
            strbuf_put(&r->out, "${", 2); /* $${ -> ${ */
            p += 3;
        } else if (*p == '$' && end - p >= 2 && p[1] == '{' && (n = name_len(p + 2, end))) {
            put_var(r, p + 2, n, line);
            p += 2 + n + 1;
        } else {
            line += *p == '\n';
            strbuf_put(&r->out, p, 1);
            p++;
        }
    }
}

int userdata_render(const char *tmpl, size_t len, const char *file,
                    const userdata_var *vars, size_t n_vars,
                    userdata *out, char **errors, errinfo *err) {
    render r = {.file = file, .vars = vars, .n_vars = n_vars};
    *out = (userdata){0};
    *errors = NULL;
    strbuf_put(&r.out, "", 0); /* "" for an empty template */
    scan(&r, tmpl, len);
    if (!r.errors.len && r.out.len > USERDATA_MAX_BYTES)
        problem(&r, 0,
                "the rendered script is %zu bytes, but EC2 accepts at most %d "
                "bytes of user data: shorten it",
                r.out.len, USERDATA_MAX_BYTES);
    free(r.reported.s);
    if (r.errors.len) {
        free(r.out.s);
        *errors = r.errors.s;
        return errinfo_set(err, ERR_INVALID, "%.*s", (int)strcspn(*errors, "\n"), *errors);
    }
    out->text = r.out.s;
    out->len = r.out.len;
    digest_sha256_hex(out->text, out->len, out->sha256);
    return 0;
}

void userdata_free(userdata *u) {
    if (!u) return;
    free(u->text);
    *u = (userdata){0};
}

size_t userdata_stack_vars(const stack *s, const char *volume_id, userdata_var *vars) {
    size_t n = 0;
    vars[n++] = (userdata_var){"env", s->env};
    vars[n++] = (userdata_var){"data_volume_id", volume_id};
    vars[n++] = (userdata_var){"data_mount", USERDATA_DATA_MOUNT};
    return n;
}
