/* cfgrepo: the bot's bare mirror of the config repository. See cfgrepo.h. */
#include "git/cfgrepo.h"
#include "git/localclone.h"
#include "util/fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define FETCH_REFSPEC "+refs/heads/*:refs/remotes/origin/*"

struct cfgrepo {
    git_repository *repo;
    char *url; /* as stored in the mirror's config (never has a token) */
    char *dir;
    cfgrepo_cred_fn cred; /* NULL when the remote gets no credentials */
    void *cred_arg;
    int lock_fd; /* the mirror directory, for flock */
};

/* State of one fetch's authentication, handed to the credentials callback. */
typedef struct {
    const cfgrepo *r;
    int attempts;
    cfgrepo_cred cred; /* what was given, kept to mask it in messages; wiped */
    char msg[512];     /* why we refused, replaces libgit2's vaguer message */
    err_code code;     /* of msg: ERR_REMOTE, or the callback's (an outage is retried) */
} auth_state;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

/* libgit2's init is reference counted; the bot keeps it for its lifetime, so
 * the matching shutdown is left to the process exit (or to tests). */
static void init_libgit2(void) { init_rc = git_libgit2_init(); }

/* ---- error text -------------------------------------------------------- */

static const char *git_msg(void) {
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

/* Belt and braces: a remote could echo what it was sent, so the token is
 * masked in whatever text reaches the caller. */
static void scrub_token(const char *tok, errinfo *err) {
    size_t tl = tok ? strlen(tok) : 0;
    char *p;
    if (!err || tl < 4)
        return;
    while ((p = strstr(err->msg, tok)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + tl, strlen(p + tl) + 1);
    }
}

/* ---- URLs -------------------------------------------------------------- */

/* Copies the host of a scheme://[user@]host[:port]/path URL into `out`,
 * and its port (the scheme's default when none is written) into *port. */
static int url_host(const char *url, char *out, size_t outlen, long *port) {
    const char *p = strstr(url, "://"), *end, *at, *after;
    size_t n;
    if (!p)
        return -1;
    *port = !strncasecmp(url, "https://", 8) ? 443 : 80;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    after = end;
    if (*p == '[') { /* [::1]:8080 */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return -1;
        after = close + 1;
        end = close;
        p++;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon)
            after = end = colon;
    }
    if (after < p + strcspn(p, "/?#") && *after == ':')
        *port = strtol(after + 1, NULL, 10);
    n = (size_t)(end - p);
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int is_loopback(const char *host) {
    return !strcasecmp(host, "localhost") || !strcmp(host, "::1") ||
           !strncmp(host, "127.", 4);
}

/* The token may go to `req_url` only if it is the configured origin (host
 * and port: another port is another server), over TLS (plain http only to
 * loopback, which never leaves the machine). libgit2 follows a redirect and
 * asks again for the new URL: this keeps it from handing the token on. */
static int token_may_go_to(const char *conf_url, const char *req_url) {
    char ch[256], rh[256];
    long cp, rp;
    if (url_host(conf_url, ch, sizeof ch, &cp) || url_host(req_url, rh, sizeof rh, &rp))
        return 0;
    if (strcasecmp(ch, rh) || cp != rp)
        return 0;
    if (!strncasecmp(req_url, "https://", 8))
        return 1;
    return !strncasecmp(req_url, "http://", 7) && is_loopback(rh);
}

/* For messages: the URL without any user:password@ part. */
static void url_for_humans(const char *url, char *out, size_t outlen) {
    const char *p = strstr(url, "://"), *end, *at;
    if (!p) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    end = p + 3 + strcspn(p + 3, "/?#");
    at = memchr(p + 3, '@', (size_t)(end - p - 3));
    if (!at)
        snprintf(out, outlen, "%s", url);
    else
        snprintf(out, outlen, "%.*s%s", (int)(p + 3 - url), url, at + 1);
}

/* Local paths are stored absolute so the mirror keeps working when the
 * daemon's working directory changes. */
static char *normalise_url(const char *url) {
    char abs[PATH_MAX];
    if (!strstr(url, "://") && realpath(url, abs))
        return strdup(abs);
    return strdup(url);
}

/* ---- fetch ------------------------------------------------------------- */

static int credentials_refuse(auth_state *a, const char *fmt, const char *arg) {
    snprintf(a->msg, sizeof a->msg, fmt, arg);
    return -1;
}

static int credentials_cb(git_credential **out, const char *url,
                          const char *user_from_url, unsigned int allowed,
                          void *payload) {
    auth_state *a = payload;
    errinfo why = {0};
    (void)user_from_url;

    if (!a->r->cred)
        return credentials_refuse(a, "the remote requires authentication: %s",
                                  "configure a token for the repository");
    if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT))
        return credentials_refuse(a,
                                  "the remote asks for an authentication method "
                                  "other than a token; use an https URL%s",
                                  "");
    if (a->attempts++ > 0) /* libgit2 asks again after a 401: don't loop */
        return credentials_refuse(a,
                                  "the remote rejected the token in %s; check that it "
                                  "is valid and can read the repository",
                                  a->cred.source);
    /* Asked before the token is obtained: a redirect's target gets nothing. */
    if (!token_may_go_to(a->r->url, url))
        return credentials_refuse(a,
                                  "refusing to send the repository's token to %s: it "
                                  "is only sent over https to the configured origin",
                                  "a redirect's target or another host");
    if (a->r->cred(a->r->cred_arg, a->r->url, &a->cred, &why) < 0) {
        a->code = why.code;
        return credentials_refuse(a, "the remote requires authentication: %.400s", why.msg);
    }
    return git_credential_userpass_plaintext_new(out, a->cred.user, a->cred.password);
}

