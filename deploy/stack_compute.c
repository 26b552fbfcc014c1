/* stack_compute: the compute layer of the desired graph (stack_layers.h).
 *
 * User-data is rendered per instance: the template takes the instance's data
 * volume id (deploy/userdata.h), which does not exist before the volume is
 * created. So the instance's user_data_sha256 attribute is the SHA-256 of the
 * script rendered with a placeholder volume id — it changes exactly when the
 * template or the stack's other variables change — and its data_volume
 * reference covers the id. The instance's extra holds that rendering; the
 * provider puts the real volume id in place of the placeholder at launch
 * (ec2_compute.c), which gives the same script as rendering with it, since
 * values are never re-read as template text. For the same reason the launch template carries no
 * user-data: everything else about the instances is in it. */
#include "deploy/stack_layers.h"
#include "deploy/userdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stands for the data volume id while hashing (a valid template value). */
#define VOLUME_PLACEHOLDER "vol-00000000000000000"
#define DATA_DEVICE "/dev/xvdf"

/* Used when the caller gives no template (e.g. a config repo without
 * modules/dify/user_data.sh): boots, does nothing, says why. */
static const char DEFAULT_TEMPLATE[] =
    "#!/bin/bash\n"
    "# deploybot: environment ${env} has no " USERDATA_TEMPLATE " template;\n"
    "# data volume ${data_volume_id} is attached at " DATA_DEVICE " (mount point ${data_mount}).\n"
    "echo \"deploybot: no user-data template for ${env}\"\n";

/* The Amazon Linux 2023 (x86_64) AMI per region when stack.json names none.
 * A placeholder to pin: AMIs are replaced every few weeks, and an old one
 * keeps working, so set ami_id in stack.json to the current one. */
static const struct { const char *region, *ami; } DEFAULT_AMIS[] = {
    {"eu-west-1", "ami-0a0ff88d0f3f85a14"},
};

const char *stack_default_ami(const char *region) {
    for (size_t i = 0; region && i < sizeof(DEFAULT_AMIS) / sizeof(DEFAULT_AMIS[0]); i++)
        if (strcmp(DEFAULT_AMIS[i].region, region) == 0) return DEFAULT_AMIS[i].ami;
    return NULL;
}

static const char *template_of(const stack *s) {
    return s->user_data_template ? s->user_data_template : DEFAULT_TEMPLATE;
}

/* Renders the stack's template with the volume placeholder. */
static int render_placeholder(const stack *s, const char *tmpl, size_t len, userdata *ud, char **errors) {
    userdata_var vars[USERDATA_MAX_VARS];
    size_t n = userdata_stack_vars(s, VOLUME_PLACEHOLDER, vars);
    return userdata_render(tmpl, len, USERDATA_TEMPLATE, vars, n, ud, errors);
}

int stack_set_user_data_template(stack *s, const char *text, size_t len, char **errors) {
    userdata ud;
    free(s->user_data_template);
    s->user_data_template = NULL;
    if (memchr(text, '\0', len)) {
        if (asprintf(errors, "%s: contains a NUL byte (not a text file)\n", USERDATA_TEMPLATE) < 0) abort();
        return -1;
    }
    if (render_placeholder(s, text, len, &ud, errors) != 0) return -1;
    userdata_free(&ud);
    s->user_data_template = strndup(text, len);
    return 0;
}

/* {"user_data": the script rendered with VOLUME_PLACEHOLDER, which the
 * instance provider replaces once the volume id is known}. Sets sha to that
 * rendering's hash, or to "" when the template does not render (then
 * "user_data_error" says why and the launch fails with it). */
