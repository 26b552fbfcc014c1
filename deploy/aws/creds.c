/* creds: where AWS credentials come from (see the chain in aws.h).
 *
 * Each source answers one of three things: found, not there (try the next
 * source), or there but broken (stop: using another identity than the one
 * the operator configured would be worse than failing). The "not there"
 * answers are collected so that a machine with no credentials at all gets
 * one message naming every place that was looked at. */
#include "deploy/aws/aws.h"
#include "util/digest.h"
#include "util/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600" /* seconds; the maximum IMDS allows */
#define IMDS_MAX_BODY (64u << 10)

/* ---- small helpers ---- */

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

/* Zeroes a secret before its memory goes back to the allocator. */
static void wipe_free(char *s) {
    if (!s) return;
    digest_cleanse(s, strlen(s));
    free(s);
}

void aws_creds_free(aws_creds *c) {
    if (!c) return;
    free(c->access_key);
    wipe_free(c->secret_key);
    wipe_free(c->session_token);
    *c = (aws_creds){0};
}

static void fill(aws_creds *c, const char *id, const char *secret, const char *token) {
    c->access_key = xstrdup(id);
    c->secret_key = xstrdup(secret);
    c->session_token = token && *token ? xstrdup(token) : NULL;
}

void aws_creds_copy(aws_creds *to, const aws_creds *from) {
    fill(to, from->access_key, from->secret_key, from->session_token);
}

static void origin_set(aws_creds_origin *o, time_t expiration, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void origin_set(aws_creds_origin *o, time_t expiration, const char *fmt, ...) {
    va_list ap;
    if (!o) return;
    o->expiration = expiration;
    va_start(ap, fmt);
    vsnprintf(o->source, sizeof o->source, fmt, ap);
    va_end(ap);
}

/* ---- 1. environment ---- */

/* 0 found, 1 AWS_ACCESS_KEY_ID not set, -1 only half set. */
static int env_creds(aws_creds *c, errinfo *err) {
    const char *id = aws_env("AWS_ACCESS_KEY_ID");
    const char *secret = aws_env("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) {
        errinfo_set(err, ERR_NOT_FOUND, "AWS_ACCESS_KEY_ID not set");
        return 1;
    }
    if (!id || !secret)
        return errinfo_set(err, ERR_INVALID,
                           "%s is set but %s is not: set both (and "
                           "AWS_SESSION_TOKEN for temporary credentials)",
                           id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                           id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    fill(c, id, secret, aws_env("AWS_SESSION_TOKEN"));
    return 0;
}

int aws_creds_from_env(aws_creds *c, errinfo *err) {
    *c = (aws_creds){0};
    if (env_creds(c, NULL) == 0) return 0;
    return errinfo_set(err, ERR_NOT_FOUND,
                       "AWS credentials not found: set AWS_ACCESS_KEY_ID "
                       "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
                       "credentials)");
}

/* ---- 2. the shared files (INI) ---- */

typedef struct {
    char *key, *value;
} ini_pair;
typedef struct {
    ini_pair *v;
    size_t n;
} ini_section;

static void ini_free(ini_section *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i].key), wipe_free(s->v[i].value);
    free(s->v);
    *s = (ini_section){0};
}

static const char *ini_get(const ini_section *s, const char *key) {
    const char *v = NULL;
    for (size_t i = 0; i < s->n; i++) /* the last one wins, as in the SDKs */
        if (strcasecmp(s->v[i].key, key) == 0) v = s->v[i].value;
    return v && *v ? v : NULL;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* Does the header between the brackets name `profile`? The config file
 * writes "[profile NAME]" (and "[default]"); the credentials file "[NAME]". */
static int header_matches(char *h, const char *profile, int config) {
    h = trim(h);
    if (config && strncmp(h, "profile", 7) == 0 && isspace((unsigned char)h[7]))
        return strcmp(trim(h + 8), profile) == 0;
    return (!config || strcmp(profile, "default") == 0) && strcmp(h, profile) == 0;
}

static void ini_add(ini_section *s, const char *key, const char *value) {
    ini_pair *v = realloc(s->v, (s->n + 1) * sizeof *v);
    if (!v) abort();
    s->v = v;
    s->v[s->n].key = xstrdup(key);
    s->v[s->n].value = xstrdup(value);
    s->n++;
}

/* One "key = value" line inside the wanted section. An indented line after
 * a key with an empty value belongs to a nested block ("s3 =\n  x = y"),
 * which deploybot has no use for. */
static void ini_line(ini_section *s, char *line, int *nested) {
    int indented = isspace((unsigned char)line[0]);
    char *eq = strchr(line, '=');
    if (!eq || (indented && *nested)) return;
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    *nested = *value == '\0';
    if (*key) ini_add(s, key, value);
}

/* Reads the section for `profile`. Returns 1 when there is one, 0 when the
 * file or the section is missing, -1 when the file cannot be read (errno). */
static int ini_read(const char *path, const char *profile, int config, ini_section *out) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int found = 0, inside = 0, nested = 0;
    *out = (ini_section){0};
    if (!f) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    while (getline(&line, &cap, f) >= 0) {
        char *l = line + strspn(line, " \t");
        if (*l == '#' || *l == ';' || *l == '\n' || *l == '\0') continue;
        if (*l == '[' && strchr(l, ']')) {
            *strchr(l, ']') = '\0';
            inside = header_matches(l + 1, profile, config);
            found |= inside;
            nested = 0;
        } else if (inside) {
            ini_line(out, line, &nested);
        }
    }
    if (line) digest_cleanse(line, cap);
    free(line);
    fclose(f);
    return found;
}