/* Fetches (and the first init) into one mirror are serialised with flock
 * on the mirror directory itself, across threads (each cfgrepo has its own
 * open file description) and processes: libgit2 fails instead of waiting
 * when another writer holds a ref's .lock. Readers need no lock: objects
 * are immutable and refs are replaced by rename. */
static int lock_mirror(cfgrepo *r, errinfo *err) {
    int rc;
    while ((rc = flock(r->lock_fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "locking mirror %s: %s", r->dir,
                           strerror(errno));
    return 0;
}

static void unlock_mirror(cfgrepo *r) { flock(r->lock_fd, LOCK_UN); }

/* The fetch goes through an in-memory remote rather than git_remote_lookup:
 * libgit2 1.5 leaks in the url.*.insteadOf scan that lookup does, and the
 * URL given to cfgrepo_open is the authority anyway. remote.origin.* in the
 * mirror's config is kept for people running git in it. `extra`, when not
 * NULL, is one more refspec fetched in the same round trip; pruning then
 * only concerns the refs the refspecs name, so no other extra ref goes. */
static int fetch_once(cfgrepo *r, const char *extra, auth_state *auth) {
    git_remote *remote = NULL;
    git_remote_create_options co;
    git_fetch_options fo; /* _INIT macros trip -Wmissing-field-initializers */
    char *specs[2] = {FETCH_REFSPEC, (char *)extra};
    git_strarray refspecs = {specs, extra ? 2 : 1};
    int rc;

    git_remote_create_options_init(&co, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    co.repository = r->repo;
    co.fetchspec = FETCH_REFSPEC;
    co.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
    if ((rc = git_remote_create_with_opts(&remote, r->url, &co)) < 0)
        return rc;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    fo.callbacks.credentials = credentials_cb;
    fo.callbacks.payload = auth;
    fo.prune = GIT_FETCH_PRUNE;                       /* deleted branches must not linger */
    fo.update_fetchhead = 0;                          /* unused, and one more lock to fight over */
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* heads only */
    fo.proxy_opts.type = GIT_PROXY_AUTO;
    rc = git_remote_fetch(remote, &refspecs, &fo, "deploybot: fetch");
    git_remote_free(remote);
    return rc;
}

/* A refused token is for a person to fix (ERR_REMOTE; a credentials
 * callback's failure keeps its own code, so a token source that got no
 * answer is retried); anything else (no answer, a broken connection) may
 * pass, so the job retries it. */
static int fetch_all(cfgrepo *r, const char *extra, const char *verb, errinfo *err) {
    auth_state auth = {.r = r, .code = ERR_REMOTE};
    char where[512];
    int rc;

    if (lock_mirror(r, err) < 0)
        return -1;
    rc = fetch_once(r, extra, &auth);
    unlock_mirror(r);
    if (rc < 0) {
        url_for_humans(r->url, where, sizeof where);
        errinfo_set(err, auth.msg[0] ? auth.code : ERR_UNAVAILABLE,
                    "%s %s: %s", verb, where,
                    auth.msg[0] ? auth.msg : git_msg());
        scrub_token(auth.cred.password, err);
    }
    explicit_bzero(&auth.cred, sizeof auth.cred);
    return rc < 0 ? -1 : 0;
}

static int parse_sha(const char *sha, git_oid *oid) {
    size_t i;
    if (!sha)
        return -1;
    for (i = 0; i < GIT_OID_HEXSZ; i++)
        if (!isxdigit((unsigned char)sha[i]))
            return -1;
    if (sha[i] != '\0')
        return -1;
    return git_oid_fromstr(oid, sha);
}

/* The fetch of every branch, plus `extra` (a refspec or NULL), after which
 * `need_sha` (or NULL) must be in the mirror. */
static int fetch_need(cfgrepo *r, const char *extra, const char *need_sha, errinfo *err) {
    git_oid oid;
    char where[512];
    if (need_sha && parse_sha(need_sha, &oid) < 0)
        return errinfo_set(err, ERR_INVALID,
                           "\"%.64s\" is not a commit sha "
                           "(40 hex digits)",
                           need_sha);
    if (fetch_all(r, extra, "fetching", err) < 0)
        return -1;
    if (need_sha && !cfgrepo_has_commit(r, need_sha)) {
        /* Fetching one sha is not possible over smart HTTP in general, so
         * refs are the only way in: the caller retries later. */
        url_for_humans(r->url, where, sizeof where);
        return errinfo_set(err, ERR_UNAVAILABLE,
                           "commit %s is not on the "
                           "remote (yet): no branch of %s%s%s contains it; retry "
                           "once the push is visible",
                           need_sha, where, extra ? " nor its ref " : "",
                           extra ? strchr(extra, ':') + 1 : "");
    }
    return 0;
}

int cfgrepo_fetch(cfgrepo *r, const char *need_sha, errinfo *err) {
    return fetch_need(r, NULL, need_sha, err);
}

/* Refs the mirror keeps under their own name: full, no wildcard, and not
 * where the branches live (refs/heads/ is unused in a mirror, but a ref
 * there would pass for a local branch to people running git in it). */
static int ref_fetchable(const char *ref) {
    int valid = 0;
    return !strncmp(ref, "refs/", 5) && strncmp(ref, "refs/heads/", 11) &&
           strncmp(ref, "refs/remotes/", 13) && !strpbrk(ref, "*:+") &&
           git_reference_name_is_valid(&valid, ref) == 0 && valid;
}

int cfgrepo_fetch_ref(cfgrepo *r, const char *ref, const char *need_sha, errinfo *err) {
    char spec[600];
    if (!ref || strlen(ref) > 280 || !ref_fetchable(ref))
        return errinfo_set(err, ERR_INVALID,
                           "\"%.64s\" cannot be fetched into the mirror: a "
                           "full ref name outside refs/heads/ and refs/remotes/ "
                           "is needed (e.g. refs/pull/7/head)",
                           ref ? ref : "(null)");
    snprintf(spec, sizeof spec, "+%s:%s", ref, ref);
    return fetch_need(r, spec, need_sha, err);
}

/* ---- open / close ------------------------------------------------------ */

/* 1 when `dir` holds anything, 0 when empty or absent. */
static int dir_has_entries(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return found;
}

/* A mirror whose first clone never finished has no remote branches yet. */
static int has_remote_branches(git_repository *repo) {
    git_reference_iterator *it;
    git_reference *ref;
    int found;
    if (git_reference_iterator_glob_new(&it, repo, "refs/remotes/origin/*") < 0)
        return 0;
    found = git_reference_next(&ref, it) == 0;
    if (found)
        git_reference_free(ref);
    git_reference_iterator_free(it);
    return found;
}

/* Sets `key` in the mirror's config unless it already has `value`. */
static int config_ensure(git_config *cfg, const char *key, const char *value) {
    git_buf cur = GIT_BUF_INIT;
    int rc = git_config_get_string_buf(&cur, cfg, key);
    int same = rc == 0 && !strcmp(cur.ptr, value);
    git_buf_dispose(&cur);
    if (rc < 0 && rc != GIT_ENOTFOUND)
        return rc;
    return same ? 0 : git_config_set_string(cfg, key, value);
}

/* The body of open_or_init, under the lock: two processes must not init or
 * write the config at the same time. */
static int open_locked(cfgrepo *r, errinfo *err) {
    unsigned flags = GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE;
    git_config *cfg = NULL;
    int rc;

    rc = git_repository_open_ext(&r->repo, r->dir, flags, NULL);
    if (rc == GIT_ENOTFOUND) {
        if (dir_has_entries(r->dir))
            return errinfo_set(err, ERR_CONFLICT,
                               "%s exists and is not a git "
                               "repository; remove it or choose another "
                               "mirror directory",
                               r->dir);
        rc = git_repository_init(&r->repo, r->dir, 1);
    }
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "opening mirror %s: %s", r->dir,
                           git_msg());
    rc = git_repository_config(&cfg, r->repo);
    if (rc == 0)
        rc = config_ensure(cfg, "remote.origin.url", r->url);
    if (rc == 0)
        rc = config_ensure(cfg, "remote.origin.fetch", FETCH_REFSPEC);
    git_config_free(cfg);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "configuring remote of mirror %s: %s",
                           r->dir, git_msg());
    return 0;
}

/* Opens the bare repository in r->dir, creating it if need be. init +
 * config + fetch rather than git_clone so that an interrupted first clone is
 * simply resumed by the next open, and a moved URL is picked up. */
static int open_or_init(cfgrepo *r, int *fresh, errinfo *err) {
    int rc;

    if (fs_mkdir_p(r->dir, 0777, err) < 0)
        return errinfo_prefix(err, "creating mirror directory %s", r->dir);
    if ((r->lock_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return errinfo_set(err, ERR_IO, "creating mirror directory %s: %s",
                           r->dir, strerror(errno));
    if (lock_mirror(r, err) < 0)
        return -1;
    rc = open_locked(r, err);
    unlock_mirror(r);
    if (rc == 0)
        *fresh = !has_remote_branches(r->repo) || localclone_pending(r->dir);
    return rc;
}

/* Starts the first clone over as an ordinary fetch: the objects linked
 * were torn (git/localclone.h). Called with the mirror locked. */
static int mirror_restart(cfgrepo *r, errinfo *err) {
    git_repository_free(r->repo);
    r->repo = NULL;
    if (fs_empty_dir(r->dir, err) < 0)
        return errinfo_prefix(err, "starting the clone of %s over", r->dir);
    return open_locked(r, err);
}

/* 0 when the linked objects hold every fetched commit whole, else the
 * mirror is emptied and the clone done again without them. */
static int linked_check(cfgrepo *r, errinfo *err) {
    errinfo torn;
    int rc;

    if (lock_mirror(r, err) < 0)
        return -1;
    rc = localclone_complete(r->repo, r->dir, &torn);
    if (rc < 0)
        *err = torn;
    else if (rc == 0)
        rc = mirror_restart(r, err);
    if (rc >= 0)
        localclone_checked(r->dir);
    unlock_mirror(r);
    return rc == 0 ? fetch_all(r, NULL, "cloning", err) : rc < 0 ? -1
                                                                 : 0;
}

/* A repository on this machine lends its objects first (git/localclone.h):
 * the fetch then only writes the refs. */
static int first_clone(cfgrepo *r, errinfo *err) {
    int linked;

    if (lock_mirror(r, err) < 0)
        return -1;
    linked = localclone_objects(r->url, r->dir, err);
    unlock_mirror(r);
    if (linked < 0)
        return errinfo_prefix(err, "cloning into %s", r->dir);
    if (fetch_all(r, NULL, "cloning", err) < 0)
        return -1;
    return linked ? linked_check(r, err) : 0;
}

/* libgit2's CA setting is process-wide: it is set when a mirror names
 * another file than the one in use, serialised here. */
static int use_ca_file(const char *path, errinfo *err) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char current[PATH_MAX];
    int rc = 0;
    if (!path || !*path)
        return 0;
    pthread_mutex_lock(&mu);
    if (strcmp(current, path)) {
        rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, path, NULL);
        if (rc == 0)
            snprintf(current, sizeof current, "%s", path);
        else
            errinfo_set(err, ERR_INVALID, "CA file %s: %s", path, git_msg());
    }
    pthread_mutex_unlock(&mu);
    return rc < 0 ? -1 : 0;
}

cfgrepo *cfgrepo_open(const char *url, const char *dir, const cfgrepo_options *opts,
                      errinfo *err) {
    cfgrepo *r;
    int fresh = 0;

    if (!url || !*url || !dir || !*dir) {
        errinfo_set(err, ERR_INVALID,
                    "config repository: url and mirror "
                    "directory must both be set");
        return NULL;
    }
    pthread_once(&init_once, init_libgit2);
    if (init_rc < 0) {
        errinfo_set(err, ERR_INTERNAL, "initialising libgit2: %s", git_msg());
        return NULL;
    }
    if (use_ca_file(opts ? opts->ca_file : NULL, err) < 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (r) {
        r->lock_fd = -1;
        r->cred = opts ? opts->cred : NULL;
        r->cred_arg = opts ? opts->cred_arg : NULL;
    }
    if (!r || !(r->url = normalise_url(url)) || !(r->dir = strdup(dir))) {
        errinfo_set(err, ERR_INTERNAL, "out of memory");
        cfgrepo_close(r);
        return NULL;
    }
    if (open_or_init(r, &fresh, err) < 0 || (fresh && first_clone(r, err) < 0)) {
        cfgrepo_close(r);
        return NULL;
    }
    return r;
}

/* The refs of r's remote, listed on a connection of their own: the number
 * of branches, or a libgit2 error (< 0). */
static int list_branches(cfgrepo *r, auth_state *auth) {
    git_remote *remote = NULL;
    git_remote_callbacks cb;
    git_proxy_options proxy;
    const git_remote_head **heads;
    size_t n;
    int rc, branches = 0;

    git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
    cb.credentials = credentials_cb;
    cb.payload = auth;
    git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION);
    proxy.type = GIT_PROXY_AUTO;
    if ((rc = git_remote_create_detached(&remote, r->url)) < 0)
        return rc;
    rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &proxy, NULL);
    if (rc == 0)
        rc = git_remote_ls(&heads, &n, remote);
    for (size_t i = 0; rc == 0 && i < n; i++)
        branches += strncmp(heads[i]->name, "refs/heads/", 11) == 0;
    git_remote_free(remote);
    return rc < 0 ? rc : branches;
}

