/* stack_layers: the builders of the stack's layers beyond the core network
 * (deploy/stack.c), one file each; stack_resources() calls them in order.
 * Each adds the resources its layer wants to `out`, referring to resources
 * of earlier layers by logical id. */
#ifndef DEPLOYBOT_DEPLOY_STACK_LAYERS_H
#define DEPLOYBOT_DEPLOY_STACK_LAYERS_H

#include "deploy/stack.h"

/* stack_network_extra.c: with enable_nat_gateway, an Elastic IP and a NAT
 * gateway per zone (eip.nat_<z>, nat_gateway.<z>, z = a, b, ...; the private
 * route tables of stack.c route through them); with enable_network_acls,
 * network_acl.public and network_acl.private with their rules and subnets. */
void stack_network_extra_resources(const stack *s, resource_set *out);

/* The public network ACL has 2 inbound rules per office CIDR plus 2, and AWS
 * allows 20 per direction by default: stack.json is refused beyond this. */
#define STACK_NACL_MAX_OFFICE_CIDRS 9

/* stack_compute.c (nothing when instance_count is 0): launch_template.app, then for i = 1..instance_count
 * volume.data_<i> (gp3, encrypted, data_volume_size GiB), instance.app_<i>
 * (round-robin over the private subnets: 1 in the first zone, 2 in the
 * second ...; its data volume in its zone) and volume_attachment.data_<i>
 * (the volume at /dev/xvdf). The launch template names instance_profile.main
 * only when an earlier layer added it. */
void stack_compute_resources(const stack *s, resource_set *out);

/* The AMI used when stack.json has no ami_id, for regions deploybot knows
 * one for; NULL otherwise (stack.json must then name one). */
const char *stack_default_ami(const char *region);

/* stack_edge.c: iam_role.app (trusted by EC2, AmazonSSMManagedInstanceCore)
 * and instance_profile.main; load_balancer.main (internet-facing ALB in the
 * public subnets, security_group.alb), target_group.app (HTTP:80, health
 * check /apps -> 200), listener.http (forward; with certificate_arn a
 * redirect to listener.https, HTTPS:443 forwarding), target_registration
 * .app_<i> of instance.app_<i> for i = 1..instance_count, and with zone_id
 * and record_name dns_record.main, an alias A record to the load balancer.
 * Comes before stack_compute_resources, which looks up instance_profile.main. */
void stack_edge_resources(const stack *s, resource_set *out);

#endif
