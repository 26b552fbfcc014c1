/* webpage: see webpage.h. This file is what the pages share: the style
 * sheet, the frame of a page, and the login form. */
#include "bot/webpage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Colours pass WCAG AA on their backgrounds; the state never rests on colour
 * alone (each has an icon and words). */
#define STYLE \
    "<style>" \
    ":root{color-scheme:light}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}" \
    "header{background:#24292f;color:#fff;padding:.6em 2em;display:flex;gap:2em;align-items:baseline}" \
    "header h1{font-size:1.3em;margin:0}header a{color:#fff}main{padding:1em 2em}" \
    ".skip{position:absolute;left:-999px}.skip:focus{left:1em;top:1em;background:#fff;color:#0969da;padding:.4em}" \
    "a{color:#0550ae}a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible,summary:focus-visible" \
    "{outline:3px solid #0969da;outline-offset:2px}" \
    "h2{font-size:1.15em;margin:1.2em 0 .6em}" \
    ".cards{list-style:none;padding:0;margin:0;display:grid;gap:1em;" \
    "grid-template-columns:repeat(auto-fill,minmax(20em,1fr))}" \
    ".card{background:#fff;border:1px solid #d0d7de;border-left:6px solid var(--c);border-radius:6px;padding:.8em 1em}" \
    ".card h3{margin:0 0 .3em;font-size:1.1em}.card dl{margin:.4em 0 0;display:grid;grid-template-columns:auto 1fr;gap:.15em .8em}" \
    ".card dt{color:#59636e}.card dd{margin:0;overflow-wrap:anywhere}" \
    ".state{display:inline-block;font-weight:600;color:var(--c);background:var(--bg);border-radius:1em;padding:.05em .7em}" \
    ".st-in_sync{--c:#1a7f37;--bg:#dafbe1}.st-drifted{--c:#7d4e00;--bg:#fff8c5}.st-failed{--c:#cf222e;--bg:#ffebe9}" \
    ".st-queued{--c:#0550ae;--bg:#ddf4ff}.st-locked{--c:#6639ba;--bg:#fbefff}.st-applying{--c:#0550ae;--bg:#ddf4ff}" \
    "table{border-collapse:collapse;background:#fff;width:100%}td,th{padding:5px 10px;border-bottom:1px solid #d0d7de;" \
    "text-align:left;vertical-align:top}th{background:#eaeef2}" \
    ".r-succeeded{color:#1a7f37}.r-failed,.r-blocked{color:#cf222e}.r-drifted{color:#7d4e00}" \
    ".r-running,.r-queued{color:#0550ae}.r-skipped,.r-superseded{color:#59636e}" \
    "form.filters{display:flex;flex-wrap:wrap;gap:.8em;align-items:end;margin-bottom:.8em}" \
    "label{display:inline-flex;flex-direction:column;font-size:.9em}select,input,button{font:inherit;padding:.2em .4em}" \
    "pre{background:#fff;border:1px solid #d0d7de;padding:1em;overflow:auto;font-size:13px}" \
    ".p-add{color:#1a7f37}.p-chg{color:#7d4e00}.p-del{color:#cf222e}.p-rep{color:#6639ba}.p-sum{font-weight:700}" \
    "code{font-size:13px}.muted{color:#59636e}" \
    "</style>"

void webpage_begin(strbuf *b, const char *title) {
    strbuf_puts(b,
                "<!doctype html><html lang=en><head><meta charset=utf-8>"
                "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
                "<link rel=icon href=/favicon.ico>");
    webpage_html(b, "<title>%s</title>", title);
    strbuf_puts(b, STYLE
                "</head><body><a class=skip href=#main>Skip to content</a>"
                "<header><h1><a href=/>deploybot</a></h1><nav aria-label=Main><a href=/>Dashboard</a></nav>"
                "</header><main id=main>");
}

void webpage_end(strbuf *b, const char *script) {
    strbuf_puts(b, "</main>");
    if (script) {
        strbuf_puts(b, "<script>");
        strbuf_puts(b, script);
        strbuf_puts(b, "</script>");
    }
    strbuf_puts(b, "</body></html>");
}

void webpage_time(strbuf *b, long long ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char iso[32], shown[32];

    gmtime_r(&t, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(shown, sizeof(shown), "%Y-%m-%d %H:%M UTC", &tm);
    strbuf_printf(b, "<time datetime=\"%s\">%s</time>", iso, shown);
}

void webpage_html(strbuf *b, const char *tmpl, ...) {
    va_list ap;
    const char *p = tmpl, *pct;

    va_start(ap, tmpl);
    while ((pct = strchr(p, '%'))) {
        strbuf_put(b, p, (size_t)(pct - p));
        if (pct[1] == 's') {
            strbuf_put_html(b, va_arg(ap, const char *));
        } else if (strncmp(pct + 1, "lld", 3) == 0) {
            strbuf_printf(b, "%lld", va_arg(ap, long long));
            pct += 2;
        } else if (pct[1] == '%') {
            strbuf_putc(b, '%');
        } else {
            abort();
        }
        p = pct + 2;
    }
    strbuf_puts(b, p);
    va_end(ap);
}

const char *webpage_str(const json_t *o, const char *key) {
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

const char webpage_icon_svg[] =
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<rect width='16' height='16' rx='3' fill='#24292f'/>"
    "<path d='M4 8.5l2.5 2.5L12 5' stroke='#3fb950' stroke-width='2' fill='none'/></svg>";

/* The token may come in the fragment of a link (/login#token=...), which
 * browsers never send: the script moves it into the form, drops it from
 * the address bar and history, and posts it. */
#define LOGIN_PAGE(msg) \
    "<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href=/favicon.ico>" \
    "<title>deploybot login</title>" STYLE \
    "</head><body><header><h1>deploybot</h1></header><main id=main><p>" msg \
    "</p><form method=post action=/login>" \
    "<label>Token <input type=password name=token autocomplete=current-password autofocus></label> " \
    "<button>Log in</button></form></main><script>\n" \
    "const m=/^#token=(.+)$/.exec(location.hash);" \
    "if(m){history.replaceState(null,'',location.pathname);const f=document.forms[0];" \
    "f.token.value=decodeURIComponent(m[1]);f.submit()}</script></body></html>"

const char webpage_login_html[] = LOGIN_PAGE("Log in with an API token of the bot's config.");
const char webpage_login_failed_html[] = LOGIN_PAGE("That token is not one of the bot's: try again.");
