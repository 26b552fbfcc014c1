/* strbuf: see strbuf.h. */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(strbuf *b, size_t n) {
    if (b->len + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) abort();
    b->s = p;
    b->cap = cap;
}

void strbuf_put(strbuf *b, const char *s, size_t n) {
    grow(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void strbuf_puts(strbuf *b, const char *s) { strbuf_put(b, s, strlen(s)); }

void strbuf_putc(strbuf *b, char c) { strbuf_put(b, &c, 1); }

void strbuf_printf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *strbuf_take(strbuf *b) {
    char *s = b->s ? b->s : strdup("");
    if (!s) abort();
    memset(b, 0, sizeof(*b));
    return s;
}

void strbuf_free(strbuf *b) {
    free(b->s);
    memset(b, 0, sizeof(*b));
}

void strbuf_put_html(strbuf *b, const char *s) {
    strbuf_put_html_n(b, s, s ? strlen(s) : 0);
}

void strbuf_put_html_n(strbuf *b, const char *s, size_t n) {
    for (; n > 0; s++, n--) {
        if (*s == '&') strbuf_puts(b, "&amp;");
        else if (*s == '<') strbuf_puts(b, "&lt;");
        else if (*s == '>') strbuf_puts(b, "&gt;");
        else if (*s == '"') strbuf_puts(b, "&quot;");
        else if (*s == '\'') strbuf_puts(b, "&#39;");
        else strbuf_putc(b, *s);
    }
}

void strbuf_put_escaped(strbuf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\n') strbuf_puts(b, "\\n");
        else if (c == '\r') strbuf_puts(b, "\\r");
        else if (c == '\t') strbuf_puts(b, "\\t");
        else if (c == '\\') strbuf_puts(b, "\\\\");
        else if (c < 0x20 || c == 0x7f) strbuf_printf(b, "\\x%02x", c);
        else strbuf_putc(b, (char)c);
    }
}
