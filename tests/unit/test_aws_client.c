/* test_aws_client: the AWS client against a scripted HTTP server on loopback.
 *
 * The server is a thread with a socket on 127.0.0.1 (port 0). It answers each
 * request with the next scripted response, records what it received, and
 * keeps the connection open (so keep-alive is observable). The tests check
 * what goes on the wire (form body, headers, a SigV4 signature recomputed
 * here from the received request), retries and their limits, error parsing,
 * endpoint and region resolution, and that secrets never reach the debug log. */
#include "deploy/aws/aws.h"
#include "deploy/aws/sigv4.h"
#include "deploy/aws/sts.h"
#include "util/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/check.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FQoGZXIvYXdzEXAMPLE//token+with/slashes=="

/* ---- the scripted server ---- */

typedef struct {
    int status;          /* 0: close the connection without answering */
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
} scripted;

typedef struct {
    char method[16], target[1024];
    char *headers; /* "Name: value\r\n"... */
    char *body;
    size_t body_len;
} received;

#define MAX_RX 16

typedef struct {
    int listen_fd, port;
    const scripted *script;
    size_t n_script;
    received rx[MAX_RX];
    size_t n_rx;
    int repeat_last; /* past the script: its last answer again, until the
                                    client hangs up (only the first MAX_RX are kept) */
    int connections;
    pthread_t thread;
} server;

static int wait_readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 10000) == 1;
}

static const char *find_header(const char *headers, const char *name, size_t *len) {
    size_t n = strlen(name);
    for (const char *l = headers; l && *l; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ') v++;
            *len = strcspn(v, "\r");
            return v;
        }
    }
    return NULL;
}

/* Value of a received header, in a static buffer ("" when absent). */
static const char *rx_header(const received *rx, const char *name) {
    static char out[4][8192];
    static int slot;
    size_t len;
    const char *v = find_header(rx->headers, name, &len);
    char *o = out[slot++ % 4];
    snprintf(o, sizeof out[0], "%.*s", v ? (int)len : 0, v ? v : "");
    return o;
}

/* Reads one request; -1 when the peer closed or took too long. */
static int read_request(int fd, received *rx) {
    char *buf = NULL, *end = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap && !(buf = realloc(buf, cap = cap * 2 + 8192))) abort();
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n"))) break;
        if (!wait_readable(fd)) goto fail;
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) goto fail;
        len += (size_t)n;
    }
    if (sscanf(buf, "%15s %1023s", rx->method, rx->target) != 2) goto fail;
    char *hdr = strstr(buf, "\r\n") + 2;
    rx->headers = strndup(hdr, (size_t)(end + 2 - hdr));
    size_t clen = 0, vlen;
    const char *cl = find_header(rx->headers, "Content-Length", &vlen);
    if (cl) clen = strtoul(cl, NULL, 10);
    size_t have = len - (size_t)(end + 4 - buf);
    rx->body = malloc(clen + 1);
    memcpy(rx->body, end + 4, have);
    while (have < clen) {
        if (!wait_readable(fd)) goto fail;
        ssize_t n = recv(fd, rx->body + have, clen - have, 0);
        if (n <= 0) goto fail;
        have += (size_t)n;
    }
    rx->body[clen] = '\0';
    rx->body_len = clen;
    free(buf);
    return 0;
fail:
    free(buf);
    free(rx->headers);
    rx->headers = NULL;
    return -1;
}

static void send_response(int fd, const scripted *s) {
    const char *body = s->body ? s->body : "";
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d Scripted\r\nContent-Type: text/xml\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     s->status, strlen(body), s->headers ? s->headers : "");
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
        send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
        perror("fake server send");
}

/* One client at a time: when the current connection is idle and another
 * client is connecting (a clone, a second client), it is the one served,
 * and the idle one closed (its client reconnects if it calls again). */
static int idle_with_newcomer(const server *s, int fd) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {s->listen_fd, POLLIN, 0}};
    return poll(p, 2, 10000) > 0 && !p[0].revents && p[1].revents;
}

