"""Prometheus metrics of one node; a registry per node so tests can run several side by side."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily


class Metrics:
    def __init__(self, last_seq: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "allmende_http_requests",
            "HTTP requests by route and status class",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "allmende_http_request_seconds",
            "HTTP request duration",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.event_log_seq = Gauge(
            "allmende_event_log_seq", "Sequence number of the newest event", registry=self.registry
        )
        self.event_log_seq.set_function(last_seq)


class RetryMetrics:
    """Prometheus: every retry of a failing operation (Kafka relay and consumer, peer feeds),
    counted one by one while the log only summarises them (node.logs.Repeated), and the
    library log lines held back as repeats (node.logs.RepeatFilter), by logger."""

    def __init__(self, counts: Tally[str], held: Tally[str]) -> None:
        self.counts = counts
        self.held = held

    def collect(self) -> Iterator[CounterMetricFamily]:
        retries = CounterMetricFamily(
            "allmende_retries",
            "Failed attempts of operations that are retried",
            labels=["operation"],
        )
        for operation, count in sorted(self.counts.items()):
            retries.add_metric([operation], count)
        yield retries
        held = CounterMetricFamily(
            "allmende_log_repeats_held",
            "Log lines held back as repeats of a line logged shortly before (this process)",
            labels=["logger"],
        )
        for logger, count in sorted(self.held.items()):
            held.add_metric([logger], count)
        yield held
