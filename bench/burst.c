/* burst: a small, bounded load generator for the webhook endpoint.
 *
 *   burst URL BODY_FILE N CONCURRENCY ID_PREFIX IDS_OUT [RATE]
 *
 * Sends N POSTs of the same GitHub push body to URL, at most CONCURRENCY in
 * flight (libcurl multi, keep-alive), each with its own X-GitHub-Delivery
 * (ID_PREFIX-<n>) and X-Hub-Signature-256 computed once with the secret in
 * $DEPLOYBOT_WEBHOOK_SECRET (the body never changes, so neither does the
 * signature). Writes to IDS_OUT one line per delivery,
 *   "delivery status job_id start_ms latency_ms"
 * (job_id 0 unless the server answered 202 {"queued":true,"job":N}; status 0
 * for a transport error; start_ms from the first request), so the caller can
 * check every acknowledged delivery is really in the queue and look at the
 * tail. Prints one JSON object: counts by status, wall time and ack
 * latencies (ms).
 *
 * Latency is measured from handing the request to libcurl to the last byte
 * of the answer: it includes the server's fsync of the job, which is the
 * point. Only loopback URLs are accepted: this is a benchmark, not a tool.
 *
 * With RATE (requests per second) the load is open-loop: request i is due
 * at i / RATE seconds whatever the answers do (CONCURRENCY only bounds the
 * connections), and its latency counts from when it was due, so a server
 * that falls behind shows it (no coordinated omission). */
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONCURRENCY 512
#define MAX_REQUESTS 100000

typedef struct {
    CURL *h;
    struct curl_slist *hdrs;
    long index;     /* which delivery this slot carries */
    double started; /* ms */
    char answer[512];
    size_t alen;
} slot;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg) {
    slot *s = arg;
    size_t len = sz * n, room = sizeof(s->answer) - 1 - s->alen;
    memcpy(s->answer + s->alen, p, len < room ? len : room);
    s->alen += len < room ? len : room;
    s->answer[s->alen] = '\0';
    return len;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 65536 > cap) {
            char *nb = realloc(buf, cap = (n + 65536) * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

static void signature(const char *secret, const char *body, size_t len, char out[72]) {
    unsigned char mac[32];
    unsigned int mlen = sizeof(mac);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &mlen);
    strcpy(out, "sha256=");
    for (unsigned i = 0; i < mlen; i++) sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p) {
    if (n == 0) return 0;
    long i = (long)(p * (double)(n - 1) + 0.5);
    return v[i];
}

typedef struct {
    const char *url, *body, *sig, *prefix;
    size_t blen;
} request_spec;

/* due: when the request was due (ms), what its latency counts from. */
static void start(CURLM *m, slot *s, const request_spec *rq, long index, double due) {
    char h[256];
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
    s->hdrs = curl_slist_append(s->hdrs, "X-GitHub-Event: push");
    s->hdrs = curl_slist_append(s->hdrs, "User-Agent: GitHub-Hookshot/bench");
    s->hdrs = curl_slist_append(s->hdrs, "Expect:"); /* no 100-continue round trip */
    snprintf(h, sizeof(h), "X-GitHub-Delivery: %s-%06ld", rq->prefix, index);
    s->hdrs = curl_slist_append(s->hdrs, h);
    snprintf(h, sizeof(h), "X-Hub-Signature-256: %s", rq->sig);
    s->hdrs = curl_slist_append(s->hdrs, h);
    curl_easy_setopt(s->h, CURLOPT_URL, rq->url);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, rq->body);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->blen);
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
    s->index = index;
    s->alen = 0;
    s->answer[0] = '\0';
    s->started = due;
    curl_multi_add_handle(m, s->h);
}