static void *serve(void *arg) {
    server *s = arg;
    int fd = -1;
    while (s->n_rx < s->n_script || s->repeat_last) {
        if (fd >= 0 && idle_with_newcomer(s, fd)) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            if (s->n_rx >= s->n_script) break; /* repeating, and the client left */
            if (!wait_readable(s->listen_fd)) break;
            if ((fd = accept(s->listen_fd, NULL, NULL)) < 0) break;
            s->connections++;
        }
        received extra = {0};
        received *rx = s->n_rx < MAX_RX ? &s->rx[s->n_rx] : &extra;
        if (read_request(fd, rx) < 0) { /* client hung up: reconnects */
            close(fd);
            fd = -1;
            continue;
        }
        const scripted *sc = &s->script[s->n_rx < s->n_script ? s->n_rx : s->n_script - 1];
        s->n_rx++;
        free(extra.headers);
        free(extra.body);
        if (sc->status == 0) {
            close(fd);
            fd = -1;
        } else {
            send_response(fd, sc);
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int listen_loopback(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("fake server");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(server *s, const scripted *script, size_t n) {
    memset(s, 0, sizeof *s);
    s->script = script;
    s->n_script = n;
    s->listen_fd = listen_loopback(&s->port);
    pthread_create(&s->thread, NULL, serve, s);
}

/* Waits for the script to be played out; what was received stays readable. */
static void server_stop(server *s) {
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static void server_free(server *s) {
    for (size_t i = 0; i < s->n_rx && i < MAX_RX; i++) free(s->rx[i].headers), free(s->rx[i].body);
}

/* A port nothing listens on. */
static int dead_port(void) {
    int port, fd = listen_loopback(&port);
    close(fd);
    return port;
}

static void set_endpoint(const char *var, int port, const char *suffix) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, suffix ? suffix : "");
    setenv(var, url, 1);
}

/* ---- checking the signature on a received request ---- */

/* Recomputes the Authorization header from what arrived, with the secret
 * the client was given, and compares. Also returns the scope's region and
 * service so tests can check which ones were used. */
static int signature_ok(const received *rx, char region[32], char service[32]) {
    char akid[64], date[9], signed_[256], sig[65], auth[1024];
    snprintf(auth, sizeof auth, "%s", rx_header(rx, "Authorization"));
    if (sscanf(auth,
               "AWS4-HMAC-SHA256 Credential=%63[^/]/%8[0-9]/%31[^/]/%31[^/]/aws4_request, "
               "SignedHeaders=%255[^,], Signature=%64[0-9a-f]",
               akid, date, region, service, signed_, sig) != 6)
        return 0;

    sigv4_header h[8];
    static char names[8][64], values[8][8192];
    size_t n = 0;
    for (char *tok = strtok(signed_, ";"); tok && n < 8; tok = strtok(NULL, ";"), n++) {
        snprintf(names[n], sizeof names[n], "%s", tok);
        snprintf(values[n], sizeof values[n], "%s", rx_header(rx, tok));
        h[n] = (sigv4_header){names[n], values[n]};
    }
    char path[1024];
    snprintf(path, sizeof path, "%s", rx->target);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    char amz_date[32];
    snprintf(amz_date, sizeof amz_date, "%s", rx_header(rx, "x-amz-date"));
    sigv4_request r = {rx->method, path, q ? q : "", h, n,
                       (const unsigned char *)rx->body, rx->body_len};
    sigv4_params p = {AKID, SECRET, region, service, amz_date};
    char want[1024];
    return sigv4_authorization(&r, &p, want, sizeof want) == 0 && strcmp(want, auth) == 0;
}

/* ---- fixtures ---- */

static const char ec2_throttled[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
    "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    "</Error></Errors><RequestID>r-throttle</RequestID></Response>";

static const char ec2_not_found[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
    "<Code>InvalidVpcID.NotFound</Code><Message>The vpc ID 'vpc-12345678' does not exist</Message>"
    "</Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>";

static const char describe_vpcs[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId><vpcSet><item>"
    "<vpcId>vpc-1a2b3c4d</vpcId><state>available</state></item></vpcSet>"
    "</DescribeVpcsResponse>";

/* The options every client() of a test is made with. */
static aws_options options;

static void clean_env(void) {
    static const char *vars[] = {
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_ROUTE53",
        "AWS_ENDPOINT_URL_ELASTICLOADBALANCING",
        "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_STS",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    options = (aws_options){.retry_base_ms = 1}; /* keep retries fast */
    setenv("no_proxy", "127.0.0.1", 1);          /* loopback, whatever the CI's proxy */
}

static aws_client *client(const char *region, const char *token) {
    aws_creds creds = {(char *)AKID, (char *)SECRET, (char *)token};
    errinfo err;
    aws_client *c = aws_client_new(region, &creds, &options, &err);
    if (!c) fprintf(stderr, "aws_client_new: %s\n", err.msg);
    return c;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

/* 503 RequestLimitExceeded twice, then 200: three signed requests on one
 * connection, the service-specific endpoint winning over the generic one. */
static void test_retries_throttling_then_succeeds(void) {
    static const scripted script[] = {
        {503, NULL, ec2_throttled},
        {503, NULL, ec2_throttled},
        {200, NULL, describe_vpcs},
    };
    server s;
    clean_env();
    server_start(&s, script, 3);
    set_endpoint("AWS_ENDPOINT_URL_EC2", s.port, NULL);
    set_endpoint("AWS_ENDPOINT_URL", dead_port(), NULL);

    aws_client *c = client("eu-west-1", TOKEN);
    aws_params p = {0};
    aws_params_add(&p, "Filter.1.Value.1", "prd a&b=c/d~");
    aws_params_add(&p, "Filter.1.Name", "tag:deploybot:stack");
    aws_params_addf(&p, "MaxResults", "%d", 5);
    xml_node *out = NULL;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &p, &out, &err);
    server_stop(&s);

    CHECK(rc == 0);
    CHECK(out && strcmp(out->name, "DescribeVpcsResponse") == 0);
    CHECK_STR(xml_path_text(out, "vpcSet/item/vpcId"), "vpc-1a2b3c4d");
    CHECK(aws_client_request_count(c) == 3);
    CHECK(s.n_rx == 3);
    CHECK(s.connections == 1); /* keep-alive */
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", s.port);
    for (size_t i = 0; i < s.n_rx; i++) {
        const received *rx = &s.rx[i];
        char region[32] = "", service[32] = "";
        CHECK(signature_ok(rx, region, service));
        CHECK_STR(region, "eu-west-1");
        CHECK_STR(service, "ec2");
        CHECK_STR(rx->method, "POST");
        CHECK_STR(rx->target, "/");
        CHECK_STR(rx_header(rx, "Host"), host);
        CHECK_STR(rx_header(rx, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
        CHECK_STR(rx_header(rx, "X-Amz-Security-Token"), TOKEN);
        CHECK(strstr(rx_header(rx, "Authorization"),
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,") != NULL);
        CHECK_STR(rx->body,
                  "Action=DescribeVpcs&Version=2016-11-15"
                  "&Filter.1.Name=tag%3Adeploybot%3Astack"
                  "&Filter.1.Value.1=prd%20a%26b%3Dc%2Fd~&MaxResults=5");
    }
    xml_free(out);
    aws_params_free(&p);
    server_free(&s);
    aws_client_free(c);
}

static void test_client_error_is_parsed_not_retried(void) {
    static const scripted script[] = {
        {400, "x-amzn-RequestId: header-id\r\n", ec2_not_found},
    };
    server s;
    clean_env();
    server_start(&s, script, 1);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);

    aws_client *c = client("us-west-2", NULL);
    xml_node *out = (xml_node *)&out; /* must be reset to NULL */
    errinfo err;
    aws_params p = {0};
    aws_params_add(&p, "VpcId.1", "vpc-12345678");
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &p, &out, &err);
    server_stop(&s);

    CHECK(rc == -1);
    CHECK(out == NULL);
    CHECK(err.status == 400);
    CHECK_STR(err.remote, "InvalidVpcID.NotFound");
    CHECK_STR(err.msg,
              "The vpc ID 'vpc-12345678' does not exist"
              " (request id ea966190-f9aa-478e-9ede-example)");
    CHECK(aws_client_request_count(c) == 1);
    CHECK(s.n_rx == 1 && !strstr(rx_header(&s.rx[0], "Authorization"), "x-amz-security-token"));
    CHECK(s.n_rx == 1 && rx_header(&s.rx[0], "X-Amz-Security-Token")[0] == '\0');
    aws_params_free(&p);
    server_free(&s);
    aws_client_free(c);
}

/* Credential errors say what to check. */
static void test_auth_failure_hint(void) {
    static const scripted script[] = {
        {401, NULL,
         "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to "
         "validate the provided access credentials</Message></Error></Errors>"
         "<RequestID>r-auth</RequestID></Response>"},
    };
    server s;
    clean_env();
    server_start(&s, script, 1);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("us-east-1", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    server_stop(&s);
    CHECK(rc == -1 && err.status == 401);
    CHECK_STR(err.remote, "AuthFailure");
    CHECK(strstr(err.msg, "not able to validate") && strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
    CHECK(!strstr(err.msg, SECRET));
    CHECK(s.n_rx == 1);
    server_free(&s);
    aws_client_free(c);
}

/* ELBv2 speaks the ErrorResponse shape; Throttling at HTTP 400 is retried. */
static void test_query_error_shape_and_throttling_code(void) {
    static const scripted script[] = {
        {400, NULL,
         "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">"
         "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
         "</Error><RequestId>r-1</RequestId></ErrorResponse>"},
        {400, NULL,
         "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\n"
         "  <Error>\n    <Type>Sender</Type>\n    <Code>LoadBalancerNotFound</Code>\n"
         "    <Message>One or more load balancers not found</Message>\n  </Error>\n"
         "  <RequestId>r-2</RequestId>\n</ErrorResponse>\n"},
    };
    server s;
    clean_env();
    server_start(&s, script, 2);
    set_endpoint("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.port, NULL);

    aws_client *c = client("ap-northeast-1", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "elasticloadbalancing", "2015-12-01", "DescribeLoadBalancers",
                       NULL, &out, &err);
    server_stop(&s);

    CHECK(rc == -1);
    CHECK_STR(err.remote, "LoadBalancerNotFound");
    CHECK_STR(err.msg, "One or more load balancers not found (request id r-2)");
    CHECK(s.n_rx == 2);
    char region[32] = "", service[32] = "";
    CHECK(s.n_rx == 2 && signature_ok(&s.rx[1], region, service));
    CHECK_STR(service, "elasticloadbalancing");
    CHECK_STR(s.rx[0].body, "Action=DescribeLoadBalancers&Version=2015-12-01");
    server_free(&s);
    aws_client_free(c);
}

/* Every error document shape gives AWS's code, message and request id: EC2's,
 * the Query services', a bare Error, and ErrorResponse/Errors/Error as an
 * independent implementation answered (REST-XML too). */
static void test_error_shapes(void) {
    static const scripted script[] = {
        {400, NULL,
         "<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>The subnet "
         "ID 'subnet-1' does not exist</Message></Error></Errors><RequestID>r-ec2</RequestID>"
         "</Response>"},
        {400, NULL,
         "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>"
         "Sender</Type><Code>NoSuchEntity</Code><Message>Role r not found</Message></Error>"
         "<RequestId>r-query</RequestId></ErrorResponse>"},
        {403, NULL,
         "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Errors><Error>"
         "<Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message>"
         "</Error></Errors><RequestId>r-errors</RequestId></ErrorResponse>"},
        {404, NULL,
         "<Error><Code>NoSuchHostedZone</Code><Message>No hosted zone found with ID: Z1"
         "</Message><RequestId>r-bare</RequestId></Error>"},
        {400, NULL,
         "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Errors>"
         "<Error><Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>bad batch"
         "</Message></Error></Errors><RequestId>r-rest</RequestId></ErrorResponse>"},
    };
    static const struct {
        const char *code, *msg;
        int status;
    } want[] = {
        {"InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist (request id r-ec2)", 400},
        {"NoSuchEntity", "Role r not found (request id r-query)", 400},
        {"AccessDenied", "not authorized (request id r-errors)", 403},
        {"NoSuchHostedZone", "No hosted zone found with ID: Z1 (request id r-bare)", 404},
        {"InvalidChangeBatch", "bad batch (request id r-rest)", 400},
    };
    server s;
    clean_env();
    server_start(&s, script, 5);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("eu-west-1", NULL);
    for (size_t i = 0; i < 5; i++) {
        xml_node *out;
        errinfo err;
        int rc = i < 4 ? aws_query(c, "ec2", "2016-11-15", "DescribeSubnets", NULL, &out, &err)
                       : aws_rest_xml(c, "route53", "POST", "/2013-04-01/hostedzone/Z1/rrset", "<x/>",
                                      &out, &err);
        CHECK(rc == -1 && err.code == ERR_REMOTE && err.status == want[i].status);
        CHECK_STR(err.remote, want[i].code);
        CHECK_STR(err.msg, want[i].msg);
    }
    server_stop(&s);
    CHECK(s.n_rx == 5);
    server_free(&s);
    aws_client_free(c);
}

/* A NotFound naming what the client (or a clone) created is retried, beyond
 * max_attempts, until consistency_timeout_s; one naming anything else is an
 * answer at once. */
static void test_eventual_consistency(void) {
    static const scripted script[] = {
        {400, NULL, ec2_not_found}, {400, NULL, ec2_not_found}, {400, NULL, ec2_not_found}, {200, NULL, describe_vpcs}, {400, NULL, ec2_not_found}, /* and again, and again */
    };
    server s;
    clean_env();
    options.max_attempts = 2;
    options.retry_base_ms = 50;
    options.consistency_timeout_s = 1;
    server_start(&s, script, 5);
    s.repeat_last = 1;
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("eu-west-1", NULL);
    errinfo err;
    aws_client *clone = aws_client_clone(c, &err);
    aws_client_created(clone, "vpc-12345678");
    aws_params fresh = {0}, old = {0};
    aws_params_add(&fresh, "VpcId.1", "vpc-12345678");
    aws_params_add(&old, "VpcId.1", "vpc-87654321");
    xml_node *out;

    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &fresh, &out, &err) == 0);
    CHECK(out && aws_client_request_count(c) == 4);
    xml_free(out);
    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &old, &out, &err) == -1);
    CHECK_STR(err.remote, "InvalidVpcID.NotFound");
    CHECK(aws_client_request_count(c) == 5);

    double t0 = now_s(); /* still not there after the timeout: AWS's answer */
    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &fresh, &out, &err) == -1);
    double took = now_s() - t0;
    CHECK_STR(err.remote, "InvalidVpcID.NotFound");
    CHECK(took >= 1.0 && took < 6.0);
    CHECK(aws_client_request_count(c) > 7);
    aws_params_free(&fresh);
    aws_params_free(&old);
    aws_client_free(clone);
    aws_client_free(c);
    server_stop(&s);
    server_free(&s);
}

/* A role: AssumeRole (Query, STS endpoint, the base key pair, the session
 * name and external id), then every request (a clone's too) signed with the
 * session's keys and token; the session comes from the cache once. */
static void test_assume_role(void) {
    char assumed[1024];
    time_t exp = time(NULL) + 3600;
    struct tm tm;
    char when[32];
    gmtime_r(&exp, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(assumed, sizeof assumed,
             "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
             "<Credentials><AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId><SecretAccessKey>tmpsecret"
             "</SecretAccessKey><SessionToken>tmp/token+1</SessionToken><Expiration>%s</Expiration>"
             "</Credentials><AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/deploy/"
             "deploybot-dev</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>",
             when);
    scripted script[] = {
        {200, NULL, assumed},
        {200, NULL, describe_vpcs},
        {200, NULL, describe_vpcs},
        {403, NULL,
         "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
         "arn:aws:iam::123456789012:user/deploybot is not authorized to perform: "
         "sts:AssumeRole on resource: arn:aws:iam::210987654321:role/deploy</Message></Error>"
         "<RequestId>r-sts</RequestId></ErrorResponse>"},
    };
    server s;
    clean_env();
    server_start(&s, script, 4);
    set_endpoint("AWS_ENDPOINT_URL_STS", s.port, NULL);
    set_endpoint("AWS_ENDPOINT_URL_EC2", s.port, NULL);
    aws_sessions *cache = aws_sessions_new();
    aws_client *c = client("eu-central-1", NULL);
    errinfo err;
    aws_role role = {"arn:aws:iam::210987654321:role/deploy", "ext-1", "deploybot-dev"};
    CHECK(aws_client_assume_role(c, &role, cache, &err) == 0);
    aws_client *clone = aws_client_clone(c, &err);
    xml_node *out = NULL;
    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err) == 0);
    xml_free(out);
    CHECK(aws_query(clone, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err) == 0);
    xml_free(out);
    aws_client *other = client("eu-central-1", NULL); /* same cache: no AssumeRole */
    role.external_id = "wrong";
    CHECK(aws_client_assume_role(other, &role, cache, &err) == -1);
    CHECK_STR(err.remote, "AccessDenied");
    CHECK(strstr(err.msg, "assuming role arn:aws:iam::210987654321:role/deploy: AccessDenied: User: ") == err.msg);
    server_stop(&s);

    char region[32] = "", service[32] = "";
    CHECK(s.n_rx == 4 && signature_ok(&s.rx[0], region, service));
    CHECK_STR(service, "sts");
    CHECK_STR(region, "eu-central-1");
    CHECK_STR(s.rx[0].body,
              "Action=AssumeRole&Version=2011-06-15&DurationSeconds=3600&ExternalId=ext-1"
              "&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fdeploy"
              "&RoleSessionName=deploybot-dev");
    for (size_t i = 1; i < 3 && s.n_rx == 4; i++) {
        CHECK(strstr(rx_header(&s.rx[i], "Authorization"), "Credential=ASIAEXAMPLE000000001/"));
        CHECK(strstr(rx_header(&s.rx[i], "Authorization"), "x-amz-security-token"));
        CHECK_STR(rx_header(&s.rx[i], "X-Amz-Security-Token"), "tmp/token+1");
    }
    CHECK(s.n_rx == 4 && strstr(s.rx[3].body, "ExternalId=wrong"));
    server_free(&s);
    aws_client_free(other);
    aws_client_free(clone);
    aws_client_free(c);
    aws_sessions_free(cache);
}

/* 5xx until the attempts run out; the last error is reported. */
static void test_gives_up_after_max_attempts(void) {
    static const scripted script[] = {
        {500, NULL,
         "<Response><Errors><Error><Code>InternalError</Code><Message>An internal "
         "error has occurred</Message></Error></Errors><RequestID>x</RequestID></Response>"},
        {502, NULL, "<html><body>Bad Gateway</body></html>"},
        {503, NULL, "<html><body>\n\tService Unavailable</body></html>"},
    };
    server s;
    clean_env();
    options.max_attempts = 3;
    server_start(&s, script, 3);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);

    aws_client *c = client("eu-central-1", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "RunInstances", NULL, &out, &err);
    server_stop(&s);

    CHECK(rc == -1);
    CHECK(s.n_rx == 3);
    CHECK(aws_client_request_count(c) == 3);
    CHECK(err.status == 503);
    CHECK_STR(err.remote, "HTTP503");
    CHECK(strstr(err.msg, "RunInstances") && strstr(err.msg, "Service Unavailable"));
    CHECK(!strchr(err.msg, '\n') && !strchr(err.msg, '\t'));
    server_free(&s);
    aws_client_free(c);
}

static void test_connection_errors(void) {
    clean_env();
    options.max_attempts = 4;
    set_endpoint("AWS_ENDPOINT_URL", dead_port(), NULL);
    aws_client *c = client("us-east-1", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    CHECK(rc == -1);
    CHECK(err.status == 0);
    CHECK_STR(err.remote, "ConnectionError");
    CHECK(strstr(err.msg, "http://127.0.0.1:") != NULL);
    CHECK(aws_client_request_count(c) == 4);
    aws_client_free(c);

    /* A dropped connection is retried on a new one. */
    static const scripted script[] = {{0, NULL, NULL}, {200, NULL, describe_vpcs}};
    server s;
    clean_env();
    server_start(&s, script, 2);
    set_endpoint("AWS_ENDPOINT_URL_EC2", s.port, "/");
    c = client("us-east-1", NULL);
    rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    server_stop(&s);
    CHECK(rc == 0 && out != NULL);
    CHECK(s.connections == 2);
    CHECK(aws_client_request_count(c) == 2);
    xml_free(out);
    server_free(&s);
    aws_client_free(c);
}

static void test_retry_after_is_honoured(void) {
    static const scripted script[] = {
        {503, "Retry-After: 1\r\n", ec2_throttled},
        {200, NULL, describe_vpcs},
    };
    server s;
    clean_env();
    server_start(&s, script, 2);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("us-east-1", NULL);
    xml_node *out;
    errinfo err;
    double t0 = now_s();
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    double elapsed = now_s() - t0;
    server_stop(&s);
    CHECK(rc == 0);
    CHECK(elapsed >= 0.95);
    CHECK(elapsed < 5);
    xml_free(out);
    server_free(&s);
    aws_client_free(c);
}

static void test_malformed_success_is_an_error(void) {
    static const scripted script[] = {{200, NULL, "<DescribeVpcsResponse><vpcSet>"}};
    server s;
    clean_env();
    server_start(&s, script, 1);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("us-east-1", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    server_stop(&s);
    CHECK(rc == -1 && out == NULL);
    CHECK_STR(err.remote, "MalformedResponse");
    CHECK(strstr(err.msg, "xml line 1") != NULL);
    CHECK(s.n_rx == 1);
    server_free(&s);
    aws_client_free(c);
}

/* IAM is global: signed for us-east-1 whatever the client's region. */
static void test_global_service_signing_region(void) {
    static const scripted script[] = {
        {200, NULL,
         "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
         "<ListUsersResult><Users/><IsTruncated>false</IsTruncated></ListUsersResult>"
         "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListUsersResponse>"},
    };
    server s;
    clean_env();
    server_start(&s, script, 1);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    aws_client *c = client("eu-west-3", NULL);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "iam", "2010-05-08", "ListUsers", NULL, &out, &err);
    server_stop(&s);
    CHECK(rc == 0);
    CHECK_STR(xml_path_text(out, "ListUsersResult/IsTruncated"), "false");
    char region[32] = "", service[32] = "";
    CHECK(s.n_rx == 1 && signature_ok(&s.rx[0], region, service));
    CHECK_STR(region, "us-east-1");
    CHECK_STR(service, "iam");
    xml_free(out);
    server_free(&s);
    aws_client_free(c);
}

/* One action per operation, whatever the ids in the path; a throttle
 * counted with its retry, a refusal as an error. */
static void check_rest_metrics(metrics *m) {
    strbuf b = {0};
    metrics_render(m, &b);
    CHECK_CONTAINS(b.s, "deploybot_aws_calls_total{service=\"route53\",action=\"GET /2013-04-01/hostedzone/{id}/rrset\",outcome=\"ok\"} 1\n");
    CHECK_CONTAINS(b.s, "deploybot_aws_calls_total{service=\"route53\",action=\"POST /2013-04-01/hostedzone/{id}/rrset/\",outcome=\"ok\"} 1\n");
    CHECK_CONTAINS(b.s, "deploybot_aws_calls_total{service=\"route53\",action=\"DELETE /2013-04-01/healthcheck/{id}\",outcome=\"ok\"} 1\n");
    CHECK_CONTAINS(b.s, "deploybot_aws_calls_total{service=\"route53\",action=\"GET /2013-04-01/hostedzone/{id}\",outcome=\"error\"} 1\n");
    CHECK_CONTAINS(b.s, "deploybot_aws_throttles_total{service=\"route53\",action=\"POST /2013-04-01/hostedzone/{id}/rrset/\"} 1\n");
    CHECK_CONTAINS(b.s, "deploybot_aws_retries_total{service=\"route53\",action=\"POST /2013-04-01/hostedzone/{id}/rrset/\"} 1\n");
    CHECK(!strstr(b.s, "Z1D633PJN98FT9") && !strstr(b.s, "retries_total{service=\"route53\",action=\"GET"));
    strbuf_free(&b);
}

static void test_rest_xml(void) {
    static const char change[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
        "<ChangeBatch><Changes><Change><Action>UPSERT</Action></Change></Changes></ChangeBatch>"
        "</ChangeResourceRecordSetsRequest>";
    static const scripted script[] = {
        {200, NULL,
         "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
         "<ResourceRecordSets/><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>"
         "</ListResourceRecordSetsResponse>"},
        {400, NULL,
         "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
         "<Error><Type>Sender</Type><Code>PriorRequestNotComplete</Code>"
         "<Message>The request was rejected because Route 53 was still processing a prior request.</Message>"
         "</Error><RequestId>r</RequestId></ErrorResponse>"},
        {200, NULL,
         "<ChangeResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
         "<ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status></ChangeInfo>"
         "</ChangeResourceRecordSetsResponse>"},
        {204, NULL, NULL},
        {404, NULL,
         "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code>"
         "<Message>No hosted zone found with ID: Z9</Message></Error><RequestId>r9</RequestId></ErrorResponse>"},
    };
    server s;
    clean_env();
    options.metrics = metrics_new();
    server_start(&s, script, 5);
    set_endpoint("AWS_ENDPOINT_URL_ROUTE53", s.port, "/fake/");
    aws_client *c = client("eu-west-1", TOKEN);
    xml_node *out;
    errinfo err;

    int rc = aws_rest_xml(c, "route53", "GET",
                          "/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset?name=dify.example.com.&type=A",
                          NULL, &out, &err);
    CHECK(rc == 0);
    CHECK_STR(xml_path_text(out, "MaxItems"), "100");
    xml_free(out);

    rc = aws_rest_xml(c, "route53", "POST", "/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset/",
                      change, &out, &err);
    CHECK(rc == 0);
    CHECK_STR(xml_path_text(out, "ChangeInfo/Status"), "PENDING");
    xml_free(out);

    out = (xml_node *)&out;
    rc = aws_rest_xml(c, "route53", "DELETE", "/2013-04-01/healthcheck/abc", NULL, &out, &err);
    CHECK(rc == 0 && out == NULL);

    rc = aws_rest_xml(c, "route53", "GET", "/2013-04-01/hostedzone/Z9", NULL, &out, &err);
    CHECK(rc == -1 && err.status == 404);
    CHECK_STR(err.remote, "NoSuchHostedZone");
    CHECK(aws_rest_xml(c, "route53", "GET", "no-slash", NULL, &out, &err) == -1);
    server_stop(&s);

    CHECK(s.n_rx == 5);
    if (s.n_rx == 5) {
        CHECK_STR(s.rx[0].method, "GET");
        CHECK_STR(s.rx[0].target, "/fake/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset?name=dify.example.com.&type=A");
        CHECK_STR(s.rx[0].body, "");
        CHECK_STR(rx_header(&s.rx[0], "Content-Type"), "");
        CHECK_STR(s.rx[2].method, "POST");
        CHECK_STR(s.rx[2].body, change);
        CHECK_STR(rx_header(&s.rx[2], "Content-Type"), "application/xml");
        CHECK_STR(s.rx[3].method, "DELETE");
        for (size_t i = 0; i < s.n_rx; i++) {
            char region[32] = "", service[32] = "";
            CHECK(signature_ok(&s.rx[i], region, service));
            CHECK_STR(region, "us-east-1");
            CHECK_STR(service, "route53");
        }
    }
    server_free(&s);
    aws_client_free(c);
    check_rest_metrics(options.metrics);
    metrics_free(options.metrics);
    options.metrics = NULL;
}

static void test_endpoint_resolution(void) {
    char url[256];
    const char *region;
    clean_env();
    CHECK(aws_endpoint("ec2", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "https://ec2.eu-west-1.amazonaws.com");
    CHECK_STR(region, "eu-west-1");
    CHECK(aws_endpoint("elasticloadbalancing", "ap-south-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "https://elasticloadbalancing.ap-south-1.amazonaws.com");
    CHECK(aws_endpoint("iam", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "https://iam.amazonaws.com");
    CHECK_STR(region, "us-east-1");
    CHECK(aws_endpoint("route53", "sa-east-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "https://route53.amazonaws.com");
    CHECK_STR(region, "us-east-1");
    CHECK(aws_endpoint("ec2", "eu-west-1", url, 10, &region) == -1);

    setenv("AWS_ENDPOINT_URL", "http://localhost:4566/", 1);
    CHECK(aws_endpoint("ec2", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "http://localhost:4566");
    setenv("AWS_ENDPOINT_URL_EC2", "http://ec2.local", 1);
    CHECK(aws_endpoint("ec2", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "http://ec2.local");
    setenv("AWS_ENDPOINT_URL_ELASTICLOADBALANCING", "http://elb.local", 1);
    CHECK(aws_endpoint("elasticloadbalancing", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "http://elb.local");
    CHECK(aws_endpoint("iam", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "http://localhost:4566");
    CHECK_STR(region, "us-east-1");
    setenv("AWS_ENDPOINT_URL_EC2", "", 1); /* empty means unset */
    CHECK(aws_endpoint("ec2", "eu-west-1", url, sizeof url, &region) == 0);
    CHECK_STR(url, "http://localhost:4566");
    clean_env();
}

static void test_credentials_and_region(void) {
    aws_creds cr;
    errinfo err;
    clean_env();
    CHECK(aws_creds_from_env(&cr, &err) == -1);
    CHECK(strstr(err.msg, "AWS_ACCESS_KEY_ID") && strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
    CHECK(aws_client_new("us-east-1", NULL, NULL, &err) == NULL);

    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", "", 1);
    CHECK(aws_creds_from_env(&cr, &err) == 0);
    CHECK_STR(cr.access_key, AKID);
    CHECK_STR(cr.secret_key, SECRET);
    CHECK(cr.session_token == NULL);
    aws_creds_free(&cr);
    setenv("AWS_SESSION_TOKEN", TOKEN, 1);
    CHECK(aws_creds_from_env(&cr, &err) == 0);
    CHECK_STR(cr.session_token, TOKEN);
    aws_creds_free(&cr);
    aws_creds_free(NULL);

    CHECK(aws_client_new(NULL, NULL, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "AWS_REGION") != NULL);
    CHECK(aws_client_new("us-east-1/../x", NULL, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "invalid AWS region") != NULL);
    setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
    aws_client *c = aws_client_new(NULL, NULL, NULL, &err);
    CHECK(c && strcmp(aws_client_region(c), "ca-central-1") == 0);
    aws_client_free(c);
    setenv("AWS_REGION", "eu-north-1", 1);
    c = aws_client_new(NULL, NULL, NULL, &err);
    CHECK(c && strcmp(aws_client_region(c), "eu-north-1") == 0);
    aws_client_free(c);
    c = aws_client_new("us-west-1", NULL, NULL, &err);
    CHECK(c && strcmp(aws_client_region(c), "us-west-1") == 0);
    CHECK(aws_client_request_count(c) == 0);
    aws_client_free(c);
    aws_client_free(NULL);
    clean_env();
}

/* The debug log says what happened and nothing secret. */
static void test_debug_log_has_no_secrets(void) {
    static const scripted script[] = {{503, NULL, ec2_throttled}, {200, NULL, describe_vpcs}};
    server s;
    clean_env();
    options.debug = 1;
    server_start(&s, script, 2);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);

    FILE *log = tmpfile();
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fileno(log), STDERR_FILENO);
    aws_client *c = client("us-east-1", TOKEN);
    xml_node *out;
    errinfo err;
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    server_stop(&s);

    char text[4096] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    CHECK(rc == 0);
    CHECK(strstr(text, "RequestLimitExceeded") && strstr(text, "DescribeVpcs"));
    CHECK(!strstr(text, SECRET) && !strstr(text, TOKEN) && !strstr(text, "Signature="));
    xml_free(out);
    server_free(&s);
    aws_client_free(c);
    clean_env();
}

/* A big form body and a long session token go out whole, without an
 * Expect header, and still sign correctly. */
static void test_large_request(void) {
    static const scripted script[] = {{200, NULL, describe_vpcs}};
    server s;
    clean_env();
    server_start(&s, script, 1);
    set_endpoint("AWS_ENDPOINT_URL", s.port, NULL);
    char *token = malloc(6001);
    for (int i = 0; i < 6000; i++) token[i] = "AbC+/="[i % 6];
    token[6000] = '\0';
    aws_client *c = client("us-east-1", token);
    aws_params p = {0};
    for (int i = 1; i <= 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "Filter.%d.Name", i);
        aws_params_addf(&p, key, "tag:deploybot:id-%d", i);
    }
    xml_node *out;
    errinfo err;
    double t0 = now_s();
    int rc = aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", &p, &out, &err);
    double elapsed = now_s() - t0;
    server_stop(&s);
    CHECK(rc == 0);
    CHECK(elapsed < 0.9);
    CHECK(s.n_rx == 1 && rx_header(&s.rx[0], "Expect")[0] == '\0');
    CHECK(s.n_rx == 1 && s.rx[0].body_len > 4000);
    CHECK(s.n_rx == 1 && strstr(s.rx[0].body, "&Filter.200.Name=tag%3Adeploybot%3Aid-200") != NULL);
    char region[32] = "", service[32] = "";
    CHECK(s.n_rx == 1 && signature_ok(&s.rx[0], region, service));
    xml_free(out);
    aws_params_free(&p);
    server_free(&s);
    aws_client_free(c);
    free(token);
}

static void test_params(void) {
    aws_params p = {0};
    for (int i = 0; i < 40; i++) aws_params_addf(&p, "Key", "v%d", i);
    aws_params_add(&p, "Empty", NULL);
    CHECK(p.n == 41);
    CHECK_STR(p.values[39], "v39");
    CHECK_STR(p.values[40], "");
    aws_params_free(&p);
    CHECK(p.n == 0 && p.keys == NULL);
    aws_params_free(&p);
}

int main(void) {
    test_params();
    test_endpoint_resolution();
    test_credentials_and_region();
    test_retries_throttling_then_succeeds();
    test_client_error_is_parsed_not_retried();
    test_auth_failure_hint();
    test_query_error_shape_and_throttling_code();
    test_error_shapes();
    test_eventual_consistency();
    test_assume_role();
    test_gives_up_after_max_attempts();
    test_connection_errors();
    test_retry_after_is_honoured();
    test_malformed_success_is_an_error();
    test_global_service_signing_region();
    test_rest_xml();
    test_debug_log_has_no_secrets();
    test_large_request();
    return CHECK_DONE();
}