int cfgrepo_probe(const char *url, const cfgrepo_options *opts, errinfo *err) {
    cfgrepo r = {.url = NULL, .cred = opts ? opts->cred : NULL, .cred_arg = opts ? opts->cred_arg : NULL};
    auth_state auth = {.r = &r, .code = ERR_REMOTE};
    char where[512];
    int rc;

    pthread_once(&init_once, init_libgit2);
    if (init_rc < 0)
        return errinfo_set(err, ERR_INTERNAL, "initialising libgit2: %s", git_msg());
    if (use_ca_file(opts ? opts->ca_file : NULL, err) < 0)
        return -1;
    if (!url || !*url || !(r.url = normalise_url(url)))
        return errinfo_set(err, ERR_INVALID, "config repository: no url");
    url_for_humans(r.url, where, sizeof where);
    /* libgit2 calls a missing directory an "unsupported URL protocol". */
    if (!strstr(r.url, "://") && access(r.url, F_OK) != 0) {
        errinfo_set(err, ERR_NOT_FOUND, "listing %s: %s", where, strerror(errno));
        free(r.url);
        return -1;
    }
    rc = list_branches(&r, &auth);
    if (rc < 0)
        errinfo_set(err, auth.msg[0] ? auth.code : ERR_UNAVAILABLE, "listing %s: %s", where,
                    auth.msg[0] ? auth.msg : git_msg());
    else if (rc == 0)
        errinfo_set(err, ERR_NOT_FOUND, "listing %s: the repository has no branch", where);
    scrub_token(auth.cred.password, err);
    explicit_bzero(&auth.cred, sizeof auth.cred);
    free(r.url);
    return rc > 0 ? 0 : -1;
}

