/* strbuf: a growing, always NUL-terminated string. Allocation failure
 * aborts: every caller would have to, and none can do better. */
#ifndef DEPLOYBOT_UTIL_STRBUF_H
#define DEPLOYBOT_UTIL_STRBUF_H

#include <stddef.h>

typedef struct {
    char *s; /* NULL until something is added */
    size_t len, cap;
} strbuf;

void strbuf_put(strbuf *b, const char *s, size_t n);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_putc(strbuf *b, char c);
/* s with control characters written as \n, \r, \t or \xNN (and '\' as
 * "\\"): text from a payload cannot start a forged line of a log. */
void strbuf_put_escaped(strbuf *b, const char *s);
/* s for HTML text or a quoted attribute: & < > " ' as entities, so text
 * from a repository or AWS (a commit subject, a branch) is never markup. */
void strbuf_put_html(strbuf *b, const char *s);
void strbuf_put_html_n(strbuf *b, const char *s, size_t n);
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (never NULL); the strbuf is empty afterwards. */
char *strbuf_take(strbuf *b);
void strbuf_free(strbuf *b);

#endif
