/* aws: one libcurl easy handle per client (so connections are kept alive
 * between calls), SigV4 on every attempt (the date changes), XML answers.
 *
 * A call is: resolve the endpoint once, then up to max_attempts times sign,
 * send, and classify the outcome as done, retry (throttling, 5xx, network)
 * or fail. Between attempts we sleep with "full jitter" backoff, which
 * spreads out clients that were throttled together. */
#include "deploy/aws/aws.h"
#include "util/strbuf.h"
#include "deploy/aws/sigv4.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define AWS_MAX_BODY (32u << 20)    /* largest answer we accept */
#define AWS_MAX_RETRY_AFTER_MS 60000
#define AWS_USER_AGENT "deploybot/0.1"
#define AWS_RENEW_WINDOW_S 300      /* renew credentials this close to expiry */
#define AWS_RENEW_GAP_S 60          /* and try no more often than this */

struct aws_client {
    CURL *curl;
    char *region;
    aws_creds creds;
    unsigned long requests;
    uint64_t rng;
    long base_ms, cap_ms;
    int max_attempts;
    int debug;
    int resolved;            /* credentials came from the chain: may be renewed */
    time_t expiration;       /* when they stop working, 0: never */
    time_t next_refresh;     /* no renewal attempt before this */
    char curl_err[CURL_ERROR_SIZE];  /* libcurl keeps a pointer to it */
};

/* ---- small helpers ---- */

int aws_error_is(const aws_error *e, const char *code)
{
    return strcmp(e->code, code) == 0;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void set_err(aws_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_err(aws_error *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->http_status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* AWS URI encoding (RFC 3986 unreserved kept), used for form bodies. */
static void put_encoded(strbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            strbuf_put(b, (const char *)&c, 1);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            strbuf_put(b, e, 3);
        }
    }
}

static long env_long(const char *name, long def, long min, long max)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v) return def;
    long n = strtol(v, &end, 10);
    return *end || n < min || n > max ? def : n;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- parameters ---- */

void aws_params_add(aws_params *p, const char *key, const char *value)
{
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
    p->keys[p->n] = xstrdup(key);
    p->values[p->n] = xstrdup(value ? value : "");
    p->n++;
}

void aws_params_addf(aws_params *p, const char *key, const char *fmt, ...)
{
    va_list ap;
    char *v;
    va_start(ap, fmt);
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    aws_params_add(p, key, v);
    free(v);
}

void aws_params_free(aws_params *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->keys[i]), free(p->values[i]);
    free(p->keys);
    free(p->values);
    *p = (aws_params){0};
}

/* Credentials (aws_creds_from_env, aws_creds_free...) live in aws_creds.c. */

/* ---- endpoints ---- */

static const char *service_endpoint_env(const char *service)
{
    char name[96] = "AWS_ENDPOINT_URL_";
    size_t n = strlen(name);
    for (const char *s = service; *s && n + 1 < sizeof name; s++)
        name[n++] = *s == '-' || *s == ' ' ? '_' : (char)toupper((unsigned char)*s);
    name[n] = '\0';
    const char *v = env_nonempty(name);
    if (!v && strcmp(service, "elasticloadbalancing") == 0)
        v = env_nonempty("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
    return v;
}

int aws_endpoint(const char *service, const char *region, char *url,
                 size_t urllen, const char **signing_region)
{
    int global = strcmp(service, "iam") == 0 || strcmp(service, "route53") == 0;
    const char *env = service_endpoint_env(service);
    int n;

    *signing_region = global ? "us-east-1" : region;
    if (!env) env = env_nonempty("AWS_ENDPOINT_URL");
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 32) return 0;
    for (; *r; r++)
        if (!(*r >= 'a' && *r <= 'z') && !(*r >= '0' && *r <= '9') && *r != '-')
            return 0;
    return 1;
}

static uint64_t seed(const void *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
                 (uint64_t)(uintptr_t)p ^ ((uint64_t)getpid() << 16);
    return s ? s : 0x9E3779B97F4A7C15ull;
}

