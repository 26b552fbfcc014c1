/* resource: one AWS object as deploybot sees it, and sets of them.
 *
 * A resource has a type ("subnet"), a logical id ("subnet.public_a", also the
 * value of its deploybot:id tag) and attributes as JSON. References to other
 * resources of the stack are written {"ref": "<logical id>"} in both desired
 * and discovered attributes, so the two compare directly; physical ids
 * ("subnet-0abc...") only appear once a reference is resolved for an AWS call. */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_RESOURCE_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_RESOURCE_H

#include <stddef.h>
#include <jansson.h>
#include "util/errinfo.h"

typedef struct {
    char *type;
    char *id;       /* logical id */
    char *physical; /* AWS id; NULL until it exists */
    json_t *attrs;  /* compared by the planner */
    json_t *extra;  /* provider bookkeeping from discovery (e.g. association ids); not compared */
} resource;

typedef struct {
    resource *items;
    size_t n, cap;
} resource_set;

/* Adds a resource (takes ownership of attrs); returns it. */
resource *resource_set_add(resource_set *s, const char *type, const char *id,
                           const char *physical, json_t *attrs);
/* Moves every resource of src to the end of dst, in order; src is left empty. */
void resource_set_move(resource_set *dst, resource_set *src);
resource *resource_set_find(const resource_set *s, const char *id);
resource *resource_set_find_physical(const resource_set *s, const char *physical);
void resource_set_free(resource_set *s);

/* The string at attrs[key], or NULL. */
const char *resource_attr_str(const json_t *attrs, const char *key);
/* 1 when the array of strings `arr` holds s. */
int resource_strings_have(const json_t *arr, const char *s);

/* {"ref": id} */
json_t *resource_ref(const char *id);
/* The logical id if `v` is a reference, else NULL. */
const char *resource_ref_id(const json_t *v);

/* 1 when `name` (an attribute, an object key, a variable of a script)
 * names a secret, so that its value is never shown. In any case: it
 * contains SECRET, PASSWORD, PASSWD or CREDENTIAL, or ends in TOKEN
 * (GITHUB_TOKEN; not metadata_http_tokens) or in KEY (API_KEY,
 * ssh_private_key; not a tag's key or key_name). */
int resource_name_sensitive(const char *name);

/* Rewrites every string in each resource's attrs that is the physical id of a
 * resource in the set into a reference (discovery reports physical ids). */
void resource_set_link(resource_set *s);

/* Deep copy of attrs with every reference replaced by the physical id found
 * in `known`. Returns NULL and names the missing reference in err
 * (ERR_CONFLICT) when a referenced resource has no physical id yet. */
json_t *resource_attrs_resolve(const json_t *attrs, const resource_set *known,
                               errinfo *err);

/* Calls fn for every logical id referenced inside v. */
void resource_refs_each(const json_t *v, void (*fn)(const char *id, void *arg), void *arg);

#endif
