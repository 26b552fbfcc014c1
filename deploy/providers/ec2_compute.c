/* ec2_compute: providers for the compute layer — the launch template, the
 * instances, their EBS data volumes and the attachments of one to the other.
 *
 * - launch_template: a change is a new version made the default
 *   (CreateLaunchTemplateVersion + ModifyLaunchTemplate); only a new name
 *   replaces it. Discovery reads every template's default version in one call.
 * - instance: never changed in place; any difference (user-data, type, image,
 *   subnet ...) replaces it, as Terraform does. It is launched from the
 *   template's default version, named by its number (the applier runs the
 *   template's update first), with its own user-data: the script names its
 *   data volume (deploy/stack_compute.c). The user-data hash, the volume and
 *   the template are recorded as tags, which is what discovery compares.
 * - volume: grown and retyped in place (ModifyVolume); EBS cannot shrink a
 *   volume, so a smaller size fails with an error instead of losing data; a
 *   new zone or encryption replaces it. A replaced instance never touches it.
 *   Deleting it takes a completed final snapshot first when the plan says so
 *   (provider_ctx.final_snapshot, ec2_snapshot.c).
 * - volume_attachment: has no AWS id or tags: discovery of volumes reports
 *   it, named after its volume (volume.data_1 -> volume_attachment.data_1).
 *   It refers to both the instance and the volume, so the applier detaches
 *   before terminating an instance and attaches after launching its successor.
 *
 * Ownership: templates, instances and volumes are the stack's when their
 * tags say deploybot:stack=<env> and carry a deploybot:id (ec2_owned),
 * whatever the Describe's tag filter returned; an instance shutting down or
 * terminated, or a volume being deleted, is gone whatever the state filter
 * returned. A template's versions and a volume's attachments are the
 * stack's through it; of a DescribeLaunchTemplateVersions answer only the
 * versions that say they are the default count. A template is created by
 * name: AWS refuses a name that exists, and so one that is not the stack's
 * is never taken over.
 *
 * Waiters use botocore's delays (15 s, 40 attempts): instance running and
 * terminated, volume available, attachment attached and gone. */
#include "deploy/providers/ec2.h"
#include "util/strbuf.h"
#include "deploy/aws/waiter.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_S 600 /* 40 x 15 s, as botocore's instance and volume waiters */
#define POLL_MS 15000
#define PROFILE_WAIT_S 120 /* a new instance profile reaches EC2 within about a minute */
#define PROFILE_POLL_MS 5000

static void add_indexed(aws_params *p, const char *fmt, const json_t *values) {
    char key[128];
    for (size_t i = 0; i < json_array_size(values); i++) {
        snprintf(key, sizeof(key), fmt, (int)i + 1);
        aws_params_add(p, key, json_string_value(json_array_get(values, i)));
    }
}

static json_t *texts(const xml_node *item, const char *path, const char *field) {
    json_t *out = json_array();
    for (xml_node *n = xml_path(item, path); n; n = xml_next_same(n)) {
        const char *v = field ? xml_path_text(n, field) : n->text;
        if (v) json_array_append_new(out, json_string(v));
    }
    return out;
}

static json_t *text_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

/* ======================================================= launch template */

static void lt_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    json_t *a = json_pack("{s:s}", "name", xml_path_text(it, "launchTemplateName") ?: "");
    ec2_add_tagged(c, it, "launch_template", "launchTemplateId", a, out);
}

/* The attributes of a default version's data. */
static void lt_version_attrs(resource *r, const xml_node *v) {
    const xml_node *d = xml_child(v, "launchTemplateData");
    const char *profile = d ? xml_path_text(d, "iamInstanceProfile/name") : NULL;
    if (!profile && d) profile = xml_path_text(d, "iamInstanceProfile/arn");
    json_object_set_new(r->attrs, "image_id", text_or_null(d ? xml_path_text(d, "imageId") : NULL));
    json_object_set_new(r->attrs, "instance_type", text_or_null(d ? xml_path_text(d, "instanceType") : NULL));
    json_object_set_new(r->attrs, "security_groups", d ? texts(d, "securityGroupIdSet/item", NULL) : json_array());
    json_object_set_new(r->attrs, "metadata_http_tokens",
                        text_or_null(d ? xml_path_text(d, "metadataOptions/httpTokens") : NULL));
    if (profile) json_object_set_new(r->attrs, "iam_instance_profile", json_string(profile));
}

