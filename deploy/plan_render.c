/* plan_render: see plan_render.h. Every line goes through put_line, which
 * indents, marks, colours and wraps it. */
#include "deploy/plan_render.h"
#include "util/linediff.h"
#include "util/strbuf.h"
#include "util/textwrap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTR_COL 6 /* where a resource's attributes start */
#define MAX_COL 60 /* deeper nesting stays here, so that some room is left */
#define CONTEXT 2  /* unchanged user-data lines shown around a change */
#define SENSITIVE "(sensitive)"
#define FORCES "  # forces replacement"

typedef struct {
    strbuf out;
    const plan *p;
    plan_render_opts o;
} render;

/* Where a line goes: its column, its marker ('+', '-', ' ' or none) and the
 * colour it takes ('+' green, '-' red, '~' yellow, 'R' magenta, 0 none). */
typedef struct {
    int col;
    char mark, tint;
} at;

static const char *color_of(const render *r, char tint) {
    if (!r->o.color) return NULL;
    switch (tint) {
    case '+': return "\033[32m";
    case '-': return "\033[31m";
    case '~': return "\033[33m";
    case 'R': return "\033[35m";
    default: return NULL;
    }
}

/* A wrapped line continues 4 columns right of where its text starts. */
static void put_line(render *r, at a, const char *text) {
    char first[MAX_COL + 8], cont[MAX_COL + 8];
    int col = a.col < MAX_COL ? a.col : MAX_COL, head = col + (a.mark ? 2 : 0);
    int n = snprintf(first, sizeof(first), "%*s", col, "");
    if (a.mark) snprintf(first + n, sizeof(first) - (size_t)n, "%c ", a.mark);
    snprintf(cont, sizeof(cont), "%*s", head + 4, "");
    textwrap_put(&r->out, first, cont, text, PLAN_RENDER_WIDTH, color_of(r, a.tint));
}

static void put_linef(render *r, at a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put_linef(render *r, at a, const char *fmt, ...) {
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) abort();
    va_end(ap);
    put_line(r, a, text);
    free(text);
}

/* Text from outside (a script line, a key) that cannot move the cursor or
 * colour a terminal: a tab is four spaces, other control characters \xNN. */
static void put_printable(strbuf *b, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\t') strbuf_puts(b, "    ");
        else if (ch < 0x20 || ch == 0x7f) strbuf_printf(b, "\\x%02x", ch);
        else strbuf_putc(b, (char)ch);
    }
}

static size_t list_items(const render *r) {
    return r->o.list_items > 0 ? (size_t)r->o.list_items : PLAN_RENDER_LIST_ITEMS;
}

static int secret_in(const render *r, const char *s) {
    return r->o.is_secret && s && r->o.is_secret(r->o.secret_arg, s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted; the object owns them. */
static const char **sorted_keys(const json_t *o, size_t *n) {
    const char **keys = malloc((json_object_size(o) + 1) * sizeof(*keys));
    if (!keys) abort();
    const char *k;
    json_t *v;
    *n = 0;
    json_object_foreach((json_t *)o, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof(*keys), cmp_str);
    return keys;
}

static int is_block(const json_t *v) { return json_is_array(v) || (json_is_object(v) && !resource_ref_id(v)); }

static void put_inline(const render *r, strbuf *b, const json_t *v);

static void put_inline_object(const render *r, strbuf *b, const json_t *v) {
    size_t n;
    const char **keys = sorted_keys(v, &n);
    strbuf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) strbuf_puts(b, ", ");
        put_printable(b, keys[i], strlen(keys[i]));
        strbuf_puts(b, ": ");
        if (resource_name_sensitive(keys[i])) strbuf_puts(b, SENSITIVE);
        else put_inline(r, b, json_object_get(v, keys[i]));
    }
    strbuf_putc(b, '}');
    free(keys);
}

/* v on one line: references as Terraform shows them ("vpc.main.id"), strings
 * quoted, lists [a, b], objects {key: value}. */
static void put_inline(const render *r, strbuf *b, const json_t *v) {
    const char *ref = resource_ref_id(v);
    if (ref) {
        strbuf_printf(b, "%s.id", ref);
    } else if (json_is_string(v) && secret_in(r, json_string_value(v))) {
        strbuf_puts(b, SENSITIVE);
    } else if (json_is_array(v)) {
        strbuf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) strbuf_puts(b, ", ");
            put_inline(r, b, json_array_get(v, i));
        }
        strbuf_putc(b, ']');
    } else if (json_is_object(v)) {
        put_inline_object(r, b, v);
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY); /* escapes every control character */
        strbuf_puts(b, s ? s : "null");
        free(s);
    }
}

