/* settings: see settings.h. */
#include "notify/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int only_keys(const json_t *obj, const char *where, const char *const *allowed, errinfo *err) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, key) == 0;
        if (!ok)
            return errinfo_set(err, ERR_INVALID, "unknown key \"%s.%s\"", where, key);
    }
    return 0;
}

/* A non-empty string at obj[key] (copied), or NULL when absent. */
static int opt_string(const json_t *obj, const char *key, const char *where, char **out, errinfo *err) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
        return errinfo_set(err, ERR_INVALID, "\"%s.%s\" must be a non-empty string", where, key);
    if (!(*out = strdup(json_string_value(v)))) abort();
    return 0;
}

static int string_list(const json_t *obj, const char *key, const char *where, char ***out, size_t *n,
                       errinfo *err) {
    json_t *v = json_object_get(obj, key), *item;
    size_t i;
    *out = NULL;
    *n = 0;
    if (!v) return 0;
    if (!json_is_array(v)) goto bad;
    json_array_foreach(v, i, item) if (!json_is_string(item) || json_string_length(item) == 0) goto bad;
    *out = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!*out) abort();
    json_array_foreach(v, i, item) if (!((*out)[(*n)++] = strdup(json_string_value(item)))) abort();
    return 0;
bad:
    errinfo_set(err, ERR_INVALID, "\"%s.%s\" must be a list of non-empty strings", where, key);
    return -1;
}

static int parse_route(const json_t *o, const char *where, chat_route *r, errinfo *err) {
    static const char *const keys[] = {"type", "url_env", "secret_env", "environments", "events", NULL};
    char *type = NULL, **events = NULL;
    size_t n_events = 0;
    int rc = -1;
    if (!json_is_object(o))
        return errinfo_set(err, ERR_INVALID, "\"%s\" must be an object", where);
    if (only_keys(o, where, keys, err) < 0 || opt_string(o, "type", where, &type, err) < 0 ||
        opt_string(o, "url_env", where, &r->url_env, err) < 0 ||
        opt_string(o, "secret_env", where, &r->secret_env, err) < 0 ||
        string_list(o, "environments", where, &r->environments, &r->n_environments, err) < 0 ||
        string_list(o, "events", where, &events, &n_events, err) < 0)
        goto done;
    if (!type || (strcmp(type, "slack") && strcmp(type, "discord") && strcmp(type, "webhook"))) {
        errinfo_set(err, ERR_INVALID, "\"%s.type\" must be \"slack\", \"discord\" or \"webhook\"", where);
        goto done;
    }
    r->kind = !strcmp(type, "slack") ? CHAT_SLACK : !strcmp(type, "discord") ? CHAT_DISCORD
                                                                             : CHAT_WEBHOOK;
    if (!r->url_env) {
        errinfo_set(err, ERR_INVALID, "\"%s.url_env\" is required (the variable holding the webhook URL)", where);
        goto done;
    }
    if (r->kind == CHAT_WEBHOOK && !r->secret_env) {
        errinfo_set(err, ERR_INVALID, "\"%s.secret_env\" is required for a webhook (its bodies are signed)", where);
        goto done;
    }
    if (r->kind != CHAT_WEBHOOK && r->secret_env) {
        errinfo_set(err, ERR_INVALID, "\"%s.secret_env\" is only for \"webhook\"", where);
        goto done;
    }
    r->events = n_events ? 0 : (1u << NOTIFY_EVENT_COUNT) - 1;
    for (size_t i = 0; i < n_events; i++) {
        int e = notify_event_parse(events[i]);
        if (e < 0) {
            errinfo_set(err, ERR_INVALID,
                        "\"%s.events\": unknown event \"%.64s\" (plan, apply_started, "
                        "apply_succeeded, apply_failed, drift)",
                        where, events[i]);
            goto done;
        }
        r->events |= 1u << e;
    }
    rc = 0;
done:
    for (size_t i = 0; i < n_events; i++) free(events[i]);
    free(events);
    free(type);
    return rc;
}

