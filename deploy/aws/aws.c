/* aws: one util/http client per aws_client (so connections are kept alive
 * between calls), SigV4 on every attempt (the date changes), XML answers.
 *
 * A call is: resolve the endpoint once, then up to max_attempts times sign,
 * send, and classify the outcome as done, retry (throttling, 5xx, network)
 * or fail. Between attempts we sleep with "full jitter" backoff, which
 * spreads out clients that were throttled together. */
#include "deploy/aws/client.h"
#include "deploy/aws/sigv4.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AWS_MAX_BODY (32u << 20) /* largest answer we accept */
#define AWS_MAX_RETRY_AFTER_MS 60000
#define AWS_RENEW_WINDOW_S 300 /* renew credentials this close to expiry */
#define AWS_RENEW_GAP_S 60     /* and try no more often than this */
#define AWS_RETRY_BASE_MS 100
#define AWS_RETRY_CAP_MS 5000
#define AWS_THROTTLE_CAP_MS 20000
#define AWS_MAX_ATTEMPTS 6
#define AWS_THROTTLE_ATTEMPTS 12
#define AWS_CONSISTENCY_TIMEOUT_S 30

/* struct aws_client is in client.h, which sts.c shares. */

/* ---- small helpers ---- */

int aws_errinfo_set(errinfo *err, err_code code, const char *remote, const char *fmt, ...) {
    char msg[ERRINFO_MSG_MAX];
    va_list ap;
    if (!err) return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errinfo_set(err, code, "%s", msg);
    snprintf(err->remote, sizeof err->remote, "%s", remote);
    return -1;
}

const char *aws_env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- parameters ---- */

void aws_params_add(aws_params *p, const char *key, const char *value) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        char **k = realloc(p->keys, cap * sizeof *k);
        if (!k) abort();
        p->keys = k;
        char **v = realloc(p->values, cap * sizeof *v);
        if (!v) abort();
        p->values = v;
        p->cap = cap;
    }
    p->keys[p->n] = strdup(key);
    p->values[p->n] = strdup(value ? value : "");
    if (!p->keys[p->n] || !p->values[p->n]) abort();
    p->n++;
}

void aws_params_addf(aws_params *p, const char *key, const char *fmt, ...) {
    va_list ap;
    char *v;
    va_start(ap, fmt);
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    aws_params_add(p, key, v);
    free(v);
}

void aws_params_free(aws_params *p) {
    for (size_t i = 0; i < p->n; i++) free(p->keys[i]), free(p->values[i]);
    free(p->keys);
    free(p->values);
    *p = (aws_params){0};
}

/* Credentials (aws_creds_from_env, aws_creds_free...) live in creds.c. */

/* ---- endpoints ---- */

static const char *service_endpoint_env(const char *service) {
    char name[96] = "AWS_ENDPOINT_URL_";
    size_t n = strlen(name);
    for (const char *s = service; *s && n + 1 < sizeof name; s++)
        name[n++] = *s == '-' || *s == ' ' ? '_' : (char)toupper((unsigned char)*s);
    name[n] = '\0';
    const char *v = aws_env(name);
    if (!v && strcmp(service, "elasticloadbalancing") == 0)
        v = aws_env("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
    return v;
}

int aws_endpoint(const char *service, const char *region, char *url,
                 size_t urllen, const char **signing_region) {
    int global = strcmp(service, "iam") == 0 || strcmp(service, "route53") == 0;
    const char *env = service_endpoint_env(service);
    int n;

    *signing_region = global ? "us-east-1" : region;
    if (!env) env = aws_env("AWS_ENDPOINT_URL");
    if (env) {
        size_t len = strlen(env);
        while (len > 0 && env[len - 1] == '/') len--;
        n = snprintf(url, urllen, "%.*s", (int)len, env);
    } else if (global) {
        n = snprintf(url, urllen, "https://%s.amazonaws.com", service);
    } else {
        n = snprintf(url, urllen, "https://%s.%s.amazonaws.com", service, region);
    }
    return n < 0 || (size_t)n >= urllen ? -1 : 0;
}

/* ---- client ---- */

static int valid_region(const char *r) {
    size_t n = strlen(r);
    if (n == 0 || n > 32) return 0;
    for (; *r; r++)
        if (!(*r >= 'a' && *r <= 'z') && !(*r >= '0' && *r <= '9') && *r != '-')
            return 0;
    return 1;
}

static uint64_t seed(const void *p) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
                 (uint64_t)(uintptr_t)p ^ ((uint64_t)getpid() << 16);
    return s ? s : 0x9E3779B97F4A7C15ull;
}

