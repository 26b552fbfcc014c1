/* The compute layer of the desired graph (deploy/stack_compute.c) and what
 * the planner makes of its changes: instances spread over the zones, one
 * volume and attachment each, the user-data hash, and a user-data change
 * that replaces instances and attachments but never a volume. */
#include "deploy/plan_render.h"
#include "deploy/stack.h"
#include "deploy/stack_layers.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#define BASE \
    "\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\"," \
    "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"]," \
    "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"]," \
    "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],\"office_cidrs\":[\"203.0.113.0/24\"]"

static int load(const char *json, stack *s) {
    char *errors = NULL;
    int rc = stack_load(json, strlen(json), "environments/prd/stack.json", "prd", s, &errors, NULL);
    if (rc != 0) fprintf(stderr, "%s", errors);
    free(errors);
    return rc;
}

static const char *attr_str(const resource *r, const char *k) {
    return r ? json_string_value(json_object_get(r->attrs, k)) : NULL;
}

static const char *attr_ref(const resource *r, const char *k) {
    return r ? resource_ref_id(json_object_get(r->attrs, k)) : NULL;
}

static void test_graph(void) {
    stack s;
    CHECK(load("{" BASE ",\"instance_count\":3,\"data_volume_size\":50,\"instance_type\":\"t3.large\","
               "\"ami_id\":\"ami-0123456789abcdef0\"}",
               &s) == 0);
    resource_set rs = {0};
    stack_compute_resources(&s, &rs);
    CHECK(rs.n == 1 + 3 * 3);
    const resource *lt = resource_set_find(&rs, "launch_template.app");
    CHECK_STR(attr_str(lt, "name"), "deploybot-prd-app");
    CHECK_STR(attr_str(lt, "image_id"), "ami-0123456789abcdef0");
    CHECK_STR(attr_str(lt, "metadata_http_tokens"), "required");
    CHECK(lt && !json_object_get(lt->attrs, "iam_instance_profile")); /* no IAM layer in this set */
    const char *zones[] = {"eu-west-1a", "eu-west-1b", "eu-west-1a"};
    const char *subnets[] = {"subnet.private_a", "subnet.private_b", "subnet.private_a"};
    for (int i = 1; i <= 3; i++) {
        char id[64];
        snprintf(id, sizeof(id), "instance.app_%d", i);
        const resource *inst = resource_set_find(&rs, id);
        CHECK_STR(attr_ref(inst, "subnet"), subnets[i - 1]);
        CHECK_STR(attr_ref(inst, "launch_template"), "launch_template.app");
        CHECK_STR(attr_str(inst, "instance_type"), "t3.large");
        CHECK(attr_str(inst, "user_data_sha256") && strlen(attr_str(inst, "user_data_sha256")) == 64);
        CHECK(inst && json_object_get(inst->extra, "user_data_template") != NULL);
        snprintf(id, sizeof(id), "volume.data_%d", i);
        const resource *vol = resource_set_find(&rs, id);
        CHECK_STR(attr_str(vol, "availability_zone"), zones[i - 1]);
        CHECK(vol && json_integer_value(json_object_get(vol->attrs, "size")) == 50);
        CHECK(vol && json_is_true(json_object_get(vol->attrs, "encrypted")));
        CHECK_STR(attr_str(vol, "volume_type"), "gp3");
        snprintf(id, sizeof(id), "volume_attachment.data_%d", i);
        const resource *att = resource_set_find(&rs, id);
        CHECK_STR(attr_str(att, "device"), "/dev/xvdf");
        snprintf(id, sizeof(id), "volume.data_%d", i);
        CHECK_STR(attr_ref(att, "volume"), id);
        CHECK_STR(attr_ref(inst, "data_volume"), id);
    }
    resource_set_free(&rs);

    /* With the IAM layer's profile in the set, the template names it. */
    resource_set_add(&rs, "instance_profile", "instance_profile.main", NULL, NULL);
    stack_compute_resources(&s, &rs);
    CHECK_STR(attr_ref(resource_set_find(&rs, "launch_template.app"), "iam_instance_profile"),
              "instance_profile.main");
    resource_set_free(&rs);
    stack_free(&s);

    CHECK(load("{" BASE ",\"instance_count\":0}", &s) == 0);
    stack_compute_resources(&s, &rs);
    CHECK(rs.n == 0);
    resource_set_free(&rs);
    stack_free(&s);
}

