/* session: a signed cookie verifies until it expires; any change to its
 * name, role, expiry or MAC, or another key, makes it invalid. */
#include "bot/session.h"
#include "tests/unit/check.h"

#include <string.h>

static const unsigned char KEY[SESSION_KEY_BYTES] = "0123456789abcdef0123456789abcdef";
static const unsigned char OTHER[SESSION_KEY_BYTES] = "0123456789abcdef0123456789abcdeF";

static void test_roundtrip(void) {
    session_claims in = {"ops", BOT_ROLE_OPERATE, 2000}, out;
    char v[SESSION_VALUE_MAX];

    session_sign(KEY, &in, v);
    CHECK(strncmp(v, "ops:o:2000:", 11) == 0 && strlen(v) == 11 + 64);
    memset(&out, 0, sizeof(out));
    CHECK(session_verify(KEY, v, 1999, &out) == 1);
    CHECK_STR(out.name, "ops");
    CHECK(out.role == BOT_ROLE_OPERATE && out.expires == 2000);
    CHECK(session_verify(KEY, v, 2000, &out) == 0); /* expired */
    CHECK(session_verify(OTHER, v, 1000, &out) == 0);
}

static void test_tampered(void) {
    session_claims in = {"viewer.ci", BOT_ROLE_READ, 5000}, out;
    char v[SESSION_VALUE_MAX], t[SESSION_VALUE_MAX + 8];
    size_t n;

    session_sign(KEY, &in, v);
    CHECK(session_verify(KEY, v, 0, &out) == 1 && out.role == BOT_ROLE_READ);
    CHECK_STR(out.name, "viewer.ci");
    strcpy(t, v);
    t[strlen("viewer.ci:")] = 'o'; /* read -> operate */
    CHECK(session_verify(KEY, t, 0, &out) == 0);
    strcpy(t, v);
    memcpy(t + strlen("viewer.ci:r:"), "9999", 4); /* later expiry */
    CHECK(session_verify(KEY, t, 0, &out) == 0);
    strcpy(t, v);
    n = strlen(t);
    t[n - 1] = t[n - 1] == '0' ? '1' : '0'; /* another MAC */
    CHECK(session_verify(KEY, t, 0, &out) == 0);
    snprintf(t, sizeof(t), "x%s", v); /* another name */
    CHECK(session_verify(KEY, t, 0, &out) == 0);
    static const char *const junk[] = {"", ":", "a:r:1:", "a:r:1:zz", "::::", "ops", NULL};
    for (int i = 0; junk[i]; i++)
        CHECK(session_verify(KEY, junk[i], 0, &out) == 0);
}

int main(void) {
    test_roundtrip();
    test_tampered();
    return CHECK_DONE();
}
