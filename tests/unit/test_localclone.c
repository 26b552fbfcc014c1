/* The first clone of a repository on this machine (git/localclone.h): the
 * mirror shares the source's pack and loose objects (hard links, as git
 * clone makes them) for a path and a file:// URL, has the branches, fetches
 * incrementally afterwards, and a clone interrupted after the objects (no
 * refs yet) is finished by the next open. fs_link_or_copy is checked on its
 * own too (replacing a file, a missing source). */
#include "git/cfgrepo.h"
#include "git/localclone.h"
#include "util/fs.h"
#include "tests/unit/check.h"

#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/deploybot-test-localclone-XXXXXX";
static char origin[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The first line of a command's output, trimmed. */
static void sh_out(char *out, size_t n, const char *cmd) {
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (p && fgets(out, (int)n, p)) out[strcspn(out, "\n")] = '\0';
    if (p) pclose(p);
}

static ino_t inode(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* 1 when every file named by `find` under the source's objects is the same
 * inode in the mirror's. */
static int shares_objects(const char *mirror, const char *what) {
    char cmd[1024], rel[512], a[1024], b[1024];
    int n = 0, same = 0;
    snprintf(cmd, sizeof(cmd), "cd %s/.git/objects && find . -type f %s", origin, what);
    FILE *p = popen(cmd, "r");
    while (p && fgets(rel, sizeof(rel), p)) {
        rel[strcspn(rel, "\n")] = '\0';
        snprintf(a, sizeof(a), "%s/.git/objects/%s", origin, rel);
        snprintf(b, sizeof(b), "%s/objects/%s", mirror, rel);
        n++;
        same += inode(a) != 0 && inode(a) == inode(b);
    }
    if (p) pclose(p);
    return n > 0 && same == n;
}

static void test_clone(const char *url, const char *name, const char *head) {
    char mirror[300];
    errinfo err;
    snprintf(mirror, sizeof(mirror), "%s/%s.git", tmp, name);
    cfgrepo *r = cfgrepo_open(url, mirror, NULL, &err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s: %s\n", url, err.msg);
        return;
    }
    CHECK(shares_objects(mirror, "-path './pack/*'"));                            /* the pack and its index */
    CHECK(shares_objects(mirror, "-not -path './pack/*' -not -path './info/*'")); /* loose */
    CHECK(cfgrepo_has_commit(r, head));
    char sha[41];
    CHECK(cfgrepo_branch_head(r, "main", sha, &err) == 0 && strcmp(sha, head) == 0);
    /* Later fetches are the usual ones. */
    char next[64];
    sh("cd %s && echo %s >> b.txt && git add b.txt && git commit -qm %s", origin, name, name);
    sh_out(next, sizeof(next), "cd $ORIGIN && git rev-parse HEAD");
    CHECK(cfgrepo_fetch(r, next, &err) == 0 && cfgrepo_has_commit(r, next));
    cfgrepo_close(r);
}

/* A clone that stopped after the objects (no branches yet) is done again,
 * over the objects already there. */
static void test_interrupted(const char *head) {
    char mirror[300];
    errinfo err;
    snprintf(mirror, sizeof(mirror), "%s/interrupted.git", tmp);
    cfgrepo *r = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(r != NULL);
    cfgrepo_close(r);
    CHECK(sh("git -C %s update-ref -d refs/remotes/origin/main", mirror) == 0);
    r = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(r != NULL && cfgrepo_has_commit(r, head));
    char sha[41];
    CHECK(r && cfgrepo_branch_head(r, "main", sha, &err) == 0);
    cfgrepo_close(r);
}

/* A source that borrows objects from another repository (git clone
 * --shared: objects/info/alternates) could lend only its own: its commit
 * would be linked without the blob it shares, and the fetch would take the
 * tip for present. It is fetched the usual way instead. */
static void test_borrowed(void) {
    char shared[300], mirror[300], head[64], *text;
    size_t len;
    errinfo err;
    snprintf(shared, sizeof(shared), "%s/shared", tmp);
    snprintf(mirror, sizeof(mirror), "%s/borrowed.git", tmp);
    CHECK(sh("git clone -q --shared %s %s && cd %s && git config user.email t@example.com && git config user.name t"
             " && echo new > c.txt && git add c.txt && git commit -qm borrowed",
             origin, shared, shared) == 0);
    sh_out(head, sizeof(head), "cd $ORIGIN/../shared && git rev-parse HEAD");
    cfgrepo *r = cfgrepo_open(shared, mirror, NULL, &err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    text = cfgrepo_read_file(r, head, "a.txt", 1024, &len, NULL, &err);
    CHECK(text != NULL && strncmp(text, "one", 3) == 0);
    free(text);
    cfgrepo_close(r);
}

/* The check after a linked clone: a commit beyond the tips recorded before
 * the links, whose blob is not in the mirror, is torn; the same commit
 * among the recorded tips is not looked at (its history was whole). */
static void test_torn_found(void) {
    char mirror[300], head[64], blob[64], path[512];
    git_repository *repo = NULL;
    errinfo err;
    snprintf(mirror, sizeof(mirror), "%s/torn.git", tmp);
    sh("cd %s && echo torn > d.txt && git add d.txt && git commit -qm torn", origin);
    sh_out(head, sizeof(head), "cd $ORIGIN && git rev-parse HEAD");
    sh_out(blob, sizeof(blob), "cd $ORIGIN && git rev-parse HEAD:d.txt");
    cfgrepo *r = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(r != NULL);
    cfgrepo_close(r);
    snprintf(path, sizeof(path), "%s/objects/%.2s/%s", mirror, blob, blob + 2);
    CHECK(unlink(path) == 0);
    CHECK(git_repository_open(&repo, mirror) == 0);
    sh("cd %s && git rev-parse HEAD~1 > %s/deploybot-linked-unchecked", origin, mirror);
    CHECK(localclone_complete(repo, mirror, &err) == 0);
    CHECK_CONTAINS(err.msg, blob);
    sh("echo %s > %s/deploybot-linked-unchecked", head, mirror);
    CHECK(localclone_complete(repo, mirror, &err) == 1);
    git_repository_free(repo);
}

static void test_link_or_copy(void) {
    char a[300], b[300];
    errinfo err;
    snprintf(a, sizeof(a), "%s/file-a", tmp);
    snprintf(b, sizeof(b), "%s/file-b", tmp);
    sh("echo one > %s && echo old > %s", a, b);
    CHECK(fs_link_or_copy(a, b, &err) == 0 && inode(a) == inode(b)); /* replaced */
    snprintf(a, sizeof(a), "%s/missing", tmp);
    CHECK(fs_link_or_copy(a, b, &err) == -1 && err.code == ERR_IO);
    CHECK_CONTAINS(err.msg, "missing");
    CHECK(sh("ls %s | grep -q tmp-", tmp) != 0); /* no temporary left */
}

int main(void) {
    char head[64], url[300];
    if (!mkdtemp(tmp)) return 2;
    snprintf(origin, sizeof(origin), "%s/origin", tmp);
    setenv("ORIGIN", origin, 1);
    /* A packed history and a loose commit on top, as a working repository has. */
    CHECK(sh("git init -q -b main %s && cd %s && git config user.email t@example.com && git config user.name t"
             " && echo one > a.txt && git add a.txt && git commit -qm one && git repack -adq"
             " && echo more >> a.txt && git commit -qam more",
             origin, origin) == 0);
    sh_out(head, sizeof(head), "cd $ORIGIN && git rev-parse HEAD");
    test_clone(origin, "path", head);
    sh_out(head, sizeof(head), "cd $ORIGIN && git rev-parse HEAD");
    snprintf(url, sizeof(url), "file://%s", origin);
    test_clone(url, "fileurl", head);
    sh_out(head, sizeof(head), "cd $ORIGIN && git rev-parse HEAD");
    test_interrupted(head);
    test_borrowed();
    test_torn_found();
    test_link_or_copy();
    sh("rm -rf %s", tmp);
    return CHECK_DONE();
}
