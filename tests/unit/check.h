/* check: the few assertion macros the unit tests share. Each test binary ends
 * with CHECK_DONE(), which prints "N passed, N failed" and sets the exit code. */
#ifndef DEPLOYBOT_TESTS_CHECK_H
#define DEPLOYBOT_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) \
    do { \
        if (cond) check_passed++; \
        else { \
            check_failed++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

#define CHECK_STR(a, b) \
    do { \
        const char *a_ = (a), *b_ = (b); \
        if (a_ && b_ && strcmp(a_, b_) == 0) check_passed++; \
        else { \
            check_failed++; \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
                    b_ ? b_ : "(null)", a_ ? a_ : "(null)"); \
        } \
    } while (0)

#define CHECK_CONTAINS(hay, needle) \
    do { \
        const char *h_ = (hay), *n_ = (needle); \
        if (h_ && strstr(h_, n_)) check_passed++; \
        else { \
            check_failed++; \
            fprintf(stderr, "%s:%d: \"%s\" not found in:\n%s\n", __FILE__, __LINE__, \
                    n_, h_ ? h_ : "(null)"); \
        } \
    } while (0)

#define CHECK_DONE() (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