static void test_ami_and_template_errors(void) {
    stack s;
    char *errors = NULL;
    const char *bad = "{" BASE ",\"ami_id\":\"ami-XYZ\"}";
    CHECK(stack_load(bad, strlen(bad), "f.json", "prd", &s, &errors, NULL) != 0);
    CHECK_CONTAINS(errors, "f.json:ami_id: \"ami-XYZ\" is not an AMI id");
    free(errors);
    const char *other_region =
        "{\"region\":\"us-east-2\",\"vpc_cidr\":\"10.10.0.0/16\",\"availability_zones\":[\"us-east-2a\","
        "\"us-east-2b\"],\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],\"office_cidrs\":[\"203.0.113.0/24\"]}";
    CHECK(stack_load(other_region, strlen(other_region), "f.json", "prd", &s, &errors, NULL) != 0);
    CHECK_CONTAINS(errors, "f.json:ami_id: required in region us-east-2");
    free(errors);

    CHECK(load("{" BASE "}", &s) == 0);
    CHECK(stack_default_ami("eu-west-1") != NULL);
    const char *tmpl = "#!/bin/bash\necho ${env}\necho ${nope}\n";
    CHECK(stack_set_user_data_template(&s, tmpl, strlen(tmpl), &errors, NULL) != 0);
    CHECK_CONTAINS(errors, "modules/dify/user_data.sh:3: template variable ${nope} has no value");
    CHECK(s.user_data_template == NULL);
    free(errors);
    tmpl = "#!/bin/bash\nmount ${data_volume_id} ${data_mount}\n";
    CHECK(stack_set_user_data_template(&s, tmpl, strlen(tmpl), &errors, NULL) == 0);
    CHECK_STR(s.user_data_template, tmpl);
    stack_free(&s);
}

/* What discovery would report after a perfect apply of `d`: the same
 * attributes with references as physical ids, linked back. */
static void apply_perfectly(resource_set *d, resource_set *a) {
    for (size_t i = 0; i < d->n; i++) {
        char phys[128];
        snprintf(phys, sizeof(phys), "phys-%s", d->items[i].id);
        free(d->items[i].physical);
        d->items[i].physical = strdup(phys);
    }
    for (size_t i = 0; i < d->n; i++) {
        json_t *attrs = resource_attrs_resolve(d->items[i].attrs, d, NULL);
        CHECK(attrs != NULL);
        resource_set_add(a, d->items[i].type, d->items[i].id, d->items[i].physical, attrs);
    }
    resource_set_link(a);
}

static plan_action action_of(const plan *p, const char *id, const char **forced) {
    for (size_t i = 0; i < p->n; i++) {
        const resource *r = p->changes[i].desired ? p->changes[i].desired : p->changes[i].actual;
        if (strcmp(r->id, id) == 0) {
            if (forced) *forced = p->changes[i].forced_by;
            return p->changes[i].action;
        }
    }
    return (plan_action)-1;
}

static void test_user_data_change_keeps_volumes(void) {
    const char *json = "{" BASE ",\"instance_count\":2}";
    const char *t1 = "#!/bin/bash\necho one ${env} ${data_volume_id}\n";
    const char *t2 = "#!/bin/bash\necho two ${env} ${data_volume_id}\n";
    stack s;
    char *errors = NULL;
    resource_set d1 = {0}, d2 = {0}, a = {0};
    CHECK(load(json, &s) == 0);
    CHECK(stack_set_user_data_template(&s, t1, strlen(t1), &errors, NULL) == 0);
    stack_resources(&s, &d1);
    apply_perfectly(&d1, &a);
    CHECK(stack_set_user_data_template(&s, t2, strlen(t2), &errors, NULL) == 0);
    stack_resources(&s, &d2);
    plan p;
    plan_build(&d2, &a, &p);
    const char *forced = NULL;
    CHECK(action_of(&p, "instance.app_1", &forced) == PLAN_REPLACE);
    CHECK_STR(forced, "user_data_sha256");
    CHECK(action_of(&p, "instance.app_2", NULL) == PLAN_REPLACE);
    CHECK(action_of(&p, "volume_attachment.data_1", &forced) == PLAN_REPLACE);
    CHECK_STR(forced, "instance");
    CHECK(action_of(&p, "volume.data_1", NULL) == PLAN_NOOP);
    CHECK(action_of(&p, "volume.data_2", NULL) == PLAN_NOOP);
    CHECK(action_of(&p, "launch_template.app", NULL) == PLAN_NOOP);
    char *text = plan_render_text(&p, NULL);
    CHECK_CONTAINS(text,
                   "  -/+ instance.app_1 (phys-instance.app_1) must be replaced "
                   "(user_data_sha256 forces replacement)");
    free(text);
    plan_free(&p);
    stack_free(&s);
    resource_set_free(&d1);

    /* A bigger volume is an update in place; a new type a new template
     * version and new instances. */
    CHECK(load("{" BASE ",\"instance_count\":1,\"data_volume_size\":30,\"instance_type\":\"t3.large\"}", &s) == 0);
    {
        resource_set before = {0}, now = {0}, actual = {0};
        stack st2;
        CHECK(load("{" BASE ",\"instance_count\":1}", &st2) == 0);
        stack_resources(&st2, &before);
        apply_perfectly(&before, &actual);
        stack_resources(&s, &now);
        plan_build(&now, &actual, &p);
        CHECK(action_of(&p, "volume.data_1", NULL) == PLAN_UPDATE);
        CHECK(action_of(&p, "launch_template.app", NULL) == PLAN_UPDATE);
        CHECK(action_of(&p, "instance.app_1", &forced) == PLAN_REPLACE);
        CHECK_STR(forced, "instance_type");
        plan_free(&p);
        resource_set_free(&before);
        stack_free(&st2);
    }
    stack_free(&s);
}

int main(void) {
    test_graph();
    test_ami_and_template_errors();
    test_user_data_change_keeps_volumes();
    return CHECK_DONE();
}