/* `region`, else the environment's; NULL (err set) when none or invalid. */
static const char *pick_region(const char *region, char *err, size_t errlen)
{
    if (!region) region = env_nonempty("AWS_REGION");
    if (!region) region = env_nonempty("AWS_DEFAULT_REGION");
    if (!region) {
        snprintf(err, errlen, "no AWS region: set region in the stack, or AWS_REGION");
        return NULL;
    }
    if (!valid_region(region)) {
        snprintf(err, errlen, "invalid AWS region '%.40s' (expected e.g. us-east-1)", region);
        return NULL;
    }
    return region;
}

aws_client *aws_client_new(const char *region, const aws_creds *creds,
                           char *err, size_t errlen)
{
    if (!(region = pick_region(region, err, errlen))) return NULL;
    aws_creds env = {0};
    if (!creds) {
        if (aws_creds_from_env(&env, err, errlen) < 0) return NULL;
        creds = &env;
    } else if (!creds->access_key || !creds->secret_key) {
        snprintf(err, errlen, "AWS credentials lack an access key id or secret key");
        return NULL;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl initialisation failed: %s",
                 curl_easy_strerror(curl_init_rc));
        aws_creds_free(&env);
        return NULL;
    }

    aws_client *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->curl = curl_easy_init();
    if (!c->curl) {
        snprintf(err, errlen, "libcurl could not create a handle");
        free(c);
        aws_creds_free(&env);
        return NULL;
    }
    c->region = xstrdup(region);
    c->creds.access_key = xstrdup(creds->access_key);
    c->creds.secret_key = xstrdup(creds->secret_key);
    c->creds.session_token = creds->session_token && *creds->session_token
                             ? xstrdup(creds->session_token) : NULL;
    aws_creds_free(&env);
    c->rng = seed(c);
    c->base_ms = env_long("DEPLOYBOT_AWS_RETRY_BASE_MS", 100, 0, 60000);
    c->cap_ms = 5000;
    c->max_attempts = (int)env_long("DEPLOYBOT_AWS_MAX_ATTEMPTS", 6, 1, 100);
    c->debug = env_nonempty("DEPLOYBOT_AWS_DEBUG") != NULL;
    return c;
}

aws_client *aws_client_new_resolved(const char *region, char *err, size_t errlen)
{
    char from_config[64];
    aws_creds creds;
    aws_creds_origin origin;
    if (!region && !env_nonempty("AWS_REGION") && !env_nonempty("AWS_DEFAULT_REGION") &&
        aws_config_region(NULL, from_config, sizeof from_config) == 0)
        region = from_config;
    if (!(region = pick_region(region, err, errlen))) return NULL;  /* before any network */
    if (aws_creds_resolve(&creds, &origin, err, errlen) < 0) return NULL;
    aws_client *c = aws_client_new(region, &creds, err, errlen);
    aws_creds_free(&creds);
    if (!c) return NULL;
    c->resolved = 1;
    c->expiration = origin.expiration;
    if (c->debug) fprintf(stderr, "deploybot aws: credentials from %s\n", origin.source);
    return c;
}

aws_client *aws_client_clone(const aws_client *src, char *err, size_t errlen)
{
    aws_client *c = aws_client_new(src->region, &src->creds, err, errlen);
    if (!c) return NULL;
    c->resolved = src->resolved;
    c->expiration = src->expiration;
    return c;
}

void aws_client_free(aws_client *c)
{
    if (!c) return;
    curl_easy_cleanup(c->curl);
    aws_creds_free(&c->creds);
    free(c->region);
    free(c);
}

const char *aws_client_region(const aws_client *c) { return c->region; }

unsigned long aws_client_request_count(const aws_client *c) { return c->requests; }

/* ---- one HTTP exchange ---- */

