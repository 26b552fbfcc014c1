/* timerheap: things due at a time (ms of clock_mono_ms), earliest first: a
 * binary min-heap, for a scheduler that sleeps until the next one is due
 * (deploy/apply.c's pending polls). Not thread-safe: its owner's lock
 * guards it. A zeroed timerheap is empty. */
#ifndef DEPLOYBOT_UTIL_TIMERHEAP_H
#define DEPLOYBOT_UTIL_TIMERHEAP_H

#include <stddef.h>

typedef struct {
    long long due;
    void *item;
} timer_entry;

typedef struct {
    timer_entry *v;
    size_t n, cap;
} timerheap;

void timerheap_push(timerheap *h, long long due, void *item);

/* The earliest due time, or -1 when the heap is empty. */
long long timerheap_next(const timerheap *h);

/* Takes out the earliest item (NULL when empty); those due at the same
 * time come out in any order. */
void *timerheap_pop(timerheap *h);

void timerheap_free(timerheap *h);

#endif
