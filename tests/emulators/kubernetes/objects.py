"""The user's objects, as they would have applied them: a Deployment and Service, an HTTPRoute and Gateway,
an Istio VirtualService. Tests seed these and then let canaria (or kubectl) act on them."""

from __future__ import annotations

from typing import Any

__all__ = ["deployment", "service", "gateway", "httproute", "virtualservice", "destinationrule"]

Obj = dict[str, Any]


def deployment(name: str = "ion-api", image: str = "registry.example/ion-api:1.0", *, replicas: int = 2,
               port: int = 8080, labels: dict[str, str] | None = None, container: str = "app",
               memory_limit: str | None = "512Mi") -> Obj:
    labels = labels or {"app": name}
    resources: Obj = {"limits": {"memory": memory_limit, "cpu": "500m"}} if memory_limit else {}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{
                    "name": container, "image": image, "ports": [{"containerPort": port, "name": "http"}],
                    "readinessProbe": {"httpGet": {"path": "/health", "port": port}},
                    "resources": resources,
                }]},
            },
        },
    }


def service(name: str = "ion-api", *, selector: dict[str, str] | None = None, port: int = 80,
            target_port: int = 8080) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector or {"app": name},
                     "ports": [{"name": "http", "port": port, "targetPort": target_port}]}}


def gateway(name: str = "public") -> Obj:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": name},
            "spec": {"gatewayClassName": "emulated",
                     "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}


def httproute(name: str = "ion-api", *, service_name: str = "ion-api", port: int = 80,
              gateway_name: str = "public", extra_rules: list[Obj] | None = None) -> Obj:
    """A route whose catch-all rule sends to the stable Service, plus whatever rules the user has."""
    rules: list[Obj] = list(extra_rules or [])
    rules.append({"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                  "backendRefs": [{"name": service_name, "port": port}]})
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name},
            "spec": {"parentRefs": [{"name": gateway_name}], "hostnames": ["ion-api.example.com"], "rules": rules}}


def virtualservice(name: str = "ion-api", *, host: str = "ion-api", api_version: str = "networking.istio.io/v1",
                   extra_http: list[Obj] | None = None) -> Obj:
    http = list(extra_http or [])
    http.append({"name": "primary", "route": [{"destination": {"host": host, "port": {"number": 80}}}]})
    return {"apiVersion": api_version, "kind": "VirtualService", "metadata": {"name": name},
            "spec": {"hosts": [host], "http": http}}


def destinationrule(name: str = "ion-api", *, host: str = "ion-api") -> Obj:
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name},
            "spec": {"host": host, "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}}
