/* cfgsnap: see cfgsnap.h. Each value carries its count of references; the
 * snapshot's own counts as one while the value is current. */
#include "bot/cfgsnap.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    bot_config cfg; /* first: a const bot_config * handed out is the node */
    int refs;
} node;

struct cfgsnap {
    pthread_mutex_t mu;
    node *cur;
};

static node *node_new(bot_config *cfg) {
    node *n = calloc(1, sizeof(*n));
    if (!n) abort();
    n->cfg = *cfg;
    *cfg = (bot_config){0};
    n->refs = 1;
    return n;
}

/* Under the lock: 1 when that was the last reference. */
static int unref(node *n) {
    return --n->refs == 0;
}

static void node_free(node *n) {
    bot_config_free(&n->cfg);
    free(n);
}

cfgsnap *cfgsnap_new(bot_config *cfg) {
    cfgsnap *s = calloc(1, sizeof(*s));
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    s->cur = node_new(cfg);
    return s;
}

const bot_config *cfgsnap_get(cfgsnap *s) {
    pthread_mutex_lock(&s->mu);
    node *n = s->cur;
    n->refs++;
    pthread_mutex_unlock(&s->mu);
    return &n->cfg;
}

void cfgsnap_put(cfgsnap *s, const bot_config *cfg) {
    node *n = (node *)cfg;
    if (!cfg) return;
    pthread_mutex_lock(&s->mu);
    int last = unref(n);
    pthread_mutex_unlock(&s->mu);
    if (last) node_free(n);
}

void cfgsnap_swap(cfgsnap *s, bot_config *cfg) {
    node *fresh = node_new(cfg);
    pthread_mutex_lock(&s->mu);
    node *old = s->cur;
    s->cur = fresh;
    int last = unref(old);
    pthread_mutex_unlock(&s->mu);
    if (last) node_free(old);
}

void cfgsnap_free(cfgsnap *s) {
    if (!s) return;
    node_free(s->cur);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
