/* The edge layer's desired graph (deploy/stack_edge.c) and the plans it
 * leads to: a certificate added or removed changes listener.http in place, a
 * record renamed in its zone changes in place, a replaced target group or
 * load balancer replaces what refers to it. */
#include "deploy/plan.h"
#include "deploy/stack.h"
#include "deploy/stack_layers.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

static const char *BASE =
    "{\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\","
    "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"],"
    "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"],"
    "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],"
    "\"office_cidrs\":[\"203.0.113.0/24\"]%s}";

#define CERT "arn:aws:acm:eu-west-1:123456789012:certificate/abc"

/* The desired set of the stack `extra` (",\"key\":value..." appended to BASE). */
static void desired(const char *env, const char *extra, resource_set *out) {
    char text[2048], *errors = NULL;
    snprintf(text, sizeof(text), BASE, extra);
    stack s;
    memset(out, 0, sizeof(*out));
    if (stack_load(text, strlen(text), "stack.json", env, &s, &errors, NULL) != 0) {
        fprintf(stderr, "stack.json refused: %s\n", errors);
        free(errors);
        check_failed++;
        return;
    }
    stack_resources(&s, out);
    stack_free(&s);
}

static const json_t *attr(const resource_set *rs, const char *id, const char *key) {
    const resource *r = resource_set_find(rs, id);
    return r ? json_object_get(r->attrs, key) : NULL;
}

static void test_graph(void) {
    resource_set rs;
    desired("dev", ",\"instance_count\":3", &rs);
    const char *ids[] = {"iam_role.app", "instance_profile.main", "load_balancer.main", "target_group.app",
                         "listener.http", "target_registration.app_1", "target_registration.app_3"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) CHECK(resource_set_find(&rs, ids[i]) != NULL);
    CHECK(resource_set_find(&rs, "target_registration.app_4") == NULL);
    CHECK(resource_set_find(&rs, "listener.https") == NULL);
    CHECK(resource_set_find(&rs, "dns_record.main") == NULL);
    CHECK_STR(json_string_value(attr(&rs, "load_balancer.main", "name")), "deploybot-dev");
    CHECK(json_array_size(attr(&rs, "load_balancer.main", "subnets")) == 2);
    CHECK_STR(resource_ref_id(json_array_get(attr(&rs, "load_balancer.main", "subnets"), 1)), "subnet.public_b");
    CHECK_STR(resource_ref_id(attr(&rs, "load_balancer.main", "internet_gateway")), "internet_gateway.main");
    CHECK_STR(json_string_value(attr(&rs, "target_group.app", "health_check_path")), "/apps");
    CHECK_STR(json_string_value(attr(&rs, "target_group.app", "health_check_matcher")), "200");
    CHECK(json_integer_value(attr(&rs, "target_group.app", "health_check_healthy_threshold")) == 2);
    CHECK(json_integer_value(attr(&rs, "target_group.app", "health_check_unhealthy_threshold")) == 5);
    CHECK(json_integer_value(attr(&rs, "target_group.app", "health_check_timeout")) == 20);
    CHECK(json_integer_value(attr(&rs, "target_group.app", "health_check_interval")) == 30);
    CHECK_STR(json_string_value(json_object_get(attr(&rs, "listener.http", "default_action"), "type")), "forward");
    CHECK_STR(resource_ref_id(attr(&rs, "listener.http", "target_group")), "target_group.app");
    CHECK_STR(resource_ref_id(attr(&rs, "target_registration.app_3", "instance")), "instance.app_3");
    CHECK_STR(resource_ref_id(attr(&rs, "instance_profile.main", "role")), "iam_role.app");
    /* Every reference names a resource of the set. */
    for (size_t i = 0; i < rs.n; i++) {
        errinfo err;
        resource_set known = rs;
        for (size_t j = 0; j < known.n; j++) known.items[j].physical = (char *)"x";
        json_t *r = resource_attrs_resolve(rs.items[i].attrs, &known, &err);
        for (size_t j = 0; j < known.n; j++) known.items[j].physical = NULL;
        if (!r) fprintf(stderr, "%s: %s\n", rs.items[i].id, err.msg);
        CHECK(r != NULL);
        json_decref(r);
    }
    resource_set_free(&rs);

    desired("dev", ",\"certificate_arn\":\"" CERT "\",\"zone_id\":\"Z0123456789\",\"record_name\":\"Dify.Example.COM\"", &rs);
    const json_t *http = attr(&rs, "listener.http", "default_action");
    CHECK_STR(json_string_value(json_object_get(http, "type")), "redirect");
    CHECK_STR(json_string_value(json_object_get(http, "status_code")), "HTTP_301");
    CHECK(attr(&rs, "listener.http", "target_group") == NULL); /* a redirect has no group */
    CHECK_STR(json_string_value(json_array_get(attr(&rs, "listener.https", "certificates"), 0)), CERT);
    CHECK_STR(json_string_value(attr(&rs, "dns_record.main", "name")), "dify.example.com.");
    CHECK_STR(json_string_value(attr(&rs, "dns_record.main", "zone")), "Z0123456789");
    resource_set_free(&rs);
}

