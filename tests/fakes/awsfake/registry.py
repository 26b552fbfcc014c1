"""What the services of one fake process share.

AWS services see each other: an ALB holds network interfaces in EC2 subnets
and security groups, so EC2 refuses to delete them while it exists; Route53
checks that an alias points at a real load balancer. The fake gets the same
behaviour through this registry instead of module globals:

- one lock for every service, so an action that reads another service's
  state sees it consistent, and no two locks can ever be taken in opposite
  orders (ELBv2 reads EC2 subnets while EC2 asks ELBv2 who uses a group);
- services by signing name (``registry.service("ec2")``);
- "users": a service declares who holds resources of another service
  (``on_users(fn)``, ``fn(kind, resource_id) -> [description]``), and the
  owner asks before deleting (``users_of("security-group", "sg-...")``);
- ``transition_ms``: how long asynchronous state changes take at most (a
  load balancer provisioning, a DNS change propagating); see
  ServiceState.begin in service.py;
- ``config``: the switches of config.py (filters ignored, error shapes ...).
"""

import threading

from .config import FakeConfig


class Registry:
    def __init__(self, transition_ms=200, config=None):
        self.lock = threading.RLock()
        self.transition_ms = transition_ms
        self.config = config or FakeConfig()
        self._services = {}
        self._user_fns = []

    def add(self, service):
        self._services[service.signing_name] = service

    def service(self, signing_name):
        """The service registered under that signing name, or None."""
        return self._services.get(signing_name)

    def on_users(self, fn):
        self._user_fns.append(fn)

    def users_of(self, kind, resource_id):
        """Descriptions of everything (in any service) that holds the resource."""
        with self.lock:
            found = []
            for fn in self._user_fns:
                found.extend(fn(kind, resource_id))
            return found
