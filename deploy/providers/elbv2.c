/* elbv2: providers for the application load balancer, its target group,
 * listeners and target registrations.
 *
 * Discovery: ELBv2 Describe calls cannot filter by tag, so load balancers and
 * target groups are listed page by page (Marker) and each page's ARNs go to
 * DescribeTags, at most 20 per call; those tagged deploybot:stack=<env> are
 * the stack's, named by their deploybot:id tag. Listeners belong to their
 * load balancer and are named by port (80: listener.http, 443:
 * listener.https); registrations belong to their target group and are named
 * after the deploybot instance they register (instance.app_2 ->
 * target_registration.app_2), or after the instance id when it is not one.
 *
 * Replacement, not update, wherever an update would have to wait for a
 * replaced resource that cannot go while still in use (the engine destroys
 * before it creates): a load balancer is replaced when its subnets, groups
 * or VPC change, a listener when its target group is replaced (the group is
 * its own attribute, target_group, apart from default_action), a
 * registration whenever anything changes. The rest changes in place: a
 * listener's port, protocol, certificate, policy and default action (adding
 * a certificate turns listener.http into a redirect with ModifyListener,
 * removing it back into a forward), a target group's health check (every
 * member of it is sent and compared). */
#include "deploy/providers/elbv2.h"
#include "deploy/aws/waiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAGS_PER_CALL 20 /* DescribeTags takes at most 20 ARNs */

int elbv2_call(const provider_ctx *c, const char *action, const aws_params *p,
               xml_node **out, errinfo *err) {
    xml_node *doc = NULL;
    aws_params empty = {0};
    int rc = aws_query(c->aws, "elasticloadbalancing", "2015-12-01", action, p ? p : &empty, &doc, err);
    if (rc == 0 && out) *out = doc;
    else xml_free(doc);
    return rc;
}

/* An answer is <ActionResponse><ActionResult>...: `path` is below the result. */
static const xml_node *result(const xml_node *doc, const char *action, const char *path) {
    char full[256];
    snprintf(full, sizeof(full), "%sResult/%s", action, path);
    return xml_path(doc, full);
}

static int call1(const provider_ctx *c, const char *action, const char *key, const char *value,
                 errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, key, value);
    int rc = elbv2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

#define PAGE_MAX 400 /* ELBv2's largest PageSize */

static void add_list(aws_params *p, const char *name, const json_t *arr) {
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char k[96];
        snprintf(k, sizeof(k), "%s.member.%zu", name, i + 1);
        aws_params_add(p, k, json_string_value(json_array_get(arr, i)));
    }
}

/* ---- tag-filtered discovery ---- */

typedef void (*elb_item_fn)(const provider_ctx *c, const xml_node *item, const char *logical_id,
                            json_t *tags, resource_set *out);

/* Adds {arn: {key: value}} for up to TAGS_PER_CALL ARNs to `into`. */
static int describe_tags(const provider_ctx *c, const char *const *arns, size_t n, json_t *into,
                         errinfo *err) {
    aws_params p = {0};
    for (size_t i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof(k), "ResourceArns.member.%zu", i + 1);
        aws_params_add(&p, k, arns[i]);
    }
    xml_node *doc = NULL;
    int rc = elbv2_call(c, "DescribeTags", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    for (const xml_node *d = result(doc, "DescribeTags", "TagDescriptions/member"); d; d = xml_next_same(d)) {
        json_t *tags = json_object();
        for (const xml_node *t = xml_path(d, "Tags/member"); t; t = xml_next_same(t))
            if (xml_path_text(t, "Key"))
                json_object_set_new(tags, xml_path_text(t, "Key"), json_string(xml_path_text(t, "Value") ?: ""));
        const char *arn = xml_path_text(d, "ResourceArn");
        if (arn) json_object_set_new(into, arn, tags);
        else json_decref(tags);
    }
    xml_free(doc);
    return 0;
}

/* Creates r with `action`, p (then freed) and the usual tags; r->physical
 * is the answer's ARN at `arn_path` below <action>Result. */
