/* xml: a strict recursive-descent reader for the XML that AWS sends.
 *
 * Strict on purpose: a response we half-understand is worse than an error,
 * because the planner would take missing elements for missing resources.
 * Not supported (refused with a message): DOCTYPE and therefore any entity
 * but the five predefined ones. Nesting deeper than XML_MAX_DEPTH is refused
 * so that hostile input cannot exhaust the stack. */
#include "deploy/aws/xml.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XML_MAX_DEPTH 256

typedef struct {
    const char *p, *end;
    int line;
    errinfo *err;
} parser;

/* The parser's report: what is wrong, on which line of the document. */
__attribute__((format(printf, 2, 3))) static int fail(parser *ps, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return errinfo_set(ps->err, ERR_INVALID, "xml line %d: %s", ps->line, what);
}

static int at(const parser *ps, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

static void adv(parser *ps, size_t n) {
    for (; n && ps->p < ps->end; n--, ps->p++)
        if (*ps->p == '\n') ps->line++;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int skip_ws(parser *ps) {
    const char *start = ps->p;
    while (ps->p < ps->end && is_space(*ps->p)) adv(ps, 1);
    return ps->p != start;
}

static int name_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':' || c >= 0x80;
}

static int name_char(unsigned char c) {
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Reads a qualified name; returns it malloc'd, or NULL with an error set. */
static char *parse_name(parser *ps, const char *what) {
    const char *s = ps->p;
    if (s >= ps->end || !name_start((unsigned char)*s)) {
        fail(ps, "expected %s name", what);
        return NULL;
    }
    while (ps->p < ps->end && name_char((unsigned char)*ps->p)) ps->p++;
    char *name = strndup(s, (size_t)(ps->p - s));
    if (!name) abort();
    return name;
}

/* XML 1.0 Char production: what a &#...; reference may produce. */
static int is_xml_char(unsigned long c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static void put_utf8(strbuf *b, unsigned long c) {
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | c >> 12), u[1] = (char)(0x80 | (c >> 6 & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | c >> 18), u[1] = (char)(0x80 | (c >> 12 & 0x3F));
        u[2] = (char)(0x80 | (c >> 6 & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    strbuf_put(b, u, n);
}

static int parse_charref(parser *ps, const char *s, size_t n, strbuf *out) {
    int hex = n > 1 && s[1] == 'x';
    size_t i = hex ? 2 : 1;
    unsigned long c = 0;
    if (i == n) return fail(ps, "empty character reference");
    for (; i < n; i++) {
        int d = s[i];
        if (d >= '0' && d <= '9') d -= '0';
        else if (hex && d >= 'a' && d <= 'f') d -= 'a' - 10;
        else if (hex && d >= 'A' && d <= 'F') d -= 'A' - 10;
        else return fail(ps, "bad character reference &%.*s;", (int)n, s);
        c = c * (hex ? 16 : 10) + (unsigned long)d;
        if (c > 0x10FFFF) break;
    }
    if (!is_xml_char(c))
        return fail(ps, "character reference &%.*s; is not an XML character",
                    (int)n, s);
    put_utf8(out, c);
    return 0;
}

/* At '&': decodes one reference into out. */
static int parse_reference(parser *ps, strbuf *out) {
    static const struct {
        const char *name;
        char c;
    } ents[] = {
        {"lt", '<'},
        {"gt", '>'},
        {"amp", '&'},
        {"quot", '"'},
        {"apos", '\''},
    };
    const char *s = ps->p + 1;
    const char *semi = memchr(s, ';', (size_t)(ps->end - s));
    if (!semi || semi - s > 16)
        return fail(ps, "'&' not followed by an entity or character reference");
    size_t n = (size_t)(semi - s);
    if (n && s[0] == '#') {
        if (parse_charref(ps, s, n, out) < 0) return -1;
    } else {
        size_t i;
        for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
            if (strlen(ents[i].name) == n && memcmp(ents[i].name, s, n) == 0) break;
        if (i == sizeof ents / sizeof ents[0])
            return fail(ps, "unknown entity &%.*s;", (int)n, s);
        strbuf_putc(out, ents[i].c);
    }
    adv(ps, n + 2);
    return 0;
}

/* One literal character of text or attribute value, with the checks and
 * normalisation XML asks for: no control characters, CRLF and CR become LF
 * (and, in attributes, any whitespace becomes a space). */
static int put_char(parser *ps, strbuf *out, int in_attr) {
    unsigned char c = (unsigned char)*ps->p;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return fail(ps, "control character 0x%02x not allowed", c);
    if (c == '\r') {
        if (ps->p + 1 < ps->end && ps->p[1] == '\n') adv(ps, 1);
        c = '\n';
    }
    if (in_attr && (c == '\t' || c == '\n')) c = ' ';
    strbuf_putc(out, (char)c);
    adv(ps, 1);
    return 0;
}

static int skip_comment(parser *ps) {
    adv(ps, 4); /* "<!--" */
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "unterminated comment");
        if (at(ps, "--")) {
            if (!at(ps, "-->")) return fail(ps, "'--' inside a comment");
            adv(ps, 3);
            return 0;
        }
        adv(ps, 1);
    }
}

static int skip_pi(parser *ps) {
    adv(ps, 2); /* "<?" */
    if (ps->end - ps->p >= 3 && strncasecmp(ps->p, "xml", 3) == 0 &&
        (ps->end - ps->p == 3 || is_space(ps->p[3]) || ps->p[3] == '?'))
        return fail(ps, "XML declaration must come first in the document");
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "unterminated processing instruction");
        if (at(ps, "?>")) {
            adv(ps, 2);
            return 0;
        }
        adv(ps, 1);
    }
}

static int parse_cdata(parser *ps, strbuf *text) {
    adv(ps, 9); /* "<![CDATA[" */
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "unterminated CDATA section");
        if (at(ps, "]]>")) {
            adv(ps, 3);
            return 0;
        }
        if (put_char(ps, text, 0) < 0) return -1;
    }
}

