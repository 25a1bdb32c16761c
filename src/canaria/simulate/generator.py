"""Synthetic traffic and measurements, one analysis window at a time, without per-request Python loops.

Each window is drawn as the aggregates a provider would report: request counts (Poisson, split between
the versions by the stage's weight), errors (binomial), the latency histogram (a multinomial over the fixed
buckets with probabilities from the lognormal CDF at the bucket bounds) and memory/CPU readings (level +
slope*t + noise). Traffic shapes modulate a common load factor that both versions feel: `diurnal` follows a
24 h sine from a random phase, `bursty` multiplies each window by a gamma factor; load also scales latency
(^0.3) and CPU (^0.7) for both versions, so a judge that does not compare with control sees it as drift.

Every (run, window, stage) has its own seed, so two judges that reach the same stage at the same time see
the same data (common random numbers), and results do not depend on which judges run together.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

from canaria.analysis.window import VariantWindow, Window
from canaria.foundation.histogram import BUCKET_BOUNDS_MS, LatencyHistogram
from canaria.simulate.scenario import ResolvedScenario, VariantParams

__all__ = ["MinuteSeries", "RunSource", "WindowTruth", "expected_bad_share", "slow_event_share"]

_BOUNDS = np.asarray(BUCKET_BOUNDS_MS)
_LOG_BOUNDS = np.log(_BOUNDS)
# representative latency of each bucket (geometric middle), for the histogram's sum
_MIDS = np.concatenate(([_BOUNDS[0] / 2], np.sqrt(_BOUNDS[1:] * _BOUNDS[:-1]), [_BOUNDS[-1] * 1.05]))
_Z95 = float(ndtri(0.95))
_MINUTES_PER_WINDOW_MAX = 60
_MASK = (1 << 64) - 1


def _mix(*parts: int) -> int:
    """A 64-bit hash of a tuple of integers (splitmix64 finaliser), to key one Philox stream per window."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK
        h ^= h >> 31
    return h


