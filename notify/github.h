/* github: the GitHub REST calls deploybot makes (libcurl + jansson).
 *
 * api_url is "https://api.github.com" or a GitHub Enterprise / test fake base.
 * The token is sent as "Authorization: Bearer" and never logged. */
#ifndef DEPLOYBOT_NOTIFY_GITHUB_H
#define DEPLOYBOT_NOTIFY_GITHUB_H

#include <stddef.h>

typedef struct github_client github_client;

github_client *github_client_new(const char *api_url, const char *token);
void github_client_free(github_client *g);

/* POST /repos/{repo}/statuses/{sha}. state: pending|success|failure|error.
 * The description is cut to GitHub's 140 characters and the context to 255.
 * target_url may be NULL. */
int github_status_set(github_client *g, const char *repo, const char *sha,
                      const char *state, const char *context,
                      const char *description, const char *target_url,
                      char *err, size_t errlen);

#endif