static int parse_attr_value(parser *ps, strbuf *out) {
    if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
        return fail(ps, "attribute value must be quoted");
    char q = *ps->p;
    adv(ps, 1);
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "unterminated attribute value");
        if (*ps->p == q) {
            adv(ps, 1);
            break;
        }
        if (*ps->p == '<') return fail(ps, "'<' inside an attribute value");
        int rc = *ps->p == '&' ? parse_reference(ps, out) : put_char(ps, out, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

static void attrs_push(char ***attrs, size_t *n, char *name, char *value) {
    char **a = realloc(*attrs, (*n + 3) * sizeof *a);
    if (!a) abort();
    a[(*n)++] = name;
    a[(*n)++] = value;
    a[*n] = NULL;
    *attrs = a;
}

/* Attributes up to '>' or '/>' (not consumed). */
static int parse_attrs(parser *ps, xml_node *node) {
    size_t n = 0;
    for (;;) {
        int had_space = skip_ws(ps);
        if (ps->p >= ps->end) return fail(ps, "unterminated start tag <%s>", node->name);
        if (*ps->p == '>' || at(ps, "/>")) return 0;
        if (!had_space)
            return fail(ps, "expected whitespace between attributes of <%s>", node->name);
        char *name = parse_name(ps, "attribute");
        if (!name) return -1;
        for (size_t i = 0; i < n; i += 2)
            if (strcmp(node->attrs[i], name) == 0) {
                fail(ps, "duplicate attribute %s", name);
                free(name);
                return -1;
            }
        strbuf value = {0};
        skip_ws(ps);
        int ok = ps->p < ps->end && *ps->p == '=';
        if (ok) adv(ps, 1), skip_ws(ps);
        if (!ok || parse_attr_value(ps, &value) < 0) {
            if (!ok) fail(ps, "expected '=' after attribute %s", name);
            free(name);
            free(value.s);
            return -1;
        }
        attrs_push(&node->attrs, &n, name, strbuf_take(&value));
    }
}

/* "ec2:Foo" -> "Foo". The prefix must not be empty, nor the local part. */
static int set_local_name(parser *ps, xml_node *node, const char *qname) {
    const char *colon = strchr(qname, ':');
    const char *local = colon ? colon + 1 : qname;
    if ((colon && colon == qname) || !*local || strchr(local, ':'))
        return fail(ps, "bad element name %s", qname);
    node->name = strdup(local);
    if (!node->name) abort();
    return 0;
}

static int only_space(const char *s) {
    while (is_space(*s)) s++;
    return !*s;
}

static xml_node *parse_element(parser *ps, xml_node *parent, int depth);

/* Everything between the start tag and the end tag of `node`. */
static int parse_content(parser *ps, xml_node *node, const char *qname,
                         strbuf *text, int depth) {
    xml_node **tail = &node->first_child;
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "document ends inside <%s>", qname);
        int rc = 0;
        if (at(ps, "</")) {
            adv(ps, 2);
            size_t n = strlen(qname);
            if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, qname, n) != 0 ||
                (ps->p + n < ps->end && name_char((unsigned char)ps->p[n])))
                return fail(ps, "end tag does not match <%s>", qname);
            adv(ps, n);
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '>')
                return fail(ps, "expected '>' to close </%s", qname);
            adv(ps, 1);
            return 0;
        } else if (at(ps, "<!--")) {
            rc = skip_comment(ps);
        } else if (at(ps, "<![CDATA[")) {
            rc = parse_cdata(ps, text);
        } else if (at(ps, "<?")) {
            rc = skip_pi(ps);
        } else if (at(ps, "<!")) {
            rc = fail(ps, "unexpected '<!' inside <%s>", qname);
        } else if (*ps->p == '<') {
            xml_node *child = parse_element(ps, node, depth + 1);
            if (!child) return -1;
            *tail = child;
            tail = &child->next;
        } else if (*ps->p == '&') {
            rc = parse_reference(ps, text);
        } else if (at(ps, "]]>")) {
            rc = fail(ps, "']]>' not allowed in text");
        } else {
            rc = put_char(ps, text, 0);
        }
        if (rc < 0) return -1;
    }
}

