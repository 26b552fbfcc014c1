"""Listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener.

Default actions are checked and completed as AWS does: a forward names a
target group of the balancer's VPC that no other balancer uses, and is
answered with its ForwardConfig; a redirect gets AWS's ``#{...}`` defaults
and may not point at itself; HTTPS needs a certificate (an ACM or IAM
certificate ARN of this region: the fake has no certificate store) and gets
AWS's default security policy.
"""

import re

from .state import action, action_target_groups, paged, select, tags_for_create

DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
SSL_POLICIES = {
    "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06", "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-FS-2018-06", "ELBSecurityPolicy-FS-1-1-2019-08", "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-2015-05", "ELBSecurityPolicy-TLS-1-0-2015-04",
}
REDIRECT_DEFAULTS = {"Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}",
                     "Path": "/#{path}", "Query": "#{query}"}


def _certificates(state, certificates):
    acm = re.compile(rf"^arn:aws:acm:{re.escape(state.region)}:\d{{12}}:certificate/[0-9a-f-]+$")
    iam = re.compile(r"^arn:aws:iam::\d{12}:server-certificate/.+$")
    out = []
    for cert in certificates or []:
        arn = cert.get("CertificateArn") or ""
        if not (acm.match(arn) or iam.match(arn)):
            raise state.error("CertificateNotFound", f"Certificate '{arn}' not found")
        out.append({"CertificateArn": arn})
    if len(out) > 1:
        raise state.error("TooManyCertificates", "A listener's default certificate list can have one "
                                                 "certificate")
    return out


def _forward(state, lb, a):
    arns = action_target_groups([a])
    if not arns:
        raise state.error("ValidationError", "A target group ARN must be specified for a forward action")
    tuples = []
    for arn in arns:
        tg = state.tg(arn)
        if tg["VpcId"] != lb["VpcId"]:
            raise state.error("InvalidConfigurationRequest", f"The target group '{arn}' is not in the load "
                                                             f"balancer's VPC '{lb['VpcId']}'")
        others = [x for x in state.tg_lb_arns(tg) if x != lb["LoadBalancerArn"]]
        if others:
            raise state.error("TargetGroupAssociationLimit", "The following target groups cannot be "
                                                             f"associated with more than one load balancer: '{arn}'")
        weight = next((t.get("Weight", 1) for t in a.get("ForwardConfig", {}).get("TargetGroups", [])
                       if t.get("TargetGroupArn") == arn), 1)
        tuples.append({"TargetGroupArn": arn, "Weight": weight})
    stickiness = a.get("ForwardConfig", {}).get("TargetGroupStickinessConfig", {"Enabled": False})
    out = {"Type": "forward", "ForwardConfig": {"TargetGroups": tuples,
                                                "TargetGroupStickinessConfig": stickiness}}
    if len(arns) == 1:
        out["TargetGroupArn"] = arns[0]
    return out


def _redirect(state, a, protocol, port):
    config = a.get("RedirectConfig")
    if not config:
        raise state.error("ValidationError", "A redirect configuration must be specified for a redirect action")
    full = dict(REDIRECT_DEFAULTS, **config)
    if full["Protocol"] not in ("HTTP", "HTTPS", "#{protocol}"):
        raise state.error("InvalidLoadBalancerAction", "The redirect protocol must be HTTP, HTTPS or #{protocol}")
    to_self = all(full[k] in (REDIRECT_DEFAULTS[k], v) for k, v in
                  (("Protocol", protocol), ("Port", str(port)), ("Host", None), ("Path", None), ("Query", None)))
    if to_self:
        raise state.error("InvalidLoadBalancerAction", "The redirect configuration is not valid: it "
                                                       "redirects to itself")
    return {"Type": "redirect", "RedirectConfig": full}