static int create_tagged(const provider_ctx *c, const char *action, aws_params *p,
                         const char *arn_path, resource *r, errinfo *err) {
    char path[256];
    snprintf(path, sizeof(path), "%sResult/%s", action, arn_path);
    provider_tags(p, "Tags.member", c, r->id, 1);
    return provider_create(c, elbv2_call, action, p, path, r, err);
}

/* create_tagged for a call that answers an existing resource of the same
 * name and settings: the answer counts only when its tags say it is r;
 * else r->physical is cleared and the create fails. */
static int create_owned(const provider_ctx *c, const char *action, aws_params *p, const char *arn_path,
                        const char *what, const char *name, resource *r, errinfo *err) {
    if (create_tagged(c, action, p, arn_path, r, err) != 0) return -1;
    json_t *tags = json_object();
    const char *arn = r->physical;
    int rc = describe_tags(c, &arn, 1, tags, err);
    json_t *t = json_object_get(tags, arn);
    const char *lid = provider_owned(c, resource_attr_str(t, "deploybot:stack"), resource_attr_str(t, "deploybot:id"));
    if (rc == 0 && (!lid || strcmp(lid, r->id) != 0))
        rc = errinfo_set(err, ERR_CONFLICT,
                         "%s %s exists but is not deploybot's (%s answered %s, which is "
                         "not tagged deploybot:stack=%s, deploybot:id=%s): rename or delete it",
                         what, name,
                         action, arn, c->stack, r->id);
    json_decref(tags);
    if (rc != 0) {
        free(r->physical);
        r->physical = NULL;
    }
    return rc;
}

static int not_found(const errinfo *err) {
    size_t n = strlen(err->remote);
    return n > 8 && strcmp(err->remote + n - 8, "NotFound") == 0;
}

/* describe_tags, but a resource deleted since it was listed (by anyone: the
 * listing is the whole region's) is skipped instead of failing the batch. */
static int describe_tags_live(const provider_ctx *c, const char *const *arns, size_t n, json_t *into,
                              errinfo *err) {
    if (describe_tags(c, arns, n, into, err) == 0) return 0;
    if (!not_found(err)) return -1;
    for (size_t i = 0; i < n; i++)
        if (describe_tags(c, &arns[i], 1, into, err) != 0 && !not_found(err)) return -1;
    return 0;
}

/* Calls fn for the items of one Describe page that carry the stack's tags. */
static int page_tagged(const provider_ctx *c, const xml_node *list, const char *arn_field,
                       elb_item_fn fn, resource_set *out, errinfo *err) {
    const char *arns[TAGS_PER_CALL];
    const xml_node *items[TAGS_PER_CALL];
    const xml_node *it = list ? xml_child(list, "member") : NULL;
    while (it) {
        size_t n = 0;
        for (; it && n < TAGS_PER_CALL; it = xml_next_same(it)) {
            if (!xml_path_text(it, arn_field)) continue;
            items[n] = it;
            arns[n++] = xml_path_text(it, arn_field);
        }
        if (n == 0) break;
        json_t *tags = json_object();
        if (describe_tags_live(c, arns, n, tags, err) != 0) {
            json_decref(tags);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_object_get(tags, arns[i]);
            const char *lid = provider_owned(c, resource_attr_str(t, "deploybot:stack"),
                                             resource_attr_str(t, "deploybot:id"));
            if (lid) fn(c, items[i], lid, t, out); /* else not proved ours: never touch it */
        }
        json_decref(tags);
    }
    return 0;
}

/* Pages through `action` (Marker/NextMarker); fn sees each item of
 * list_name. When `tagged`, only the stack's items (see page_tagged) with
 * their logical id and tags. `key`=`value` names the parent (e.g.
 * LoadBalancerArn): only items whose own `key` field is `value` are seen. */
typedef struct {
    const char *action, *list_name, *arn_field;
    const char *key, *value; /* the parent, or NULL */
    int tagged;
} describe_spec;