/* Fills in the default version of the templates found: one call (paginated)
 * for the default versions of every template of the account. */
static int lt_discover_versions(const provider_ctx *c, resource_set *out, size_t from, errinfo *err) {
    char *token = NULL;
    do {
        aws_params p = {0};
        aws_params_add(&p, "LaunchTemplateVersion.1", "$Default");
        aws_params_add(&p, "MaxResults", "200"); /* not the page size: one call, usually */
        if (token) aws_params_add(&p, "NextToken", token);
        xml_node *doc = NULL;
        int rc = ec2_call(c, "DescribeLaunchTemplateVersions", &p, &doc, err);
        aws_params_free(&p);
        free(token);
        token = NULL;
        if (rc != 0) return -1;
        for (xml_node *v = xml_path(doc, "launchTemplateVersionSet/item"); v; v = xml_next_same(v)) {
            const char *id = xml_path_text(v, "launchTemplateId"), *dflt = xml_path_text(v, "defaultVersion");
            if (!dflt || strcmp(dflt, "true") != 0) continue; /* asked for $Default: only it counts */
            for (size_t i = from; id && i < out->n; i++)
                if (strcmp(out->items[i].type, "launch_template") == 0 && strcmp(out->items[i].physical, id) == 0)
                    lt_version_attrs(&out->items[i], v);
        }
        const char *next = xml_path_text(doc, "nextToken");
        if (next && *next) token = strdup(next);
        xml_free(doc);
    } while (token);
    return 0;
}

static int lt_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    size_t from = out->n;
    if (ec2_describe_tagged(c, "DescribeLaunchTemplates", "launchTemplates", lt_item, out, err) != 0) return -1;
    return out->n > from ? lt_discover_versions(c, out, from, err) : 0;
}

/* LaunchTemplateData.* for CreateLaunchTemplate(Version): the whole data,
 * never a diff, so every version stands on its own. */
static void lt_data(aws_params *p, const json_t *a) {
    aws_params_add(p, "LaunchTemplateData.ImageId", resource_attr_str(a, "image_id"));
    aws_params_add(p, "LaunchTemplateData.InstanceType", resource_attr_str(a, "instance_type"));
    add_indexed(p, "LaunchTemplateData.SecurityGroupId.%d", json_object_get(a, "security_groups"));
    aws_params_add(p, "LaunchTemplateData.MetadataOptions.HttpTokens", resource_attr_str(a, "metadata_http_tokens"));
    aws_params_add(p, "LaunchTemplateData.MetadataOptions.HttpEndpoint", "enabled");
    /* 2 hops: containers on the instance (Dify runs in docker) can reach IMDSv2. */
    aws_params_add(p, "LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit", "2");
    const char *profile = resource_attr_str(a, "iam_instance_profile");
    if (profile)
        aws_params_add(p, strncmp(profile, "arn:", 4) == 0 ? "LaunchTemplateData.IamInstanceProfile.Arn" : "LaunchTemplateData.IamInstanceProfile.Name",
                       profile);
}

static int lt_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char token[64];
    ec2_client_token(token, sizeof(token));
    aws_params p = {0};
    aws_params_add(&p, "LaunchTemplateName", resource_attr_str(a, "name"));
    aws_params_add(&p, "VersionDescription", "deploybot");
    aws_params_add(&p, "ClientToken", token);
    lt_data(&p, a);
    if (ec2_create_tagged(c, "CreateLaunchTemplate", "launch-template", &p, "launchTemplate/launchTemplateId",
                          r, err) == 0)
        return 0;
    /* Discovery found no template of the stack by that name: it is someone else's. */
    if (errinfo_is_remote(err, "InvalidLaunchTemplateName.AlreadyExistsException"))
        errinfo_prefix(err,
                       "launch template %s exists but is not deploybot's (not tagged deploybot:stack=%s): "
                       "rename or delete it",
                       resource_attr_str(a, "name"), c->stack);
    return -1;
}

