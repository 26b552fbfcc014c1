/* render: see render.h. */
#include "notify/render.h"
#include "util/strbuf.h"
#include "host/github_api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growing string ---------------------------------------------------- */

/* ---- cutting text -------------------------------------------------------- */

size_t render_count_lines(const char *text) {
    size_t n = 0;
    const char *p = text;
    for (; *p; p++) n += *p == '\n';
    if (p > text && p[-1] != '\n') n++;
    return n;
}

size_t render_clip(const char *text, size_t max, size_t *lines) {
    size_t len = strlen(text), cut;
    if (len <= max) {
        cut = len;
    } else {
        cut = 0;
        for (size_t i = 0; i < max; i++)
            if (text[i] == '\n') cut = i + 1;
        if (cut == 0) { /* not even one line fits: cut inside it, between characters */
            cut = max;
            while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
        }
    }
    if (lines) {
        size_t n = 0;
        for (size_t i = 0; i < cut; i++) n += text[i] == '\n';
        if (cut > 0 && text[cut - 1] != '\n') n++;
        *lines = n;
    }
    return cut;
}

/* The first line of s, at most max bytes, as a malloc'd string. */
static char *first_line(const char *s, size_t max) {
    size_t n = strcspn(s ? s : "", "\r\n");
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    return strndup(s ? s : "", n);
}

/* Inline code / HTML are only built from names (environments, branches):
 * strip what would end the span or open a tag. */
static char *plain_name(const char *s) {
    char *t = strdup(s ? s : "");
    if (!t) abort();
    for (char *p = t; *p; p++)
        if (*p == '`' || *p == '<' || *p == '>' || *p == '&' || *p == '\n' || *p == '\r' || *p == '|') *p = '_';
    return t;
}

static void short_sha(const char *sha, char out[8]) {
    snprintf(out, 8, "%.7s", sha ? sha : "");
}

static const char *branch_of(const char *ref) {
    if (!ref) return NULL;
    return strncmp(ref, "refs/heads/", 11) == 0 ? ref + 11 : ref;
}

/* ---- markdown ------------------------------------------------------------ */

/* Fenced block for text cut to at most max bytes; the fence is longer than
 * any run of backticks inside, so the text cannot close it. Says what was
 * cut, and why, below the block. */
static void md_code_block(strbuf *b, const char *lang, const char *text, size_t max) {
    size_t lines, len = strlen(text);
    size_t keep = render_clip(text, max, &lines);
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < keep; i++) {
        run = text[i] == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    size_t fence = longest >= 3 ? longest + 1 : 3;
    char f[64];
    if (fence >= sizeof(f)) fence = sizeof(f) - 1;
    memset(f, '`', fence);
    f[fence] = '\0';
    strbuf_printf(b, "%s%s\n", f, lang);
    strbuf_put(b, text, keep);
    if (keep == 0 || text[keep - 1] != '\n') strbuf_puts(b, "\n");
    strbuf_printf(b, "%s\n", f);
    if (keep < len)
        strbuf_printf(b,
                      "\n_Output cut to %zu of %zu lines to fit GitHub's %d-character limit; "
                      "the whole output is in the bot's log._\n",
                      lines, render_count_lines(text), GITHUB_COMMENT_MAX);
}

static int show_plan(const notify_env_result *r) {
    return r->plan_text && *r->plan_text && r->changes;
}

static int show_error(const notify_env_result *r) {
    return r->failed && r->error && *r->error;
}

char *render_revert_command(const notify_subject *s) {
    char *c;
    if (asprintf(&c, "git revert --no-edit %s%s", s->revert_mainline ? "-m 1 " : "", s->sha ? s->sha : "") < 0)
        abort();
    return c;
}

static int any_apply_failed(const notify_env_result *envs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (envs[i].applied && envs[i].failed) return 1;
    return 0;
}

/* One comment with every free text i cut to lim[i] bytes (plan of env k is
 * text 2k, its error 2k+1). */