/* `region`, else the environment's; NULL (err set) when none or invalid. */
static const char *pick_region(const char *region, errinfo *err) {
    if (!region) region = aws_env("AWS_REGION");
    if (!region) region = aws_env("AWS_DEFAULT_REGION");
    if (!region) {
        errinfo_set(err, ERR_INVALID, "no AWS region: set region in the stack, or AWS_REGION");
        return NULL;
    }
    if (!valid_region(region)) {
        errinfo_set(err, ERR_INVALID, "invalid AWS region '%.40s' (expected e.g. us-east-1)", region);
        return NULL;
    }
    return region;
}

/* The options with every zero field given its default. */
static aws_options options_filled(const aws_options *o) {
    aws_options f = o ? *o : (aws_options){0};
    if (f.retry_base_ms == 0) f.retry_base_ms = AWS_RETRY_BASE_MS;
    if (f.retry_base_ms < 0) f.retry_base_ms = -1; /* stays "at once" in clones */
    if (f.retry_base_ms > 60000) f.retry_base_ms = 60000;
    if (f.max_attempts <= 0) f.max_attempts = AWS_MAX_ATTEMPTS;
    if (f.max_attempts > 100) f.max_attempts = 100;
    if (f.throttle_attempts <= 0) f.throttle_attempts = AWS_THROTTLE_ATTEMPTS;
    if (f.throttle_attempts > 100) f.throttle_attempts = 100;
    if (f.consistency_timeout_s == 0) f.consistency_timeout_s = AWS_CONSISTENCY_TIMEOUT_S;
    return f;
}

aws_client *aws_client_new(const char *region, const aws_creds *creds,
                           const aws_options *options, errinfo *err) {
    if (!(region = pick_region(region, err))) return NULL;
    aws_creds env = {0};
    if (!creds) {
        if (aws_creds_from_env(&env, err) < 0) return NULL;
        creds = &env;
    } else if (!creds->access_key || !creds->secret_key) {
        errinfo_set(err, ERR_INVALID, "AWS credentials lack an access key id or secret key");
        return NULL;
    }
    http_client *http = http_client_new(err);
    if (!http) {
        aws_creds_free(&env);
        return NULL;
    }
    aws_client *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->http = http;
    if (!(c->region = strdup(region))) abort();
    aws_creds_copy(&c->creds, creds);
    aws_creds_free(&env);
    c->rng = seed(c);
    c->options = options_filled(options);
    c->fresh = aws_fresh_new();
    return c;
}

aws_client *aws_client_new_resolved(const char *region, const aws_options *options,
                                    errinfo *err) {
    char fallback[64];
    aws_creds creds;
    aws_creds_origin origin;
    if (!region && aws_region_default(fallback, sizeof fallback) == 0) region = fallback;
    if (!(region = pick_region(region, err))) return NULL; /* before any network */
    if (aws_creds_resolve(&creds, &origin, err) < 0) return NULL;
    aws_client *c = aws_client_new(region, &creds, options, err);
    aws_creds_free(&creds);
    if (!c) return NULL;
    c->resolved = 1;
    c->expiration = origin.expiration;
    if (c->options.debug) log_write(LOG_DEBUG, AWS_LOG, "credentials from %s", origin.source);
    return c;
}

aws_client *aws_client_clone(const aws_client *src, errinfo *err) {
    aws_client *c = aws_client_new(src->region, &src->creds, &src->options, err);
    if (!c) return NULL;
    c->resolved = src->resolved;
    c->expiration = src->expiration;
    aws_fresh_unref(c->fresh);
    c->fresh = aws_fresh_ref(src->fresh);
    c->role = src->role ? aws_assumed_copy(src->role) : NULL;
    aws_client_set_cancel(c, src->cancel, src->cancel_arg);
    return c;
}

