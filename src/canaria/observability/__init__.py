"""canaria observing itself: Prometheus metrics of the controller and structured event logs.

Kept import-light on purpose: this package does not pull in prometheus_client or logging handlers until a
caller asks for them (its settings live in `canaria.config.observability`).
"""
