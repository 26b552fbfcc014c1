/* github_webhook: GitHub delivery verification (HMAC-SHA256) and parsing (jansson).
 *
 * The signature is always checked over the raw bytes as received; parsing
 * happens only afterwards, on the JSON text (decoded from a form body if
 * GitHub was configured with the form content type). */
#include "host/github_webhook.h"
#include "host/hmacsig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>


/* ---- signature ---------------------------------------------------------- */

const hmacsig_style webhook_github_signature = {
    "sha256=", "missing X-Hub-Signature-256 header", "invalid X-Hub-Signature-256 signature"};

int webhook_github_verify(const char *secret, const void *body, size_t len,
                          const char *signature_header) {
    const char *why;
    host_verify *v = hmacsig_begin(&webhook_github_signature, secret, signature_header,
                                   signature_header ? HOST_HEADER_OK : HOST_HEADER_MISSING, 0, &why);

    return v ? hmacsig_end(v, body, len, &why) : 0;
}

/* ---- body decoding ------------------------------------------------------ */

/* Media type without parameters, compared case-insensitively. */
static int is_form(const char *content_type, const char *body, size_t len) {
    static const char form[] = "application/x-www-form-urlencoded";
    size_t n;

    if (!content_type || !*content_type)
        return len >= 8 && memcmp(body, "payload=", 8) == 0;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    n = strcspn(content_type, "; \t");
    return n == sizeof(form) - 1 && strncasecmp(content_type, form, n) == 0;
}

int webhook_github_is_form(const char *content_type) {
    return content_type && *content_type && is_form(content_type, "", 0);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) ('+' is a space, %XX a byte) into out (room for len+1).
 * Returns the decoded length, or -1 at a bad escape or a NUL byte (JSON text
 * never contains one, and it would truncate the stored payload). */
static long form_decode(const char *s, size_t len, char *out, size_t base,
                        errinfo *err) {
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return errinfo_set(err, ERR_INVALID,
                                   "form body: bad "
                                   "percent-escape at byte %zu",
                                   base + i);
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c == 0)
            return errinfo_set(err, ERR_INVALID,
                               "form body: NUL byte in "
                               "payload at byte %zu",
                               base + i);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Finds the `payload` field of a form body and decodes it. */
static char *form_payload(const char *body, size_t len, size_t *outlen,
                          errinfo *err) {
    size_t i = 0;

    while (i <= len) {
        const char *f = body + i;
        const char *amp = memchr(f, '&', len - i);
        size_t flen = amp ? (size_t)(amp - f) : len - i;

        if (flen >= 8 && memcmp(f, "payload=", 8) == 0) {
            char *out = malloc(flen - 8 + 1);
            long n;

            if (!out) {
                errinfo_set(err, ERR_INTERNAL, "out of memory");
                return NULL;
            }
            n = form_decode(f + 8, flen - 8, out, i + 8, err);
            if (n < 0) {
                free(out);
                return NULL;
            }
            if (outlen)
                *outlen = (size_t)n;
            return out;
        }
        i += flen + 1;
    }
    errinfo_set(err, ERR_INVALID,
                "form body has no payload= field "
                "(GitHub sends the JSON there)");
    return NULL;
}

