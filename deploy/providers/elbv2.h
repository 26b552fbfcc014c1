/* elbv2: the load balancing layer (Elastic Load Balancing v2, Query API
 * 2015-12-01) — providers load_balancer, target_group, listener and
 * target_registration in elbv2.c — and the calls route53.c needs to point a
 * DNS alias at the load balancer. */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_ELBV2_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_ELBV2_H

#include "deploy/providers/provider.h"

/* One ELBv2 action; *out may be NULL when the caller needs no answer. */
int elbv2_call(const provider_ctx *c, const char *action, const aws_params *p,
               xml_node **out, errinfo *err);

/* What a DNS alias to a load balancer needs. */
typedef struct {
    char name[64];
    char dns_name[256];
    char zone_id[64]; /* the canonical hosted zone of the region's ALBs */
} elbv2_lb;

/* Describes the load balancer `arn` (LoadBalancerNotFound when it is gone). */
int elbv2_lb_describe(const provider_ctx *c, const char *arn, elbv2_lb *out, errinfo *err);

/* Sets tag key=value on `arn`, or removes the key when value is NULL. */
int elbv2_lb_tag(const provider_ctx *c, const char *arn, const char *key, const char *value,
                 errinfo *err);

#endif
