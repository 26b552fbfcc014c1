/* fetch_bench: what one push costs deploybot's git side, with deploybot's
 * own code (git/cfgrepo + git/changes), the way the worker does it.
 *
 *   fetch_bench URL MIRROR_DIR
 *
 * Opens the mirror, cloning URL into MIRROR_DIR when it is empty, and prints
 * {"open_ms": ...}. Then, like the worker which keeps its mirror open, reads
 * lines "BEFORE AFTER" (two commit shas) from stdin and for each prints one
 * JSON line: the incremental fetch until AFTER is there, then reading
 * deploybot.json at AFTER + diffing BEFORE..AFTER into environments:
 *   {"fetch_ms": ..., "diff_ms": ..., "paths": N, "envs": "prd", "reason": "diff"}
 * or {"error": "..."}. bench/bench.py drives it. */
#include "git/cfgrepo.h"
#include "git/changes.h"
#include "deploy/repoconfig.h"
#include "bot/repolayout.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Error text goes into JSON: keep it printable and quote-free. */
static void print_error(const char *what, const char *err) {
    printf("{\"error\":\"%s: ", what);
    for (const char *p = err; *p; p++) putchar(*p == '"' || *p == '\\' || *p < 0x20 ? '\'' : *p);
    printf("\"}\n");
    fflush(stdout);
}

static int diff(cfgrepo *r, const char *before, const char *after, change_set *cs, errinfo *err) {
    size_t len;
    int missing = 0;
    repoconfig rc;
    char *text = cfgrepo_read_file(r, after, "deploybot.json", SIZE_MAX, &len, &missing, err);
    if (!text)
        return missing ? errinfo_set(err, ERR_NOT_FOUND, "deploybot.json is missing at %.12s", after) : -1;
    int ok = repoconfig_parse(text, len, &rc, err);
    free(text);
    if (ok != 0) return -1;
    changes_layout l;
    repolayout_from_config(&rc, &l);
    ok = changes_between(r, &l, before, after, cs, err);
    repolayout_free(&l);
    repoconfig_free(&rc);
    return ok;
}

static void one_push(cfgrepo *r, const char *before, const char *after) {
    errinfo err;
    change_set cs;
    double t0 = now_ms();
    if (!cfgrepo_has_commit(r, after) && cfgrepo_fetch(r, after, &err) != 0) {
        print_error("fetch", err.msg);
        return;
    }
    double t1 = now_ms();
    if (diff(r, before, after, &cs, &err) != 0) {
        print_error("diff", err.msg);
        return;
    }
    double t2 = now_ms();
    printf("{\"fetch_ms\":%.2f,\"diff_ms\":%.2f,\"paths\":%zu,\"envs\":\"", t1 - t0, t2 - t1, cs.n_paths);
    for (size_t i = 0; i < cs.n_envs; i++) printf("%s%s", i ? "," : "", cs.envs[i]);
    printf("\",\"reason\":\"%s\"}\n", cs.reason);
    fflush(stdout);
    change_set_free(&cs);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fetch_bench URL MIRROR_DIR  (then \"BEFORE AFTER\" lines on stdin)\n");
        return 2;
    }
    char line[256], before[64], after[64];
    errinfo err;
    double t0 = now_ms();
    cfgrepo *r = cfgrepo_open(argv[1], argv[2], NULL, &err);
    if (!r) {
        print_error("open", err.msg);
        return 1;
    }
    printf("{\"open_ms\":%.2f}\n", now_ms() - t0);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        if (sscanf(line, "%63s %63s", before, after) != 2) {
            print_error("input", "expected \"BEFORE AFTER\"");
            continue;
        }
        one_push(r, before, after);
    }
    cfgrepo_close(r);
    return 0;
}