static int lt_update(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                     errinfo *err) {
    (void)old;
    char token[64];
    ec2_client_token(token, sizeof(token));
    aws_params p = {0};
    aws_params_add(&p, "LaunchTemplateId", r->physical);
    aws_params_add(&p, "VersionDescription", "deploybot");
    aws_params_add(&p, "ClientToken", token);
    lt_data(&p, a);
    xml_node *doc = NULL;
    int rc = ec2_call(c, "CreateLaunchTemplateVersion", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    const char *v = xml_path_text(doc, "launchTemplateVersion/versionNumber");
    char version[32];
    snprintf(version, sizeof(version), "%s", v ? v : "");
    xml_free(doc);
    if (!version[0])
        return errinfo_set(err, ERR_REMOTE, "CreateLaunchTemplateVersion answered without versionNumber");
    aws_params m = {0};
    aws_params_add(&m, "LaunchTemplateId", r->physical);
    aws_params_add(&m, "SetDefaultVersion", version);
    rc = ec2_call(c, "ModifyLaunchTemplate", &m, NULL, err);
    aws_params_free(&m);
    return rc;
}

static int lt_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    if (ec2_call1(c, "DeleteLaunchTemplate", "LaunchTemplateId", r->physical, err) == 0) return 0;
    return errinfo_is_remote(err, "InvalidLaunchTemplateId.NotFound") ? 0 : -1;
}

static const char *const lt_force[] = {"name", NULL};
const provider provider_launch_template = {
    .type = "launch_template",
    .service = "ec2",
    .force_new = lt_force,
    .discover = lt_discover,
    .create = lt_create,
    .update = lt_update,
    .destroy = lt_destroy,
};

/* ============================================================= instance */

/* Instances that exist or are coming up: shutting-down and terminated ones
 * stay visible for an hour but are gone for the plan. */
static const char *const LIVE[] = {"pending", "running", "stopping", "stopped"};

static void instance_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    const char *state = xml_path_text(it, "instanceState/name");
    int live = 0;
    for (size_t i = 0; state && i < sizeof(LIVE) / sizeof(LIVE[0]); i++) live |= strcmp(state, LIVE[i]) == 0;
    if (!live) return; /* whatever the state filter let through */
    /* Our own record of the template; AWS's tag says the same. */
    const char *lt = provider_tag(it, "deploybot:launch_template");
    if (!lt) lt = provider_tag(it, "aws:ec2launchtemplate:id");
    json_t *a = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                          "user_data_sha256", text_or_null(provider_tag(it, "deploybot:user_data_sha256")),
                          "instance_type", text_or_null(xml_path_text(it, "instanceType")),
                          "image_id", text_or_null(xml_path_text(it, "imageId")),
                          "launch_template", text_or_null(lt),
                          "subnet", text_or_null(xml_path_text(it, "subnetId")),
                          "security_groups", texts(it, "groupSet/item", "groupId"),
                          "data_volume", text_or_null(provider_tag(it, "deploybot:data_volume")));
    ec2_add_tagged(c, it, "instance", "instanceId", a, out);
}

static int instance_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    char *token = NULL;
    do {
        aws_params p = {0};
        provider_filter_stack(&p, 1, c);
        aws_params_add(&p, "Filter.2.Name", "instance-state-name");
        for (size_t i = 0; i < sizeof(LIVE) / sizeof(LIVE[0]); i++) {
            char k[48];
            snprintf(k, sizeof(k), "Filter.2.Value.%zu", i + 1);
            aws_params_add(&p, k, LIVE[i]);
        }
        aws_params_addf(&p, "MaxResults", "%d", provider_page_size(c, 100));
        if (token) aws_params_add(&p, "NextToken", token);
        xml_node *doc = NULL;
        int rc = ec2_call(c, "DescribeInstances", &p, &doc, err);
        aws_params_free(&p);
        free(token);
        token = NULL;
        if (rc != 0) return -1;
        for (xml_node *rv = xml_path(doc, "reservationSet/item"); rv; rv = xml_next_same(rv))
            for (xml_node *it = xml_path(rv, "instancesSet/item"); it; it = xml_next_same(it))
                instance_item(c, it, out);
        const char *next = xml_path_text(doc, "nextToken");
        if (next && *next) token = strdup(next);
        xml_free(doc);
    } while (token);
    return 0;
}

/* The script for this instance: the stack's rendering (deploy/stack_compute.c)
 * with the data volume's id in place of the placeholder, base64 as
 * RunInstances wants it. */