void aws_client_free(aws_client *c) {
    if (!c) return;
    http_client_free(c->http);
    aws_fresh_unref(c->fresh);
    aws_assumed_free(c->role);
    aws_creds_free(&c->creds);
    free(c->region);
    free(c);
}

const char *aws_client_region(const aws_client *c) { return c->region; }

const aws_options *aws_client_options(const aws_client *c) { return &c->options; }

unsigned long aws_client_request_count(const aws_client *c) { return c->requests; }

void aws_client_request_count_add(aws_client *c, unsigned long n) { c->requests += n; }

void aws_client_set_pause(aws_client *c, aws_pause_fn fn, void *arg) {
    c->pause = fn;
    c->pause_arg = arg;
}

void aws_client_created(aws_client *c, const char *id) {
    if (c) aws_fresh_add(c->fresh, id);
}

/* ---- one HTTP exchange ---- */

typedef struct {
    const char *service, *what; /* for messages: "ec2", "DescribeVpcs" */
    const char *action;         /* for metrics: `what` without the ids of a REST path */
    const char *method;
    const char *url;          /* full URL, with query */
    const char *host;         /* Host header, as signed */
    const char *path, *query; /* as signed */
    const char *content_type; /* NULL: no body */
    const char *body;
    size_t body_len;
    const char *signing_region;
    int empty_ok; /* an empty 2xx answer is a success */
    int fresh;    /* names something this family created */
} request;

static void amz_now(char out[17]) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void headers_free(char **h) {
    for (size_t i = 0; h && h[i]; i++) free(h[i]);
    free(h);
}

/* Signs the request for now and returns the "Name: value" lines to send
 * (NULL-terminated; NULL when the request cannot be signed). */
static char **signed_headers(const aws_client *c, const request *rq) {
    char date[17], auth[1024];
    sigv4_header h[4];
    size_t n = 0;
    amz_now(date);
    h[n++] = (sigv4_header){"host", rq->host};
    h[n++] = (sigv4_header){"x-amz-date", date};
    if (rq->content_type) h[n++] = (sigv4_header){"content-type", rq->content_type};
    const aws_creds *k = c->role ? &c->role->creds : &c->creds;
    if (k->session_token) h[n++] = (sigv4_header){"x-amz-security-token", k->session_token};
    sigv4_request sr = {rq->method, rq->path, rq->query, h, n,
                        (const unsigned char *)rq->body, rq->body_len};
    sigv4_params sp = {k->access_key, k->secret_key,
                       rq->signing_region, rq->service, date};
    if (sigv4_authorization(&sr, &sp, auth, sizeof auth) < 0) return NULL;

    char **lines = calloc(n + 3, sizeof *lines);
    if (!lines) abort();
    for (size_t i = 0; i < n; i++)
        if (asprintf(&lines[i], "%s: %s", h[i].name, h[i].value) < 0) abort();
    if (asprintf(&lines[n], "Authorization: %s", auth) < 0) abort();
    if (!(lines[n + 1] = strdup("Expect:"))) abort(); /* no 100-continue wait */
    return lines;
}

/* ---- classifying answers ---- */

enum outcome { DONE,
               RETRY,
               FAIL };

