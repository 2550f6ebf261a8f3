"""Prometheus metrics of the HTTP API and the toggle path (default registry).

The two per-request metrics are counted in plain Python numbers and handed to
prometheus_client at scrape time (`LoopCounter`, `LoopHistogram`): every
request runs on the event-loop thread, where a labelled child's lock and
bucket walk cost more than the count itself (about a twentieth of the
daemon's CPU per webhook event, measured). Names, labels, buckets and
exposition are those the prometheus_client classes would give.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


class LoopCounter(Collector):
    """A labelled counter for event-loop code (one thread: no locks)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], *,
                 registry: CollectorRegistry = REGISTRY) -> None:
        self._name, self._doc, self._labelnames = name, documentation, list(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def inc(self, labels: tuple[str, ...], amount: float = 1) -> None:
        self._values[labels] = self._values.get(labels, 0) + amount

    def value(self, labels: tuple[str, ...]) -> float:
        return self._values.get(labels, 0)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for labels, value in list(self._values.items()):
            family.add_metric(labels, value)
        yield family


class LoopHistogram(Collector):
    """A histogram with one label for event-loop code (one thread: no locks)."""

    def __init__(self, name: str, documentation: str, label: str,
                 buckets: Sequence[float], *, registry: CollectorRegistry = REGISTRY) -> None:
        self._name, self._doc, self._label = name, documentation, label
        self._bounds = [float(b) for b in buckets]
        self._les = [floatToGoString(b) for b in (*self._bounds, math.inf)]
        # Per label value: [count per bucket (the last is +Inf) ..., sum].
        self._series: dict[str, list[float]] = {}
        registry.register(self)

    def observe(self, label: str, value: float) -> None:
        series = self._series.get(label)
        if series is None:
            series = self._series[label] = [0.0] * (len(self._les) + 1)
        series[bisect.bisect_left(self._bounds, value)] += 1
        series[-1] += value

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._doc, labels=[self._label])
        for label, series in list(self._series.items()):
            cumulative, buckets = 0.0, []
            for le, n in zip(self._les, series, strict=False):
                cumulative += n
                buckets.append((le, cumulative))
            family.add_metric([label], buckets, sum_value=series[-1])
        yield family


HTTP_REQUESTS = LoopCounter(
    "instantly_sync_http_requests", "HTTP requests served", ["route", "method", "status"]
)
HTTP_LATENCY = LoopHistogram(
    "instantly_sync_http_request_seconds",
    "HTTP request latency",
    "route",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)
TOGGLES = Counter(
    "instantly_sync_toggles_total",
    "Status changes by outcome (external_sync value, or the error code)",
    ["outcome"],
)
