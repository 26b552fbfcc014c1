/* aws: the AWS API client (SigV4 over util/http).
 *
 * Endpoint: AWS_ENDPOINT_URL_<SERVICE> (service upper-cased, '-' -> '_'; ELBv2
 * also answers to AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2) or AWS_ENDPOINT_URL
 * when set (e.g. the test fake at http://127.0.0.1:PORT), otherwise
 * https://<service>.<region>.amazonaws.com.
 * Credentials: passed in, or found by the standard chain (aws_creds_resolve):
 * the environment, then the shared credentials file, then EC2 instance
 * metadata (IMDSv2). A client may act as a role instead, with those
 * credentials as the base (sts.h, aws_client_assume_role).
 * Region: the `region` argument, else AWS_REGION, else AWS_DEFAULT_REGION
 * (aws_client_new_resolved also reads the profile's region in ~/.aws/config).
 * IAM and Route53 are global: iam.amazonaws.com / route53.amazonaws.com,
 * always signed for us-east-1 (aws partition only).
 * Throttling (Throttling, ThrottlingException, RequestLimitExceeded,
 * TooManyRequestsException, Route53's PriorRequestNotComplete ...; HTTP 429),
 * 5xx answers and connection failures are retried with exponential backoff
 * and full jitter, honouring Retry-After (aws_options: base 100 ms; throttling
 * up to 12 attempts with the backoff capped at 20 s, the rest 6 attempts
 * capped at 5 s). A NotFound for what the client has just created is retried
 * too (aws_client_created). A retried POST may reach AWS twice: pass
 * ClientToken to EC2 calls that create things. aws_options.debug prints one line per request to stderr (secrets
 * are never logged).
 *
 * Errors (util/errinfo.h): status is the HTTP status (0: no answer), remote
 * the AWS error code ("InvalidVpcID.NotFound"; test it with
 * errinfo_is_remote), msg AWS's message followed by " (request id ID)" when
 * AWS named the request, so that users can quote it to AWS support. Failures
 * the client or a waiter detects itself carry a code of the same style in
 * remote ("ConnectionError", "HTTP503", "MalformedResponse", "WaiterTimeout"),
 * so that every AWS failure reads "Code: message". The code is
 * ERR_UNAVAILABLE for what was retried to the end (throttling, 5xx, no
 * connection), ERR_REMOTE for what AWS refused.
 *
 * Metrics (aws_options.metrics, util/metrics.h): deploybot_aws_calls_total
 * {service,action,outcome} once per call (outcome ok, error, throttled or
 * unavailable: how it ended after its retries), deploybot_aws_throttles_total
 * and deploybot_aws_retries_total {service,action} per attempt. A REST
 * action is the method and path with its ids as {id}, so the series are one
 * per operation, never one per resource.
 *
 * One client per thread: a client is not thread-safe, but clients share
 * nothing, so threads may each use their own. */
#ifndef DEPLOYBOT_DEPLOY_AWS_AWS_H
#define DEPLOYBOT_DEPLOY_AWS_AWS_H

#include <stddef.h>
#include <time.h>
#include "deploy/aws/options.h"
#include "deploy/aws/xml.h"
#include "util/errinfo.h"

typedef struct aws_client aws_client;

typedef struct {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL if none */
} aws_creds;

/* A growable list of Query API parameters (Name=Value, sorted when sent). */
typedef struct {
    char **keys;
    char **values;
    size_t n, cap;
} aws_params;

/* An environment variable of the AWS SDK convention (AWS_REGION,
 * AWS_ENDPOINT_URL, AWS_PROFILE ...): NULL when unset or empty, as the SDKs
 * read them. */
const char *aws_env(const char *name);

/* Fails with AWS error code (or a code of the same style) `remote`, no HTTP
 * status: for a state read from AWS that can never become the wanted one
 * ("NatGatewayFailed"). Returns -1. */
