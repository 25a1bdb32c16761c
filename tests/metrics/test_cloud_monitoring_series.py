"""Complete windows and distributions → histograms, the pure half of the cloud-monitoring provider."""

from __future__ import annotations

import pytest

from canaria.metrics.cloud_monitoring_series import complete_window, distribution_histogram


def test_a_window_ends_ingestion_delay_before_now_on_the_alignment_grid() -> None:
    window = complete_window(1000.0, 1300.0, now=1300.0, period=60, delay=180)
    assert window is not None and (window.start, window.end) == (780.0, 1080.0)


def test_a_window_never_re_reads_what_was_counted() -> None:
    first = complete_window(1000.0, 1300.0, now=1300.0, period=60, delay=180)
    assert first is not None
    second = complete_window(1300.0, 1600.0, now=1600.0, period=60, delay=180, already_read_until=first.end)
    assert second is not None and (second.start, second.end) == (1080.0, 1380.0)
    again = complete_window(1300.0, 1330.0, now=1330.0, period=60, delay=180, already_read_until=second.end)
    assert again is None  # nothing new is complete yet: no data, not zero traffic


def test_too_early_is_none() -> None:
    assert complete_window(0.0, 30.0, now=30.0, period=60, delay=180, already_read_until=-150.0) is None


def test_percentiles_from_exponential_buckets() -> None:
    bounds = [1.0 * 1.2**i for i in range(41)]  # exponential: scale 1 ms, growth 1.2
    counts = [0] * 42
    for ms in range(1, 1001):  # 1..1000 ms, one request each
        index = next((i for i, b in enumerate(bounds) if ms < b), len(bounds))
        counts[index] += 1
    histogram = distribution_histogram(bounds, counts)
    assert histogram.count == 1000
    for q, exact in ((0.50, 500), (0.95, 950), (0.99, 990)):
        assert histogram.quantile(q) == pytest.approx(exact, rel=0.2)


def test_trailing_zero_buckets_may_be_omitted_and_overflow_counts_as_slow() -> None:
    histogram = distribution_histogram([100.0, 200.0, 400.0], [0, 0, 0, 10])  # all in the overflow bucket
    p50 = histogram.quantile(0.5)
    assert p50 is not None and p50 > 400
    short = distribution_histogram([100.0, 200.0, 400.0], [5, 5])  # buckets 2 and 3 omitted
    assert short.count == 10 and (short.quantile(0.99) or 0) <= 200
