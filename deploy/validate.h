/* validate: checks a checkout of the config repository the way the bot
 * would read it, without git or AWS — `deploybot validate [DIR]`, cheap
 * enough for CI on every pull request.
 *
 * Checked: deploybot.json; every environment's stack.json (deploy/stack.h,
 * whose errors read "FILE:KEY: message"); the user-data template
 * (modules/dify/user_data.sh) rendered with the variables each valid stack
 * supplies. Every problem is reported, not just the first. */
#ifndef DEPLOYBOT_DEPLOY_VALIDATE_H
#define DEPLOYBOT_DEPLOY_VALIDATE_H

/* Returns the number of problems found, 0 when the checkout is valid.
 * *report (malloc'd, never NULL) holds one line per problem, each starting
 * with the file it is about, or, when valid, notes followed by
 * "ok: N environments valid". */
int validate_dir(const char *dir, char **report);

#endif
