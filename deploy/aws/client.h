/* client: the insides of aws_client, for the files of deploy/aws that
 * extend it (aws.c the client, sts.c its assumed role). Nothing outside
 * deploy/aws includes this: the interface is aws.h and sts.h. */
#ifndef DEPLOYBOT_DEPLOY_AWS_CLIENT_H
#define DEPLOYBOT_DEPLOY_AWS_CLIENT_H

#include <stdint.h>
#include <time.h>
#include "deploy/aws/aws.h"
#include "deploy/aws/fresh.h"
#include "deploy/aws/sts.h"
#include "util/http.h"
#include "util/log.h"

/* The context of the client's debug lines (aws_options.debug): "deploybot
 * aws: ..." in text, "component": "aws" in JSON. */
#define AWS_LOG (&(const log_ctx){.component = "aws"})

/* A role the client acts as (aws_client_assume_role). */
typedef struct {
    char *arn, *external_id, *session_name;
    aws_sessions *sessions; /* where the session comes from; not owned */
    aws_creds creds;        /* the session's: what requests are signed with */
    time_t expiration;
    time_t renew_at; /* from then on, ask `sessions` for a newer one */
} aws_assumed;

struct aws_client {
    http_client *http;
    char *region;
    aws_creds creds;     /* the caller's or the chain's (the base credentials) */
    aws_options options; /* defaults filled in */
    unsigned long requests;
    uint64_t rng;
    int resolved;         /* credentials came from the chain: may be renewed */
    time_t expiration;    /* when they stop working, 0: never */
    time_t next_refresh;  /* no renewal attempt before this */
    aws_fresh *fresh;     /* what it and its clones created */
    aws_assumed *role;    /* NULL: requests are signed with creds */
    aws_cancel_fn cancel; /* NULL: never canceled (aws_client_set_cancel) */
    void *cancel_arg;
    aws_pause_fn pause; /* NULL: sleep (aws_client_set_pause) */
    void *pause_arg;
};

/* sts.c: before each request of a client with a role, a newer session
 * when the one it has is about to expire. */
int aws_assumed_renew(aws_client *c, errinfo *err);
/* A copy for a clone (sharing the sessions), and freeing one. */
aws_assumed *aws_assumed_copy(const aws_assumed *a);
void aws_assumed_free(aws_assumed *a);

#endif
