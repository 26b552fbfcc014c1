/* util/textwrap.h and util/linediff.h, the two text helpers of the plan's
 * rendering: wrapping never cuts and counts UTF-8 characters; the line diff
 * keeps the lines both texts share and falls back to "all removed, all
 * added" past its bound. */
#include "util/linediff.h"
#include "util/textwrap.h"
#include "check.h"

#include <stdlib.h>

/* Undoes textwrap_put: each break and the continuation prefix after it. */
static char *unwrap(const char *text, const char *first, const char *cont) {
    strbuf b = {0};
    size_t skip = strlen(first);
    for (const char *p = text; *p; p++) {
        if (skip) {
            skip--;
            continue;
        }
        if (*p == '\n') skip = strlen(cont);
        else strbuf_putc(&b, *p);
    }
    return strbuf_take(&b);
}

static size_t widest(const char *text) {
    size_t max = 0;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n"), cols = textwrap_cols(l, n);
        max = cols > max ? cols : max;
        l += n + (l[n] == '\n');
    }
    return max;
}

static void test_wrap(void) {
    const char *arn =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/deploybot-dev-alb/"
        "50dc6c495c0c9188/0467ef3c8400ae65";
    strbuf b = {0};
    textwrap_put(&b, "  ~ ", "      ", arn, 40, NULL);
    CHECK(widest(b.s) <= 40);
    CHECK_CONTAINS(b.s, "  ~ arn:aws:elasticloadbalancing:\n      "); /* broken after a ':' */
    char *back = unwrap(b.s, "  ~ ", "      ");
    CHECK_STR(back, arn);
    free(back);
    strbuf_free(&b);

    /* No break character: at the width, between two characters, never in one. */
    const char *word = "ééééééééééééééééééééééééé"; /* 25 characters, 50 bytes */
    textwrap_put(&b, "", "", word, 10, NULL);
    CHECK_STR(b.s, "éééééééééé\néééééééééé\nééééé\n");
    strbuf_free(&b);

    textwrap_put(&b, "    - ", "", "", 100, "\033[31m"); /* an empty line has no trailing blanks */
    textwrap_put(&b, "", "", "short", 100, "\033[31m");
    CHECK_STR(b.s, "    -\n\033[31mshort\033[0m\n");
    strbuf_free(&b);
}

static char *shown(const char *a, const char *b) {
    size_t n;
    linediff_line *d = linediff(a, b, &n);
    strbuf out = {0};
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&out, "%c%.*s\n", " -+"[d[i].op], (int)d[i].len, d[i].text);
    free(d);
    return strbuf_take(&out);
}

static void test_linediff(void) {
    char *d = shown("a\nb\nc\nd\ne\n", "a\nB\nc\nd\ne\nf");
    CHECK_STR(d, " a\n-b\n+B\n c\n d\n e\n+f\n");
    free(d);
    d = shown("x\na\nb\n", "a\ny\nb\n");
    CHECK_STR(d, "-x\n a\n+y\n b\n");
    free(d);
    d = shown("", "one\n");
    CHECK_STR(d, "+one\n");
    free(d);
    size_t n = 1;
    CHECK(linediff("", "", &n) == NULL && n == 0);

    /* Past LINEDIFF_MAX_PAIRS, the middle is removed, then added. */
    strbuf a = {0}, b = {0};
    for (int i = 0; i < 1001; i++) {
        strbuf_printf(&a, "%d\n", i);
        strbuf_printf(&b, "%d\n", i % 2 ? i : -i - 1);
    }
    linediff_line *lines = linediff(a.s, b.s, &n);
    size_t same = 0, removed = 0;
    for (size_t i = 0; i < n; i++) {
        same += lines[i].op == LINEDIFF_SAME;
        removed += lines[i].op == LINEDIFF_REMOVED;
    }
    CHECK(n == 2002 && same == 0 && removed == 1001); /* the odd lines are common, not looked for */
    CHECK(lines[0].op == LINEDIFF_REMOVED && lines[n - 1].op == LINEDIFF_ADDED);
    free(lines);
    strbuf_free(&a);
    strbuf_free(&b);
}

int main(void) {
    test_wrap();
    test_linediff();
    return CHECK_DONE();
}