int aws_errinfo_set(errinfo *err, err_code code, const char *remote, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void aws_params_add(aws_params *p, const char *key, const char *value);
void aws_params_addf(aws_params *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void aws_params_free(aws_params *p);

/* ---- credentials (deploy/aws/creds.c) ----
 *
 * The chain, first match wins (the order of the AWS SDKs):
 *  1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 *  2. the shared credentials file, AWS_SHARED_CREDENTIALS_FILE or
 *     ~/.aws/credentials, section [PROFILE] where PROFILE is AWS_PROFILE,
 *     else AWS_DEFAULT_PROFILE, else "default" (keys aws_access_key_id,
 *     aws_secret_access_key, aws_session_token); a [profile PROFILE] with
 *     static keys in AWS_CONFIG_FILE or ~/.aws/config counts too;
 *  3. EC2 instance metadata, IMDSv2 only: a session token from
 *     PUT /latest/api/token, then the instance role's credentials.
 *     AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254)
 *     moves it, AWS_EC2_METADATA_DISABLED=true turns it off. It gets 1 s to
 *     connect and 2 s per request, so a machine outside EC2 fails fast. (In
 *     a container on EC2 the token answer needs a metadata hop limit of 2.)
 * A source that is present but broken (an id without a secret, a profile
 * named by AWS_PROFILE that does not exist, a profile that wants role_arn or
 * SSO) stops the chain with an error rather than quietly falling through to
 * another identity. */

typedef struct {
    char source[160];  /* "environment (AWS_ACCESS_KEY_ID)", "profile dev",
                            "instance metadata (role r)" */
    time_t expiration; /* when the credentials stop working, 0: never */
} aws_creds_origin;

/* Environment variables only. */
int aws_creds_from_env(aws_creds *c, errinfo *err);

/* The shared files. `path` NULL: AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials (then AWS_CONFIG_FILE or ~/.aws/config); `profile`
 * NULL: AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". Returns 0 when found,
 * 1 when there is no such file or profile (err says which, code
 * ERR_NOT_FOUND), -1 when the profile exists but cannot be used (err says
 * why). */
int aws_creds_from_profile(aws_creds *c, const char *path, const char *profile,
                           errinfo *err);

/* IMDSv2 at `endpoint` (NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT or the
 * link-local default). Sets *expiration (may be NULL). Returns 0 or -1. */
int aws_creds_from_imds(aws_creds *c, const char *endpoint, time_t *expiration,
                        errinfo *err);

/* The whole chain. origin may be NULL. On failure err lists every source
 * tried: "no AWS credentials: AWS_ACCESS_KEY_ID not set, no [default] in
 * /root/.aws/credentials, instance metadata unreachable (...)". */
int aws_creds_resolve(aws_creds *c, aws_creds_origin *origin, errinfo *err);

/* "2024-05-17T15:09:54Z" (fractions of a second allowed) -> Unix time; 0
 * when s is NULL or not that. */
time_t aws_time_parse(const char *s);

/* A copy of `from` (an empty session token becomes NULL). */
void aws_creds_copy(aws_creds *to, const aws_creds *from);
void aws_creds_free(aws_creds *c);

/* The region of `profile` (NULL: as above) in AWS_CONFIG_FILE or
 * ~/.aws/config ([default] or [profile NAME]). Returns 0, or -1 when it
 * names none. */
int aws_config_region(const char *profile, char *out, size_t outlen);

/* The region the SDKs default to: AWS_REGION, else AWS_DEFAULT_REGION, else
 * the profile's (aws_config_region). Returns 0, or -1 when none names one. */
int aws_region_default(char *out, size_t outlen);

/* region may be NULL (environment); so may creds (environment variables
 * only, aws_creds_from_env), and options (the defaults). The client copies
 * the credentials and the options, and never refreshes the credentials. */
aws_client *aws_client_new(const char *region, const aws_creds *creds,
                           const aws_options *options, errinfo *err);

/* A client whose credentials come from aws_creds_resolve, and whose region,
 * when neither `region` nor the environment gives one, is the profile's in
 * ~/.aws/config. Credentials that expire (instance metadata) are fetched
 * again once less than 5 minutes remain, at most once a minute, before a
 * request is signed; if that fails the old ones are used until they expire. */
aws_client *aws_client_new_resolved(const char *region, const aws_options *options,
                                    errinfo *err);

/* A second client with the same region, credentials and options, for
 * another thread (a client is used by one thread at a time). */
aws_client *aws_client_clone(const aws_client *c, errinfo *err);

void aws_client_free(aws_client *c);
const char *aws_client_region(const aws_client *c);
/* The options the client was made with (defaults filled in). */
const aws_options *aws_client_options(const aws_client *c);

/* Calls a Query-protocol action (EC2, ELBv2, IAM...): POST form-encoded
 * Action=...&Version=...&params. On success *out is the parsed response
 * document (caller frees with xml_free). On failure returns -1 and fills err. */
int aws_query(aws_client *c, const char *service, const char *version,
              const char *action, const aws_params *params, xml_node **out,
              errinfo *err);

/* Calls a REST-XML action (Route53): `method` on `path` (already URI-encoded,
 * may carry "?query"), with `body` (XML, may be NULL) sent as application/xml.
 * On success *out is the parsed response, or NULL when the answer has no body.
 * Errors and retries as for aws_query. */
int aws_rest_xml(aws_client *c, const char *service, const char *method,
                 const char *path, const char *body, xml_node **out,
                 errinfo *err);

/* Where `service` is called in `region`, following the rules above: writes
 * the base URL (no trailing '/') to url and points *signing_region at the
 * region to sign for. Returns 0, or -1 when url is too small. */
int aws_endpoint(const char *service, const char *region, char *url,
                 size_t urllen, const char **signing_region);

/* Tells the client (and its clones) that `id` (an EC2 id, an ARN, an IAM
 * name) names what it has just created. AWS is eventually consistent: for a
 * while after a create, calls naming the new resource may answer its NotFound
 * code (InvalidInstanceID.NotFound, InvalidVpcID.NotFound, InvalidGroup.NotFound
 * ..., NatGatewayNotFound, LoadBalancerNotFound, TargetGroupNotFound,
 * ListenerNotFound, NoSuchEntity). A Query call with a parameter equal to
 * such an id that gets one of these is retried, with the backoff below, for
 * up to aws_options.consistency_timeout_s; any other NotFound is an answer
 * (what is deleted stays gone). */
void aws_client_created(aws_client *c, const char *id);

/* Asked before every request and during every pause (a retry's backoff, a
 * waiter's poll): nonzero stops the call at once with ERR_CANCELED (remote
 * "Canceled"), so a run that is canceled, timed out or shut down stops
 * between AWS calls. Called from any thread that uses the client or a
 * clone of it (clones inherit it): it must be thread-safe and quick. */
typedef int (*aws_cancel_fn)(void *arg);
void aws_client_set_cancel(aws_client *c, aws_cancel_fn fn, void *arg);

/* -1 with ERR_CANCELED (remote "Canceled") when the client's cancel callback
 * says stop, else 0: for whoever waits for AWS without a call of its own
 * (a scheduled waiter, deploy/apply.c). c may be NULL (never). */
int aws_client_canceled(const aws_client *c, errinfo *err);

/* Pauses ms milliseconds (aws_client_set_pause's way, else asleep), or less
 * when the client's cancel callback (none: never) says stop: then -1 with
 * ERR_CANCELED. c may be NULL. */
int aws_client_pause(const aws_client *c, long ms, errinfo *err);

/* Number of HTTP requests made so far (for benchmarks and tests). */
unsigned long aws_client_request_count(const aws_client *c);
/* Adds a clone's requests to c's count (its work was done for c). */
void aws_client_request_count_add(aws_client *c, unsigned long n);

/* How a client pauses: before a retry, and between a waiter's looks
 * (waiter.h). By default the calling thread sleeps; an applier hands its
 * workers' clients a function that lets other operations run meanwhile
 * (deploy/apply.c). A clone starts with the default. */
typedef void (*aws_pause_fn)(void *arg, long ms);
void aws_client_set_pause(aws_client *c, aws_pause_fn fn, void *arg);

#endif
