"""`KubernetesEmulator`: the API emulator served over HTTP on a free loopback port, with a kubeconfig for it.

    with KubernetesEmulator() as cluster:
        cluster.seed(deployment(...), service(...))
        subprocess.run(["kubectl", "--kubeconfig", str(cluster.kubeconfig), "get", "deploy"])

Runs uvicorn in a thread (its own event loop) and the simulated cluster (`cluster.py`) in another, so that
tests on any event loop, and kubectl in a subprocess, talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import builtins
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import yaml

from tests.emulators.kubernetes.app import KubernetesApi, build_app
from tests.emulators.kubernetes.cluster import SimulatedCluster
from tests.emulators.kubernetes.defaults import apply_core_defaults
from tests.emulators.kubernetes.faults import Faults
from tests.emulators.kubernetes.resources import RESOURCE_TYPES, ResourceType
from tests.emulators.kubernetes.schemas import apply_crd_defaults, validate_object
from tests.emulators.kubernetes.store import ObjectStore

__all__ = ["KubernetesEmulator", "resource_type"]

Obj = dict[str, Any]


def resource_type(kind: str, api_version: str | None = None) -> ResourceType:
    for rtype in RESOURCE_TYPES:
        if rtype.kind == kind and (api_version is None or rtype.api_version == api_version):
            return rtype
    raise KeyError(f"the emulator does not serve {kind} {api_version or ''}")


def _drop_nulls(value: Any) -> Any:
    """A typed decode turns `null` into "not set" (kubectl undo sends `creationTimestamp: null` in templates)."""
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def admission(rtype: ResourceType, obj: Obj) -> None:
    """What the API server does to an object before storing it: defaults, then schema validation."""
    cleaned = _drop_nulls(obj)
    obj.clear()
    obj.update(cleaned)
    if rtype.custom:
        apply_crd_defaults(rtype, obj)
    else:
        apply_core_defaults(rtype.kind, obj)
    if rtype.kind not in {"Namespace", "SelfSubjectAccessReview"}:
        validate_object(rtype, obj)


class KubernetesEmulator:
    def __init__(self, *, simulate: bool = True, namespaces: tuple[str, ...] = ("default",),
                 pod_ready_delay: float = 0.05) -> None:
        self.store = ObjectStore(admission=admission)
        self.faults = Faults()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it, a response's headers and body leave in two segments and
        # the second waits ~40 ms for the client's delayed ACK (Nagle), on every request
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = KubernetesApi(self.store, self.faults, server_address=f"127.0.0.1:{self.port}")
        self.cluster = SimulatedCluster(self.store, pod_ready_delay=pod_ready_delay) if simulate else None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="k8s-emulator-")
        self.kubeconfig = Path(self._dir.name) / "kubeconfig"
        for namespace in namespaces:
            self.store.create(resource_type("Namespace"), "", {"metadata": {"name": namespace}})

    # ------------------------------------------------------------ lifecycle
    def start(self) -> KubernetesEmulator:
        config = uvicorn.Config(build_app(self.api), log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1, access_log=False)
        self._server = uvicorn.Server(config)
        self._socket.listen(128)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="k8s-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Kubernetes emulator did not start")
            time.sleep(0.01)
        self.write_kubeconfig(self.kubeconfig)
        if self.cluster is not None:
            self.cluster.start()
        return self

    async def _serve(self) -> None:
        assert self._server is not None
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        self._dir.cleanup()

    def __enter__(self) -> KubernetesEmulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ helpers for tests
    def write_kubeconfig(self, path: Path, *, namespace: str = "default", context: str = "emulator") -> Path:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "canaria", "user": {"token": "emulator-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "emulator", "user": "canaria",
                                                       "namespace": namespace}}],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def seed(self, *objects: Obj, namespace: str = "default") -> list[Obj]:
        """Create objects directly (as the user's `kubectl apply` would have), status included when given."""
        created = []
        for obj in objects:
            rtype = resource_type(obj["kind"], obj.get("apiVersion"))
            ns = obj.get("metadata", {}).get("namespace", namespace)
            stored = self.store.create(rtype, ns, obj)
            if "status" in obj and "status" in rtype.subresources:
                stored = self.store.replace(rtype, ns, stored["metadata"]["name"], {"status": obj["status"]},
                                            subresource="status")
            created.append(stored)
        return created

    def get(self, kind: str, name: str, namespace: str = "default", api_version: str | None = None) -> Obj:
        return self.store.get(resource_type(kind, api_version), namespace, name)

    def find(self, kind: str, name: str, namespace: str = "default") -> Obj | None:
        return self.store.find(resource_type(kind), namespace, name)

    def list(self, kind: str, namespace: str | None = "default", label_selector: str | None = None) -> list[Obj]:
        return self.store.list(resource_type(kind), namespace, label_selector=label_selector)[0]

    def writes(self) -> builtins.list[str]:
        """The mutating requests served so far (`PATCH /apis/...`), for 'nothing changed' assertions."""
        return [f"{record.method} {record.path}" for record in self.api.requests
                if record.method in {"POST", "PUT", "PATCH", "DELETE"} and record.status < 400
                and "selfsubjectaccessreviews" not in record.path]

    def wait_for(self, predicate: Any, *, timeout: float = 5.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")
