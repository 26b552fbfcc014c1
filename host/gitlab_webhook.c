/* gitlab_webhook: see gitlab_webhook.h. */
#include "host/gitlab_webhook.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define SIG_MAC_B64 DIGEST_BASE64_LEN(DIGEST_SHA256_LEN) /* 44 characters and the NUL */

/* ---- verification ------------------------------------------------------- */

int gitlab_verifier_set_key(gitlab_verifier *v, const char *whsec, errinfo *err) {
    unsigned char buf[3 * 256 / 4];
    const char *b64 = strncmp(whsec, "whsec_", 6) == 0 ? whsec + 6 : whsec;
    long n = strlen(b64) <= 256 ? digest_base64_decode(b64, buf) : -1;

    if (n <= 0 || n > GITLAB_SIGNING_KEY_MAX) {
        digest_cleanse(buf, sizeof(buf));
        return errinfo_set(err, ERR_INVALID,
                           "the GitLab signing token is not \"whsec_\" and base64 "
                           "of 1 to %d bytes",
                           GITLAB_SIGNING_KEY_MAX);
    }
    memcpy(v->signing_key, buf, (size_t)n);
    v->signing_key_len = (size_t)n;
    digest_cleanse(buf, sizeof(buf));
    return 0;
}

/* Equal strings in time that depends on neither content nor the point where
 * they differ: both are hashed first, so the lengths do not leak either. */
static int token_equal(const char *a, const char *b) {
    unsigned char ha[DIGEST_SHA256_LEN], hb[DIGEST_SHA256_LEN];
    int ok;

    digest_sha256(a, strlen(a), ha);
    digest_sha256(b, strlen(b), hb);
    ok = digest_equal(ha, hb, sizeof(ha));
    digest_cleanse(ha, sizeof(ha));
    digest_cleanse(hb, sizeof(hb));
    return ok;
}

/* A webhook-timestamp: decimal Unix seconds within the skew of now. */
static int timestamp_fresh(const char *ts, time_t now) {
    char *end;
    long long t;

    if (!ts || !isdigit((unsigned char)ts[0]) || strlen(ts) > 12)
        return 0;
    t = strtoll(ts, &end, 10);
    return *end == '\0' && t >= (long long)now - GITLAB_TIMESTAMP_SKEW &&
           t <= (long long)now + GITLAB_TIMESTAMP_SKEW;
}

/* The signed prefix "{id}.{timestamp}.": an id with a '.' would make two
 * different (id, timestamp) pairs sign the same text. */
static digest_hmac *signature_begin(const gitlab_verifier *v, const gitlab_headers *h) {
    digest_hmac *mac;

    if (!h->id || !*h->id || strchr(h->id, '.') || strlen(h->id) > GITLAB_DELIVERY_KEY_MAX)
        return NULL;
    mac = digest_hmac_begin(v->signing_key, v->signing_key_len);
    digest_hmac_update(mac, h->id, strlen(h->id));
    digest_hmac_update(mac, ".", 1);
    digest_hmac_update(mac, h->timestamp, strlen(h->timestamp));
    digest_hmac_update(mac, ".", 1);
    return mac;
}

int gitlab_verify_begin(const gitlab_verifier *v, const gitlab_headers *h, time_t now,
                        digest_hmac **mac, const char **why) {
    int signed_delivery = v->signing_key_len > 0 && h->signature && *h->signature;

    *mac = NULL;
    if (v->secret_token && *v->secret_token && !token_equal(v->secret_token, h->token ? h->token : ""))
        return *why = "X-Gitlab-Token does not match the secret token", -1;
    if (!signed_delivery) {
        if (v->require_signature || !(v->secret_token && *v->secret_token))
            return *why = "no webhook-signature (the signing token is required)", -1;
        return 0;
    }
    if (!timestamp_fresh(h->timestamp, now))
        return *why = "webhook-timestamp missing or more than 5 minutes off", -1;
    *mac = signature_begin(v, h);
    if (!*mac)
        return *why = "webhook-id missing or malformed", -1;
    return 1;
}

