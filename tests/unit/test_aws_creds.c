/* test_aws_creds: the credential chain — shared files parsed from temp
 * files, the order env -> profile -> instance metadata, and IMDSv2 against a
 * small metadata server thread on 127.0.0.1 (which also answers one EC2 call,
 * to see renewed credentials reach the signature).
 *
 * HOME points at a temp dir, so ~/.aws is the test's own, and
 * AWS_EC2_METADATA_DISABLED=true unless a test points the metadata endpoint
 * at its loopback server: nothing here ever talks to 169.254.169.254. */
#include "deploy/aws/aws.h"
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[256];

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static const char *tmp_path(const char *name) {
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmp, name);
    return p;
}

static void clean_env(void) {
    static const char *vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2",
        "DEPLOYBOT_AWS_DEBUG",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    setenv("HOME", tmp, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("no_proxy", "127.0.0.1", 1);
}

/* ---- the shared files ---- */

static const char *CREDENTIALS =
    "# a comment\n"
    "; another\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key = secret/default+key\n"
    "\n"
    "[ dev ]\n"
    "aws_access_key_id=AKIDDEV\n"
    "  aws_secret_access_key   =   secret-dev   \n"
    "aws_session_token = token-dev==\n"
    "s3 =\n"
    "  aws_access_key_id = NESTED-NOT-A-KEY\n"
    "[profile prd]\n" /* the config file's syntax: not [prd] here */
    "aws_access_key_id = WRONG\n"
    "aws_secret_access_key = WRONG\n"
    "[half]\n"
    "aws_access_key_id = AKIDHALF\n";

static const char *CONFIG =
    "[default]\n"
    "region = eu-west-1\n"
    "[profile dev]\n"
    "region = eu-central-1\n"
    "[ops]\n" /* the credentials file's syntax: ignored here */
    "region = us-west-2\n"
    "[profile  ops]\n"
    "aws_access_key_id = AKIDOPS\n"
    "aws_secret_access_key = secret-ops\n"
    "[profile sso]\n"
    "sso_start_url = https://example.awsapps.com/start\n"
    "[profile regiononly]\n"
    "region = ap-south-1\n";

static void test_profile_file(void) {
    aws_creds c;
    errinfo err;
    clean_env();
    write_file("creds", CREDENTIALS);
    CHECK(aws_creds_from_profile(&c, tmp_path("creds"), "default", &err) == 0);
    CHECK_STR(c.access_key, "AKIDDEFAULT");
    CHECK_STR(c.secret_key, "secret/default+key");
    CHECK(c.session_token == NULL);
    aws_creds_free(&c);

    CHECK(aws_creds_from_profile(&c, tmp_path("creds"), "dev", &err) == 0);
    CHECK_STR(c.access_key, "AKIDDEV");
    CHECK_STR(c.secret_key, "secret-dev");
    CHECK_STR(c.session_token, "token-dev==");
    aws_creds_free(&c);

    CHECK(aws_creds_from_profile(&c, tmp_path("creds"), "prd", &err) == 1);
    CHECK_CONTAINS(err.msg, "no [prd] in ");
    CHECK(aws_creds_from_profile(&c, tmp_path("creds"), "half", &err) == -1);
    CHECK_CONTAINS(err.msg, "profile half in ");
    CHECK_CONTAINS(err.msg, "has no aws_secret_access_key");
    CHECK(c.access_key == NULL);
    CHECK(aws_creds_from_profile(&c, tmp_path("nope"), "default", &err) == 1);
    CHECK_CONTAINS(err.msg, "no [default] in ");

    unsetenv("HOME"); /* nowhere to look: not found */
    CHECK(aws_creds_from_profile(&c, NULL, NULL, &err) == 1);
    CHECK_CONTAINS(err.msg, "no [default] profile (HOME is not set)");
    setenv("HOME", tmp, 1);

    setenv("AWS_PROFILE", "dev", 1); /* NULL profile: AWS_PROFILE */
    CHECK(aws_creds_from_profile(&c, tmp_path("creds"), NULL, &err) == 0);
    CHECK_STR(c.access_key, "AKIDDEV");
    aws_creds_free(&c);
    clean_env();
}

static void test_config_file(void) {
    aws_creds c;
    errinfo err;
    char region[64];
    clean_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("config"), 1);
    write_file("config", CONFIG);

    CHECK(aws_creds_from_profile(&c, NULL, "ops", &err) == 0);
    CHECK_STR(c.access_key, "AKIDOPS");
    aws_creds_free(&c);
    CHECK(aws_creds_from_profile(&c, NULL, "sso", &err) == -1);
    CHECK_CONTAINS(err.msg, "uses sso_start_url, which deploybot does not support");
    CHECK(aws_creds_from_profile(&c, NULL, "regiononly", &err) == 1);
    CHECK_CONTAINS(err.msg, "no [regiononly] in ");

    CHECK(aws_config_region(NULL, region, sizeof region) == 0);
    CHECK_STR(region, "eu-west-1");
    CHECK(aws_config_region("dev", region, sizeof region) == 0);
    CHECK_STR(region, "eu-central-1");
    CHECK(aws_config_region("ops", region, sizeof region) == -1); /* only [profile ops] */
    setenv("AWS_DEFAULT_PROFILE", "regiononly", 1);
    CHECK(aws_config_region(NULL, region, sizeof region) == 0);
    CHECK_STR(region, "ap-south-1");
    setenv("AWS_PROFILE", "dev", 1); /* AWS_PROFILE wins */
    CHECK(aws_config_region(NULL, region, sizeof region) == 0);
    CHECK_STR(region, "eu-central-1");
    clean_env();
}