static char *instance_user_data(const resource *r, const char *volume, errinfo *err) {
    const json_t *x = r->extra;
    const char *text = resource_attr_str(x, "user_data"), *mark = resource_attr_str(x, "volume_placeholder");
    const char *why = resource_attr_str(x, "user_data_error");
    if (why && *why) {
        errinfo_set(err, ERR_INVALID, "user-data does not render: %s", why);
        return NULL;
    }
    if (!text || !mark || !*mark) {
        errinfo_set(err, ERR_INTERNAL, "%s: no user-data in the desired resource", r->id);
        return NULL;
    }
    strbuf b = {0};
    size_t marklen = strlen(mark);
    for (const char *at; (at = strstr(text, mark)) != NULL; text = at + marklen) {
        strbuf_put(&b, text, (size_t)(at - text));
        strbuf_puts(&b, volume);
    }
    strbuf_puts(&b, text);
    char *script = strbuf_take(&b);
    size_t len = strlen(script);
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (!b64) abort();
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)script, (int)len);
    free(script);
    return b64;
}

typedef struct {
    const provider_ctx *c;
    char id[64];
    int terminating; /* waiting for "terminated" rather than "running" */
} instance_wait;

static waiter_state instance_check(void *arg, errinfo *err) {
    instance_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "InstanceId.1", w->id);
    xml_node *doc = NULL;
    int rc = ec2_call(w->c, "DescribeInstances", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) /* not found: not visible yet (launch), or long gone (terminate) */
        return errinfo_is_remote(err, "InvalidInstanceID.NotFound") ? (w->terminating ? WAITER_DONE : WAITER_RETRY)
                                                                    : WAITER_FAILED;
    const xml_node *it = xml_path(doc, "reservationSet/item/instancesSet/item");
    const char *state = it ? xml_path_text(it, "instanceState/name") : NULL;
    waiter_state st = WAITER_RETRY;
    if (!state) {
        st = w->terminating ? WAITER_DONE : WAITER_RETRY;
    } else if (w->terminating) {
        st = strcmp(state, "terminated") == 0 ? WAITER_DONE : WAITER_RETRY;
    } else if (strcmp(state, "running") == 0) {
        st = WAITER_DONE;
    } else if (strcmp(state, "pending") != 0) { /* shutting-down, terminated, stopping, stopped */
        const char *why = xml_path_text(it, "stateReason/message");
        aws_errinfo_set(err, ERR_REMOTE, "InstanceNotRunning", "instance %s is %s instead of running%s%s",
                        w->id, state, why ? ": " : "", why ? why : "");
        st = WAITER_FAILED;
    }
    xml_free(doc);
    return st;
}

static int instance_wait_for(const provider_ctx *c, const resource *r, int terminating, errinfo *err) {
    instance_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (instance_wait){.c = c, .terminating = terminating};
    snprintf(w->id, sizeof(w->id), "%s", r->physical);
    char what[200];
    snprintf(what, sizeof(what), "%s (%s) %s", r->id, r->physical, terminating ? "terminated" : "running");
    return provider_wait(c, waiter_new(what, instance_check, NULL, w, free, WAIT_S, POLL_MS), err);
}

/* Tags: the usual three, then what discovery compares (Tag.4 to Tag.6). */
static void instance_tags(aws_params *p, const provider_ctx *c, const resource *r, const json_t *a) {
    provider_tag_spec(p, "TagSpecification.1", "instance", c, r->id);
    aws_params_add(p, "TagSpecification.1.Tag.4.Key", "deploybot:user_data_sha256");
    aws_params_add(p, "TagSpecification.1.Tag.4.Value", resource_attr_str(a, "user_data_sha256"));
    aws_params_add(p, "TagSpecification.1.Tag.5.Key", "deploybot:data_volume");
    aws_params_add(p, "TagSpecification.1.Tag.5.Value", resource_attr_str(a, "data_volume"));
    aws_params_add(p, "TagSpecification.1.Tag.6.Key", "deploybot:launch_template");
    aws_params_add(p, "TagSpecification.1.Tag.6.Value", resource_attr_str(a, "launch_template"));
    /* The root volume: named, in the stack, but without deploybot:id it is
     * never a resource of the plan (it goes with its instance). */
    char name[256];
    snprintf(name, sizeof(name), "%s-%s-root", c->stack, strchr(r->id, '.') ? strchr(r->id, '.') + 1 : r->id);
    aws_params_add(p, "TagSpecification.2.ResourceType", "volume");
    aws_params_add(p, "TagSpecification.2.Tag.1.Key", "deploybot:stack");
    aws_params_add(p, "TagSpecification.2.Tag.1.Value", c->stack);
    aws_params_add(p, "TagSpecification.2.Tag.2.Key", "Name");
    aws_params_add(p, "TagSpecification.2.Tag.2.Value", name);
}

