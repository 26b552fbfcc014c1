"""EC2's API throttling: token buckets per action, as AWS documents them
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).

Each action has its own request bucket; a call takes one token and is
answered 503 ``RequestLimitExceeded`` when the bucket is empty. Buckets
refill continuously at their rate up to their size. Some actions also take
tokens from a resource bucket (RunInstances: one per instance asked for,
MaxCount; TerminateInstances: one per instance); the call goes through only
when both buckets have enough, and then takes from both.

Off unless the configuration says ``throttle`` (config.py); while on,
``throttle_scale`` multiplies every bucket's size (rounded up, at least 1)
and refill rate: 0.1 makes throttling easy to reach in a test, 10 makes
it ten times as permissive. Turning it on, or changing the scale, starts
with full buckets. The figures are in one table below.
"""

import math
import threading
import time

from .errors import AwsError

# (bucket size, refill per second) of request buckets.
NON_MUTATING = (100, 20.0)     # Describe*, Get*, List*, Search*
MUTATING = (50, 5.0)           # every other action
ACTION_BUCKETS = {
    "RunInstances": (5, 2.0),
    "CreateNatGateway": (10, 1.0),
}
# Resource buckets: action -> (size, refill per second, tokens a call takes).
RESOURCE_BUCKETS = {
    "RunInstances": (1000, 2.0, lambda params: params.get("MaxCount", 1)),
    "TerminateInstances": (1000, 20.0, lambda params: len(params.get("InstanceIds") or [])),
}
_NON_MUTATING_PREFIXES = ("Describe", "Get", "List", "Search")
THROTTLED_SERVICES = ("ec2",)


def request_bucket(action):
    if action in ACTION_BUCKETS:
        return ACTION_BUCKETS[action]
    return NON_MUTATING if action.startswith(_NON_MUTATING_PREFIXES) else MUTATING


class Bucket:
    def __init__(self, size, rate, now):
        self.size, self.rate = size, rate
        self.tokens, self.last = float(size), now

    def refill(self, now):
        self.tokens = min(self.size, self.tokens + (now - self.last) * self.rate)
        self.last = now


class Throttle:
    def __init__(self, config, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets = {}
        self._shape = None      # (on, scale) the buckets were made for

    def reset(self):
        with self._lock:
            self._buckets.clear()

    def _bucket(self, key, size, rate, now):
        scale = self.config.throttle_scale
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(max(1, math.ceil(size * scale)), rate * scale, now)
        bucket.refill(now)
        return bucket

    def check(self, service, action, params):
        """Takes the call's tokens, or raises RequestLimitExceeded."""
        config = self.config
        if not config.throttle:
            self._shape = None      # on again later: full buckets
            return
        if service not in THROTTLED_SERVICES:
            return
        with self._lock:
            shape = (config.throttle, config.throttle_scale)
            if shape != self._shape:
                self._buckets.clear()
                self._shape = shape
            now = self.clock()
            request = self._bucket(("request", action), *request_bucket(action), now)
            wanted = [(request, 1)]
            if action in RESOURCE_BUCKETS:
                size, rate, cost = RESOURCE_BUCKETS[action]
                wanted.append((self._bucket(("resource", action), size, rate, now), cost(params)))
            if any(bucket.tokens < need for bucket, need in wanted):
                raise AwsError("RequestLimitExceeded", "Request limit exceeded.", 503)
            for bucket, need in wanted:
                bucket.tokens -= need