/* env -> file -> IMDS, and what is said when nothing is found. */
static void test_precedence(void) {
    aws_creds c;
    aws_creds_origin o;
    errinfo err;
    clean_env();
    char dir[300];
    snprintf(dir, sizeof dir, "%s/.aws", tmp);
    mkdir(dir, 0700);
    write_file(".aws/credentials", CREDENTIALS); /* found through HOME */

    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
    CHECK(aws_creds_resolve(&c, &o, &err) == 0);
    CHECK_STR(c.access_key, "AKIDENV");
    CHECK_CONTAINS(o.source, "environment");
    CHECK(o.expiration == 0);
    aws_creds_free(&c);

    unsetenv("AWS_SECRET_ACCESS_KEY"); /* half set: an error, not a fall-through */
    CHECK(aws_creds_resolve(&c, &o, &err) == -1);
    CHECK_CONTAINS(err.msg, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    unsetenv("AWS_ACCESS_KEY_ID");

    CHECK(aws_creds_resolve(&c, &o, &err) == 0);
    CHECK_STR(c.access_key, "AKIDDEFAULT");
    CHECK_STR(o.source, "profile default");
    aws_creds_free(&c);
    setenv("AWS_PROFILE", "dev", 1);
    CHECK(aws_creds_resolve(&c, NULL, &err) == 0);
    CHECK_STR(c.access_key, "AKIDDEV");
    aws_creds_free(&c);
    setenv("AWS_PROFILE", "nosuch", 1); /* asked for by name: must exist */
    CHECK(aws_creds_resolve(&c, &o, &err) == -1);
    CHECK_CONTAINS(err.msg, "AWS credentials: no [nosuch] in ");
    unsetenv("AWS_PROFILE");

    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing"), 1);
    CHECK(aws_creds_resolve(&c, &o, &err) == -1);
    CHECK_CONTAINS(err.msg, "no AWS credentials: AWS_ACCESS_KEY_ID not set, no [default] in ");
    CHECK_CONTAINS(err.msg, "/missing, instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
    CHECK(c.access_key == NULL);
    aws_creds_free(&c);
    clean_env();
}

/* ---- a metadata server on loopback ---- */

#define MAX_SEEN 32
#define IMDS_TOKEN "AQAEAtest-imds-session-token=="

typedef struct {
    char method[8], path[256], token[128], ttl[16], security_token[128];
} seen;

typedef struct {
    int fd, port;
    atomic_int stop;
    pthread_t thread;
    pthread_mutex_t mu;
    seen seen[MAX_SEEN];
    int n_seen;
    /* behaviour */
    int token_status;   /* answer to the PUT: 200, or e.g. 403 */
    const char *role;   /* NULL: 404 for the role list */
    long expires_in[4]; /* the n-th credentials expire this many seconds from now */
    int creds_served;
} imds_server;

static void header(const char *req, const char *name, char *out, size_t outlen) {
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *l = strstr(req, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
            const char *v = l + 3 + n;
            while (*v == ' ') v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r"), v);
        }
}

static void reply(int fd, int status, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0) {}
}

static void answer(imds_server *s, const seen *q, int fd) {
    char body[1024], when[32];
    if (strcmp(q->method, "PUT") == 0 && strcmp(q->path, "/latest/api/token") == 0) {
        reply(fd, s->token_status, s->token_status == 200 ? IMDS_TOKEN : "");
    } else if (strcmp(q->method, "POST") == 0) { /* EC2 */
        reply(fd, 200,
              "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
              "<requestId>r-1</requestId><vpcSet/></DescribeVpcsResponse>");
    } else if (strcmp(q->token, IMDS_TOKEN) != 0) {
        reply(fd, 401, "");
    } else if (strcmp(q->path, "/latest/meta-data/iam/security-credentials/") == 0) {
        reply(fd, s->role ? 200 : 404, s->role ? s->role : "");
    } else {
        int i = s->creds_served++ % 4;
        time_t t = time(NULL) + s->expires_in[i];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        snprintf(body, sizeof body,
                 "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\","
                 "\"AccessKeyId\":\"ASIAIMDS%d\",\"SecretAccessKey\":\"imds-secret-%d\","
                 "\"Token\":\"imds-token-%d\",\"Expiration\":\"%s\"}",
                 i, i, i, when);
        reply(fd, 200, body);
    }
}

/* One request per connection (we answer Connection: close). */
static void serve_one(imds_server *s, int fd) {
    char req[8192] = "";
    size_t len = 0;
    seen q = {0};
    while (len < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1) return;
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0) return;
        len += (size_t)n;
        req[len] = '\0';
    }
    sscanf(req, "%7s %255s", q.method, q.path);
    header(req, "X-aws-ec2-metadata-token", q.token, sizeof q.token);
    header(req, "X-aws-ec2-metadata-token-ttl-seconds", q.ttl, sizeof q.ttl);
    header(req, "X-Amz-Security-Token", q.security_token, sizeof q.security_token);
    pthread_mutex_lock(&s->mu);
    if (s->n_seen < MAX_SEEN) s->seen[s->n_seen++] = q;
    answer(s, &q, fd);
    pthread_mutex_unlock(&s->mu);
}

