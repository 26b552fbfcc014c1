/* provider: how one resource type is discovered, created, updated and
 * destroyed in AWS. Providers live one per AWS concept area (ec2_network.c,
 * ...); the planner and applier only see this table. */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_PROVIDER_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_PROVIDER_H

#include "deploy/aws/aws.h"
#include "deploy/providers/resource.h"

typedef struct {
    aws_client *aws;
    const char *stack;   /* environment name: value of the deploybot:stack tag */
} provider_ctx;

typedef struct provider {
    const char *type;
    /* Attributes whose change cannot be applied in place (NULL-terminated). */
    const char *const *force_new;
    /* Adds every resource of this type tagged deploybot:stack=<stack> to out,
     * with one batched Describe call per page. */
    int (*discover)(const provider_ctx *c, resource_set *out, aws_error *err);
    /* `attrs` are resolved (physical ids). Sets r->physical. */
    int (*create)(const provider_ctx *c, resource *r, const json_t *attrs, aws_error *err);
    /* In-place change from `actual` (resolved attrs + extra) to `desired` (resolved). */
    int (*update)(const provider_ctx *c, const resource *actual, const json_t *actual_attrs,
                  const json_t *desired, aws_error *err);
    /* `attrs` are the resource's discovered attrs, resolved. */
    int (*destroy)(const provider_ctx *c, const resource *actual, const json_t *attrs,
                   aws_error *err);
} provider;

/* NULL-terminated list of every provider, in a stable order. */
const provider *const *provider_all(void);
const provider *provider_find(const char *type);

/* Shared helpers for providers of EC2-tagged resources. */
void provider_tag_spec(aws_params *p, const char *prefix, const char *resource_type,
                       const provider_ctx *c, const char *logical_id);
void provider_filter_stack(aws_params *p, int index, const provider_ctx *c);
/* Value of tag `key` in an EC2 tagSet node, or NULL. */
const char *provider_tag(const xml_node *item, const char *key);

#endif
