"""canaria observing itself: Prometheus metrics of the controller and structured event logs.

Kept import-light on purpose: `canaria.config` imports `observability.config`, so this package must not
pull in prometheus_client or logging handlers until a caller asks for them.
"""
