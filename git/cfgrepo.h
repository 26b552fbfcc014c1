/* cfgrepo: the bot's local mirror of the config repository (libgit2).
 *
 * The mirror is a bare repository under the bot's data directory. It is
 * cloned on first use and fetched incrementally afterwards. `url` is a local
 * path, a file:// URL or an https URL. When the remote asks for
 * authentication, the credentials come from the caller's callback (so git/
 * knows no host: each host's user name style is the caller's business), at
 * each fetch, so a token can be rotated or refreshed without a restart. They
 * are only given to the configured origin (same scheme, host and port; a
 * redirect elsewhere gets nothing) over https (or plain http to a loopback
 * address, for tests), and never stored in the mirror or put in a message.
 *
 * Functions that can fail follow util/errinfo.h: -1 / NULL with a message
 * the user can act on in `err`. A commit not (yet) on the remote, or a
 * fetch that got no answer, is ERR_UNAVAILABLE: the caller retries. */
#ifndef DEPLOYBOT_GIT_CFGREPO_H
#define DEPLOYBOT_GIT_CFGREPO_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct cfgrepo cfgrepo;

/* Basic-auth credentials for one fetch, filled by a cfgrepo_cred_fn. The
 * password (the token) is wiped by cfgrepo once the fetch is done. */
typedef struct {
    char user[256];
    char password[4096];
    char source[128]; /* where the password came from, for messages: "$GITHUB_TOKEN" */
} cfgrepo_cred;

/* Fills `out` with the credentials for the configured origin `url`; returns
 * 0, or -1 with a message saying what to set (a token variable unset, a
 * token that could not be obtained) in `err`, whose code the fetch's error
 * keeps (ERR_UNAVAILABLE: worth retrying). Called from the fetching thread,
 * only when the remote asks. */
typedef int (*cfgrepo_cred_fn)(void *arg, const char *url, cfgrepo_cred *out, errinfo *err);

typedef struct {
    cfgrepo_cred_fn cred; /* NULL: the remote must not ask for credentials */
    void *cred_arg;       /* must outlive the cfgrepo */
    const char *ca_file;  /* PEM CAs that verify an https remote instead of the
                             system's; NULL: the system's. Process-wide (libgit2's
                             TLS settings are): every mirror must name the same */
} cfgrepo_options;

/* Opens the mirror in `dir`, cloning `url` into it when it does not exist.
 * `opts` may be NULL (no credentials, the system's CAs). */
cfgrepo *cfgrepo_open(const char *url, const char *dir, const cfgrepo_options *opts,
                      errinfo *err);

/* Connects to `url` as a fetch would (the same credentials, given only
 * where a fetch gives them) and lists its refs, without a mirror and
 * without downloading anything (`deploybot check`). 0 when the remote
 * answered with at least one branch, -1 otherwise, with the codes and the
 * messages of a fetch. */
int cfgrepo_probe(const char *url, const cfgrepo_options *opts, errinfo *err);

/* Fetches every branch from the remote. If `need_sha` is not NULL the commit
 * must exist afterwards (a commit named by a webhook but not yet fetchable is
 * an error, so the job can be retried). */
int cfgrepo_fetch(cfgrepo *r, const char *need_sha, errinfo *err);

/* cfgrepo_fetch, and in the same round trip the one ref `ref`, kept in the
 * mirror under its own name: a pull request's head commit may be on no
 * branch of the repository (a fork's commit, or a deleted branch's). The
 * caller names the ref its host uses ("refs/pull/7/head" on GitHub,
 * "refs/merge-requests/7/head" on GitLab). It must be a full ref name
 * outside refs/heads/ and refs/remotes/, without wildcards (else
 * ERR_INVALID). A ref the remote does not have is no error by itself:
 * `need_sha` decides, as for cfgrepo_fetch. */
int cfgrepo_fetch_ref(cfgrepo *r, const char *ref, const char *need_sha, errinfo *err);

/* Number of parents of a commit in the mirror (2 for a merge), -1 if unknown. */
int cfgrepo_parent_count(cfgrepo *r, const char *sha);

/* 1 if the commit (40 hex chars) is in the mirror, 0 otherwise. */
int cfgrepo_has_commit(cfgrepo *r, const char *sha);

/* Reads `path` at commit `sha` into a NUL-terminated malloc'd buffer. When
 * the path does not exist, returns NULL and sets *missing to 1 (if given;
 * err says ERR_NOT_FOUND too). A file over `max` bytes is not read: NULL
 * with ERR_LIMIT. */
char *cfgrepo_read_file(cfgrepo *r, const char *sha, const char *path,
                        size_t max, size_t *len, int *missing, errinfo *err);

/* Resolves a branch name (e.g. "main", or "refs/heads/main" as webhooks
 * send it) to its commit on the remote, as of the last fetch. Writes 40 hex
 * chars + NUL into `out`. */
int cfgrepo_branch_head(cfgrepo *r, const char *branch, char out[41],
                        errinfo *err);

/* Writes into `out` the best common ancestor of commits `a` and `b`. For a
 * pull request, diff merge_base(base, head)..head: the base branch's tip
 * alone would also count what landed on the base since the PR branched. */
int cfgrepo_merge_base(cfgrepo *r, const char *a, const char *b, char out[41],
                       errinfo *err);

/* The libgit2 repository behind the mirror, for the other git/ modules
 * (changes.c diffs in it). Owned by `r`: valid until cfgrepo_close. */
struct git_repository;
struct git_repository *cfgrepo_git(cfgrepo *r);

void cfgrepo_close(cfgrepo *r);

#endif
