/* render: the text people read — GitHub comment markdown, Slack blocks,
 * Discord embeds and the generic webhook's JSON — within each service's
 * limits (the fixtures' webhooks/NOTES.md §5-7). Lengths are counted in
 * bytes, which is never less than characters, and cuts fall on line ends
 * (or at least on UTF-8 boundaries), followed by a note saying what was
 * left out.
 *
 * Every free text (plans, errors) goes inside code blocks, so nothing in a
 * stack file or an AWS error can turn into a mention or a link. Callers
 * redact secrets before rendering. */
#ifndef DEPLOYBOT_NOTIFY_RENDER_H
#define DEPLOYBOT_NOTIFY_RENDER_H

#include <stddef.h>
#include <jansson.h>
#include "notify/event.h"

#define RENDER_SLACK_SECTION_MAX 3000
#define RENDER_DISCORD_DESCRIPTION_MAX 4096
#define RENDER_DISCORD_TOTAL_MAX 6000

/* The pull request comment: a line per environment ("dev: Plan: 2 to add,
 * 1 to change, 0 to destroy."), each full plan in a <details> block, errors
 * in code blocks. At most `max` bytes (0: GITHUB_COMMENT_MAX). malloc'd. */
char *render_pr_comment(const notify_subject *s, const notify_env_result *envs, size_t n, size_t max);
/* The commit comment after a push to a deploy branch: the same, headed as
 * an apply, plus the git revert command when an applied environment failed. */
char *render_commit_comment(const notify_subject *s, const notify_env_result *envs, size_t n, size_t max);
/* "git revert --no-edit <sha>", or with "-m 1" for a merge commit. malloc'd. */
char *render_revert_command(const notify_subject *s);

/* Chat bodies for one environment's event. `r` may have only env set (for
 * NOTIFY_APPLY_STARTED). New references; NULL only on out of memory. */
json_t *render_slack(const notify_subject *s, notify_event ev, const notify_env_result *r);
json_t *render_discord(const notify_subject *s, notify_event ev, const notify_env_result *r);
/* The generic webhook's event (README "What people read"); the sender adds
 * "timestamp" and signs it. created_at: Unix seconds of the event. */
json_t *render_webhook(const notify_subject *s, notify_event ev, const notify_env_result *r,
                       long long created_at);

/* Longest prefix of text, at most max bytes, ending at a line end when any
 * whole line fits, else at a UTF-8 boundary. *lines gets how many lines
 * that prefix holds (a cut line counts). */
size_t render_clip(const char *text, size_t max, size_t *lines);
/* Replaces every byte that is not part of valid UTF-8 with '?', in place:
 * JSON (and so every body here) must be valid UTF-8, AWS errors need not be. */
void render_valid_utf8(char *s);
/* Lines in text (a last line without '\n' counts). */
size_t render_count_lines(const char *text);

#endif
