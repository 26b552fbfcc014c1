/* sqlite_baseline: what the disk allows one delivery at a time, the
 * baseline of the burst's throughput (burst.ratio_to_sqlite_baseline).
 *
 *   sqlite_baseline DB_PATH BODY_FILE N
 *
 * Creates DB_PATH through deploybot's own store_open (so the schema and its
 * indexes are the bot's), then, on a raw SQLite connection with the store's
 * pragmas (WAL, synchronous=FULL, foreign_keys=ON), records N deliveries of
 * the body the burst sends with the store's two INSERTs, one transaction
 * (one fsync) per delivery: what deploybot did before the group commit,
 * without any HTTP. DB_PATH must be on the disk of the bot's data_dir.
 * Prints {"inserts":N,"wall_ms":...,"inserts_per_s":...,"p50_ms":...,"p99_ms":...}. */
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INSERTS 100000

/* The text of store/jobs.c's ADD_DELIVERY and ADD_JOB. */
static const char ADD_DELIVERY[] =
    "INSERT INTO deliveries(id, event, received_at) VALUES(?1, ?2, CAST(strftime('%s','now') AS INTEGER)) "
    "ON CONFLICT(id) DO NOTHING";
static const char ADD_JOB[] =
    "INSERT INTO jobs(delivery, event, payload, created_at) VALUES(?1, ?2, ?3, "
    "CAST(strftime('%s','now') AS INTEGER))";

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *read_all(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;

    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*len + 1)) && fread(buf, 1, (size_t)*len, f) == (size_t)*len)
        buf[*len] = '\0';
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int step_one(sqlite3 *db, sqlite3_stmt *st, const char *id, const char *body, long len) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, "push", -1, SQLITE_STATIC);
    if (body) sqlite3_bind_text(st, 3, body, (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE) return 0;
    fprintf(stderr, "sqlite_baseline: %s\n", sqlite3_errmsg(db));
    return -1;
}

/* One delivery, one transaction, as store_delivery_add does it. */
static int insert(sqlite3 *db, sqlite3_stmt *const st[4], long i, const char *body, long len) {
    char id[64];

    snprintf(id, sizeof(id), "baseline-%06ld", i);
    return sqlite3_step(st[0]) == SQLITE_DONE && sqlite3_reset(st[0]) == SQLITE_OK &&
                   step_one(db, st[1], id, NULL, 0) == 0 && step_one(db, st[2], id, body, len) == 0 &&
                   sqlite3_step(st[3]) == SQLITE_DONE && sqlite3_reset(st[3]) == SQLITE_OK
               ? 0
               : -1;
}

static sqlite3 *open_like_the_store(const char *path) {
    errinfo err;
    sqlite3 *db = NULL;
    store *s = store_open(path, STORE_MKDIR, &err);

    if (!s) {
        fprintf(stderr, "sqlite_baseline: %s\n", err.msg);
        return NULL;
    }
    store_close(s);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL,
                     NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int main(int argc, char **argv) {
    long n = argc == 4 ? atol(argv[3]) : 0, len = 0;
    sqlite3_stmt *st[4] = {NULL};
    const char *sql[4] = {"BEGIN IMMEDIATE", ADD_DELIVERY, ADD_JOB, "COMMIT"};

    if (n < 1 || n > MAX_INSERTS) {
        fprintf(stderr, "usage: sqlite_baseline DB_PATH BODY_FILE N  (N 1..%d)\n", MAX_INSERTS);
        return 2;
    }
    char *body = read_all(argv[2], &len);
    sqlite3 *db = body ? open_like_the_store(argv[1]) : NULL;
    double *lat = calloc((size_t)n, sizeof(*lat)), t0 = now_ms();
    if (!body) perror(argv[2]);
    if (!db || !lat) return 1;
    for (int i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "sqlite_baseline: %s\n", sqlite3_errmsg(db));
            return 1;
        }
    for (long i = 0; i < n; i++) {
        double t = now_ms();
        if (insert(db, st, i, body, len) < 0) return 1;
        lat[i] = now_ms() - t;
    }
    double wall = now_ms() - t0;
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    printf(
        "{\"inserts\":%ld,\"body_bytes\":%ld,\"wall_ms\":%.1f,\"inserts_per_s\":%.1f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f}\n",
        n, len, wall, (double)n / (wall / 1e3), lat[n / 2], lat[(long)(0.99 * (double)(n - 1))]);
    for (int i = 0; i < 4; i++) sqlite3_finalize(st[i]);
    sqlite3_close(db);
    free(lat);
    free(body);
    return 0;
}