static int opt_retry_base(const json_t *obj, long long *out, errinfo *err) {
    json_t *v = json_object_get(obj, "retry_base_ms");
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < NOTIFY_RETRY_BASE_MS_MIN ||
        json_integer_value(v) > NOTIFY_RETRY_BASE_MS_MAX)
        return errinfo_set(err, ERR_INVALID, "\"notify.retry_base_ms\" must be an integer in %d..%d",
                           NOTIFY_RETRY_BASE_MS_MIN, NOTIFY_RETRY_BASE_MS_MAX);
    *out = json_integer_value(v);
    return 0;
}

int notify_settings_parse(const json_t *obj, notify_settings *out, errinfo *err) {
    static const char *const keys[] = {"chat", "secrets_env", "retry_base_ms", NULL};
    memset(out, 0, sizeof(*out));
    if (!obj) return 0;
    if (!json_is_object(obj))
        return errinfo_set(err, ERR_INVALID, "\"notify\" must be an object");
    json_t *chat = json_object_get(obj, "chat"), *item;
    size_t i;
    if (only_keys(obj, "notify", keys, err) < 0 || opt_retry_base(obj, &out->retry_base_ms, err) < 0 ||
        string_list(obj, "secrets_env", "notify", &out->secrets_env, &out->n_secrets_env, err) < 0)
        goto fail;
    if (chat && !json_is_array(chat)) {
        errinfo_set(err, ERR_INVALID, "\"notify.chat\" must be a list of routes");
        goto fail;
    }
    out->routes = calloc(json_array_size(chat) + 1, sizeof(chat_route));
    if (!out->routes) abort();
    json_array_foreach(chat, i, item) {
        char where[64];
        snprintf(where, sizeof(where), "notify.chat[%zu]", i);
        out->n_routes++;
        if (parse_route(item, where, &out->routes[i], err) < 0) goto fail;
    }
    return 0;
fail:
    notify_settings_free(out);
    return -1;
}

static void free_list(char **l, size_t n) {
    for (size_t i = 0; i < n; i++) free(l[i]);
    free(l);
}

void notify_settings_free(notify_settings *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].url_env);
        free(s->routes[i].secret_env);
        free_list(s->routes[i].environments, s->routes[i].n_environments);
    }
    free(s->routes);
    free_list(s->secrets_env, s->n_secrets_env);
    memset(s, 0, sizeof(*s));
}

const char *chat_kind_name(chat_kind k) {
    return k == CHAT_SLACK ? "slack" : k == CHAT_DISCORD ? "discord"
                                                         : "webhook";
}

int chat_route_wants(const chat_route *r, const char *env, notify_event ev) {
    if (!(r->events & (1u << ev))) return 0;
    if (r->n_environments == 0) return 1;
    for (size_t i = 0; i < r->n_environments; i++)
        if (env && strcmp(r->environments[i], env) == 0) return 1;
    return 0;
}

int notify_settings_unset(const notify_settings *s, char *out, size_t len) {
    int n = 0;
    size_t used = 0;
    if (len) out[0] = '\0';
    for (size_t i = 0; s && i < s->n_routes; i++) {
        const char *names[2] = {s->routes[i].url_env, s->routes[i].secret_env};
        for (int k = 0; k < 2; k++) {
            const char *v = names[k] ? getenv(names[k]) : "set";
            if (v && *v) continue;
            int w = snprintf(out + used, used < len ? len - used : 0, "%s%s", n ? ", " : "", names[k]);
            if (w > 0 && used + (size_t)w < len) used += (size_t)w;
            n++;
        }
    }
    return n;
}

void notify_settings_secrets(const notify_settings *s, redactor *r) {
    redactor_add_defaults(r);
    if (!s) return;
    for (size_t i = 0; i < s->n_routes; i++) {
        redactor_add_env(r, s->routes[i].url_env);
        redactor_add_env(r, s->routes[i].secret_env);
    }
    for (size_t i = 0; i < s->n_secrets_env; i++) redactor_add_env(r, s->secrets_env[i]);
}