static char *comment_with(int apply, const notify_subject *s, const notify_env_result *envs, size_t n,
                          const size_t *lim) {
    strbuf b = {0};
    char sha[8];
    short_sha(s->sha, sha);
    char *branch = plain_name(branch_of(s->ref) ? branch_of(s->ref) : "");
    if (apply)
        strbuf_printf(&b, "<!-- deploybot:apply -->\n### deploybot apply of `%s` on `%s`\n\n", sha, branch);
    else
        strbuf_printf(&b, "<!-- deploybot:plan -->\n### deploybot plan for `%s`\n\n", sha);
    if (n == 0) strbuf_puts(&b, "No environment is touched by this change: there is nothing to plan.\n\n");
    for (size_t i = 0; i < n; i++) {
        const notify_env_result *r = &envs[i];
        char *env = plain_name(r->env);
        if (r->pending) {
            strbuf_printf(&b, "- %s: being planned\xE2\x80\xA6", env);
        } else if (r->failed) {
            strbuf_printf(&b, "- %s: %s failed (see below)", env, r->applied ? "Apply" : "Plan");
        } else {
            char *sum = first_line(r->summary, 300);
            strbuf_printf(&b, "- %s: %s%s", env, sum, apply && !r->applied && r->changes ? " (not applied)" : "");
            free(sum);
        }
        if (r->url && !strpbrk(r->url, " ()<>")) strbuf_printf(&b, " ([details](%s))", r->url);
        strbuf_puts(&b, "\n");
        free(env);
    }
    if (n) strbuf_puts(&b, "\n");
    for (size_t i = 0; i < n; i++) {
        const notify_env_result *r = &envs[i];
        char *env = plain_name(r->env);
        if (show_plan(r)) {
            strbuf_printf(&b, "<details><summary>%s: %s</summary>\n\n", env, r->applied ? "the plan applied" : "full plan");
            md_code_block(&b, "", r->plan_text, lim[2 * i]);
            strbuf_puts(&b, "\n</details>\n\n");
        }
        if (show_error(r)) {
            strbuf_printf(&b, "**%s**: %s failed:\n\n", env, r->applied ? "apply" : "plan");
            md_code_block(&b, "", r->error, lim[2 * i + 1]);
            strbuf_puts(&b, "\n");
        }
        free(env);
    }
    if (apply && any_apply_failed(envs, n)) {
        char *cmd = render_revert_command(s);
        strbuf_printf(&b,
                      "To roll back, revert this commit on an up-to-date `%s` and push:\n\n"
                      "```sh\n%s\ngit push origin %s\n```\n\n",
                      branch, cmd, branch);
        free(cmd);
    }
    if (s->run_url) strbuf_printf(&b, "[Details of this run](%s)\n", s->run_url);
    free(branch);
    return strbuf_take(&b);
}

/* Shares `budget` bytes between texts of the given sizes: small texts keep
 * everything, the rest get equal parts of what is left. */
static void water_fill(const size_t *size, size_t *lim, size_t k, size_t budget) {
    int *done = calloc(k ? k : 1, sizeof(int));
    if (!done) abort();
    for (size_t left = k; left > 0; left--) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < k; i++)
            if (!done[i] && (best == SIZE_MAX || size[i] < size[best])) best = i;
        size_t share = budget / left;
        lim[best] = size[best] < share ? size[best] : share;
        budget -= lim[best];
        done[best] = 1;
    }
    free(done);
}

/* Room kept for each cut text's note (and the newline a cut line gains). */
#define NOTE_RESERVE 200

static char *comment(int apply, const notify_subject *s, const notify_env_result *envs, size_t n, size_t max) {
    if (max == 0) max = GITHUB_COMMENT_MAX;
    size_t k = 2 * n;
    size_t *lim = malloc((k ? k : 1) * sizeof(size_t)), *size = calloc(k ? k : 1, sizeof(size_t));
    if (!lim || !size) abort();
    for (size_t i = 0; i < k; i++) lim[i] = SIZE_MAX;
    char *out = comment_with(apply, s, envs, n, lim);
    size_t len = strlen(out);
    if (len > max) {
        size_t var = 0, texts = 0;
        for (size_t i = 0; i < n; i++) {
            if (show_plan(&envs[i])) size[2 * i] = strlen(envs[i].plan_text), texts++;
            if (show_error(&envs[i])) size[2 * i + 1] = strlen(envs[i].error), texts++;
            var += size[2 * i] + size[2 * i + 1];
        }
        size_t fixed = len - var + texts * NOTE_RESERVE;
        water_fill(size, lim, k, fixed < max ? max - fixed : 0);
        free(out);
        out = comment_with(apply, s, envs, n, lim);
        len = strlen(out);
    }
    if (len > max) { /* only when the fixed part alone is too long (thousands of environments) */
        static const char tail[] = "\n\n_Comment cut to fit GitHub's limit._\n";
        size_t cut = max - (sizeof(tail) - 1);
        while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80) cut--;
        memcpy(out + cut, tail, sizeof(tail));
    }
    free(lim);
    free(size);
    return out;
}

