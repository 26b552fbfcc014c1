/* The planner: create, no-op, update in place, replace (and what it drags
 * along), destroy; and the Terraform-style rendering. No AWS involved. */
#include "deploy/plan_render.h"
#include "deploy/safeguard.h"
#include "check.h"

#include <stdlib.h>

static void desired(resource_set *d, const char *vpc_cidr, const char *office) {
    resource_set_add(d, "vpc", "vpc.main", NULL, json_pack("{s:s}", "cidr_block", vpc_cidr));
    resource_set_add(d, "subnet", "subnet.a", NULL,
                     json_pack("{s:o,s:s,s:s,s:b}", "vpc", resource_ref("vpc.main"), "cidr_block",
                               "10.0.1.0/24", "availability_zone", "eu-west-1a", "map_public_ip", 1));
    resource_set_add(d, "security_group", "security_group.alb", NULL,
                     json_pack("{s:o,s:s,s:s,s:[{s:s,s:i,s:i,s:[s],s:[]}]}", "vpc", resource_ref("vpc.main"),
                               "name", "alb", "description", "d", "ingress", "protocol", "tcp",
                               "from_port", 443, "to_port", 443, "cidrs", office, "source_groups"));
}

/* What discovery would report after a perfect apply of desired(). */
static void actual(resource_set *a, const char *vpc_cidr, const char *office, int public) {
    resource_set_add(a, "vpc", "vpc.main", "vpc-1", json_pack("{s:s}", "cidr_block", vpc_cidr));
    resource_set_add(a, "subnet", "subnet.a", "subnet-1",
                     json_pack("{s:s,s:s,s:s,s:b}", "vpc", "vpc-1", "cidr_block", "10.0.1.0/24",
                               "availability_zone", "eu-west-1a", "map_public_ip", public));
    resource_set_add(a, "security_group", "security_group.alb", "sg-1",
                     json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i,s:[s],s:[]}]}", "vpc", "vpc-1",
                               "name", "alb", "description", "d", "ingress", "protocol", "tcp",
                               "from_port", 443, "to_port", 443, "cidrs", office, "source_groups"));
    resource_set_link(a);
}

static plan make(const char *dv, const char *doff, int have, const char *av, const char *aoff, int pub) {
    resource_set d = {0}, a = {0};
    desired(&d, dv, doff);
    if (have) actual(&a, av, aoff, pub);
    plan p;
    plan_build(&d, &a, &p);
    return p;
}

static plan_action action_of(const plan *p, const char *id) {
    for (size_t i = 0; i < p->n; i++) {
        const resource *r = p->changes[i].desired ? p->changes[i].desired : p->changes[i].actual;
        if (strcmp(r->id, id) == 0) return p->changes[i].action;
    }
    return (plan_action)-1;
}

static void test_create_all(void) {
    plan p = make("10.0.0.0/16", "1.2.3.0/24", 0, NULL, NULL, 0);
    char sum[128];
    plan_summary(&p, sum, sizeof(sum));
    CHECK_STR(sum, "Plan: 3 to add, 0 to change, 0 to destroy.");
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text, "  + vpc.main will be created\n      cidr_block = \"10.0.0.0/16\"\n");
    CHECK_CONTAINS(text, "vpc = vpc.main.id");
    free(text);
    plan_free(&p);
}

static void test_no_changes(void) {
    plan p = make("10.0.0.0/16", "1.2.3.0/24", 1, "10.0.0.0/16", "1.2.3.0/24", 1);
    char sum[128];
    plan_summary(&p, sum, sizeof(sum));
    CHECK_STR(sum, "No changes.");
    CHECK(!plan_has_changes(&p));
    CHECK_STR(p.desired.items[1].physical, "subnet-1");
    plan_free(&p);
}

static void test_update_in_place(void) {
    plan p = make("10.0.0.0/16", "5.6.7.0/24", 1, "10.0.0.0/16", "1.2.3.0/24", 0);
    CHECK(action_of(&p, "security_group.alb") == PLAN_UPDATE);
    CHECK(action_of(&p, "subnet.a") == PLAN_UPDATE);
    CHECK(action_of(&p, "vpc.main") == PLAN_NOOP);
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text, "  ~ security_group.alb (sg-1) will be updated in place\n");
    CHECK_CONTAINS(text, "map_public_ip: false -> true\n");
    CHECK_CONTAINS(text, "Plan: 0 to add, 2 to change, 0 to destroy.");
    free(text);
    plan_free(&p);
}

static void test_replace_propagates(void) {
    plan p = make("10.1.0.0/16", "1.2.3.0/24", 1, "10.0.0.0/16", "1.2.3.0/24", 1);
    CHECK(action_of(&p, "vpc.main") == PLAN_REPLACE);
    CHECK(action_of(&p, "subnet.a") == PLAN_REPLACE); /* its vpc is new */
    CHECK(action_of(&p, "security_group.alb") == PLAN_REPLACE);
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text, "  -/+ vpc.main (vpc-1) must be replaced (cidr_block forces replacement)\n");
    CHECK_CONTAINS(text, "cidr_block: \"10.0.0.0/16\" -> \"10.1.0.0/16\"  # forces replacement");
    CHECK_CONTAINS(text, "Plan: 3 to add, 0 to change, 3 to destroy.");
    free(text);
    plan_free(&p);
}

