/* ec2_nat: providers for Elastic IPs ("eip") and NAT gateways ("nat_gateway").
 *
 * A NAT gateway is asynchronous: create waits until it is available and
 * destroy until it is deleted, like AWS's nat_gateway_available and
 * nat_gateway_deleted waiters (every 15 s, 40 times), because a gateway
 * still coming up fails the instances behind it, and its Elastic IP can only
 * be released once it is deleted. Deleted and failed gateways stay visible
 * in DescribeNatGateways for about an hour: discovery ignores them, so a
 * failed one is simply created again by the next apply.
 *
 * Ownership: addresses and gateways are the stack's when their tags prove
 * it (ec2_owned), whatever the Describe's tag filter returned; a gateway's
 * state is read from the answer too. */
#include "deploy/providers/ec2.h"
#include "deploy/aws/waiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAT_WAIT_S = 15 * 40,
       NAT_POLL_MS = 15000 };
/* Right after its gateway is deleted an address can still read as in use
 * for a little while: retry the release for up to this long. */
enum { RELEASE_WAIT_S = 120,
       RELEASE_POLL_MS = 5000 };

/* ---- Elastic IP ---- */

static int eip_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    /* DescribeAddresses is not paginated: one call answers everything. */
    aws_params p = {0};
    provider_filter_stack(&p, 1, c);
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeAddresses", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    for (xml_node *it = xml_path(doc, "addressesSet/item"); it; it = xml_next_same(it))
        ec2_add_tagged(c, it, "eip", "allocationId",
                       json_pack("{s:s}", "domain", xml_path_text(it, "domain") ?: ""), out);
    xml_free(doc);
    return 0;
}

static int eip_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Domain", resource_attr_str(a, "domain"));
    return ec2_create_tagged(c, "AllocateAddress", "elastic-ip", &p, "allocationId", r, err);
}

typedef struct {
    const provider_ctx *c;
    char id[64];
} release_arg;

static waiter_state release_try(void *arg, errinfo *err) {
    release_arg *a = arg;
    if (ec2_call1(a->c, "ReleaseAddress", "AllocationId", a->id, err) == 0) return WAITER_DONE;
    if (errinfo_is_remote(err, "InvalidAllocationID.NotFound")) return WAITER_DONE; /* already released */
    return errinfo_is_remote(err, "InvalidIPAddress.InUse") ? WAITER_RETRY : WAITER_FAILED;
}

static int eip_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    release_arg *a = calloc(1, sizeof(*a));
    if (!a) abort();
    a->c = c;
    snprintf(a->id, sizeof(a->id), "%s", r->physical);
    char what[300];
    snprintf(what, sizeof(what),
             "Elastic IP %s (%s) released, refused while in use (by something deploybot "
             "does not manage?)",
             r->id, r->physical);
    return provider_wait(c, waiter_new(what, release_try, NULL, a, free, RELEASE_WAIT_S, RELEASE_POLL_MS), err);
}

static const char *const eip_force[] = {"domain", NULL};
const provider provider_eip = {
    .type = "eip",
    .service = "ec2",
    .force_new = eip_force,
    .discover = eip_discover,
    .create = eip_create,
    .destroy = eip_destroy,
};

/* ---- NAT gateway ---- */

/* The internet gateway attached to `vpc` among those discovered (provider.c
 * lists internet gateways first), or NULL. */
static const char *igw_of(const resource_set *found, const char *vpc) {
    for (size_t i = 0; vpc && i < found->n; i++) {
        const resource *r = &found->items[i];
        const char *attached = resource_attr_str(r->attrs, "vpc");
        if (strcmp(r->type, "internet_gateway") == 0 && attached && strcmp(attached, vpc) == 0)
            return r->physical;
    }
    return NULL;
}

