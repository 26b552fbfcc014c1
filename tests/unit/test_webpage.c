/* webpage: the template every page writes its markup with escapes each
 * value, and a card carries a hostile environment name and lock reason as
 * text, never as markup. */
#include "bot/webpage.h"
#include "tests/unit/check.h"

#include <stdlib.h>

static void test_template(void) {
    strbuf b = {0};

    webpage_html(&b, "<a href=\"/runs/%lld\" title=\"%s\">100%% %s</a>", 42LL, "\"><script>", "a&b");
    CHECK_STR(b.s, "<a href=\"/runs/42\" title=\"&quot;&gt;&lt;script&gt;\">100% a&amp;b</a>");
    strbuf_free(&b);
    webpage_html(&b, "no values");
    CHECK_STR(b.s, "no values");
    strbuf_free(&b);
}

static void test_card(void) {
    json_t *c = json_pack("{s:s,s:s,s:i,s:{s:s,s:s},s:{s:I,s:s,s:s,s:s}}", "env", "p\"rd", "state",
                          "locked", "queued", 2, "lock", "by", "ops", "reason", "<b>freeze</b>",
                          "last_run", "id", (json_int_t)7, "kind", "apply", "state", "failed",
                          "result", "x<y");
    char *html = webpage_card(c);

    CHECK_CONTAINS(html, "id=\"env-p&quot;rd\"");
    CHECK_CONTAINS(html, "<h3 id=\"h-p&quot;rd\">p&quot;rd</h3>");
    CHECK_CONTAINS(html, "locked by ops: <span class=reason>&lt;b&gt;freeze&lt;/b&gt;</span>");
    CHECK_CONTAINS(html, "<a href=\"/runs/7\">#7 apply</a> <span class=\"r-failed\">failed</span>: x&lt;y");
    CHECK_CONTAINS(html, "2 waiting");
    free(html);
    json_decref(c);
}

int main(void) {
    test_template();
    test_card();
    return CHECK_DONE();
}
