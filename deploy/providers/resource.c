/* resource: see resource.h. */
#include "deploy/providers/resource.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

resource *resource_set_add(resource_set *s, const char *type, const char *id,
                           const char *physical, json_t *attrs) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = realloc(s->items, s->cap * sizeof(*s->items));
        if (!s->items) abort();
    }
    resource *r = &s->items[s->n++];
    r->type = strdup(type);
    r->id = strdup(id);
    r->physical = physical ? strdup(physical) : NULL;
    r->attrs = attrs ? attrs : json_object();
    r->extra = NULL;
    return r;
}

void resource_set_move(resource_set *dst, resource_set *src) {
    for (size_t i = 0; i < src->n; i++) {
        resource *r = &src->items[i];
        resource *d = resource_set_add(dst, r->type, r->id, r->physical, r->attrs);
        d->extra = r->extra;
        free(r->type);
        free(r->id);
        free(r->physical);
    }
    free(src->items);
    memset(src, 0, sizeof(*src));
}

resource *resource_set_find(const resource_set *s, const char *id) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].id, id) == 0) return &s->items[i];
    return NULL;
}

resource *resource_set_find_physical(const resource_set *s, const char *physical) {
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].physical && strcmp(s->items[i].physical, physical) == 0)
            return &s->items[i];
    return NULL;
}

void resource_set_free(resource_set *s) {
    for (size_t i = 0; i < s->n; i++) {
        resource *r = &s->items[i];
        free(r->type);
        free(r->id);
        free(r->physical);
        json_decref(r->attrs);
        json_decref(r->extra);
    }
    free(s->items);
    memset(s, 0, sizeof(*s));
}

const char *resource_attr_str(const json_t *attrs, const char *key) {
    return json_string_value(json_object_get(attrs, key));
}

int resource_strings_have(const json_t *arr, const char *s) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0) return 1;
    return 0;
}

json_t *resource_ref(const char *id) {
    return json_pack("{s:s}", "ref", id);
}

const char *resource_ref_id(const json_t *v) {
    if (!json_is_object(v) || json_object_size(v) != 1) return NULL;
    return json_string_value(json_object_get(v, "ref"));
}

int resource_name_sensitive(const char *name) {
    static const char *const within[] = {"SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"};
    char up[128];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof(up); n++) up[n] = (char)toupper((unsigned char)name[n]);
    up[n] = '\0';
    for (size_t i = 0; i < sizeof(within) / sizeof(within[0]); i++)
        if (strstr(up, within[i])) return 1;
    return (n >= 5 && strcmp(up + n - 5, "TOKEN") == 0) || (n > 3 && strcmp(up + n - 3, "KEY") == 0);
}

/* Returns a replacement for v (new reference) or NULL to keep it. */
static json_t *link_value(json_t *v, const resource_set *s) {
    if (json_is_string(v)) {
        const resource *r = resource_set_find_physical(s, json_string_value(v));
        return r ? resource_ref(r->id) : NULL;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) {
            json_t *rep = link_value(child, s);
            if (rep) json_object_set_new(v, k, rep);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *rep = link_value(json_array_get(v, i), s);
            if (rep) json_array_set_new(v, i, rep);
        }
    }
    return NULL;
}

void resource_set_link(resource_set *s) {
    for (size_t i = 0; i < s->n; i++) link_value(s->items[i].attrs, s);
}

static json_t *resolve(const json_t *v, const resource_set *known, errinfo *err) {
    const char *ref = resource_ref_id(v);
    if (ref) {
        const resource *r = resource_set_find(known, ref);
        if (!r || !r->physical) {
            errinfo_set(err, ERR_CONFLICT, "%s does not exist yet", ref);
            return NULL;
        }
        return json_string(r->physical);
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child) {
            json_t *c = resolve(child, known, err);
            if (!c) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, c);
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *c = resolve(json_array_get(v, i), known, err);
            if (!c) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, c);
        }
        return out;
    }
    return json_deep_copy(v);
}

json_t *resource_attrs_resolve(const json_t *attrs, const resource_set *known,
                               errinfo *err) {
    return resolve(attrs, known, err);
}

void resource_refs_each(const json_t *v, void (*fn)(const char *id, void *arg), void *arg) {
    const char *ref = resource_ref_id(v);
    if (ref) {
        fn(ref, arg);
        return;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child) resource_refs_each(child, fn, arg);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            resource_refs_each(json_array_get(v, i), fn, arg);
    }
}