static int describe_pages(const provider_ctx *c, const describe_spec *d, elb_item_fn fn,
                          resource_set *out, errinfo *err) {
    char *marker = NULL;
    do {
        aws_params p = {0};
        if (d->key) aws_params_add(&p, d->key, d->value);
        aws_params_addf(&p, "PageSize", "%d", provider_page_size(c, PAGE_MAX));
        if (marker) aws_params_add(&p, "Marker", marker);
        xml_node *doc = NULL;
        int rc = elbv2_call(c, d->action, &p, &doc, err);
        aws_params_free(&p);
        free(marker);
        marker = NULL;
        if (rc != 0) return -1;
        const xml_node *list = result(doc, d->action, d->list_name);
        if (d->tagged) {
            rc = page_tagged(c, list, d->arn_field, fn, out, err);
        } else {
            for (const xml_node *it = list ? xml_child(list, "member") : NULL; it; it = xml_next_same(it))
                if (!d->key || strcmp(xml_path_text(it, d->key) ?: "", d->value) == 0) fn(c, it, NULL, NULL, out);
        }
        const xml_node *next = result(doc, d->action, "NextMarker");
        if (rc == 0 && next && next->text[0]) marker = strdup(next->text);
        xml_free(doc);
        if (rc != 0) return -1;
    } while (marker);
    return 0;
}

/* The text of `field` in every <member> of `list` ("" for the member itself). */
static json_t *member_strings(const xml_node *it, const char *list, const char *field) {
    json_t *arr = json_array();
    char path[128];
    snprintf(path, sizeof(path), "%s/member", list);
    for (const xml_node *m = xml_path(it, path); m; m = xml_next_same(m)) {
        const char *v = *field ? xml_path_text(m, field) : m->text;
        if (v) json_array_append_new(arr, json_string(v));
    }
    return arr;
}

/* ---- the load balancer's own calls (also for route53.c) ---- */

int elbv2_lb_describe(const provider_ctx *c, const char *arn, elbv2_lb *out, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "LoadBalancerArns.member.1", arn);
    xml_node *doc = NULL;
    int rc = elbv2_call(c, "DescribeLoadBalancers", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    const xml_node *lb = result(doc, "DescribeLoadBalancers", "LoadBalancers/member");
    const char *dns = lb ? xml_path_text(lb, "DNSName") : NULL;
    const char *zone = lb ? xml_path_text(lb, "CanonicalHostedZoneId") : NULL;
    const char *name = lb ? xml_path_text(lb, "LoadBalancerName") : NULL;
    if (dns && zone && name) {
        snprintf(out->dns_name, sizeof(out->dns_name), "%s", dns);
        snprintf(out->zone_id, sizeof(out->zone_id), "%s", zone);
        snprintf(out->name, sizeof(out->name), "%s", name);
    } else {
        rc = errinfo_set(err, ERR_REMOTE, "DescribeLoadBalancers answered without the DNS name of %s", arn);
    }
    xml_free(doc);
    return rc;
}