typedef struct {
    const provider_ctx *c;
    aws_params p;
    xml_node *doc;
    resource *r;
} launch_try;

static void launch_free(void *arg) {
    launch_try *t = arg;
    aws_params_free(&t->p);
    xml_free(t->doc);
    free(t);
}

/* RunInstances, again while EC2 does not know the instance profile yet: IAM
 * is eventually consistent, and a profile made seconds ago is refused as
 * "Invalid IAM Instance Profile name" for a while. The client token makes
 * the repeats safe. */
static waiter_state launch_check(void *arg, errinfo *err) {
    launch_try *t = arg;
    errinfo why;
    if (ec2_call(t->c, "RunInstances", &t->p, &t->doc, &why) == 0) return WAITER_DONE;
    int retry = errinfo_is_remote(&why, "InvalidParameterValue") && strstr(why.msg, "iamInstanceProfile");
    if (err) *err = why;
    return retry ? WAITER_RETRY : WAITER_FAILED;
}

/* The number of the template's default version. The applier launches an
 * instance only after the update of its template (a new version made the
 * default), so this is the version the plan wants. RunInstances names it by
 * number: "$Default" would be resolved later, by EC2, to whatever is the
 * default then. */
static int lt_default_number(const provider_ctx *c, const char *template_id, char out[16], errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "LaunchTemplateId", template_id);
    aws_params_add(&p, "LaunchTemplateVersion.1", "$Default");
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeLaunchTemplateVersions", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return errinfo_prefix(err, "launch template %s", template_id);
    const xml_node *v = xml_path(doc, "launchTemplateVersionSet/item");
    const char *id = v ? xml_path_text(v, "launchTemplateId") : NULL, *n = v ? xml_path_text(v, "versionNumber") : NULL;
    rc = id && n && *n && strlen(n) < 16 && strcmp(id, template_id) == 0 ? 0 : -1;
    if (rc == 0) snprintf(out, 16, "%s", n);
    xml_free(doc);
    if (rc != 0)
        return errinfo_set(err, ERR_REMOTE, "DescribeLaunchTemplateVersions answered no default version of %s",
                           template_id);
    return 0;
}

/* After RunInstances: the instance's id, then its wait until running. */
static int launched(void *arg, errinfo *err) {
    launch_try *t = arg;
    const char *id = xml_path_text(t->doc, "instancesSet/item/instanceId");
    t->r->physical = id ? strdup(id) : NULL;
    if (!t->r->physical) return errinfo_set(err, ERR_REMOTE, "RunInstances answered without instanceId");
    aws_client_created(t->c->aws, t->r->physical);
    return instance_wait_for(t->c, t->r, 0, err);
}

static int instance_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char version[16];
    if (lt_default_number(c, resource_attr_str(a, "launch_template"), version, err) != 0) return -1;
    char *user_data = instance_user_data(r, resource_attr_str(a, "data_volume"), err);
    if (!user_data) return -1;
    char token[64];
    ec2_client_token(token, sizeof(token));
    aws_params p = {0};
    aws_params_add(&p, "MinCount", "1");
    aws_params_add(&p, "MaxCount", "1");
    aws_params_add(&p, "ClientToken", token);
    aws_params_add(&p, "LaunchTemplate.LaunchTemplateId", resource_attr_str(a, "launch_template"));
    aws_params_add(&p, "LaunchTemplate.Version", version);
    /* What the plan compares is given explicitly, so the instance is what the
     * plan said even if the template's default version moves meanwhile. */
    aws_params_add(&p, "ImageId", resource_attr_str(a, "image_id"));
    aws_params_add(&p, "InstanceType", resource_attr_str(a, "instance_type"));
    aws_params_add(&p, "SubnetId", resource_attr_str(a, "subnet"));
    add_indexed(&p, "SecurityGroupId.%d", json_object_get(a, "security_groups"));
    aws_params_add(&p, "UserData", user_data);
    instance_tags(&p, c, r, a);
    free(user_data);
    launch_try *t = calloc(1, sizeof(*t));
    if (!t) abort();
    *t = (launch_try){.c = c, .p = p, .r = r};
    char what[200];
    snprintf(what, sizeof(what), "%s: RunInstances accepting the instance profile", r->id);
    return provider_wait(c, waiter_new(what, launch_check, launched, t, launch_free, PROFILE_WAIT_S, PROFILE_POLL_MS),
                         err);
}

