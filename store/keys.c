/* keys: see keys.h. SQLite's binding here has no blobs: a key is kept as
 * lowercase hex. */
#include "store/keys.h"
#include "store/sql.h"
#include "util/digest.h"

#include <string.h>

static const char ADD[] = "INSERT INTO keys(name, hex, created_ms) VALUES(?1, ?2, now_ms()) ON CONFLICT(name) DO NOTHING";
static const char GET[] = "SELECT hex FROM keys WHERE name = ?1";

static int unhex(const char *hex, unsigned char *out, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned v = 0;

        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];

            if (c >= '0' && c <= '9')
                v = v * 16 + (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v = v * 16 + (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return hex[2 * len] == '\0' ? 0 : -1;
}

/* Whoever inserts first wins; everyone then reads the same row. */
int store_key_get(store *s, const char *name, unsigned char *out, size_t len, errinfo *err) {
    unsigned char fresh[STORE_KEY_MAX];
    char hex[2 * STORE_KEY_MAX + 1], kept[2 * STORE_KEY_MAX + 2];
    sql_stmt *st;
    int rc;

    if (len == 0 || len > STORE_KEY_MAX)
        return errinfo_set(err, ERR_INVALID, "key %s: %zu bytes asked, 1..%d possible", name, len,
                           STORE_KEY_MAX);
    if (digest_random(fresh, len, err) < 0)
        return errinfo_prefix(err, "key %s", name);
    digest_hex(fresh, len, hex);
    digest_cleanse(fresh, sizeof(fresh));
    rc = sql_exec(s, err, "keeping a new key", ADD, "ss", name, hex);
    digest_cleanse(hex, sizeof(hex));
    if (rc < 0)
        return errinfo_prefix(err, "key %s", name);
    st = sql_query(s, err, GET, "s", name);
    if ((rc = sql_step(s, st, "reading the key", err)) <= 0)
        return rc < 0 ? errinfo_prefix(err, "key %s", name)
                      : errinfo_set(err, ERR_IO, "key %s: vanished after it was kept", name);
    sql_text_into(st, 0, kept, sizeof(kept));
    sql_done(st);
    rc = unhex(kept, out, len);
    digest_cleanse(kept, sizeof(kept));
    if (rc < 0)
        return errinfo_set(err, ERR_IO, "key %s: the kept value is not %zu bytes of hex", name, len);
    return 0;
}
