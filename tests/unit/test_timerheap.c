/* timerheap: items come out earliest first, whatever order they went in. */
#include "util/timerheap.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdlib.h>

static void test_earliest_first(void) {
    timerheap h = {0};
    CHECK(timerheap_next(&h) == -1);
    CHECK(timerheap_pop(&h) == NULL);
    srand(17);
    long long dues[200];
    for (int i = 0; i < 200; i++) {
        dues[i] = rand() % 50; /* many equal times */
        timerheap_push(&h, dues[i], &dues[i]);
    }
    long long last = -1;
    for (int i = 0; i < 200; i++) {
        long long next = timerheap_next(&h);
        long long *item = timerheap_pop(&h);
        CHECK(item && *item == next);
        CHECK(next >= last);
        last = next;
    }
    CHECK(timerheap_pop(&h) == NULL);
    timerheap_free(&h);
}

static void test_push_between_pops(void) {
    timerheap h = {0};
    int a, b, c;
    timerheap_push(&h, 30, &a);
    timerheap_push(&h, 10, &b);
    CHECK(timerheap_pop(&h) == &b);
    timerheap_push(&h, 20, &c);
    CHECK(timerheap_next(&h) == 20);
    CHECK(timerheap_pop(&h) == &c);
    CHECK(timerheap_pop(&h) == &a);
    timerheap_free(&h);
}

int main(void) {
    test_earliest_first();
    test_push_between_pops();
    return CHECK_DONE();
}