/* At '<' of a start tag. Returns the node, or NULL (error set). */
static xml_node *parse_element(parser *ps, xml_node *parent, int depth) {
    if (depth > XML_MAX_DEPTH) {
        fail(ps, "elements nested deeper than %d", XML_MAX_DEPTH);
        return NULL;
    }
    adv(ps, 1);
    char *qname = parse_name(ps, "element");
    if (!qname) return NULL;

    xml_node *node = calloc(1, sizeof *node);
    if (!node) abort();
    node->parent = parent;
    strbuf text = {0};
    int rc = set_local_name(ps, node, qname);
    if (rc == 0) rc = parse_attrs(ps, node);
    if (rc == 0 && at(ps, "/>")) {
        adv(ps, 2);
    } else if (rc == 0) {
        adv(ps, 1); /* '>' */
        rc = parse_content(ps, node, qname, &text, depth);
    }
    free(qname);
    node->text = strbuf_take(&text);
    if (rc < 0) {
        xml_free(node);
        return NULL;
    }
    if (node->first_child && only_space(node->text)) node->text[0] = '\0';
    return node;
}

/* Comments, processing instructions and whitespace around the root. */
static int skip_misc(parser *ps) {
    for (;;) {
        skip_ws(ps);
        int rc;
        if (at(ps, "<!--")) rc = skip_comment(ps);
        else if (at(ps, "<?")) rc = skip_pi(ps);
        else return 0;
        if (rc < 0) return -1;
    }
}

static int skip_declaration(parser *ps) {
    if (at(ps, "\xEF\xBB\xBF")) adv(ps, 3); /* UTF-8 byte order mark */
    if (!(at(ps, "<?xml") && ps->end - ps->p > 5 && is_space(ps->p[5])))
        return 0;
    for (;;) {
        if (ps->p >= ps->end) return fail(ps, "unterminated XML declaration");
        if (at(ps, "?>")) {
            adv(ps, 2);
            return 0;
        }
        adv(ps, 1);
    }
}

xml_node *xml_parse(const char *buf, size_t len, errinfo *err) {
    parser ps = {buf, buf + len, 1, err};
    if (!buf) {
        fail(&ps, "no document");
        return NULL;
    }
    if (skip_declaration(&ps) < 0 || skip_misc(&ps) < 0) return NULL;
    if (at(&ps, "<!")) {
        fail(&ps, at(&ps, "<!DOCTYPE") ? "DOCTYPE is not supported"
                                       : "unexpected '<!' before the root element");
        return NULL;
    }
    if (ps.p >= ps.end || *ps.p != '<') {
        fail(&ps, ps.p >= ps.end ? "empty document" : "text before the root element");
        return NULL;
    }
    xml_node *root = parse_element(&ps, NULL, 1);
    if (!root) return NULL;
    if (skip_misc(&ps) < 0 || ps.p < ps.end) {
        if (ps.p < ps.end) fail(&ps, "content after the root element <%s>", root->name);
        xml_free(root);
        return NULL;
    }
    return root;
}

void xml_free(xml_node *n) {
    while (n) {
        xml_node *next = n->next;
        xml_free(n->first_child);
        if (n->attrs)
            for (char **a = n->attrs; *a; a++) free(*a);
        free(n->attrs);
        free(n->name);
        free(n->text);
        free(n);
        n = next;
    }
}

xml_node *xml_child(const xml_node *n, const char *name) {
    if (!n) return NULL;
    for (xml_node *c = n->first_child; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

xml_node *xml_next_same(const xml_node *n) {
    if (!n) return NULL;
    for (xml_node *s = n->next; s; s = s->next)
        if (strcmp(s->name, n->name) == 0) return s;
    return NULL;
}

xml_node *xml_path(const xml_node *n, const char *path) {
    const xml_node *cur = n;
    char part[256];
    while (cur && path && *path) {
        size_t len = strcspn(path, "/");
        if (len >= sizeof part) return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        if (len) cur = xml_child(cur, part);
        path += len;
        if (*path == '/') path++;
    }
    return (xml_node *)cur;
}

const char *xml_path_text(const xml_node *n, const char *path) {
    const xml_node *c = xml_path(n, path);
    return c ? c->text : NULL;
}

const char *xml_attr(const xml_node *n, const char *name) {
    if (!n || !n->attrs) return NULL;
    for (char **a = n->attrs; a[0]; a += 2) {
        const char *colon = strchr(a[0], ':');
        if (strcmp(a[0], name) == 0 || (colon && strcmp(colon + 1, name) == 0))
            return a[1];
    }
    return NULL;
}