typedef struct {
    const char *service, *what;     /* for messages: "ec2", "DescribeVpcs" */
    const char *method;
    const char *url;                /* full URL, with query */
    const char *host;               /* Host header, as signed */
    const char *path, *query;       /* as signed */
    const char *content_type;       /* NULL: no body */
    const char *body;
    size_t body_len;
    const char *signing_region;
    int empty_ok;                   /* an empty 2xx answer is a success */
} request;

typedef struct {
    strbuf body;
    long status;
    long retry_after_ms;            /* -1 when absent */
    char request_id[128];
    int too_big;
} response;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    response *r = ud;
    size_t len = size * n;
    if (r->body.len + len > AWS_MAX_BODY) {
        r->too_big = 1;
        return 0;
    }
    strbuf_put(&r->body, p, len);
    return len;
}

/* Value of header line `line` if it is `name`, trimmed, into out. */
static int header_value(const char *line, size_t len, const char *name,
                        char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') return 0;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    snprintf(out, outlen, "%.*s", (int)(end - v), v);
    return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    response *r = ud;
    size_t len = size * n;
    char v[128];
    if (header_value(p, len, "Retry-After", v, sizeof v)) {
        char *end;
        long s = strtol(v, &end, 10);
        if (end != v && !*end && s >= 0) {
            r->retry_after_ms = s > AWS_MAX_RETRY_AFTER_MS / 1000
                                ? AWS_MAX_RETRY_AFTER_MS : s * 1000;
        } else {
            time_t t = curl_getdate(v, NULL);       /* the HTTP-date form */
            if (t > 0) r->retry_after_ms = (long)(t - time(NULL)) * 1000;
        }
        if (r->retry_after_ms > AWS_MAX_RETRY_AFTER_MS) r->retry_after_ms = AWS_MAX_RETRY_AFTER_MS;
    } else if (header_value(p, len, "x-amzn-RequestId", v, sizeof v) ||
               header_value(p, len, "x-amz-request-id", v, sizeof v)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", v);
    }
    return len;
}

static void amz_now(char out[17])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name,
                                     const char *value)
{
    char *line;
    if (asprintf(&line, "%s: %s", name, value) < 0) abort();
    struct curl_slist *l = curl_slist_append(list, line);
    free(line);
    if (!l) abort();
    return l;
}

/* Signs the request for now and returns the header list to send. */
static struct curl_slist *signed_headers(aws_client *c, const request *rq)
{
    char date[17], auth[1024];
    sigv4_header h[4];
    size_t n = 0;
    amz_now(date);
    h[n++] = (sigv4_header){ "host", rq->host };
    h[n++] = (sigv4_header){ "x-amz-date", date };
    if (rq->content_type) h[n++] = (sigv4_header){ "content-type", rq->content_type };
    if (c->creds.session_token)
        h[n++] = (sigv4_header){ "x-amz-security-token", c->creds.session_token };
    sigv4_request sr = { rq->method, rq->path, rq->query, h, n,
                         (const unsigned char *)rq->body, rq->body_len };
    sigv4_params sp = { c->creds.access_key, c->creds.secret_key,
                        rq->signing_region, rq->service, date };
    if (sigv4_authorization(&sr, &sp, auth, sizeof auth) < 0) return NULL;

    struct curl_slist *list = NULL;
    for (size_t i = 0; i < n; i++) list = add_header(list, h[i].name, h[i].value);
    list = add_header(list, "Authorization", auth);
    struct curl_slist *l = curl_slist_append(list, "Expect:");  /* no 100-continue wait */
    if (!l) abort();
    return l;
}

