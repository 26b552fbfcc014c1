/* webpage: see webpage.h. Text is inserted with textContent, never as HTML:
 * logs and results come from repositories and AWS. */
#include "bot/webpage.h"

#define STYLE \
    "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}" \
    "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;" \
    "text-align:left}pre{background:#f6f8fa;padding:1em;overflow:auto}" \
    ".succeeded{color:#1a7f37}.failed,.blocked{color:#cf222e}.running,.queued{color:#9a6700}" \
    "code{font-size:13px}</style>"

const char webpage_runs_html[] =
    "<!doctype html><html><head><meta charset=utf-8><title>deploybot runs</title>" STYLE
    "</head><body><h1>deploybot</h1><table><thead><tr><th>run</th><th>env</th><th>kind</th>"
    "<th>commit</th><th>trigger</th><th>state</th><th>result</th></tr></thead>"
    "<tbody id=runs></tbody></table><script>\n"
    "function cell(tr,t,cls){const td=document.createElement('td');td.textContent=t;"
    "if(cls)td.className=cls;tr.appendChild(td);return td}\n"
    "async function load(){const r=await fetch('/api/runs?limit=100');const d=await r.json();"
    "const tb=document.getElementById('runs');tb.textContent='';"
    "for(const x of d.runs){const tr=document.createElement('tr');"
    "const a=document.createElement('a');a.href='/runs/'+x.id;a.textContent='#'+x.id;"
    "cell(tr,'').appendChild(a);cell(tr,x.env);cell(tr,x.kind);cell(tr,x.sha.slice(0,12));"
    "cell(tr,x.trigger);cell(tr,x.state,x.state);cell(tr,x.result||'');tb.appendChild(tr)}}\n"
    "load();setInterval(load,3000);</script></body></html>";

const char webpage_run_html[] =
    "<!doctype html><html><head><meta charset=utf-8><title>deploybot run</title>" STYLE
    "</head><body><p><a href=/>all runs</a></p><h1 id=title>run</h1>"
    "<p><span id=state></span> <span id=result></span></p>"
    "<p><code id=meta></code></p><pre id=log></pre><script>\n"
    "const id=location.pathname.split('/').pop();\n"
    "async function load(){const r=await fetch('/api/runs/'+id);if(!r.ok){"
    "document.getElementById('title').textContent='no run #'+id;return}"
    "const x=await r.json();"
    "document.getElementById('title').textContent='#'+x.id+' '+x.kind+' '+x.env;"
    "const st=document.getElementById('state');st.textContent=x.state;st.className=x.state;"
    "document.getElementById('result').textContent=x.result||x.plan_summary||'';"
    "document.getElementById('meta').textContent=x.repo+' '+x.sha+' ('+x.trigger+')'+"
    "(x.duration_ms!=null?' in '+(x.duration_ms/1000).toFixed(1)+' s':'');"
    "document.getElementById('log').textContent=x.log;"
    "if(x.state==='queued'||x.state==='running')follow()}\n"
    /* Live: the log grows from the WebSocket; the summary is reloaded at the end. */
    "function follow(){const ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+"
    "location.host+'/runs/'+id+'/live','deploybot-log');const log=document.getElementById('log');"
    "let first=true;ws.onmessage=e=>{const m=JSON.parse(e.data);if(first){log.textContent='';first=false}"
    "log.textContent+=m.log||'';const st=document.getElementById('state');st.textContent=m.state;"
    "st.className=m.state;if(m.result!==undefined)load()}}\n"
    "load();</script></body></html>";

/* The token may come in the fragment of a link (/login#token=...), which
 * browsers never send: the script moves it into the form, drops it from
 * the address bar and history, and posts it. */
#define LOGIN_PAGE(msg) \
    "<!doctype html><html><head><meta charset=utf-8><title>deploybot login</title>" STYLE \
    "</head><body><h1>deploybot</h1><p>" msg \
    "</p><form method=post action=/login>" \
    "<label>Token <input type=password name=token autocomplete=current-password autofocus></label> " \
    "<button>Log in</button></form><script>\n" \
    "const m=/^#token=(.+)$/.exec(location.hash);" \
    "if(m){history.replaceState(null,'',location.pathname);const f=document.forms[0];" \
    "f.token.value=decodeURIComponent(m[1]);f.submit()}</script></body></html>"

const char webpage_login_html[] = LOGIN_PAGE("Log in with an API token of the bot's config.");
const char webpage_login_failed_html[] = LOGIN_PAGE("That token is not one of the bot's: try again.");
