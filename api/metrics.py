"""Prometheus metrics, in a registry owned by one app (two apps in one process never share
counters, which keeps tests independent and avoids the global default registry)."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agent import Reply

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sportello_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sportello_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replies = Counter(
            "sportello_replies",
            "Bot replies by whether they were grounded",
            ["grounded"],
            registry=self.registry,
        )
        self.grounded_ratio = Gauge(
            "sportello_grounded_ratio",
            "Share of bot replies that were grounded, since start",
            registry=self.registry,
        )
        self.warnings = Counter(
            "sportello_reply_warnings",
            "Warnings attached to replies, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.lexical_only = Counter(
            "sportello_replies_lexical_only",
            "Bot replies whose passages were found by BM25 alone: the Chroma server did not answer",
            registry=self.registry,
        )
        self.handoffs = Counter(
            "sportello_handoffs", "Handoffs opened, by reason", ["reason"], registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "sportello_webhook_deliveries",
            "Webhook delivery attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.channel_turns_limited = Counter(
            "sportello_channel_turns_limited",
            "Channel turns stored unanswered: the conversation was over its per-customer limit",
            ["channel"],
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._replied = 0
        self._grounded = 0

    def observe_reply(self, reply: Reply) -> None:
        self.replies.labels(grounded=str(reply.grounded).lower()).inc()
        for warning in reply.warnings:
            self.warnings.labels(kind=warning.kind).inc()
        if (reply.trace.get("retrieval") or {}).get("mode") == "lexical_only":
            self.lexical_only.inc()
        with self._lock:
            self._replied += 1
            self._grounded += int(reply.grounded)
            self.grounded_ratio.set(self._grounded / self._replied)

    def observe_handoff(self, reason: str) -> None:
        self.handoffs.labels(reason=reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