int gitlab_signature_matches(const unsigned char mac[DIGEST_SHA256_LEN], const char *signature_header) {
    char want[SIG_MAC_B64];
    const char *p = signature_header;
    int ok = 0;

    if (!p)
        return 0;
    digest_base64_encode(mac, DIGEST_SHA256_LEN, want);
    while (*p) {
        size_t n = strcspn(p, " ");

        /* Every entry is compared, so the time says nothing of which matched. */
        if (n == 3 + SIG_MAC_B64 - 1 && strncmp(p, "v1,", 3) == 0)
            ok |= digest_equal(p + 3, want, SIG_MAC_B64 - 1);
        p += n;
        p += strspn(p, " ");
    }
    digest_cleanse(want, sizeof(want));
    return ok;
}

int gitlab_verify(const gitlab_verifier *v, const gitlab_headers *h, const void *body, size_t len,
                  time_t now, const char **why) {
    unsigned char out[DIGEST_SHA256_LEN];
    digest_hmac *mac;
    int rc = gitlab_verify_begin(v, h, now, &mac, why);
    int ok;

    if (rc <= 0)
        return rc == 0;
    if (len)
        digest_hmac_update(mac, body, len);
    digest_hmac_final(mac, out);
    ok = gitlab_signature_matches(out, h->signature);
    digest_cleanse(out, sizeof(out));
    if (!ok)
        *why = "webhook-signature does not match";
    return ok;
}

const char *gitlab_delivery_key(const char *idempotency_key, const char *event_uuid) {
    const char *k = idempotency_key && *idempotency_key ? idempotency_key : event_uuid;

    return k && *k && strlen(k) <= GITLAB_DELIVERY_KEY_MAX ? k : NULL;
}

void gitlab_mr_head_ref(int iid, char *out, size_t outlen) {
    snprintf(out, outlen, "refs/merge-requests/%d/head", iid);
}

/* ---- parsing ------------------------------------------------------------ */

/* A string member of obj into dst; missing/null is "" unless required. An
 * over-long value is an error rather than a silently cut one. */
static int get_str(json_t *obj, const char *key, int required, char *dst, size_t dstlen,
                   const char *what, errinfo *err) {
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    size_t n;

    dst[0] = '\0';
    if (!v || json_is_null(v))
        return required ? errinfo_set(err, ERR_INVALID, "%s payload: missing \"%s\"", what, key) : 0;
    if (!json_is_string(v))
        return errinfo_set(err, ERR_INVALID, "%s payload: \"%s\" is not a string", what, key);
    n = json_string_length(v);
    if (n >= dstlen || strlen(json_string_value(v)) != n)
        return errinfo_set(err, ERR_INVALID, "%s payload: \"%s\" is too long or contains NUL", what, key);
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

/* A commit id: exactly 40 hex digits, stored lowercase. */
static int get_sha(json_t *obj, const char *key, char dst[41], const char *what, errinfo *err) {
    if (get_str(obj, key, 1, dst, 41, what, err) < 0)
        return -1;
    for (int i = 0; i < 40; i++) {
        if (!isxdigit((unsigned char)dst[i]))
            return errinfo_set(err, ERR_INVALID, "%s payload: \"%s\" is not a 40-hex commit id", what, key);
        dst[i] = (char)tolower((unsigned char)dst[i]);
    }
    return 0;
}

/* A positive id that fits an int (iid) or a long long (project ids). */
static int get_id(json_t *obj, const char *key, long long max, long long *dst, const char *what,
                  errinfo *err) {
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > max)
        return errinfo_set(err, ERR_INVALID, "%s payload: %s \"%s\"", what, v ? "invalid" : "missing", key);
    *dst = json_integer_value(v);
    return 0;
}

static int parse_project(json_t *root, int required, host_event *out, const char *what, errinfo *err) {
    json_t *project = json_object_get(root, "project");

    if (get_str(project, "path_with_namespace", required, out->repo, sizeof(out->repo), what, err) < 0)
        return -1;
    return get_str(project, "git_http_url", 0, out->clone_url, sizeof(out->clone_url), what, err);
}

