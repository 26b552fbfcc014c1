/* localclone: the first clone of a repository on this machine (a local
 * path or a file:// URL) done as `git clone` does it, by linking (or, on
 * another filesystem, copying) its object files into the new mirror,
 * instead of libgit2's local transport, which reads every object and packs
 * them anew in memory (13-15 s and ~380 MiB where git takes 2 s).
 *
 * Only objects are brought over; refs come from the fetch that follows,
 * which then finds every tip present and transfers nothing. Each file
 * appears whole or not at all (util/fs.h fs_link_or_copy), packs before
 * their indexes, so an interrupted copy leaves a mirror with no branches
 * yet, which the next open copies and fetches again. Objects the source
 * borrows from elsewhere (objects/info/alternates) are not copied: the
 * fetch then finds a tip missing and transfers it the usual way.
 *
 * The links are made after the source's ref tips are recorded (as git
 * clone reads the refs first): everything those tips reach existed then,
 * so it is linked whole. A commit written while the files were being linked
 * may be linked without its tree, and the fetch would take such a tip for
 * present and transfer nothing; localclone_complete checks the commits the
 * fetch brought beyond the recorded tips, and the caller starts over with
 * an ordinary fetch when they are torn. A source that borrows objects
 * (objects/info/alternates) is not linked at all. */
#ifndef DEPLOYBOT_GIT_LOCALCLONE_H
#define DEPLOYBOT_GIT_LOCALCLONE_H

#include "util/errinfo.h"

/* Brings the objects of the repository at url into the bare repository
 * `gitdir`: 1 done, 0 url is not a repository on this machine (nothing
 * done: fetch as usual), -1 error. Until localclone_checked, the mirror
 * says so (localclone_pending), so a crash before the check is not taken
 * for a finished clone. */
int localclone_objects(const char *url, const char *gitdir, errinfo *err);
int localclone_pending(const char *gitdir);
void localclone_checked(const char *gitdir);

/* Whether every commit reachable from repo's refs but not from the tips
 * recorded in gitdir has its whole tree: 1 complete, 0 torn (err names the
 * missing object), -1 error. */
struct git_repository;
int localclone_complete(struct git_repository *repo, const char *gitdir, errinfo *err);

#endif
