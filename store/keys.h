/* keys: secret keys the bot makes for itself (e.g. the one that signs
 * browser sessions), generated once and kept in the database so they
 * survive restarts and are shared by every process on the same data_dir.
 * Nobody configures them; deleting the database rotates them. */
#ifndef DEPLOYBOT_STORE_KEYS_H
#define DEPLOYBOT_STORE_KEYS_H

#include <stddef.h>
#include "store/store.h"

#define STORE_KEY_MAX 64 /* bytes */

/* The key called `name` (len <= STORE_KEY_MAX bytes) into out: the kept one,
 * or len fresh random bytes kept from now on. Two processes asking at once
 * get the same key. 0, or -1 with err. */
int store_key_get(store *s, const char *name, unsigned char *out, size_t len, errinfo *err);

#endif