int elbv2_lb_tag(const provider_ctx *c, const char *arn, const char *key, const char *value,
                 errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "ResourceArns.member.1", arn);
    if (value) {
        aws_params_add(&p, "Tags.member.1.Key", key);
        aws_params_add(&p, "Tags.member.1.Value", value);
    } else {
        aws_params_add(&p, "TagKeys.member.1", key);
    }
    int rc = elbv2_call(c, value ? "AddTags" : "RemoveTags", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

/* ---- Load balancer ---- */

/* The internet gateway attached to `vpc` among the discovered resources: an
 * internet-facing load balancer needs it first (AWS refuses otherwise), so
 * the desired graph refers to it and discovery reports it the same way. */
static const char *vpc_gateway(const resource_set *out, const char *vpc) {
    for (size_t i = 0; vpc && i < out->n; i++)
        if (strcmp(out->items[i].type, "internet_gateway") == 0 && resource_attr_str(out->items[i].attrs, "vpc") &&
            strcmp(resource_attr_str(out->items[i].attrs, "vpc"), vpc) == 0)
            return out->items[i].physical;
    return NULL;
}

static void lb_item(const provider_ctx *c, const xml_node *it, const char *lid, json_t *tags,
                    resource_set *out) {
    const char *vpc = xml_path_text(it, "VpcId");
    const char *igw = vpc_gateway(provider_discovered(c, "internet_gateway"), vpc);
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "name", xml_path_text(it, "LoadBalancerName") ?: "",
                          "scheme", xml_path_text(it, "Scheme") ?: "", "type", xml_path_text(it, "Type") ?: "",
                          "vpc", vpc ?: "", "subnets", member_strings(it, "AvailabilityZones", "SubnetId"),
                          "security_groups", member_strings(it, "SecurityGroups", ""));
    json_object_set_new(a, "internet_gateway", igw ? json_string(igw) : json_null());
    resource *r = resource_set_add(out, "load_balancer", lid, xml_path_text(it, "LoadBalancerArn"), a);
    r->extra = json_pack("{s:s,s:s,s:O}", "dns_name", xml_path_text(it, "DNSName") ?: "",
                         "zone_id", xml_path_text(it, "CanonicalHostedZoneId") ?: "", "tags", tags);
}

static int lb_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    describe_spec d = {"DescribeLoadBalancers", "LoadBalancers", "LoadBalancerArn", NULL, NULL, 1};
    return describe_pages(c, &d, lb_item, out, err);
}

typedef struct {
    const provider_ctx *c;
    char arn[512];
    int gone; /* waiting for deletion */
} lb_wait;

/* Like botocore's load_balancer_available and load_balancers_deleted waiters. */
static waiter_state lb_check(void *arg, errinfo *err) {
    lb_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "LoadBalancerArns.member.1", w->arn);
    xml_node *doc = NULL;
    int rc = elbv2_call(w->c, "DescribeLoadBalancers", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) {
        if (!errinfo_is_remote(err, "LoadBalancerNotFound")) return WAITER_FAILED;
        return w->gone ? WAITER_DONE : WAITER_RETRY; /* not visible yet, right after creation */
    }
    const char *state = xml_path_text(doc, "DescribeLoadBalancersResult/LoadBalancers/member/State/Code");
    waiter_state st = WAITER_RETRY;
    if (!w->gone && state && strcmp(state, "active") == 0) st = WAITER_DONE;
    if (!w->gone && state && strcmp(state, "failed") == 0) {
        errinfo_set(err, ERR_REMOTE, "load balancer %s failed to provision", w->arn);
        st = WAITER_FAILED;
    }
    xml_free(doc);
    return st;
}

static int lb_wait_for(const provider_ctx *c, const char *what, const char *arn, int gone, errinfo *err) {
    lb_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (lb_wait){.c = c, .gone = gone};
    snprintf(w->arn, sizeof(w->arn), "%s", arn);
    return provider_wait(c, waiter_new(what, lb_check, NULL, w, free, 600, 15000), err); /* botocore: 40 x 15 s */
}

static int lb_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Name", resource_attr_str(a, "name"));
    aws_params_add(&p, "Type", resource_attr_str(a, "type"));
    aws_params_add(&p, "Scheme", resource_attr_str(a, "scheme"));
    add_list(&p, "Subnets", json_object_get(a, "subnets"));
    add_list(&p, "SecurityGroups", json_object_get(a, "security_groups"));
    /* Idempotent: the same request again answers the balancer it made. */
    if (create_owned(c, "CreateLoadBalancer", &p, "LoadBalancers/member/LoadBalancerArn", "load balancer",
                     resource_attr_str(a, "name"), r, err))
        return -1;
    char what[160];
    snprintf(what, sizeof(what), "load balancer %s active", resource_attr_str(a, "name"));
    return lb_wait_for(c, what, r->physical, 0, err);
}