char *render_pr_comment(const notify_subject *s, const notify_env_result *envs, size_t n, size_t max) {
    return comment(0, s, envs, n, max);
}

char *render_commit_comment(const notify_subject *s, const notify_env_result *envs, size_t n, size_t max) {
    return comment(1, s, envs, n, max);
}

/* ---- chat ---------------------------------------------------------------- */

/* What happened, in a few words. */
static const char *phrase(notify_event ev, const notify_env_result *r) {
    switch (ev) {
    case NOTIFY_PLAN: return r->failed ? "plan failed" : "plan";
    case NOTIFY_APPLY_STARTED: return "apply started";
    case NOTIFY_APPLY_SUCCEEDED: return "apply succeeded";
    case NOTIFY_DRIFT: return r->changes ? "drift detected" : "drift resolved";
    default: return "apply failed";
    }
}

/* "`abc1234` on `main`" / "`abc1234` in PR #7" / "`abc1234` (deployed)"
 * (what the bot runs itself), for chat markup. */
static char *where(const notify_subject *s) {
    char sha[8], *w;
    short_sha(s->sha, sha);
    char *br = plain_name(branch_of(s->ref) ? branch_of(s->ref) : "");
    int rc = s->pr_number ? asprintf(&w, "`%s` in PR #%ld", sha, s->pr_number)
             : s->ref     ? asprintf(&w, "`%s` on `%s`", sha, br)
                          : asprintf(&w, "`%s` (deployed)", sha);
    free(br);
    if (rc < 0) abort();
    return w;
}

/* The one line under the title. */
static char *chat_summary(notify_event ev, const notify_env_result *r) {
    if (ev == NOTIFY_APPLY_STARTED) return strdup("Planning, then applying.");
    return first_line(r->summary, 300);
}

/* The long text a chat message carries: the error, else (for a plan) the plan. */
static const char *chat_detail(notify_event ev, const notify_env_result *r) {
    if (show_error(r)) return r->error;
    if ((ev == NOTIFY_PLAN || ev == NOTIFY_DRIFT) && show_plan(r)) return r->plan_text;
    return NULL;
}

/* Chat code blocks have fixed ``` fences: no two backticks may touch inside
 * (a zero-width space goes between them). */
static char *defence(const char *text) {
    strbuf b = {0};
    for (const char *p = text; *p; p++) {
        strbuf_put(&b, p, 1);
        if (*p == '`' && p[1] == '`') strbuf_puts(&b, "\xE2\x80\x8B");
    }
    return strbuf_take(&b);
}

/* A zero-width space after the '@' of @everyone and @here: outside a code
 * block, a repository name or an error message must not ping a channel. */
static int put_mention(strbuf *b, const char *p) {
    if (*p != '@' || (strncmp(p + 1, "everyone", 8) != 0 && strncmp(p + 1, "here", 4) != 0)) return 0;
    strbuf_puts(b, "@\xE2\x80\x8B");
    return 1;
}

/* Slack mrkdwn needs &, < and > escaped everywhere; `mentions`: outside
 * code blocks, @everyone and @here too. */
static char *slack_escape(const char *text, int mentions) {
    strbuf b = {0};
    for (const char *p = text; *p; p++) {
        if (*p == '&') strbuf_puts(&b, "&amp;");
        else if (*p == '<') strbuf_puts(&b, "&lt;");
        else if (*p == '>') strbuf_puts(&b, "&gt;");
        else if (!mentions || !put_mention(&b, p)) strbuf_put(&b, p, 1);
    }
    return strbuf_take(&b);
}

/* Discord markdown outside code blocks: a backslash before < and > (no
 * <@id> mention, no <#channel> link) and the mentions defused. */
static char *discord_escape(const char *text) {
    strbuf b = {0};
    for (const char *p = text; *p; p++) {
        if (*p == '<' || *p == '>') strbuf_putc(&b, '\\');
        if (!put_mention(&b, p)) strbuf_put(&b, p, 1);
    }
    return strbuf_take(&b);
}

/* Room kept for the note under a cut chat code block. */
#define CHAT_NOTE_MAX 96

/* A ``` block of text within max bytes in total, with a note when cut.
 * `escaped`: never cut inside an &entity; (Slack). */