static int parse_push(json_t *root, host_event *out, errinfo *err) {
    static const char zero[] = "0000000000000000000000000000000000000000";

    out->kind = HOST_EVENT_PUSH;
    if (get_str(root, "ref", 1, out->ref, sizeof(out->ref), "Push Hook", err) < 0 ||
        get_sha(root, "before", out->before, "Push Hook", err) < 0 ||
        get_sha(root, "after", out->after, "Push Hook", err) < 0)
        return -1;
    out->deleted = strcmp(out->after, zero) == 0;
    return parse_project(root, 1, out, "Push Hook", err);
}

/* GitLab's action, kept in pr_action for the log, in common terms. */
static int mr_action(json_t *attrs, host_event *out, errinfo *err) {
    static const struct {
        const char *action;
        host_pr_change change;
    } map[] = {{"open", HOST_PR_OPENED}, {"reopen", HOST_PR_REOPENED}, {"close", HOST_PR_CLOSED}, {"merge", HOST_PR_CLOSED}};

    if (get_str(attrs, "action", 1, out->pr_action, sizeof(out->pr_action), "Merge Request Hook", err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(out->pr_action, map[i].action) == 0) out->pr_change = map[i].change;
    out->pr_merged = strcmp(out->pr_action, "merge") == 0;
    /* "oldrev" is there only when the update brought new commits (a title
     * or label edit is an update too). */
    if (strcmp(out->pr_action, "update") == 0) {
        json_t *oldrev = json_object_get(attrs, "oldrev");
        if (json_is_string(oldrev) && json_string_length(oldrev)) out->pr_change = HOST_PR_UPDATED;
    }
    return 0;
}

static int parse_merge_request(json_t *root, host_event *out, errinfo *err) {
    static const char *w = "Merge Request Hook";
    json_t *attrs = json_object_get(root, "object_attributes");
    long long iid = 0, source = 0, target = 0;

    out->kind = HOST_EVENT_PULL_REQUEST;
    if (!json_is_object(attrs))
        return errinfo_set(err, ERR_INVALID, "%s payload: missing \"object_attributes\"", w);
    if (get_id(attrs, "iid", 0x7fffffff, &iid, w, err) < 0 ||
        get_id(attrs, "source_project_id", (long long)1 << 53, &source, w, err) < 0 ||
        get_id(attrs, "target_project_id", (long long)1 << 53, &target, w, err) < 0 ||
        mr_action(attrs, out, err) < 0 ||
        get_sha(json_object_get(attrs, "last_commit"), "id", out->head_sha, w, err) < 0 ||
        get_str(attrs, "target_branch", 1, out->base_ref, sizeof(out->base_ref), w, err) < 0)
        return -1;
    out->pr_number = (int)iid;
    out->pr_fork = source != target;
    if (get_str(json_object_get(attrs, "source"), "path_with_namespace", 0, out->head_repo,
                sizeof(out->head_repo), w, err) < 0)
        return -1;
    return parse_project(root, 1, out, w, err);
}

int gitlab_webhook_parse(const char *event, const char *body, size_t len, host_event *out,
                         errinfo *err) {
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!event || !*event)
        return errinfo_set(err, ERR_INVALID, "missing X-Gitlab-Event header");
    root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return errinfo_set(err, ERR_INVALID, "malformed JSON at line %d, column %d: %s", jerr.line,
                           jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return errinfo_set(err, ERR_INVALID, "malformed payload: top level is not a JSON object");
    }
    if (strcmp(event, "Push Hook") == 0) {
        rc = parse_push(root, out, err);
    } else if (strcmp(event, "Merge Request Hook") == 0) {
        rc = parse_merge_request(root, out, err);
    } else {
        /* Nothing is acted on: the project is kept for the log line only
         * when it is well-formed. */
        out->kind = HOST_EVENT_IGNORED;
        if (parse_project(root, 0, out, "", NULL) < 0)
            out->repo[0] = out->clone_url[0] = '\0';
        rc = 0;
    }
    json_decref(root);
    return rc;
}