class _Streams:
    """Independent random streams keyed by tuples, cheaply: Philox is a counter-based generator, so a new key
    is a new stream, and re-keying costs ~2 us where building a seeded generator costs ~25 us."""

    def __init__(self) -> None:
        self._bits = np.random.Philox(key=0)
        self.generator = np.random.Generator(self._bits)

    def keyed(self, *parts: int) -> np.random.Generator:
        self._bits.state = {
            "bit_generator": "Philox",
            "state": {"counter": np.zeros(4, dtype=np.uint64), "key": np.array([_mix(*parts), 0], dtype=np.uint64)},
            "buffer": np.zeros(4, dtype=np.uint64),
            "buffer_pos": 4,
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self.generator


def _sigma(params: VariantParams) -> float:
    return math.log(params.p95_ms / params.p50_ms) / _Z95


def slow_share(params: VariantParams, slow_ms: float, latency_scale: float = 1.0) -> float:
    """P(latency > slow_ms) under the version's lognormal."""
    z = (math.log(slow_ms) - math.log(params.p50_ms * latency_scale)) / _sigma(params)
    return float(1.0 - ndtr(z))


def expected_bad_share(params: VariantParams, slow_ms: float, latency_scale: float = 1.0) -> float:
    """Share of requests that fail or are slower than the objective."""
    return 1.0 - (1.0 - params.error_rate) * (1.0 - slow_share(params, slow_ms, latency_scale))


def slow_event_share(params: VariantParams, first_bucket: int, latency_scale: float = 1.0) -> float:
    """P(a request lands in histogram bucket `first_bucket` or above): the exact law of a slow count read
    from the histogram as the judges read it (bucket bounds, not slow_ms itself)."""
    if first_bucket <= 0:
        return 1.0
    z = (_LOG_BOUNDS[first_bucket - 1] - math.log(params.p50_ms * latency_scale)) / _sigma(params)
    return float(1.0 - ndtr(z))


@dataclass(frozen=True)
class WindowTruth:
    """What the generator drew window k's counts from: each version's true error rate and the probability
    of a request in the slow buckets. Only the clairvoyant `oracle` judge reads it."""

    canary_error_rate: float
    canary_slow_share: float
    control_error_rate: float
    control_slow_share: float
    #: the canary's mean memory/CPU reading, with and without what its fault's slope adds, and the noise
    canary_memory_pct: float = 0.0
    canary_memory_no_leak_pct: float = 0.0
    memory_noise_pct: float = 0.0
    canary_cpu_pct: float = 0.0
    canary_cpu_no_rise_pct: float = 0.0
    cpu_noise_pct: float = 0.0


class _SimHistogram(LatencyHistogram):
    """A histogram that is never changed after it is built: quantiles are memoised and found by a
    binary search over the cumulative counts instead of the base class's walk over every bucket (same
    result; the simulator asks for P50/P95/P99 of every window several times a tick)."""

    __slots__ = ("_cumulative", "_quantiles")

    def __init__(self, counts: np.ndarray | None = None) -> None:
        super().__init__()
        self._quantiles: dict[float, float | None] = {}
        self._cumulative = None if counts is None else np.cumsum(counts)

    def quantile(self, q: float) -> float | None:
        if q in self._quantiles:
            return self._quantiles[q]
        cumulative = self._cumulative
        if cumulative is None or self.count == 0:
            value = super().quantile(q)
        else:
            rank = q * self.count
            i = int(np.searchsorted(cumulative, rank, side="left")) if rank > 0 else int(np.flatnonzero(cumulative)[0])
            c = self.counts[i]
            seen = cumulative[i] - c
            lower = BUCKET_BOUNDS_MS[i - 1] if i > 0 else 0.0
            upper = BUCKET_BOUNDS_MS[i] if i < len(BUCKET_BOUNDS_MS) else max(self.max_ms, BUCKET_BOUNDS_MS[-1])
            fraction = (rank - seen) / c
            value = lower + (upper - lower) * max(0.0, min(1.0, fraction))
            value = min(value, self.max_ms) if self.max_ms else value
        self._quantiles[q] = value
        return value


@dataclass(frozen=True)
class MinuteSeries:
    """Per-minute canary and control figures inside one window (what Kayenta reads)."""

    canary_error_rate: np.ndarray  # NaN for a minute without requests
    control_error_rate: np.ndarray
    canary_mean_ms: np.ndarray
    control_mean_ms: np.ndarray


@dataclass
class _Drawn:
    window: Window
    rng_key: tuple[int, ...]
    latency_scale: float
    fault: bool


class RunSource:
    """All windows one simulated run can produce, drawn on demand and shared by the judges of that run."""

    def __init__(self, scenario: ResolvedScenario, *, run: int, seed: int, interval_s: float) -> None:
        self.scenario = scenario
        self.interval_s = interval_s
        self.run = run
        self._base = (seed, zlib.crc32(scenario.name.encode()), run)
        self._streams = _Streams()
        self._phase = float(self._streams.keyed(*self._base, 0xD1).uniform(0.0, 86400.0))
        self._loads: dict[int, float] = {}
        self._windows: dict[tuple[int, int], _Drawn] = {}
        self._bucket_probs: dict[tuple[float, float], tuple[int, np.ndarray]] = {}
        self._excess: dict[tuple[bool, float], float] = {}
        self._minutes: dict[tuple[int, int], MinuteSeries] = {}

    # ---------------------------------------------------------------- shared shape of the run

    def load(self, k: int) -> float:
        """Load factor (mean 1) of window k: common to both versions."""
        traffic = self.scenario.traffic
        if traffic == "diurnal":
            mid = (k + 0.5) * self.interval_s
            return 1.0 + 0.5 * math.sin(2.0 * math.pi * (mid + self._phase) / 86400.0)
        if traffic == "bursty":
            if k not in self._loads:
                self._loads[k] = float(self._streams.keyed(*self._base, k, 0xB0).gamma(2.0, 0.5))
            return self._loads[k]
        return 1.0

    def fault_active(self, k: int) -> bool:
        return (k + 0.5) * self.interval_s >= self.scenario.onset_s

    def canary_params(self, k: int) -> VariantParams:
        return self.scenario.canary if self.fault_active(k) else self.scenario.control

    def expected_excess_bad(self, k: int, canary_requests: float, slow_ms: float) -> float:
        """Bad canary requests beyond what control's rates would give for the same number of requests."""
        if not self.fault_active(k):
            return 0.0
        scale = self.load(k) ** 0.3
        key = (True, scale)
        if key not in self._excess:
            self._excess[key] = expected_bad_share(self.scenario.canary, slow_ms, scale) - expected_bad_share(
                self.scenario.control, slow_ms, scale
            )
        return canary_requests * self._excess[key]

    def truth(self, k: int, slow_bucket: int) -> WindowTruth:
        """The true rates behind window k (fault and load included), for the oracle."""
        load = self.load(k)
        scale = load**0.3
        canary, control = self.canary_params(k), self.scenario.control
        t_end = (k + 1) * self.interval_s
        hours = t_end / 3600.0
        since_onset = max(0.0, t_end - self.scenario.onset_s) / 3600.0 if self.fault_active(k) else 0.0
        memory = canary.memory_pct + control.memory_slope_pct_per_h * hours
        cpu = canary.cpu_pct * load**0.7 + control.cpu_slope_pct_per_h * hours
        return WindowTruth(
            canary_error_rate=canary.error_rate,
            canary_slow_share=slow_event_share(canary, slow_bucket, scale),
            control_error_rate=control.error_rate,
            control_slow_share=slow_event_share(control, slow_bucket, scale),
            canary_memory_pct=memory + (canary.memory_slope_pct_per_h - control.memory_slope_pct_per_h) * since_onset,
            canary_memory_no_leak_pct=memory,
            memory_noise_pct=canary.memory_noise_pct,
            canary_cpu_pct=cpu + (canary.cpu_slope_pct_per_h - control.cpu_slope_pct_per_h) * since_onset,
            canary_cpu_no_rise_pct=cpu,
            cpu_noise_pct=canary.cpu_noise_pct,
        )

    def expected_requests(self, k: int) -> float:
        return self.scenario.rps * self.interval_s * self.load(k)

    # ---------------------------------------------------------------- windows

    def window(self, k: int, stage_index: int, traffic_pct: float) -> Window:
        key = (k, stage_index)
        drawn = self._windows.get(key)
        if drawn is None:
            drawn = self._draw(k, stage_index, traffic_pct)
            self._windows[key] = drawn
        return drawn.window

    def _draw(self, k: int, stage_index: int, traffic_pct: float) -> _Drawn:
        rng_key = (*self._base, k, stage_index, 0xA1)
        load = self.load(k)
        rng = self._streams.keyed(*rng_key)
        scale = load**0.3
        total = int(rng.poisson(self.scenario.rps * self.interval_s * load))
        n_canary = int(rng.binomial(total, traffic_pct / 100.0))
        n_control = total - n_canary
        t_end = (k + 1) * self.interval_s
        control = self._variant(rng, self.scenario.control, n_control, scale, load, t_end, onset=0.0)
        fault = self.fault_active(k)
        canary_params = self.scenario.canary if fault else self.scenario.control
        canary = self._variant(
            rng, canary_params, n_canary, scale, load, t_end, onset=self.scenario.onset_s if fault else 0.0
        )
        window = Window(
            start=k * self.interval_s,
            end=t_end,
            control=control,
            canary=canary,
            canary_weight=traffic_pct,
            stage_index=stage_index,
        )
        return _Drawn(window=window, rng_key=rng_key, latency_scale=scale, fault=fault)

    def _variant(
        self, rng: np.random.Generator, params: VariantParams, n: int, scale: float, load: float, t_end: float,
        *, onset: float,
    ) -> VariantWindow:
        errors = int(rng.binomial(n, params.error_rate)) if n else 0
        hist = _SimHistogram()
        if n:
            sigma = _sigma(params)
            lo, probs = self._probs(math.log(params.p50_ms * scale), sigma)
            drawn = rng.multinomial(n, probs)
            counts = np.zeros(len(_MIDS), dtype=np.int64)
            counts[lo : lo + len(drawn)] = drawn
            hist = _SimHistogram(counts)
            hist.counts = counts.tolist()
            hist.count = n
            hist.sum_ms = float(drawn @ _MIDS[lo : lo + len(drawn)])
            top = lo + int(np.flatnonzero(drawn)[-1])
            hist.max_ms = float(_BOUNDS[min(top, len(_BOUNDS) - 1)])
        # control's drift runs from the start; what the canary adds to it runs from its fault's onset
        base = self.scenario.control
        hours, since_onset = t_end / 3600.0, max(0.0, t_end - onset) / 3600.0
        memory = params.memory_pct + base.memory_slope_pct_per_h * hours
        memory += (params.memory_slope_pct_per_h - base.memory_slope_pct_per_h) * since_onset
        memory += rng.normal(0.0, params.memory_noise_pct) if params.memory_noise_pct else 0.0
        cpu = params.cpu_pct * load**0.7 + base.cpu_slope_pct_per_h * hours
        cpu += (params.cpu_slope_pct_per_h - base.cpu_slope_pct_per_h) * since_onset
        cpu += rng.normal(0.0, params.cpu_noise_pct) if params.cpu_noise_pct else 0.0
        return VariantWindow(
            requests=n,
            errors=errors,
            status={"2xx": n - errors, "5xx": errors} if n else {},
            latency=hist,
            memory_pct=float(min(100.0, max(0.0, memory))),
            cpu_pct=float(min(100.0, max(0.0, cpu))),
        )

    def _probs(self, mu: float, sigma: float) -> tuple[int, np.ndarray]:
        """First bucket and bucket probabilities of a lognormal; buckets beyond +-9 sigma (< 1e-18 of the
        mass) are left out of the draw, which keeps the multinomial short."""
        key = (mu, sigma)
        cached = self._bucket_probs.get(key)
        if cached is None:
            lo = int(np.searchsorted(_LOG_BOUNDS, mu - 9.0 * sigma))
            hi = int(np.searchsorted(_LOG_BOUNDS, mu + 9.0 * sigma)) + 1
            cdf = ndtr((_LOG_BOUNDS[lo:hi] - mu) / sigma)
            probs = np.empty(len(cdf) + 1)
            probs[0] = cdf[0]
            probs[1:-1] = cdf[1:] - cdf[:-1]
            probs[-1] = 1.0 - cdf[-1]
            np.clip(probs, 0.0, None, out=probs)
            cached = (lo, probs / probs.sum())
            if len(self._bucket_probs) < 256:
                self._bucket_probs[key] = cached
        return cached

    def baseline(self, windows: int) -> list[VariantWindow]:
        """The stable version's last `windows` windows before the canary starts, all traffic on it, oldest
        first (what a controller reads from the metrics backend's history before the first stage)."""
        return [self.window(k, -1, 0.0).control for k in range(-windows, 0)]

    # ---------------------------------------------------------------- per-minute series (Kayenta)

    def minutes(self, k: int, stage_index: int) -> MinuteSeries:
        """Per-minute error rates and mean latencies consistent with window k's request and error counts."""
        key = (k, stage_index)
        series = self._minutes.get(key)
        if series is None:
            drawn = self._windows[key]
            rng = self._streams.keyed(*drawn.rng_key, 0xC3)
            canary_params = self.scenario.canary if drawn.fault else self.scenario.control
            m = max(1, min(_MINUTES_PER_WINDOW_MAX, round(self.interval_s / 60.0)))
            c_err, c_mean = _split(rng, drawn.window.canary, canary_params, drawn.latency_scale, m)
            b_err, b_mean = _split(rng, drawn.window.control, self.scenario.control, drawn.latency_scale, m)
            series = MinuteSeries(c_err, b_err, c_mean, b_mean)
            self._minutes[key] = series
        return series


@lru_cache(maxsize=8)
def _even(minutes: int) -> np.ndarray:
    return np.full(minutes, 1.0 / minutes)


def _split(
    rng: np.random.Generator, variant: VariantWindow, params: VariantParams, scale: float, minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute error rates and mean latencies: requests split evenly at random, the window's errors
    among them (hypergeometric), means from the draws themselves for a few requests, else the normal limit."""
    per_minute = rng.multinomial(variant.requests, _even(minutes))
    served = per_minute > 0
    error_rate = np.full(minutes, np.nan)
    if variant.errors:
        errors = rng.multivariate_hypergeometric(per_minute, variant.errors)
        error_rate[served] = errors[served] / per_minute[served]
    else:
        error_rate[served] = 0.0
    mu, sigma = math.log(params.p50_ms * scale), _sigma(params)
    means = np.full(minutes, np.nan)
    if variant.requests <= 50 * minutes:  # few requests a minute: average real draws
        sizes = per_minute[served]
        draws = rng.lognormal(mu, sigma, variant.requests)
        starts = np.cumsum(sizes) - sizes
        means[served] = np.add.reduceat(draws, starts) / sizes if sizes.size else means[served]
    else:
        mean = math.exp(mu + sigma**2 / 2)
        sd = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
        means[served] = rng.normal(mean, sd / np.sqrt(per_minute[served]))
    return error_rate, means