static int throttling_code(const char *code) {
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
        "ProvisionedThroughputExceededException",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

/* The first element named `name` in document order under (and including)
 * n, that has a child `child` when child is not NULL. */
static const xml_node *find_element(const xml_node *n, const char *name, const char *child) {
    if (strcmp(n->name, name) == 0 && (!child || xml_child(n, child))) return n;
    for (const xml_node *k = n->first_child; k; k = k->next) {
        const xml_node *hit = find_element(k, name, child);
        if (hit) return hit;
    }
    return NULL;
}

/* The Error element (one with a Code) wherever it sits: EC2 answers
 * Response/Errors/Error, the Query and REST-XML services
 * ErrorResponse/Error, S3-style services a bare Error, and other
 * implementations of the APIs ErrorResponse/Errors/Error. Same for the
 * request id (RequestID in EC2's shape, RequestId elsewhere). */
static const xml_node *find_error(const xml_node *root, const char **reqid) {
    const xml_node *id = find_element(root, "RequestId", NULL);
    if (!id) id = find_element(root, "RequestID", NULL);
    *reqid = id ? id->text : NULL;
    return find_element(root, "Error", "Code");
}

/* Printable, single-line excerpt of a body that is not an AWS error. */
static void excerpt(const http_response *rs, char *out, size_t outlen) {
    size_t n = 0;
    for (size_t i = 0; i < rs->len && n + 1 < outlen && i < 160; i++)
        out[n++] = isprint((unsigned char)rs->body[i]) ? rs->body[i] : ' ';
    out[n] = '\0';
}

/* AWS's words for bad credentials or a wrong clock do not say what to fix. */
static const char *hint(const char *code) {
    static const char *const creds[] = {
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidAccessKeyId",
    };
    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++)
        if (strcmp(code, creds[i]) == 0)
            return " (check the AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                   "the AWS_PROFILE profile or the instance role; DEPLOYBOT_AWS_DEBUG=1 "
                   "says which was used)";
    if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0)
        return " (the temporary credentials expired: renew AWS_SESSION_TOKEN or the profile's)";
    if (strcmp(code, "RequestExpired") == 0 || strcmp(code, "RequestTimeTooSkewed") == 0)
        return " (check this machine's clock)";
    return "";
}

/* " (request id ID)" when AWS named the request, for the user to quote. */
static void add_request_id(errinfo *err, const char *reqid) {
    size_t n = strlen(err->msg);
    if (reqid && *reqid)
        snprintf(err->msg + n, sizeof err->msg - n, " (request id %s)", reqid);
}

static void parse_error(const request *rq, const http_response *rs, errinfo *err) {
    xml_node *root = xml_parse(rs->body, rs->len, NULL);
    const char *reqid = NULL;
    const xml_node *e = root ? find_error(root, &reqid) : NULL;
    const char *code = e ? xml_path_text(e, "Code") : NULL;
    int retry = rs->status >= 500 || rs->status == 429 || (code && throttling_code(code));
    err_code kind = retry ? ERR_UNAVAILABLE : ERR_REMOTE;

    if (code && *code) {
        const char *msg = xml_path_text(e, "Message");
        aws_errinfo_set(err, kind, code, "%s%s", msg && *msg ? msg : code, hint(code));
    } else {
        char ex[168], hc[16];
        excerpt(rs, ex, sizeof ex);
        snprintf(hc, sizeof hc, "HTTP%ld", rs->status);
        aws_errinfo_set(err, kind, hc, "%s %s answered HTTP %ld without an AWS error document: %s",
                        rq->service, rq->what, rs->status, ex[0] ? ex : "(empty body)");
    }
    err->status = (int)rs->status;
    add_request_id(err, reqid && *reqid ? reqid : rs->request_id);
    xml_free(root);
}

/* No answer: err (from util/http) says why; ERR_UNAVAILABLE is worth a retry. */
static enum outcome unanswered(const request *rq, errinfo *err) {
    char why[ERRINFO_MSG_MAX];
    int too_big = err->code == ERR_LIMIT;
    snprintf(why, sizeof why, "%s", too_big ? "answer larger than 32 MiB" : err->msg);
    err_code kind = err->code;
    aws_errinfo_set(err, kind, too_big ? "ResponseTooLarge" : "ConnectionError",
                    "cannot call %s %s at %s: %s", rq->service, rq->what, rq->url, why);
    return kind == ERR_UNAVAILABLE ? RETRY : FAIL;
}