void cfgrepo_close(cfgrepo *r) {
    if (!r)
        return;
    git_repository_free(r->repo);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    free(r->url);
    free(r->dir);
    free(r);
}

struct git_repository *cfgrepo_git(cfgrepo *r) {
    return r->repo;
}

/* ---- reading ----------------------------------------------------------- */

int cfgrepo_has_commit(cfgrepo *r, const char *sha) {
    git_oid oid;
    git_object *obj;
    if (parse_sha(sha, &oid) < 0)
        return 0;
    if (git_object_lookup(&obj, r->repo, &oid, GIT_OBJECT_COMMIT) < 0) {
        git_error_clear();
        return 0;
    }
    git_object_free(obj);
    return 1;
}

int cfgrepo_parent_count(cfgrepo *r, const char *sha) {
    git_oid oid;
    git_commit *c;
    if (parse_sha(sha, &oid) < 0 || git_commit_lookup(&c, r->repo, &oid) < 0) {
        git_error_clear();
        return -1;
    }
    int n = (int)git_commit_parentcount(c);
    git_commit_free(c);
    return n;
}

/* Looks up the tree of commit `sha`, with a message saying what to do. */
static int commit_tree(cfgrepo *r, const char *sha, git_tree **tree,
                       errinfo *err) {
    git_oid oid;
    git_commit *c;
    int rc;
    if (parse_sha(sha, &oid) < 0)
        return errinfo_set(err, ERR_INVALID,
                           "\"%.64s\" is not a commit sha "
                           "(40 hex digits)",
                           sha ? sha : "(null)");
    if (git_commit_lookup(&c, r->repo, &oid) < 0)
        return errinfo_set(err, ERR_NOT_FOUND,
                           "commit %s is not in the "
                           "mirror; fetch it first",
                           sha);
    rc = git_commit_tree(tree, c);
    git_commit_free(c);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "reading the tree of %s: %s", sha,
                           git_msg());
    return 0;
}