static void setup_handle(aws_client *c, const request *rq, response *rs,
                         struct curl_slist *hdrs)
{
    CURL *h = c->curl;
    curl_easy_reset(h);                          /* keeps live connections */
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* send the path that was signed */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, AWS_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  /* big Describe* answers */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
    if (rq->body || strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(rq->method, "GET") == 0) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(rq->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
}

/* ---- classifying answers ---- */

enum outcome { DONE, RETRY, FAIL };

static int throttling_code(const char *code)
{
    static const char *const codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException",
        "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException",
        "TooManyRequestsException", "SlowDown", "PriorRequestNotComplete",
        "BandwidthLimitExceeded", "ProvisionedThroughputExceededException",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

/* The Error element of any AWS XML error shape, and the request id. */
static const xml_node *find_error(const xml_node *root, const char **reqid)
{
    *reqid = NULL;
    if (strcmp(root->name, "Response") == 0) {          /* EC2 */
        *reqid = xml_path_text(root, "RequestID");
        return xml_path(root, "Errors/Error");
    }
    if (strcmp(root->name, "ErrorResponse") == 0) {     /* Query, REST-XML */
        *reqid = xml_path_text(root, "RequestId");
        return xml_child(root, "Error");
    }
    if (strcmp(root->name, "Error") == 0) {             /* S3 style */
        *reqid = xml_path_text(root, "RequestId");
        return root;
    }
    return NULL;
}

/* Printable, single-line excerpt of a body that is not an AWS error. */
static void excerpt(const strbuf *b, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; b->s && i < b->len && n + 1 < outlen && i < 160; i++)
        out[n++] = isprint((unsigned char)b->s[i]) ? b->s[i] : ' ';
    out[n] = '\0';
}

/* AWS's words for bad credentials or a wrong clock do not say what to fix. */
static const char *hint(const char *code)
{
    static const char *const creds[] = {
        "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException",
        "SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId",
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

static void parse_error(const request *rq, const response *rs, aws_error *err)
{
    char xerr[128];
    xml_node *root = xml_parse(rs->body.s, rs->body.len, xerr, sizeof xerr);
    const char *reqid = NULL;
    const xml_node *e = root ? find_error(root, &reqid) : NULL;
    const char *code = e ? xml_path_text(e, "Code") : NULL;

    if (code && *code) {
        const char *msg = xml_path_text(e, "Message");
        set_err(err, (int)rs->status, code, "%s%s", msg && *msg ? msg : code, hint(code));
    } else {
        char ex[168], hc[16];
        excerpt(&rs->body, ex, sizeof ex);
        snprintf(hc, sizeof hc, "HTTP%ld", rs->status);
        set_err(err, (int)rs->status, hc, "%s %s answered HTTP %ld without an "
                "AWS error document: %s", rq->service, rq->what, rs->status,
                ex[0] ? ex : "(empty body)");
    }
    snprintf(err->request_id, sizeof err->request_id, "%s",
             reqid && *reqid ? reqid : rs->request_id);
    xml_free(root);
}

static int retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* One attempt. On DONE, *out holds the document (or NULL: empty body). */
static enum outcome attempt(aws_client *c, const request *rq, response *rs,
                            xml_node **out, aws_error *err)
{
    struct curl_slist *hdrs = signed_headers(c, rq);
    if (!hdrs) {
        set_err(err, 0, "SigningError", "cannot sign %s %s: request too large",
                rq->service, rq->what);
        return FAIL;
    }
    c->curl_err[0] = '\0';
    setup_handle(c, rq, rs, hdrs);
    c->requests++;
    CURLcode rc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &rs->status);
    curl_slist_free_all(hdrs);

    if (rc != CURLE_OK) {
        set_err(err, 0, rs->too_big ? "ResponseTooLarge" : "ConnectionError",
                "cannot call %s %s at %s: %s", rq->service, rq->what, rq->url,
                rs->too_big ? "answer larger than 32 MiB"
                            : c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
        return !rs->too_big && retryable_curl(rc) ? RETRY : FAIL;
    }
    if (rs->status >= 300) {
        parse_error(rq, rs, err);
        return rs->status >= 500 || rs->status == 429 ||
               throttling_code(err->code) ? RETRY : FAIL;
    }
    if (rs->body.len == 0 && rq->empty_ok) {
        *out = NULL;
        return DONE;
    }
    char xerr[160];
    *out = xml_parse(rs->body.s, rs->body.len, xerr, sizeof xerr);
    if (!*out) {
        set_err(err, (int)rs->status, "MalformedResponse",
                "%s %s returned a document deploybot cannot read (%s)",
                rq->service, rq->what, xerr);
        snprintf(err->request_id, sizeof err->request_id, "%s", rs->request_id);
        return FAIL;
    }
    return DONE;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(n-1))]. */
static long backoff_ms(aws_client *c, int n)
{
    long ceiling = c->base_ms;
    for (int i = 1; i < n && ceiling < c->cap_ms; i++) ceiling *= 2;
    if (ceiling > c->cap_ms) ceiling = c->cap_ms;
    c->rng ^= c->rng << 13;                      /* xorshift64 */
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return ceiling > 0 ? (long)(c->rng % (uint64_t)(ceiling + 1)) : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0) {}
}

/* Instance-metadata credentials last hours, and the service hands out the
 * next set at least 5 minutes before the current one expires: renew inside
 * that window, but at most once a minute, so a service still serving the old
 * set is not asked before every request. A failed renewal is harmless while
 * the old set works; after that the request cannot be signed. */
static int renew_creds(aws_client *c, aws_error *err)
{
    time_t now = time(NULL);
    if (!c->resolved || !c->expiration || now + AWS_RENEW_WINDOW_S < c->expiration) return 0;
    if (now < c->expiration && now < c->next_refresh) return 0;
    c->next_refresh = now + AWS_RENEW_GAP_S;

    aws_creds fresh;
    aws_creds_origin origin;
    char why[1024];
    if (aws_creds_resolve(&fresh, &origin, why, sizeof why) == 0) {
        aws_creds_free(&c->creds);
        c->creds = fresh;
        c->expiration = origin.expiration;
        if (c->debug) fprintf(stderr, "deploybot aws: credentials renewed from %s\n", origin.source);
        return 0;
    }
    if (c->debug) fprintf(stderr, "deploybot aws: renewing credentials failed: %s\n", why);
    if (now < c->expiration) return 0;
    set_err(err, 0, "ExpiredToken", "the AWS credentials expired and could not be "
            "renewed: %s", why);
    return -1;
}

static int perform(aws_client *c, const request *rq, xml_node **out, aws_error *err)
{
    for (int n = 1;; n++) {
        response rs = { .retry_after_ms = -1 };
        *err = (aws_error){0};
        if (renew_creds(c, err) < 0) return -1;
        enum outcome o = attempt(c, rq, &rs, out, err);
        free(rs.body.s);
        if (o == DONE) {
            if (c->debug)
                fprintf(stderr, "deploybot aws: %s %s -> %ld\n", rq->service, rq->what, rs.status);
            return 0;
        }
        if (o == FAIL || n >= c->max_attempts) {
            if (c->debug)
                fprintf(stderr, "deploybot aws: %s %s -> %d %s (attempt %d/%d, giving up)\n",
                        rq->service, rq->what, err->http_status, err->code, n, c->max_attempts);
            return -1;
        }
        long wait = backoff_ms(c, n);
        if (rs.retry_after_ms > wait) wait = rs.retry_after_ms;
        if (c->debug)
            fprintf(stderr, "deploybot aws: %s %s -> %d %s (attempt %d/%d, retry in %ld ms)\n",
                    rq->service, rq->what, err->http_status, err->code, n, c->max_attempts, wait);
        sleep_ms(wait);
    }
}

/* ---- building requests ---- */

typedef struct {
    char *url, *host, *path, *query;
    const char *signing_region;
} target;

static void target_free(target *t)
{
    curl_free(t->url);                           /* it came from curl_url_get */
    free(t->host);
    free(t->path);
    free(t->query);
}

/* Splits the endpoint into what is sent (URL) and what is signed (Host,
 * path, query). `path` may carry "?query". */
static int resolve(aws_client *c, const char *service, const char *path,
                   target *t, aws_error *err)
{
    char base[1024], *scheme = NULL, *host = NULL, *port = NULL, *prefix = NULL;
    int rc = -1;
    *t = (target){0};
    if (aws_endpoint(service, c->region, base, sizeof base, &t->signing_region) < 0) {
        set_err(err, 0, "InvalidEndpoint", "endpoint URL for %s is too long", service);
        return -1;
    }
    CURLU *u = curl_url();
    if (!u) abort();
    if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &prefix, 0) != CURLUE_OK) {
        set_err(err, 0, "InvalidEndpoint", "cannot parse endpoint URL '%s' for %s "
                "(check AWS_ENDPOINT_URL*)", base, service);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);       /* only when explicit */
    int default_port = port && ((strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
                                (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0));
    if (asprintf(&t->host, "%s%s%s", host, port && !default_port ? ":" : "",
                 port && !default_port ? port : "") < 0) abort();

    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/') plen--;
    const char *q = strchr(path, '?');
    size_t rel = q ? (size_t)(q - path) : strlen(path);
    if (asprintf(&t->path, "%.*s%.*s", (int)plen, prefix, (int)rel, path) < 0) abort();
    t->query = xstrdup(q ? q + 1 : "");
    if (curl_url_set(u, CURLUPART_PATH, t->path, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, *t->query ? t->query : NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &t->url, 0) != CURLUE_OK) {
        set_err(err, 0, "InvalidEndpoint", "cannot build a URL from '%s' and '%s'", base, path);
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(prefix);
    curl_url_cleanup(u);
    if (rc < 0) target_free(t), *t = (target){0};
    return rc;
}

static int cmp_index_by_key(const void *a, const void *b, void *keys)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(((char **)keys)[x], ((char **)keys)[y]);
    return c ? c : (x > y) - (x < y);
}

