"""Cloud Monitoring's `projects.timeSeries.list` over an in-memory store: filter, align, reduce, ingestion delay.

Documented behaviour modelled (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list,
https://cloud.google.com/monitoring/api/v3/aggregation):
- the filter must name `metric.type`; it is a conjunction (AND) of `=`/`!=` comparisons on `metric.type`,
  `resource.type`, `metric.labels.KEY`, `resource.labels.KEY`, with `one_of(...)` and `starts_with(...)`;
- points are returned when their end time lies in (startTime, endTime] — and only once ingested, i.e. when
  `ingestion_delay` seconds have passed since their end time (Cloud Run metrics arrive minutes late);
- with an alignment period P, output points end at endTime, endTime−P, … and cover (t−P, t]: ALIGN_DELTA sums
  deltas (distributions are merged), ALIGN_RATE divides by P, ALIGN_MEAN averages (a distribution's mean),
  ALIGN_PERCENTILE_NN reads the merged distribution's percentile (a GAUGE DOUBLE); an empty period has no point;
- `crossSeriesReducer` (REDUCE_SUM / MEAN / MAX / MIN / COUNT) combines aligned series that share the values of
  `groupByFields`; the output keeps only those labels.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.cloudrun.errors import ApiError
from tests.emulators.cloudrun.model import rfc3339

__all__ = ["Distribution", "Point", "Series", "TimeSeriesStore", "explicit", "exponential"]


@dataclass
class Distribution:
    """A DISTRIBUTION value: bucket counts over explicit or exponential bounds (Monitoring's Distribution)."""

    bounds: list[float]  # finite upper bounds; len(counts) == len(bounds) + 1
    counts: list[int]
    total: float = 0.0  # sum of the values
    sum_sq: float = 0.0  # sum of squares, for sumOfSquaredDeviation
    options: dict[str, Any] = field(default_factory=dict)  # the bucketOptions as written

    @property
    def count(self) -> int:
        return sum(self.counts)

    def record(self, value: float) -> None:
        index = next((i for i, bound in enumerate(self.bounds) if value < bound), len(self.bounds))
        self.counts[index] += 1
        self.total += value
        self.sum_sq += value * value

    def merged(self, other: Distribution) -> Distribution:
        return Distribution(self.bounds, [a + b for a, b in zip(self.counts, other.counts)],
                            self.total + other.total, self.sum_sq + other.sum_sq, self.options)

    def empty(self) -> Distribution:
        return Distribution(self.bounds, [0] * len(self.counts), 0.0, 0.0, self.options)

    def percentile(self, q: float) -> float:
        """Linear interpolation inside the bucket holding the q-th value, as Monitoring's aligner does."""
        rank = q * self.count
        running = 0
        for i, c in enumerate(self.counts):
            if c and running + c >= rank:
                lower = self.bounds[i - 1] if i > 0 else 0.0
                upper = self.bounds[i] if i < len(self.bounds) else lower * 2 or 1.0
                return lower + (upper - lower) * ((rank - running) / c)
            running += c
        return self.bounds[-1] if self.bounds else 0.0

    def to_json(self) -> dict[str, Any]:
        n = self.count
        mean = self.total / n if n else 0.0
        body: dict[str, Any] = {"count": str(n), "bucketOptions": self.options,
                                "bucketCounts": [str(c) for c in self.counts]}
        if n:
            body["mean"] = mean
            body["sumOfSquaredDeviation"] = max(0.0, self.sum_sq - n * mean * mean)
        return body


def explicit(bounds: list[float]) -> Distribution:
    return Distribution(list(bounds), [0] * (len(bounds) + 1), options={"explicitBuckets": {"bounds": bounds}})


def exponential(num_finite: int, growth: float, scale: float) -> Distribution:
    """Bucket i (1..N) covers [scale·growth^(i−1), scale·growth^i); bucket 0 is underflow, N+1 overflow."""
    bounds = [scale * growth**i for i in range(num_finite + 1)]
    return Distribution(bounds, [0] * (num_finite + 2),
                        options={"exponentialBuckets": {"numFiniteBuckets": num_finite, "growthFactor": growth,
                                                        "scale": scale}})


@dataclass
class Point:
    start: float
    end: float
    value: float | int | Distribution


@dataclass
class Series:
    metric_type: str
    metric_labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    kind: str  # DELTA | GAUGE | CUMULATIVE
    value_type: str  # INT64 | DOUBLE | DISTRIBUTION
    unit: str = ""
    points: list[Point] = field(default_factory=list)

    def label(self, path: str) -> str | None:
        if path == "metric.type":
            return self.metric_type
        if path == "resource.type":
            return self.resource_type
        for prefix, labels in (("metric.labels.", self.metric_labels), ("resource.labels.", self.resource_labels),
                               ("metric.label.", self.metric_labels), ("resource.label.", self.resource_labels)):
            if path.startswith(prefix):
                return labels.get(path[len(prefix):])
        return None


_TERM = re.compile(r'^\s*([a-z_.A-Z0-9]+)\s*(=|!=)\s*(?:"([^"]*)"|(one_of|starts_with)\((.*)\))\s*$')


def parse_filter(text: str) -> Callable[[Series], bool]:
    terms = [t for t in re.split(r"\s+AND\s+", text.strip()) if t]
    if not terms:
        raise ApiError("INVALID_ARGUMENT", "A filter is required.", domain="monitoring.googleapis.com")
    tests: list[Callable[[Series], bool]] = []
    has_type = False
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise ApiError("INVALID_ARGUMENT", f"The provided filter doesn't refer to any known metric: {term!r} "
                           "could not be parsed.", domain="monitoring.googleapis.com")
        path, op, literal, func, args = match.groups()
        has_type = has_type or path == "metric.type"
        if literal is not None:
            def test(series: Series, p: str = path, v: str = literal) -> bool:
                return series.label(p) == v
        elif func == "one_of":
            values = set(re.findall(r'"([^"]*)"', args or ""))

            def test(series: Series, p: str = path, vs: set[str] = values) -> bool:
                return series.label(p) in vs
        else:
            prefix = (re.findall(r'"([^"]*)"', args or "") or [""])[0]

            def test(series: Series, p: str = path, pre: str = prefix) -> bool:
                return (series.label(p) or "").startswith(pre)
        tests.append(test if op == "=" else (lambda s, t=test: not t(s)))
    if not has_type:
        raise ApiError("INVALID_ARGUMENT", "A filter must specify a metric type, e.g. metric.type = \"...\".",
                       domain="monitoring.googleapis.com")
    return lambda series: all(t(series) for t in tests)


def parse_duration(text: str) -> float:
    if not re.match(r"^\d+(\.\d+)?s$", text):
        raise ApiError("INVALID_ARGUMENT", f"Invalid alignment period {text!r}.", domain="monitoring.googleapis.com")
    return float(text[:-1])


class TimeSeriesStore:
    """Series written by the test (or the traffic generator), read through `list_time_series`."""

    def __init__(self, *, clock: Callable[[], float], ingestion_delay: float = 0.0) -> None:
        self.clock = clock
        self.ingestion_delay = ingestion_delay
        self.lock = threading.Lock()
        self.series: dict[tuple[Any, ...], Series] = {}

    def write(self, series: Series, point: Point) -> None:
        key = (series.metric_type, tuple(sorted(series.metric_labels.items())), series.resource_type,
               tuple(sorted(series.resource_labels.items())))
        with self.lock:
            stored = self.series.setdefault(key, series)
            stored.points.append(point)

    def list_time_series(self, project: str, *, filter_text: str, start: float, end: float,
                         alignment: dict[str, Any] | None) -> list[dict[str, Any]]:
        selected = parse_filter(filter_text)
        visible_until = self.clock() - self.ingestion_delay
        with self.lock:
            matching = []
            for series in self.series.values():
                if series.resource_labels.get("project_id") != project or not selected(series):
                    continue
                points = [p for p in series.points if start < p.end <= end and p.end <= visible_until]
                if points:
                    matching.append((series, points))
        if alignment and alignment.get("perSeriesAligner", "ALIGN_NONE") != "ALIGN_NONE":
            aligned = [_align(s, pts, start, end, alignment) for s, pts in matching]
            aligned = [a for a in aligned if a[1]]
            reducer = alignment.get("crossSeriesReducer", "REDUCE_NONE")
            if reducer != "REDUCE_NONE":
                aligned = _reduce(aligned, reducer, alignment.get("groupByFields", []))
            return [_series_json(s, pts) for s, pts in aligned]
        return [_series_json(s, sorted(pts, key=lambda p: -p.end)) for s, pts in matching]


def _align(series: Series, points: list[Point], start: float, end: float, alignment: dict[str, Any]
           ) -> tuple[Series, list[Point]]:
    period = parse_duration(str(alignment.get("alignmentPeriod", "60s")))
    aligner = str(alignment["perSeriesAligner"])
    out: list[Point] = []
    t = end
    while t > start:
        inside = [p for p in points if t - period < p.end <= t]
        if inside:
            out.append(Point(t - period, t, _aligned_value(series, inside, aligner, period)))
        t -= period
    kind, value_type = series.kind, series.value_type
    if aligner in ("ALIGN_RATE", "ALIGN_MEAN") or aligner.startswith("ALIGN_PERCENTILE"):
        kind, value_type = "GAUGE", "DOUBLE"
    elif aligner in ("ALIGN_MAX", "ALIGN_MIN") and value_type == "DISTRIBUTION":
        raise ApiError("INVALID_ARGUMENT", f"{aligner} is not valid for DISTRIBUTION metrics.",
                       domain="monitoring.googleapis.com")
    shaped = Series(series.metric_type, series.metric_labels, series.resource_type, series.resource_labels,
                    kind, value_type, series.unit)
    return shaped, out


def _aligned_value(series: Series, points: list[Point], aligner: str, period: float) -> float | int | Distribution:
    values = [p.value for p in points]
    if series.value_type == "DISTRIBUTION":
        dists = [v for v in values if isinstance(v, Distribution)]
        merged = dists[0].empty()
        for d in dists:
            merged = merged.merged(d)
        if aligner in ("ALIGN_DELTA", "ALIGN_SUM"):
            return merged
        if aligner == "ALIGN_MEAN":
            return merged.total / merged.count if merged.count else 0.0
        if aligner.startswith("ALIGN_PERCENTILE_"):
            return merged.percentile(int(aligner.rsplit("_", 1)[1]) / 100)
        raise ApiError("INVALID_ARGUMENT", f"{aligner} is not valid for DISTRIBUTION metrics.",
                       domain="monitoring.googleapis.com")
    numbers = [float(v) for v in values if not isinstance(v, Distribution)]
    if aligner in ("ALIGN_DELTA", "ALIGN_SUM"):
        total = sum(numbers)
        return int(total) if series.value_type == "INT64" else total
    if aligner == "ALIGN_RATE":
        return sum(numbers) / period
    if aligner == "ALIGN_MEAN":
        return sum(numbers) / len(numbers)
    if aligner == "ALIGN_MAX":
        return max(numbers)
    if aligner == "ALIGN_MIN":
        return min(numbers)
    raise ApiError("INVALID_ARGUMENT", f"Unsupported aligner {aligner}.", domain="monitoring.googleapis.com")


def _reduce(aligned: list[tuple[Series, list[Point]]], reducer: str, group_by: list[str]
            ) -> list[tuple[Series, list[Point]]]:
    groups: dict[tuple[str | None, ...], list[tuple[Series, list[Point]]]] = {}
    for series, points in aligned:
        groups.setdefault(tuple(series.label(f) for f in group_by), []).append((series, points))
    out = []
    for key, members in groups.items():
        first = members[0][0]
        labels = dict(zip(group_by, key))
        metric_labels = {f.split(".", 2)[2]: v or "" for f, v in labels.items() if f.startswith("metric.label")}
        resource_labels = {f.split(".", 2)[2]: v or "" for f, v in labels.items() if f.startswith("resource.label")}
        by_end: dict[float, list[Point]] = {}
        for _, points in members:
            for point in points:
                by_end.setdefault(point.end, []).append(point)
        value_type = "INT64" if reducer == "REDUCE_COUNT" else first.value_type
        reduced = [Point(pts[0].start, t, _reduced_value(reducer, [p.value for p in pts], value_type))
                   for t, pts in sorted(by_end.items(), reverse=True)]
        out.append((Series(first.metric_type, metric_labels, first.resource_type, resource_labels,
                           first.kind, value_type, first.unit), reduced))
    return out


def _reduced_value(reducer: str, values: list[float | int | Distribution], value_type: str
                   ) -> float | int | Distribution:
    if reducer == "REDUCE_COUNT":
        return len(values)
    dists = [v for v in values if isinstance(v, Distribution)]
    if dists:
        if reducer != "REDUCE_SUM":
            raise ApiError("INVALID_ARGUMENT", f"{reducer} is not valid for DISTRIBUTION values.",
                           domain="monitoring.googleapis.com")
        merged = dists[0].empty()
        for d in dists:
            merged = merged.merged(d)
        return merged
    numbers = [float(v) for v in values if not isinstance(v, Distribution)]
    result = {"REDUCE_SUM": sum, "REDUCE_MAX": max, "REDUCE_MIN": min,
              "REDUCE_MEAN": lambda xs: sum(xs) / len(xs)}.get(reducer)
    if result is None:
        raise ApiError("INVALID_ARGUMENT", f"Unsupported reducer {reducer}.", domain="monitoring.googleapis.com")
    total = result(numbers)
    return int(total) if value_type == "INT64" else total


def _series_json(series: Series, points: list[Point]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metric": {"type": series.metric_type, "labels": dict(series.metric_labels)},
        "resource": {"type": series.resource_type, "labels": dict(series.resource_labels)},
        "metricKind": series.kind, "valueType": series.value_type,
        "points": [{"interval": _interval(series.kind, p), "value": _value(series.value_type, p.value)}
                   for p in points],
    }
    if series.unit:
        body["unit"] = series.unit
    if not body["metric"]["labels"]:
        del body["metric"]["labels"]
    return body


def _interval(kind: str, point: Point) -> dict[str, str]:
    if kind == "GAUGE":
        return {"endTime": rfc3339(point.end)}
    return {"startTime": rfc3339(point.start), "endTime": rfc3339(point.end)}


def _value(value_type: str, value: float | int | Distribution) -> dict[str, Any]:
    if isinstance(value, Distribution):
        return {"distributionValue": value.to_json()}
    if value_type == "INT64":
        return {"int64Value": str(int(value))}
    return {"doubleValue": value if math.isfinite(value) else "NaN"}
