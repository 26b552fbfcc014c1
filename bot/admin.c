/* admin: see admin.h. */
#include "bot/admin.h"
#include "store/locks.h"
#include "store/runs.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The history is the daemon's: without a database there is nothing to show. */
store *admin_open(const char *db_path, int must_exist, errinfo *err) {
    if (must_exist && !store_is_url(db_path) && access(db_path, F_OK) != 0) {
        errinfo_set(err, ERR_NOT_FOUND, "no database at %s (has the bot run with this config?)", db_path);
        return NULL;
    }
    return store_open(db_path, 0, err);
}

static void when(long long ms, char *out, size_t n) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void print_table(json_t *list, FILE *out) {
    size_t i;
    json_t *x;
    fprintf(out, "%-5s %-20s %-5s %-8s %-12s %-13s %-10s %8s  %s\n", "RUN", "WHEN", "ENV", "KIND",
            "COMMIT", "TRIGGER", "STATE", "SECONDS", "RESULT");
    json_array_foreach(list, i, x) {
        char t[32], secs[16] = "-";
        json_t *d = json_object_get(x, "duration_ms");
        when(json_integer_value(json_object_get(x, "created_ms")), t, sizeof(t));
        if (json_is_integer(d)) snprintf(secs, sizeof(secs), "%.1f", json_integer_value(d) / 1000.0);
        fprintf(out, "%-5lld %-20s %-5s %-8s %-12.12s %-13s %-10s %8s  %s\n",
                (long long)json_integer_value(json_object_get(x, "id")), t, str(x, "env"), str(x, "kind"),
                str(x, "sha"), str(x, "trigger"), str(x, "state"), secs, str(x, "result"));
    }
}

int admin_history(const char *db_path, const char *env, int as_json, int limit, FILE *out, errinfo *err) {
    char sha[41];
    store *r = admin_open(db_path, 1, err);
    json_t *list = r ? store_runs_list_json(r, env, limit > 0 ? limit : 50, err) : NULL;
    if (!list) {
        store_close(r);
        return -1;
    }
    if (as_json) {
        json_dumpf(list, out, JSON_INDENT(2));
        fputc('\n', out);
    } else {
        print_table(list, out);
        if (env && store_run_last_good(r, env, sha, NULL) == 1)
            fprintf(out, "last good commit of %s: %s\n", env, sha);
    }
    json_decref(list);
    store_close(r);
    return 0;
}

int admin_lock(store *db, const char *env, const char *reason, const char *who, FILE *out, errinfo *err) {
    if (!reason || !*reason)
        return errinfo_set(err, ERR_INVALID, "lock needs a reason (people will read it in statuses)");
    if (store_lock_set(db, env, reason, who, err) != 0) return -1;
    fprintf(out, "%s locked by %s: %s (plans continue, applies wait for unlock)\n", env, who, reason);
    return 0;
}

int admin_unlock(store *db, const char *env, FILE *out, errinfo *err) {
    int was = 0;
    if (store_lock_clear(db, env, &was, err) != 0) return -1;
    fprintf(out, was ? "%s unlocked\n" : "%s was not locked\n", env);
    return 0;
}

static int is_sha(const char *s) {
    return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

int admin_redeploy(store *r, const char *env, const char *sha, FILE *out, errinfo *err) {
    if (!sha || !is_sha(sha))
        return errinfo_set(err, ERR_INVALID, "redeploy needs a full 40-character commit sha, got \"%.64s\"",
                           sha ? sha : "");
    json_t *last = store_runs_list_json(r, env, 1, err);
    const char *repo = json_string_value(json_object_get(json_array_get(last, 0), "repo"));
    long id = -1;
    if (last && !repo) {
        errinfo_set(err, ERR_NOT_FOUND, "%s has never been deployed by this bot: its repository is unknown", env);
    } else if (last) {
        run_spec s = {0, env, repo, sha, NULL, NULL, 0, "apply", "redeploy"};
        id = store_run_add(r, &s, err);
        if (id >= 0) fprintf(out, "run #%ld queued: apply %s at %.12s (the running bot picks it up)\n", id, env, sha);
    }
    json_decref(last);
    return id >= 0 ? 0 : -1;
}

int admin_cancel(store *db, long id, const char *by, FILE *out, errinfo *err) {
    int rc = store_run_cancel(db, id, by, err);
    if (rc == 1) fprintf(out, "run #%ld canceled: it had not started\n", id);
    if (rc == 2) fprintf(out, "run #%ld asked to stop: it stops before its next AWS call\n", id);
    return rc < 0 ? -1 : 0;
}