static void nat_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    const char *state = xml_path_text(it, "state");
    if (!state || strcmp(state, "deleting") == 0 || strcmp(state, "deleted") == 0 ||
        strcmp(state, "failed") == 0)
        return; /* on its way out, or never came up: as good as absent */
    const char *alloc = xml_path_text(it, "natGatewayAddressSet/item/allocationId");
    const char *igw = igw_of(provider_discovered(c, "internet_gateway"), xml_path_text(it, "vpcId"));
    json_t *a = json_pack("{s:s}", "subnet", xml_path_text(it, "subnetId") ?: "");
    json_object_set_new(a, "allocation", alloc ? json_string(alloc) : json_null());
    json_object_set_new(a, "internet_gateway", igw ? json_string(igw) : json_null());
    ec2_add_tagged(c, it, "nat_gateway", "natGatewayId", a, out);
}

static int nat_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeNatGateways", "natGatewaySet", nat_item, out, err);
}

typedef struct {
    const provider_ctx *c;
    char id[64];
    int deleting; /* waiting for "deleted" rather than "available" */
} nat_wait;

static waiter_state nat_check(void *arg, errinfo *err) {
    nat_wait *w = arg;
    aws_params p = {0};
    aws_params_add(&p, "NatGatewayId.1", w->id);
    xml_node *doc = NULL;
    int rc = ec2_call(w->c, "DescribeNatGateways", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) /* not found: not visible yet (create), or long gone (delete) */
        return errinfo_is_remote(err, "NatGatewayNotFound") ? (w->deleting ? WAITER_DONE : WAITER_RETRY)
                                                            : WAITER_FAILED;
    const xml_node *it = xml_path(doc, "natGatewaySet/item");
    const char *state = it ? xml_path_text(it, "state") : NULL;
    waiter_state st = WAITER_RETRY;
    if (!state) {
        st = w->deleting ? WAITER_DONE : WAITER_RETRY;
    } else if (w->deleting) {
        st = strcmp(state, "deleted") == 0 ? WAITER_DONE : WAITER_RETRY;
    } else if (strcmp(state, "available") == 0) {
        st = WAITER_DONE;
    } else if (strcmp(state, "pending") != 0) { /* failed, deleting, deleted */
        const char *code = xml_path_text(it, "failureCode"), *msg = xml_path_text(it, "failureMessage");
        aws_errinfo_set(err, ERR_REMOTE, strcmp(state, "failed") == 0 ? "NatGatewayFailed" : "NatGatewayDeleted",
                        "NAT gateway %s is %s%s%s%s%s", w->id, state, code ? ": " : "", code ? code : "",
                        msg ? ": " : "", msg ? msg : "");
        st = WAITER_FAILED;
    }
    xml_free(doc);
    return st;
}

static int nat_wait_for(const provider_ctx *c, const resource *r, int deleting, errinfo *err) {
    nat_wait *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (nat_wait){.c = c, .deleting = deleting};
    snprintf(w->id, sizeof(w->id), "%s", r->physical);
    char what[160];
    snprintf(what, sizeof(what), "NAT gateway %s (%s) %s", r->id, r->physical,
             deleting ? "deleted" : "available");
    return provider_wait(c, waiter_new(what, nat_check, NULL, w, free, NAT_WAIT_S, NAT_POLL_MS), err);
}

static int nat_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    char token[64];
    ec2_client_token(token, sizeof(token));
    aws_params p = {0};
    aws_params_add(&p, "SubnetId", resource_attr_str(a, "subnet"));
    aws_params_add(&p, "AllocationId", resource_attr_str(a, "allocation"));
    aws_params_add(&p, "ClientToken", token);
    if (ec2_create_tagged(c, "CreateNatGateway", "natgateway", &p, "natGateway/natGatewayId", r, err))
        return -1;
    return nat_wait_for(c, r, 0, err);
}

static int nat_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    if (ec2_call1(c, "DeleteNatGateway", "NatGatewayId", r->physical, err) != 0 &&
        !errinfo_is_remote(err, "NatGatewayNotFound"))
        return -1;
    return nat_wait_for(c, r, 1, err);
}

/* A NAT gateway cannot move or change its address: every change replaces it. */
static const char *const nat_force[] = {"subnet", "allocation", "internet_gateway", NULL};
const provider provider_nat_gateway = {
    .type = "nat_gateway",
    .service = "ec2",
    .force_new = nat_force,
    .discover = nat_discover,
    .create = nat_create,
    .destroy = nat_destroy,
};
