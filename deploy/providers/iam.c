/* iam: providers for the instances' role (iam_role) and instance profile
 * (instance_profile), IAM Query API 2010-05-08 (global, signed for us-east-1).
 *
 * Ownership is the path and the name: everything deploybot makes for
 * environment <env> lives at exactly the path /deploybot/<env>/ and is named
 * deploybot-<env>-<x>-role or -profile (it is also tagged
 * deploybot:stack/deploybot:id, but IAM's List calls return no tags, and
 * one tag call per entity per plan is what discovery avoids). List answers
 * carry both, and an entity is the stack's only when both match, whatever
 * the PathPrefix of the request let through (some implementations ignore
 * it, and /deploybot/<env>/ is also the prefix of deeper paths). Discovery
 * is one paginated ListRoles and one ListInstanceProfiles with that
 * PathPrefix, plus ListAttachedRolePolicies per role of the stack's; a
 * role's attached policies and a profile's role are the stack's through
 * it. Creating a name that exists takes it over only when GetRole /
 * GetInstanceProfile shows it at the stack's path (a retried call whose
 * answer was lost); anything else is an error.
 *
 * The physical id is the name, which is also how launch templates name an
 * instance profile: iam_role.<x> is "deploybot-<env>-<x>-role" and
 * instance_profile.<x> "deploybot-<env>-<x>-profile" (the suffixes keep the
 * names apart from other attributes, e.g. security group names, which
 * discovery would otherwise take for references to them). IAM names are
 * global to the account, so two deploybots sharing an account must not
 * manage environments of the same name.
 *
 * A role's trust policy forces a new role; its managed policies change in
 * place. A profile's role forces a new profile (replacing the role replaces
 * the profile first, so the role is never deleted while in a profile).
 * Destroying goes: remove the role from the profile, delete the profile,
 * detach the policies, delete the role. */
#include "deploy/providers/provider.h"
#include "deploy/aws/waiter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int iam_call(const provider_ctx *c, const char *action, const aws_params *p, xml_node **out,
                    errinfo *err) {
    xml_node *doc = NULL;
    aws_params empty = {0};
    int rc = aws_query(c->aws, "iam", "2010-05-08", action, p ? p : &empty, &doc, err);
    if (rc == 0 && out) *out = doc;
    else xml_free(doc);
    return rc;
}

static int call2(const provider_ctx *c, const char *action, const char *k1, const char *v1,
                 const char *k2, const char *v2, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, k1, v1);
    if (k2) aws_params_add(&p, k2, v2);
    int rc = iam_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

#define PAGE_MAX 1000 /* IAM's largest MaxItems */

static void env_path(const provider_ctx *c, char *buf, size_t n) {
    snprintf(buf, n, "/deploybot/%s/", c->stack);
}

/* deploybot-<env>-<x>-<suffix> for logical id <type>.<x>. */
static void entity_name(const provider_ctx *c, const char *logical_id, const char *suffix,
                        char *buf, size_t n) {
    const char *dot = strchr(logical_id, '.');
    snprintf(buf, n, "deploybot-%s-%s-%s", c->stack, dot ? dot + 1 : logical_id, suffix);
}

/* 1 and the logical id <type>.<x> in buf when a listed entity is the
 * stack's: its path is exactly the stack's and its name
 * deploybot-<env>-<x>-<suffix>; else 0 (another stack's, or not
 * deploybot's: never touched). */
static int entity_owned(const provider_ctx *c, const char *type, const char *path, const char *name,
                        const char *suffix, char *buf, size_t n) {
    char prefix[160], want[160];
    env_path(c, want, sizeof(want));
    snprintf(prefix, sizeof(prefix), "deploybot-%s-", c->stack);
    size_t pl = strlen(prefix), nl = strlen(name), sl = strlen(suffix);
    if (!path || strcmp(path, want) != 0 || nl <= pl + sl + 1 || strncmp(name, prefix, pl) != 0 ||
        name[nl - sl - 1] != '-' || strcmp(name + nl - sl, suffix) != 0)
        return 0;
    snprintf(buf, n, "%s.%.*s", type, (int)(nl - pl - sl - 1), name + pl);
    return 1;
}