/* One attempt. On DONE, *out holds the document (or NULL: empty body). */
static enum outcome attempt(aws_client *c, const request *rq, http_response *rs,
                            xml_node **out, errinfo *err) {
    char **hdrs = signed_headers(c, rq);
    if (!hdrs) {
        aws_errinfo_set(err, ERR_INTERNAL, "SigningError", "cannot sign %s %s: request too large",
                        rq->service, rq->what);
        return FAIL;
    }
    http_request_spec spec = {
        .method = rq->method,
        .url = rq->url,
        .headers = (const char *const *)hdrs,
        .body = rq->body,
        .body_len = rq->body_len,
        .connect_timeout_ms = 10000,
        .timeout_ms = 120000,
        .max_body = AWS_MAX_BODY,
    };
    c->requests++;
    int rc = http_client_send(c->http, &spec, rs, err);
    headers_free(hdrs);
    if (rc < 0) return unanswered(rq, err);
    if (rs->status >= 300) {
        parse_error(rq, rs, err);
        return err->code == ERR_UNAVAILABLE ? RETRY : FAIL;
    }
    if (rs->len == 0 && rq->empty_ok) {
        *out = NULL;
        return DONE;
    }
    errinfo xerr;
    if ((*out = xml_parse(rs->body, rs->len, &xerr))) return DONE;
    aws_errinfo_set(err, ERR_REMOTE, "MalformedResponse",
                    "%s %s returned a document deploybot cannot read (%.400s)",
                    rq->service, rq->what, xerr.msg);
    err->status = (int)rs->status;
    add_request_id(err, rs->request_id);
    return FAIL;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(n-1))]. */
static long backoff_ms(aws_client *c, int n, long cap) {
    long ceiling = c->options.retry_base_ms;
    if (ceiling <= 0) return 0;
    for (int i = 1; i < n && ceiling < cap; i++) ceiling *= 2;
    if (ceiling > cap) ceiling = cap;
    c->rng ^= c->rng << 13; /* xorshift64 */
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (long)(c->rng % (uint64_t)(ceiling + 1));
}

void aws_client_set_cancel(aws_client *c, aws_cancel_fn fn, void *arg) {
    c->cancel = fn;
    c->cancel_arg = arg;
}

int aws_client_canceled(const aws_client *c, errinfo *err) {
    if (!c || !c->cancel || !c->cancel(c->cancel_arg)) return 0;
    return aws_errinfo_set(err, ERR_CANCELED, "Canceled", "stopped before the next AWS call");
}

/* In slices when the client can be canceled, so that a cancel is seen
 * within one even during a 20 s backoff or a waiter's 10 s pause. */
int aws_client_pause(const aws_client *c, long ms, errinfo *err) {
    const long slice = !c || !c->cancel ? ms : c->pause ? 1000
                                                        : 100;
    for (;;) {
        if (aws_client_canceled(c, err)) return -1;
        if (ms <= 0) return 0;
        long now = ms < slice ? ms : slice;
        if (c && c->pause) {
            c->pause(c->pause_arg, now);
        } else {
            struct timespec ts = {now / 1000, (now % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) < 0) {}
        }
        ms -= now;
    }
}

/* Instance-metadata credentials last hours, and the service hands out the
 * next set at least 5 minutes before the current one expires: renew inside
 * that window, but at most once a minute, so a service still serving the old
 * set is not asked before every request. A failed renewal is harmless while
 * the old set works; after that the request cannot be signed. */
static int renew_creds(aws_client *c, errinfo *err) {
    time_t now = time(NULL);
    if (!c->resolved || !c->expiration || now + AWS_RENEW_WINDOW_S < c->expiration) return 0;
    if (now < c->expiration && now < c->next_refresh) return 0;
    c->next_refresh = now + AWS_RENEW_GAP_S;

    aws_creds fresh;
    aws_creds_origin origin;
    errinfo why;
    if (aws_creds_resolve(&fresh, &origin, &why) == 0) {
        aws_creds_free(&c->creds);
        c->creds = fresh;
        c->expiration = origin.expiration;
        if (c->options.debug) log_write(LOG_DEBUG, AWS_LOG, "credentials renewed from %s", origin.source);
        return 0;
    }
    if (c->options.debug) log_write(LOG_DEBUG, AWS_LOG, "renewing credentials failed: %s", why.msg);
    if (now < c->expiration) return 0;
    return aws_errinfo_set(err, ERR_UNAVAILABLE, "ExpiredToken",
                           "the AWS credentials expired and "
                           "could not be renewed: %.900s",
                           why.msg);
}