static int lb_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    /* Deleting a deleted load balancer succeeds. It keeps its network
     * interfaces until it is gone: wait, so its subnets and groups can go. */
    if (call1(c, "DeleteLoadBalancer", "LoadBalancerArn", r->physical, err) != 0) return -1;
    char what[160];
    snprintf(what, sizeof(what), "load balancer %s deleted", resource_attr_str(old, "name") ?: r->physical);
    return lb_wait_for(c, what, r->physical, 1, err);
}

static const char *const lb_force[] = {"name", "scheme", "type", "vpc", "subnets", "security_groups",
                                       "internet_gateway", NULL};
const provider provider_load_balancer = {
    .type = "load_balancer",
    .service = "elasticloadbalancing",
    .force_new = lb_force,
    .discover = lb_discover,
    .create = lb_create,
    .destroy = lb_destroy,
};

/* ---- Target group ---- */

/* The health check's numbers: attribute, and the member of AWS's answers
 * and of CreateTargetGroup / ModifyTargetGroup. */
static const char *const HEALTH_NUMBERS[][2] = {
    {"health_check_healthy_threshold", "HealthyThresholdCount"},
    {"health_check_unhealthy_threshold", "UnhealthyThresholdCount"},
    {"health_check_timeout", "HealthCheckTimeoutSeconds"},
    {"health_check_interval", "HealthCheckIntervalSeconds"},
};
#define N_HEALTH_NUMBERS (sizeof(HEALTH_NUMBERS) / sizeof(HEALTH_NUMBERS[0]))

static void tg_item(const provider_ctx *c, const xml_node *it, const char *lid, json_t *tags,
                    resource_set *out) {
    (void)c;
    (void)tags;
    const char *port = xml_path_text(it, "Port");
    json_t *a = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "name", xml_path_text(it, "TargetGroupName") ?: "",
                          "protocol", xml_path_text(it, "Protocol") ?: "", "port", port ? atoi(port) : 0,
                          "vpc", xml_path_text(it, "VpcId") ?: "", "target_type", xml_path_text(it, "TargetType") ?: "",
                          "health_check_path", xml_path_text(it, "HealthCheckPath") ?: "",
                          "health_check_matcher", xml_path_text(it, "Matcher/HttpCode") ?: "");
    for (size_t i = 0; i < N_HEALTH_NUMBERS; i++) {
        const char *v = xml_path_text(it, HEALTH_NUMBERS[i][1]);
        json_object_set_new(a, HEALTH_NUMBERS[i][0], v ? json_integer(atoll(v)) : json_null());
    }
    resource_set_add(out, "target_group", lid, xml_path_text(it, "TargetGroupArn"), a);
}

static int tg_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    describe_spec d = {"DescribeTargetGroups", "TargetGroups", "TargetGroupArn", NULL, NULL, 1};
    return describe_pages(c, &d, tg_item, out, err);
}

/* Every member of the health check, so that none is left at AWS's default
 * (for HTTP: healthy 5, unhealthy 2, timeout 5 s) or at a drifted value. */
static void tg_health(aws_params *p, const json_t *a) {
    aws_params_add(p, "HealthCheckPath", resource_attr_str(a, "health_check_path"));
    aws_params_add(p, "Matcher.HttpCode", resource_attr_str(a, "health_check_matcher"));
    for (size_t i = 0; i < N_HEALTH_NUMBERS; i++)
        aws_params_addf(p, HEALTH_NUMBERS[i][1], "%lld",
                        (long long)json_integer_value(json_object_get(a, HEALTH_NUMBERS[i][0])));
}

static int tg_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Name", resource_attr_str(a, "name"));
    aws_params_add(&p, "Protocol", resource_attr_str(a, "protocol"));
    aws_params_addf(&p, "Port", "%lld", (long long)json_integer_value(json_object_get(a, "port")));
    aws_params_add(&p, "VpcId", resource_attr_str(a, "vpc"));
    aws_params_add(&p, "TargetType", resource_attr_str(a, "target_type"));
    tg_health(&p, a);
    /* idempotent, as for load balancers */
    return create_owned(c, "CreateTargetGroup", &p, "TargetGroups/member/TargetGroupArn", "target group",
                        resource_attr_str(a, "name"), r, err);
}

