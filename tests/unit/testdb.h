/* testdb: the database a store test opens, on either backend. ctest runs
 * each store test twice: as it is, on SQLite files in a temporary
 * directory, and as unit/<name>[postgres] through tests/integration/with_pg.py,
 * which starts a PostgreSQL and sets DEPLOYBOT_TEST_DATABASE_URL. */
#ifndef DEPLOYBOT_TESTS_TESTDB_H
#define DEPLOYBOT_TESTS_TESTDB_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *testdb_url(void) {
    const char *u = getenv("DEPLOYBOT_TEST_DATABASE_URL");
    return u && *u ? u : NULL;
}

/* Runs sql (statements without results) on the database at where: 0 or -1. */
static int testdb_exec(const char *where, const char *sql) {
    if (strncmp(where, "postgres", 8) == 0) {
        PGconn *c = PQconnectdb(where);
        PGresult *r = PQexec(c, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) fprintf(stderr, "testdb: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    }
    sqlite3 *h = NULL;
    int rc = sqlite3_open(where, &h) == SQLITE_OK && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    sqlite3_close(h);
    return rc;
}

/* A new, empty database for a test: the SQLite file <dir>/<name>, or the
 * PostgreSQL database with its tables dropped. Into buf; returns buf. */
static const char *testdb_fresh(const char *dir, const char *name, char *buf, size_t size) {
    if (!testdb_url()) {
        snprintf(buf, size, "%s/%s", dir, name);
        return buf;
    }
    snprintf(buf, size, "%s", testdb_url());
    if (testdb_exec(buf, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0) {
        fprintf(stderr, "testdb: cannot empty %s\n", buf);
        exit(2);
    }
    return buf;
}

#endif
