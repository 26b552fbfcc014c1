/* reload: the settings a SIGHUP asks for.
 *
 * The config file is read again as at start (file, then DEPLOYBOT_*
 * variables). A file that does not load is refused: the settings in use stay
 * and the reason is logged. Otherwise the log names the keys that changed,
 * never their values (bot_config_changes), and what only a restart can
 * change keeps its value in use, said in the log when the file differs:
 * listen, port, data_dir, database_url, tls_cert, tls_key (the socket and the database
 * are open) and runners (the threads are started). */
#ifndef DEPLOYBOT_BOT_RELOAD_H
#define DEPLOYBOT_BOT_RELOAD_H

#include "bot/config.h"

/* Loads path's settings into *out over `old` as above, and logs what
 * changed on stderr. Returns 0, or -1 with err (out is then empty). */
int reload_config(const char *path, const bot_config *old, bot_config *out, errinfo *err);

#endif