static char *inline_text(const render *r, const json_t *v, int sensitive) {
    strbuf b = {0};
    if (sensitive) strbuf_puts(&b, SENSITIVE);
    else if (!v) strbuf_puts(&b, "null");
    else put_inline(r, &b, v);
    return strbuf_take(&b);
}

/* "label<sep>" (nothing for a list item). */
static void put_label(strbuf *b, const char *label, const char *sep) {
    if (!label) return;
    put_printable(b, label, strlen(label));
    strbuf_puts(b, sep);
}

static int fits(at a, const strbuf *line) {
    return (size_t)a.col + (a.mark ? 2 : 0) + textwrap_cols(line->s ? line->s : "", line->len) <= PLAN_RENDER_WIDTH;
}

static void put_value(render *r, at a, const char *label, const char *sep, const json_t *v, int sensitive);

static void put_members(render *r, at a, const json_t *v) {
    if (json_is_object(v)) {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        for (size_t i = 0; i < n; i++)
            put_value(r, a, keys[i], ": ", json_object_get(v, keys[i]), resource_name_sensitive(keys[i]));
        free(keys);
        return;
    }
    size_t n = json_array_size(v), max = list_items(r);
    for (size_t i = 0; i < n && i < max; i++) put_value(r, a, NULL, NULL, json_array_get(v, i), 0);
    if (n > max) put_linef(r, a, "... %zu more (%zu in all)", n - max, n);
}

/* label and v on one line when that fits or v is a scalar (wrapped then),
 * else one line per key or item between braces or brackets. */
static void put_value(render *r, at a, const char *label, const char *sep, const json_t *v, int sensitive) {
    char *text = inline_text(r, v, sensitive);
    strbuf line = {0};
    put_label(&line, label, sep);
    size_t head = line.len;
    strbuf_puts(&line, text);
    free(text);
    if (sensitive || !is_block(v) || fits(a, &line)) {
        put_line(r, a, line.s);
        strbuf_free(&line);
        return;
    }
    line.len = head;
    line.s[head] = '\0';
    strbuf_puts(&line, json_is_array(v) ? "[" : "{");
    put_line(r, a, line.s);
    strbuf_free(&line);
    int inner = a.col + (a.mark ? 2 : 0);
    put_members(r, (at){inner + 2, 0, a.tint}, v);
    put_line(r, (at){inner, 0, a.tint}, json_is_array(v) ? "]" : "}");
}

static int array_has(const json_t *arr, const json_t *v) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_equal(json_array_get(arr, i), (json_t *)v)) return 1;
    return 0;
}

/* The items of `items` that `other` lacks, marked, the first ones only. */
static void put_side(render *r, int col, char mark, const json_t *items, const json_t *other) {
    size_t shown = 0, hidden = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *v = json_array_get(items, i);
        if (array_has(other, v)) continue;
        if (shown++ < list_items(r)) put_value(r, (at){col, mark, mark}, NULL, NULL, v, 0);
        else hidden++;
    }
    if (hidden) put_linef(r, (at){col, mark, mark}, "... %zu more", hidden);
}

/* Lists are sets: what leaves, what joins, how many stay. */
static void diff_set(render *r, int col, const json_t *from, const json_t *to) {
    put_side(r, col, '-', from, to);
    put_side(r, col, '+', to, from);
    size_t kept = 0;
    for (size_t i = 0; i < json_array_size(to); i++) kept += array_has(from, json_array_get(to, i));
    if (kept) put_linef(r, (at){col + 2, 0, 0}, "(%zu unchanged)", kept);
}

static void diff_value(render *r, int col, const char *name, const json_t *from, const json_t *to,
                       const char *note);

static void diff_keys(render *r, int col, const json_t *from, const json_t *to) {
    json_t *all = json_object();
    json_object_update(all, (json_t *)from);
    json_object_update(all, (json_t *)to);
    size_t n;
    const char **keys = sorted_keys(all, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_object_get(from, keys[i]), *t = json_object_get(to, keys[i]);
        char mark = f ? '-' : '+';
        if (f && t) {
            if (!json_equal((json_t *)f, (json_t *)t)) diff_value(r, col, keys[i], f, t, "");
        } else {
            put_value(r, (at){col, mark, mark}, keys[i], ": ", f ? f : t, resource_name_sensitive(keys[i]));
        }
    }
    free(keys);
    json_decref(all);
}

