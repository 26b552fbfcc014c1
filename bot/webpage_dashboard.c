/* webpage_dashboard: the page at / (webpage.h). */
#include "bot/webpage.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name, *icon, *label;
} state_look;

/* Indexed by envstate.h's names; the icon is decoration (aria-hidden): the
 * words carry the meaning. */
static const state_look LOOKS[] = {
    {"in_sync", "\xe2\x9c\x93", "In sync"},
    {"drifted", "\xe2\x9a\xa0", "Drifted"},
    {"failed", "\xe2\x9c\x97", "Failed"},
    {"queued", "\xe2\x97\xb7", "Queued"},
    {"locked", "\xe2\x8a\x98", "Locked"},
    {"applying", "\xe2\x86\xbb", "Applying"},
};

static const state_look *look(const char *state) {
    for (size_t i = 0; i < sizeof(LOOKS) / sizeof(LOOKS[0]); i++)
        if (strcmp(LOOKS[i].name, state) == 0)
            return &LOOKS[i];
    return &LOOKS[0];
}

static void deployed(strbuf *b, const json_t *commit) {
    const char *url = webpage_str(commit, "url"), *subject = webpage_str(commit, "subject");

    strbuf_puts(b, "<dt>Deployed</dt><dd>");
    if (!json_is_object(commit)) {
        strbuf_puts(b, "<span class=muted>nothing yet</span></dd>");
        return;
    }
    if (*url)
        webpage_html(b, "<a href=\"%s\" aria-label=\"commit %s\">", url, webpage_str(commit, "sha"));
    webpage_html(b, "<code>%s</code>", webpage_str(commit, "short"));
    if (*url)
        strbuf_puts(b, "</a>");
    if (*subject) {
        webpage_html(b, " <span class=subject>%s</span><br><span class=muted>by %s, ", subject,
                     webpage_str(commit, "author"));
        webpage_time(b, json_integer_value(json_object_get(commit, "time_s")) * 1000);
        strbuf_puts(b, "</span>");
    }
    strbuf_puts(b, "</dd>");
}

static void last_run(strbuf *b, const json_t *r) {
    const char *result = webpage_str(r, "result"), *state = webpage_str(r, "state");
    long long id = json_integer_value(json_object_get(r, "id"));

    strbuf_puts(b, "<dt>Last run</dt><dd>");
    if (!json_is_object(r)) {
        strbuf_puts(b, "<span class=muted>none</span></dd>");
        return;
    }
    webpage_html(b, "<a href=\"/runs/%lld\">#%lld %s</a> <span class=\"r-%s\">%s</span>", id, id,
                 webpage_str(r, "kind"), state, state);
    if (*result)
        webpage_html(b, ": %s", result);
    strbuf_puts(b, "</dd>");
}

static void queue_and_lock(strbuf *b, const json_t *card) {
    long long queued = json_integer_value(json_object_get(card, "queued"));
    const json_t *lock = json_object_get(card, "lock");

    strbuf_puts(b, "<dt>Queue</dt><dd>");
    if (queued)
        strbuf_printf(b, "%lld waiting", queued);
    else
        strbuf_puts(b, "<span class=muted>empty</span>");
    strbuf_puts(b, "</dd><dt>Lock</dt><dd>");
    if (json_is_object(lock))
        webpage_html(b, "locked by %s: <span class=reason>%s</span>", webpage_str(lock, "by"),
                     webpage_str(lock, "reason"));
    else
        strbuf_puts(b, "<span class=muted>none</span>");
    strbuf_puts(b, "</dd>");
}

static void card(strbuf *b, const json_t *c) {
    const char *env = webpage_str(c, "env");
    const state_look *l = look(webpage_str(c, "state"));

    webpage_html(b,
                 "<li class=\"card st-%s\" id=\"env-%s\" data-state=%s aria-labelledby=\"h-%s\">"
                 "<h3 id=\"h-%s\">%s",
                 l->name, env, l->name, env, env, env);
    strbuf_printf(b, "</h3><span class=state><span aria-hidden=true>%s</span> %s</span><dl>", l->icon,
                  l->label);
    deployed(b, json_object_get(c, "commit"));
    last_run(b, json_object_get(c, "last_run"));
    queue_and_lock(b, c);
    strbuf_puts(b, "</dl></li>");
}

char *webpage_card(const json_t *c) {
    strbuf b = {0};

    card(&b, c);
    return strbuf_take(&b);
}

static void option(strbuf *b, const char *value, const char *label, const char *selected) {
    webpage_html(b, "<option value=\"%s\"", value);
    strbuf_puts(b, selected && strcmp(selected, value) == 0 ? " selected>" : ">");
    webpage_html(b, "%s</option>", label);
}

static void select_of(strbuf *b, const char *name, const char *label, const char *const *values,
                      const char *selected) {
    strbuf_printf(b, "<label>%s <select name=%s>", label, name);
    option(b, "", "any", selected);
    for (size_t i = 0; values[i]; i++)
        option(b, values[i], values[i], selected);
    strbuf_puts(b, "</select></label>");
}