static char *chat_code_block(const char *text, size_t max, int escaped) {
    static const char open[] = "```\n", close[] = "\n```";
    const size_t frame = sizeof(open) - 1 + sizeof(close) - 1;
    strbuf b = {0};
    size_t len = strlen(text), keep;
    while (len && text[len - 1] == '\n') len--;
    keep = len;
    if (frame + len > max) {
        keep = render_clip(text, max > frame + CHAT_NOTE_MAX ? max - frame - CHAT_NOTE_MAX : 0, NULL);
        for (size_t i = keep; escaped && i > 0 && keep - i < 8; i--) {
            if (text[i - 1] == ';') break;
            if (text[i - 1] == '&') {
                keep = i - 1;
                break;
            }
        }
        while (keep && text[keep - 1] == '\n') keep--;
    }
    strbuf_puts(&b, open);
    strbuf_put(&b, text, keep);
    strbuf_puts(&b, close);
    if (keep < len) {
        size_t lines;
        render_clip(text, keep, &lines);
        strbuf_printf(&b, "\n_Cut to %zu of %zu lines; the whole output is in the bot's log._", lines,
                      render_count_lines(text));
    }
    return strbuf_take(&b);
}

static json_t *slack_section(const char *mrkdwn) {
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "section", "text", "type", "mrkdwn", "text", mrkdwn);
}

json_t *render_slack(const notify_subject *s, notify_event ev, const notify_env_result *r) {
    char *env = plain_name(r->env), *w = where(s), *sum = chat_summary(ev, r);
    char *esum = slack_escape(sum, 1), *erepo = slack_escape(s->repo ? s->repo : "", 1);
    json_t *blocks = json_array();
    strbuf head = {0}, fallback = {0};
    strbuf_printf(&head, "*%s* · %s · %s\n%s", env, phrase(ev, r), w, esum);
    json_array_append_new(blocks, slack_section(head.s));
    strbuf_printf(&fallback, "deploybot: %s %s: %s", env, phrase(ev, r), esum);
    const char *detail = chat_detail(ev, r);
    if (detail) {
        char *d = defence(detail), *e = slack_escape(d, 0);
        char *blk = chat_code_block(e, RENDER_SLACK_SECTION_MAX, 1);
        json_array_append_new(blocks, slack_section(blk));
        free(d), free(e), free(blk);
    }
    if (ev == NOTIFY_APPLY_FAILED) {
        char *cmd = render_revert_command(s), *br = plain_name(branch_of(s->ref) ? branch_of(s->ref) : "main");
        char *t;
        if (asprintf(&t, "To roll back:\n```\n%s\ngit push origin %s\n```", cmd, br) < 0) abort();
        json_array_append_new(blocks, slack_section(t));
        free(t), free(cmd), free(br);
    }
    strbuf ctx = {0};
    if (s->run_url && !strpbrk(s->run_url, "|<> ")) strbuf_printf(&ctx, "<%s|Details of this run> · ", s->run_url);
    strbuf_printf(&ctx, "%s", erepo);
    json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context", "elements", "type",
                                            "mrkdwn", "text", ctx.s));
    /* The fallback text shows in notifications; keep it one short line. */
    if (fallback.len > RENDER_SLACK_SECTION_MAX) fallback.s[render_clip(fallback.s, RENDER_SLACK_SECTION_MAX, NULL)] = '\0';
    json_t *msg = json_pack("{s:s,s:o}", "text", fallback.s, "blocks", blocks);
    free(env), free(w), free(sum), free(esum), free(erepo), free(head.s), free(fallback.s), free(ctx.s);
    return msg;
}

static int color_of(notify_event ev, const notify_env_result *r) {
    if (r->failed || ev == NOTIFY_APPLY_FAILED) return 0xE01E5A;     /* red */
    if (ev == NOTIFY_APPLY_SUCCEEDED) return 0x2EB67D;               /* green */
    if (ev == NOTIFY_APPLY_STARTED) return 0xECB22E;                 /* yellow */
    if (ev == NOTIFY_DRIFT) return r->changes ? 0xE8912D : 0x2EB67D; /* orange; green: resolved */
    return 0x36C5F0;                                                 /* blue: a plan */
}