int main(int argc, char **argv) {
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: burst URL BODY_FILE N CONCURRENCY ID_PREFIX IDS_OUT [RATE]\n");
        return 2;
    }
    request_spec rq = {.url = argv[1], .prefix = argv[5]};
    long n = atol(argv[3]), conc = atol(argv[4]);
    double rate = argc == 8 ? atof(argv[7]) : 0;
    const char *secret = getenv("DEPLOYBOT_WEBHOOK_SECRET");
    if (strncmp(rq.url, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "burst: only http://127.0.0.1:PORT/... is allowed\n");
        return 2;
    }
    if (n < 1 || n > MAX_REQUESTS || conc < 1 || conc > MAX_CONCURRENCY) {
        fprintf(stderr, "burst: N must be 1..%d and CONCURRENCY 1..%d\n", MAX_REQUESTS, MAX_CONCURRENCY);
        return 2;
    }
    if (argc == 8 && !(rate >= 1 && rate <= 1e6)) {
        fprintf(stderr, "burst: RATE must be 1..1000000 requests per second\n");
        return 2;
    }
    if (!secret || !*secret) {
        fprintf(stderr, "burst: set DEPLOYBOT_WEBHOOK_SECRET\n");
        return 2;
    }
    char *body = read_all(argv[2], &rq.blen), sig[72];
    if (!body) {
        perror(argv[2]);
        return 1;
    }
    rq.body = body;
    signature(secret, body, rq.blen, sig);
    rq.sig = sig;
    FILE *ids = fopen(argv[6], "w");
    if (!ids) {
        perror(argv[6]);
        return 1;
    }
    if (conc > n) conc = n;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
    slot *slots = calloc((size_t)conc, sizeof(*slots)), **idle = calloc((size_t)conc, sizeof(*idle));
    double *lat = calloc((size_t)n, sizeof(*lat));
    long next = 0, done = 0, by_status[6] = {0}, transport_errors = 0, queued = 0, not_queued = 0, n_idle = 0;
    double t0 = now_ms(), gap = rate > 0 ? 1e3 / rate : 0;
    for (long i = 0; i < conc; i++) {
        slots[i].h = curl_easy_init();
        idle[n_idle++] = &slots[i];
    }
    while (done < n) {
        int running = 0, left = 0, wait_ms = 100;
        double due;
        /* Closed loop: every idle connection sends at once. Open loop: what
         * is due, when a connection is free (else it waits, and that counts). */
        while (next < n && n_idle > 0 && (due = rate > 0 ? t0 + (double)next * gap : now_ms()) <= now_ms()) {
            start(m, idle[--n_idle], &rq, next, due);
            next++;
        }
        if (rate > 0 && next < n && n_idle > 0) {
            double ahead = t0 + (double)next * gap - now_ms();
            wait_ms = ahead < 1 ? 1 : ahead > 100 ? 100
                                                  : (int)ahead;
        }
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            double l = now_ms() - s->started;
            lat[done++] = l;
            long code = 0, job_id = 0;
            if (msg->data.result != CURLE_OK) {
                transport_errors++;
            } else {
                curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
                by_status[code >= 100 && code < 600 ? code / 100 : 0]++;
                const char *job = strstr(s->answer, "\"job\":");
                if (code == 202 && strstr(s->answer, "\"queued\":true") && job && atol(job + 6) > 0) {
                    job_id = atol(job + 6);
                    queued++;
                } else {
                    not_queued++;
                }
            }
            fprintf(ids, "%s-%06ld %ld %ld %.3f %.3f\n", rq.prefix, s->index, code, job_id, s->started - t0, l);
            curl_multi_remove_handle(m, s->h);
            idle[n_idle++] = s;
        }
        if (done < n && (n_idle == 0 || next >= n || rate > 0)) curl_multi_poll(m, NULL, 0, wait_ms, NULL);
    }
    double wall = now_ms() - t0;
    fclose(ids);
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    printf(
        "{\"requests\":%ld,\"concurrency\":%ld,\"body_bytes\":%zu,\"wall_ms\":%.1f,"
        "\"offered_rps\":%.1f,\"throughput_rps\":%.1f,\"status\":{\"2xx\":%ld,\"4xx\":%ld,\"5xx\":%ld,\"other\":%ld},"
        "\"transport_errors\":%ld,\"queued\":%ld,\"not_queued\":%ld,"
        "\"latency_ms\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f}}\n",
        n, conc, rq.blen, wall, rate, (double)n / (wall / 1e3), by_status[2], by_status[4], by_status[5],
        by_status[0] + by_status[1] + by_status[3], transport_errors, queued, not_queued,
        pct(lat, n, 0.50), pct(lat, n, 0.90), pct(lat, n, 0.99), lat[n - 1]);
    for (long i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].h);
        curl_slist_free_all(slots[i].hdrs);
    }
    curl_multi_cleanup(m);
    curl_global_cleanup();
    free(slots);
    free(idle);
    free(lat);
    free(body);
    return 0;
}
