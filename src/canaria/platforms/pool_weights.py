"""A version's share of traffic as integer server weights, spread evenly over its pool.

Both proxies split by weighted round robin over servers: the canary's percent becomes one weight per
canary server and one per stable server whose totals have exactly that ratio (to 0.01 %).
"""

from __future__ import annotations

import math

from canaria.errors import ConfigError

__all__ = ["server_weights", "applied_percent"]


def server_weights(canary_percent: float, n_stable: int, n_canary: int, *, maximum: int | None = None
                   ) -> tuple[int, int]:
    """Integer weight of each stable server and each canary server so that the canary's total share
    is `canary_percent` (to 0.01 %), spread evenly over each pool.

    With `maximum` (HAProxy caps weights at 256) the pair is scaled down to fit, keeping a non-zero
    share non-zero; `applied_percent` tells the share the rounded weights really give."""
    if n_stable < 1 or n_canary < 1:
        raise ConfigError("stable and canary each need at least one server", field="platform")
    if not 0 <= canary_percent <= 100:
        raise ConfigError(f"canary weight must be between 0 and 100, got {canary_percent:g}", field="weight")
    canary_share = round(canary_percent * 100)
    stable_share = 10_000 - canary_share
    stable_w = stable_share * n_canary
    canary_w = canary_share * n_stable
    common = math.gcd(stable_w, canary_w) or 1
    stable_w, canary_w = stable_w // common, canary_w // common
    if maximum is not None and max(stable_w, canary_w) > maximum:
        scale = maximum / max(stable_w, canary_w)
        stable_w = max(1, round(stable_w * scale)) if stable_share else 0
        canary_w = max(1, round(canary_w * scale)) if canary_share else 0
    return stable_w, canary_w


def applied_percent(stable_weights: list[int], canary_weights: list[int]) -> float | None:
    """The canary's share in percent that these server weights give (None when every weight is 0)."""
    total = sum(stable_weights) + sum(canary_weights)
    if total <= 0:
        return None
    return round(100.0 * sum(canary_weights) / total, 2)
