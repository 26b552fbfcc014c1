/* store: opening a connection. See store.h. */
#include "store/sql_backend.h"
#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_is_url(const char *where) {
    return where && (strncmp(where, "postgres://", 11) == 0 || strncmp(where, "postgresql://", 13) == 0);
}

/* Where the URL's password is: between "user:" and '@', or the value of a
 * "password=" parameter. 0 when it has none. */
static size_t password_span(const char *url, size_t *start) {
    const char *auth = strstr(url, "://"), *at, *colon, *p;

    auth = auth ? auth + 3 : url;
    at = strchr(auth, '@');
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon && strcspn(auth, "/?") > (size_t)(at - auth)) {
        *start = (size_t)(colon + 1 - url);
        return (size_t)(at - colon - 1);
    }
    for (p = strchr(url, '?'); p && (p = strstr(p, "password=")); p += 9)
        if (p[-1] == '?' || p[-1] == '&') {
            *start = (size_t)(p + 9 - url);
            return strcspn(p + 9, "&");
        }
    return 0;
}

size_t store_url_password(const char *url, char *out, size_t size) {
    size_t start = 0, n = url ? password_span(url, &start) : 0;

    if (size)
        snprintf(out, size, "%.*s", (int)n, url ? url + start : "");
    return n;
}

/* The URL without its password, for messages: "postgres://bot@db/deploy". */
static char *url_without_password(const char *url) {
    size_t start = 0, n = password_span(url, &start);
    char *d = strdup(url);

    if (!d)
        abort();
    if (n && d[start - 1] == ':')
        start--, n++; /* "user:" loses its colon too */
    memmove(d + start, d + start + n, strlen(d + start + n) + 1);
    return d;
}

static int open_backend(store *s, const char *where, unsigned flags, errinfo *err) {
    if (store_is_url(where))
        return sql_pg_open(s, where, err);
    s->is_file = 1;
    if ((flags & STORE_MKDIR) && fs_mkdir_parent(where, 0700, err) < 0)
        return -1;
    return sql_sqlite_open(s, where, flags, err);
}

store *store_open(const char *where, unsigned flags, errinfo *err) {
    store *s;

    if (!where || !*where) {
        errinfo_set(err, ERR_INVALID, "no database path");
        return NULL;
    }
    if (!(s = calloc(1, sizeof(*s))))
        abort();
    s->wake_fd = -1;
    s->where = store_is_url(where) ? url_without_password(where) : strdup(where);
    if (!s->where)
        abort();
    if (open_backend(s, where, flags, err) < 0 || s->be->migrate(s, err) < 0) {
        errinfo_prefix(err, "%s", s->where);
        store_close(s);
        return NULL;
    }
    return s;
}

int store_probe(const char *url, errinfo *err) {
    store s = {.wake_fd = -1, .where = url_without_password(url)};
    int rc = sql_pg_open(&s, url, err);

    if (rc < 0)
        errinfo_prefix(err, "%s", s.where);
    s.be->close(&s);
    free(s.where);
    return rc;
}

const char *store_where(const store *s) {
    return s->where;
}

void store_wake(store *s, const char *channel) {
    s->be->wake(s, channel);
}

int store_wake_wait(store *s, const char *channel, long long timeout_ms, errinfo *err) {
    return s->be->wait(s, channel, timeout_ms, err);
}

long store_log_pages(const store *s) {
    return s->log_pages;
}

int store_checkpoint(store *s, errinfo *err) {
    return s->is_file ? sql_sqlite_checkpoint(s, err) : 0;
}

void store_close(store *s) {
    if (!s)
        return;
    if (s->be) {
        sql_cache_free(s);
        s->be->close(s);
    }
    free(s->where);
    free(s);
}
