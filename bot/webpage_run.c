/* webpage_run: the page of one run (webpage.h). */
#include "bot/webpage.h"

#include <stdio.h>
#include <string.h>

/* The class of a plan line (deploy/plan_render.h's marks, after the
 * indentation), or NULL for any other line of the log. */
static const char *plan_class(const char *line, size_t n) {
    size_t sp = 0;

    while (sp < n && line[sp] == ' ')
        sp++;
    line += sp;
    n -= sp;
    if (n >= 4 && strncmp(line, "-/+ ", 4) == 0)
        return "p-rep";
    if (n >= 2 && line[1] == ' ' && (line[0] == '+' || line[0] == '~' || line[0] == '-'))
        return line[0] == '+' ? "p-add" : line[0] == '~' ? "p-chg"
                                                         : "p-del";
    if (sp == 0 && n >= 6 && strncmp(line, "Plan: ", 6) == 0)
        return "p-sum";
    return NULL;
}

/* The log, escaped, each plan line in a span of its class. */
static void log_html(strbuf *b, const char *log) {
    while (*log) {
        const char *nl = strchr(log, '\n');
        size_t n = nl ? (size_t)(nl - log) : strlen(log);
        const char *cls = plan_class(log, n);

        if (cls)
            strbuf_printf(b, "<span class=%s>", cls);
        strbuf_put_html_n(b, log, n);
        strbuf_puts(b, cls ? "</span>" : "");
        if (nl)
            strbuf_putc(b, '\n');
        log += n + (nl ? 1 : 0);
    }
}

static void field(strbuf *b, const char *name, const char *value) {
    if (!*value)
        return;
    webpage_html(b, "<dt>%s</dt><dd>%s</dd>", name, value);
}

static void when(strbuf *b, const char *name, const json_t *ms) {
    if (!json_integer_value(ms))
        return;
    strbuf_printf(b, "<dt>%s</dt><dd>", name);
    webpage_time(b, json_integer_value(ms));
    strbuf_puts(b, "</dd>");
}

static void facts(strbuf *b, const json_t *r) {
    const json_t *dur = json_object_get(r, "duration_ms");

    strbuf_puts(b, "<dl class=facts>");
    field(b, "Environment", webpage_str(r, "env"));
    field(b, "Repository", webpage_str(r, "repo"));
    field(b, "Commit", webpage_str(r, "sha"));
    field(b, "Ref", webpage_str(r, "ref"));
    field(b, "Trigger", webpage_str(r, "trigger"));
    field(b, "Plan", webpage_str(r, "plan_summary"));
    when(b, "Queued", json_object_get(r, "created_ms"));
    when(b, "Started", json_object_get(r, "started_ms"));
    when(b, "Finished", json_object_get(r, "finished_ms"));
    if (json_is_integer(dur))
        strbuf_printf(b, "<dt>Took</dt><dd>%.1f s</dd>", (double)json_integer_value(dur) / 1000);
    strbuf_puts(b, "</dl>");
}

/* While the run is queued or running, the log grows from the WebSocket; at
 * the end the page is loaded again, with the final result and colours. */
static const char FOLLOW_SCRIPT[] =
    "(function(){const log=document.getElementById('log'),st=document.getElementById('state');\n"
    "if(!['queued','running'].includes(st.dataset.state))return;\n"
    "const id=location.pathname.split('/').pop();\n"
    "const ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+"
    "'/runs/'+id+'/live','deploybot-log');let first=true;\n"
    "ws.onmessage=e=>{const m=JSON.parse(e.data);if(first){log.textContent='';first=false}"
    "log.textContent+=m.log||'';st.textContent=m.state;if(m.result!==undefined)location.reload()}})();";

char *webpage_run(const json_t *r) {
    strbuf b = {0};
    char title[160];
    const char *state = webpage_str(r, "state"), *result = webpage_str(r, "result");

    snprintf(title, sizeof(title), "#%lld %s %s", (long long)json_integer_value(json_object_get(r, "id")),
             webpage_str(r, "kind"), webpage_str(r, "env"));
    webpage_begin(&b, title);
    webpage_html(&b,
                 "<h2>%s</h2><p><strong id=state class=\"r-%s\" data-state=\"%s\">%s</strong> "
                 "<span id=result>%s</span></p>",
                 title, state, state, state, result);
    facts(&b, r);
    strbuf_puts(&b, "<h3>Log</h3><pre id=log tabindex=0 aria-label=\"Run log\">");
    log_html(&b, webpage_str(r, "log"));
    strbuf_puts(&b, "</pre>");
    webpage_end(&b, FOLLOW_SCRIPT);
    return strbuf_take(&b);
}
