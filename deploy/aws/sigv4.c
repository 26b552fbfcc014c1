/* sigv4: AWS Signature Version 4, as specified in the IAM user guide
 * ("Create a signed AWS API request") and checked against AWS's test suite.
 *
 * Canonical request:
 *   METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n hex(sha256(body))
 * where URI is the path URI-encoded once more ('/' kept; this double encoding
 * is what every service but S3 expects, and deploybot never talks to S3),
 * QUERY is the parameters decoded, re-encoded with the AWS rules and sorted by
 * key then value, and HEADERS are lower-cased, trimmed, sorted and merged. */
#include "deploy/aws/sigv4.h"
#include "util/digest.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ASCII only, whatever the locale says a letter is. */
static int unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

void sigv4_uri_encode(strbuf *b, const char *s, size_t n, int keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            strbuf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            strbuf_put(b, e, 3);
        }
    }
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX only: '+' stays a literal plus, as AWS reads query strings. */
static void uri_decode(strbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            strbuf_putc(b, (char)(hi << 4 | lo));
            i += 2;
        } else {
            strbuf_putc(b, s[i]);
        }
    }
}

/* ---- canonical query string ---- */

typedef struct {
    char *key, *value;
} qparam;

static int qparam_cmp(const void *a, const void *b) {
    const qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Normalises one "k=v" piece: decode, then encode the AWS way. */
static char *canonical_part(const char *s, size_t n) {
    strbuf raw = {0}, enc = {0};
    uri_decode(&raw, s, n);
    sigv4_uri_encode(&enc, raw.s ? raw.s : "", raw.len, 0);
    free(raw.s);
    return strbuf_take(&enc);
}

static void canonical_query(strbuf *out, const char *query) {
    size_t n = 0, cap = 8;
    qparam *ps = malloc(cap * sizeof *ps);
    if (!ps) abort();
    for (const char *p = query ? query : ""; *p;) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            if (n == cap && !(ps = realloc(ps, (cap *= 2) * sizeof *ps))) abort();
            ps[n].key = canonical_part(p, klen);
            ps[n].value = eq ? canonical_part(eq + 1, len - klen - 1)
                             : canonical_part("", 0);
            n++;
        }
        p += len;
        if (*p == '&') p++;
    }
    qsort(ps, n, sizeof *ps, qparam_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i) strbuf_putc(out, '&');
        strbuf_puts(out, ps[i].key);
        strbuf_putc(out, '=');
        strbuf_puts(out, ps[i].value);
        free(ps[i].key);
        free(ps[i].value);
    }
    free(ps);
}

/* ---- canonical headers ---- */

typedef struct {
    char *name;
    char *value;
    size_t order;
} chdr;

static int chdr_cmp(const void *a, const void *b) {
    const chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    /* Keep repeated headers in the order given: their values are joined. */
    return (x->order > y->order) - (x->order < y->order);
}

/* Trim, and squeeze runs of spaces to one ("Trimall" in the spec). */
static char *trimall(const char *v) {
    strbuf b = {0};
    while (*v == ' ' || *v == '\t') v++;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            const char *q = v;
            while (*q == ' ' || *q == '\t') q++;
            if (!*q) break;
            strbuf_putc(&b, ' ');
            v = q - 1;
        } else {
            strbuf_putc(&b, *v);
        }
    }
    return strbuf_take(&b);
}

/* Appends "name:v1,v2\n"... to hdrs and "name;name2" to signed. */
static void canonical_headers(const sigv4_request *r, strbuf *hdrs, strbuf *signed_) {
    size_t n = r->n_headers;
    chdr *h = calloc(n ? n : 1, sizeof *h);
    if (!h) abort();
    for (size_t i = 0; i < n; i++) {
        h[i].name = strdup(r->headers[i].name);
        if (!h[i].name) abort();
        for (char *c = h[i].name; *c; c++) *c = ascii_lower(*c);
        h[i].value = trimall(r->headers[i].value ? r->headers[i].value : "");
        h[i].order = i;
    }
    qsort(h, n, sizeof *h, chdr_cmp);
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
        if (same) {
            hdrs->len--; /* drop the '\n', append ",v" */
            strbuf_putc(hdrs, ',');
        } else {
            if (signed_->len) strbuf_putc(signed_, ';');
            strbuf_puts(signed_, h[i].name);
            strbuf_puts(hdrs, h[i].name);
            strbuf_putc(hdrs, ':');
        }
        strbuf_puts(hdrs, h[i].value);
        strbuf_putc(hdrs, '\n');
    }
    for (size_t i = 0; i < n; i++) free(h[i].name), free(h[i].value);
    free(h);
}

