/* stack_compute: the compute layer of the desired graph (stack_layers.h).
 *
 * User-data is rendered per instance: the template takes the instance's data
 * volume id (deploy/userdata.h), which does not exist before the volume is
 * created. So the instance's user_data_sha256 attribute is the SHA-256 of the
 * script rendered with a placeholder volume id — it changes exactly when the
 * template or the stack's other variables change — and its data_volume
 * reference covers the id. The instance's extra holds that rendering; the
 * provider puts the real volume id in place of the placeholder at launch
 * (deploy/providers/ec2_compute.c), which gives the same script as
 * rendering with it, since values are never re-read as template text. For
 * the same reason the launch template carries no user-data: everything else
 * about the instances is in it. */
#include "deploy/stack_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"user_data": the script rendered with STACK_VOLUME_PLACEHOLDER, which
 * the instance provider replaces once the volume id is known}. Sets sha to
 * that rendering's hash, or to "" when the template does not render (then
 * "user_data_error" says why and the launch fails with it). */
static json_t *user_data_extra(const stack *s, char sha[65]) {
    char *errors = NULL;
    json_t *extra = json_pack("{s:s,s:s}", "user_data_template", stack_user_data_template(s),
                              "volume_placeholder", STACK_VOLUME_PLACEHOLDER);
    sha[0] = '\0';
    char *text = stack_render_user_data(s, sha, &errors, NULL);
    if (text) json_object_set_new(extra, "user_data", json_string(text));
    json_object_set_new(extra, "user_data_error", json_string(errors ? errors : ""));
    free(text);
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
                               "volume", resource_ref(volume), "device", STACK_DATA_DEVICE));
}

void stack_compute_resources(const stack *s, resource_set *out) {
    int count = (int)json_integer_value(json_object_get(s->root, "instance_count"));
    if (count <= 0) return; /* no instances, no template for them */
    const char *ami = json_string_value(json_object_get(s->root, "ami_id"));
    if (!ami) ami = stack_default_ami(stack_region(s)) /* envrun gave it one */;
    if (!ami) ami = ""; /* validation refused this stack already when it has instances */
    add_launch_template(s, ami, out);
    char sha[65];
    json_t *user_data = user_data_extra(s, sha);
    for (int i = 1; i <= count; i++) add_instance(s, i, ami, sha, user_data, out);
    json_decref(user_data);
}
