/* fresh: see fresh.h. An apply creates some tens of resources: a list
 * searched linearly is plenty. */
#include "deploy/aws/fresh.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct aws_fresh {
    pthread_mutex_t mu;
    int refs;
    char **ids;
    size_t n, cap;
};

aws_fresh *aws_fresh_new(void) {
    aws_fresh *f = calloc(1, sizeof *f);
    if (!f) abort();
    pthread_mutex_init(&f->mu, NULL);
    f->refs = 1;
    return f;
}

aws_fresh *aws_fresh_ref(aws_fresh *f) {
    pthread_mutex_lock(&f->mu);
    f->refs++;
    pthread_mutex_unlock(&f->mu);
    return f;
}

void aws_fresh_unref(aws_fresh *f) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    int last = --f->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (!last) return;
    for (size_t i = 0; i < f->n; i++) free(f->ids[i]);
    free(f->ids);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void aws_fresh_add(aws_fresh *f, const char *id) {
    if (!id || !*id) return;
    pthread_mutex_lock(&f->mu);
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 32;
        if (!(f->ids = realloc(f->ids, f->cap * sizeof *f->ids))) abort();
    }
    if (!(f->ids[f->n++] = strdup(id))) abort();
    pthread_mutex_unlock(&f->mu);
}

int aws_fresh_named(aws_fresh *f, const aws_params *p) {
    int hit = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; p && i < p->n && !hit; i++)
        for (size_t j = 0; j < f->n && !hit; j++)
            hit = strcmp(p->values[i], f->ids[j]) == 0;
    pthread_mutex_unlock(&f->mu);
    return hit;
}