static int instance_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    aws_params p = {0};
    aws_params_add(&p, "InstanceId.1", r->physical);
    int rc = ec2_call(c, "TerminateInstances", &p, NULL, err);
    aws_params_free(&p);
    if (rc != 0) return errinfo_is_remote(err, "InvalidInstanceID.NotFound") ? 0 : -1;
    return instance_wait_for(c, r, 1, err);
}

/* base64 as EC2 answers it into a malloc'd text; NULL when it is not base64. */
static char *base64_text(const char *b64) {
    size_t len = strlen(b64), pad = 0;
    char *out = malloc(len / 4 * 3 + 4);
    if (!out) abort();
    int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)b64, (int)len);
    while (pad < 2 && len > pad && b64[len - 1 - pad] == '=') pad++;
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    out[(size_t)n - pad] = '\0';
    return out;
}

/* The running script, for a plan that changes it: discovery reads only its
 * hash (the deploybot:user_data_sha256 tag), a call per instance. */
static int instance_detail(const provider_ctx *c, resource *r, const json_t *changed, errinfo *err) {
    if (!resource_strings_have(changed, "user_data_sha256")) return 0;
    aws_params p = {0};
    aws_params_add(&p, "InstanceId", r->physical);
    aws_params_add(&p, "Attribute", "userData");
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeInstanceAttribute", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    const char *b64 = xml_path_text(doc, "userData/value");
    char *text = base64_text(b64 ? b64 : "");
    if (text) {
        if (!r->extra) r->extra = json_object();
        json_object_set_new(r->extra, "user_data", json_string(text));
    }
    free(text);
    xml_free(doc);
    return 0;
}

/* No update: every difference replaces the instance. The attributes are
 * listed anyway, as they say what can change. */
static const char *const instance_force[] = {"user_data_sha256", "instance_type", "image_id",
                                             "launch_template", "subnet", "security_groups",
                                             "data_volume", NULL};
const provider provider_instance = {
    .type = "instance",
    .service = "ec2",
    .force_new = instance_force,
    .discover = instance_discover,
    .create = instance_create,
    .destroy = instance_destroy,
    .detail = instance_detail,
};

/* =============================================================== volume */

/* "volume.data_1" -> "volume_attachment.data_1" */
static void attachment_id(const char *volume_id, char *out, size_t len) {
    const char *dot = strchr(volume_id, '.');
    snprintf(out, len, "volume_attachment.%s", dot ? dot + 1 : volume_id);
}

static void volume_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    const char *state = xml_path_text(it, "status");
    if (state && (strcmp(state, "deleting") == 0 || strcmp(state, "deleted") == 0)) return;
    const char *size = xml_path_text(it, "size"), *enc = xml_path_text(it, "encrypted");
    json_t *a = json_pack("{s:o,s:I,s:o,s:b}",
                          "availability_zone", text_or_null(xml_path_text(it, "availabilityZone")),
                          "size", (json_int_t)(size ? atoll(size) : 0),
                          "volume_type", text_or_null(xml_path_text(it, "volumeType")),
                          "encrypted", enc && strcmp(enc, "true") == 0);
    resource *v = ec2_add_tagged(c, it, "volume", "volumeId", a, out);
    if (!v) return;
    char id[160], volume[64];
    attachment_id(v->id, id, sizeof(id));
    snprintf(volume, sizeof(volume), "%s", v->physical); /* v moves when out grows */
    for (xml_node *at = xml_path(it, "attachmentSet/item"); at; at = xml_next_same(at)) {
        const char *st = xml_path_text(at, "status"), *inst = xml_path_text(at, "instanceId");
        if (!inst || !st || (strcmp(st, "attaching") != 0 && strcmp(st, "attached") != 0)) continue;
        char phys[160];
        snprintf(phys, sizeof(phys), "%s:%s", volume, inst);
        resource_set_add(out, "volume_attachment", id, phys,
                         json_pack("{s:s,s:s,s:s}", "instance", inst, "volume", volume,
                                   "device", xml_path_text(at, "device") ?: ""));
    }
}

static int volume_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeVolumes", "volumeSet", volume_item, out, err);
}