static char *blob_copy(git_blob *b, size_t *len) {
    git_object_size_t n = git_blob_rawsize(b);
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return NULL;
    memcpy(buf, git_blob_rawcontent(b), (size_t)n);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

/* 1 (and err set) when the blob is over `max` bytes or its size is unknown:
 * a pushed file must not make the bot allocate what the pusher chooses. */
static int blob_too_big(cfgrepo *r, const git_tree_entry *e, const char *path,
                        const char *sha, size_t max, errinfo *err) {
    git_odb *odb = NULL;
    size_t n = 0;
    git_object_t type;
    int rc = git_repository_odb(&odb, r->repo);

    if (rc == 0)
        rc = git_odb_read_header(&n, &type, odb, git_tree_entry_id(e));
    git_odb_free(odb);
    if (rc < 0) {
        errinfo_set(err, ERR_IO, "reading %s at %.12s: %s", path, sha, git_msg());
        return 1;
    }
    if (n <= max)
        return 0;
    errinfo_set(err, ERR_LIMIT, "%s at commit %.12s is %zu bytes, over the limit max_file_bytes = %zu",
                path, sha, n, max);
    return 1;
}

char *cfgrepo_read_file(cfgrepo *r, const char *sha, const char *path,
                        size_t max, size_t *len, int *missing, errinfo *err) {
    git_tree *tree = NULL;
    git_tree_entry *e = NULL;
    git_object *obj = NULL;
    char *buf = NULL;
    int rc;

    if (missing)
        *missing = 0;
    if (commit_tree(r, sha, &tree, err) < 0)
        return NULL;
    rc = git_tree_entry_bypath(&e, tree, path);
    if (rc == GIT_ENOTFOUND) {
        if (missing)
            *missing = 1;
        errinfo_set(err, ERR_NOT_FOUND, "%s does not exist at commit %.12s",
                    path, sha);
    } else if (rc < 0) {
        errinfo_set(err, ERR_IO, "%s at %.12s: %s", path, sha, git_msg());
    } else if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        errinfo_set(err, ERR_INVALID,
                    "%s at commit %.12s is a directory, "
                    "not a file",
                    path, sha);
    } else if (blob_too_big(r, e, path, sha, max, err)) {
        /* refused before the blob is read: its size is in the header */
    } else if (git_tree_entry_to_object(&obj, r->repo, e) < 0) {
        errinfo_set(err, ERR_IO, "reading %s at %.12s: %s", path, sha,
                    git_msg());
    } else if (!(buf = blob_copy((git_blob *)obj, len))) {
        errinfo_set(err, ERR_INTERNAL, "out of memory reading %s", path);
    }
    git_object_free(obj);
    git_tree_entry_free(e);
    git_tree_free(tree);
    return buf;
}