/* "name: old -> new" when it fits, else the name, then "- old" and "+ new". */
static void diff_scalar(render *r, int col, strbuf *line, const json_t *from, const json_t *to, const char *note) {
    char *a = inline_text(r, from, 0), *b = inline_text(r, to, 0);
    size_t head = line->len;
    strbuf_printf(line, ": %s -> %s%s", a, b, note);
    if (fits((at){col, 0, 0}, line)) {
        put_line(r, (at){col, 0, '~'}, line->s);
    } else {
        line->len = head;
        strbuf_printf(line, ":%s", note);
        put_line(r, (at){col, 0, '~'}, line->s);
        put_value(r, (at){col + 2, '-', '-'}, NULL, NULL, from, 0);
        put_value(r, (at){col + 2, '+', '+'}, NULL, NULL, to, 0);
    }
    free(a);
    free(b);
}

static void diff_value(render *r, int col, const char *name, const json_t *from, const json_t *to,
                       const char *note) {
    strbuf line = {0};
    put_printable(&line, name, strlen(name));
    if (resource_name_sensitive(name)) {
        strbuf_printf(&line, ": " SENSITIVE " -> " SENSITIVE "%s", note);
        put_line(r, (at){col, 0, '~'}, line.s);
    } else if (from && to && json_equal((json_t *)from, (json_t *)to)) {
        /* The same reference: its target is new, its id not known yet. */
        char *v = inline_text(r, from, 0);
        strbuf_printf(&line, ": %s -> (known after apply)%s", v, note);
        put_line(r, (at){col, 0, '~'}, line.s);
        free(v);
    } else if (json_is_array(from) && json_is_array(to)) {
        strbuf_printf(&line, ":%s", note);
        put_line(r, (at){col, 0, 0}, line.s);
        diff_set(r, col + 2, from, to);
    } else if (is_block(from) && is_block(to)) {
        strbuf_printf(&line, ":%s", note);
        put_line(r, (at){col, 0, 0}, line.s);
        diff_keys(r, col + 2, from, to);
    } else {
        diff_scalar(r, col, &line, from, to, note);
    }
    strbuf_free(&line);
}

/* For a script line that sets a variable named like a secret (NAME=...,
 * export NAME=..., NAME: ...), the bytes to keep: up to the '=' or ':' and
 * the spaces after it. 0 for any other line. */
static size_t secret_assignment(const char *l) {
    static const char *const words[] = {"export ", "readonly ", "local ", "declare "};
    const char *p = l + strspn(l, " \t");
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strncmp(p, words[i], strlen(words[i])) == 0) p += strlen(words[i]) + strspn(p + strlen(words[i]), " ");
    while (*p == '-') p += strcspn(p, " "), p += strspn(p, " "); /* declare -x */
    size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    const char *after = p + n;
    if (n == 0 || n >= 128 || (*after != '=' && !(after[0] == ':' && after[1] == ' '))) return 0;
    after += 1 + strspn(after + 1, " ");
    char name[128];
    memcpy(name, p, n);
    name[n] = '\0';
    return *after && resource_name_sensitive(name) ? (size_t)(after - l) : 0;
}

static void put_script_line(render *r, int col, char mark, const char *s, size_t len) {
    char *l = strndup(s, len);
    if (!l) abort();
    strbuf b = {0};
    int secret = secret_in(r, l);
    size_t keep = secret ? 0 : secret_assignment(l);
    if (secret || keep) {
        put_printable(&b, l, keep);
        strbuf_puts(&b, SENSITIVE);
    } else {
        put_printable(&b, l, len);
    }
    put_line(r, (at){col, mark, mark == ' ' ? 0 : mark}, b.s ? b.s : "");
    strbuf_free(&b);
    free(l);
}

static void put_skipped(render *r, int col, size_t n) {
    if (n) put_linef(r, (at){col, 0, 0}, "(%zu unchanged line%s)", n, n == 1 ? "" : "s");
}

/* Each change with CONTEXT unchanged lines around it; the other unchanged
 * lines are counted. */
static void put_hunks(render *r, int col, const linediff_line *d, size_t n) {
    size_t skipped = 0;
    for (size_t i = 0; i < n; i++) {
        int near = 0;
        for (size_t j = i >= CONTEXT ? i - CONTEXT : 0; j < n && j <= i + CONTEXT && !near; j++)
            near = d[j].op != LINEDIFF_SAME;
        if (!near) {
            skipped++;
            continue;
        }
        put_skipped(r, col + 2, skipped);
        skipped = 0;
        char mark = d[i].op == LINEDIFF_SAME ? ' ' : d[i].op == LINEDIFF_REMOVED ? '-'
                                                                                 : '+';
        put_script_line(r, col, mark, d[i].text, d[i].len);
    }
    put_skipped(r, col + 2, skipped);
}