/* Action=..&Version=..&k=v... with the parameters sorted by name. */
static char *query_body(const char *action, const char *version, const aws_params *p)
{
    strbuf b = {0};
    strbuf_puts(&b, "Action=");
    put_encoded(&b, action);
    strbuf_puts(&b, "&Version=");
    put_encoded(&b, version);
    size_t n = p ? p->n : 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) abort();
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (n) qsort_r(idx, n, sizeof *idx, cmp_index_by_key, p->keys);
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(&b, "&");
        put_encoded(&b, p->keys[idx[i]]);
        strbuf_puts(&b, "=");
        put_encoded(&b, p->values[idx[i]]);
    }
    free(idx);
    return b.s;
}

int aws_query(aws_client *c, const char *service, const char *version,
              const char *action, const aws_params *params, xml_node **out,
              aws_error *err)
{
    aws_error local;
    target t;
    if (!err) err = &local;
    *out = NULL;
    *err = (aws_error){0};
    if (resolve(c, service, "/", &t, err) < 0) return -1;
    char *body = query_body(action, version, params);
    request rq = {
        .service = service, .what = action, .method = "POST", .url = t.url,
        .host = t.host, .path = t.path, .query = t.query,
        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        .body = body, .body_len = strlen(body), .signing_region = t.signing_region,
    };
    int rc = perform(c, &rq, out, err);
    free(body);
    target_free(&t);
    return rc;
}

int aws_rest_xml(aws_client *c, const char *service, const char *method,
                 const char *path, const char *body, xml_node **out,
                 aws_error *err)
{
    aws_error local;
    target t;
    char what[160];
    if (!err) err = &local;
    *out = NULL;
    *err = (aws_error){0};
    if (!path || path[0] != '/') {
        set_err(err, 0, "InvalidRequest", "REST path must start with '/'");
        return -1;
    }
    if (resolve(c, service, path, &t, err) < 0) return -1;
    snprintf(what, sizeof what, "%s %.*s", method, (int)strcspn(path, "?"), path);
    request rq = {
        .service = service, .what = what, .method = method, .url = t.url,
        .host = t.host, .path = t.path, .query = t.query,
        .content_type = body ? "application/xml" : NULL,
        .body = body, .body_len = body ? strlen(body) : 0,
        .signing_region = t.signing_region, .empty_ok = 1,
    };
    int rc = perform(c, &rq, out, err);
    target_free(&t);
    return rc;
}
