/* fresh: the ids of what a client and its clones created (aws_client_created),
 * so that a NotFound naming one of them right after its create is taken for
 * what it is in AWS, the create not visible everywhere yet (eventual
 * consistency), and retried for a while (aws.c). A NotFound naming anything
 * else is an answer: a delete of what is gone must still see it gone.
 * Thread-safe, shared by reference (one per family of clients). */
#ifndef DEPLOYBOT_DEPLOY_AWS_FRESH_H
#define DEPLOYBOT_DEPLOY_AWS_FRESH_H

#include "deploy/aws/aws.h"

typedef struct aws_fresh aws_fresh;

aws_fresh *aws_fresh_new(void);
/* Another reference to f; each is dropped with aws_fresh_unref. */
aws_fresh *aws_fresh_ref(aws_fresh *f);
void aws_fresh_unref(aws_fresh *f);

void aws_fresh_add(aws_fresh *f, const char *id);
/* 1 when a value of p is one of the ids. */
int aws_fresh_named(aws_fresh *f, const aws_params *p);

#endif
