"""An in-memory Kubernetes API server over HTTP, with a simulated cluster, for canaria's tests.

The real client library and `kubectl` talk to it: discovery, typed lists with `resourceVersion`, get/create/
update/delete, merge / JSON / strategic-merge patches, 409 conflicts on stale updates, the `status` and `scale`
subresources, watches, label and field selectors, `generation`/`observedGeneration`, schema validation of every
write (core types with kubernetes-validate, CRDs from `crds/`), 403 injection and a concurrent-writer mode.
See `server.py` for the entry point and `cluster.py` for what the simulated controllers do.
"""

from tests.emulators.kubernetes.objects import deployment, gateway, httproute, service, virtualservice
from tests.emulators.kubernetes.server import KubernetesEmulator, resource_type

__all__ = ["KubernetesEmulator", "resource_type", "deployment", "service", "httproute", "gateway", "virtualservice"]