typedef struct {
    const provider_ctx *c;
    char volume[64], instance[64];
    enum { VOLUME_AVAILABLE,
           ATTACHED,
           DETACHED } until;
} volume_wait;

/* The attachment of the volume to w->instance, or NULL. */
static const xml_node *attachment_to(const xml_node *vol, const char *instance) {
    for (xml_node *at = xml_path(vol, "attachmentSet/item"); at; at = xml_next_same(at)) {
        const char *i = xml_path_text(at, "instanceId");
        if (i && instance && strcmp(i, instance) == 0) return at;
    }
    return NULL;
}

static waiter_state volume_check(void *arg, errinfo *err) {
    volume_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "VolumeId.1", w->volume);
    xml_node *doc = NULL;
    int rc = ec2_call(w->c, "DescribeVolumes", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0)
        return errinfo_is_remote(err, "InvalidVolume.NotFound") && w->until == VOLUME_AVAILABLE ? WAITER_RETRY
                                                                                                : WAITER_FAILED;
    const xml_node *vol = xml_path(doc, "volumeSet/item");
    const char *state = vol ? xml_path_text(vol, "status") : NULL;
    const xml_node *at = vol ? attachment_to(vol, w->instance) : NULL;
    const char *ast = at ? xml_path_text(at, "status") : NULL;
    waiter_state st = WAITER_RETRY;
    if (state && (strcmp(state, "error") == 0 || strcmp(state, "deleting") == 0 || strcmp(state, "deleted") == 0)) {
        aws_errinfo_set(err, ERR_REMOTE, "VolumeUnusable", "volume %s is %s", w->volume, state);
        st = WAITER_FAILED;
    } else if (w->until == VOLUME_AVAILABLE) {
        st = state && strcmp(state, "available") == 0 ? WAITER_DONE : WAITER_RETRY;
    } else if (w->until == DETACHED) {
        st = !at ? WAITER_DONE : WAITER_RETRY;
    } else if (ast && strcmp(ast, "attached") == 0) {
        st = WAITER_DONE;
    } else if (!ast || strcmp(ast, "attaching") != 0) {
        aws_errinfo_set(err, ERR_REMOTE, "VolumeNotAttached", "volume %s is %s instead of attached to %s",
                        w->volume, ast ? ast : "not attached", w->instance);
        st = WAITER_FAILED;
    }
    xml_free(doc);
    return st;
}

static int volume_wait_for(const provider_ctx *c, const char *what, const char *volume,
                           const char *instance, int until, errinfo *err) {
    volume_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (volume_wait){.c = c, .until = until};
    snprintf(w->volume, sizeof(w->volume), "%s", volume);
    snprintf(w->instance, sizeof(w->instance), "%s", instance ? instance : "");
    return provider_wait(c, waiter_new(what, volume_check, NULL, w, free, WAIT_S, POLL_MS), err);
}

static int volume_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char token[64];
    ec2_client_token(token, sizeof(token));
    aws_params p = {0};
    aws_params_add(&p, "AvailabilityZone", resource_attr_str(a, "availability_zone"));
    aws_params_addf(&p, "Size", "%lld", (long long)json_integer_value(json_object_get(a, "size")));
    aws_params_add(&p, "VolumeType", resource_attr_str(a, "volume_type"));
    aws_params_add(&p, "Encrypted", json_is_true(json_object_get(a, "encrypted")) ? "true" : "false");
    aws_params_add(&p, "ClientToken", token);
    if (ec2_create_tagged(c, "CreateVolume", "volume", &p, "volumeId", r, err)) return -1;
    char what[200];
    snprintf(what, sizeof(what), "%s (%s) available", r->id, r->physical);
    return volume_wait_for(c, what, r->physical, NULL, VOLUME_AVAILABLE, err);
}

/* EBS cannot shrink a volume (ModifyVolume: "New size cannot be smaller
 * than existing size"), and deploybot never trades its data for a number. */
static int volume_shrinks(const resource *r, const json_t *old, const json_t *a, errinfo *err) {
    json_int_t have = json_integer_value(json_object_get(old, "size"));
    json_int_t want = json_integer_value(json_object_get(a, "size"));
    if (want >= have) return 0;
    return errinfo_set(err, ERR_INVALID,
                       "refusing to shrink %s from %lld GiB to %lld GiB (data_volume_size): "
                       "EBS cannot shrink a volume. Keep data_volume_size at %lld or more (its data lives on "
                       "it); to start over with an empty volume, take the instance out (instance_count) and "
                       "back in.",
                       r->physical, (long long)have, (long long)want, (long long)have);
}