static void test_destroy_unwanted(void) {
    resource_set d = {0}, a = {0};
    actual(&a, "10.0.0.0/16", "1.2.3.0/24", 1);
    plan p;
    plan_build(&d, &a, &p);
    CHECK(action_of(&p, "subnet.a") == PLAN_DELETE);
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text, "  - subnet.a (subnet-1) will be destroyed\n");
    CHECK_CONTAINS(text, "Plan: 0 to add, 0 to change, 3 to destroy.");
    free(text);
    plan_free(&p);
}

static void test_order_is_not_a_change(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "route_table", "route_table.p", NULL,
                     json_pack("{s:[s,s]}", "subnets", "subnet-2", "subnet-1"));
    resource_set_add(&a, "route_table", "route_table.p", "rtb-1",
                     json_pack("{s:[s,s]}", "subnets", "subnet-1", "subnet-2"));
    plan p;
    plan_build(&d, &a, &p);
    CHECK(!plan_has_changes(&p));
    plan_free(&p);
}

/* A stack with a data volume and the load balancer, and a plan deleting
 * what `keep` does not name. */
static plan data_plan(int keep_volume, int keep_lb) {
    resource_set d = {0}, a = {0};
    resource_set_add(&a, "volume", "volume.data_1", "vol-1", json_pack("{s:i}", "size", 20));
    resource_set_add(&a, "load_balancer", "load_balancer.main", "arn:lb", json_pack("{s:s}", "name", "lb"));
    resource_set_add(&a, "subnet", "subnet.a", "subnet-1", json_pack("{s:s}", "cidr_block", "10.0.1.0/24"));
    if (keep_volume) resource_set_add(&d, "volume", "volume.data_1", NULL, json_pack("{s:i}", "size", 20));
    if (keep_lb) resource_set_add(&d, "load_balancer", "load_balancer.main", NULL, json_pack("{s:s}", "name", "lb2"));
    plan p;
    plan_build(&d, &a, &p);
    return p;
}

static void test_final_snapshots(void) {
    plan p = data_plan(0, 1);
    safeguard_policy pol = {0};
    safeguard_mark(&p, &pol);
    CHECK(p.snapshots == 1);
    char sum[128];
    plan_summary(&p, sum, sizeof(sum));
    CHECK_STR(sum, "Plan: 1 to add, 0 to change, 3 to destroy. 1 final snapshot to take.");
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text,
                   "  - volume.data_1 (vol-1) will be destroyed\n"
                   "      + final snapshot of vol-1 (tagged deploybot:id=volume.data_1), completed before it "
                   "is deleted\n  - subnet.a");
    free(text);
    CHECK(safeguard_check(&p, &pol, NULL) == 0); /* no prevent_destroy */
    pol.skip_final_snapshot = 1;
    safeguard_mark(&p, &pol);
    CHECK(p.snapshots == 0);
    plan_summary(&p, sum, sizeof(sum));
    CHECK_STR(sum, "Plan: 1 to add, 0 to change, 3 to destroy.");
    text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text, "      no final snapshot of vol-1 (skip_final_snapshot): its data is lost\n");
    free(text);
    plan_free(&p);
}

static void test_prevent_destroy(void) {
    safeguard_policy pol = {0, 1, "environments/prd/stack.json"};
    errinfo err;
    plan p = data_plan(0, 1); /* volume deleted, load balancer replaced */
    CHECK(safeguard_check(&p, &pol, &err) == -1);
    CHECK(err.code == ERR_CONFLICT);
    CHECK_STR(err.msg,
              "prevent_destroy is set (environments/prd/stack.json): refusing a plan that deletes "
              "load_balancer.main by replacing it, volume.data_1 (vol-1)");
    plan_free(&p);
    p = data_plan(1, 0);
    CHECK(safeguard_check(&p, &pol, &err) == -1);
    CHECK_STR(strstr(err.msg, "deletes "), "deletes load_balancer.main");
    plan_free(&p);
    resource_set d = {0}, a = {0}; /* only a subnet goes: allowed */
    resource_set_add(&a, "subnet", "subnet.a", "subnet-1", json_pack("{s:s}", "cidr_block", "10.0.1.0/24"));
    plan_build(&d, &a, &p);
    CHECK(safeguard_check(&p, &pol, &err) == 0);
    plan_free(&p);
}

int main(void) {
    test_create_all();
    test_no_changes();
    test_update_in_place();
    test_replace_propagates();
    test_destroy_unwanted();
    test_order_is_not_a_change();
    test_final_snapshots();
    test_prevent_destroy();
    return CHECK_DONE();
}
