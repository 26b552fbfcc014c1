/* linediff: the difference between two texts line by line (a longest common
 * subsequence of their lines), to show a person what changed in a script. */
#ifndef DEPLOYBOT_UTIL_LINEDIFF_H
#define DEPLOYBOT_UTIL_LINEDIFF_H

#include <stddef.h>

/* Above this many line pairs in the part that differs, no common lines are
 * looked for there: it shows as removed, then added (memory stays bounded). */
#define LINEDIFF_MAX_PAIRS 1000000

typedef enum { LINEDIFF_SAME,
               LINEDIFF_REMOVED,
               LINEDIFF_ADDED } linediff_op;

typedef struct {
    linediff_op op;
    const char *text; /* points into a or b; not NUL-terminated at the line's end */
    size_t len;       /* without the '\n' */
} linediff_line;

/* The lines of `a` and `b` as one sequence in order: the lines both keep,
 * a's removed and b's added (a removal before the addition that replaces
 * it). Returns a malloc'd array of *n lines (NULL when both are empty). */
linediff_line *linediff(const char *a, const char *b, size_t *n);

#endif