static json_t *user_data_extra(const stack *s, char sha[65]) {
    const char *tmpl = template_of(s);
    userdata ud;
    char *errors = NULL;
    json_t *extra = json_pack("{s:s,s:s}", "user_data_template", tmpl,
                              "volume_placeholder", VOLUME_PLACEHOLDER);
    sha[0] = '\0';
    if (render_placeholder(s, tmpl, strlen(tmpl), &ud, &errors) == 0) {
        memcpy(sha, ud.sha256, 65);
        json_object_set_new(extra, "user_data", json_stringn(ud.text, ud.len));
        userdata_free(&ud);
    }
    json_object_set_new(extra, "user_data_error", json_string(errors ? errors : ""));
    free(errors);
    return extra;
}

static json_t *app_groups(void) {
    json_t *groups = json_array();
    json_array_append_new(groups, resource_ref("security_group.app"));
    return groups;
}

static void add_launch_template(const stack *s, const char *ami, resource_set *out) {
    char name[160];
    snprintf(name, sizeof(name), "deploybot-%s-app", s->env);
    json_t *a = json_pack("{s:s,s:s,s:O,s:o,s:s}", "name", name, "image_id", ami,
                          "instance_type", json_object_get(s->root, "instance_type"),
                          "security_groups", app_groups(), "metadata_http_tokens", "required");
    /* IAM is another layer: refer to its profile only when it makes one. */
    if (resource_set_find(out, "instance_profile.main"))
        json_object_set_new(a, "iam_instance_profile", resource_ref("instance_profile.main"));
    resource_set_add(out, "launch_template", "launch_template.app", NULL, a);
}

/* Instance i (1-based), its data volume and the attachment of one to the other. */
static void add_instance(const stack *s, int i, const char *ami, const char *sha,
                         const json_t *user_data, resource_set *out) {
    json_t *azs = json_object_get(s->root, "availability_zones");
    size_t zones = json_array_size(json_object_get(s->root, "private_subnet_cidrs"));
    size_t z = (size_t)(i - 1) % (zones ? zones : 1);
    char subnet[64], volume[64], instance[64], attachment[64];
    snprintf(subnet, sizeof(subnet), "subnet.private_%c", (char)('a' + z));
    snprintf(volume, sizeof(volume), "volume.data_%d", i);
    snprintf(instance, sizeof(instance), "instance.app_%d", i);
    snprintf(attachment, sizeof(attachment), "volume_attachment.data_%d", i);

    resource_set_add(out, "volume", volume, NULL,
                     json_pack("{s:O,s:O,s:s,s:b}", "availability_zone", json_array_get(azs, z),
                               "size", json_object_get(s->root, "data_volume_size"),
                               "volume_type", "gp3", "encrypted", 1));
    /* Attribute order matters: the first changed one is named as forcing the replacement. */
    resource *r = resource_set_add(out, "instance", instance, NULL,
        json_pack("{s:s,s:O,s:s,s:o,s:o,s:o,s:o}", "user_data_sha256", sha,
                  "instance_type", json_object_get(s->root, "instance_type"), "image_id", ami,
                  "launch_template", resource_ref("launch_template.app"),
                  "subnet", resource_ref(subnet), "security_groups", app_groups(),
                  "data_volume", resource_ref(volume)));
    r->extra = json_deep_copy(user_data);
    resource_set_add(out, "volume_attachment", attachment, NULL,
                     json_pack("{s:o,s:o,s:s}", "instance", resource_ref(instance),
                               "volume", resource_ref(volume), "device", DATA_DEVICE));
}

void stack_compute_resources(const stack *s, resource_set *out) {
    int count = (int)json_integer_value(json_object_get(s->root, "instance_count"));
    if (count <= 0) return; /* no instances, no template for them */
    const char *ami = json_string_value(json_object_get(s->root, "ami_id"));
    if (!ami) ami = stack_default_ami(stack_region(s) ? stack_region(s) : "eu-west-1");
    if (!ami) ami = "";  /* validation refused this stack already when it has instances */
    add_launch_template(s, ami, out);
    char sha[65];
    json_t *user_data = user_data_extra(s, sha);
    for (int i = 1; i <= count; i++) add_instance(s, i, ami, sha, user_data, out);
    json_decref(user_data);
}
