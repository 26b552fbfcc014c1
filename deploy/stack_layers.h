/* stack_layers: the resources a stack wants (its desired graph), built
 * layer by layer, one file each. Each layer adds what it wants to `out`,
 * referring to resources of earlier layers by logical id.
 *
 * The dependency goes one way: the layers read the stack model
 * (deploy/stack.h: stack_region, stack_default_ami, the user-data) and
 * stack_resources() calls the layers; the model knows nothing of them. */
#ifndef DEPLOYBOT_DEPLOY_STACK_LAYERS_H
#define DEPLOYBOT_DEPLOY_STACK_LAYERS_H

#include "deploy/stack.h"
#include "deploy/providers/resource.h"

/* Every resource the stack wants, with references between them: the layers
 * below in this order (stack_layers.c). */
void stack_resources(const stack *s, resource_set *out);

/* stack_network.c: vpc.main, internet_gateway.main, subnet.public_<z> and
 * subnet.private_<z> (z = a, b, ... one per zone), route_table.public
 * (through the internet gateway) and route_table.private_<z>, and
 * security_group.alb (HTTP/HTTPS from office_cidrs) and security_group.app
 * (HTTP from the load balancer's group). */
void stack_network_resources(const stack *s, resource_set *out);

/* stack_network_extra.c: with enable_nat_gateway, an Elastic IP and a NAT
 * gateway per zone (eip.nat_<z>, nat_gateway.<z>; the private route tables
 * of stack_network.c route through them); with enable_network_acls,
 * network_acl.public and network_acl.private with their rules and subnets. */
void stack_network_extra_resources(const stack *s, resource_set *out);

/* stack_edge.c: iam_role.app (trusted by EC2, AmazonSSMManagedInstanceCore)
 * and instance_profile.main; load_balancer.main (internet-facing ALB in the
 * public subnets, security_group.alb), target_group.app (HTTP:80, health
 * check /apps -> 200), listener.http (forward; with certificate_arn a
 * redirect to listener.https, HTTPS:443 forwarding), target_registration
 * .app_<i> of instance.app_<i> for i = 1..instance_count, and with zone_id
 * and record_name dns_record.main, an alias A record to the load balancer.
 * Comes before stack_compute_resources, which looks up instance_profile.main. */
void stack_edge_resources(const stack *s, resource_set *out);

/* stack_compute.c (nothing when instance_count is 0): launch_template.app,
 * then for i = 1..instance_count volume.data_<i> (gp3, encrypted,
 * data_volume_size GiB), instance.app_<i> (round-robin over the private
 * subnets: 1 in the first zone, 2 in the second ...; its data volume in its
 * zone) and volume_attachment.data_<i> (the volume at STACK_DATA_DEVICE).
 * The launch template names instance_profile.main only when an earlier
 * layer added it. */
void stack_compute_resources(const stack *s, resource_set *out);

#endif