char *webhook_github_json(const char *content_type, const char *body,
                          size_t len, size_t *outlen, errinfo *err) {
    char *out;

    if (!body)
        len = 0, body = "";
    if (is_form(content_type, body, len))
        return form_payload(body, len, outlen, err);
    if (memchr(body, '\0', len)) {
        errinfo_set(err, ERR_INVALID, "malformed JSON: NUL byte in body");
        return NULL;
    }
    out = malloc(len + 1);
    if (!out) {
        errinfo_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    memcpy(out, body, len);
    out[len] = '\0';
    if (outlen)
        *outlen = len;
    return out;
}

/* ---- parsing ------------------------------------------------------------ */

/* Looks up a dotted path ("pull_request.head.sha") through nested objects. */
static json_t *lookup(json_t *root, const char *path) {
    char key[64];
    json_t *v = root;

    while (v && *path) {
        size_t n = strcspn(path, ".");

        if (n >= sizeof(key) || !json_is_object(v))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return v;
}

/* Copies a string field into dst. A missing optional field leaves dst empty;
 * an over-long one is an error rather than a silently cut value. */
static int get_str(json_t *root, const char *path, int required, char *dst,
                   size_t dstlen, const char *what, errinfo *err) {
    json_t *v = lookup(root, path);
    size_t n;

    dst[0] = '\0';
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        return errinfo_set(err, ERR_INVALID, "%s payload: missing \"%s\"",
                           what, path);
    }
    if (!json_is_string(v))
        return errinfo_set(err, ERR_INVALID,
                           "%s payload: \"%s\" is not a string", what, path);
    n = json_string_length(v);
    if (n >= dstlen || strlen(json_string_value(v)) != n)
        return errinfo_set(err, ERR_INVALID,
                           "%s payload: \"%s\" is too long "
                           "or contains NUL (%zu bytes, max %zu)",
                           what, path,
                           n, dstlen - 1);
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

/* A commit id: exactly 40 hex digits, stored lowercase. */
static int get_sha(json_t *root, const char *path, char dst[41],
                   const char *what, errinfo *err) {
    if (get_str(root, path, 1, dst, 41, what, err) < 0)
        return -1;
    for (int i = 0; i < 40; i++) {
        if (!isxdigit((unsigned char)dst[i]))
            return errinfo_set(err, ERR_INVALID,
                               "%s payload: \"%s\" is not "
                               "a 40-hex commit id",
                               what, path);
        dst[i] = (char)tolower((unsigned char)dst[i]);
    }
    return 0;
}

/* Missing or null is false: older payloads omit these flags. */
static int get_bool(json_t *root, const char *path, int *dst,
                    const char *what, errinfo *err) {
    json_t *v = lookup(root, path);

    *dst = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return errinfo_set(err, ERR_INVALID,
                           "%s payload: \"%s\" is not a boolean", what, path);
    *dst = json_is_true(v);
    return 0;
}

static int parse_repo(json_t *root, int required, host_event *out,
                      const char *what, errinfo *err) {
    if (get_str(root, "repository.full_name", required, out->repo,
                sizeof(out->repo), what, err) < 0)
        return -1;
    return get_str(root, "repository.clone_url", 0, out->clone_url,
                   sizeof(out->clone_url), what, err);
}

static int parse_push(json_t *root, host_event *out, errinfo *err) {
    static const char zero[] = "0000000000000000000000000000000000000000";

    out->kind = HOST_EVENT_PUSH;
    if (get_str(root, "ref", 1, out->ref, sizeof(out->ref), "push", err) < 0 ||
        get_sha(root, "before", out->before, "push", err) < 0 ||
        get_sha(root, "after", out->after, "push", err) < 0 ||
        get_bool(root, "deleted", &out->deleted, "push", err) < 0)
        return -1;
    /* An all-zero "after" is a deletion even if the flag is absent. */
    if (strcmp(out->after, zero) == 0)
        out->deleted = 1;
    return parse_repo(root, 1, out, "push", err);
}

/* Whether the head repository is not the base one (github_webhook.h says how).
 * The base's is pull_request.base.repo, or the delivery's repository. */
static int from_fork(json_t *root, const host_event *out) {
    json_t *head = lookup(root, "pull_request.head.repo");
    json_t *base = lookup(root, "pull_request.base.repo");
    json_t *hid, *bid;
    char base_name[256];

    if (!json_is_object(base))
        base = lookup(root, "repository");
    if (!json_is_object(head) || !json_is_object(base))
        return 1;
    hid = json_object_get(head, "id");
    bid = json_object_get(base, "id");
    if (json_is_integer(hid) && json_is_integer(bid))
        return json_integer_value(hid) != json_integer_value(bid);
    if (get_str(base, "full_name", 1, base_name, sizeof(base_name), "", NULL) < 0)
        return 1;
    return !out->head_repo[0] || strcasecmp(out->head_repo, base_name) != 0;
}

static host_pr_change pr_change(const char *action) {
    if (strcmp(action, "opened") == 0) return HOST_PR_OPENED;
    if (strcmp(action, "synchronize") == 0) return HOST_PR_UPDATED;
    if (strcmp(action, "reopened") == 0) return HOST_PR_REOPENED;
    if (strcmp(action, "closed") == 0) return HOST_PR_CLOSED;
    return HOST_PR_OTHER;
}

static int parse_pull_request(json_t *root, host_event *out, errinfo *err) {
    static const char *w = "pull_request";
    json_t *num = lookup(root, "number");

    out->kind = HOST_EVENT_PULL_REQUEST;
    if (!num)
        num = lookup(root, "pull_request.number");
    if (!json_is_integer(num) || json_integer_value(num) <= 0 ||
        json_integer_value(num) > 0x7fffffff)
        return errinfo_set(err, ERR_INVALID,
                           "pull_request payload: %s \"number\"",
                           num ? "invalid" : "missing");
    out->pr_number = (int)json_integer_value(num);
    if (get_str(root, "action", 1, out->pr_action, sizeof(out->pr_action), w,
                err) < 0 ||
        get_bool(root, "pull_request.merged", &out->pr_merged, w, err) < 0 ||
        get_sha(root, "pull_request.head.sha", out->head_sha, w, err) < 0 ||
        get_sha(root, "pull_request.base.sha", out->base_sha, w, err) < 0 ||
        get_str(root, "pull_request.base.ref", 1, out->base_ref,
                sizeof(out->base_ref), w, err) < 0 ||
        get_str(root, "pull_request.head.repo.full_name", 0, out->head_repo,
                sizeof(out->head_repo), w, err) < 0)
        return -1;
    out->pr_change = pr_change(out->pr_action);
    out->pr_fork = from_fork(root, out);
    return parse_repo(root, 1, out, w, err);
}

static int parse_ping(json_t *root, host_event *out, errinfo *err) {
    out->kind = HOST_EVENT_PING;
    /* An organisation hook's ping has no repository. */
    if (get_str(root, "zen", 0, out->zen, sizeof(out->zen), "ping", err) < 0)
        return -1;
    return parse_repo(root, 0, out, "ping", err);
}

/* Nothing is acted on, so nothing is required: the repository is kept only
 * when it is well-formed, for the log line. */
static int parse_ignored(json_t *root, host_event *out) {
    out->kind = HOST_EVENT_IGNORED;
    if (parse_repo(root, 0, out, "", NULL) < 0)
        out->repo[0] = out->clone_url[0] = '\0';
    return 0;
}

int webhook_github_parse(const char *event, const char *content_type,
                         const char *body, size_t len, host_event *out,
                         errinfo *err) {
    json_error_t jerr;
    json_t *root;
    size_t jlen = 0;
    char *json;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!event || !*event)
        return errinfo_set(err, ERR_INVALID, "missing X-GitHub-Event header");
    json = webhook_github_json(content_type, body, len, &jlen, err);
    if (!json)
        return -1;
    root = json_loadb(json, jlen, 0, &jerr);
    free(json);
    if (!root)
        return errinfo_set(err, ERR_INVALID,
                           "malformed JSON at line %d, column %d: %s",
                           jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return errinfo_set(err, ERR_INVALID,
                           "malformed payload: top level "
                           "is not a JSON object");
    }
    if (strcmp(event, "push") == 0)
        rc = parse_push(root, out, err);
    else if (strcmp(event, "pull_request") == 0)
        rc = parse_pull_request(root, out, err);
    else if (strcmp(event, "ping") == 0)
        rc = parse_ping(root, out, err);
    else
        rc = parse_ignored(root, out);
    json_decref(root);
    return rc;
}