static int volume_plan_check(const provider_ctx *c, const resource *d, const resource *actual, errinfo *err) {
    (void)c;
    return actual ? volume_shrinks(actual, actual->attrs, d->attrs, err) : 0;
}

static int volume_update(const provider_ctx *c, const resource *r, const json_t *old, const json_t *a,
                         errinfo *err) {
    json_int_t have = json_integer_value(json_object_get(old, "size"));
    json_int_t want = json_integer_value(json_object_get(a, "size"));
    if (volume_shrinks(r, old, a, err) != 0) return -1; /* the plan refused it already */
    aws_params p = {0};
    aws_params_add(&p, "VolumeId", r->physical);
    if (want != have) aws_params_addf(&p, "Size", "%lld", (long long)want);
    if (!json_equal(json_object_get(old, "volume_type"), json_object_get(a, "volume_type")))
        aws_params_add(&p, "VolumeType", resource_attr_str(a, "volume_type"));
    int rc = ec2_call(c, "ModifyVolume", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int volume_delete(const provider_ctx *c, const char *volume, errinfo *err) {
    if (ec2_call1(c, "DeleteVolume", "VolumeId", volume, err) == 0) return 0;
    return errinfo_is_remote(err, "InvalidVolume.NotFound") ? 0 : -1;
}

static int volume_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    if (!c->final_snapshot) return volume_delete(c, r->physical, err);
    int rc = ec2_final_snapshot(c, r, volume_delete, err);
    return rc < 0 && errinfo_is_remote(err, "InvalidVolume.NotFound") ? 0 : rc;
}

/* A volume cannot change zone or encryption; size and type change in place. */
static const char *const volume_force[] = {"availability_zone", "encrypted", NULL};
const provider provider_volume = {
    .type = "volume",
    .service = "ec2",
    .force_new = volume_force,
    .discover = volume_discover,
    .create = volume_create,
    .update = volume_update,
    .destroy = volume_destroy,
    .check = volume_plan_check,
};

/* ===================================================== volume attachment */

static int attachment_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    (void)c, (void)out, (void)err; /* volume_discover reports attachments with their volumes */
    return 0;
}

static int attachment_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "VolumeId", resource_attr_str(a, "volume"));
    aws_params_add(&p, "InstanceId", resource_attr_str(a, "instance"));
    aws_params_add(&p, "Device", resource_attr_str(a, "device"));
    int rc = ec2_call(c, "AttachVolume", &p, NULL, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    char phys[160], what[300];
    snprintf(phys, sizeof(phys), "%s:%s", resource_attr_str(a, "volume"), resource_attr_str(a, "instance"));
    r->physical = strdup(phys);
    snprintf(what, sizeof(what), "%s (%s) attached", r->id, phys);
    return volume_wait_for(c, what, resource_attr_str(a, "volume"), resource_attr_str(a, "instance"), ATTACHED, err);
}

static int attachment_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "VolumeId", resource_attr_str(old, "volume"));
    aws_params_add(&p, "InstanceId", resource_attr_str(old, "instance"));
    if (resource_attr_str(old, "device") && *resource_attr_str(old, "device")) aws_params_add(&p, "Device", resource_attr_str(old, "device"));
    int rc = ec2_call(c, "DetachVolume", &p, NULL, err);
    aws_params_free(&p);
    if (rc != 0 && errinfo_is_remote(err, "InvalidVolume.NotFound")) return 0;
    /* IncorrectState: already detaching (or detached): wait for it all the same. */
    if (rc != 0 && !errinfo_is_remote(err, "IncorrectState") && !errinfo_is_remote(err, "InvalidAttachment.NotFound")) return -1;
    char what[300];
    snprintf(what, sizeof(what), "%s (%s) detached", r->id, r->physical);
    return volume_wait_for(c, what, resource_attr_str(old, "volume"), resource_attr_str(old, "instance"), DETACHED, err);
}

static const char *const attachment_force[] = {"instance", "volume", "device", NULL};
const provider provider_volume_attachment = {
    .type = "volume_attachment",
    .service = "ec2",
    .force_new = attachment_force,
    .discover = attachment_discover,
    .create = attachment_create,
    .destroy = attachment_destroy,
};
