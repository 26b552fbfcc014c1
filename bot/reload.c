/* reload: see reload.h. */
#include "bot/reload.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep_str(char **now, const char *old) {
    free(*now);
    *now = old ? strdup(old) : NULL;
    if (old && !*now) abort();
}

static int differs(const char *a, const char *b) {
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* What cannot change without a restart keeps old's value; the names of the
 * keys that would have changed go to `kept`. */
static void keep_fixed(const bot_config *old, bot_config *now, strbuf *kept) {
    const char *names[] = {"listen", "port", "data_dir", "tls_cert", "tls_key", "runners", "database_url"};
    int diff[] = {differs(old->listen, now->listen), old->port != now->port,
                  differs(old->data_dir, now->data_dir), differs(old->tls_cert, now->tls_cert),
                  differs(old->tls_key, now->tls_key), old->runners != now->runners,
                  differs(old->database_url, now->database_url)};
    for (size_t i = 0; i < sizeof(diff) / sizeof(diff[0]); i++)
        if (diff[i]) strbuf_printf(kept, "%s%s", kept->len ? ", " : "", names[i]);
    keep_str(&now->listen, old->listen);
    keep_str(&now->data_dir, old->data_dir);
    keep_str(&now->database_url, old->database_url);
    keep_str(&now->tls_cert, old->tls_cert);
    keep_str(&now->tls_key, old->tls_key);
    now->port = old->port;
    now->runners = old->runners;
}

int reload_config(const char *path, const bot_config *old, bot_config *out, errinfo *err) {
    strbuf changed = {0}, kept = {0};

    if (bot_config_load(path, out, err) != 0)
        return -1;
    bot_config_changes(old, out, &changed);
    keep_fixed(old, out, &kept);
    log_write(LOG_INFO, NULL, "config reloaded from %s: %s%s", path ? path : "(defaults)",
              changed.len ? "changed: " : "nothing changed", changed.len ? changed.s : "");
    if (kept.len)
        log_write(LOG_ERROR, NULL,
                  "config: %s cannot change on reload: the values in use stay "
                  "(restart deploybot to change them)",
                  kept.s);
    strbuf_free(&changed);
    strbuf_free(&kept);
    return 0;
}