/* text with every `id` shown as the template variable it stands for. */
static char *script_shown(const char *text, const char *id) {
    strbuf b = {0};
    size_t idlen = id ? strlen(id) : 0;
    for (const char *at; idlen && (at = strstr(text, id)) != NULL; text = at + idlen) {
        strbuf_put(&b, text, (size_t)(at - text));
        strbuf_puts(&b, "${data_volume_id}");
    }
    strbuf_puts(&b, text);
    return strbuf_take(&b);
}

/* The instance's user-data (deploy/stack_compute.c): the desired script has
 * a placeholder where the data volume's id goes, the running one (read by
 * the provider's detail, deploy/plan.h) the id of its volume. */
static void put_script_diff(render *r, const plan_change *c) {
    const char *now = resource_attr_str(c->desired->extra, "user_data");
    const char *was = c->actual->extra ? resource_attr_str(c->actual->extra, "user_data") : NULL;
    if (!now || !was) return;
    const char *vol_ref = resource_ref_id(json_object_get(c->actual->attrs, "data_volume"));
    const resource *vol = vol_ref ? resource_set_find(&r->p->actual, vol_ref) : NULL;
    char *a = script_shown(was, vol ? vol->physical : NULL);
    char *b = script_shown(now, resource_attr_str(c->desired->extra, "volume_placeholder"));
    size_t n = 0;
    linediff_line *d = strcmp(a, b) != 0 ? linediff(a, b, &n) : NULL;
    if (n) put_line(r, (at){ATTR_COL, 0, 0}, "user_data:");
    put_hunks(r, ATTR_COL + 2, d, n);
    free(d);
    free(a);
    free(b);
}

static void put_header(render *r, const plan_change *c) {
    static const char *const sym[] = {"", "+", "~", "-/+", "-"};
    static const char *const verb[] = {"", "will be created", "will be updated in place", "must be replaced",
                                       "will be destroyed"};
    static const char tint[] = {0, '+', '~', 'R', '-'};
    const resource *res = c->desired ? c->desired : c->actual;
    strbuf h = {0};
    strbuf_printf(&h, "%s %s", sym[c->action], res->id);
    if (c->actual) strbuf_printf(&h, " (%s)", c->actual->physical);
    strbuf_printf(&h, " %s", verb[c->action]);
    if (c->action == PLAN_REPLACE) strbuf_printf(&h, " (%s forces replacement)", c->forced_by);
    put_line(r, (at){2, 0, tint[c->action]}, h.s);
    strbuf_free(&h);
}

static void put_attrs(render *r, const plan_change *c) {
    const char *k;
    json_t *v;
    if (c->action == PLAN_CREATE) {
        json_object_foreach(c->desired->attrs, k, v)
            put_value(r, (at){ATTR_COL, 0, 0}, k, " = ", v, resource_name_sensitive(k));
        return;
    }
    for (size_t i = 0; i < json_array_size(c->changed); i++) {
        k = json_string_value(json_array_get(c->changed, i));
        int forced = c->forced_by && strcmp(c->forced_by, k) == 0;
        diff_value(r, ATTR_COL, k, json_object_get(c->actual->attrs, k), json_object_get(c->desired->attrs, k),
                   forced ? FORCES : "");
    }
    put_script_diff(r, c);
}

static void put_snapshot(render *r, const plan_change *c) {
    if (c->final_snapshot == PLAN_SNAPSHOT_TAKE)
        put_linef(r, (at){ATTR_COL, '+', '+'},
                  "final snapshot of %s (tagged deploybot:id=%s), completed before it is deleted",
                  c->actual->physical, c->actual->id);
    else if (c->final_snapshot == PLAN_SNAPSHOT_SKIPPED)
        put_linef(r, (at){ATTR_COL, 0, '-'}, "no final snapshot of %s (skip_final_snapshot): its data is lost",
                  c->actual->physical);
}

char *plan_render_text(const plan *p, const plan_render_opts *o) {
    render r = {.p = p};
    if (o) r.o = *o;
    for (size_t i = 0; i < p->n; i++) {
        const plan_change *c = &p->changes[i];
        if (c->action == PLAN_NOOP) continue;
        put_header(&r, c);
        if (c->action != PLAN_DELETE) put_attrs(&r, c);
        put_snapshot(&r, c);
    }
    char sum[128];
    plan_summary(p, sum, sizeof(sum));
    if (r.out.len) strbuf_putc(&r.out, '\n');
    put_line(&r, (at){0, 0, 0}, sum);
    return strbuf_take(&r.out);
}
