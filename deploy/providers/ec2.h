/* ec2: small helpers shared by the EC2 providers (Query API 2016-11-15). */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_EC2_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_EC2_H

#include "deploy/providers/provider.h"

/* One EC2 action; *out may be NULL when the caller needs no answer. */
int ec2_call(const provider_ctx *c, const char *action, const aws_params *p,
             xml_node **out, aws_error *err);
/* Simple action with one parameter. */
int ec2_call1(const provider_ctx *c, const char *action, const char *key,
              const char *value, aws_error *err);

typedef void (*ec2_item_fn)(const provider_ctx *c, const xml_node *item, resource_set *out);

/* Describe every resource tagged deploybot:stack=<stack>, following
 * NextToken; calls fn for each <item> under `set`. */
int ec2_describe_tagged(const provider_ctx *c, const char *action, const char *set,
                        ec2_item_fn fn, resource_set *out, aws_error *err);

/* Adds the resource found in `item` when it carries a deploybot:id tag. */
resource *ec2_add_tagged(const provider_ctx *c, const xml_node *item, const char *type,
                         const char *id_field, json_t *attrs, resource_set *out);

#endif