/* ---- the three steps ---- */

int sigv4_canonical_request(const sigv4_request *req, char **out) {
    strbuf b = {0}, hdrs = {0}, signed_ = {0};
    char body_hash[DIGEST_SHA256_HEX];

    *out = NULL;
    if (!req->method || !req->path) return -1;
    strbuf_puts(&b, req->method);
    strbuf_putc(&b, '\n');
    sigv4_uri_encode(&b, req->path, strlen(req->path), 1);
    strbuf_putc(&b, '\n');
    canonical_query(&b, req->query);
    strbuf_putc(&b, '\n');
    canonical_headers(req, &hdrs, &signed_);
    if (hdrs.s) strbuf_put(&b, hdrs.s, hdrs.len);
    strbuf_putc(&b, '\n');
    if (signed_.s) strbuf_put(&b, signed_.s, signed_.len);
    strbuf_putc(&b, '\n');
    digest_sha256_hex(req->body, req->body_len, body_hash);
    strbuf_puts(&b, body_hash);
    free(hdrs.s);
    free(signed_.s);
    *out = strbuf_take(&b);
    return 0;
}

static int valid_params(const sigv4_params *p) {
    return p->access_key && p->secret_key && p->region && p->service &&
           p->amz_date && strlen(p->amz_date) == 16 && p->amz_date[8] == 'T';
}

int sigv4_string_to_sign(const sigv4_request *req, const sigv4_params *p,
                         char **out) {
    char *creq, hash[DIGEST_SHA256_HEX];

    *out = NULL;
    if (!valid_params(p) || sigv4_canonical_request(req, &creq) < 0) return -1;
    digest_sha256_hex(creq, strlen(creq), hash);
    free(creq);
    if (asprintf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
                 p->amz_date, p->amz_date, p->region, p->service, hash) < 0) {
        *out = NULL;
        return -1;
    }
    return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 * "aws4_request"). */
static void signing_key(const sigv4_params *p, unsigned char key[32]) {
    size_t slen = strlen(p->secret_key);
    char *k = malloc(slen + 5);
    if (!k) abort();
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, p->secret_key, slen + 1);
    digest_hmac_sha256(k, slen + 4, p->amz_date, 8, key);
    digest_cleanse(k, slen + 4); /* it holds the secret */
    free(k);
    digest_hmac_sha256(key, 32, p->region, strlen(p->region), key);
    digest_hmac_sha256(key, 32, p->service, strlen(p->service), key);
    digest_hmac_sha256(key, 32, "aws4_request", 12, key);
}

/* Only the header names, in canonical order, for the SignedHeaders= part. */
static char *signed_header_list(const sigv4_request *req) {
    strbuf hdrs = {0}, signed_ = {0};
    canonical_headers(req, &hdrs, &signed_);
    free(hdrs.s);
    return strbuf_take(&signed_);
}

int sigv4_authorization(const sigv4_request *req, const sigv4_params *p,
                        char *out, size_t outlen) {
    char *sts, sig[DIGEST_SHA256_HEX];
    unsigned char key[DIGEST_SHA256_LEN];

    if (sigv4_string_to_sign(req, p, &sts) < 0) return -1;
    signing_key(p, key);
    digest_hmac_sha256_hex(key, sizeof key, sts, strlen(sts), sig);
    digest_cleanse(key, sizeof key);
    free(sts);

    char *signed_ = signed_header_list(req);
    int n = snprintf(out, outlen,
                     "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                     "SignedHeaders=%s, Signature=%s",
                     p->access_key, p->amz_date, p->region, p->service,
                     signed_, sig);
    free(signed_);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