static int tg_update(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                     errinfo *err) {
    (void)old;
    aws_params p = {0};
    aws_params_add(&p, "TargetGroupArn", r->physical);
    tg_health(&p, a);
    int rc = elbv2_call(c, "ModifyTargetGroup", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int tg_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    return call1(c, "DeleteTargetGroup", "TargetGroupArn", r->physical, err);
}

static const char *const tg_force[] = {"name", "protocol", "port", "vpc", "target_type", NULL};
const provider provider_target_group = {
    .type = "target_group",
    .service = "elasticloadbalancing",
    .force_new = tg_force,
    .discover = tg_discover,
    .create = tg_create,
    .update = tg_update,
    .destroy = tg_destroy,
};

/* ---- Listener ---- */

static const char *const REDIRECT_FIELDS[][2] = {
    {"protocol", "Protocol"},
    {"port", "Port"},
    {"host", "Host"},
    {"path", "Path"},
    {"query", "Query"},
    {"status_code", "StatusCode"},
};
#define N_REDIRECT (sizeof(REDIRECT_FIELDS) / sizeof(REDIRECT_FIELDS[0]))

/* default_action is {"type": "forward"} (the group is the listener's
 * target_group attribute) or {"type": "redirect", protocol, port, host,
 * path, query, status_code}; other kinds show as {"type": ...}. */
static json_t *action_from_xml(const xml_node *act, const char **target_group) {
    const char *type = xml_path_text(act, "Type");
    json_t *a = json_pack("{s:s}", "type", type ?: "");
    *target_group = NULL;
    if (type && strcmp(type, "forward") == 0) {
        *target_group = xml_path_text(act, "TargetGroupArn");
        if (!*target_group) *target_group = xml_path_text(act, "ForwardConfig/TargetGroups/member/TargetGroupArn");
    } else if (type && strcmp(type, "redirect") == 0) {
        for (size_t i = 0; i < N_REDIRECT; i++) {
            char path[64];
            snprintf(path, sizeof(path), "RedirectConfig/%s", REDIRECT_FIELDS[i][1]);
            const char *v = xml_path_text(act, path);
            json_object_set_new(a, REDIRECT_FIELDS[i][0], json_string(v ?: ""));
        }
    }
    return a;
}

static void listener_item(const provider_ctx *c, const xml_node *it, const char *lid, json_t *tags,
                          resource_set *out) {
    (void)c;
    (void)lid;
    (void)tags;
    const char *port = xml_path_text(it, "Port"), *tg = NULL;
    int n = port ? atoi(port) : 0;
    char id[64];
    if (n == 80 || n == 443) snprintf(id, sizeof(id), "listener.%s", n == 80 ? "http" : "https");
    else snprintf(id, sizeof(id), "listener.port_%d", n);
    json_t *action = action_from_xml(xml_path(it, "DefaultActions/member"), &tg);
    json_t *a = json_pack("{s:s,s:i,s:s,s:o}", "load_balancer", xml_path_text(it, "LoadBalancerArn") ?: "",
                          "port", n, "protocol", xml_path_text(it, "Protocol") ?: "", "default_action", action);
    json_object_set_new(a, "certificates", member_strings(it, "Certificates", "CertificateArn"));
    const char *policy = xml_path_text(it, "SslPolicy");
    if (policy) json_object_set_new(a, "ssl_policy", json_string(policy));
    if (tg) json_object_set_new(a, "target_group", json_string(tg));
    resource_set_add(out, "listener", id, xml_path_text(it, "ListenerArn"), a);
}

/* Listeners of the stack's load balancers (discovered before them). */
static int listener_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    const resource_set *lbs = provider_discovered(c, "load_balancer");
    for (size_t i = 0; i < lbs->n; i++) {
        describe_spec d = {"DescribeListeners", "Listeners", NULL, "LoadBalancerArn", lbs->items[i].physical, 0};
        if (describe_pages(c, &d, listener_item, out, err) != 0) return -1;
    }
    return 0;
}