static const char *profile_name(const char *profile) {
    if (profile) return profile;
    if (aws_env("AWS_PROFILE")) return aws_env("AWS_PROFILE");
    if (aws_env("AWS_DEFAULT_PROFILE")) return aws_env("AWS_DEFAULT_PROFILE");
    return "default";
}

/* `env` when set, else ~/NAME; "" when there is no HOME to look in. */
static void default_path(const char *env, const char *name, char *out, size_t outlen) {
    const char *home = aws_env("HOME");
    if (aws_env(env)) snprintf(out, outlen, "%s", aws_env(env));
    else if (home) snprintf(out, outlen, "%s/%s", home, name);
    else out[0] = '\0';
}

/* The keys of a section that was found: both, or an error naming the one
 * that is missing. */
static int section_keys(const ini_section *s, const char *profile, const char *path,
                        aws_creds *c, errinfo *err) {
    const char *id = ini_get(s, "aws_access_key_id");
    const char *secret = ini_get(s, "aws_secret_access_key");
    if (!id || !secret)
        return errinfo_set(err, ERR_INVALID, "profile %s in %s has no %s", profile, path,
                           id ? "aws_secret_access_key" : "aws_access_key_id");
    fill(c, id, secret, ini_get(s, "aws_session_token"));
    return 0;
}

/* A config-file profile without static keys: fine (it may only set the
 * region) unless it asks for a mechanism deploybot does not implement. */
