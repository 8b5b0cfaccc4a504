"""What one running app holds: settings, database, metrics, rate limiter, webhook worker, and
the assistant and knowledge base, both built on first use (loading an embedding model takes
seconds; the liveness probe and key management should not wait for it) or by the warm-up the
app runs in the background at start, before /readyz says ready."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from agent import Conversation, build_assistant
from api import models
from api.conversations import Assistant
from api.db import Database
from api.errors import NotConfigured
from api.metrics import Metrics
from api.ratelimit import Limiter, make_limiters
from api.secretbox import SecretBox
from api.webhooks import OUTBOX_FLAG, DeliveryPolicy, DeliveryWorker, check_secrets
from knowledge import IndexUnavailable, Manifest
from knowledge.index import Catalog, KnowledgeBase, embedder_from_settings
from knowledge.sources import load_manifest
from sportello.settings import Settings

log = logging.getLogger(__name__)

# The throwaway turn of the warm-up, never stored. Its text is the brand's name, which went through
# every stage on the demo brand (understand, retrieve, compose, check), where a bare "?" stopped
# after understanding.
WARMUP_CONVERSATION = "sportello-warmup"


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        assistant: Assistant | None = None,
        manifest: Manifest | None = None,
        delivery: DeliveryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = SecretBox.from_settings(settings)
        self.db = Database(settings.effective_database_url, secrets=self.secrets)
        self.metrics = Metrics()
        limiters = make_limiters(
            {
                "key": settings.rate_limit_per_minute,
                "customer": settings.rate_limit_per_customer_per_minute,
                "address": settings.auth_failures_per_minute,
            },
            redis_url=settings.redis_url,
            prefix=settings.redis_prefix,
        )
        self.limiter: Limiter = limiters["key"]
        self.customer_limiter: Limiter = limiters["customer"]
        self.auth_failures: Limiter = limiters["address"]
        self.worker = DeliveryWorker(self.db, delivery or DeliveryPolicy(), self.metrics)
        self._injected_assistant = assistant is not None
        self._assistant = assistant
        self._manifest = manifest
        self._injected_manifest = manifest is not None
        self._knowledge: Any | None = None
        self._embedder: Any | None = None
        self._build_lock = threading.Lock()
        self._kb_lock = threading.Lock()
        # Who this process is, for the leases it takes on sync jobs (host, pid, a random tail).
        self.instance_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        # One sync at a time per process (across processes, the database allows one running job).
        self.sync_lock = threading.Lock()
        # The index generation (api.index_generation) this process serves; set at start.
        self.seen_generation = 0
        # job id → {stage, done, total} while a sync runs (the knowledge page shows it).
        self.sync_progress: dict[str, dict[str, Any]] = {}
        # Set once the start-up warm-up has finished (at once when SPORTELLO_WARMUP is off).
        self.warm = threading.Event()
        if not settings.warmup:
            self.warm.set()
        event.listen(self.db.sessions, "after_commit", self._wake_worker)

    def _wake_worker(self, session: Any) -> None:
        if session.info.pop(OUTBOX_FLAG, False):
            self.worker.notify()

    # --- lazily built collaborators ---------------------------------------------------------
    def manifest_path(self) -> Path | None:
        """SPORTELLO_MANIFEST when set; else the manifest the last sync of the data dir read."""
        if self.settings.manifest is not None:
            return self.settings.manifest
        recorded = Catalog(self.settings.data_dir).meta("manifest_path")
        return Path(recorded) if recorded else None

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            path = self.manifest_path()
            if path is None:
                raise NotConfigured(
                    "no sources manifest: run `sportello sync path/to/sources.yaml` (serve then uses it)"
                    " or set SPORTELLO_MANIFEST=path/to/sources.yaml and restart"
                )
            self._manifest = load_manifest(path)
        return self._manifest

    def reload_manifest(self) -> Manifest:
        """Read the manifest file again (content teams edit it, then sync); an injected one stays."""
        if not self._injected_manifest:
            path = self.manifest_path()
            if path is not None:
                self._manifest = load_manifest(path)
        return self.manifest

    def check_manifest(self) -> None:
        """Read and validate the manifest file as it is now, without serving it (for /readyz: an
        edit that breaks it shows before the next sync or restart picks it up)."""
        if self._injected_manifest:
            return
        path = self.manifest_path()
        if path is None:
            raise NotConfigured("no sources manifest: run `sportello sync path/to/sources.yaml` (serve then uses it)")
        load_manifest(path)

    @property
    def has_manifest(self) -> bool:
        return self._manifest is not None or self.manifest_path() is not None

    def assistant(self) -> Assistant:
        if self._assistant is None:
            with self._build_lock:
                if self._assistant is None:
                    self._assistant = build_assistant(self.settings, self.manifest)
        return self._assistant

    def embedder(self) -> Any:
        if self._embedder is None:
            with self._build_lock:
                if self._embedder is None:
                    self._embedder = embedder_from_settings(self.settings)
        return self._embedder

    def knowledge_base(self) -> Any:
        """The assistant's knowledge base when it has one (one copy of the index in memory)."""
        if self._knowledge is not None:
            return self._knowledge
        with self._kb_lock:
            if self._knowledge is None:
                assistant = None
                if self._injected_assistant:
                    assistant = self._assistant
                elif self.has_manifest:
                    assistant = self.assistant()
                self._knowledge = self._open_knowledge(assistant)
        return self._knowledge

    def _open_knowledge(self, assistant: Assistant | None) -> Any:
        kb = getattr(assistant, "kb", None)
        if kb is None:
            # Before loading an embedding model for nothing:
            if Catalog(self.settings.data_dir).meta("active_collection") is None:
                raise IndexUnavailable(
                    f"no index in {self.settings.data_dir}: run `sportello sync MANIFEST` "
                    "or POST /v1/sources/{id}/sync"
                )
            kb = KnowledgeBase.open(
                self.settings.data_dir, chroma_url=self.settings.chroma_url, embedder=self.embedder(),
                in_memory_limit=self.settings.index_in_memory_limit,
                retry_seconds=self.settings.chroma_retry_seconds,
            )
        return kb

    @property
    def knowledge_loaded(self) -> bool:
        return self._knowledge is not None

    def knowledge_changed(self) -> None:
        """Drop what was built from the old index; the next request rebuilds it."""
        with self._kb_lock, self._build_lock:
            self._knowledge = None
            if not self._injected_assistant:
                self._assistant = None

    def refresh_knowledge(self, *, now: datetime) -> None:
        """A new index was published: build the assistant and the knowledge base on it (and take
        the warm-up's throwaway turn when SPORTELLO_WARMUP is on), then swap them in. Requests
        meanwhile are answered by the previous ones. Nothing built yet: nothing to do, the first
        use builds on the new index. A build that fails drops the old ones (their collection is
        gone) and leaves the error to the next request and /readyz."""
        if self._knowledge is None and (self._injected_assistant or self._assistant is None):
            return
        try:
            assistant: Assistant | None = self._assistant if self._injected_assistant else None
            if not self._injected_assistant and self.has_manifest:
                assistant = build_assistant(self.settings, self.reload_manifest())
                if self.settings.warmup:
                    assistant.respond(Conversation(WARMUP_CONVERSATION), self.manifest.brand, now=now)
            kb = self._open_knowledge(assistant)
        except Exception as exc:
            log.warning("knowledge_reload_failed", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
            self.knowledge_changed()
            return
        with self._kb_lock, self._build_lock:
            self._knowledge = kb
            if not self._injected_assistant:
                self._assistant = assistant

    def warm_up(self, *, now: datetime) -> None:
        """Build the assistant and the index and take one throwaway turn through the assistant
        (not stored), so the first customer's reply does not pay for loading the embedding model,
        opening the index and the first pass of every stage. What fails here (no manifest or no
        index yet) is left to /readyz's other checks and to the first request."""
        try:
            if self._injected_assistant or self.has_manifest:
                text = self.manifest.brand if self.has_manifest else "?"
                self.assistant().respond(Conversation(WARMUP_CONVERSATION), text, now=now)
            self.knowledge_base()
        except Exception as exc:
            log.warning("warmup_incomplete", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            self.warm.set()

    def stores_secrets(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(models.WebhookSubscription.id).limit(1)) is not None

    def check_secrets(self) -> None:
        """SecretKeyError when the configured keys cannot open a stored secret (a wrong or
        missing SPORTELLO_SECRET_KEY): /readyz says so instead of deliveries failing silently."""
        with self.db.session() as session:
            check_secrets(session, self.secrets)

    def close(self) -> None:
        self.db.dispose()