int cfgrepo_branch_head(cfgrepo *r, const char *branch, char out[41],
                        errinfo *err) {
    char ref[512];
    git_oid oid;
    int rc;

    if (!branch || !*branch)
        return errinfo_set(err, ERR_INVALID, "empty branch name");
    if (!strncmp(branch, "refs/heads/", 11))
        branch += 11;
    if ((size_t)snprintf(ref, sizeof ref, "refs/remotes/origin/%s", branch) >= sizeof ref)
        return errinfo_set(err, ERR_INVALID, "branch name too long");
    rc = git_reference_name_to_id(&oid, r->repo, ref);
    if (rc == GIT_ENOTFOUND)
        return errinfo_set(err, ERR_NOT_FOUND,
                           "branch \"%.200s\" does not "
                           "exist on the remote (as of the last fetch)",
                           branch);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "branch \"%.200s\": %s", branch,
                           git_msg());
    git_oid_tostr(out, 41, &oid);
    return 0;
}

int cfgrepo_merge_base(cfgrepo *r, const char *a, const char *b, char out[41],
                       errinfo *err) {
    git_oid oa, ob, base;
    int rc;
    if (parse_sha(a, &oa) < 0 || parse_sha(b, &ob) < 0)
        return errinfo_set(err, ERR_INVALID,
                           "merge base: \"%.64s\" or "
                           "\"%.64s\" is not a commit sha (40 hex digits)",
                           a ? a : "(null)", b ? b : "(null)");
    if (!cfgrepo_has_commit(r, a) || !cfgrepo_has_commit(r, b))
        return errinfo_set(err, ERR_NOT_FOUND,
                           "merge base: commit %s is not "
                           "in the mirror; fetch it first",
                           cfgrepo_has_commit(r, a) ? b : a);
    rc = git_merge_base(&base, r->repo, &oa, &ob);
    if (rc == GIT_ENOTFOUND)
        return errinfo_set(err, ERR_NOT_FOUND,
                           "%.12s and %.12s have no "
                           "common history",
                           a, b);
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "merge base of %.12s and %.12s: %s",
                           a, b, git_msg());
    git_oid_tostr(out, 41, &base);
    return 0;
}
