"""Prometheus metrics: one collector that reads the node's own counters at scrape time.

Nothing on the hot path touches a Prometheus object; the counters that already exist (feed
status, HTTP server, usage pipeline, price book) are read when ``/metrics`` is scraped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trinity_beast.feeds.status import FeedStatus
from trinity_beast.http import HttpServer
from trinity_beast.limits.governor import Governor
from trinity_beast.prices.book import PriceBook
from trinity_beast.usage.pipeline import UsagePipeline

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_FEED_COUNTERS = ("frames", "data_frames", "quotes", "malformed", "reconnects")
_USAGE_COUNTERS = ("submitted", "written", "duplicates", "spooled", "replayed", "dropped",
                   "rejected", "trimmed")


class CountedListener(Protocol):
    """A UDP listener: its ``counters`` are a dataclass of integer counters."""

    @property
    def counters(self) -> Any: ...


class BeastCollector(Collector):
    def __init__(self, statuses: Mapping[str, FeedStatus], book: PriceBook,
                 servers: Mapping[str, HttpServer],
                 usage: Callable[[], UsagePipeline | None],
                 udp: Mapping[str, CountedListener] | None = None,
                 governor: Governor | None = None) -> None:
        self.statuses = statuses
        self.book = book
        self.servers = servers
        self.usage = usage
        self.udp = udp if udp is not None else {}
        self.governor = governor

    def collect(self) -> Iterator[Metric]:
        yield from self._feeds()
        assets = GaugeMetricFamily("beast_assets_priced", "Assets with a quote in Tier 1")
        assets.add_metric([], len(self.book))
        yield assets
        updates = CounterMetricFamily("beast_book_updates", "Quotes written to Tier 1")
        updates.add_metric([], self.book.updates)
        yield updates
        yield from self._http()
        yield from self._udp()
        yield from self._governor()
        yield from self._usage()

    def _feeds(self) -> Iterator[Metric]:
        live = GaugeMetricFamily("beast_feed_live", "1 when the feed had data recently",
                                 labels=["exchange"])
        for name, status in self.statuses.items():
            live.add_metric([name], 1.0 if status.live else 0.0)
        yield live
        for counter in _FEED_COUNTERS:
            family = CounterMetricFamily(f"beast_feed_{counter}", f"Feed {counter}",
                                         labels=["exchange"])
            for name, status in self.statuses.items():
                family.add_metric([name], getattr(status, counter))
            yield family

    def _http(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("beast_http_requests", "HTTP requests", labels=["listener"])
        errors = CounterMetricFamily("beast_http_errors", "HTTP errors the server answered",
                                     labels=["listener"])
        connections = GaugeMetricFamily("beast_http_connections", "Open HTTP connections",
                                        labels=["listener"])
        for name, server in self.servers.items():
            requests.add_metric([name], server.requests_total)
            errors.add_metric([name], server.errors_total)
            connections.add_metric([name], server.connections_open)
        yield from (requests, errors, connections)

    def _udp(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for name, listener in self.udp.items():
            for counter, value in dataclasses.asdict(listener.counters).items():
                family = families.get(counter)
                if family is None:
                    family = families[counter] = CounterMetricFamily(
                        f"beast_udp_{counter}", f"UDP datagrams {counter}", labels=["listener"])
                family.add_metric([name], value)
        yield from families.values()

    def _governor(self) -> Iterator[Metric]:
        governor = self.governor
        if governor is None:
            return
        for name, text, value in (
                ("inflight", "Requests in flight on this process", governor.inflight),
                ("cap", "Concurrent requests this process may admit now", governor.cap),
                ("throttling", "1 while the cluster throttles", int(governor.throttling))):
            gauge = GaugeMetricFamily(f"beast_governor_{name}", text)
            gauge.add_metric([], value)
            yield gauge
        refused = CounterMetricFamily("beast_governor_refused", "Requests refused at the cap")
        refused.add_metric([], governor.refused)
        yield refused

    def _usage(self) -> Iterator[Metric]:
        pipeline = self.usage()
        if pipeline is None:
            return
        for counter in _USAGE_COUNTERS:
            family = CounterMetricFamily(f"beast_usage_{counter}", f"Usage records {counter}")
            family.add_metric([], getattr(pipeline, counter))
            yield family


def render(collector: BeastCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