def _actions(state, lb, actions, protocol, port):
    if len(actions) != 1:
        raise state.error("TooManyActions" if actions else "ValidationError",
                          "A listener must have exactly one default action (the fake models no "
                          "authentication actions)")
    a = actions[0]
    if a["Type"] == "forward":
        out = _forward(state, lb, a)
    elif a["Type"] == "redirect":
        out = _redirect(state, a, protocol, port)
    elif a["Type"] == "fixed-response":
        if not a.get("FixedResponseConfig"):
            raise state.error("ValidationError", "A fixed response configuration must be specified")
        out = {"Type": "fixed-response", "FixedResponseConfig": a["FixedResponseConfig"]}
    else:
        raise state.error("InvalidLoadBalancerAction", f"The fake does not model '{a['Type']}' actions")
    if a.get("Order") is not None:
        out["Order"] = a["Order"]
    return [out]


def _configure(state, listener, lb, params):
    """Applies Protocol/Port/SslPolicy/Certificates/DefaultActions to listener (a dict)."""
    protocol = params.get("Protocol", listener.get("Protocol"))
    port = params.get("Port", listener.get("Port"))
    if protocol is None or port is None:
        raise state.error("ValidationError", "A protocol and a port must be specified")
    if protocol not in ("HTTP", "HTTPS"):
        raise state.error("UnsupportedProtocol", f"Protocol '{protocol}' is not supported by application "
                                                 "load balancers")
    for other in state.listeners.values():
        if (other["LoadBalancerArn"] == lb["LoadBalancerArn"] and other["Port"] == port
                and other.get("ListenerArn") != listener.get("ListenerArn")):
            raise state.error("DuplicateListener", "A listener already exists on this port for this load "
                                                   "balancer")
    certs = _certificates(state, params["Certificates"]) if "Certificates" in params \
        else listener.get("Certificates", [])
    if protocol == "HTTPS":
        if not certs:
            raise state.error("ValidationError", "A certificate must be specified for HTTPS listeners")
        policy = params.get("SslPolicy") or listener.get("SslPolicy") or DEFAULT_SSL_POLICY
        if policy not in SSL_POLICIES:
            raise state.error("SSLPolicyNotFound", f"SSL policy '{policy}' not found")
        listener["Certificates"], listener["SslPolicy"] = certs, policy
    else:
        listener.pop("Certificates", None)
        listener.pop("SslPolicy", None)
    actions = params.get("DefaultActions")
    if actions is not None:
        listener["DefaultActions"] = _actions(state, lb, actions, protocol, port)
    listener["Protocol"], listener["Port"] = protocol, port


@action("CreateListener")
def create_listener(state, params):
    lb = state.lb(params["LoadBalancerArn"])
    listener = {"LoadBalancerArn": lb["LoadBalancerArn"]}
    _configure(state, listener, lb, params)
    _, _, rest = lb["LoadBalancerArn"].partition(":loadbalancer/")
    listener["ListenerArn"] = state.arn(f"listener/{rest}/{state.hex_id()}")
    listener["_tags"] = tags_for_create(state, params)
    listener["_seq"] = state.next_seq()
    state.listeners[listener["ListenerArn"]] = listener
    return {"Listeners": [listener]}


@action("DescribeListeners")
def describe_listeners(state, params):
    if bool(params.get("LoadBalancerArn")) == bool(params.get("ListenerArns")):
        raise state.error("ValidationError", "Exactly one of LoadBalancerArn and ListenerArns must be "
                                             "specified")
    if params.get("LoadBalancerArn"):
        arn = state.lb(params["LoadBalancerArn"])["LoadBalancerArn"]
        listeners = [x for x in state.listeners.values() if x["LoadBalancerArn"] == arn]
    else:
        listeners = select(state, state.listeners.values(), params["ListenerArns"], None, "ListenerArn",
                           None, "ListenerNotFound", "listener")
    return paged(state, listeners, params, "Listeners")


@action("ModifyListener")
def modify_listener(state, params):
    listener = state.listener(params["ListenerArn"])
    lb = state.lb(listener["LoadBalancerArn"])
    updated = dict(listener)
    _configure(state, updated, lb, params)
    listener.clear()
    listener.update(updated)
    return {"Listeners": [listener]}


@action("DeleteListener")
def delete_listener(state, params):
    listener = state.listener(params["ListenerArn"])
    del state.listeners[listener["ListenerArn"]]
    return {}