static void *serve(void *arg) {
    imds_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) != 1) continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

static int listen_loopback(int *port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("listen");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(imds_server *s) {
    char url[64];
    s->fd = listen_loopback(&s->port);
    atomic_store(&s->stop, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_create(&s->thread, NULL, serve, s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port); /* trailing '/' is trimmed */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void server_stop(imds_server *s) {
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- instance metadata ---- */

static void test_imds(void) {
    imds_server s = {.token_status = 200, .role = "deploybot-role\n", .expires_in = {3600}};
    aws_creds c;
    aws_creds_origin o;
    errinfo err;
    clean_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing"), 1);
    server_start(&s);
    time_t before = time(NULL);
    int rc = aws_creds_resolve(&c, &o, &err);
    server_stop(&s);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "resolve: %s\n", err.msg);
    CHECK_STR(c.access_key, "ASIAIMDS0");
    CHECK_STR(c.secret_key, "imds-secret-0");
    CHECK_STR(c.session_token, "imds-token-0");
    CHECK_STR(o.source, "instance metadata (role deploybot-role)");
    CHECK(o.expiration >= before + 3590 && o.expiration <= before + 3610);
    aws_creds_free(&c);

    CHECK(s.n_seen == 3); /* token first, then the role */
    CHECK_STR(s.seen[0].method, "PUT");
    CHECK_STR(s.seen[0].path, "/latest/api/token");
    CHECK_STR(s.seen[0].ttl, "21600");
    CHECK_STR(s.seen[0].token, "");
    CHECK_STR(s.seen[1].method, "GET");
    CHECK_STR(s.seen[1].path, "/latest/meta-data/iam/security-credentials/");
    CHECK_STR(s.seen[1].token, IMDS_TOKEN);
    CHECK_STR(s.seen[2].path, "/latest/meta-data/iam/security-credentials/deploybot-role");
    CHECK_STR(s.seen[2].token, IMDS_TOKEN);
    clean_env();
}

static void test_imds_failures(void) {
    aws_creds c;
    time_t exp = 1;
    errinfo err;
    clean_env();
    imds_server s = {.token_status = 403, .role = "r"}; /* IMDSv2 turned off */
    server_start(&s);
    CHECK(aws_creds_from_imds(&c, NULL, &exp, &err) == -1);
    CHECK_CONTAINS(err.msg, "refused a session token (HTTP 403");
    CHECK(exp == 0 && c.access_key == NULL);
    s.token_status = 200;
    s.role = NULL; /* no instance profile */
    CHECK(aws_creds_from_imds(&c, NULL, &exp, &err) == -1);
    CHECK_CONTAINS(err.msg, "this instance has no IAM role (attach an instance profile)");
    server_stop(&s);

    int port, fd = listen_loopback(&port); /* accepts, never answers */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    double t0 = now_s();
    CHECK(aws_creds_from_imds(&c, url, &exp, &err) == -1);
    CHECK(now_s() - t0 < 4.0); /* short timeouts */
    CHECK_CONTAINS(err.msg, "instance metadata unreachable at http://127.0.0.1:");
    close(fd);
    t0 = now_s(); /* nobody listening */
    CHECK(aws_creds_from_imds(&c, url, &exp, &err) == -1);
    CHECK(now_s() - t0 < 2.0);
    CHECK_CONTAINS(err.msg, "instance metadata unreachable");
    clean_env();
}

/* Credentials near their expiry are renewed before the next request is
 * signed, and the request carries the new session token. */
static void test_client_renews(void) {
    imds_server s = {.token_status = 200, .role = "r1", .expires_in = {120, 6 * 3600}};
    errinfo err;
    char url[64];
    xml_node *out = NULL;
    errinfo e;
    clean_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("config"), 1); /* region from [default] */
    write_file("config", CONFIG);
    server_start(&s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    setenv("AWS_ENDPOINT_URL_EC2", url, 1);

    aws_client *c = aws_client_new_resolved(NULL, NULL, &err);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        server_stop(&s);
        return;
    }
    CHECK_STR(aws_client_region(c), "eu-west-1");
    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &e) == 0);
    xml_free(out);
    CHECK(aws_query(c, "ec2", "2016-11-15", "DescribeVpcs", NULL, &out, &e) == 0);
    xml_free(out);
    aws_client_free(c);
    server_stop(&s);

    /* PUT GET GET (new client), PUT GET GET (renewal), POST, POST */
    CHECK(s.n_seen == 8);
    CHECK_STR(s.seen[3].method, "PUT");
    CHECK_STR(s.seen[6].method, "POST");
    CHECK_STR(s.seen[6].security_token, "imds-token-1");
    CHECK_STR(s.seen[7].security_token, "imds-token-1");
    clean_env();
}

static void test_client_region_and_errors(void) {
    errinfo err;
    clean_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("missing"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("missing"), 1);
    CHECK(aws_client_new_resolved(NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no AWS region");
    CHECK(aws_client_new_resolved("eu-west-1", NULL, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no AWS credentials: AWS_ACCESS_KEY_ID not set");
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
    aws_client *c = aws_client_new_resolved("eu-west-1", NULL, &err);
    CHECK(c != NULL && strcmp(aws_client_region(c), "eu-west-1") == 0);
    aws_client_free(c);
    clean_env();
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s/deploybot-creds-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_profile_file();
    test_config_file();
    test_precedence();
    test_imds();
    test_imds_failures();
    test_client_renews();
    test_client_region_and_errors();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
