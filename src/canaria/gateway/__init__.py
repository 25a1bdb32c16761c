"""The embedded gateway: a weighted stable/canary reverse proxy that measures both sides.

Public API::

    Gateway(config, *, status_provider=None, metrics_provider=None, state_file=None, drain_timeout=30.0)
        async start() / stop() / serve() / wait_stopped(); request_stop()
        public_port, admin_port, canary_weight, set_canary_weight(w), set_upstreams(stable, canary)
    run_gateway(config, *, status_provider=None, metrics_provider=None)   # blocking, signal-aware
    python -m canaria.gateway -c canaria.yaml

The modules behind it are private: http (message heads), relay (body copying), router (variant choice),
pool (upstream keep-alive), conns (open connections), measure (windows and Prometheus), state
(persistence), proxy (public port), admin (admin port), server (the Gateway object).
"""

from canaria.gateway.router import sticky_bucket
from canaria.gateway.server import METRICS_PATH, STATUS_PATH, Gateway, StatusProvider, run_gateway

__all__ = ["METRICS_PATH", "STATUS_PATH", "Gateway", "StatusProvider", "run_gateway", "sticky_bucket"]
