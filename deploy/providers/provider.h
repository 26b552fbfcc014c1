/* provider: how one resource type is discovered, created, updated and
 * destroyed in AWS. Providers live one file per AWS concept area
 * (ec2_network.c, ec2_compute.c, elbv2.c, iam.c, route53.c ...), each
 * exporting its provider tables; the planner and applier only see this
 * interface. Errors are AWS's (deploy/aws/aws.h says how they read). */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_PROVIDER_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_PROVIDER_H

#include "deploy/aws/aws.h"
#include "deploy/aws/waiter.h"
#include "deploy/providers/resource.h"

/* What a discovery has found so far (deploy/providers/discover.h). */
typedef struct discover_task discover_task;

typedef struct {
    aws_client *aws;
    const char *stack;         /* environment name: value of the deploybot:stack tag */
    int page_size;             /* aws_options.page_size: 0, each API's largest */
    int discovery_parallelism; /* deploy_options': 0, discover.h's default */
    /* Set by the applier for one destroy the plan marked (deploy/safeguard.h):
     * the resource's data is kept in a completed snapshot before it goes. */
    int final_snapshot;
    /* Answers of read-only calls kept while one plan is checked, so that a
     * check asks once what every resource's check needs (plan_check sets
     * it); keyed by "<service>:<action>". NULL: nothing is kept. */
    json_t *memo;
    /* Set by discover_all for the provider's discover it runs: how it sees
     * what the providers before it found (provider_discovered). */
    const discover_task *discovering;
    /* Set by the applier: where a create, update or destroy that must wait
     * for AWS leaves its wait (provider_wait) and returns PROVIDER_WAITING,
     * so that no thread is held meanwhile. NULL: waits end within the call. */
    waiter **wait;
} provider_ctx;

/* What a create, update or destroy (or a waiter's then) returns when it left
 * the rest of its work in *c->wait. */
#define PROVIDER_WAITING 1

/* Ownership. A resource is the stack's, and so may ever be changed or
 * deleted, only when AWS's answer itself proves it; the filters a request
 * carried (tag:, PathPrefix, Names ...) are hints that some implementations
 * of the APIs ignore. Each provider file's header says how its answers prove
 * it; what lies inside an owned resource (a group's rules, an ACL's entries,
 * a table's routes, a balancer's listeners) is the stack's through it. */

/* A provider table names its members (designated initializers): the
 * optional ones are left out. */
typedef struct provider {
    const char *type;
    /* The signing name of its AWS service ("ec2", "elasticloadbalancing",
     * "iam", "route53"): discovery bounds the calls in flight per service. */
    const char *service;
    /* Attributes whose change cannot be applied in place (NULL-terminated). */
    const char *const *force_new;
    /* Attributes whose change replaces the resource only when it has a value
     * for them already: giving it one is done in place (NULL-terminated;
     * optional). */
    const char *const *force_new_if_set;
    /* Adds every resource of this type the answers prove is the stack's to
     * out, with one batched Describe call per page. Runs beside the other
     * providers' (discover.h): `out` is its own, and what an earlier provider
     * found is read through provider_discovered only. */
    int (*discover)(const provider_ctx *c, resource_set *out, errinfo *err);
    /* create, update and destroy return 0, -1 with err, or PROVIDER_WAITING
     * (provider_wait). */
    /* `attrs` are resolved (physical ids). Sets r->physical. */
    int (*create)(const provider_ctx *c, resource *r, const json_t *attrs, errinfo *err);
    /* In-place change from `actual` (resolved attrs + extra) to `desired` (resolved). */
    int (*update)(const provider_ctx *c, const resource *actual, const json_t *actual_attrs,
                  const json_t *desired, errinfo *err);
    /* `attrs` are the resource's discovered attrs, resolved. */
    int (*destroy)(const provider_ctx *c, const resource *actual, const json_t *attrs,
                   errinfo *err);
    /* Optional. At plan time, before anything changes: refuses what AWS
     * would refuse when the plan is applied, for a resource to be created
     * (actual NULL, also when it replaces one) or updated in place (actual:
     * what exists). desired's attrs are not resolved
     * (references read {"ref": id}). May call AWS, to read only. Returns 0,
     * or -1 with err: ERR_INVALID when the change would be refused (the
     * message names the resource and the values; remote holds AWS's code
     * when an answer said so), any other code when it could not check. */
    int (*check)(const provider_ctx *c, const resource *desired, const resource *actual,
                 errinfo *err);
    /* Optional. For a resource the plan changes (`changed`: the names of the
     * attributes that differ): reads into actual->extra what shows the
     * change to a person and discovery does not read, to read only (the
     * instance's user-data, as "user_data": only its hash is compared). */
    int (*detail)(const provider_ctx *c, resource *actual, const json_t *changed, errinfo *err);
} provider;