static void listener_params(aws_params *p, const json_t *a) {
    const json_t *act = json_object_get(a, "default_action");
    aws_params_add(p, "Protocol", resource_attr_str(a, "protocol"));
    aws_params_addf(p, "Port", "%lld", (long long)json_integer_value(json_object_get(a, "port")));
    const json_t *certs = json_object_get(a, "certificates");
    for (size_t i = 0; i < json_array_size(certs); i++) {
        char k[64];
        snprintf(k, sizeof(k), "Certificates.member.%zu.CertificateArn", i + 1);
        aws_params_add(p, k, json_string_value(json_array_get(certs, i)));
    }
    if (resource_attr_str(a, "ssl_policy")) aws_params_add(p, "SslPolicy", resource_attr_str(a, "ssl_policy"));
    aws_params_add(p, "DefaultActions.member.1.Type", resource_attr_str(act, "type"));
    if (strcmp(resource_attr_str(act, "type"), "forward") == 0) {
        aws_params_add(p, "DefaultActions.member.1.TargetGroupArn", resource_attr_str(a, "target_group"));
        return;
    }
    for (size_t i = 0; i < N_REDIRECT; i++) {
        char k[96];
        snprintf(k, sizeof(k), "DefaultActions.member.1.RedirectConfig.%s", REDIRECT_FIELDS[i][1]);
        if (resource_attr_str(act, REDIRECT_FIELDS[i][0])) aws_params_add(p, k, resource_attr_str(act, REDIRECT_FIELDS[i][0]));
    }
}

static int listener_update(const provider_ctx *c, const resource *r, const json_t *old,
                           const json_t *a, errinfo *err) {
    (void)old;
    aws_params p = {0};
    aws_params_add(&p, "ListenerArn", r->physical);
    listener_params(&p, a);
    int rc = elbv2_call(c, "ModifyListener", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

/* The ARN of the listener on `port` of load balancer `lb`, or NULL. */
static char *listener_on_port(const provider_ctx *c, const char *lb, long long port, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "LoadBalancerArn", lb);
    xml_node *doc = NULL;
    char *arn = NULL;
    if (elbv2_call(c, "DescribeListeners", &p, &doc, err) == 0) {
        for (const xml_node *l = result(doc, "DescribeListeners", "Listeners/member"); l && !arn; l = xml_next_same(l))
            if (xml_path_text(l, "Port") && atoll(xml_path_text(l, "Port")) == port && xml_path_text(l, "ListenerArn") &&
                strcmp(xml_path_text(l, "LoadBalancerArn") ?: "", lb) == 0)
                arn = strdup(xml_path_text(l, "ListenerArn"));
    }
    aws_params_free(&p);
    xml_free(doc);
    return arn;
}

static int listener_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "LoadBalancerArn", resource_attr_str(a, "load_balancer"));
    listener_params(&p, a);
    if (create_tagged(c, "CreateListener", &p, "Listeners/member/ListenerArn", r, err) == 0) return 0;
    if (!errinfo_is_remote(err, "DuplicateListener")) return -1;
    /* A retried call whose first answer was lost, or a listener made by
     * hand on our load balancer: take it over and make it what we want. */
    r->physical = listener_on_port(c, resource_attr_str(a, "load_balancer"),
                                   json_integer_value(json_object_get(a, "port")), NULL);
    return r->physical ? listener_update(c, r, NULL, a, err) : -1;
}

static int listener_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    if (call1(c, "DeleteListener", "ListenerArn", r->physical, err) == 0) return 0;
    return errinfo_is_remote(err, "ListenerNotFound") ? 0 : -1; /* gone with its load balancer */
}

/* A listener that forwards keeps forwarding to its group until it is gone,
 * so a replaced group replaces the listener; a redirect has no group, and
 * turning it into a forward (the certificate removed) is a ModifyListener. */
static const char *const listener_force[] = {"load_balancer", NULL};
static const char *const listener_force_if_set[] = {"target_group", NULL};
const provider provider_listener = {
    .type = "listener",
    .service = "elasticloadbalancing",
    .force_new = listener_force,
    .force_new_if_set = listener_force_if_set,
    .discover = listener_discover,
    .create = listener_create,
    .update = listener_update,
    .destroy = listener_destroy,
};