static int unsupported(const ini_section *s, const char *profile, const char *path,
                       errinfo *err) {
    static const char *const keys[] = {
        "role_arn",
        "credential_process",
        "sso_session",
        "sso_start_url",
        "web_identity_token_file",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (ini_get(s, keys[i]))
            return errinfo_set(err, ERR_INVALID,
                               "profile %s in %s uses %s, which deploybot "
                               "does not support: give it aws_access_key_id/"
                               "aws_secret_access_key, or run on EC2 with an instance role",
                               profile, path, keys[i]);
    return 0;
}

static int config_profile(const char *profile, aws_creds *c, errinfo *err) {
    char path[1024];
    ini_section s = {0};
    default_path("AWS_CONFIG_FILE", ".aws/config", path, sizeof path);
    int r = path[0] ? ini_read(path, profile, 1, &s) : 0;
    if (r < 0) return errinfo_set(err, ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (r == 1 && (ini_get(&s, "aws_access_key_id") || ini_get(&s, "aws_secret_access_key")))
        r = section_keys(&s, profile, path, c, err);
    else if (r == 1 && unsupported(&s, profile, path, err) < 0)
        r = -1;
    else
        r = 1; /* no keys here: not found */
    ini_free(&s);
    return r;
}

int aws_creds_from_profile(aws_creds *c, const char *path, const char *profile,
                           errinfo *err) {
    char def[1024];
    ini_section s = {0};
    *c = (aws_creds){0};
    profile = profile_name(profile);
    if (!path) default_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", def, sizeof def);
    const char *p = path ? path : def;
    if (!*p) {
        errinfo_set(err, ERR_NOT_FOUND, "no [%s] profile (HOME is not set)", profile);
        return 1;
    }
    int r = ini_read(p, profile, 0, &s);
    if (r == 1) r = section_keys(&s, profile, p, c, err); /* 0 or -1 */
    else if (r == 0) r = 1;                               /* not here */
    else errinfo_set(err, ERR_IO, "cannot read %s: %s", p, strerror(errno));
    ini_free(&s);
    if (r <= 0) return r;
    if (!path && (r = config_profile(profile, c, err)) <= 0) return r;
    errinfo_set(err, ERR_NOT_FOUND, "no [%s] in %s", profile, p);
    return 1;
}

/* ---- 3. EC2 instance metadata (IMDSv2) ---- */

typedef struct {
    http_client *http;
    char base[512]; /* endpoint, no trailing '/' */
    char *token;    /* session token once we have one */
} imds;

/* One request: short timeouts (a machine outside EC2 must not hang here),
 * never through a proxy (the service is link-local). Returns the HTTP
 * status and the body in *out (malloc'd, the caller wipes it), or 0 when no
 * answer came (err says why). Without a session token yet, the request is
 * the PUT that asks for one. */
static long imds_call(imds *m, const char *path, char **out, errinfo *err) {
    char url[1024], hdr[512];
    snprintf(url, sizeof url, "%s%s", m->base, path);
    if (m->token) snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", m->token);
    else snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
    const char *headers[] = {hdr, "Content-Type:", NULL};
    http_request_spec rq = {
        .method = m->token ? "GET" : "PUT",
        .url = url,
        .headers = headers,
        .connect_timeout_ms = 1000,
        .timeout_ms = 2000,
        .max_body = IMDS_MAX_BODY,
        .no_proxy = 1,
    };
    http_response rs;
    errinfo why;
    long status = 0;
    if (http_client_send(m->http, &rq, &rs, &why) == 0) status = rs.status;
    else errinfo_set(err, ERR_UNAVAILABLE, "instance metadata unreachable at %s (%s)", m->base,
                     why.code == ERR_LIMIT ? "answer too large" : why.msg);
    digest_cleanse(hdr, sizeof hdr);
    *out = rs.body; /* never NULL */
    return status;
}

static int imds_token(imds *m, errinfo *err) {
    char *text;
    long status = imds_call(m, "/latest/api/token", &text, err);
    if (status == 200 && *trim(text)) {
        m->token = xstrdup(trim(text));
    } else if (status) {
        errinfo_set(err, ERR_REMOTE,
                    "instance metadata at %s refused a session token "
                    "(HTTP %ld; deploybot speaks IMDSv2 only)",
                    m->base, status);
    }
    wipe_free(text);
    return m->token ? 0 : -1;
}

/* IAM role names are [\w+=,.@-]; anything else is not a role name. */
static int valid_role(const char *r) {
    if (!*r || strlen(r) > 64) return 0;
    for (; *r; r++)
        if (!isalnum((unsigned char)*r) && !strchr("_+=,.@-", *r)) return 0;
    return 1;
}

static int imds_role(imds *m, char *role, size_t rolelen, errinfo *err) {
    char *text;
    long status = imds_call(m, "/latest/meta-data/iam/security-credentials/", &text, err);
    char *first = trim(text);
    first[strcspn(first, "\r\n")] = '\0';
    int ok = status == 200 && valid_role(first);
    if (ok) snprintf(role, rolelen, "%s", first);
    else if (status == 404 || (status == 200 && !*first))
        errinfo_set(err, ERR_NOT_FOUND,
                    "instance metadata at %s: this instance has no IAM "
                    "role (attach an instance profile)",
                    m->base);
    else if (status == 200)
        errinfo_set(err, ERR_REMOTE,
                    "instance metadata at %s returned no usable IAM role "
                    "name",
                    m->base);
    else if (status)
        errinfo_set(err, ERR_REMOTE,
                    "instance metadata at %s answered HTTP %ld for the IAM "
                    "role",
                    m->base, status);
    wipe_free(text);
    return ok ? 0 : -1;
}

time_t aws_time_parse(const char *s) {
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) return 0;
    if (*end == '.') end += 1 + strspn(end + 1, "0123456789");
    return *end == 'Z' && end[1] == '\0' ? timegm(&tm) : 0;
}

/* {"Code":"Success","AccessKeyId":..,"SecretAccessKey":..,"Token":..,"Expiration":..} */
static int imds_role_creds(imds *m, const char *role, aws_creds *c, time_t *expiration,
                           errinfo *err) {
    char path[160], *text;
    snprintf(path, sizeof path, "/latest/meta-data/iam/security-credentials/%s", role);
    long status = imds_call(m, path, &text, err);
    json_t *doc = status == 200 ? json_loads(text, 0, NULL) : NULL;
    wipe_free(text);
    const char *code = json_string_value(json_object_get(doc, "Code"));
    const char *id = json_string_value(json_object_get(doc, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(doc, "Token"));
    time_t exp = aws_time_parse(json_string_value(json_object_get(doc, "Expiration")));
    int ok = doc && (!code || strcmp(code, "Success") == 0) && id && *id && secret && *secret && token && *token && exp;
    if (ok) {
        fill(c, id, secret, token);
        *expiration = exp;
    } else if (status) {
        errinfo_set(err, ERR_REMOTE,
                    "instance metadata at %s gave no usable credentials for "
                    "role %s (HTTP %ld%s%s)",
                    m->base, role, status, code ? ", Code " : "",
                    code ? code : "");
    }
    if (secret) digest_cleanse((char *)secret, strlen(secret)); /* jansson's copy */
    json_decref(doc);
    return ok ? 0 : -1;
}

static int imds_fetch(aws_creds *c, const char *endpoint, time_t *expiration,
                      char *role, size_t rolelen, errinfo *err) {
    imds m = {0};
    const char *base = endpoint ? endpoint : aws_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    size_t n = strlen(base ? base : IMDS_DEFAULT);
    snprintf(m.base, sizeof m.base, "%s", base ? base : IMDS_DEFAULT);
    while (n > 0 && m.base[n - 1] == '/') m.base[--n] = '\0';
    if (!(m.http = http_client_new(err))) return errinfo_prefix(err, "instance metadata");
    int rc = imds_token(&m, err) == 0 &&
                     imds_role(&m, role, rolelen, err) == 0 &&
                     imds_role_creds(&m, role, c, expiration, err) == 0
                 ? 0
                 : -1;
    http_client_free(m.http);
    wipe_free(m.token);
    return rc;
}

int aws_creds_from_imds(aws_creds *c, const char *endpoint, time_t *expiration,
                        errinfo *err) {
    char role[80];
    time_t exp = 0;
    *c = (aws_creds){0};
    int rc = imds_fetch(c, endpoint, &exp, role, sizeof role, err);
    if (expiration) *expiration = exp;
    return rc;
}

/* ---- the chain ---- */

static int imds_disabled(void) {
    const char *v = aws_env("AWS_EC2_METADATA_DISABLED");
    return v && strcasecmp(v, "true") == 0;
}

int aws_creds_resolve(aws_creds *c, aws_creds_origin *origin, errinfo *err) {
    errinfo env_why, file_why, imds_why;
    char role[80];
    time_t exp = 0;
    *c = (aws_creds){0};
    int r = env_creds(c, &env_why);
    if (r == 0) {
        origin_set(origin, 0, "environment (AWS_ACCESS_KEY_ID)");
        return 0;
    }
    if (r < 0) return errinfo_set(err, env_why.code, "AWS credentials: %.500s", env_why.msg);

    const char *profile = profile_name(NULL);
    r = aws_creds_from_profile(c, NULL, profile, &file_why);
    if (r == 0) {
        origin_set(origin, 0, "profile %s", profile);
        return 0;
    }
    if (r < 0 || strcmp(profile, "default") != 0) /* a profile asked for by name must exist */
        return errinfo_set(err, file_why.code, "AWS credentials: %.500s", file_why.msg);

    if (imds_disabled()) {
        errinfo_set(&imds_why, ERR_NOT_FOUND, "instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
    } else if (imds_fetch(c, NULL, &exp, role, sizeof role, &imds_why) == 0) {
        origin_set(origin, exp, "instance metadata (role %s)", role);
        return 0;
    }
    return errinfo_set(err, ERR_NOT_FOUND, "no AWS credentials: %.250s, %.300s, %.400s",
                       env_why.msg, file_why.msg, imds_why.msg);
}

/* ---- region ---- */

int aws_config_region(const char *profile, char *out, size_t outlen) {
    char path[1024];
    ini_section s = {0};
    profile = profile_name(profile);
    default_path("AWS_CONFIG_FILE", ".aws/config", path, sizeof path);
    int found = path[0] && ini_read(path, profile, 1, &s) == 1;
    const char *region = found ? ini_get(&s, "region") : NULL;
    if (region) snprintf(out, outlen, "%s", region);
    ini_free(&s);
    return region ? 0 : -1;
}

int aws_region_default(char *out, size_t outlen) {
    const char *r = aws_env("AWS_REGION");
    if (!r) r = aws_env("AWS_DEFAULT_REGION");
    if (r) {
        snprintf(out, outlen, "%s", r);
        return 0;
    }
    return aws_config_region(NULL, out, outlen);
}
