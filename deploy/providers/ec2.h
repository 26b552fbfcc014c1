/* ec2: small helpers shared by the EC2 providers (Query API 2016-11-15),
 * implemented in provider.c. */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_EC2_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_EC2_H

#include "deploy/providers/provider.h"

/* One EC2 action; *out may be NULL when the caller needs no answer. */
int ec2_call(const provider_ctx *c, const char *action, const aws_params *p,
             xml_node **out, errinfo *err);
/* Simple action with one parameter. */
int ec2_call1(const provider_ctx *c, const char *action, const char *key,
              const char *value, errinfo *err);

/* Creates r with `action`: p (then freed) plus the TagSpecification for
 * EC2 resource type `tag_type`; r->physical is the answer's text at id_path. */
int ec2_create_tagged(const provider_ctx *c, const char *action, const char *tag_type,
                      aws_params *p, const char *id_path, resource *r, errinfo *err);

/* An idempotency token (ClientToken) for one create: a call that the client
 * retries (lost answer, 5xx) returns what the first one made instead of a
 * second one. len >= 43 holds all of it. */
void ec2_client_token(char *out, size_t len);

/* The logical id when the tagSet of `item` proves it is the stack's
 * (provider_owned), else NULL. */
const char *ec2_owned(const provider_ctx *c, const xml_node *item);

typedef void (*ec2_item_fn)(const provider_ctx *c, const xml_node *item, resource_set *out);

/* Describe every resource tagged deploybot:stack=<stack>, following
 * NextToken; calls fn for each <item> under `set` (every item the answer
 * holds: fn adds only what ec2_add_tagged accepts). */
int ec2_describe_tagged(const provider_ctx *c, const char *action, const char *set,
                        ec2_item_fn fn, resource_set *out, errinfo *err);

/* Adds the resource found in `item` when its tags prove it is the stack's
 * (ec2_owned); else frees attrs and returns NULL. */
resource *ec2_add_tagged(const provider_ctx *c, const xml_node *item, const char *type,
                         const char *id_field, json_t *attrs, resource_set *out);

/* ec2_add_tagged for a route table or network ACL: attrs gets "vpc" and
 * "subnets" (the associated subnets), extra {"associations": {subnet:
 * association id (the association's `assoc_field`)}}. */
resource *ec2_add_associated(const provider_ctx *c, const xml_node *item, const char *type,
                             const char *id_field, const char *assoc_field, json_t *attrs,
                             resource_set *out);

/* ec2_snapshot.c: snapshots data volume `volume` (tagged with the stack, its
 * logical id, the volume id and the time) and waits until the snapshot is
 * completed, or resumes waiting on such a snapshot still pending; then
 * calls next (may be NULL) with the volume's id. Returns as a provider's
 * create does: 0, -1 or PROVIDER_WAITING (provider_wait). */
typedef int (*ec2_volume_next)(const provider_ctx *c, const char *volume, errinfo *err);
int ec2_final_snapshot(const provider_ctx *c, const resource *volume, ec2_volume_next next, errinfo *err);

#endif
