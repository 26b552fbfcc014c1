/* sts: acting as a role, possibly of another AWS account (STS AssumeRole),
 * e.g. one account per environment.
 *
 * The base credentials (the client's: the chain of aws.h) call
 * sts:AssumeRole (Query API 2011-06-15, service "sts", endpoint
 * AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or https://sts.<region>.amazonaws.com)
 * for a session of an hour; every request is then signed with the session's
 * temporary credentials and its X-Amz-Security-Token. Sessions are kept in an
 * aws_sessions cache, one per role, external id and session name, and shared
 * by every client given the cache: a new one is asked for when less than
 * 5 minutes (a quarter of a shorter session) remain, before the request
 * that would need it, so an apply that outlasts its session carries on. A
 * session that cannot be renewed is used until it expires. */
#ifndef DEPLOYBOT_DEPLOY_AWS_STS_H
#define DEPLOYBOT_DEPLOY_AWS_STS_H

#include "deploy/aws/aws.h"

typedef struct {
    const char *arn;          /* "arn:aws:iam::123456789012:role/deploy" */
    const char *external_id;  /* ExternalId the role's trust policy asks for; NULL: none */
    const char *session_name; /* RoleSessionName, what CloudTrail shows ("deploybot-dev");
                                  characters outside [A-Za-z0-9+=,.@_-] become '-' */
} aws_role;

/* The sessions cache. Thread-safe; outlives every client given it. */
typedef struct aws_sessions aws_sessions;

aws_sessions *aws_sessions_new(void);
void aws_sessions_free(aws_sessions *s);

/* From now on c (and its clones) signs as `role`, with a session from
 * `sessions` (not NULL), assumed now when it has none: a role that cannot be assumed
 * fails here, with AWS's code in err->remote ("AccessDenied" for a wrong
 * external id or a role that does not trust the caller). Returns 0 or -1. */
int aws_client_assume_role(aws_client *c, const aws_role *role, aws_sessions *sessions,
                           errinfo *err);

/* AssumeRole itself, with c's credentials: the session in *out (free with
 * aws_creds_free) and when it expires. */
int aws_sts_assume_role(aws_client *c, const aws_role *role, int duration_s, aws_creds *out,
                        time_t *expiration, errinfo *err);

/* sts:GetCallerIdentity: who c signs as (its role's session when it
 * assumed one), its ARN into arn[len]. It needs no permission, so it fails
 * only for credentials AWS does not take. Returns 0 or -1. */
int aws_sts_caller_identity(aws_client *c, char *arn, size_t len, errinfo *err);

#endif
