/* ingest: the writer thread that makes accepted webhook deliveries durable,
 * many at a time (group commit).
 *
 * The HTTP thread must never wait on the disk, and one fsync per delivery
 * caps ingestion at the disk's fsyncs per second. So the server hands each
 * verified delivery over (ingest_submit) and goes on serving; the writer
 * takes whatever is queued, waits at most batch_wait_us for more (never
 * past batch_max deliveries), and commits them all in one transaction
 * (store_deliveries_add). Only then is each marked done and the done
 * callback called: the server answers each delivery's 202 from its own
 * thread (ingest_take_done). A batch that fails is retried one delivery at
 * a time, so one bad delivery fails alone.
 *
 * An item belongs to the writer from ingest_submit until ingest_take_done
 * hands it back; a connection that goes away meanwhile calls
 * ingest_abandon, and the item is freed when its commit is done (it is
 * committed anyway: the host retries a delivery it saw no answer for, and
 * the retry is a duplicate). */
#ifndef DEPLOYBOT_BOT_INGEST_H
#define DEPLOYBOT_BOT_INGEST_H

#include "util/errinfo.h"

typedef struct ingest ingest;

typedef struct ingest_item {
    char *delivery, *event, *payload; /* owned; what store_deliveries_add records */
    void *conn;                       /* the submitter's: who waits for the answer */
    /* Once done: */
    long job_id;   /* 0 for a duplicate or a failure */
    int duplicate; /* the delivery id was seen before */
    int failed;    /* nothing was recorded: err says why */
    errinfo err;   /* for the 503 */
    int abandoned; /* private: the submitter went away */
    struct ingest_item *next;
} ingest_item;

typedef struct {
    int batch_max;     /* deliveries per transaction; 0: 64 */
    int batch_wait_us; /* how long the writer waits for a batch to fill; 0: not at all */
} ingest_settings;

/* Called from the writer thread after each batch: it must be thread-safe
 * and not block (lws_cancel_service). */
typedef void (*ingest_done_cb)(void *arg);

/* Opens the writer's own connection to db_path, and one for checkpoints
 * (ingest.c says why they are apart), and starts their threads. */
ingest *ingest_start(const char *db_path, const ingest_settings *set, ingest_done_cb done, void *arg,
                     errinfo *err);

/* A new item for conn (the strings are copied); NULL when out of memory. */
ingest_item *ingest_item_new(const char *delivery, const char *event, const char *payload, void *conn);
void ingest_item_free(ingest_item *it);

/* Queues it for the next batch; the writer owns it from now on. */
void ingest_submit(ingest *g, ingest_item *it);
/* The items committed (or failed) since the last call, oldest first, as a
 * list through ->next; the caller frees each. Abandoned items are not in it. */
ingest_item *ingest_take_done(ingest *g);
/* The submitter of it is gone: it is freed once its commit is done. */
void ingest_abandon(ingest *g, ingest_item *it);

/* Commits what is queued (calling done a last time), stops and joins the
 * thread. ingest_take_done and ingest_abandon still work after it, so the
 * connections can be closed after the writer stopped. NULL is a no-op. */
void ingest_stop(ingest *g);
/* Frees the items still not taken, and g. NULL is a no-op. */
void ingest_free(ingest *g);

#endif
