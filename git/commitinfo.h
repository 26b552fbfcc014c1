/* commitinfo: who wrote a commit, when, and its subject, for the people
 * reading the dashboard (bot/envview.h), read from the bot's mirror.
 *
 * It opens the mirror read-only for each call and never fetches: a commit
 * the mirror lacks (or no mirror yet) is ERR_NOT_FOUND, and the card shows
 * the sha alone. Safe next to a fetch in another thread (libgit2 reads
 * what is committed to the object database). */
#ifndef DEPLOYBOT_GIT_COMMITINFO_H
#define DEPLOYBOT_GIT_COMMITINFO_H

#include "util/errinfo.h"

typedef struct {
    char subject[256]; /* the message's first paragraph as one line, cut to fit */
    char author[128];  /* the author's name */
    long long time_s;  /* the author's time, Unix seconds */
} commitinfo;

/* Reads commit `sha` (40 hex) of the bare repository in `dir` into *out. */
int commitinfo_read(const char *dir, const char *sha, commitinfo *out, errinfo *err);

#endif
