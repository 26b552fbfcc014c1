/* discover: finds what of a stack exists, every provider's Describe/List
 * calls at once instead of one after another.
 *
 * Each provider's discover runs on a worker of its AWS service (each worker
 * with its own AWS client, a clone: connections are kept per worker); a
 * service has at most `per_service` workers, so at most that many of its
 * calls are in flight, and they take its providers in provider_all() order.
 * A provider that needs what another found (a NAT gateway's internet
 * gateway, a listener's load balancer) asks provider_discovered, which waits
 * for that one provider only. Ownership is decided as before, by each
 * provider from the answers (provider.h). */
#ifndef DEPLOYBOT_DEPLOY_PROVIDERS_DISCOVER_H
#define DEPLOYBOT_DEPLOY_PROVIDERS_DISCOVER_H

#include "deploy/providers/provider.h"

/* The default and the largest per_service. */
#define DISCOVER_PER_SERVICE 16
#define DISCOVER_PER_SERVICE_MAX 32

/* Adds every resource found to out, in provider_all() order whatever
 * finished first (so a plan reads the same every time). per_service 0: the
 * default. c->aws's request count grows by the clones' requests. Returns 0,
 * or -1 with err the failure of the first provider (in that order) that
 * failed, then out holds nothing new. */
int discover_all(const provider_ctx *c, int per_service, resource_set *out, errinfo *err);

#endif