static void test_long_environment_names(void) {
    resource_set a, b;
    desired("a-very-long-environment-name-1", "", &a);
    desired("a-very-long-environment-name-2", "", &b);
    const char *lb_a = json_string_value(attr(&a, "load_balancer.main", "name"));
    const char *tg_a = json_string_value(attr(&a, "target_group.app", "name"));
    const char *tg_b = json_string_value(attr(&b, "target_group.app", "name"));
    CHECK(lb_a && strlen(lb_a) <= 32);
    CHECK(tg_a && strlen(tg_a) <= 32 && strcmp(tg_a + strlen(tg_a) - 4, "-app") == 0);
    CHECK(tg_a && tg_b && strcmp(tg_a, tg_b) != 0); /* cut, but still apart */
    resource_set_free(&a);
    resource_set_free(&b);
}

/* `before`'s resources as if they existed (physical ids, references kept). */
static void as_actual(const resource_set *before, resource_set *actual) {
    memset(actual, 0, sizeof(*actual));
    for (size_t i = 0; i < before->n; i++) {
        char phys[300];
        snprintf(phys, sizeof(phys), "phys-%s", before->items[i].id);
        resource_set_add(actual, before->items[i].type, before->items[i].id, phys,
                         json_deep_copy(before->items[i].attrs));
    }
}

static const plan_change *change(const plan *p, const char *id) {
    for (size_t i = 0; i < p->n; i++) {
        const resource *r = p->changes[i].desired ? p->changes[i].desired : p->changes[i].actual;
        if (strcmp(r->id, id) == 0) return &p->changes[i];
    }
    return NULL;
}

static void test_certificate_added_in_place(void) {
    resource_set before, actual, after;
    desired("stg", "", &before);
    as_actual(&before, &actual);
    desired("stg", ",\"certificate_arn\":\"" CERT "\"", &after);
    plan p;
    plan_build(&after, &actual, &p);
    CHECK(change(&p, "listener.http") && change(&p, "listener.http")->action == PLAN_UPDATE);
    CHECK(change(&p, "listener.https") && change(&p, "listener.https")->action == PLAN_CREATE);
    CHECK(p.add == 1 && p.change == 1 && p.destroy == 0);
    plan_free(&p);
    resource_set_free(&before);
}

/* The reverse: the redirect becomes a forward again in place, the HTTPS
 * listener goes. */
static void test_certificate_removed_in_place(void) {
    resource_set before, actual, after;
    desired("stg", ",\"certificate_arn\":\"" CERT "\"", &before);
    as_actual(&before, &actual);
    desired("stg", "", &after);
    plan p;
    plan_build(&after, &actual, &p);
    CHECK(change(&p, "listener.http") && change(&p, "listener.http")->action == PLAN_UPDATE);
    CHECK(change(&p, "listener.https") && change(&p, "listener.https")->action == PLAN_DELETE);
    CHECK(p.add == 0 && p.change == 1 && p.destroy == 1);
    plan_free(&p);
    resource_set_free(&before);
}

/* A new record name in the same zone is a rename in place; another zone is
 * another record. */
static void test_record_rename_in_place(void) {
    const char *zones[][2] = {{"Z0123456789", "dify.example.com"}, {"Z0123456789", "app.example.com"}, {"Z9876543210", "app.example.com"}};
    const plan_action want[] = {PLAN_NOOP, PLAN_UPDATE, PLAN_REPLACE};
    resource_set before, actual, after;
    char extra[200];
    snprintf(extra, sizeof(extra), ",\"zone_id\":\"%s\",\"record_name\":\"%s\"", zones[0][0], zones[0][1]);
    desired("stg", extra, &before);
    for (int i = 0; i < 3; i++) {
        as_actual(&before, &actual);
        snprintf(extra, sizeof(extra), ",\"zone_id\":\"%s\",\"record_name\":\"%s\"", zones[i][0], zones[i][1]);
        desired("stg", extra, &after);
        plan p;
        plan_build(&after, &actual, &p);
        CHECK(change(&p, "dns_record.main")->action == want[i]);
        CHECK(p.add + p.change + p.destroy == (i == 0 ? 0 : i == 1 ? 1
                                                                   : 2));
        plan_free(&p);
    }
    resource_set_free(&before);
}

static void test_replacements_cascade(void) {
    resource_set before, actual, after;
    desired("stg", "", &before);
    as_actual(&before, &actual);
    /* A new group name replaces the group, hence the listener forwarding to it
     * and the registrations; a new scheme replaces the load balancer. */
    json_object_set_new(resource_set_find(&actual, "target_group.app")->attrs, "name", json_string("old"));
    json_object_set_new(resource_set_find(&actual, "load_balancer.main")->attrs, "scheme", json_string("internal"));
    desired("stg", "", &after);
    plan p;
    plan_build(&after, &actual, &p);
    CHECK(change(&p, "target_group.app")->action == PLAN_REPLACE);
    CHECK(change(&p, "load_balancer.main")->action == PLAN_REPLACE);
    CHECK(change(&p, "listener.http")->action == PLAN_REPLACE);
    CHECK(change(&p, "target_registration.app_1")->action == PLAN_REPLACE);
    CHECK(change(&p, "iam_role.app")->action == PLAN_NOOP);
    plan_free(&p);
    resource_set_free(&before);
}

int main(void) {
    test_graph();
    test_long_environment_names();
    test_certificate_added_in_place();
    test_certificate_removed_in_place();
    test_record_rename_in_place();
    test_replacements_cascade();
    return CHECK_DONE();
}
