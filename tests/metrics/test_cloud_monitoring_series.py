"""Complete windows and distributions → histograms, the pure half of the cloud-monitoring provider."""

from __future__ import annotations

import pytest

from canaria.metrics.cloud_monitoring_series import complete_window, distribution_histogram


def test_a_window_ends_ingestion_delay_before_now_on_the_alignment_grid() -> None:
    window = complete_window(700.0, 1300.0, now=1300.0, period=60, delay=180)
    assert window is not None and (window.start, window.end) == (720.0, 1080.0)


def test_the_next_window_starts_where_the_last_ended() -> None:
    first = complete_window(720.0, 1300.0, now=1300.0, period=60, delay=180)
    assert first is not None
    second = complete_window(first.end, 1600.0, now=1600.0, period=60, delay=180)
    assert second is not None and (second.start, second.end) == (1080.0, 1380.0)


def test_nothing_complete_yet_is_none() -> None:
    assert complete_window(1000.0, 1100.0, now=1100.0, period=60, delay=180) is None  # samples not visible yet
    assert complete_window(1080.0, 1290.0, now=1290.0, period=60, delay=180) is None  # less than one period


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