/* After attempt n failed: what happens next (wait < 0: nothing). */
static void debug_line(const aws_client *c, const request *rq, const errinfo *err, int n,
                       long wait, int settle) {
    if (!c->options.debug) return;
    if (wait < 0)
        log_write(LOG_DEBUG, AWS_LOG, "%s %s -> %d %s (attempt %d, giving up)", rq->service, rq->what, err->status,
                  err->remote, n);
    else
        log_write(LOG_DEBUG, AWS_LOG, "%s %s -> %d %s (attempt %d%s, retry in %ld ms)", rq->service, rq->what,
                  err->status, err->remote, n, settle ? ", created moments ago" : "", wait);
}

/* AWS's NotFound codes: EC2's Invalid*.NotFound (InvalidInstanceID.NotFound,
 * InvalidVpcID.NotFound, InvalidGroup.NotFound ...) and NatGatewayNotFound,
 * ELBv2's and IAM's. */
static int not_found_code(const char *code) {
    static const char *const codes[] = {
        "NatGatewayNotFound",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ListenerNotFound",
        "NoSuchEntity",
    };
    size_t n = strlen(code);
    if (strncmp(code, "Invalid", 7) == 0 && n > 16 && strcmp(code + n - 9, ".NotFound") == 0) return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

/* A NotFound for what this family created is AWS not showing the create
 * everywhere yet: retried until consistency_timeout_s after the first one. */
static int settling(const aws_client *c, const request *rq, const errinfo *err, long long *deadline) {
    if (!rq->fresh || c->options.consistency_timeout_s < 0 || !not_found_code(err->remote)) return 0;
    long long now = clock_mono_ms();
    if (!*deadline) *deadline = now + c->options.consistency_timeout_s * 1000LL;
    return now < *deadline;
}

static int throttled_answer(enum outcome o, const errinfo *err) {
    return o == RETRY && (err->status == 429 || throttling_code(err->remote));
}

/* The retries of one request so far, by kind. */
typedef struct {
    int retries;         /* all of them: the backoff grows with each */
    int failures;        /* 5xx, no answer: against max_attempts */
    int throttles;       /* throttled: against throttle_attempts */
    long long settle_by; /* NotFound for what was created: until then */
} retry_state;

/* How long to wait before trying again after a failed attempt, or -1: give
 * up. Throttling is AWS asking every client to slow down, and an apply cut
 * short by it costs more than a wait: it has its own, larger budget, and a
 * backoff that grows to the SDKs' cap of 20 s. */
static long retry_wait(aws_client *c, const request *rq, enum outcome o, const errinfo *err,
                       long long retry_after, retry_state *st, int *settle) {
    int throttled = throttled_answer(o, err);
    *settle = o == FAIL && settling(c, rq, err, &st->settle_by);
    if (o == FAIL && !*settle) return -1;
    if (throttled ? ++st->throttles >= c->options.throttle_attempts
                  : !*settle && ++st->failures >= c->options.max_attempts)
        return -1;
    long wait = backoff_ms(c, ++st->retries, throttled ? AWS_THROTTLE_CAP_MS : AWS_RETRY_CAP_MS);
    if (retry_after > AWS_MAX_RETRY_AFTER_MS) retry_after = AWS_MAX_RETRY_AFTER_MS;
    return retry_after > wait ? (long)retry_after : wait;
}

/* ---- metrics (util/metrics.h) ---- */

static const metrics_spec CALLS = {
    .name = "deploybot_aws_calls_total",
    .help =
        "AWS API calls by service, action and outcome (ok, error: AWS refused it, throttled or "
        "unavailable: still so after the last retry).",
    .type = METRICS_COUNTER,
    .labels = {"service", "action", "outcome"}};
static const metrics_spec THROTTLES = {
    .name = "deploybot_aws_throttles_total",
    .help = "Answers of AWS that throttled a call (each attempt).",
    .type = METRICS_COUNTER,
    .labels = {"service", "action"}};
static const metrics_spec RETRIES = {
    .name = "deploybot_aws_retries_total",
    .help = "Attempts of AWS calls made again after a throttle, a 5xx, no answer or a NotFound of what was just created.",
    .type = METRICS_COUNTER,
    .labels = {"service", "action"}};

/* A call ended: ok, error, throttled or unavailable. */
static void count_call(const aws_client *c, const request *rq, int done, int throttled, const errinfo *err) {
    const char *outcome = done ? "ok" : throttled                  ? "throttled"
                                    : err->code == ERR_UNAVAILABLE ? "unavailable"
                                                                   : "error";
    metrics_add(c->options.metrics, &CALLS, (const char *[]){rq->service, rq->action, outcome}, 1);
}

/* After a failed attempt, before the wait (wait < 0: no retry). */
static void count_attempt(const aws_client *c, const request *rq, int throttled, long wait) {
    const char *labels[] = {rq->service, rq->action};
    if (throttled) metrics_add(c->options.metrics, &THROTTLES, labels, 1);
    if (wait >= 0) metrics_add(c->options.metrics, &RETRIES, labels, 1);
}

static int perform(aws_client *c, const request *rq, xml_node **out, errinfo *err) {
    retry_state st = {0};
    for (;;) {
        http_response rs;
        int settle;
        errinfo_clear(err);
        if (aws_client_canceled(c, err) || renew_creds(c, err) < 0 || aws_assumed_renew(c, err) < 0) return -1;
        enum outcome o = attempt(c, rq, &rs, out, err);
        long long retry_after = rs.retry_after_ms;
        if (o == DONE && c->options.debug)
            log_write(LOG_DEBUG, AWS_LOG, "%s %s -> %ld", rq->service, rq->what, rs.status);
        http_response_free(&rs);
        if (o == DONE) {
            count_call(c, rq, 1, 0, err);
            return 0;
        }
        long wait = retry_wait(c, rq, o, err, retry_after, &st, &settle);
        debug_line(c, rq, err, st.retries + (wait < 0), wait, settle);
        int throttled = throttled_answer(o, err);
        count_attempt(c, rq, throttled, wait);
        if (wait < 0) count_call(c, rq, 0, throttled, err);
        if (wait < 0) return -1;
        if (aws_client_pause(c, wait, err) < 0) return -1;
    }
}

/* ---- building requests ---- */

typedef struct {
    char *url, *host, *path, *query;
    const char *signing_region;
} target;

static void target_free(target *t) {
    free(t->url);
    free(t->host);
    free(t->path);
    free(t->query);
    *t = (target){0};
}

/* Splits the endpoint into what is sent (URL) and what is signed (Host,
 * path, query). `path` may carry "?query". */
static int resolve(aws_client *c, const char *service, const char *path,
                   target *t, errinfo *err) {
    char base[1024];
    http_url u;
    *t = (target){0};
    if (aws_endpoint(service, c->region, base, sizeof base, &t->signing_region) < 0)
        return aws_errinfo_set(err, ERR_INVALID, "InvalidEndpoint", "endpoint URL for %s is too long",
                               service);
    if (http_url_parse(base, &u, NULL) < 0)
        return aws_errinfo_set(err, ERR_INVALID, "InvalidEndpoint",
                               "cannot parse endpoint URL '%s' "
                               "for %s (check AWS_ENDPOINT_URL*)",
                               base, service);
    const char *port = u.port;
    if (port && ((strcmp(u.scheme, "https") == 0 && strcmp(port, "443") == 0) ||
                 (strcmp(u.scheme, "http") == 0 && strcmp(port, "80") == 0)))
        port = NULL; /* the Host header leaves it out */
    if (asprintf(&t->host, "%s%s%s", u.host, port ? ":" : "", port ? port : "") < 0) abort();

    size_t plen = strlen(u.path);
    while (plen > 0 && u.path[plen - 1] == '/') plen--;
    const char *q = strchr(path, '?');
    size_t rel = q ? (size_t)(q - path) : strlen(path);
    if (asprintf(&t->path, "%.*s%.*s", (int)plen, u.path, (int)rel, path) < 0) abort();
    if (asprintf(&t->query, "%s", q ? q + 1 : "") < 0) abort();
    if (asprintf(&t->url, "%s://%s%s%s%s%s%s", u.scheme, u.host, u.port ? ":" : "",
                 u.port ? u.port : "", t->path, *t->query ? "?" : "", t->query) < 0) abort();
    http_url_free(&u);
    return 0;
}

static int cmp_index_by_key(const void *a, const void *b, void *keys) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(((char **)keys)[x], ((char **)keys)[y]);
    return c ? c : (x > y) - (x < y);
}

