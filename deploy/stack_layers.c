/* stack_layers: the whole desired graph, layer by layer (stack_layers.h). */
#include "deploy/stack_layers.h"

/* Each layer adds its resources; later layers refer to earlier ones by id. */
void stack_resources(const stack *s, resource_set *out) {
    stack_network_resources(s, out);
    stack_network_extra_resources(s, out);
    stack_edge_resources(s, out);
    stack_compute_resources(s, out); /* last: it looks up what other layers made (instance_profile.main) */
}