/* IAM answers policy documents URL-encoded (RFC 3986 percent-encoding). */
static char *url_decode(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out) abort();
    for (; *s; s++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = {s[1], s[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* Pages through a List call (Marker/IsTruncated) calling fn on every member
 * of list_path; `key`/`value` is the call's own parameter. */
typedef int (*iam_item_fn)(const provider_ctx *c, const xml_node *item, void *arg, errinfo *err);

static int list_pages(const provider_ctx *c, const char *action, const char *key, const char *value,
                      const char *list_path, iam_item_fn fn, void *arg, errinfo *err) {
    char *marker = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%sResult/%s/member", action, list_path);
    do {
        aws_params p = {0};
        aws_params_add(&p, key, value);
        aws_params_addf(&p, "MaxItems", "%d", provider_page_size(c, PAGE_MAX));
        if (marker) aws_params_add(&p, "Marker", marker);
        xml_node *doc = NULL;
        int rc = iam_call(c, action, &p, &doc, err);
        aws_params_free(&p);
        free(marker);
        marker = NULL;
        if (rc != 0) return -1;
        for (const xml_node *it = xml_path(doc, path); it && rc == 0; it = xml_next_same(it))
            rc = fn(c, it, arg, err);
        char base[96];
        snprintf(base, sizeof(base), "%sResult", action);
        const xml_node *res = xml_child(doc, base);
        const char *trunc = res ? xml_path_text(res, "IsTruncated") : NULL;
        const char *next = res ? xml_path_text(res, "Marker") : NULL;
        if (rc == 0 && trunc && strcmp(trunc, "true") == 0 && next && *next) marker = strdup(next);
        xml_free(doc);
        if (rc != 0) return -1;
    } while (marker);
    return 0;
}

/* ---- Role ---- */

static int policy_item(const provider_ctx *c, const xml_node *it, void *arg, errinfo *err) {
    (void)c;
    (void)err;
    const char *arn = xml_path_text(it, "PolicyArn");
    if (arn) json_array_append_new(arg, json_string(arn));
    return 0;
}

static int role_item(const provider_ctx *c, const xml_node *it, void *arg, errinfo *err) {
    resource_set *out = arg;
    const char *name = xml_path_text(it, "RoleName"), *doc = xml_path_text(it, "AssumeRolePolicyDocument");
    char id[256];
    if (!name || !entity_owned(c, "iam_role", xml_path_text(it, "Path"), name, "role", id, sizeof(id)))
        return 0;
    char *text = url_decode(doc ?: "");
    json_t *policy = json_loads(text, 0, NULL);
    if (!policy) policy = json_string(text); /* shown as is, and differs from what we want */
    free(text);
    json_t *policies = json_array();
    if (list_pages(c, "ListAttachedRolePolicies", "RoleName", name, "AttachedPolicies", policy_item,
                   policies, err) != 0) {
        json_decref(policy);
        json_decref(policies);
        return -1;
    }
    resource_set_add(out, "iam_role", id, name,
                     json_pack("{s:o,s:o}", "assume_role_policy", policy, "managed_policies", policies));
    return 0;
}

static int role_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    char path[160];
    env_path(c, path, sizeof(path));
    return list_pages(c, "ListRoles", "PathPrefix", path, "Roles", role_item, out, err);
}

/* Attaches what `want` has and `have` lacks (detach: the other way round). */
static int role_policies(const provider_ctx *c, const char *role, const char *action,
                         const json_t *want, const json_t *have, errinfo *err) {
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *arn = json_array_get(want, i);
        int present = 0;
        for (size_t j = 0; j < json_array_size(have) && !present; j++)
            present = json_equal((json_t *)arn, json_array_get(have, j));
        if (!present && call2(c, action, "RoleName", role, "PolicyArn", json_string_value(arn), err) != 0)
            return -1;
    }
    return 0;
}

/* After a CreateX answered EntityAlreadyExists: 0 when the entity is ours
 * (at the stack's path: a retried call whose answer was lost), else -1. */
static int adopt(const provider_ctx *c, const char *get, const char *key, const char *name,
                 const char *path_field, errinfo *err) {
    char path[160];
    env_path(c, path, sizeof(path));
    aws_params p = {0};
    aws_params_add(&p, key, name);
    xml_node *doc = NULL;
    int rc = iam_call(c, get, &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    const char *have = xml_path(doc, path_field) ? xml_path(doc, path_field)->text : NULL;
    rc = have && strcmp(have, path) == 0 ? 0 : -1;
    if (rc != 0)
        errinfo_set(err, ERR_CONFLICT,
                    "%s exists but is not deploybot's (its path is %s, not %s): "
                    "rename or delete it",
                    name, have ? have : "unknown", path);
    xml_free(doc);
    return rc;
}

static int role_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char name[256], path[160];
    entity_name(c, r->id, "role", name, sizeof(name));
    env_path(c, path, sizeof(path));
    char *policy = json_dumps(json_object_get(a, "assume_role_policy"), JSON_COMPACT | JSON_SORT_KEYS);
    aws_params p = {0};
    aws_params_add(&p, "RoleName", name);
    aws_params_add(&p, "Path", path);
    aws_params_add(&p, "AssumeRolePolicyDocument", policy ? policy : "");
    aws_params_add(&p, "Description", "deploybot: the Dify instances' role (Session Manager)");
    provider_tags(&p, "Tags.member", c, r->id, 0); /* no Name tag: the entity has a name */
    int rc = iam_call(c, "CreateRole", &p, NULL, err);
    aws_params_free(&p);
    free(policy);
    if (rc != 0 && errinfo_is_remote(err, "EntityAlreadyExists"))
        rc = adopt(c, "GetRole", "RoleName", name, "GetRoleResult/Role/Path", err);
    if (rc != 0) return -1;
    r->physical = strdup(name);
    aws_client_created(c->aws, name);
    return role_policies(c, name, "AttachRolePolicy", json_object_get(a, "managed_policies"), NULL, err);
}

static int role_update(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                       errinfo *err) {
    const json_t *want = json_object_get(a, "managed_policies"), *have = json_object_get(old, "managed_policies");
    if (role_policies(c, r->physical, "AttachRolePolicy", want, have, err) != 0) return -1;
    return role_policies(c, r->physical, "DetachRolePolicy", have, want, err);
}

static int role_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    if (role_policies(c, r->physical, "DetachRolePolicy", json_object_get(old, "managed_policies"), NULL,
                      err) != 0 &&
        !errinfo_is_remote(err, "NoSuchEntity"))
        return -1;
    if (call2(c, "DeleteRole", "RoleName", r->physical, NULL, NULL, err) == 0) return 0;
    return errinfo_is_remote(err, "NoSuchEntity") ? 0 : -1;
}

