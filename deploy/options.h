/* options: how the engine behaves, decided once at start and passed down
 * (envrun_request carries it; NULL means every default). Zero fields take
 * the defaults. */
#ifndef DEPLOYBOT_DEPLOY_OPTIONS_H
#define DEPLOYBOT_DEPLOY_OPTIONS_H

#include "deploy/aws/options.h"

typedef struct {
    aws_options aws;
    int apply_parallelism;     /* AWS operations in flight during an apply; 0: 4, at most 16 */
    int discovery_parallelism; /* a plan's discovery calls in flight per AWS service;
                                  0: DISCOVER_PER_SERVICE (deploy/providers/discover.h) */
    int plan_list_items;       /* items a plan shows of a list; 0: PLAN_RENDER_LIST_ITEMS (deploy/plan_render.h) */
} deploy_options;

#endif
