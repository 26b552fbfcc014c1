/* textwrap: see textwrap.h. */
#include "util/textwrap.h"

#include <string.h>

static int continuation_byte(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

size_t textwrap_cols(const char *s, size_t n) {
    size_t cols = 0;
    for (size_t i = 0; i < n; i++) cols += !continuation_byte(s[i]);
    return cols;
}

/* Bytes of s (len bytes) that fit in `room` columns, at least one character. */
static size_t fitting(const char *s, size_t len, size_t room) {
    size_t i = 0, cols = 0;
    while (i < len && (cols < room || i == 0)) {
        i++;
        while (i < len && continuation_byte(s[i])) i++;
        cols++;
    }
    return i;
}

/* Where the line breaks among the first `fit` bytes of s: after the last
 * break character past half of them, else after all of them. */
static size_t break_at(const char *s, size_t fit) {
    for (size_t i = fit; i > fit / 2; i--)
        if (strchr(" :/,", s[i - 1])) return i;
    return fit;
}

void textwrap_put(strbuf *b, const char *first, const char *cont, const char *text, size_t width,
                  const char *color) {
    const char *prefix = first;
    size_t len = strlen(text);
    if (len == 0) { /* an empty line ends where its text does: no trailing blanks */
        size_t keep = strlen(first);
        while (keep > 0 && first[keep - 1] == ' ') keep--;
        strbuf_printf(b, "%.*s\n", (int)keep, first);
        return;
    }
    do {
        size_t used = textwrap_cols(prefix, strlen(prefix));
        size_t room = width > used ? width - used : 1;
        size_t n = len;
        if (textwrap_cols(text, len) > room) n = break_at(text, fitting(text, len, room));
        strbuf_printf(b, "%s%s%.*s%s\n", color ? color : "", prefix, (int)n, text, color ? "\033[0m" : "");
        text += n;
        len -= n;
        prefix = cont;
    } while (len > 0);
}
