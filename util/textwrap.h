/* textwrap: text in lines no wider than a number of columns, for people to
 * read (a plan in a terminal, a pull request comment, a run page).
 *
 * A column is a UTF-8 character. Nothing is ever cut: joining the lines
 * after removing each line break and the continuation prefix that follows
 * it gives the text back. */
#ifndef DEPLOYBOT_UTIL_TEXTWRAP_H
#define DEPLOYBOT_UTIL_TEXTWRAP_H

#include <stddef.h>
#include "util/strbuf.h"

/* Columns of the first n bytes of s. */
size_t textwrap_cols(const char *s, size_t n);

/* Appends `text` (one line: no '\n' in it) to b as lines of at most `width`
 * columns, each ending in '\n': the first starts with `first`, the others
 * with `cont` (both counted in the width). A line breaks after the last
 * ' ', ':', '/' or ',' that fills at least half of its room, else at the
 * width, between two characters. With `color` (an ANSI SGR sequence) every
 * line is wrapped in it and a reset, which take no columns. */
void textwrap_put(strbuf *b, const char *first, const char *cont, const char *text, size_t width,
                  const char *color);

#endif