/* Action=..&Version=..&k=v... with the parameters sorted by name. */
static char *query_body(const char *action, const char *version, const aws_params *p) {
    strbuf b = {0};
    strbuf_puts(&b, "Action=");
    sigv4_uri_encode(&b, action, strlen(action), 0);
    strbuf_puts(&b, "&Version=");
    sigv4_uri_encode(&b, version, strlen(version), 0);
    size_t n = p ? p->n : 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) abort();
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (n) qsort_r(idx, n, sizeof *idx, cmp_index_by_key, p->keys);
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(&b, "&");
        sigv4_uri_encode(&b, p->keys[idx[i]], strlen(p->keys[idx[i]]), 0);
        strbuf_puts(&b, "=");
        sigv4_uri_encode(&b, p->values[idx[i]], strlen(p->values[idx[i]]), 0);
    }
    free(idx);
    return strbuf_take(&b);
}

int aws_query(aws_client *c, const char *service, const char *version,
              const char *action, const aws_params *params, xml_node **out,
              errinfo *err) {
    errinfo local;
    target t;
    if (!err) err = &local;
    *out = NULL;
    if (resolve(c, service, "/", &t, err) < 0) return -1;
    char *body = query_body(action, version, params);
    request rq = {
        .service = service,
        .what = action,
        .action = action,
        .method = "POST",
        .url = t.url,
        .host = t.host,
        .path = t.path,
        .query = t.query,
        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        .body = body,
        .body_len = strlen(body),
        .signing_region = t.signing_region,
        .fresh = aws_fresh_named(c->fresh, params),
    };
    int rc = perform(c, &rq, out, err);
    free(body);
    target_free(&t);
    return rc;
}

