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
 * fetch then finds a tip missing and transfers it the usual way. */
#ifndef DEPLOYBOT_GIT_LOCALCLONE_H
#define DEPLOYBOT_GIT_LOCALCLONE_H

#include "util/errinfo.h"

/* Brings the objects of the repository at url into the bare repository
 * `gitdir`: 1 done, 0 url is not a repository on this machine (nothing
 * done: fetch as usual), -1 error. */
int localclone_objects(const char *url, const char *gitdir, errinfo *err);

#endif
