/* linediff: see linediff.h. The common head and tail are taken first, then
 * the classic dynamic programme over what is left. */
#include "util/linediff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;
    size_t len;
} line;

/* The lines of s; a last line without '\n' counts, an empty text has none. */
static line *split(const char *s, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == '\n';
    line *out = malloc(cap * sizeof(*out));
    if (!out) abort();
    *n = 0;
    while (*s) {
        size_t len = strcspn(s, "\n");
        out[(*n)++] = (line){s, len};
        s += len + (s[len] == '\n');
    }
    return out;
}

static int same(line x, line y) { return x.len == y.len && memcmp(x.text, y.text, x.len) == 0; }

typedef struct {
    linediff_line *items;
    size_t n;
} diff;

static void put(diff *d, linediff_op op, line l) { d->items[d->n++] = (linediff_line){op, l.text, l.len}; }

/* lcs[i][j]: the longest common subsequence of a[i..] and b[j..]. */
static uint16_t *lcs_table(const line *a, size_t na, const line *b, size_t nb) {
    uint16_t *t = calloc((na + 1) * (nb + 1), sizeof(*t));
    if (!t) abort();
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;) {
            uint16_t down = t[(i + 1) * (nb + 1) + j], right = t[i * (nb + 1) + j + 1];
            t[i * (nb + 1) + j] = same(a[i], b[j]) ? t[(i + 1) * (nb + 1) + j + 1] + 1 : down > right ? down
                                                                                                      : right;
        }
    return t;
}

/* The middle, where a and b differ at both ends. */
static void diff_middle(diff *d, const line *a, size_t na, const line *b, size_t nb) {
    size_t i = 0, j = 0;
    uint16_t *t = na * nb <= LINEDIFF_MAX_PAIRS ? lcs_table(a, na, b, nb) : NULL;
    while (t && i < na && j < nb) {
        if (same(a[i], b[j])) put(d, LINEDIFF_SAME, a[i++]), j++;
        else if (t[(i + 1) * (nb + 1) + j] >= t[i * (nb + 1) + j + 1]) put(d, LINEDIFF_REMOVED, a[i++]);
        else put(d, LINEDIFF_ADDED, b[j++]);
    }
    while (i < na) put(d, LINEDIFF_REMOVED, a[i++]);
    while (j < nb) put(d, LINEDIFF_ADDED, b[j++]);
    free(t);
}

linediff_line *linediff(const char *a, const char *b, size_t *n) {
    size_t na, nb, head = 0, tail = 0;
    line *la = split(a, &na), *lb = split(b, &nb);
    diff d = {malloc((na + nb + 1) * sizeof(linediff_line)), 0};
    if (!d.items) abort();
    while (head < na && head < nb && same(la[head], lb[head])) put(&d, LINEDIFF_SAME, la[head++]);
    while (tail < na - head && tail < nb - head && same(la[na - 1 - tail], lb[nb - 1 - tail])) tail++;
    diff_middle(&d, la + head, na - head - tail, lb + head, nb - head - tail);
    for (size_t k = na - tail; k < na; k++) put(&d, LINEDIFF_SAME, la[k]);
    free(la);
    free(lb);
    *n = d.n;
    if (d.n) return d.items;
    free(d.items);
    return NULL;
}