/* ---- Target registration ---- */

typedef struct {
    const char *tg_id, *tg_arn;
} reg_scope;

static void reg_add(const provider_ctx *c, const reg_scope *s, const xml_node *it, resource_set *out) {
    const char *target = xml_path_text(it, "Target/Id"), *port = xml_path_text(it, "Target/Port");
    const char *state = xml_path_text(it, "TargetHealth/State");
    if (!target || (state && strcmp(state, "draining") == 0)) return; /* on its way out */
    const resource *inst = resource_set_find_physical(provider_discovered(c, "instance"), target);
    const char *inst_id = inst && strncmp(inst->id, "instance.", 9) == 0 ? inst->id + 9 : target;
    const char *tg_short = strchr(s->tg_id, '.') ? strchr(s->tg_id, '.') + 1 : s->tg_id;
    char id[256], phys[512];
    if (strcmp(tg_short, "app") == 0) snprintf(id, sizeof(id), "target_registration.%s", inst_id);
    else snprintf(id, sizeof(id), "target_registration.%s_%s", tg_short, inst_id);
    int n = port ? atoi(port) : 0;
    snprintf(phys, sizeof(phys), "%s/%s:%d", s->tg_arn, target, n);
    resource_set_add(out, "target_registration", id, phys,
                     json_pack("{s:s,s:s,s:i}", "target_group", s->tg_arn, "instance", target, "port", n));
}

/* Registrations of the stack's target groups, one DescribeTargetHealth each. */
static int reg_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    const resource_set *tgs = provider_discovered(c, "target_group");
    for (size_t i = 0; i < tgs->n; i++) {
        const char *tg_arn = tgs->items[i].physical;
        reg_scope s = {tgs->items[i].id, tg_arn};
        aws_params p = {0};
        aws_params_add(&p, "TargetGroupArn", tg_arn);
        xml_node *doc = NULL;
        int rc = elbv2_call(c, "DescribeTargetHealth", &p, &doc, err);
        aws_params_free(&p);
        const xml_node *t = rc == 0 ? result(doc, "DescribeTargetHealth", "TargetHealthDescriptions/member") : NULL;
        for (; t; t = xml_next_same(t)) reg_add(c, &s, t, out);
        xml_free(doc);
        if (rc != 0) return -1;
    }
    return 0;
}

static int reg_call(const provider_ctx *c, const char *action, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "TargetGroupArn", resource_attr_str(a, "target_group"));
    aws_params_add(&p, "Targets.member.1.Id", resource_attr_str(a, "instance"));
    aws_params_addf(&p, "Targets.member.1.Port", "%lld", (long long)json_integer_value(json_object_get(a, "port")));
    int rc = elbv2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int reg_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    if (reg_call(c, "RegisterTargets", a, err) != 0) return -1; /* registering twice is harmless */
    char phys[512];
    snprintf(phys, sizeof(phys), "%s/%s:%lld", resource_attr_str(a, "target_group"), resource_attr_str(a, "instance"),
             (long long)json_integer_value(json_object_get(a, "port")));
    r->physical = strdup(phys);
    return 0;
}

static int reg_destroy(const provider_ctx *c, const resource *r, const json_t *a, errinfo *err) {
    (void)r;
    if (reg_call(c, "DeregisterTargets", a, err) == 0) return 0;
    /* Already deregistered, or its group is gone: nothing left to undo. */
    return errinfo_is_remote(err, "InvalidTarget") || errinfo_is_remote(err, "TargetGroupNotFound") ? 0 : -1;
}

static const char *const reg_force[] = {"target_group", "instance", "port", NULL};
const provider provider_target_registration = {
    .type = "target_registration",
    .service = "elasticloadbalancing",
    .force_new = reg_force,
    .discover = reg_discover,
    .create = reg_create,
    .destroy = reg_destroy,
};