static const char *const KINDS[] = {"plan", "apply", "destroy", "drift", "remediate", NULL};
static const char *const RESULTS[] = {"succeeded", "failed", "drifted", "blocked", "skipped",
                                      "superseded", "queued", "running", NULL};

static void filters(strbuf *b, const json_t *cards, const webpage_filter *f) {
    size_t n = json_array_size(cards), i;
    const char **envs = calloc(n + 1, sizeof(char *));

    if (!envs)
        abort();
    for (i = 0; i < n; i++)
        envs[i] = webpage_str(json_array_get(cards, i), "env");
    strbuf_puts(b, "<form class=filters method=get action=/ aria-label=\"Filter the runs\">");
    select_of(b, "env", "Environment", envs, f->env);
    select_of(b, "kind", "Kind", KINDS, f->kind);
    select_of(b, "result", "Result", RESULTS, f->result);
    strbuf_puts(b, "<button>Filter</button> <a href=/>Clear</a></form>");
    free(envs);
}

static void cell(strbuf *b, const char *text, const char *cls) {
    if (cls)
        webpage_html(b, "<td class=\"%s\">%s</td>", cls, text);
    else
        webpage_html(b, "<td>%s</td>", text);
}

static void run_row(strbuf *b, const json_t *r) {
    long long id = json_integer_value(json_object_get(r, "id"));
    const json_t *created = json_object_get(r, "created_ms");
    char shortsha[13], cls[40];

    snprintf(shortsha, sizeof(shortsha), "%s", webpage_str(r, "sha"));
    snprintf(cls, sizeof(cls), "r-%s", webpage_str(r, "state"));
    strbuf_printf(b, "<tr><td><a href=\"/runs/%lld\">#%lld</a></td>", id, id);
    cell(b, webpage_str(r, "env"), NULL);
    cell(b, webpage_str(r, "kind"), NULL);
    webpage_html(b, "<td><code>%s</code></td>", shortsha);
    cell(b, webpage_str(r, "trigger"), NULL);
    cell(b, webpage_str(r, "state"), cls);
    cell(b, webpage_str(r, "result"), NULL);
    strbuf_puts(b, "<td>");
    webpage_time(b, json_integer_value(created));
    strbuf_puts(b, "</td></tr>");
}

static void runs_table(strbuf *b, const json_t *runs) {
    size_t i;

    strbuf_puts(b,
                "<table><caption class=skip>Runs, newest first</caption><thead><tr>"
                "<th scope=col>Run</th><th scope=col>Environment</th><th scope=col>Kind</th>"
                "<th scope=col>Commit</th><th scope=col>Trigger</th><th scope=col>State</th>"
                "<th scope=col>Result</th><th scope=col>Queued at</th></tr></thead><tbody id=runs>");
    for (i = 0; i < json_array_size(runs); i++)
        run_row(b, json_array_get(runs, i));
    if (i == 0)
        strbuf_puts(b, "<tr><td colspan=8 class=muted>No runs match.</td></tr>");
    strbuf_puts(b, "</tbody></table>");
}

/* Replaces each card whose HTML changed, adds new ones, and says when the
 * live updates stop (a restart of the bot: the page still works, stale). */
static const char LIVE_SCRIPT[] =
    "(function(){const list=document.getElementById('cards'),live=document.getElementById('live');\n"
    "function apply(m){for(const c of m.environments){const old=document.getElementById('env-'+c.env);"
    "const t=document.createElement('template');t.innerHTML=c.html;const el=t.content.firstElementChild;"
    "if(old&&old.outerHTML===el.outerHTML)continue;if(old)old.replaceWith(el);else list.appendChild(el)}}\n"
    "function connect(){const ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+"
    "location.host+'/live','deploybot-envs');\n"
    "ws.onopen=()=>{live.textContent='Live: cards update by themselves.'};\n"
    "ws.onmessage=e=>apply(JSON.parse(e.data));\n"
    "ws.onclose=()=>{live.textContent='Live updates stopped: reload the page.'}}\n"
    "connect()})();";

char *webpage_dashboard(const json_t *cards, const json_t *runs, const webpage_filter *f) {
    strbuf b = {0};
    size_t i;

    webpage_begin(&b, "deploybot");
    strbuf_puts(&b,
                "<section aria-labelledby=envs-h><h2 id=envs-h>Environments</h2>"
                "<p id=live class=muted role=status></p><ul class=cards id=cards aria-live=polite>");
    for (i = 0; i < json_array_size(cards); i++)
        card(&b, json_array_get(cards, i));
    strbuf_puts(&b, "</ul>");
    if (i == 0)
        strbuf_puts(&b, "<p class=muted>No environment has been deployed or configured yet.</p>");
    strbuf_puts(&b, "</section><section aria-labelledby=runs-h><h2 id=runs-h>Runs</h2>");
    filters(&b, cards, f);
    runs_table(&b, runs);
    strbuf_puts(&b, "</section>");
    webpage_end(&b, LIVE_SCRIPT);
    return strbuf_take(&b);
}
