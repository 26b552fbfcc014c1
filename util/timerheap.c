/* timerheap: see timerheap.h. */
#include "util/timerheap.h"

#include <stdlib.h>

static void swap(timer_entry *a, timer_entry *b) {
    timer_entry t = *a;
    *a = *b;
    *b = t;
}

void timerheap_push(timerheap *h, long long due, void *item) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        if (!h->v) abort();
    }
    size_t i = h->n++;
    h->v[i] = (timer_entry){due, item};
    for (; i > 0 && h->v[(i - 1) / 2].due > h->v[i].due; i = (i - 1) / 2) swap(&h->v[i], &h->v[(i - 1) / 2]);
}

long long timerheap_next(const timerheap *h) {
    return h->n ? h->v[0].due : -1;
}

void *timerheap_pop(timerheap *h) {
    if (!h->n) return NULL;
    void *item = h->v[0].item;
    h->v[0] = h->v[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l].due < h->v[m].due) m = l;
        if (r < h->n && h->v[r].due < h->v[m].due) m = r;
        if (m == i) break;
        swap(&h->v[i], &h->v[m]);
        i = m;
    }
    return item;
}

void timerheap_free(timerheap *h) {
    free(h->v);
    *h = (timerheap){0};
}