/* NULL-terminated list of every provider, in a stable order. */
const provider *const *provider_all(void);
const provider *provider_find(const char *type);

/* For a discover: everything the provider of `type` found, once it is done
 * (waiting for it if needed, so a lookup starts as soon as its input is
 * there). `type` must come before the caller's in provider_all(), which
 * keeps the waits from going round in a circle; a later or unknown type, or
 * a call outside discover_all, finds an empty set. Never NULL; read-only,
 * valid until the discovery ends. */
const resource_set *provider_discovered(const provider_ctx *c, const char *type);

/* The page size for an API whose pages hold at most `max` items. */
int provider_page_size(const provider_ctx *c, int max);

/* ---- creating with tags: what every provider's create shares ---- */

/* One Query action of a service (ec2_call, elbv2_call ...). */
typedef int (*provider_call_fn)(const provider_ctx *c, const char *action, const aws_params *p,
                                xml_node **out, errinfo *err);

/* The tags of everything deploybot makes: deploybot:stack, deploybot:id and,
 * when with_name, Name ("<stack>-<x>" for logical id "<type>.<x>"), as the
 * parameters <prefix>.<n>.Key / <prefix>.<n>.Value for n = 1, 2, ... */
void provider_tags(aws_params *p, const char *prefix, const provider_ctx *c,
                   const char *logical_id, int with_name);

/* EC2's form: <spec>.ResourceType and the three tags under <spec>.Tag. */
void provider_tag_spec(aws_params *p, const char *spec, const char *resource_type,
                       const provider_ctx *c, const char *logical_id);

/* Calls `action` with p (then freed) and sets r->physical to the text at
 * id_path in the answer; an answer without it is an error. */
int provider_create(const provider_ctx *c, provider_call_fn call, const char *action,
                    aws_params *p, const char *id_path, resource *r, errinfo *err);

/* The logical id when a resource's tags prove it is the stack's: its
 * deploybot:stack tag (stack_tag) is c->stack and its deploybot:id tag
 * (id_tag) is set. NULL: not ours, whoever made it. */
const char *provider_owned(const provider_ctx *c, const char *stack_tag, const char *id_tag);

/* The end of an operation that waits for AWS: w is handed to the applier
 * (c->wait: PROVIDER_WAITING) or run at once (waiter_run). w's state must
 * not borrow from the call's attrs: they are freed before it runs. */
int provider_wait(const provider_ctx *c, waiter *w, errinfo *err);

/* ---- checks at plan time ---- */

/* For a check whose AWS call failed: when AWS answered `remote` (the thing
 * named does not exist), err becomes a refusal (ERR_INVALID) reading
 * "<formatted>: <remote>: <AWS's message>"; any other failure is left as it
 * is (the check could not be made). Returns -1. */
int provider_refusal(errinfo *err, const char *remote, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- EC2's tag filters ---- */

/* Filter.<index> tag:deploybot:stack=<stack>: a hint that saves traffic; the
 * answer is checked all the same (ec2_owned). */
void provider_filter_stack(aws_params *p, int index, const provider_ctx *c);
/* Value of tag `key` in an EC2 tagSet node, or NULL. */
const char *provider_tag(const xml_node *item, const char *key);

#endif