/* "GET /2013-04-01/hostedzone/{id}/rrset": the API version, then the path's
 * words and ids in turn (Route53's /TYPE/ID/SUBRESOURCE), an id also being
 * anything but lowercase letters, as {id}: one action per operation, not
 * one per resource. */
static void rest_action(const char *method, const char *path, char *out, size_t outlen) {
    strbuf b = {0};
    size_t end = strcspn(path, "?");
    int prev_word = 0;
    strbuf_printf(&b, "%s ", method);
    for (size_t i = 0, first = 1; i < end; first = 0) {
        size_t n = strcspn(path + i + 1, "/?") + 1; /* the '/' and the segment */
        int word = !prev_word || n == 1;            /* an empty one too: a trailing '/' */
        for (size_t k = 1; k < n; k++) word &= path[i + k] >= 'a' && path[i + k] <= 'z';
        if (first || word) strbuf_put(&b, path + i, n);
        else strbuf_puts(&b, "/{id}");
        prev_word = word && !first;
        i += n;
    }
    snprintf(out, outlen, "%s", b.s);
    strbuf_free(&b);
}

int aws_rest_xml(aws_client *c, const char *service, const char *method,
                 const char *path, const char *body, xml_node **out,
                 errinfo *err) {
    errinfo local;
    target t;
    char what[160], action[160];
    if (!err) err = &local;
    *out = NULL;
    if (!path || path[0] != '/')
        return aws_errinfo_set(err, ERR_INVALID, "InvalidRequest", "REST path must start with '/'");
    if (resolve(c, service, path, &t, err) < 0) return -1;
    snprintf(what, sizeof what, "%s %.*s", method, (int)strcspn(path, "?"), path);
    rest_action(method, path, action, sizeof action);
    request rq = {
        .service = service,
        .what = what,
        .action = action,
        .method = method,
        .url = t.url,
        .host = t.host,
        .path = t.path,
        .query = t.query,
        .content_type = body ? "application/xml" : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .signing_region = t.signing_region,
        .empty_ok = 1,
    };
    int rc = perform(c, &rq, out, err);
    target_free(&t);
    return rc;
}
