/* ec2_snapshot: the final snapshot of a data volume, taken before the volume
 * is deleted when the plan says so (deploy/safeguard.h).
 *
 * The snapshot carries the volume's stack and logical id (deploybot:stack,
 * deploybot:id, Name) so that it is found the way the volume was, plus
 * deploybot:final_snapshot_of (the volume id) and deploybot:final_snapshot_time
 * (when it was taken, UTC). It is not a resource of the stack: no provider
 * discovers snapshots, so it outlives the stack and is never destroyed.
 *
 * The volume is deleted only once the snapshot is completed. A large first
 * snapshot takes far longer than botocore's 10-minute SnapshotCompleted
 * waiter, so the wait here is an hour; when it runs out the volume stays, and
 * the next apply waits on the same pending snapshot instead of taking
 * another. */
#include "deploy/providers/ec2.h"
#include "deploy/aws/waiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAPSHOT_WAIT_S 3600
#define SNAPSHOT_POLL_MS 15000 /* botocore's SnapshotCompleted delay */

/* Whether `it` is a final snapshot of volume v that this stack took: proved
 * from the answer itself, whatever filters the request carried. */
static int final_snapshot_of(const provider_ctx *c, const xml_node *it, const resource *v) {
    const char *stack = provider_tag(it, "deploybot:stack"), *lid = provider_tag(it, "deploybot:id");
    const char *of = provider_tag(it, "deploybot:final_snapshot_of"), *vol = xml_path_text(it, "volumeId");
    return stack && lid && of && vol && strcmp(stack, c->stack) == 0 && strcmp(lid, v->id) == 0 &&
           strcmp(of, v->physical) == 0 && strcmp(vol, v->physical) == 0;
}

/* The id of a pending final snapshot of v left by an apply that stopped
 * waiting for it, or "" when there is none. */
static int pending_snapshot(const provider_ctx *c, const resource *v, char *out, size_t len, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Owner.1", "self");
    aws_params_add(&p, "Filter.1.Name", "volume-id");
    aws_params_add(&p, "Filter.1.Value.1", v->physical);
    aws_params_add(&p, "Filter.2.Name", "status");
    aws_params_add(&p, "Filter.2.Value.1", "pending");
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeSnapshots", &p, &doc, err);
    aws_params_free(&p);
    out[0] = '\0';
    if (rc != 0) return -1;
    for (xml_node *it = xml_path(doc, "snapshotSet/item"); it && !out[0]; it = xml_next_same(it)) {
        const char *state = xml_path_text(it, "status"), *id = xml_path_text(it, "snapshotId");
        if (id && state && strcmp(state, "pending") == 0 && final_snapshot_of(c, it, v)) snprintf(out, len, "%s", id);
    }
    xml_free(doc);
    return 0;
}

static int create_snapshot(const provider_ctx *c, const resource *v, char *out, size_t len, errinfo *err) {
    char when[32], description[300];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(description, sizeof(description), "deploybot: final snapshot of %s (%s) of %s, before deleting it",
             v->id, v->physical, c->stack);
    aws_params p = {0};
    aws_params_add(&p, "VolumeId", v->physical);
    aws_params_add(&p, "Description", description);
    aws_params_add(&p, "TagSpecification.1.Tag.4.Key", "deploybot:final_snapshot_of");
    aws_params_add(&p, "TagSpecification.1.Tag.4.Value", v->physical);
    aws_params_add(&p, "TagSpecification.1.Tag.5.Key", "deploybot:final_snapshot_time");
    aws_params_add(&p, "TagSpecification.1.Tag.5.Value", when);
    resource snap = {.id = v->id}; /* tagged as the volume is: deploybot:id is its logical id */
    if (ec2_create_tagged(c, "CreateSnapshot", "snapshot", &p, "snapshotId", &snap, err) != 0) return -1;
    snprintf(out, len, "%s", snap.physical);
    free(snap.physical);
    return 0;
}

typedef struct {
    const provider_ctx *c;
    char id[64], volume[64];
    ec2_volume_next next;
} snapshot_wait;

static waiter_state snapshot_check(void *arg, errinfo *err) {
    snapshot_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "SnapshotId.1", w->id);
    xml_node *doc = NULL;
    int rc = ec2_call(w->c, "DescribeSnapshots", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) /* not found: not visible yet, it was just made */
        return errinfo_is_remote(err, "InvalidSnapshot.NotFound") ? WAITER_RETRY : WAITER_FAILED;
    const xml_node *it = xml_path(doc, "snapshotSet/item");
    const char *state = it ? xml_path_text(it, "status") : NULL;
    waiter_state st = WAITER_RETRY;
    if (state && strcmp(state, "completed") == 0) {
        st = WAITER_DONE;
    } else if (state && strcmp(state, "error") == 0) {
        const char *why = xml_path_text(it, "stateMessage");
        aws_errinfo_set(err, ERR_REMOTE, "SnapshotFailed", "snapshot %s failed%s%s: the volume is kept", w->id,
                        why ? ": " : "", why ? why : "");
        st = WAITER_FAILED;
    }
    xml_free(doc);
    return st;
}

static int snapshot_then(void *arg, errinfo *err) {
    snapshot_wait *w = arg;
    return w->next ? w->next(w->c, w->volume, err) : 0;
}

int ec2_final_snapshot(const provider_ctx *c, const resource *volume, ec2_volume_next next, errinfo *err) {
    char id[64];
    if (pending_snapshot(c, volume, id, sizeof(id), err) != 0 ||
        (!id[0] && create_snapshot(c, volume, id, sizeof(id), err) != 0))
        return errinfo_prefix(err, "final snapshot of %s", volume->physical);
    snapshot_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (snapshot_wait){.c = c, .next = next};
    snprintf(w->id, sizeof(w->id), "%s", id);
    snprintf(w->volume, sizeof(w->volume), "%s", volume->physical);
    char what[300];
    snprintf(what, sizeof(what), "final snapshot %s of %s (%s) completed", id, volume->id, volume->physical);
    return provider_wait(c, waiter_new(what, snapshot_check, snapshot_then, w, free, SNAPSHOT_WAIT_S, SNAPSHOT_POLL_MS),
                         err);
}