json_t *render_discord(const notify_subject *s, notify_event ev, const notify_env_result *r) {
    char *env = plain_name(r->env), *w = where(s), *sum = chat_summary(ev, r);
    char title[300];
    snprintf(title, sizeof(title), "%.200s · %s", env, phrase(ev, r));
    char *repo = discord_escape(s->repo && *s->repo ? s->repo : "-");
    const char *footer = "deploybot";
    /* Every counted field (title, description, field names and values,
     * footer) shares 6000; the description alone may have 4096. */
    size_t fixed = strlen(title) + strlen("Commit") + strlen(w) + strlen("Repository") + strlen(repo) + strlen(footer);
    size_t room = RENDER_DISCORD_TOTAL_MAX - fixed;
    if (room > RENDER_DISCORD_DESCRIPTION_MAX) room = RENDER_DISCORD_DESCRIPTION_MAX;
    strbuf d = {0};
    char *esum = discord_escape(sum);
    strbuf_puts(&d, esum);
    free(esum);
    char *tail = NULL;
    if (ev == NOTIFY_APPLY_FAILED) {
        char *cmd = render_revert_command(s), *br = plain_name(branch_of(s->ref) ? branch_of(s->ref) : "main");
        if (asprintf(&tail, "\nTo roll back:\n```\n%s\ngit push origin %s\n```", cmd, br) < 0) abort();
        free(cmd), free(br);
    }
    const char *detail = chat_detail(ev, r);
    if (detail) {
        size_t used = d.len + 1 + (tail ? strlen(tail) : 0);
        char *df = defence(detail);
        char *blk = chat_code_block(df, room > used ? room - used : 0, 0);
        strbuf_puts(&d, "\n");
        strbuf_puts(&d, blk);
        free(df), free(blk);
    }
    if (tail) strbuf_puts(&d, tail);
    if (d.len > room) d.s[render_clip(d.s, room, NULL)] = '\0';
    json_t *embed = json_pack("{s:s,s:s,s:i,s:[{s:s,s:s,s:b},{s:s,s:s,s:b}],s:{s:s}}",
                              "title", title, "description", d.s, "color", color_of(ev, r),
                              "fields", "name", "Commit", "value", w, "inline", 1,
                              "name", "Repository", "value", repo, "inline", 1,
                              "footer", "text", footer);
    if (s->run_url && (!strncmp(s->run_url, "http://", 7) || !strncmp(s->run_url, "https://", 8)))
        json_object_set_new(embed, "url", json_string(s->run_url));
    /* No @everyone or role pings, whatever a stack file or an error says. */
    json_t *msg = json_pack("{s:s,s:[o],s:{s:[]}}", "username", "deploybot", "embeds", embed,
                            "allowed_mentions", "parse");
    free(env), free(w), free(sum), free(d.s), free(tail), free(repo);
    return msg;
}

static json_t *str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

json_t *render_webhook(const notify_subject *s, notify_event ev, const notify_env_result *r,
                       long long created_at) {
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "event", json_string(notify_event_name(ev)));
    json_object_set_new(o, "environment", json_string(r->env ? r->env : ""));
    json_object_set_new(o, "repository", str_or_null(s->repo));
    json_object_set_new(o, "sha", str_or_null(s->sha));
    json_object_set_new(o, "ref", str_or_null(s->ref));
    json_object_set_new(o, "pull_request", s->pr_number ? json_integer(s->pr_number) : json_null());
    json_object_set_new(o, "failed", json_boolean(ev == NOTIFY_APPLY_FAILED || r->failed));
    json_object_set_new(o, "changes", json_boolean(r->changes));
    json_object_set_new(o, "summary", ev == NOTIFY_APPLY_STARTED ? json_null() : str_or_null(r->summary));
    json_t *plan = json_null(), *error = json_null();
    if (show_plan(r)) {
        size_t keep = render_clip(r->plan_text, GITHUB_COMMENT_MAX, NULL);
        plan = json_stringn(r->plan_text, keep);
    }
    if (show_error(r)) {
        size_t keep = render_clip(r->error, GITHUB_COMMENT_MAX, NULL);
        error = json_stringn(r->error, keep);
    }
    json_object_set_new(o, "plan", plan ? plan : json_null());
    json_object_set_new(o, "error", error ? error : json_null());
    char *cmd = ev == NOTIFY_APPLY_FAILED ? render_revert_command(s) : NULL;
    json_object_set_new(o, "revert_command", str_or_null(cmd));
    free(cmd);
    json_object_set_new(o, "run_url", str_or_null(s->run_url));
    json_object_set_new(o, "created_at", json_integer(created_at));
    return o;
}

void render_valid_utf8(char *s) {
    unsigned char *p = (unsigned char *)s;
    while (p && *p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2
                               : (*p & 0xF0) == 0xE0   ? 3
                               : (*p & 0xF8) == 0xF0   ? 4
                                                       : 0;
        int ok = n > 0 && !(n == 2 && *p < 0xC2) && !(n == 4 && *p > 0xF4);
        for (size_t i = 1; ok && i < n; i++) ok = (p[i] & 0xC0) == 0x80;
        if (ok && n == 3) {
            unsigned cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
            ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (ok && n == 4) {
            unsigned cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12;
            ok = cp >= 0x10000 && cp <= 0x10FFFF;
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}
