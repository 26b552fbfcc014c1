/* commitinfo: see commitinfo.h. */
#include "git/commitinfo.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* libgit2 counts its initialisations; this one lasts as long as the process. */
static void init(void) { git_libgit2_init(); }

static void fill(git_commit *c, commitinfo *out) {
    const char *summary = git_commit_summary(c);
    const git_signature *who = git_commit_author(c);

    snprintf(out->subject, sizeof(out->subject), "%s", summary ? summary : "");
    snprintf(out->author, sizeof(out->author), "%s", who && who->name ? who->name : "");
    out->time_s = who ? (long long)who->when.time : (long long)git_commit_time(c);
}

int commitinfo_read(const char *dir, const char *sha, commitinfo *out, errinfo *err) {
    git_repository *repo = NULL;
    git_commit *c = NULL;
    git_oid oid;
    int rc = -1;

    pthread_once(&init_once, init);
    memset(out, 0, sizeof(*out));
    if (strlen(sha) != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha) < 0)
        return errinfo_set(err, ERR_INVALID, "%s is not a commit id", sha);
    if (git_repository_open_bare(&repo, dir) < 0)
        errinfo_set(err, ERR_NOT_FOUND, "no mirror at %s yet", dir);
    else if (git_commit_lookup(&c, repo, &oid) < 0)
        errinfo_set(err, ERR_NOT_FOUND, "commit %.12s is not in the mirror %s", sha, dir);
    else {
        fill(c, out);
        rc = 0;
    }
    git_commit_free(c);
    git_repository_free(repo);
    return rc;
}