/* A new trust policy means a new role (UpdateAssumeRolePolicy would do, but
 * the policy is deploybot's constant: it only changes with deploybot). */
static const char *const role_force[] = {"assume_role_policy", NULL};
const provider provider_iam_role = {
    .type = "iam_role",
    .service = "iam",
    .force_new = role_force,
    .discover = role_discover,
    .create = role_create,
    .update = role_update,
    .destroy = role_destroy,
};

/* ---- Instance profile ---- */

static int profile_item(const provider_ctx *c, const xml_node *it, void *arg, errinfo *err) {
    (void)err;
    const char *name = xml_path_text(it, "InstanceProfileName");
    char id[256];
    if (!name || !entity_owned(c, "instance_profile", xml_path_text(it, "Path"), name, "profile", id,
                               sizeof(id)))
        return 0;
    const char *role = xml_path_text(it, "Roles/member/RoleName");
    json_t *a = json_object();
    json_object_set_new(a, "role", role ? json_string(role) : json_null());
    resource_set_add(arg, "instance_profile", id, name, a);
    return 0;
}

static int profile_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    char path[160];
    env_path(c, path, sizeof(path));
    return list_pages(c, "ListInstanceProfiles", "PathPrefix", path, "InstanceProfiles", profile_item, out, err);
}

typedef struct {
    const provider_ctx *c;
    char name[256], role[256];
} profile_wait;

/* Like botocore's instance_profile_exists waiter, and the role is in it:
 * IAM is eventually consistent, and EC2 refuses a profile it cannot see yet. */
static waiter_state profile_ready(void *arg, errinfo *err) {
    profile_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "InstanceProfileName", w->name);
    xml_node *doc = NULL;
    int rc = iam_call(w->c, "GetInstanceProfile", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) {
        return errinfo_is_remote(err, "NoSuchEntity") ? WAITER_RETRY : WAITER_FAILED;
    }
    const char *role = xml_path_text(doc, "GetInstanceProfileResult/InstanceProfile/Roles/member/RoleName");
    waiter_state st = !w->role[0] || (role && strcmp(role, w->role) == 0) ? WAITER_DONE : WAITER_RETRY;
    xml_free(doc);
    return st;
}

static int profile_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char name[256], path[160];
    entity_name(c, r->id, "profile", name, sizeof(name));
    env_path(c, path, sizeof(path));
    aws_params p = {0};
    aws_params_add(&p, "InstanceProfileName", name);
    aws_params_add(&p, "Path", path);
    provider_tags(&p, "Tags.member", c, r->id, 0); /* no Name tag: the entity has a name */
    int rc = iam_call(c, "CreateInstanceProfile", &p, NULL, err);
    aws_params_free(&p);
    if (rc != 0 && errinfo_is_remote(err, "EntityAlreadyExists"))
        rc = adopt(c, "GetInstanceProfile", "InstanceProfileName", name,
                   "GetInstanceProfileResult/InstanceProfile/Path", err);
    if (rc != 0) return -1;
    r->physical = strdup(name);
    aws_client_created(c->aws, name);
    const char *role = resource_attr_str(a, "role");
    if (role && call2(c, "AddRoleToInstanceProfile", "InstanceProfileName", name, "RoleName", role, err) != 0 &&
        !errinfo_is_remote(err, "LimitExceeded")) /* LimitExceeded: adopted, with its role already in */
        return -1;
    profile_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    w->c = c;
    snprintf(w->name, sizeof(w->name), "%s", name);
    snprintf(w->role, sizeof(w->role), "%s", role ? role : "");
    char what[300];
    snprintf(what, sizeof(what), "instance profile %s with role %s", name, role ? role : "(none)");
    return provider_wait(c, waiter_new(what, profile_ready, NULL, w, free, 40, 1000), err); /* botocore: 40 x 1 s */
}

static int profile_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    const char *role = resource_attr_str(old, "role");
    if (role && call2(c, "RemoveRoleFromInstanceProfile", "InstanceProfileName", r->physical, "RoleName", role, err) != 0 && !errinfo_is_remote(err, "NoSuchEntity"))
        return -1;
    if (call2(c, "DeleteInstanceProfile", "InstanceProfileName", r->physical, NULL, NULL, err) == 0) return 0;
    return errinfo_is_remote(err, "NoSuchEntity") ? 0 : -1;
}

static const char *const profile_force[] = {"role", NULL};
const provider provider_instance_profile = {
    .type = "instance_profile",
    .service = "iam",
    .force_new = profile_force,
    .discover = profile_discover,
    .create = profile_create,
    .destroy = profile_destroy,
};
